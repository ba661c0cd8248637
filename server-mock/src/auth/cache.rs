//! The credential cache: resolved API keys and sessions, keyed by the SHA-256 of the
//! credential (never the plaintext), so an authenticated request costs no database job
//! of its own — only the handler's.
//!
//! **What is cached.** Only credentials that resolved to a valid principal (unknown,
//! revoked or expired credentials are looked up every time and never cached), with what a
//! request needs: the [`Principal`], the parsed \[EXT\] IP allowlist, the session expiry
//! (checked against the server clock on every hit, so expiry needs no invalidation) and
//! the owner ids used for invalidation.
//!
//! **Invalidation.** Every job that makes a credential invalid calls
//! [`CredentialCache::invalidate`] *inside that job* (before it commits): DELETE
//! `/api-keys/{id}` ([`Revoked::Key`]), partner revoke ([`Revoked::Partner`]: its keys and
//! sessions), partner reinstate (the same), admin revoke ([`Revoked::Admin`]: its
//! sessions), sign-out ([`Revoked::SessionToken`]). From then on no request is answered
//! from the removed entry; the next request looks the credential up in a job that runs
//! after the revoking one (jobs run in order on the writer thread) and sees the revocation.
//!
//! **No stale re-insertion.** A lookup that started before a revoke may finish after it
//! with the pre-revoke answer. To keep it from re-inserting that answer, the cache has a
//! generation counter: a lookup reads [`CredentialCache::generation`] *before* submitting
//! its job and inserts with [`CredentialCache::insert_if_current`], which refuses when the
//! generation moved; [`CredentialCache::invalidate`] bumps the generation and removes the
//! entries under the same lock. So either the insert happened first (and the invalidation
//! removes it) or the bump did (and the insert is refused). A revoke whose job later rolls
//! back has only emptied some entries (they are looked up again): harmless.
//!
//! **Size.** At most [`MAX_ENTRIES`] entries; inserting into a full cache empties it
//! (credentials are looked up again), which bounds memory without an LRU.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ipnet::IpNet;

use super::principal::Principal;

/// Most cached credentials.
pub const MAX_ENTRIES: usize = 100_000;

/// Which kind of credential an entry is (a key and a session never share an entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An API key (`Authorization: Bearer op_…`).
    Key,
    /// A session (`op_session` cookie).
    Session,
}

/// The cache key: tenant, kind and SHA-256 hex of the credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialKey {
    /// Tenant id.
    pub tenant_id: String,
    /// Key or session.
    pub kind: CredentialKind,
    /// SHA-256 hex of the plaintext.
    pub hash: String,
}

/// A resolved, valid credential.
#[derive(Debug)]
pub struct Entry {
    /// Who the credential authenticates.
    pub principal: Principal,
    /// Key id or session id (for `lastUsedAt` and invalidation).
    pub credential_id: String,
    /// The owning partner (partner keys and sessions).
    pub partner_id: Option<String>,
    /// The owning admin (admin sessions).
    pub admin_id: Option<String>,
    /// \[EXT\] the key's allowlist (`None` = unrestricted), see [`super::keys::allowlist`].
    pub allowed_ips: Option<Vec<IpNet>>,
    /// Session expiry (ISO, compared with the server clock on every use).
    pub expires_at: Option<String>,
    /// Unix seconds of the last `lastUsedAt` write this server knows of (claimed with a
    /// compare-and-swap so one request per minute refreshes it).
    pub last_used_secs: AtomicI64,
}

