//! Sending a session's datagrams: [`Outbox::flush_session`] drains
//! [`Session::poll_transmit`] and hands the kernel a whole window at once where it can.
//!
//! A windowed sender emits up to a window of DATA datagrams of one size (the last block of a
//! file may be shorter) to one peer. On Linux those go out as one UDP GSO send (`sendmsg`
//! with a `UDP_SEGMENT` control message): one system call and one route lookup per window
//! instead of one per block, and the peer still receives ordinary, separate datagrams. Where
//! GSO is not available (another OS, an old kernel, a segment larger than the path's MTU)
//! every datagram goes out with its own `send_to`, as before.

use std::net::SocketAddr;

use mio::net::UdpSocket;
use tftp_proto::{Instant, Session};

use crate::net::MAX_DATAGRAM;

/// Most datagrams in one GSO send (the kernel's `UDP_MAX_SEGMENTS` is 64 on older kernels).
const MAX_SEGMENTS: usize = 64;

/// Most payload bytes in one GSO send: the segments travel as one IP packet inside the
/// kernel until they are split, so they must fit one (65535 minus the IPv6 and UDP headers).
const MAX_BATCH_BYTES: usize = 65535 - 40 - 8;

/// Datagrams waiting to be sent together: the run of equal-sized datagrams to one peer
/// that can go out as one GSO send.
#[derive(Debug)]
pub struct Outbox {
    /// The batch at the front, then room for one more datagram of any size.
    buf: Vec<u8>,
    /// Segments larger than this are sent one by one (learned from a refused GSO send).
    gso_limit: usize,
}

/// Why a GSO send did not go out.
enum Refused {
    /// This segment size does not fit the route (larger than its MTU): send such segments
    /// one by one from now on.
    Segment,
    /// The kernel or the device has no UDP GSO: never try again.
    Unsupported,
    /// A full socket buffer or the like: the batch is lost, as on the wire.
    Transient,
}

/// The run being collected in [`Outbox::buf`].
#[derive(Clone, Copy)]
struct Run {
    destination: SocketAddr,
    /// Size of every segment but maybe the last.
    segment: usize,
    count: usize,
    bytes: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::new()
    }
}

impl Outbox {
    /// An empty outbox (one allocation, reused for every send) that batches with GSO where
    /// the system has it.
    pub fn new() -> Outbox {
        Outbox {
            buf: vec![0; MAX_BATCH_BYTES + MAX_DATAGRAM],
            gso_limit: if cfg!(target_os = "linux") {
                usize::MAX
            } else {
                0
            },
        }
    }

    /// An outbox that sends every datagram with its own system call. Slower, but a packet
    /// capture on the sending host then shows one frame per datagram: with GSO, a capture on
    /// `lo` (or on any device that segments in software late) shows a window as one large
    /// datagram, since the capture taps the packet before it is split.
    pub fn plain() -> Outbox {
        Outbox {
            gso_limit: 0,
            ..Outbox::new()
        }
    }

    /// A scratch buffer of [`MAX_DATAGRAM`] bytes for a datagram sent some other way (a
    /// refusal from the listening socket).
    pub fn scratch(&mut self) -> &mut [u8] {
        &mut self.buf[..MAX_DATAGRAM]
    }

    /// Sends every datagram the session has to send from `socket`. A datagram the kernel
    /// will not take now is a lost datagram: the session's retransmission covers it, as it
    /// covers loss on the wire. Returns how many datagrams the session gave.
    pub fn flush_session(
        &mut self,
        session: &mut Session,
        now: Instant,
        socket: &UdpSocket,
    ) -> usize {
        let mut run: Option<Run> = None;
        let mut taken = 0;
        loop {
            let at = run.map_or(0, |r| r.bytes);
            let Some(t) = session.poll_transmit(now, &mut self.buf[at..]) else {
                break;
            };
            taken += 1;
            // Joins the run: same peer, not longer than its segments, room left.
            let joins = run.is_some_and(|r| {
                r.destination == t.destination
                    && t.len <= r.segment
                    && r.count < MAX_SEGMENTS
                    && r.bytes + t.len <= MAX_BATCH_BYTES
            });
            let current = match run {
                Some(r) if joins => Run {
                    count: r.count + 1,
                    bytes: r.bytes + t.len,
                    ..r
                },
                _ => {
                    if let Some(r) = run {
                        self.send_run(socket, r);
                        self.buf.copy_within(at..at + t.len, 0);
                    }
                    Run {
                        destination: t.destination,
                        segment: t.len,
                        count: 1,
                        bytes: t.len,
                    }
                }
            };
            // A shorter datagram can only be the last segment of a run.
            if t.len < current.segment || current.bytes + current.segment > MAX_BATCH_BYTES {
                self.send_run(socket, current);
                run = None;
                continue;
            }
            run = Some(current);
        }
        if let Some(r) = run {
            self.send_run(socket, r);
        }
        taken
    }

    /// Sends the run at the front of the buffer: one GSO send, or one send per datagram.
    fn send_run(&mut self, socket: &UdpSocket, run: Run) {
        let bytes = &self.buf[..run.bytes];
        if run.count > 1 && run.segment <= self.gso_limit {
            match gso::send(socket, bytes, run.segment, run.destination) {
                Ok(()) => return,
                Err(Refused::Segment) => self.gso_limit = run.segment - 1,
                Err(Refused::Unsupported) => self.gso_limit = 0,
                Err(Refused::Transient) => return,
            }
        }
        for datagram in bytes.chunks(run.segment.max(1)) {
            let _ = socket.send_to(datagram, run.destination);
        }
    }
}

#[cfg(target_os = "linux")]
mod gso {
    //! One `sendmsg` with a `UDP_SEGMENT` control message (Linux 4.18 and later).
    use std::io::IoSlice;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    use mio::net::UdpSocket;
    use nix::errno::Errno;
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};

    use super::Refused;

    /// Sends `bytes` as datagrams of `segment` bytes (the last may be shorter).
    pub(super) fn send(
        socket: &UdpSocket,
        bytes: &[u8],
        segment: usize,
        to: SocketAddr,
    ) -> Result<(), Refused> {
        let Ok(size) = u16::try_from(segment) else {
            return Err(Refused::Segment);
        };
        let to = SockaddrStorage::from(to);
        let cmsg = [ControlMessage::UdpGsoSegments(&size)];
        let iov = [IoSlice::new(bytes)];
        match sendmsg(
            socket.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::empty(),
            Some(&to),
        ) {
            Ok(_) => Ok(()),
            Err(Errno::EINVAL | Errno::EMSGSIZE) => Err(Refused::Segment),
            Err(Errno::EIO | Errno::ENOPROTOOPT | Errno::EOPNOTSUPP) => Err(Refused::Unsupported),
            Err(_) => Err(Refused::Transient),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod gso {
    //! No UDP GSO here: [`Outbox`](crate::Outbox) never tries it (its limit is 0).
    use std::net::SocketAddr;

    use mio::net::UdpSocket;

    use super::Refused;

    /// Always refused.
    pub(super) fn send(_: &UdpSocket, _: &[u8], _: usize, _: SocketAddr) -> Result<(), Refused> {
        Err(Refused::Unsupported)
    }
}
