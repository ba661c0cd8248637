//! Stateful reference server for the OpenPartner API.
