//! `openpartner-mock`: the stateful reference server of the OpenPartner partner-program
//! API (`API.md`), on axum + tokio + SQLite.
//!
//! # Map
//! - [`spawn`] / [`RunningServer`] — start in-process (tests use port 0, `:memory:`).
//! - [`config`] — [`Config`], [`Tenancy`], [`RateLimit`] and flag parsers.
//! - [`state`] — [`AppState`] (db, config, clock, mailer, rate limiters, base URL).
//! - [`db`] — the SQLite handle ([`db::Db::call`]: a writer thread with group commit) and
//!   ordered migrations
//!   (`server-mock/migrations/NNNN_*.sql`, listed in [`db::MIGRATIONS`]).
//! - [`error`] — [`ApiError`] (`{"error","detail"?}`) and [`error::Validation`].
//! - [`extract`] — [`extract::Json`] / [`extract::QueryParams`] with the API's rejections.
//! - [`tenancy`] — tenant resolution before routing, [`tenancy::Tenant`] extractor.
//! - [`auth`] — credential resolution (through the [`auth::CredentialCache`]),
//!   [`auth::Principal`], guards on [`auth::Auth`] (`require_admin`, `require_scope`,
//!   `require_admin_or_partner`, …), sessions and magic links.
//! - [`faults`] — `--faults` fault injection (503, 429, resets, slow, truncated bodies) and
//!   its log (`GET /dev/faults`).
//! - [`ratelimit`] — governor-based limits and headers; [`idempotency`] — \[EXT\]
//!   `Idempotency-Key` middleware; [`middleware`] — request id, client IP, extensions
//!   header, error safety net, fallbacks.
//! - [`outbox`] — `outbox::emit` records webhook events in the `outbox` table;
//!   [`webhooks`] — the dispatcher that fans them out into deliveries and sends them
//!   (started by [`spawn`]), signing, retries.
//! - [`postbacks`] — partner postbacks: `fan_out` of a commission event into pending
//!   sends (called by the dispatcher), and the sender task (`spawn_sender`, started by [`spawn`]).
//! - [`mail`] — dev mailbox; [`pagination`] — keyset cursors; [`util`] — ids, times,
//!   secrets; [`clock`] — injectable clock.
//! - Attribution half (see `ATTRIBUTION.md`): [`engine`] — the pure §3.4 engine;
//!   [`rules`] — commission sub-rules; [`attribution`] — runs the engine over stored events
//!   (events, identify backfill, unflag, seed); [`export`] — §3.8 CSV rendering;
//!   [`seed`] — `--seed demo|commissions:N`.
//! - [`routes`] — one module per resource, each `pub fn router() -> Router<AppState>`,
//!   merged in `routes/mod.rs` into the public / authenticated / tenant-open groups and
//!   the \[EXT\] platform group (`/platform/*`, multi mode only).
//!
//! # Request pipeline
//! `middleware::outer` (request id, client IP, extensions header, error safety net) →
//! `tenancy::resolve_tenant` (URI rewrite) → `faults::inject` (only with `--faults`) →
//! router (`CatchPanic`, body limit, the whole body read by [`extract::read_whole_body`])
//! → group layers (`require_tenant` → `resolve_auth` → `rate_limit` → `idempotency`) →
//! handler.
//!
//! # Adding a resource
//! Write `routes/<name>.rs` with `pub fn router() -> Router<AppState>`, add one line in
//! `routes::authenticated` (or `routes::tenant_open`), add `migrations/000N_<name>.sql`
//! and list it in [`db::MIGRATIONS`]. Handlers take `State<AppState>`, `Tenant`, `Auth`,
//! `extract::Json<T>` / `QueryParams`, call a guard first and return `ApiResult<_>`;
//! writes happen in one `state.db.call(|c| { let tx = c.savepoint()?; …; tx.commit()?; })`.
//! Webhook events are recorded in the same transaction with
//! `outbox::emit(&tx, &tenant.id, "partner.created", data, &now)`. Shared rows:
//! `store::partners::{Partner, get}`, `store::admins::{Admin, get}`.
//! Per-IP route budgets go in `ratelimit::ROUTE_LIMITS`, handler-checked budgets in
//! `ratelimit::NAMED_LIMITS`; a new extension name goes in
//! `middleware::IMPLEMENTED_EXTENSIONS`. Tests can mount extra routes with
//! [`spawn_with_routes`].

// Row tuples read from rusqlite are spelled out where they are used.
#![allow(clippy::type_complexity)]

pub mod attribution;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod export;
pub mod extract;
pub mod faults;
pub mod idempotency;
pub mod mail;
pub mod middleware;
pub mod outbound;
pub mod outbox;
pub mod pagination;
pub mod postbacks;
pub mod ratelimit;
pub mod respond;
pub mod routes;
pub mod rules;
pub mod seed;
pub mod state;
pub mod store;
pub mod tenancy;
pub mod util;
pub mod webhooks;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;

