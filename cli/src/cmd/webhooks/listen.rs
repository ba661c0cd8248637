//! `webhooks listen`: a local receiver for a temporary webhook endpoint (the Stripe CLI's
//! `listen --forward-to`, API.md §3.6).
//!
//! 1. Binds `127.0.0.1:<--port>` (0 = any free port).
//! 2. Registers a temporary endpoint (`POST /webhooks`) whose URL is `--public-url`, or
//!    `http://127.0.0.1:<port>/` when the server can reach this machine directly.
//! 3. Verifies every delivery with that endpoint's secret ([`openpartner::webhooks::verify`],
//!    300 s tolerance). A failed check is answered `400`, reported on stderr and makes the
//!    command exit non-zero at the end.
//! 4. Handles deliveries ONE AT A TIME, IN ARRIVAL ORDER (a single worker behind a queue):
//!    forwards each to `--forward-to` with the original headers and body, answers the
//!    server with the forward target's status and body (so a failed forward is retried by
//!    the server), `502` when the target cannot be reached; without `--forward-to` answers
//!    `200`. One line per delivery on stdout: `--> commission.paid evt_… [200]` on a
//!    terminal (`-o table`), one NDJSON object otherwise.
//! 5. Checks the endpoint's deliveries every 2 s and warns once on stderr when the server
//!    refused to send one to this receiver (its SSRF guard blocks loopback unless the
//!    server runs with `--outbound-allow-private-cidrs`), instead of waiting in silence.
//! 6. On Ctrl-C or SIGTERM: stops accepting, finishes the queue, hard-deletes the endpoint.
//!
//! The secret is shown only with `--print-secret` (on stderr) and is never logged.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use clap::Args;
use openpartner::webhooks::{self, Event};
use openpartner::Client;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::context::Ctx;
use crate::exit::{self, Code};
use crate::output::{self, Format};

/// Label of the temporary endpoint.
const LABEL: &str = "openpartner webhooks listen";

/// How long a forward may take (the server's own delivery timeout, §3.6).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries waiting for the worker; the server sees back-pressure beyond this.
const QUEUE: usize = 256;

/// Headers not copied to the forward target: hop-by-hop, or recomputed by the client.
const NOT_FORWARDED: [&str; 5] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
];

/// `webhooks listen` flags.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Event types to subscribe to (repeatable, or comma-separated; default `*` = all).
    #[arg(
        long = "events",
        visible_alias = "event",
        value_name = "TYPE",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub events: Vec<String>,
    /// Forward each verified delivery to this URL (original headers and body) and answer
    /// the server with its status.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<url::Url>,
    /// Local port to listen on, on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// URL the server delivers to, when it cannot reach http://127.0.0.1:<port>/ (a tunnel
    /// or a forwarded port that leads to this receiver).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<url::Url>,
    /// Print the temporary endpoint's signing secret on stderr (e.g. for the forward target
    /// to verify with).
    #[arg(long)]
    pub print_secret: bool,
}

/// One received delivery, waiting for the worker.
struct Job {
    headers: HeaderMap,
    body: Bytes,
    reply: oneshot::Sender<Response>,
}

/// Runs `webhooks listen` until Ctrl-C / SIGTERM.
///
/// Errors: the port cannot be bound; the endpoint cannot be created (API errors map to exit
/// codes as usual); the endpoint cannot be deleted at the end; any delivery failed
/// verification (exit 1, after the endpoint is deleted).
pub async fn run(ctx: &Ctx, client: &Client, args: ListenArgs) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    let local = listener.local_addr()?;
    let url = match &args.public_url {
        Some(u) => u.to_string(),
        None => format!("http://{local}/"),
    };
    let created = client
        .webhooks()
        .create(url.clone(), args.events.clone())
        .label(LABEL)
        .send()
        .await
        .context("registering the temporary endpoint")?;
    let endpoint_id = created.endpoint.id.clone();
    let secret = created.secret;
    output::info(&format!(
        "Listening on http://{local}/ as endpoint {endpoint_id} ({url}, events {}).",
        args.events.join(",")
    ));
    match &args.forward_to {
        Some(f) => output::info(&format!("Forwarding deliveries to {f}, one at a time.")),
        None => output::info("Not forwarding (no --forward-to): deliveries are answered 200."),
    }
    if args.print_secret {
        output::info(&format!("Signing secret: {}", secret.expose()));
    }
    output::info("Ctrl-C stops and deletes the endpoint.");

    let rejected = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    let worker = tokio::spawn(work(
        rx,
        Worker {
            secret: secret.expose().to_owned(),
            forward_to: args.forward_to.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(FORWARD_TIMEOUT)
                .build()
                .context("building the forwarding client")?,
            human: ctx.format() == Format::Table,
            rejected: rejected.clone(),
        },
    ));
    let watcher = tokio::spawn(watch_refusals(client.clone(), endpoint_id.clone()));
    let app = axum::Router::new().fallback(receive).with_state(tx);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal())
        .await;
    // The router (and its queue sender) is gone: the worker drains the queue and ends.
    let _ = worker.await;
    watcher.abort();

    let deleted = client.webhooks().delete(&endpoint_id, true).await;
    match &deleted {
        Ok(()) => output::info(&format!("Deleted endpoint {endpoint_id}.")),
        Err(e) => output::warn(&format!(
            "could not delete endpoint {endpoint_id} ({e}): delete it with `openpartner webhooks delete {endpoint_id} --hard`"
        )),
    }
    served.context("serving the receiver")?;
    deleted.with_context(|| format!("deleting endpoint {endpoint_id}"))?;
    let n = rejected.load(Ordering::SeqCst);
    if n > 0 {
        return Err(exit::fail(
            Code::Error,
            format!(
                "{n} deliver{} failed verification",
                if n == 1 { "y" } else { "ies" }
            ),
        ));
    }
    Ok(())
}

