//! Receiving a transfer's datagrams, a window per system call where the OS allows.
//!
//! On Linux a transfer socket asks for UDP GRO: when the peer sent a window as one GSO batch
//! (our own [`Outbox`](crate::outbox::Outbox) does), the kernel can hand the whole batch to
//! one `recvmsg` together with its segment size, and [`Inbox::recv`] splits it back into the
//! datagrams that were sent. Elsewhere, and whenever the kernel did not coalesce, it is one
//! ordinary datagram per call.

use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;

use crate::net::MAX_DATAGRAM;

/// A receive buffer for [`MAX_DATAGRAM`] bytes (one datagram, or one coalesced batch).
#[derive(Debug)]
pub struct Inbox {
    buf: Vec<u8>,
    #[cfg(target_os = "linux")]
    control: Vec<u8>,
}

/// What one [`Inbox::recv`] got: `len` bytes from `from`, made of datagrams of `segment`
/// bytes each (the last may be shorter).
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// The sender.
    pub from: SocketAddr,
    /// Bytes at the start of [`Inbox::bytes`].
    pub len: usize,
    /// Size of each datagram in them (`len` when it is one datagram).
    pub segment: usize,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox::new()
    }
}

impl Inbox {
    /// An inbox (its buffers are allocated once and reused).
    pub fn new() -> Inbox {
        Inbox {
            buf: vec![0; MAX_DATAGRAM],
            #[cfg(target_os = "linux")]
            control: nix::cmsg_space!(i32),
        }
    }

    /// Asks the kernel to coalesce datagrams for `socket` (a no-op where it cannot).
    pub fn enable_coalescing(socket: &UdpSocket) {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::socket::{setsockopt, sockopt::UdpGroSegment};
            // An old kernel says no: then every datagram simply comes on its own.
            let _ = setsockopt(socket, UdpGroSegment, &true);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = socket;
    }

    /// The bytes of the last [`Inbox::recv`] (the first `len` of them).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// One datagram, or one coalesced batch of them, from `socket`.
    #[cfg(target_os = "linux")]
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<Received> {
        use std::io::IoSliceMut;
        use std::os::fd::AsRawFd;

        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};

        let mut iov = [IoSliceMut::new(&mut self.buf)];
        let msg = recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut self.control),
            MsgFlags::MSG_DONTWAIT,
        )
        .map_err(io::Error::from)?;
        let len = msg.bytes;
        let mut segment = len;
        if let Ok(cmsgs) = msg.cmsgs() {
            for cmsg in cmsgs {
                if let ControlMessageOwned::UdpGroSegments(size) = cmsg {
                    segment = usize::try_from(size).unwrap_or(len).clamp(1, len.max(1));
                }
            }
        }
        let from = msg
            .address
            .as_ref()
            .and_then(socket_addr)
            .ok_or_else(|| io::Error::other("datagram without an IP source address"))?;
        Ok(Received { from, len, segment })
    }

    /// One datagram from `socket`.
    #[cfg(not(target_os = "linux"))]
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<Received> {
        let (len, from) = socket.recv_from(&mut self.buf)?;
        Ok(Received {
            from,
            len,
            segment: len,
        })
    }
}

/// The IPv4 or IPv6 address in `addr`.
#[cfg(target_os = "linux")]
fn socket_addr(addr: &nix::sys::socket::SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    addr.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}
