//! Exit codes: the ONE place where the CLI decides how it ends.
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success |
//! | 1    | any other error (server 5xx, transport, decode, local I/O, …) |
//! | 2    | usage or configuration error (bad flags, missing base URL, bad CSV header, …) |
//! | 3    | not found (HTTP 404) |
//! | 4    | authentication/authorisation (HTTP 401/403, or no credential at all) |
//! | 5    | rate limited (HTTP 429 after the SDK's retries) or a partial bulk failure |
//! | 6    | conflict (HTTP 409: already exists, already revoked, …) |
//! | 130  | interrupted (Ctrl-C) |
//!
//! Conflicts get their own code (6) instead of being folded into 1 because scripts commonly
//! want to treat "already exists" as success (`openpartner partners create … || [ $? -eq 6 ]`).
//!
//! Errors reach the user as exactly one line on stderr: `error: <message> (request id …)`;
//! the SDK's `Display` never contains a secret, and CLI-made messages never include one.

use std::fmt;
use std::io::{self, IsTerminal, Write};

/// A process exit code with a meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// 0: success.
    Ok,
    /// 1: generic error.
    Error,
    /// 2: usage or configuration error.
    Usage,
    /// 3: resource not found.
    NotFound,
    /// 4: authentication or permission failure.
    Auth,
    /// 5: rate limited, or some rows of a bulk job failed.
    Partial,
    /// 6: conflict (HTTP 409).
    Conflict,
    /// 130: interrupted by Ctrl-C.
    Interrupted,
}

impl Code {
    /// The numeric process exit status.
    pub fn as_i32(self) -> i32 {
        match self {
            Code::Ok => 0,
            Code::Error => 1,
            Code::Usage => 2,
            Code::NotFound => 3,
            Code::Auth => 4,
            Code::Partial => 5,
            Code::Conflict => 6,
            Code::Interrupted => 130,
        }
    }

    /// Maps an HTTP status (non-2xx) to an exit code.
    pub fn from_http_status(status: u16) -> Code {
        match status {
            200..=299 => Code::Ok,
            401 | 403 => Code::Auth,
            404 => Code::NotFound,
            409 => Code::Conflict,
            429 => Code::Partial,
            _ => Code::Error,
        }
    }
}

/// Table printed by `openpartner help exit-codes`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes of `openpartner`:

  0    success
  1    error (server error, network failure, unreadable response, local I/O error)
  2    usage or configuration error (unknown flag, missing base URL or profile, bad CSV header)
  3    not found (HTTP 404)
  4    authentication or permission error (HTTP 401/403, or no credential configured)
  5    rate limited (HTTP 429 after retries) or partial failure of a bulk command
       (e.g. `partners import` with failed or invalid rows)
  6    conflict (HTTP 409: already exists, already revoked, not revoked, ...)
  130  interrupted (Ctrl-C)

Errors are printed as one line on stderr: `error: <message> (request id <id>)`.
A closed output pipe (e.g. `openpartner partners list | head`) ends quietly with 0.
";

/// An error raised by the CLI itself (not by the SDK) that carries its exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code to end with.
    pub code: Code,
    /// One-line message (never a secret).
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds an `anyhow::Error` carrying an explicit exit code.
pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        code,
        message: message.into(),
    })
}

/// Usage/configuration error (exit 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Usage, message)
}

/// `true` when the error is (or wraps) a broken pipe on our output: the reader went away
/// (`openpartner partners list | head`), which is not an error for us.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe))
    })
}

/// Chooses the exit code for an error by walking its cause chain.
pub fn code_for(err: &anyhow::Error) -> Code {
    if is_broken_pipe(err) {
        return Code::Ok;
    }
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.code;
        }
        if let Some(e) = cause.downcast_ref::<openpartner::Error>() {
            return code_for_sdk(e);
        }
    }
    Code::Error
}

/// Exit code for an SDK error.
pub fn code_for_sdk(e: &openpartner::Error) -> Code {
    match e {
        openpartner::Error::Api { status, .. } => Code::from_http_status(*status),
        openpartner::Error::Config(_) => Code::Usage,
        _ => Code::Error,
    }
}

/// The one-line rendering of an error: the context chain joined by `: `, newlines removed.
pub fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints `error: …` on stderr (red prefix when stderr is a terminal and colour is allowed).
pub fn report(err: &anyhow::Error, color: bool) {
    let prefix = if color && io::stderr().is_terminal() {
        "\x1b[31merror\x1b[0m"
    } else {
        "error"
    };
    let mut stderr = io::stderr().lock();
    // Nothing sensible to do if stderr itself is gone.
    let _ = writeln!(stderr, "{prefix}: {}", one_line(err));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_to_documented_codes() {
        assert_eq!(Code::from_http_status(401).as_i32(), 4);
        assert_eq!(Code::from_http_status(403).as_i32(), 4);
        assert_eq!(Code::from_http_status(404).as_i32(), 3);
        assert_eq!(Code::from_http_status(409).as_i32(), 6);
        assert_eq!(Code::from_http_status(429).as_i32(), 5);
        assert_eq!(Code::from_http_status(500).as_i32(), 1);
        assert_eq!(Code::from_http_status(400).as_i32(), 1);
    }

    #[test]
    fn failure_code_survives_context() {
        let err = fail(Code::NotFound, "nope").context("while doing x");
        assert_eq!(code_for(&err), Code::NotFound);
        assert_eq!(one_line(&err), "while doing x: nope");
    }

    #[test]
    fn broken_pipe_is_success() {
        let err = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert_eq!(code_for(&err), Code::Ok);
    }

    #[test]
    fn help_text_lists_every_code() {
        for code in [0, 1, 2, 3, 4, 5, 6, 130] {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {code} ")),
                "missing {code}"
            );
        }
    }
}
