//! SDK examples live in src/bin.
