//! The server's log: one record per transfer, and one per refused request, to the
//! [`Destination`] chosen at start (`--log`):
//!
//! - `stderr` (the default): one line of text on stderr;
//! - `syslog`: the same line to the system log (`/dev/log`, facility daemon, ident `tftpd`;
//!   see [`super::syslog`]);
//! - `json`: one JSON object per line on stdout, with the SHA-256 of the bytes moved (see
//!   [`super::log_json`]); start and stop notices stay on stderr.
//!
//! The destination belongs to the process, as stderr does: [`set_destination`] once at
//! start, before serving; until then records go to stderr.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use tftp_proto::server::Direction;
use tftp_proto::{Completion, Mode, Refusal, TransferOptions};

use super::log_json;
use super::syslog::{Severity, Syslog};
use crate::net::display_addr;
use crate::transfer::{Ended, Transfer};

/// Bytes of a requested name shown in the log; the rest is cut.
const MAX_SHOWN_NAME: usize = 256;

/// What `--log` names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line of text per transfer on stderr.
    #[default]
    Stderr,
    /// The same lines to the system log (`/dev/log`; journald reads it).
    Syslog,
    /// One JSON object per transfer on stdout, with the SHA-256 of the bytes moved.
    Json,
}

/// Where the records go.
#[derive(Debug)]
pub enum Destination {
    /// Text lines on stderr.
    Stderr,
    /// Text lines to the system log.
    Syslog(Syslog),
    /// JSON lines on stdout.
    Json,
}

static DESTINATION: OnceLock<Destination> = OnceLock::new();
static STDERR: Destination = Destination::Stderr;

impl Destination {
    /// The destination `format` names; for syslog, the socket is checked now.
    pub fn open(format: Format) -> Result<Destination, String> {
        Ok(match format {
            Format::Stderr => Destination::Stderr,
            Format::Syslog => Destination::Syslog(Syslog::open()?),
            Format::Json => Destination::Json,
        })
    }
}

/// Sends every record from now on to `destination`; only the first call counts (a later
/// one gets its destination back).
pub fn set_destination(destination: Destination) -> Result<(), Destination> {
    DESTINATION.set(destination)
}

fn destination() -> &'static Destination {
    DESTINATION.get().unwrap_or(&STDERR)
}

/// True when records carry the SHA-256 of the bytes moved: transfers should then keep a
/// [`crate::receipt::Receipt`] (`--log json`).
pub fn receipts_wanted() -> bool {
    matches!(destination(), Destination::Json)
}

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
    /// The requested name as it came.
    pub raw_name: Box<[u8]>,
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
            raw_name: raw_name.into(),
            mode,
            started: std::time::Instant::now(),
        }
    }
}

/// Logs a transfer that ended: peer, file, direction, options, bytes, duration, throughput,
/// retransmissions, outcome (and in JSON the SHA-256 of the bytes, from its receipt).
pub fn transfer(record: &Record, transfer: &Transfer, ended: &Ended) {
    let elapsed = record.started.elapsed();
    let (options, moved) = (transfer.session.options(), transfer.moved());
    let line = || transfer_line(record, options, moved, ended, elapsed);
    match destination() {
        Destination::Json => log_json::transfer(record, transfer, ended, elapsed),
        Destination::Stderr => eprintln!("tftpd: {}", line()),
        Destination::Syslog(syslog) => {
            let severity = match ended {
                Ended::Done(_) => Severity::Info,
                Ended::Failed(_) => Severity::Warning,
            };
            syslog.send(severity, &line());
        }
    }
}

/// The bytes, retransmissions and outcome words of a transfer that ended: a size probe moved
/// nothing, a failure moved what it had (its retransmissions are unknown, or in its message).
pub(crate) fn outcome(ended: &Ended, moved: u64) -> (u64, Option<u32>, String) {
    match ended {
        Ended::Done(s) if s.completion == Completion::SizeProbe => {
            (0, Some(s.retransmits), "size probe".to_string())
        }
        Ended::Done(s) => (s.bytes, Some(s.retransmits), "ok".to_string()),
        Ended::Failed(e) => (moved, None, format!("failed: {e}")),
    }
}

/// The text line for a transfer that ended.
fn transfer_line(
    record: &Record,
    options: TransferOptions,
    moved: u64,
    ended: &Ended,
    elapsed: Duration,
) -> String {
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
    // A timeout's message already counts its retransmissions.
    let (bytes, retransmits, outcome) = outcome(ended, moved);
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
    line
}

/// Logs a request answered with an ERROR instead of a transfer.
pub fn refused(peer: SocketAddr, what: Option<(Direction, &[u8])>, refusal: &Refusal) {
    match destination() {
        Destination::Json => log_json::refused(peer, what, refusal),
        Destination::Stderr => eprintln!("tftpd: {}", refused_line(peer, what, refusal)),
        Destination::Syslog(s) => s.send(Severity::Notice, &refused_line(peer, what, refusal)),
    }
}

/// The text line for a refused request.
fn refused_line(peer: SocketAddr, what: Option<(Direction, &[u8])>, refusal: &Refusal) -> String {
    let what = match what {
        Some((d, name)) => format!("{} \"{}\"", direction(d), escape(name)),
        None => "request".to_string(),
    };
    format!(
        "{} {what}: refused with ERROR {} ({})",
        display_addr(peer),
        refusal.code.to_u16(),
        escape(refusal.message.as_bytes()),
    )
}

/// The word for a direction, as the log writes it.
pub fn direction(d: Direction) -> &'static str {
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
