//! API-key creation (API.md §3.7), shared by `POST /api-keys`, `/api-keys/scoped`,
//! `/partners/{id}/api-keys` and \[EXT\] `POST /platform/tenants/{id}/api-keys`: the one
//! place a key is minted (`op_` + 48 hex; only its 8-char prefix and SHA-256 are stored).

use rusqlite::Connection;

use crate::error::{ApiResult, Validation};
use crate::store;
use crate::util;

/// What a new key is.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// `admin`, `scoped` or `partner`.
    pub kind: &'static str,
    /// The owning partner (partner keys).
    pub partner_id: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Scopes (scoped keys).
    pub scopes: Option<Vec<String>>,
    /// \[EXT\] allowlist.
    pub ips: Option<Vec<String>>,
}

/// A key just minted: its id and the plaintext (shown once, never stored; masked in
/// `Debug`).
pub struct MintedKey {
    /// Key id.
    pub id: String,
    /// The key (`op_` + 48 hex).
    pub plaintext: String,
}

impl std::fmt::Debug for MintedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedKey")
            .field("id", &self.id)
            .field("plaintext", &"***")
            .finish()
    }
}

/// A key label: trimmed, at most 100 characters (else a `label` field error in `v`);
/// empty → `None`.
pub fn validate_label(label: Option<String>, v: &mut Validation) -> Option<String> {
    let label = label.map(|l| l.trim().to_owned());
    if let Some(l) = &label {
        if l.chars().count() > 100 {
            v.push("label", "must be at most 100 characters");
        }
    }
    label.filter(|l| !l.is_empty())
}

/// Mints a key of `tenant_id` as `spec` says, created at `now`, and stores its prefix and
/// hash. Errors: database errors.
pub fn create(c: &Connection, tenant_id: &str, spec: &KeySpec, now: &str) -> ApiResult<MintedKey> {
    let id = util::new_id();
    let plaintext = util::new_api_key();
    store::api_keys::insert(
        c,
        tenant_id,
        &store::api_keys::NewKey {
            id: &id,
            kind: spec.kind,
            partner_id: spec.partner_id.as_deref(),
            prefix: &util::key_prefix(&plaintext),
            key_hash: &util::sha256_hex(&plaintext),
            label: spec.label.as_deref(),
            scopes: spec.scopes.as_deref(),
            allowed_ips: spec.ips.as_deref(),
            created_at: now,
        },
    )?;
    Ok(MintedKey { id, plaintext })
}
