//! What a test sees of a drain while it happens: every read asked for, outcome and datagram.

use std::net::SocketAddr;

use tftp_proto::{Event, Session};

/// Hooks the drain loop ([`crate::Endpoint::drain`]) calls as it goes, each with the session
/// as it is at that moment; they default to nothing, and `()` is the observer that watches
/// nothing.
pub trait Observer {
    /// The session asked for `len` bytes at `offset` ([`Event::Read`]) and its read buffer is
    /// `buffer` bytes long; the endpoint's file has filled the buffer, and the session is told
    /// ([`Session::read_done`]) right after.
    fn read(&mut self, session: &Session, offset: u64, len: usize, buffer: usize) {
        let _ = (session, offset, len, buffer);
    }

    /// The session reported its outcome ([`Event::Finished`] or [`Event::Failed`]).
    fn outcome(&mut self, session: &Session, outcome: &Event) {
        let _ = (session, outcome);
    }

    /// The session sent `datagram` to `to`.
    fn sent(&mut self, session: &Session, to: SocketAddr, datagram: &[u8]) {
        let _ = (session, to, datagram);
    }
}

impl Observer for () {}
