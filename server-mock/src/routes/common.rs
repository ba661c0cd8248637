//! Handler pieces shared by several route modules.

use axum::extract::{Path, State};
use rusqlite::Connection;
use serde_json::Value;

use crate::auth::Auth;
use crate::error::{ApiResult, Validation};
use crate::respond::Reply;
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Runs `f` on the database as the request's one job and answers 200 with its value as
/// JSON ([`crate::respond::ok`]). Errors: `f`'s own, or a 500 from the database layer.
pub async fn db_json<T, F>(state: &AppState, f: F) -> ApiResult<Reply<T>>
where
    F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
    T: serde::Serialize + Send + 'static,
{
    crate::respond::ok(state, f).await
}

/// An admin-only action on row `id` (`POST …/{id}/<action>`): runs `op(conn, tenant id,
/// id, now)` on the database with the request's clock time → 200 with its JSON value.
/// Errors: 401/403 for non-admins, then `op`'s own.
pub async fn admin_action(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    op: fn(&mut Connection, &str, &str, &str) -> ApiResult<Value>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin()?;
    let now = state.now_iso();
    db_json(&state, move |c| op(c, &tenant.id, &id, &now)).await
}

/// Body field `field` as a required string that `ok` accepts. Records `Required` in `v`
/// when the field is absent and `msg` when it is anything else (`null`, another type, or
/// a string `ok` rejects); returns the string, or `""` after recording an error.
pub fn required_str(
    v: &mut Validation,
    body: &Value,
    field: &str,
    ok: impl Fn(&str) -> bool,
    msg: &str,
) -> String {
    match body.get(field) {
        Some(Value::String(s)) if ok(s) => s.clone(),
        None => {
            v.push(field, "Required");
            String::new()
        }
        Some(_) => {
            v.push(field, msg);
            String::new()
        }
    }
}

/// A required string field of a typed body (`None` = absent or null): records
/// `Required` in `v` when it is `None` and `msg` when `ok` rejects it; returns the string,
/// or `""` after recording an error (the typed-body counterpart of [`required_str`]).
pub fn required_field(
    v: &mut Validation,
    field: &str,
    given: Option<String>,
    ok: impl Fn(&str) -> bool,
    msg: &str,
) -> String {
    match given {
        Some(s) if ok(&s) => s,
        None => {
            v.push(field, "Required");
            String::new()
        }
        Some(_) => {
            v.push(field, msg);
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_str_accepts_and_reports() {
        let body = json!({"a": "abc", "b": "", "c": null, "d": 5});
        let nonempty = |s: &str| !s.is_empty();
        let mut v = Validation::new();
        assert_eq!(required_str(&mut v, &body, "a", nonempty, "bad a"), "abc");
        assert!(v.is_empty());
        assert_eq!(required_str(&mut v, &body, "b", nonempty, "bad b"), "");
        assert_eq!(required_str(&mut v, &body, "c", nonempty, "bad c"), "");
        assert_eq!(required_str(&mut v, &body, "d", nonempty, "bad d"), "");
        assert_eq!(required_str(&mut v, &body, "e", nonempty, "bad e"), "");
        assert_eq!(
            v.into_detail()["fieldErrors"],
            json!({"b": ["bad b"], "c": ["bad c"], "d": ["bad d"], "e": ["Required"]})
        );
    }
}
