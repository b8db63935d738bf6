//! `tftp`: a TFTP client on the tftp-proto core.
//!
//! ```text
//! cargo run --release --example tftp -- get HOST[:PORT] REMOTE [LOCAL]
//! cargo run --release --example tftp -- put HOST[:PORT] REMOTE [LOCAL]
//! cargo run --release --example tftp -- get '[::1]:6969' boot.img --blksize 1468 --windowsize 16
//! ```
//!
//! A download is written to a temporary file beside LOCAL and renamed into place only when
//! complete (R-CLI-1). Any failure prints the server's ERROR code and message, or what went
//! wrong locally, and exits non-zero (R-CLI-2).

#[cfg(unix)]
#[path = "tftp/args.rs"]
mod args;
#[cfg(unix)]
#[path = "tftp/client.rs"]
mod client;
#[cfg(unix)]
#[path = "driver/mod.rs"]
mod driver;
#[cfg(unix)]
#[path = "tftp/progress.rs"]
mod progress;
#[cfg(unix)]
#[path = "tftp/report.rs"]
mod report;
#[cfg(unix)]
#[path = "tftp/target.rs"]
mod target;

use std::process::ExitCode;

#[cfg(unix)]
fn main() -> ExitCode {
    use clap::Parser;

    let args = args::Args::parse();
    let server = match target::resolve(&args.server) {
        Ok(server) => server,
        Err(message) => {
            eprintln!("tftp: {message}");
            return ExitCode::from(2);
        }
    };
    let result = client::run(&args, server);
    report::report(&args, server, &result)
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("tftp: this example runs on Unix-like systems (Linux, macOS, the BSDs) only");
    ExitCode::FAILURE
}
