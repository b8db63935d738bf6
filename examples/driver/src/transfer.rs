//! One transfer: a [`Session`] with its own UDP socket (its transfer ID) or none (a server in
//! single-port mode answers from its listening socket), its file, and [`Transfer::step`],
//! which mirrors the crate docs' driver loop line for line:
//!
//! 1. feed the datagram to [`Session::handle_datagram`] and write the bytes it returns (or
//!    call [`Session::handle_timeout`]);
//! 2. drain [`Session::poll_event`]: serve [`Event::Read`] with a positional read into
//!    [`Session::read_buffer`] and [`Session::read_done`]; on [`Event::Finished`] commit the
//!    file, on [`Event::Failed`] discard it;
//! 3. drain [`Session::poll_transmit`] through the [`Outbox`], which sends a window of
//!    equal-sized datagrams to one peer as one batch where the OS allows; then back to 2
//!    until a pass neither reads nor sends (a window can take several reads);
//! 4. the caller re-arms [`Transfer::deadline`] and waits (the mio loop).

use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;
use tftp_proto::{ErrorCode, Event, Instant, Session, Summary, TransferError};

use crate::clock::Clock;
use crate::file_end::FileEnd;
use crate::fs::error_code;
use crate::inbox::Inbox;
use crate::outbox::Outbox;
use crate::receipt::Receipt;

/// Consecutive receive errors (other than "would block") tolerated in one readiness event.
const MAX_RECV_ERRORS: usize = 16;

/// What happened to the session since the last step.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// Nothing new: only drain (a fresh session's first packet, or after an abort).
    Drain,
    /// A datagram arrived.
    Datagram {
        /// Its source.
        from: SocketAddr,
        /// Its bytes.
        bytes: &'a [u8],
    },
    /// The deadline passed (or may have: an early call is harmless).
    Timeout,
}

/// How a transfer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It succeeded (a download is committed; a size probe counts as success).
    Done(Summary),
    /// It failed; any upload was discarded.
    Failed(TransferError),
}

/// A session with its socket and its file.
#[derive(Debug)]
pub struct Transfer {
    /// The protocol state.
    pub session: Session,
    /// This transfer's own socket, or `None` when it shares one: its datagrams then come
    /// from the caller, and go out through the socket the caller passes to each step.
    pub socket: Option<UdpSocket>,
    /// The file read or written.
    pub file: FileEnd,
    moved: u64,
    /// The SHA-256 of the file bytes moved, when kept ([`Transfer::keep_receipt`]).
    receipt: Receipt,
}

impl Transfer {
    /// Ties a session to its socket (`None`: a shared one) and file.
    pub fn new(session: Session, socket: Option<UdpSocket>, file: FileEnd) -> Transfer {
        if let Some(socket) = &socket {
            Inbox::enable_coalescing(socket);
        }
        Transfer {
            session,
            socket,
            file,
            moved: 0,
            receipt: Receipt::off(),
        }
    }

    /// Hashes the file bytes this transfer moves from now on (call before its first step).
    pub fn keep_receipt(&mut self) {
        self.receipt = Receipt::on();
    }

    /// The SHA-256 of the file bytes moved (empty unless [`Transfer::keep_receipt`]).
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    /// File bytes read or written so far.
    pub fn moved(&self) -> u64 {
        self.moved
    }

