//! Resource handlers. Each `client.<resource>()` returns a cheap handler (it holds a clone of
//! the [`Client`]); builders only describe requests and hand them to the client's executor.

pub mod admins;
pub mod analytics;
pub mod api_keys;
pub mod auth;
pub mod commissions;
pub mod export;
pub mod partners;
pub mod platform;
pub mod programs;
pub mod tracking;
pub mod webhooks;

use crate::client::{Client, Req};
use crate::error::Result;
use crate::types;

impl Client {
    /// `GET /health` (no auth, no tenant prefix): liveness and, via the response header, the
    /// server's capabilities. Errors: transport errors, [`crate::Error::Api`] on non-2xx,
    /// [`crate::Error::Decode`].
    pub async fn health(&self) -> Result<types::Health> {
        self.send_json(Req::get("/health").no_auth()).await
    }

    /// Authentication and identity: sign-in, magic-link verification, whoami, introspect.
    pub fn auth(&self) -> auth::Auth {
        auth::Auth {
            client: self.clone(),
        }
    }

    /// The reference server's development helpers (dev mailbox).
    pub fn dev(&self) -> auth::Dev {
        auth::Dev {
            client: self.clone(),
        }
    }

    /// Partners: create, list, get, invite, revoke, reinstate, and per-partner resources.
    pub fn partners(&self) -> partners::Partners {
        partners::Partners {
            client: self.clone(),
        }
    }

    /// API keys: create (admin, scoped, partner), list, revoke.
    pub fn api_keys(&self) -> api_keys::ApiKeys {
        api_keys::ApiKeys {
            client: self.clone(),
        }
    }

    /// Programs (campaigns): list, create, update, `me/programs`.
    pub fn programs(&self) -> programs::Programs {
        programs::Programs {
            client: self.clone(),
        }
    }

    /// Admins: list, create, invite, revoke, reinstate.
    pub fn admins(&self) -> admins::Admins {
        admins::Admins {
            client: self.clone(),
        }
    }
}
