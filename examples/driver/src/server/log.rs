//! The server's log: one line on stderr per transfer, and one per refused request.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tftp_proto::server::Direction;
use tftp_proto::{Completion, Mode, Refusal, TransferOptions};

use crate::net::display_addr;
use crate::transfer::Ended;

/// Bytes of a requested name shown in the log; the rest is cut.
const MAX_SHOWN_NAME: usize = 256;

/// What is known of a transfer when it starts.
#[derive(Clone, Debug)]
pub struct Record {
    /// The client.
    pub peer: SocketAddr,
    /// Read or write.
    pub direction: Direction,
    /// The requested name, escaped.
    pub name: String,
    /// The path served instead, when the remap rules rewrote the name.
    pub renamed: Option<String>,
    /// The mode.
    pub mode: Mode,
    /// When the request arrived.
    pub started: std::time::Instant,
}

impl Record {
    /// A record for a request of `raw_name` from `peer`, starting now.
    pub fn new(peer: SocketAddr, direction: Direction, raw_name: &[u8], mode: Mode) -> Record {
        Record {
            peer,
            direction,
            name: escape(raw_name),
            renamed: None,
            mode,
            started: std::time::Instant::now(),
        }
    }
}

/// Prints the line for a transfer that ended: peer, file, direction, options, bytes,
/// duration, throughput, retransmissions, outcome.
pub fn transfer(record: &Record, options: TransferOptions, moved: u64, ended: &Ended) {
    let elapsed = record.started.elapsed();
    let mut line = format!(
        "{} {} \"{}\" ",
        display_addr(record.peer),
        direction(record.direction),
        record.name,
    );
    if let Some(path) = &record.renamed {
        let _ = write!(line, "as \"{}\" ", escape(path.as_bytes()));
    }
    let _ = write!(line, "{} {}", record.mode.name(), options_text(options));
    let (bytes, retransmits, outcome) = match ended {
        Ended::Done(s) if s.completion == Completion::SizeProbe => {
            (0, Some(s.retransmits), "size probe".to_string())
        }
        Ended::Done(s) => (s.bytes, Some(s.retransmits), "ok".to_string()),
        // A timeout's message already counts its retransmissions.
        Ended::Failed(e) => (moved, None, format!("failed: {e}")),
    };
    let _ = write!(
        line,
        ": {bytes} bytes in {:.3} s ({})",
        elapsed.as_secs_f64(),
        rate(bytes, elapsed)
    );
    if let Some(n) = retransmits {
        let _ = write!(line, ", {n} retransmissions");
    }
    let _ = write!(line, ", {outcome}");
    eprintln!("tftpd: {line}");
}

/// Prints the line for a request answered with an ERROR instead of a transfer.
pub fn refused(peer: SocketAddr, what: Option<(Direction, &[u8])>, refusal: &Refusal) {
    let what = match what {
        Some((d, name)) => format!("{} \"{}\"", direction(d), escape(name)),
        None => "request".to_string(),
    };
    eprintln!(
        "tftpd: {} {what}: refused with ERROR {} ({})",
        display_addr(peer),
        refusal.code.to_u16(),
        escape(refusal.message.as_bytes()),
    );
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Read => "read",
        Direction::Write => "write",
    }
}

fn options_text(o: TransferOptions) -> String {
    let mut text = format!("blksize={} windowsize={}", o.blksize, o.windowsize);
    if let Some(t) = o.timeout {
        let _ = write!(text, " timeout={t}");
    }
    if let Some(t) = o.tsize {
        let _ = write!(text, " tsize={t}");
    }
    text
}

/// Throughput in bytes per second with a decimal unit.
fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-6);
    let per_sec = bytes as f64 / secs;
    let units = ["B/s", "kB/s", "MB/s", "GB/s"];
    let mut value = per_sec;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

/// A peer's bytes made safe for one log line: printable ASCII as is, everything else
/// (control characters, quotes, backslashes, non-ASCII bytes) as an escape; cut to a bound.
pub fn escape(raw: &[u8]) -> String {
    let shown = &raw[..raw.len().min(MAX_SHOWN_NAME)];
    let mut text = shown.escape_ascii().to_string();
    if raw.len() > shown.len() {
        text.push_str("...");
    }
    text
}
