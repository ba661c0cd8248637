//! Wire shapes (API.md field names, camelCase) shared by several route modules: every
//! type derives `Serialize` (responses) or `Deserialize` (request bodies) and
//! `utoipa::ToSchema`, so `/openapi.json` describes exactly what is sent. A shape used by
//! one route module only lives in that module.
pub mod commissions;
pub mod lenient;
pub mod money;
pub mod query;
