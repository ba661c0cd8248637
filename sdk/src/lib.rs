//! Typed async client for OpenPartner-style partner-program APIs (the wire contract of
//! `API.md`: partners, programs, links, clicks, attribution, commissions, payouts, webhooks).
//!
//! # Module map
//!
//! | Module | What it holds |
//! |---|---|
//! | [`client`] | [`Client`], [`ClientBuilder`], URL rules (tenant prefix), the request executor, [`RawResponse`] |
//! | [`api`] | resource handlers: `client.auth()`, `.dev()`, `.partners()` (incl. grants, snapshots, analytics, postbacks), `.api_keys()`, `.admins()`, `.programs()`, `.links()`, `.clicks()`, `.events()`, `.identify()`, `.commissions()`, `.payouts()`, `.webhooks()`, `.platform()`, `.export*()`, `.raw()` |
//! | [`types`] | every wire model (serde, camelCase, `Decimal` money, `DateTime<Utc>` timestamps) |
//! | [`credentials`] | [`Credentials`] (Bearer keys or session cookie) and the masked [`Secret`] |
//! | [`error`] | the single [`Error`] enum and [`Result`] |
//! | [`redact`] | the masking of secrets used in logs and errors, public for tools that print raw responses |
//! | [`retry`] | [`RetryPolicy`] and the pure, table-tested retry decision |
//! | [`capabilities`] | [`Capabilities`] / [`Extension`] learned from `OpenPartner-Extensions` |
//! | [`pagination`] | [`CursorPage`], [`OffsetPage`], the [`Page`] trait, lazy page/item streams |
//! | [`money`] | serde helpers: decimal strings vs JSON numbers, never through `f64` |
//! | [`webhooks`] | [`webhooks::verify`] (typed [`webhooks::Event`]s) and [`webhooks::sign`] for webhook deliveries |
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use openpartner::{Client, Credentials};
//!
//! # async fn run() -> openpartner::Result<()> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:4100")
//!     .tenant("acme") // optional: multi-tenant servers only
//!     .credentials(Credentials::api_key("op_…"))
//!     .build()?;
//!
//! let created = client
//!     .partners()
//!     .create("ada@example.com", "Ada")
//!     .send_invite(false)
//!     .send()
//!     .await?;
//! println!("created {}", created.partner.id);
//!
//! let mut partners = client.partners().list().page_size(50).limit(200).stream();
//! while let Some(p) = partners.try_next().await? {
//!     println!("{} {}", p.id, p.email);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour shared by every call
//!
//! - URL = base URL without trailing `/`, then `/t/<tenant>` when a tenant is set, then the
//!   route (`/health`, `/openapi.json`, `/platform/*` never get the tenant prefix).
//! - Each logical request gets a fresh ULID `X-Request-Id` (the same on every retry); each
//!   POST an `Idempotency-Key` (yours, or a fresh ULID reused across retries).
//! - Failed attempts are retried per [`retry`] — the client's policy, or the one a request
//!   builder was given with `.retry(policy)` ([`RetryPolicy::bulk`] for long imports); a POST
//!   is resent after it may have reached the server only when the server advertises the
//!   `idempotency` extension.
//! - Calls that need an extension fail with [`Error::Unsupported`] before sending when the
//!   server lacks it.
//! - Every attempt is logged at DEBUG on target `openpartner::http` (credentials masked);
//!   bodies at TRACE with secret values masked.

// `Error::Api` carries the error body inline, as agreed in the public surface; boxing it would
// change the API the CLI codes against, so the size lint is accepted here.
#![allow(clippy::result_large_err)]
#![deny(missing_docs)]

/// The `.retry(policy)` setter every request builder carries (the request/strategy split):
/// the builder's request, and the pages of a stream it starts, use `policy` instead of the
/// client's retry policy.
macro_rules! retry_setter {
    () => {
        /// Uses `policy` for this request (and, for listings, every page it fetches) instead
        /// of the client's retry policy, e.g. [`crate::RetryPolicy::bulk`] in a bulk run.
        pub fn retry(mut self, policy: crate::RetryPolicy) -> Self {
            self.client = self.client.with_retry(policy);
            self
        }
    };
}

pub mod api;
pub mod capabilities;
pub mod client;
pub mod credentials;
pub mod error;
pub mod money;
pub mod pagination;
pub mod redact;
pub mod retry;
pub mod types;
pub mod webhooks;

pub use api::analytics::LoginLink;
pub use api::commissions::{CommissionPage, CommissionStream};
pub use api::export::{ExportAll, ExportFormat, ExportTable};
pub use capabilities::{Capabilities, Extension};
pub use client::{Client, ClientBuilder, RawResponse, ResponseMeta, WithMeta};
pub use credentials::{Credentials, Secret};
pub use error::{Error, Result};
pub use pagination::{CursorPage, OffsetPage, Page, PageToken};
pub use retry::RetryPolicy;
pub use types::*;
