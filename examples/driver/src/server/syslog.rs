//! `--log syslog`: log lines to the local system log, one datagram per line on the Unix
//! socket `/dev/log` (journald, rsyslog and busybox syslogd all read it), facility daemon,
//! ident `tftpd` with the process ID, in the form the C library's `syslog(3)` sends locally
//! (RFC 3164): `<PRI>tftpd[PID]: MESSAGE`. The timestamp is left out: the local daemon stamps
//! each line as it arrives (journald and rsyslog's local input use their own clock anyway),
//! so no time zone enters here.
//!
//! The socket is not connected, so a restarted log daemon is found again by the next line;
//! it does not block: a line the log cannot take at once (its queue is full) goes to stderr
//! instead, so a slow log never stalls the transfers. [`SOCKET_ENV`] names another socket
//! path (tests use it to read the lines without a log daemon).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// The system log's socket.
pub const DEV_LOG: &str = "/dev/log";

/// Environment variable naming another socket instead of [`DEV_LOG`] (for tests).
pub const SOCKET_ENV: &str = "TFTPD_SYSLOG_SOCKET";

/// The syslog facility `daemon` (3), shifted into place.
const FACILITY_DAEMON: u8 = 3 << 3;

/// The identifier before the process ID.
pub const IDENT: &str = "tftpd";

/// How much a line matters (RFC 5424 severities).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// A transfer that failed.
    Warning = 4,
    /// A refused request.
    Notice = 5,
    /// A transfer that succeeded.
    Info = 6,
}

/// A writer of lines to the system log.
#[derive(Debug)]
pub struct Syslog {
    socket: UnixDatagram,
    path: PathBuf,
    pid: u32,
}

impl Syslog {
    /// The log at [`DEV_LOG`] (or at [`SOCKET_ENV`]'s path); fails when nothing listens there.
    pub fn open() -> Result<Syslog, String> {
        let path =
            std::env::var_os(SOCKET_ENV).map_or_else(|| PathBuf::from(DEV_LOG), PathBuf::from);
        let describe = |e: io::Error| format!("--log syslog: cannot reach {}: {e}", path.display());
        // A connected probe proves a log daemon listens there now.
        UnixDatagram::unbound()
            .and_then(|probe| probe.connect(&path))
            .map_err(describe)?;
        let socket = UnixDatagram::unbound().map_err(describe)?;
        socket.set_nonblocking(true).map_err(describe)?;
        Ok(Syslog {
            socket,
            path,
            pid: std::process::id(),
        })
    }

    /// Sends `message` as one line; on failure it goes to stderr.
    pub fn send(&self, severity: Severity, message: &str) {
        let line = format_line(self.pid, severity, message);
        if self.socket.send_to(line.as_bytes(), &self.path).is_err() {
            eprintln!("{IDENT}: {message}");
        }
    }
}

/// The datagram for `message`: `<PRI>tftpd[PID]: message`, with PRI = daemon * 8 + severity.
pub fn format_line(pid: u32, severity: Severity, message: &str) -> String {
    let pri = FACILITY_DAEMON | severity as u8;
    format!("<{pri}>{IDENT}[{pid}]: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_facility_daemon_and_the_severity() {
        assert_eq!(format_line(42, Severity::Info, "hi"), "<30>tftpd[42]: hi");
        assert_eq!(format_line(7, Severity::Warning, "x"), "<28>tftpd[7]: x");
        assert_eq!(format_line(7, Severity::Notice, "x"), "<29>tftpd[7]: x");
    }
}
