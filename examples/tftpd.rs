//! `cargo run --release --example tftpd -- --root DIR`: the `tftpd` server of the
//! `tftp-driver` crate (`examples/driver/`), runnable from the top of the repository.
//! `cargo install --path examples/driver` installs it as a program.

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
