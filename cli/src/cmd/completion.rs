//! `completion SHELL`, `man` and `help [COMMAND…|exit-codes]`: output generated from the
//! clap definitions, no configuration or network needed.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit;
use crate::output;

/// Prints the completion script for `shell` on stdout.
pub fn completion(shell: clap_complete::Shell) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "openpartner", &mut buf);
    write_all(&buf)
}

/// Prints the man page (roff) on stdout.
pub fn man() -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    write_all(&buf)
}

/// `help`: the top-level help, the help of a (nested) command, or a topic (`exit-codes`).
pub fn help(topic: &[String]) -> Result<()> {
    if matches!(topic, [t] if t == "exit-codes" || t == "exit-status") {
        return write_all(exit::EXIT_CODES_HELP.as_bytes());
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut current = &mut cmd;
    for (i, name) in topic.iter().enumerate() {
        match current.find_subcommand_mut(name) {
            Some(sub) => current = sub,
            None => {
                return Err(exit::usage(format!(
                "unknown help topic `{}` (try `openpartner help` or `openpartner help exit-codes`)",
                topic[..=i].join(" ")
            )))
            }
        }
    }
    let text = current.render_long_help().to_string();
    write_all(text.as_bytes())
}

fn write_all(bytes: &[u8]) -> Result<()> {
    let mut out = output::stdout();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}
