//! Shared application state handed to every handler (`State<AppState>`).

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::mail::Mailer;
use crate::ratelimit::RateLimits;

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The clock (same as `config.clock`).
    pub clock: Clock,
    /// Dev-mailbox mailer (builds magic-link URLs, stores mail).
    pub mailer: Mailer,
    /// Rate limiters.
    pub limits: Arc<RateLimits>,
    /// \[EXT\] Idempotency keys whose first request is running.
    pub inflight: Arc<crate::idempotency::InFlight>,
    /// Resolved API keys and sessions by hash ([`crate::auth::cache`]).
    pub credentials: Arc<crate::auth::CredentialCache>,
    /// Tenants by slug (multi mode, [`crate::tenancy::TenantCache`]).
    pub tenants: Arc<crate::tenancy::TenantCache>,
    /// Outbound HTTP behind the SSRF guard (webhook deliveries, postbacks).
    pub outbound: Arc<crate::outbound::Outbound>,
    /// The server's own origin, e.g. `http://127.0.0.1:4100`.
    pub base_url: Arc<str>,
    /// The webhook dispatcher's handle (wake-ups, send permits).
    pub webhooks: Arc<crate::webhooks::Dispatcher>,
}

impl AppState {
    /// Now, formatted as stored (`…T…:…:….mmmZ`).
    pub fn now_iso(&self) -> String {
        crate::util::fmt_ts(self.clock.now())
    }

    /// True when the \[EXT\] behaviours are on.
    pub fn ext(&self) -> bool {
        self.config.extensions
    }
}
