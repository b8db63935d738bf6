//! The listening socket, with one clear line when it cannot be had.

use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;

use crate::net::bind_udp_family;

/// Binds the listening socket on `addr` (an IPv6 one for IPv6 only with `v6_only`); the error
/// is one line meant for a person.
pub fn listen(addr: SocketAddr, v6_only: bool) -> Result<UdpSocket, String> {
    bind_udp_family(addr, v6_only).map_err(|e| match e.kind() {
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
    })
}
