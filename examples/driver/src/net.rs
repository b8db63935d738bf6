//! UDP sockets for the mio loop.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use mio::net::UdpSocket;
use socket2::{Domain, Protocol, Socket, Type};

/// Largest UDP payload: every receive buffer is this long, so no datagram is cut.
pub const MAX_DATAGRAM: usize = 65536;

/// Socket buffer size asked for.
const SOCKET_BUFFER: usize = 1 << 20;

/// A non-blocking UDP socket bound to `addr`. An IPv6 wildcard address (`::`) also takes
/// IPv4 (IPV6_V6ONLY cleared), so one socket serves both families (R-SRV-5).
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    bind_listener(addr, false, false)
}

/// [`bind_udp`], and with `v6_only` an IPv6 socket takes IPv6 only (IPV6_V6ONLY set); with
/// `reuse_port` several sockets share the address (SO_REUSEPORT: the kernel spreads the
/// peers over them, each peer's datagrams always to the same socket).
pub fn bind_listener(addr: SocketAddr, v6_only: bool, reuse_port: bool) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if let IpAddr::V6(ip) = addr.ip() {
        if v6_only {
            socket.set_only_v6(true)?;
        } else if ip.is_unspecified() {
            socket.set_only_v6(false)?;
        }
    }
    size_buffers(&socket);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(UdpSocket::from_std(socket.into()))
}

/// Asks for socket buffers with room for a whole window of large blocks; the kernel caps them
/// (net.core.rmem_max), and a smaller buffer only means more retransmissions.
pub(crate) fn size_buffers(socket: &Socket) {
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
}

/// The wildcard address of `peer`'s family, port 0: where a client binds to reach `peer`.
pub fn any_for(peer: SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// `addr` with an IPv4-mapped IPv6 address shown as plain IPv4 (for logs).
pub fn display_addr(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}
