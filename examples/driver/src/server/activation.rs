//! Socket activation: the listening socket handed over by systemd (a `.socket` unit with
//! `ListenDatagram=`), or by anything that speaks its protocol (`systemd-socket-activate
//! --datagram`), instead of one the server binds itself (R-SRV-5: systemd then binds port 69
//! for IPv4 and IPv6, and the server needs no privilege at all).
//!
//! The protocol (sd_listen_fds(3)): `LISTEN_PID` is this process's ID and `LISTEN_FDS` the
//! number of sockets passed, starting at descriptor 3. The server serves one socket, so
//! exactly one must come; it is checked to be a UDP socket over IPv4 or IPv6, made
//! non-blocking and close-on-exec, given the socket buffers of a socket the server binds, and
//! the `LISTEN_*` variables are removed so that nothing started later takes them as its own.
//! Written here rather than taken from a crate: it is these few checks on one descriptor,
//! through socket2 and rustix, which the driver uses already.

use std::ffi::OsString;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use mio::net::UdpSocket;
use socket2::{Domain, Protocol, Socket, Type};

use crate::net::size_buffers;

/// The first descriptor passed (SD_LISTEN_FDS_START).
pub const LISTEN_FDS_START: RawFd = 3;

/// The variables of the protocol, removed once read.
const VARIABLES: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// Set once descriptor 3 has been taken: it can be owned only once.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The listening socket passed by systemd, if this process was given one; the error is a
/// sentence for the operator. Removes the `LISTEN_*` variables whenever they were set.
pub fn listener() -> Result<Option<UdpSocket>, String> {
    let pid = std::env::var_os("LISTEN_PID");
    let fds = std::env::var_os("LISTEN_FDS");
    if pid.is_none() && fds.is_none() {
        return Ok(None);
    }
    for name in VARIABLES {
        std::env::remove_var(name);
    }
    match passed(std::process::id(), pid, fds)? {
        0 => Ok(None),
        1 => take(LISTEN_FDS_START).map(Some),
        n => Err(format!(
            "systemd passed {n} sockets (LISTEN_FDS={n}); tftpd serves one: give its socket \
             unit a single ListenDatagram= line (with BindIPv6Only=both for IPv4 and IPv6)"
        )),
    }
}

/// How many sockets the variables pass to process `me`: none when they are meant for
/// another process (a parent's, inherited).
fn passed(me: u32, pid: Option<OsString>, fds: Option<OsString>) -> Result<usize, String> {
    let number = |name: &str, value: &Option<OsString>| -> Result<Option<u64>, String> {
        value
            .as_ref()
            .map(|v| {
                v.to_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| format!("socket activation: {name}={v:?} is not a number"))
            })
            .transpose()
    };
    let pid = number("LISTEN_PID", &pid)?;
    let fds = number("LISTEN_FDS", &fds)?;
    if pid != Some(u64::from(me)) {
        return Ok(0);
    }
    usize::try_from(fds.unwrap_or(0))
        .map_err(|_| "socket activation: LISTEN_FDS is out of range".to_string())
}

/// Takes descriptor `fd` as the listening socket, after checking what it is.
fn take(fd: RawFd) -> Result<UdpSocket, String> {
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Err(format!(
            "socket activation: descriptor {fd} was taken already"
        ));
    }
    // SAFETY: `fd` is only borrowed to ask whether it is open; the borrow ends at once.
    let open = rustix::io::fcntl_getfd(unsafe { BorrowedFd::borrow_raw(fd) });
    if open.is_err() {
        return Err(format!(
            "socket activation: LISTEN_FDS says descriptor {fd} is passed, but it is not open"
        ));
    }
    // SAFETY: the descriptor is open, and the socket activation protocol hands it to this
    // process (LISTEN_PID is ours); TAKEN makes this the only owner in the process.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    rustix::io::fcntl_setfd(&owned, rustix::io::FdFlags::CLOEXEC).map_err(|e| {
        format!("socket activation: descriptor {fd}: cannot set close-on-exec: {e}")
    })?;
    let socket = Socket::from(owned);
    let not_udp = |what: String| {
        format!(
            "socket activation: descriptor {fd} from systemd is {what}, not a UDP socket: the \
             socket unit needs ListenDatagram= (not ListenStream=)"
        )
    };
    match socket.r#type() {
        Ok(Type::DGRAM) => {}
        Ok(other) => return Err(not_udp(format!("a socket of type {other:?}"))),
        Err(_) => return Err(not_udp("something other than a socket".to_string())),
    }
    match socket.domain() {
        Ok(Domain::IPV4 | Domain::IPV6) => {}
        Ok(other) => return Err(not_udp(format!("a {other:?} socket"))),
        Err(e) => return Err(not_udp(format!("a socket of unknown family ({e})"))),
    }
    if !matches!(socket.protocol(), Ok(Some(Protocol::UDP))) {
        return Err(not_udp(
            "an IP datagram socket of another protocol".to_string(),
        ));
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| format!("socket activation: descriptor {fd}: {e}"))?;
    size_buffers(&socket);
    Ok(UdpSocket::from_std(socket.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn variables_for_this_process_count() {
        assert_eq!(passed(42, os("42"), os("1")), Ok(1));
        assert_eq!(passed(42, os("42"), os("2")), Ok(2));
        assert_eq!(passed(42, os("42"), None), Ok(0));
    }

    #[test]
    fn variables_for_another_process_pass_nothing() {
        assert_eq!(passed(42, os("41"), os("1")), Ok(0));
        assert_eq!(passed(42, None, os("1")), Ok(0));
    }

    #[test]
    fn variables_that_are_not_numbers_are_errors() {
        assert!(passed(42, os("x"), os("1")).is_err());
        assert!(passed(42, os("42"), os("-1")).is_err());
    }
}
