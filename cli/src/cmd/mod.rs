//! One module per noun. Each command takes the [`Ctx`] and its parsed flags, talks to the
//! server only through the `openpartner` SDK, writes results to stdout and notes to stderr.

pub mod admins;
pub mod analytics;
pub mod api;
pub mod api_keys;
pub mod auth;
pub mod clicks;
pub mod commissions;
pub mod common;
pub mod completion;
pub mod dev;
pub mod events;
pub mod export;
pub mod links;
pub mod me;
pub mod partners;
pub mod payouts;
pub mod platform;
pub mod programs;
pub mod webhooks;

use anyhow::Result;

use crate::cli::Command;
use crate::context::Ctx;

/// Runs a command that needs the configuration.
pub async fn dispatch(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Auth(c) => auth::run(ctx, c).await,
        Command::Partners(c) => partners::run(ctx, c).await,
        Command::ApiKeys(c) => api_keys::run(ctx, c).await,
        Command::Admins(c) => admins::run(ctx, c).await,
        Command::Api(a) => api::run(ctx, a).await,
        Command::Programs(c) => programs::run(ctx, c).await,
        Command::Links(c) => links::run(ctx, c).await,
        Command::Clicks(c) => clicks::run(ctx, c).await,
        Command::Identify(c) => clicks::identify(ctx, c).await,
        Command::Events(c) => events::run(ctx, c).await,
        Command::Commissions(c) => commissions::run(ctx, c).await,
        Command::Payouts(c) => payouts::run(ctx, c).await,
        Command::Export(c) => export::run(ctx, c).await,
        Command::Me => me::me(ctx).await,
        Command::Stats(c) => me::stats(ctx, c).await,
        Command::Dev(c) => dev::run(ctx, c).await,
        Command::Webhooks(c) => webhooks::run(ctx, c).await,
        Command::Platform(c) => platform::run(ctx, c).await,
        Command::Completion { shell } => completion::completion(shell),
        Command::Man => completion::man(),
        Command::Help { topic } => completion::help(&topic),
    }
}

/// Serialises an SDK value to JSON for output.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(value)?)
}
