//! `cargo run --release --example tftp -- get HOST[:PORT] REMOTE [LOCAL]`: the `tftp` client
//! of the `tftp-driver` crate (`examples/driver/`), runnable from the top of the repository.

use std::process::ExitCode;

#[cfg(unix)]
fn main() -> ExitCode {
    tftp_driver::client::cli::main()
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("tftp: runs on Unix-like systems (Linux, macOS, the BSDs) only");
    ExitCode::FAILURE
}
