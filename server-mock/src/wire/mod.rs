//! Wire shapes (API.md field names, camelCase) shared by several route modules: every
//! type derives `Serialize` (responses) or `Deserialize` (request bodies) and
//! `utoipa::ToSchema`, so `/openapi.json` describes exactly what is sent. A shape used by
//! one route module only lives in that module.

pub mod admins;
pub mod commissions;
pub mod lenient;
pub mod money;
pub mod partners;
pub mod programs;
pub mod query;

use serde::Serialize;
use utoipa::ToSchema;

/// `{"ok": true}`: the answer of an action that returns nothing else.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Ok {
    /// Always `true`.
    pub ok: bool,
}

impl Ok {
    /// `{"ok": true}`.
    pub const TRUE: Ok = Ok { ok: true };
}
