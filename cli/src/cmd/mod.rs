//! One module per noun. Each command takes the [`Ctx`] and its parsed flags, talks to the
//! server only through the `openpartner` SDK, writes results to stdout and notes to stderr.

pub mod admins;
pub mod api;
pub mod api_keys;
pub mod auth;
pub mod completion;
pub mod partners;

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
        Command::Completion { shell } => completion::completion(shell),
        Command::Man => completion::man(),
        Command::Help { topic } => completion::help(&topic),
    }
}

/// Serialises an SDK value to JSON for output.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(value)?)
}
