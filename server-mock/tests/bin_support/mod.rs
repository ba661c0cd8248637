//! Starting the real `openpartner-mock` binary in tests (shared by `binary.rs`,
//! `attribution_seed_binary.rs` and `hostile.rs`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_openpartner-mock");

/// Starts the binary on a free port with `--admin-key ADMIN --log warn` plus `args`
/// (no `ADMIN_API_KEY` inherited) and returns it with the base URL it prints first.
/// Its stderr is discarded.
#[allow(dead_code)] // not every test binary that includes this module calls it
pub fn spawn(admin: &str, args: &[&str]) -> (Child, String) {
    spawn_with_stderr(admin, args, Stdio::null())
}

/// [`spawn`] with the server's stderr sent to `stderr` (e.g. a file, to look for panics).
pub fn spawn_with_stderr(admin: &str, args: &[&str], stderr: Stdio) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--admin-key", admin, "--log", "warn"])
        .args(args)
        .env_remove("ADMIN_API_KEY")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    (child, line.trim_end().to_owned())
}
