//! One side of a pair: a session, its file, its outcome, and the one drain loop every
//! in-memory test runs.

use std::net::SocketAddr;

use tftp_proto::{Event, Instant, Session, Summary, TransferError, Write};

use crate::{File, Observer, Outbox};

/// A session with its file in memory, driven the way the crate docs drive one: datagrams in
/// ([`Endpoint::deliver`], bytes written to the file), timeouts ([`Endpoint::timeout`]), then
/// [`Endpoint::drain`] (reads served from the file, the outcome kept, datagrams out).
pub struct Endpoint<'f> {
    session: Session,
    addr: SocketAddr,
    file: File<'f>,
    outcome: Option<Result<Summary, TransferError>>,
    done_at: Option<Instant>,
    stats: Stats,
    /// An input arrived since the last drain (or none happened yet).
    input: bool,
    /// The session's deadline as last asked ...
    deadline: Option<Instant>,
    /// ... unless it may have moved since.
    stale: bool,
}

/// What an endpoint sent and wrote (the datagrams counted by their opcode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// DATA sent.
    pub data_sent: u64,
    /// Payload bytes of the DATA sent.
    pub data_bytes_sent: u64,
    /// ACKs sent.
    pub acks_sent: u64,
    /// Writes handed to the file (one per DATA that brought new bytes).
    pub writes: u64,
    /// The most DATA sent between two triggers: ACKs from the other side of a
    /// [`crate::Pair`], or timeouts (R-XFR-13: at most a window).
    pub max_burst: u64,
    /// DATA sent since the last trigger.
    burst: u64,
}

impl<'f> Endpoint<'f> {
    /// `session`, sending from `addr`, with `file`.
    pub fn new(session: Session, addr: SocketAddr, file: File<'f>) -> Endpoint<'f> {
        Endpoint {
            session,
            addr,
            file,
            outcome: None,
            done_at: None,
            stats: Stats::default(),
            input: true,
            deadline: None,
            stale: true,
        }
    }

    /// The session, for its accessors.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, for calls such as [`Session::abort`] (the next [`crate::Pair::send`]
    /// drains it).
    pub fn session_mut(&mut self) -> &mut Session {
        self.touched();
        &mut self.session
    }

    /// The address the session sends from.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The file.
    pub fn file(&self) -> &File<'f> {
        &self.file
    }

    /// The file, to replace it or look closer.
    pub fn file_mut(&mut self) -> &mut File<'f> {
        &mut self.file
    }

    /// The file, with what was written into it.
    pub fn into_file(self) -> File<'f> {
        self.file
    }

    /// The outcome the session reported, once it did.
    pub fn outcome(&self) -> Option<&Result<Summary, TransferError>> {
        self.outcome.as_ref()
    }

    /// When the drain that took the outcome ran.
    pub fn done_at(&self) -> Option<Instant> {
        self.done_at
    }

    /// What it sent and wrote so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// True when an input arrived since the last drain (or the endpoint is new): a session
    /// has something to report or send only after an input, so [`crate::Pair::send`] drains
    /// only these.
    #[inline]
    pub fn needs_drain(&self) -> bool {
        self.input
    }

    /// The session's deadline ([`Session::poll_timeout`]), asked again only after the session
    /// changed.
    #[inline]
    pub fn deadline(&mut self) -> Option<Instant> {
        if self.stale {
            self.deadline = self.session.poll_timeout();
            self.stale = false;
        }
        self.deadline
    }

    /// [`Endpoint::deadline`] in microseconds, `u64::MAX` for none.
    #[inline]
    pub(crate) fn deadline_micros(&mut self) -> u64 {
        self.deadline().map_or(u64::MAX, Instant::as_micros)
    }

    #[inline]
    fn touched(&mut self) {
        self.input = true;
        self.stale = true;
    }

    /// Feeds one datagram that came from `from` at `now`; new bytes go to the file at their
    /// offset. Returns the write, as [`Session::handle_datagram`] does.
    #[inline]
    pub fn deliver<'a>(
        &'a mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &'a [u8],
    ) -> Option<Write<'a>> {
        self.touched();
        let write = self.session.handle_datagram(now, from, datagram)?;
        self.file.write(write.offset, write.data);
        self.stats.writes += 1;
        Some(write)
    }

    /// Handles the timeout at `now`; a sender's burst ends here.
    #[inline]
    pub fn timeout(&mut self, now: Instant) {
        self.touched();
        self.stats.burst = 0;
        self.session.handle_timeout(now);
    }

    /// An ACK from the other side arrived: a sender's burst ends here.
    #[inline]
    pub(crate) fn trigger(&mut self) {
        self.stats.burst = 0;
    }

    /// Takes every pending event and nothing else: reads are served from the file, the
    /// outcome is kept. Returns the number of reads served.
    pub fn serve_events(&mut self, now: Instant, observer: &mut impl Observer) -> usize {
        self.stale = true;
        let mut reads = 0;
        while let Some(event) = self.session.poll_event() {
            reads += usize::from(self.on_event(now, event, observer));
        }
        reads
    }

    /// The drain loop, the only one: before every datagram the pending events are taken
    /// (reads served from the file, the outcome kept), and the loop ends when there is
    /// neither an event nor a datagram. A window can take several reads, so this is the
    /// driver rule of the crate docs ("until a pass serves no read and sends nothing") with
    /// the events checked as early as possible. Datagrams go to `outbox`; `observer` sees
    /// every read, outcome and datagram.
    #[inline]
    pub fn drain(&mut self, now: Instant, outbox: &mut impl Outbox, observer: &mut impl Observer) {
        self.input = false;
        self.stale = true;
        // Only a datagram received changes the options, so the limit holds for the drain.
        let max_len = self.session.max_datagram_len();
        loop {
            if let Some(event) = self.session.poll_event() {
                self.on_event(now, event, observer);
                continue;
            }
            let buf = outbox.buffer(max_len);
            let Some(t) = self.session.poll_transmit(now, buf) else {
                return;
            };
            let datagram = &buf[..t.len];
            self.stats.count(datagram);
            observer.sent(&self.session, t.destination, datagram);
            outbox.send(self.addr, t.destination, t.len);
        }
    }

    /// Serves a read or keeps the outcome; returns true for a read.
    fn on_event(&mut self, now: Instant, event: Event, observer: &mut impl Observer) -> bool {
        if let Event::Read { offset, len } = event {
            let buf = self.session.read_buffer();
            let buffer = buf.len();
            let n = if buffer >= len {
                self.file.read(offset, &mut buf[..len])
            } else {
                0
            };
            observer.read(&self.session, offset, len, buffer);
            assert!(
                buffer >= len,
                "read buffer of {buffer} bytes for a read of {len}"
            );
            self.session.read_done(n);
            return true;
        }
        observer.outcome(&self.session, &event);
        assert!(
            self.outcome.is_none(),
            "two outcomes: {event:?} after {:?}",
            self.outcome
        );
        self.outcome = Some(match event {
            Event::Finished(summary) => Ok(summary),
            Event::Failed(error) => Err(error),
            Event::Read { .. } => unreachable!("served above"),
        });
        self.done_at = Some(now);
        false
    }
}

impl Stats {
    /// Counts one sent datagram by its opcode.
    #[inline]
    fn count(&mut self, datagram: &[u8]) {
        match datagram {
            [0, 3, _, _, payload @ ..] => {
                self.data_sent += 1;
                self.data_bytes_sent += payload.len() as u64;
                self.burst += 1;
                self.max_burst = self.max_burst.max(self.burst);
            }
            [0, 4, ..] => self.acks_sent += 1,
            _ => {}
        }
    }
}
