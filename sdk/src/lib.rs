//! Typed async client for OpenPartner-style partner-program APIs.
