//! `openpartner`: the command-line client for OpenPartner-style partner-program APIs.
//!
//! Module map:
//! - [`cli`]: clap definitions (global flags, one subcommand enum per noun);
//! - [`cmd`]: one module per noun running the commands through the `openpartner` SDK;
//! - [`context`]: credential precedence and client construction;
//! - [`config`] / [`secrets`]: profiles in `config.toml`, secrets in the OS keyring or the
//!   0600 `credentials.toml` fallback;
//! - [`output`]: table / json / ndjson / csv writers (streaming, EPIPE-safe);
//! - [`import`]: `partners import` (validation, bounded concurrency, report);
//! - [`exit`]: the exit codes, in one place.

mod bulk;
mod cli;
mod cmd;
mod config;
mod context;
mod exit;
mod import;
mod output;
mod secrets;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::context::Ctx;
use crate::exit::Code;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help/version → 0, usage errors → 2 (clap's own codes).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let color = !cli.global.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    init_logging(cli.global.verbose, color);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            exit::report(
                &anyhow::anyhow!("cannot start the async runtime: {e}"),
                color,
            );
            return ExitCode::from(Code::Error.as_i32() as u8);
        }
    };
    let handles_interrupt = cli.command.handles_interrupt();
    let result = runtime.block_on(async move {
        let fut = run(cli);
        if handles_interrupt {
            fut.await
        } else {
            tokio::select! {
                r = fut => r,
                _ = tokio::signal::ctrl_c() => Err(exit::fail(Code::Interrupted, "interrupted")),
            }
        }
    });
    // Do not wait for abandoned work (e.g. a stuck request after Ctrl-C).
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit::code_for(&err);
            if code != Code::Ok {
                exit::report(&err, color);
            }
            ExitCode::from(u8::try_from(code.as_i32()).unwrap_or(1))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    // Commands that need no configuration at all.
    match &command {
        cli::Command::Completion { shell } => return cmd::completion::completion(*shell),
        cli::Command::Man => return cmd::completion::man(),
        cli::Command::Help { topic } => return cmd::completion::help(topic),
        _ => {}
    }
    let ctx = Ctx::new(global)?;
    cmd::dispatch(&ctx, command).await
}

/// `--verbose`: SDK HTTP logs (target `openpartner::http`) on stderr. `-v` = DEBUG (one line
/// per attempt, headers masked by the SDK), `-vv` = TRACE (bodies, secret fields masked).
fn init_logging(verbose: u8, color: bool) {
    let filter = match verbose {
        0 => return,
        1 => "openpartner::http=debug",
        _ => "openpartner=trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(color && std::io::stderr().is_terminal())
        .try_init();
}
