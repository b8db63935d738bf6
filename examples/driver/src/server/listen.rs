//! The listening socket, with one clear line when it cannot be had.

use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;

use crate::net::bind_listener;

/// Binds the listening socket on `addr` (an IPv6 one for IPv6 only with `v6_only`); the error
/// is one line meant for a person.
pub fn listen(addr: SocketAddr, v6_only: bool) -> Result<UdpSocket, String> {
    listen_shared(addr, v6_only, 1).map(|mut sockets| sockets.remove(0))
}

/// `count` listening sockets on `addr`, sharing it through SO_REUSEPORT when more than one
/// (port 0: the port the first one got); the error is one line meant for a person.
pub fn listen_shared(
    addr: SocketAddr,
    v6_only: bool,
    count: usize,
) -> Result<Vec<UdpSocket>, String> {
    let reuse = count > 1;
    let first = bind_listener(addr, v6_only, reuse).map_err(|e| explain(addr, &e))?;
    let addr = first.local_addr().unwrap_or(addr);
    let mut sockets = vec![first];
    for _ in 1..count {
        sockets.push(bind_listener(addr, v6_only, true).map_err(|e| explain(addr, &e))?);
    }
    Ok(sockets)
}

fn explain(addr: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {addr}: permission denied (ports below 1024 need root or \
             CAP_NET_BIND_SERVICE); pick an unprivileged port with --port, e.g. --port 6969"
        ),
        io::ErrorKind::AddrInUse => format!(
            "cannot listen on {addr}: address in use (another TFTP server?); stop it or \
             pick another port with --port"
        ),
        io::ErrorKind::AddrNotAvailable => {
            format!("cannot listen on {addr}: no such local address (see --bind)")
        }
        _ => format!("cannot listen on {addr}: {e}"),
    }
}