    /// When [`Input::Timeout`] is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// True when the session has nothing left to do: drop the transfer.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// One turn of the driver loop (see the module docs); `out` sends the datagrams, from the
    /// transfer's own socket or else from `shared`. Returns how the transfer ended, the one
    /// time it does.
    pub fn step(
        &mut self,
        now: Instant,
        input: Input<'_>,
        out: &mut Outbox,
        shared: Option<&UdpSocket>,
    ) -> Option<Ended> {
        // 1. input: a datagram (and the file bytes it brings) or a timeout.
        match input {
            Input::Drain => {}
            Input::Timeout => self.session.handle_timeout(now),
            Input::Datagram { from, bytes } => {
                let written = self.session.handle_datagram(now, from, bytes).map(|w| {
                    self.receipt.note(w.offset, w.data);
                    self.file.write_at(w.offset, w.data).map(|()| w.data.len())
                });
                match written {
                    Some(Ok(n)) => self.moved += n as u64,
                    Some(Err(e)) => self.session.abort(error_code(&e), "write failed"),
                    None => {}
                }
            }
        }
        // 2. events: file reads, and how it ended; 3. transmits. A window can take several
        // reads (the session holds a bounded part of it), so repeat until a pass neither
        // reads nor sends.
        let mut ended = None;
        loop {
            let mut read = false;
            while let Some(event) = self.session.poll_event() {
                match event {
                    Event::Read { offset, len } => {
                        read = true;
                        let buf = self.session.read_buffer();
                        let len = len.min(buf.len());
                        match self.file.read_at(offset, &mut buf[..len]) {
                            Ok(n) => {
                                self.receipt.note(offset, &buf[..n]);
                                self.moved = self.moved.max(offset + n as u64);
                                self.session.read_done(n);
                            }
                            Err(e) => self.session.abort(error_code(&e), "read failed"),
                        }
                    }
                    Event::Finished(summary) => ended = Some(self.commit(summary)),
                    Event::Failed(error) => {
                        self.file.discard();
                        ended = Some(Ended::Failed(error));
                    }
                }
            }
            let sent = match self.socket.as_ref().or(shared) {
                Some(socket) => out.flush_session(&mut self.session, now, socket),
                // Nothing to send from: the datagrams are lost, as on a network, and the
                // session's timer recovers or gives up.
                None => drain_unsent(&mut self.session, now, out),
            };
            if !read && sent == 0 {
                return ended;
            }
        }
    }

    /// On success the file is committed before the final ACK leaves (it is still queued):
    /// if the commit fails, the peer gets an ERROR instead.
    fn commit(&mut self, summary: Summary) -> Ended {
        match self.file.finish() {
            Ok(()) => Ended::Done(summary),
            Err(e) => {
                let code = error_code(&e);
                let message = match code {
                    ErrorCode::DiskFull => "disk full",
                    ErrorCode::FileExists => "file exists",
                    _ => "could not store the file",
                };
                self.session.abort(code, message);
                Ended::Failed(TransferError::Aborted {
                    code,
                    message: format!("{message}: {e}"),
                })
            }
        }
    }

    /// Reads every waiting datagram from the transfer's own socket (none without one) and
    /// steps the session with each.
    pub fn on_readable(
        &mut self,
        clock: &Clock,
        inbox: &mut Inbox,
        out: &mut Outbox,
    ) -> Option<Ended> {
        let mut ended = None;
        let mut errors = 0;
        loop {
            let Some(socket) = &self.socket else {
                return None;
            };
            match inbox.recv(socket) {
                Ok(got) => {
                    let bytes = &inbox.bytes()[..got.len];
                    // A coalesced batch is split back into the datagrams that were sent; an
                    // empty datagram is still one datagram.
                    let mut datagrams = bytes.chunks(got.segment.max(1));
                    let first = datagrams.next().unwrap_or_default();
                    for datagram in std::iter::once(first).chain(datagrams) {
                        let input = Input::Datagram {
                            from: got.from,
                            bytes: datagram,
                        };
                        if let Some(e) = self.step(clock.now(), input, out, None) {
                            ended = Some(e);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A pending ICMP error and the like: reported once, then the next datagram.
                Err(_) if errors < MAX_RECV_ERRORS => errors += 1,
                Err(_) => break,
            }
        }
        ended
    }

    /// Ends the transfer from this side with ERROR `code` (Ctrl-C, a server stopping); the
    /// ERROR goes out as [`Transfer::step`] sends.
    pub fn abort(
        &mut self,
        now: Instant,
        code: ErrorCode,
        message: &str,
        out: &mut Outbox,
        shared: Option<&UdpSocket>,
    ) -> Option<Ended> {
        self.session.abort(code, message);
        self.step(now, Input::Drain, out, shared)
    }
}

/// Takes (and drops) what the session has to send, for a transfer given no socket to send
/// from; returns the count, as [`Outbox::flush_session`] does.
fn drain_unsent(session: &mut Session, now: Instant, out: &mut Outbox) -> usize {
    let mut taken = 0;
    while session.poll_transmit(now, out.scratch()).is_some() {
        taken += 1;
    }
    taken
}
