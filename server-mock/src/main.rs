//! `openpartner-mock`: run the reference server.
//!
//! The first stdout line is always the base URL (e.g. `http://127.0.0.1:4100`); every
//! other message goes to stderr. Every flag has an environment fallback.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use openpartner_mock::config::{parse_cidrs, parse_rate_limit, RateLimit};
use openpartner_mock::faults::parse_faults;
use openpartner_mock::{Config, Tenancy};

#[derive(Parser, Debug)]
#[command(
    name = "openpartner-mock",
    version,
    about = "Stateful reference server for the OpenPartner API"
)]
struct Args {
    /// TCP port (0 = pick a free port).
    #[arg(long, env = "OPENPARTNER_MOCK_PORT", default_value_t = 4100)]
    port: u16,
    /// Bind address.
    #[arg(long, env = "OPENPARTNER_MOCK_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// SQLite database path, or ":memory:".
    #[arg(long, env = "OPENPARTNER_MOCK_DB", default_value = "./sandbox.db")]
    db: String,
    /// Bootstrap admin key (any string), valid in every tenant. Required.
    #[arg(long, env = "ADMIN_API_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Platform key for /platform/* (multi mode).
    #[arg(long, env = "PLATFORM_API_KEY", hide_env_values = true)]
    platform_key: Option<String>,
    /// single | multi.
    #[arg(long, env = "OPENPARTNER_MOCK_TENANCY", default_value = "single")]
    tenancy: Tenancy,
    /// Tenant slug to create in multi mode (repeatable; env: comma-separated).
    #[arg(
        long = "tenant",
        env = "OPENPARTNER_MOCK_TENANTS",
        value_delimiter = ','
    )]
    tenants: Vec<String>,
    /// Origin used in magic links (default: the server's own origin).
    #[arg(long, env = "OPENPARTNER_MOCK_PORTAL_URL")]
    portal_url: Option<String>,
    /// Mark the session cookie Secure.
    #[arg(long, env = "OPENPARTNER_MOCK_COOKIE_SECURE")]
    cookie_secure: bool,
    /// Proxies whose X-Forwarded-For is trusted: CIDR,CIDR,…
    #[arg(long, env = "OPENPARTNER_MOCK_TRUSTED_PROXIES", value_parser = parse_cidrs_arg)]
    trusted_proxies: Option<CidrList>,
    /// Global rate limit, e.g. 600/300s, or off.
    #[arg(long, env = "OPENPARTNER_MOCK_RATE_LIMIT", default_value = "600/300s", value_parser = parse_rate_limit_arg)]
    rate_limit: RateLimitArg,
    /// Disable every \[EXT\] behaviour and the OpenPartner-Extensions header.
    #[arg(long, env = "OPENPARTNER_MOCK_NO_EXTENSIONS")]
    no_extensions: bool,
    /// Fill the database at start: `demo` (a realistic sandbox: programs, hundreds of
    /// partners, links, clicks, identities, months of events, commissions in every status,
    /// a payout run) or `commissions:N` (N bulk commissions for benchmarks). Skipped for a
    /// tenant that already has programs.
    #[arg(long, env = "OPENPARTNER_MOCK_SEED")]
    seed: Option<String>,
    /// Simulated network latency added to every request, in milliseconds (0 = none).
    /// Loopback has no round trip; benchmarks of client concurrency use this to model a
    /// real deployment.
    #[arg(long, env = "OPENPARTNER_MOCK_LATENCY_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    latency_ms: u64,

    /// Durability of file databases: `full` fsyncs every commit before answering (the
    /// default: an acknowledged write survives a power loss), `normal` survives a crash of
    /// the process only, `off` never fsyncs. Concurrent writes share commits either way.
    #[arg(long, env = "OPENPARTNER_MOCK_SYNCHRONOUS", default_value = "full")]
    synchronous: openpartner_mock::db::Synchronous,
    /// Address ranges webhook deliveries and postbacks may reach although the SSRF guard
    /// forbids them (loopback, private, link-local…): CIDR,CIDR,… — for tests and local
    /// sandboxes, e.g. 127.0.0.0/8,::1/128.
    #[arg(long, env = "OPENPARTNER_OUTBOUND_ALLOW_PRIVATE_CIDRS", value_parser = parse_cidrs_arg)]
    outbound_allow_private_cidrs: Option<CidrList>,
    /// [EXT] Webhook attempts per delivery in total, 1–20 (1 = no automatic retries; with
    /// --no-extensions always 1).
    #[arg(long, env = "OPENPARTNER_MOCK_WEBHOOK_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    webhook_attempts: u32,
    /// [EXT] Delays before webhook attempt 2, 3, …: comma-separated, each with a unit
    /// ms/s/m/h (default s), ±20 % jitter added; a short list repeats its last value.
    #[arg(long, env = "OPENPARTNER_MOCK_WEBHOOK_SCHEDULE", default_value = "30s,2m,10m,1h", value_parser = parse_schedule_arg)]
    webhook_schedule: ScheduleArg,
    /// Fault injection for client tests (off by default): a fraction of requests fails as
    /// networks and servers fail, e.g.
    /// 'rate=0.1,kinds=503,429,reset-before,reset-after,slow,truncate,slow=2s' (kinds
    /// default to all six, slow= is the delay of `slow`, default 2s). Also enables the
    /// OpenPartner-Mock-Fault request header and counts in GET /dev/faults. Never use it
    /// for a real sandbox.
    #[arg(long, env = "OPENPARTNER_MOCK_FAULTS")]
    faults: Option<String>,
    /// Seed of the fault RNG: the same seed repeats the same faults (default: random,
    /// printed at start).
    #[arg(long, env = "OPENPARTNER_MOCK_FAULTS_SEED", requires = "faults")]
    faults_seed: Option<u64>,
    /// Log filter (e.g. info, debug, openpartner_mock=trace).
    #[arg(long, env = "OPENPARTNER_MOCK_LOG", default_value = "info")]
    log: String,
}

