//! The one way a handler ends: [`respond`] runs the request's database work as one job
//! (all-or-nothing, see [`crate::db::Db::call`]) and answers with its value as JSON.
//!
//! For a POST that carries an \[EXT\] `Idempotency-Key`, the same job also looks the key
//! up (a repeat is replayed without running the work) and records the response, so the
//! lookup, the writes and the record share one savepoint and one commit: a crash after the
//! commit leaves the record, and the client's retry gets the stored answer instead of a
//! second write (see [`crate::idempotency`]).
//!
//! ```ignore
//! async fn create(State(state): State<AppState>, tenant: Tenant, auth: Auth,
//!                 Json(body): Json<CreateBody>) -> ApiResult<Reply<PartnerRow>> {
//!     auth.require_scope(Scope::PartnersWrite)?;           // guard
//!     let input = body.validate()?;                         // typed input → 400
//!     respond(&state, StatusCode::CREATED, move |c| lifecycle::create_partner(c, &tenant, input)).await
//! }
//! ```

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde::Serialize;

use crate::error::ApiResult;
use crate::idempotency::{self, KeyedOutcome};
use crate::state::AppState;

/// A handler's answer: `status` with the JSON of a value, or (keyed requests) the
/// recorded or replayed answer.
#[derive(Debug)]
pub enum Reply<T> {
    /// Status and value, serialized as JSON when answered.
    Value(StatusCode, T),
    /// A keyed request's answer (already serialized in its job).
    Keyed(KeyedOutcome),
    /// The test hook [`crate::config::TestHooks::drop_after_commit`] fired: the connection
    /// is dropped without an answer.
    Dropped,
}

/// Runs `f` on the database as this request's one job and answers `status` with the JSON
/// of its value. Errors: `f`'s own (its writes are rolled back), a 500 when the job
/// panicked or the commit failed, and for keyed requests 422 `idempotency_key_reused` /
/// 409 `idempotency_replay_unavailable` (see [`crate::idempotency`]).
pub async fn respond<T, F>(state: &AppState, status: StatusCode, f: F) -> ApiResult<Reply<T>>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
{
    respond_with_status(state, move |c| f(c).map(|v| (status, v))).await
}

/// [`respond`] for work that picks its own status (e.g. 201 created / 200 replayed).
pub async fn respond_with_status<T, F>(state: &AppState, f: F) -> ApiResult<Reply<T>>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut Connection) -> ApiResult<(StatusCode, T)> + Send + 'static,
{
    // Whether the job recorded webhook events (noted by `outbox::emit` on the writer
    // thread): once it is committed, the dispatcher is woken.
    let emitted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noted = emitted.clone();
    let f = move |c: &mut Connection| {
        crate::outbox::take_emitted();
        let r = f(c);
        let e = crate::outbox::take_emitted();
        noted.store(r.is_ok() && e, std::sync::atomic::Ordering::Relaxed);
        r
    };
    let reply = match idempotency::take_current() {
        None => {
            let (status, value) = state.db.call(f).await?;
            Reply::Value(status, value)
        }
        Some(keyed) => Reply::Keyed(state.db.call(move |c| keyed.run(c, f)).await?),
    };
    if emitted.load(std::sync::atomic::Ordering::Relaxed) {
        state.webhooks.events_committed();
    }
    if state.config.hooks.take_drop_after_commit() {
        return Ok(Reply::Dropped);
    }
    Ok(reply)
}

/// [`respond`] with 200 OK.
pub async fn ok<T, F>(state: &AppState, f: F) -> ApiResult<Reply<T>>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
{
    respond(state, StatusCode::OK, f).await
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        match self {
            Reply::Value(status, v) => (status, axum::Json(v)).into_response(),
            Reply::Keyed(outcome) => outcome.into_response(),
            Reply::Dropped => dropped("connection dropped after commit (test hook)"),
        }
    }
}

/// An answer that never completes: its body fails at once, so hyper closes the connection
/// without finishing the response (the client sees a connection error, never a status it
/// could trust). `reason` is the I/O error hyper gets (logged by hyper, never sent). The one
/// way the server drops a connection: the `drop_after_commit` test hook ([`Reply::Dropped`])
/// and fault injection ([`crate::faults`]).
pub fn dropped(reason: &'static str) -> Response {
    let failing = futures::stream::once(async move {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(reason))
    });
    Response::new(Body::from_stream(failing))
}
