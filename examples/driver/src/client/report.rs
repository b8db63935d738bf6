//! What the client tells the person, and its exit code (R-CLI-2).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;

use tftp_proto::TransferError;

use super::args::{Args, Verb};
use super::run::{Done, Failure};

/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

/// Prints the outcome (errors always; the summary on a terminal) and picks the exit code.
pub fn report(args: &Args, server: SocketAddr, result: &Result<Done, Failure>) -> ExitCode {
    match result {
        Ok(done) => {
            if std::io::stderr().is_terminal() {
                let verb = match args.verb {
                    Verb::Get => "received",
                    Verb::Put => "sent",
                };
                let secs = done.elapsed.as_secs_f64().max(1e-6);
                eprintln!(
                    "tftp: {verb} {} bytes ({}) in {:.2} s, {:.1} kB/s, {} retransmissions",
                    done.summary.bytes,
                    done.local.display(),
                    secs,
                    done.summary.bytes as f64 / secs / 1000.0,
                    done.summary.retransmits
                );
            }
            ExitCode::SUCCESS
        }
        Err(Failure::Setup(message)) => {
            eprintln!("tftp: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Interrupted) => {
            eprintln!("tftp: interrupted; the server was told and no partial file was kept");
            ExitCode::from(INTERRUPTED)
        }
        Err(Failure::Transfer(error)) => {
            eprintln!("tftp: {}", describe(error, server));
            ExitCode::FAILURE
        }
    }
}

fn describe(error: &TransferError, server: SocketAddr) -> String {
    match error {
        TransferError::Peer { code, message } => format!(
            "server error {} ({}): {}",
            code.to_u16(),
            code.description(),
            message.escape_debug()
        ),
        TransferError::TimedOut { retries } => {
            format!("no answer from {server} (gave up after {retries} retransmissions)")
        }
        other => format!(
            "transfer failed: {other} (sent ERROR {} to the server)",
            other.code().to_u16()
        ),
    }
}
