//! `idempotency_keys`: the \[EXT\] Idempotency-Key records (API.md §5), one per
//! (tenant, credential id, key).

use rusqlite::{params, Connection, OptionalExtension};

use crate::db::ConnExt;

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A complete response: status, content type, body.
    Response {
        /// HTTP status.
        status: u16,
        /// `Content-Type` of the body, when there was one.
        content_type: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
    /// A secret-bearing response that is not kept: only the id of what it created.
    Secret {
        /// The created id (`id`, or `endpoint.id`), when the response had one.
        created_id: Option<String>,
    },
}

/// A live (unexpired) record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// SHA-256 hex of the request (see [`crate::idempotency::request_hash`]).
    pub request_hash: String,
    /// The stored outcome.
    pub stored: Stored,
}

/// The record's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyIds {
    /// Tenant id.
    pub tenant_id: String,
    /// Credential id (API key id, session id or `env:admin`).
    pub credential_id: String,
    /// The client's Idempotency-Key.
    pub key: String,
}

/// The unexpired record for `ids` at `now` (ISO), if any. Rows of older versions in state
/// `in_flight` are ignored.
pub fn find_live(c: &Connection, ids: &KeyIds, now: &str) -> rusqlite::Result<Option<Record>> {
    let row: Option<(
        String,
        String,
        Option<i64>,
        Option<String>,
        Option<Vec<u8>>,
        Option<String>,
        String,
    )> = c
        .row(
            "SELECT request_hash, state, status, content_type, body, created_id, expires_at
             FROM idempotency_keys WHERE tenant_id=?1 AND credential_id=?2 AND idem_key=?3",
            params![ids.tenant_id, ids.credential_id, ids.key],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    Ok(match row {
        Some((request_hash, state, status, content_type, body, created_id, expires_at))
            if expires_at.as_str() > now && state != "in_flight" =>
        {
            let stored = if state == "secret" {
                Stored::Secret { created_id }
            } else {
                Stored::Response {
                    status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                    content_type,
                    body: body.unwrap_or_default(),
                }
            };
            Some(Record {
                request_hash,
                stored,
            })
        }
        _ => None,
    })
}

/// Writes (or replaces an expired) record.
pub fn put(
    c: &Connection,
    ids: &KeyIds,
    request_hash: &str,
    stored: &Stored,
    created_at: &str,
    expires_at: &str,
) -> rusqlite::Result<()> {
    let (state, status, content_type, body, created_id) = match stored {
        Stored::Response {
            status,
            content_type,
            body,
        } => (
            "done",
            Some(*status),
            content_type.as_deref(),
            Some(body.as_slice()),
            None,
        ),
        Stored::Secret { created_id } => ("secret", None, None, None, created_id.as_deref()),
    };
    c.exec(
        "INSERT OR REPLACE INTO idempotency_keys
         (tenant_id, credential_id, idem_key, request_hash, state, status, content_type,
          body, created_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            ids.tenant_id,
            ids.credential_id,
            ids.key,
            request_hash,
            state,
            status,
            content_type,
            body,
            created_id,
            created_at,
            expires_at
        ],
    )?;
    Ok(())
}

/// Deletes in-flight rows left by older versions (start-up).
pub fn clear_in_flight(c: &Connection) -> rusqlite::Result<usize> {
    c.exec("DELETE FROM idempotency_keys WHERE state = 'in_flight'", [])
}

/// Deletes the records that expired at `now` (ISO); the janitor runs it every minute.
pub fn delete_expired(c: &Connection, now: &str) -> rusqlite::Result<usize> {
    c.exec(
        "DELETE FROM idempotency_keys WHERE expires_at <= ?1 AND state != 'in_flight'",
        [now],
    )
}
