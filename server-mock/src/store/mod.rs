//! All SQL of the server, one module per entity, with typed rows.
//!
//! Convention: each module holds the row struct(s) of its table(s) (`from_row` over a
//! `COLS` constant), and free functions `fn(&Connection, …) -> rusqlite::Result<…>` (or
//! `ApiResult` where a constraint maps to an API error) named after what they do
//! (`insert`, `get`, `list_page`, `set_revoked`, …). Functions take the tenant id first
//! where the table is tenant-scoped. Nothing outside `store/` writes SQL: routes, domain
//! modules, middleware, the seed and the export call these functions inside one
//! [`crate::db::Db::call`] job (which is all-or-nothing).

pub mod admins;
pub mod analytics;
pub mod api_keys;
pub mod attribution;
pub mod attributions;
pub mod clicks;
pub mod commissions;
pub mod events;
pub mod export;
pub mod fixtures;
pub mod grants;
pub mod idempotency;
pub mod identities;
pub mod links;
pub mod magic_links;
pub mod mailbox;
pub mod outbox;
pub mod partners;
pub mod payouts;
pub mod postbacks;
pub mod programs;
pub mod sessions;
pub mod snapshots;
pub mod tenants;
pub mod webhooks;
