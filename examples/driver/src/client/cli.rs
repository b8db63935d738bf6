//! The `tftp` program.
//!
//! ```text
//! tftp get HOST[:PORT] REMOTE [LOCAL]
//! tftp put HOST[:PORT] REMOTE [LOCAL]
//! tftp get '[::1]:6969' boot.img --blksize 1468 --windowsize 16
//! ```
//!
//! A download is written to a temporary file beside LOCAL and renamed into place only when
//! complete (R-CLI-1). Any failure prints the server's ERROR code and message, or what went
//! wrong locally, and exits non-zero (R-CLI-2).

use std::process::ExitCode;

use clap::Parser;

use super::args::Args;
use super::{report, run, target};

/// The program: parses the command line, runs one transfer, reports it.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let server = match target::resolve(&args.server) {
        Ok(server) => server,
        Err(message) => {
            eprintln!("tftp: {message}");
            return ExitCode::from(2);
        }
    };
    let result = run::run(&args, server);
    report::report(&args, server, &result)
}
