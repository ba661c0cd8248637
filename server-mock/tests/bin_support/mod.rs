//! Starting the real `openpartner-mock` binary in tests (shared by `binary.rs` and
//! `attribution_seed_binary.rs`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_openpartner-mock");

/// Starts the binary on a free port with `--admin-key ADMIN --log warn` plus `args`
/// (no `ADMIN_API_KEY` inherited) and returns it with the base URL it prints first.
pub fn spawn(admin: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--admin-key", admin, "--log", "warn"])
        .args(args)
        .env_remove("ADMIN_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    (child, line.trim_end().to_owned())
}