/// How often the endpoint's deliveries are checked for ones the server refused to send.
const REFUSAL_CHECK: Duration = Duration::from_secs(2);

/// Watches the temporary endpoint's deliveries and says so, once, on stderr when the server
/// refused to send one (its SSRF guard blocks loopback unless it runs with
/// `--outbound-allow-private-cidrs`): otherwise `listen` would wait silently for deliveries
/// that never come. Errors of the check itself are ignored (it is advice, not the job).
async fn watch_refusals(client: Client, endpoint_id: String) {
    loop {
        tokio::time::sleep(REFUSAL_CHECK).await;
        let Ok(deliveries) = client.webhooks().deliveries(&endpoint_id).await else {
            continue;
        };
        let refused = deliveries.iter().find(|d| {
            d.http_status.is_none() && d.error.as_deref().is_some_and(|e| e.starts_with("blocked"))
        });
        if let Some(d) = refused {
            output::warn(&format!(
                "the server refused to deliver {} {} to this receiver ({}). A reference \
                 server delivers to this machine only when started with \
                 --outbound-allow-private-cidrs 127.0.0.0/8; otherwise give --public-url \
                 (a tunnel that reaches this port).",
                d.event_type,
                d.event_id,
                d.error.as_deref().unwrap_or_default()
            ));
            return;
        }
    }
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The receiver's only handler: queues a POST for the worker and waits for its answer.
async fn receive(
    State(tx): State<mpsc::Sender<Job>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "webhook deliveries are POSTed\n",
        )
            .into_response();
    }
    let (reply, answer) = oneshot::channel();
    if tx
        .send(Job {
            headers,
            body,
            reply,
        })
        .await
        .is_err()
    {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    answer
        .await
        .unwrap_or_else(|_| StatusCode::SERVICE_UNAVAILABLE.into_response())
}

struct Worker {
    secret: String,
    forward_to: Option<url::Url>,
    http: reqwest::Client,
    human: bool,
    rejected: Arc<AtomicU64>,
}

/// What happened to a forward.
enum Forwarded {
    /// Not forwarding.
    No,
    /// The target answered.
    Answered { status: u16, body: Bytes },
    /// The target could not be reached.
    Failed(String),
}

/// The single worker: deliveries are verified, forwarded and answered strictly one after
/// the other, in the order they were queued.
async fn work(mut rx: mpsc::Receiver<Job>, w: Worker) {
    while let Some(job) = rx.recv().await {
        let response = w.handle(&job.headers, job.body).await;
        let _ = job.reply.send(response);
    }
}

impl Worker {
    async fn handle(&self, headers: &HeaderMap, body: Bytes) -> Response {
        let event =
            match webhooks::verify(&self.secret, headers, &body, webhooks::DEFAULT_TOLERANCE) {
                Ok(e) => e,
                Err(e) => {
                    self.rejected.fetch_add(1, Ordering::SeqCst);
                    let delivery = headers
                        .get(webhooks::DELIVERY_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("(no delivery id)");
                    output::warn(&format!("REJECTED delivery {delivery}: {e} (answered 400)"));
                    return (
                        StatusCode::BAD_REQUEST,
                        format!("verification failed: {e}\n"),
                    )
                        .into_response();
                }
            };
        let started = Instant::now();
        let forwarded = self.forward(headers, body).await;
        let took = started.elapsed();
        let (status, reply_body) = match &forwarded {
            Forwarded::No => (200, Bytes::new()),
            Forwarded::Answered { status, body } => (*status, body.clone()),
            Forwarded::Failed(_) => (502, Bytes::from_static(b"forward target unreachable\n")),
        };
        self.print(&event, status, &forwarded, took);
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        (code, reply_body).into_response()
    }

    async fn forward(&self, headers: &HeaderMap, body: Bytes) -> Forwarded {
        let Some(target) = &self.forward_to else {
            return Forwarded::No;
        };
        let mut copied = HeaderMap::new();
        for (name, value) in headers {
            if !NOT_FORWARDED.contains(&name.as_str()) {
                copied.append(name.clone(), value.clone());
            }
        }
        let sent = self
            .http
            .post(target.clone())
            .headers(copied)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.bytes().await.unwrap_or_default();
                Forwarded::Answered { status, body }
            }
            Err(e) => Forwarded::Failed(error_chain(&e)),
        }
    }

    fn print(&self, event: &Event, status: u16, forwarded: &Forwarded, took: Duration) {
        let line = if self.human {
            match forwarded {
                Forwarded::Failed(e) => format!(
                    "--> {} {} [forward failed: {e}; answered {status}]",
                    event.event_type(),
                    event.id()
                ),
                _ => format!("--> {} {} [{status}]", event.event_type(), event.id()),
            }
        } else {
            json!({
                "event": event.event_type(),
                "id": event.id(),
                "deliveryId": event.delivery_id(),
                "status": status,
                "forwardStatus": match forwarded {
                    Forwarded::Answered { status, .. } => json!(status),
                    _ => json!(null),
                },
                "forwardError": match forwarded {
                    Forwarded::Failed(e) => json!(e),
                    _ => json!(null),
                },
                "forwardMs": match forwarded {
                    Forwarded::No => json!(null),
                    _ => json!(took.as_millis() as u64),
                },
            })
            .to_string()
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// An error and its causes on one line (reqwest's top-level message hides the reason).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