pub use clock::Clock;
pub use config::{Config, RateLimit, Tenancy};
pub use error::ApiError;
pub use state::AppState;

/// A server running in the background. Dropping it starts a graceful shutdown.
pub struct RunningServer {
    /// `http://<addr>`, without trailing slash.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    janitor: JoinHandle<()>,
    postback_sender: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// `<base_url>/t/<slug>` (multi mode).
    pub fn tenant_url(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.base_url)
    }

    /// The server's shared state (database access for tests, clock, config).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The server's clock (advance a [`Clock::manual`] clock in tests).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Stops accepting connections and waits until in-flight requests are done.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await??;
        }
        Ok(())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.janitor.abort();
        self.postback_sender.abort();
        self.dispatcher.abort();
    }
}

/// Opens the database, creates the configured tenants, binds `config.bind:config.port`
/// and serves in a background task.
///
/// Errors: the database cannot be opened or migrated, a `--tenant` slug is invalid, or the
/// address cannot be bound.
pub async fn spawn(config: Config) -> anyhow::Result<RunningServer> {
    spawn_with_routes(config, axum::Router::new()).await
}

/// [`spawn`] with `extra` routes merged into the authenticated route group (they get the
/// tenant, auth, rate-limit and idempotency layers). Meant for tests and embedding.
pub async fn spawn_with_routes(
    config: Config,
    extra: axum::Router<AppState>,
) -> anyhow::Result<RunningServer> {
    let db = db::Db::open_with(&config.db, config.synchronous)?;
    let now = util::fmt_ts(config.clock.now());
    let (tenancy, tenants) = (config.tenancy, config.tenants.clone());
    let tenant_cache = Arc::new(tenancy::TenantCache::default());
    let cache = tenant_cache.clone();
    let endpoints_exist = db.with_blocking(move |c| -> anyhow::Result<bool> {
        tenancy::ensure_tenants(c, &cache, tenancy, &tenants, &now)?;
        store::idempotency::clear_in_flight(c)?;
        // deliveries a crash interrupted mid-send are due again (at-least-once)
        store::webhooks::resume_claimed(c, &now)?;
        Ok(store::webhooks::any_endpoint(c)?)
    })??;
    let listener = tokio::net::TcpListener::bind((config.bind, config.port)).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let portal = config
        .portal_url
        .clone()
        .unwrap_or_else(|| base_url.clone());
    let mailer = mail::Mailer::new(&portal, config.tenancy == Tenancy::Multi);
    let limits = Arc::new(ratelimit::RateLimits::new(
        config.rate_limit,
        config.route_limits,
    ));
    let outbound = Arc::new(outbound::Outbound::from_config(&config));
    let state = AppState {
        db,
        clock: config.clock.clone(),
        config: Arc::new(config),
        mailer,
        limits: limits.clone(),
        inflight: Arc::default(),
        credentials: Arc::default(),
        tenants: tenant_cache,
        outbound,
        base_url: Arc::from(base_url.as_str()),
        webhooks: Arc::new(webhooks::Dispatcher::new(endpoints_exist)),
    };
    let app = routes::build_with(state.clone(), extra);
    let injection = faults::Injection {
        app: state.clone(),
        faults: state.config.faults.clone().map(|c| {
            tracing::warn!(rate = c.rate, seed = c.seed, "fault injection is on");
            Arc::new(faults::Faults::new(c))
        }),
    };
    let svc = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), middleware::outer))
        .layer(from_fn_with_state(state.clone(), tenancy::resolve_tenant))
        .layer(from_fn_with_state(injection, faults::inject))
        .service(app);
    let make = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
        SocketAddr,
    >(svc);
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        axum::serve(listener, make)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    let postback_sender = postbacks::spawn_sender(state.clone());
    // Housekeeping every minute: idle rate-limit keys and expired idempotency records.
    let janitor_state = state.clone();
    let janitor = tokio::spawn(async move {
        // The first sweep a minute after start (not at once): no database job of its own
        // competes with the first requests.
        let period = std::time::Duration::from_secs(60);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tick.tick().await;
            limits.retain_recent();
            let now = janitor_state.now_iso();
            let _ = janitor_state
                .db
                .call(move |c| {
                    store::idempotency::delete_expired(c, &now)?;
                    Ok(())
                })
                .await;
        }
    });
    let dispatcher = webhooks::dispatcher::spawn(state.clone());
    Ok(RunningServer {
        base_url,
        addr,
        state,
        shutdown: Some(tx),
        handle: Some(handle),
        janitor,
        postback_sender,
        dispatcher,
    })
}