#[derive(Debug, Clone, Copy)]
struct RateLimitArg(Option<RateLimit>);

fn parse_rate_limit_arg(s: &str) -> Result<RateLimitArg, String> {
    parse_rate_limit(s).map(RateLimitArg)
}

#[derive(Debug, Clone)]
struct ScheduleArg(Vec<std::time::Duration>);

fn parse_schedule_arg(s: &str) -> Result<ScheduleArg, String> {
    openpartner_mock::config::parse_schedule(s).map(ScheduleArg)
}

/// A parsed CIDR list (`--trusted-proxies`, `--outbound-allow-private-cidrs`): one value
/// holding every range (a bare
/// `Option<Vec<_>>` field would make clap expect one range per value and panic on access).
#[derive(Debug, Clone)]
struct CidrList(Vec<ipnet::IpNet>);

fn parse_cidrs_arg(s: &str) -> Result<CidrList, String> {
    parse_cidrs(s).map(CidrList)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let Some(admin_key) = args.admin_key.filter(|k| !k.trim().is_empty()) else {
        eprintln!(
            "error: no admin key. Start with --admin-key <KEY> or set ADMIN_API_KEY: \
             without it nobody could create the first partner or API key."
        );
        return ExitCode::from(2);
    };
    let faults = match args.faults.as_deref() {
        None => None,
        Some(spec) => {
            let seed = args.faults_seed.unwrap_or_else(rand::random);
            match parse_faults(spec, seed) {
                Ok(f) => {
                    eprintln!("fault injection on: --faults '{spec}' --faults-seed {seed}");
                    Some(f)
                }
                Err(e) => {
                    eprintln!("error: invalid --faults: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let config = Config {
        port: args.port,
        bind: args.bind,
        db: args.db,
        admin_key: Some(admin_key),
        platform_key: args.platform_key.filter(|k| !k.trim().is_empty()),
        tenancy: args.tenancy,
        tenants: args.tenants,
        portal_url: args.portal_url,
        cookie_secure: args.cookie_secure,
        trusted_proxies: args.trusted_proxies.map(|t| t.0).unwrap_or_default(),
        outbound_allow_private_cidrs: args
            .outbound_allow_private_cidrs
            .map(|t| t.0)
            .unwrap_or_default(),
        rate_limit: args.rate_limit.0,
        extensions: !args.no_extensions,
        synchronous: args.synchronous,
        webhook_attempts: args.webhook_attempts,
        webhook_schedule: args.webhook_schedule.0,
        faults,
        latency: (args.latency_ms > 0).then(|| std::time::Duration::from_millis(args.latency_ms)),
        ..Config::default()
    };
    let server = match openpartner_mock::spawn(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(spec) = args.seed {
        if let Err(e) = run_seed(&server, &spec).await {
            eprintln!("error: seeding failed: {e:#}");
            return ExitCode::FAILURE;
        }
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", server.base_url);
        let _ = out.flush();
    }
    tracing::info!(base_url = %server.base_url, "openpartner-mock listening");
    wait_for_signal().await;
    tracing::info!("shutting down");
    match server.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error during shutdown: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Seeds every tenant of the server (the default tenant in single mode, each `--tenant`
/// in multi mode) that has no programs yet.
async fn run_seed(server: &openpartner_mock::RunningServer, spec: &str) -> anyhow::Result<()> {
    let state = server.state().clone();
    let spec = spec.to_owned();
    tokio::task::spawn_blocking(move || {
        let clock = state.clock.clone();
        state.db.with_blocking(move |c| -> anyhow::Result<()> {
            for t in openpartner_mock::store::tenants::ids(c)? {
                if openpartner_mock::store::programs::any(c, &t)? {
                    tracing::info!(tenant = %t, "seed skipped: the tenant already has programs");
                    continue;
                }
                let started = std::time::Instant::now();
                let report = openpartner_mock::seed::run(c, &t, &spec, clock.now())?;
                tracing::info!(tenant = %t, ?report, elapsed = ?started.elapsed(), "seeded");
            }
            Ok(())
        })?
    })
    .await?
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
