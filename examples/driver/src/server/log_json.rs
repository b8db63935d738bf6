//! `--log json`: one JSON object per line on stdout for each transfer that ended and each
//! refused request, for log collectors and for checking what was served. stdout carries
//! nothing else (the start and stop notices stay on stderr).
//!
//! A transfer:
//!
//! ```json
//! {"event":"transfer","time":"2026-12-07T10:00:00.123Z","peer":"192.0.2.7:2070",
//!  "file":"boot/ipxe.efi","direction":"read","mode":"octet",
//!  "options":{"blksize":1468,"windowsize":16,"timeout":null,"tsize":1034240},
//!  "bytes":1034240,"duration_ms":41.207,"retransmissions":0,"outcome":"ok",
//!  "sha256":"3f5c…"}
//! ```
//!
//! - `file` is the name the client asked for; with `--map-file`, a name the rules rewrote adds
//!   `served`, the path under the root that was served or written instead;
//! - `direction` is `read` (a download) or `write` (an upload); `options` are the ones
//!   granted (`timeout` and `tsize` are `null` when not negotiated);
//! - `outcome` is `ok`, `size probe` (a client that asked only for the size, R-OPT-10) or
//!   `failed: REASON`, and a failure adds `"error":{"code":N,"message":"..."}` (the TFTP
//!   error code sent or received); `retransmissions` is `null` when a failure does not say;
//! - `sha256` is the SHA-256 of the file bytes moved (a download: the file as read; an
//!   upload: the file as committed), equal to `sha256sum` of the file; `null` unless the
//!   outcome is `ok` (see [`crate::receipt`]).
//!
//! A refusal: `{"event":"refused","time":..,"peer":..,"file":..,"direction":..,
//! "outcome":"refused","error":{"code":1,"message":"file not found"}}` (`file` and
//! `direction` are `null` for a datagram that was not a readable request).
//!
//! File names are the client's bytes: `file` is the name decoded as UTF-8 (a byte that is not
//! UTF-8 becomes U+FFFD), escaped as JSON needs (quotes, backslashes, control characters), so
//! every line is valid JSON whatever the name; a name that is not UTF-8 also gets
//! `file_hex`, its exact bytes in hex. Names past 1024 bytes (never served) are cut, with
//! `"file_cut":true`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tftp_proto::path::MAX_NAME_LEN;
use tftp_proto::server::Direction;
use tftp_proto::{Completion, Refusal, TransferError};

use super::log::{direction, outcome, Record};
use crate::net::display_addr;
use crate::transfer::{Ended, Transfer};

#[derive(Serialize)]
struct TransferLine<'a> {
    event: &'static str,
    time: String,
    peer: String,
    #[serde(flatten)]
    name: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    served: Option<&'a str>,
    direction: &'static str,
    mode: &'static str,
    options: Options,
    bytes: u64,
    duration_ms: f64,
    retransmissions: Option<u32>,
    outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorField<'a>>,
    sha256: Option<String>,
}

#[derive(Serialize)]
struct RefusalLine<'a> {
    event: &'static str,
    time: String,
    peer: String,
    #[serde(flatten)]
    name: Name,
    direction: Option<&'static str>,
    outcome: &'static str,
    error: ErrorField<'a>,
}

/// A requested name: text for people, the exact bytes when the text is not them.
#[derive(Serialize)]
struct Name {
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_hex: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    file_cut: bool,
}

#[derive(Serialize)]
struct Options {
    blksize: u16,
    windowsize: u16,
    timeout: Option<u8>,
    tsize: Option<u64>,
}

#[derive(Serialize)]
struct ErrorField<'a> {
    code: u16,
    message: std::borrow::Cow<'a, str>,
}

/// Writes the line for a transfer that ended.
pub fn transfer(record: &Record, transfer: &Transfer, ended: &Ended, elapsed: Duration) {
    let options = transfer.session.options();
    let (bytes, mut retransmissions, outcome) = outcome(ended, transfer.moved());
    let mut error = None;
    if let Ended::Failed(e) = ended {
        if let TransferError::TimedOut { retries } = e {
            retransmissions = Some(*retries);
        }
        error = Some(ErrorField {
            code: e.code().to_u16(),
            message: e.to_string().into(),
        });
    }
    let sha256 = match ended {
        Ended::Done(s) if s.completion == Completion::Transferred => {
            transfer.receipt().sha256_hex(bytes)
        }
        _ => None,
    };
    let line = TransferLine {
        event: "transfer",
        time: now_rfc3339(),
        peer: display_addr(record.peer).to_string(),
        name: name(Some(&record.raw_name)),
        served: record.renamed.as_deref(),
        direction: direction(record.direction),
        mode: record.mode.name(),
        options: Options {
            blksize: options.blksize,
            windowsize: options.windowsize,
            timeout: options.timeout,
            tsize: options.tsize,
        },
        bytes,
        duration_ms: elapsed.as_micros() as f64 / 1000.0,
        retransmissions,
        outcome,
        error,
        sha256,
    };
    emit(&line);
}

/// Writes the line for a refused request.
pub fn refused(peer: SocketAddr, what: Option<(Direction, &[u8])>, refusal: &Refusal) {
    let line = RefusalLine {
        event: "refused",
        time: now_rfc3339(),
        peer: display_addr(peer).to_string(),
        name: name(what.map(|(_, n)| n)),
        direction: what.map(|(d, _)| direction(d)),
        outcome: "refused",
        error: ErrorField {
            code: refusal.code.to_u16(),
            message: refusal.message.as_ref().into(),
        },
    };
    emit(&line);
}

/// One line on stdout, written whole; a closed stdout loses it (the server goes on).
fn emit(line: &impl Serialize) {
    let Ok(mut text) = serde_json::to_string(line) else {
        return;
    };
    text.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn name(raw: Option<&[u8]>) -> Name {
    let Some(raw) = raw else {
        return Name {
            file: None,
            file_hex: None,
            file_cut: false,
        };
    };
    let shown = &raw[..raw.len().min(MAX_NAME_LEN)];
    let file_hex = std::str::from_utf8(shown)
        .is_err()
        .then(|| shown.iter().map(|b| format!("{b:02x}")).collect());
    Name {
        file: Some(String::from_utf8_lossy(shown).into_owned()),
        file_hex,
        file_cut: shown.len() < raw.len(),
    }
}

/// The current time in UTC, RFC 3339 with milliseconds.
fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `time` in UTC as `YYYY-MM-DDTHH:MM:SS.mmmZ` (a time before 1970 shows as 1970).
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_millis()
    )
}

/// The Gregorian date `days` after 1970-01-01: shift the epoch to 0000-03-01 so that leap
/// days end each year, then count 400-year eras, years within one, and months from March.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        let at = |secs: u64, ms: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    }

    #[test]
    fn names_that_are_not_utf8_keep_their_bytes() {
        let n = name(Some(b"a\"b\\\x01\xff"));
        assert_eq!(n.file.as_deref(), Some("a\"b\\\u{1}\u{fffd}"));
        assert_eq!(n.file_hex.as_deref(), Some("6122625c01ff"));
        let text = serde_json::to_string(&n).unwrap();
        assert_eq!(
            text,
            r#"{"file":"a\"b\\\u0001�","file_hex":"6122625c01ff"}"#
        );
        let long = vec![b'x'; MAX_NAME_LEN + 5];
        assert!(name(Some(&long)).file_cut);
        assert!(name(None).file.is_none());
    }
}
