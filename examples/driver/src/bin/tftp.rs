//! `tftp`: a TFTP client on the tftp-proto core (see [`tftp_driver::client::cli`]).

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
