//! `GET /health` — no auth, no tenant, no rate limit.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health() -> Json<Value> {
    Json(json!({"ok": true, "service": "api", "mode": "selfhost"}))
}
