//! Stateful reference server for the OpenPartner API.
pub mod engine;
pub mod export;
pub mod rules;
