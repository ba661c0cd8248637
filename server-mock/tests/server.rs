//! Route tests for the reference server (raw HTTP, raw JSON).

mod common;

#[path = "server/admins.rs"]
mod admins;
#[path = "server/api_keys.rs"]
mod api_keys;
#[path = "server/basics.rs"]
mod basics;
#[path = "server/contract.rs"]
mod contract;
#[path = "server/credentials.rs"]
mod credentials;
#[path = "server/extras.rs"]
mod extras;
#[path = "server/idempotency.rs"]
mod idempotency;
#[path = "server/identity.rs"]
mod identity;
#[path = "server/identity_shapes.rs"]
mod identity_shapes;
#[path = "server/limits.rs"]
mod limits;
#[path = "server/matrix.rs"]
mod matrix;
#[path = "server/partners.rs"]
mod partners;
#[path = "server/tenancy.rs"]
mod tenancy;