/// What a revoking job made invalid.
#[derive(Debug, Clone, Copy)]
pub enum Revoked<'a> {
    /// API key `id` (DELETE `/api-keys/{id}`).
    Key(&'a str),
    /// Every key and session of partner `id` (partner revoke / reinstate).
    Partner(&'a str),
    /// Every session of admin `id` (admin revoke).
    Admin(&'a str),
    /// The session whose token hashes to this SHA-256 hex (sign-out).
    SessionToken(&'a str),
}

/// See the module docs. Shared by every request (`AppState::credentials`).
#[derive(Debug, Default)]
pub struct CredentialCache {
    entries: RwLock<HashMap<CredentialKey, Arc<Entry>>>,
    generation: AtomicU64,
}

impl CredentialCache {
    /// The cached entry for `key`, if any.
    pub fn get(&self, key: &CredentialKey) -> Option<Arc<Entry>> {
        self.read().get(key).cloned()
    }

    /// The current generation; read it before submitting a lookup job and pass it to
    /// [`CredentialCache::insert_if_current`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Inserts `entry` unless an invalidation ran since `generation` was read. Returns
    /// whether it was inserted.
    pub fn insert_if_current(&self, generation: u64, key: CredentialKey, entry: Entry) -> bool {
        let mut map = self.write();
        if self.generation.load(Ordering::SeqCst) != generation {
            return false;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, Arc::new(entry));
        true
    }

    /// Removes the entries `what` made invalid in tenant `tenant_id` and bumps the
    /// generation. Call it inside the job that revokes (see the module docs).
    pub fn invalidate(&self, tenant_id: &str, what: Revoked<'_>) {
        let mut map = self.write();
        self.generation.fetch_add(1, Ordering::SeqCst);
        map.retain(|k, e| {
            k.tenant_id != tenant_id
                || !match what {
                    Revoked::Key(id) => k.kind == CredentialKind::Key && e.credential_id == id,
                    Revoked::Partner(id) => e.partner_id.as_deref() == Some(id),
                    Revoked::Admin(id) => e.admin_id.as_deref() == Some(id),
                    Revoked::SessionToken(hash) => {
                        k.kind == CredentialKind::Session && k.hash == hash
                    }
                }
        });
    }

    /// Removes one entry (e.g. an expired session) without bumping the generation.
    pub fn remove(&self, key: &CredentialKey) {
        self.write().remove(key);
    }

    /// Number of cached credentials.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<CredentialKey, Arc<Entry>>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<CredentialKey, Arc<Entry>>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AdminSource, PartnerSource};

    fn key(hash: &str) -> CredentialKey {
        CredentialKey {
            tenant_id: "T".into(),
            kind: CredentialKind::Key,
            hash: hash.into(),
        }
    }

    fn entry(id: &str, partner: Option<&str>) -> Entry {
        Entry {
            principal: match partner {
                Some(p) => Principal::Partner {
                    partner_id: p.into(),
                    source: PartnerSource::Key(id.into()),
                },
                None => Principal::Admin(AdminSource::Key { key_id: id.into() }),
            },
            credential_id: id.into(),
            partner_id: partner.map(str::to_owned),
            admin_id: None,
            allowed_ips: None,
            expires_at: None,
            last_used_secs: AtomicI64::new(0),
        }
    }

    #[test]
    fn a_lookup_that_started_before_a_revoke_does_not_reinsert() {
        let cache = CredentialCache::default();
        let g = cache.generation();
        // the revoke runs while the lookup's job is in flight
        cache.invalidate("T", Revoked::Key("k1"));
        assert!(!cache.insert_if_current(g, key("h1"), entry("k1", None)));
        assert!(cache.get(&key("h1")).is_none());
        // a lookup that starts after it inserts
        let g = cache.generation();
        assert!(cache.insert_if_current(g, key("h1"), entry("k1", None)));
        assert!(cache.get(&key("h1")).is_some());
    }

    #[test]
    fn invalidation_removes_only_what_it_names() {
        let cache = CredentialCache::default();
        let g = cache.generation();
        cache.insert_if_current(g, key("h1"), entry("k1", None));
        cache.insert_if_current(g, key("h2"), entry("k2", Some("p1")));
        cache.insert_if_current(g, key("h3"), entry("k3", Some("p2")));
        cache.invalidate("OTHER", Revoked::Partner("p1"));
        assert_eq!(cache.len(), 3, "another tenant's revoke keeps entries");
        cache.invalidate("T", Revoked::Partner("p1"));
        assert!(cache.get(&key("h2")).is_none());
        assert_eq!(cache.len(), 2);
        cache.invalidate("T", Revoked::Key("k1"));
        assert!(cache.get(&key("h1")).is_none());
        assert!(cache.get(&key("h3")).is_some());
    }
}
