//! `tftpd`: a TFTP server on the tftp-proto core (see [`tftp_driver::server::cli`]).

use std::process::ExitCode;

#[cfg(unix)]
fn main() -> ExitCode {
    tftp_driver::server::cli::main()
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("tftpd: runs on Unix-like systems (Linux, macOS, the BSDs) only");
    ExitCode::FAILURE
}
