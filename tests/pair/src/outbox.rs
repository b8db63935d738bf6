//! Where the drain loop puts the datagrams a session sends: the simulated network, or a test
//! that plays the other side itself ([`Collect`]).

use std::net::SocketAddr;

/// Takes the datagrams a session sends. The drain loop asks for a buffer, lets the session
/// write into it, and then says where the datagram goes.
pub trait Outbox {
    /// A buffer of at least `len` bytes for the next datagram.
    fn buffer(&mut self, len: usize) -> &mut [u8];

    /// The session at `from` wrote a datagram of `len` bytes for `to` at the start of the
    /// buffer [`Outbox::buffer`] gave last.
    fn send(&mut self, from: SocketAddr, to: SocketAddr, len: usize);
}

/// An outbox for a test that plays the peer: one buffer, and every datagram kept with its
/// destination until [`Collect::take`] (or kept nowhere, for a test that only watches them
/// through an [`crate::Observer`]).
#[derive(Debug)]
pub struct Collect {
    buf: Vec<u8>,
    keep: bool,
    sent: Vec<(SocketAddr, Vec<u8>)>,
}

impl Collect {
    /// Keeps every datagram; the buffer is `buf_len` bytes (more than any session needs shows
    /// a session that writes past its own limit).
    pub fn new(buf_len: usize) -> Collect {
        Collect {
            buf: vec![0; buf_len],
            keep: true,
            sent: Vec::new(),
        }
    }

    /// Keeps no datagram.
    pub fn dropping(buf_len: usize) -> Collect {
        Collect {
            keep: false,
            ..Collect::new(buf_len)
        }
    }

    /// The length of the one buffer.
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    /// The buffer itself (a test that calls [`tftp_proto::Session::poll_transmit`] on its
    /// own).
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The datagrams kept since the last call, in the order they were sent.
    pub fn take(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        std::mem::take(&mut self.sent)
    }
}

impl Outbox for Collect {
    fn buffer(&mut self, len: usize) -> &mut [u8] {
        assert!(
            self.buf.len() >= len,
            "a buffer of {} bytes for datagrams of up to {len}",
            self.buf.len()
        );
        &mut self.buf
    }

    fn send(&mut self, _from: SocketAddr, to: SocketAddr, len: usize) {
        if self.keep {
            self.sent.push((to, self.buf[..len].to_vec()));
        }
    }
}
