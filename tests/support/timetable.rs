//! Timetable helpers for black-box tests of [`tftp_proto::Session`] (STYLE.md habit 8).
//!
//! A test reads like a timetable: at a time, feed a packet from an address, then expect exactly
//! these packets to these destinations; expect nothing before a deadline; at the deadline,
//! handle the timeout and expect what comes out:
//!
//! ```text
//! tt.at(ms(10)).feed(SERVER_TID, data(1, &block)).expect(&[(SERVER_TID, ack(1))]);
//! tt.quiet_until(ms(1_010));
//! tt.timeout(ms(1_010)).expect(&[(SERVER_TID, ack(1))]);
//! ```
//!
//! Every datagram the session emits is parsed with [`Packet::parse`] and compared with the
//! expected one as a packet, never as bytes. The session is one side of a `tftp_pair::Pair`
//! ([`Pair::solo`]); the test plays the other side, and the pair plays the driver loop of the
//! crate docs: after each input it serves [`Event::Read`] from an in-memory file, applies every
//! [`tftp_proto::Write`] to an in-memory file, and keeps `Finished` / `Failed` for the test to
//! take. When a timetable is dropped at the end of a passing test, any outcome the test did
//! not take or any datagram it did not expect fails the test, so nothing slips by unchecked.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tftp_pair::{Collect, File, Observer, Pair, Side, Source};
use tftp_proto::{
    ErrorCode, Event, Instant, OptionList, Packet, Request, Session, Summary, TransferError,
};

/// The client's address and transfer ID.
pub const CLIENT: SocketAddr = localhost(40000);
/// The server's well-known port.
pub const SERVER: SocketAddr = localhost(69);
/// The server's transfer ID (the port its session answers from).
pub const SERVER_TID: SocketAddr = localhost(50000);
/// Somebody who is not part of the transfer.
pub const STRANGER: SocketAddr = localhost(6666);

const fn localhost(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

/// Upper bound on outputs drained after one input; more means the session never goes idle.
const DRAIN_BOUND: usize = 1_000_000;

/// The instant `n` milliseconds after the epoch of the test's clock.
pub fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// A packet built by the helpers below, held encoded: fed to a session, or expected from one.
#[derive(Clone)]
pub struct Pkt {
    bytes: Vec<u8>,
    /// An expected ERROR that matches whatever its message says.
    any_message: bool,
}

impl Pkt {
    fn of(packet: Packet<'_>) -> Pkt {
        let mut bytes = vec![0; packet.encoded_len()];
        let n = packet
            .encode(&mut bytes)
            .expect("test packets are encodable");
        bytes.truncate(n);
        Pkt {
            bytes,
            any_message: false,
        }
    }

    /// The packet on the wire.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The packet, parsed back.
    pub fn parsed(&self) -> Packet<'_> {
        Packet::parse(&self.bytes).expect("test packets parse")
    }

    /// True when `actual` is this packet (for an ERROR built by [`error_code`]: has its code).
    pub fn matches(&self, actual: &Packet<'_>) -> bool {
        match (self.parsed(), actual) {
            (Packet::Error { code: want, .. }, Packet::Error { code, .. }) if self.any_message => {
                want == *code
            }
            (want, actual) => want == *actual,
        }
    }
}

impl fmt::Debug for Pkt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.any_message {
            if let Packet::Error { code, .. } = self.parsed() {
                return write!(f, "Error {{ code: {code:?}, message: <any> }}");
            }
        }
        write!(f, "{}", describe(&self.bytes))
    }
}

/// A datagram for a failure message: the parsed packet, and for DATA a glimpse of the payload.
fn describe(bytes: &[u8]) -> String {
    match Packet::parse(bytes) {
        Ok(Packet::Data { block, data }) => {
            let head: Vec<u8> = data.iter().take(8).copied().collect();
            format!(
                "Data {{ block: {block}, len: {}, head: {head:02x?} }}",
                data.len()
            )
        }
        Ok(p) => format!("{p:?}"),
        Err(e) => format!("<unparsable: {e}> {bytes:02x?}"),
    }
}

/// DATA `block` carrying `payload`.
pub fn data(block: u16, payload: &[u8]) -> Pkt {
    Pkt::of(Packet::Data {
        block,
        data: payload,
    })
}

/// ACK `block`.
pub fn ack(block: u16) -> Pkt {
    Pkt::of(Packet::Ack { block })
}

/// OACK with `options` given as on the wire: `name NUL value NUL` pairs.
pub fn oack(options: &[u8]) -> Pkt {
    Pkt::of(Packet::Oack(
        OptionList::parse(options).expect("valid test options"),
    ))
}

fn request<'a>(filename: &'a [u8], mode: &'a str, options: &'a [u8]) -> Request<'a> {
    Request {
        filename,
        mode: mode.as_bytes(),
        options: OptionList::parse(options).expect("valid test options"),
    }
}

/// RRQ for `filename` in `mode` with `options` as on the wire.
pub fn rrq(filename: &[u8], mode: &str, options: &[u8]) -> Pkt {
    Pkt::of(Packet::Rrq(request(filename, mode, options)))
}

/// WRQ for `filename` in `mode` with `options` as on the wire.
pub fn wrq(filename: &[u8], mode: &str, options: &[u8]) -> Pkt {
    Pkt::of(Packet::Wrq(request(filename, mode, options)))
}

/// ERROR `code` with exactly `message`.
pub fn error(code: ErrorCode, message: &str) -> Pkt {
    Pkt::of(Packet::Error {
        code,
        message: message.as_bytes(),
    })
}

/// ERROR `code` with any message (when fed: an empty message).
pub fn error_code(code: ErrorCode) -> Pkt {
    Pkt {
        any_message: true,
        ..error(code, "")
    }
}

/// One session on a virtual clock, driven the way the crate docs drive it.
pub struct Timetable {
    pair: Pair<'static>,
    side: Side,
    log: Log,
    writes: Vec<(u64, usize)>,
    taken: usize,
    sent: usize,
    out: Collect,
}

/// What the session did besides sending: the reads it asked for and its outcomes.
#[derive(Default)]
struct Log {
    reads: Vec<(u64, usize)>,
    outcomes: Vec<Event>,
    /// Events and datagrams in the current drain (bounded by [`DRAIN_BOUND`]).
    events: usize,
    datagrams: usize,
}

impl Observer for Log {
    fn read(&mut self, _: &Session, offset: u64, len: usize, _buffer: usize) {
        // (The pair itself asserts that the buffer holds the read.)
        self.reads.push((offset, len));
        self.event();
    }

    fn outcome(&mut self, _: &Session, outcome: &Event) {
        self.outcomes.push(outcome.clone());
        self.event();
    }

    fn sent(&mut self, _: &Session, _: SocketAddr, datagram: &[u8]) {
        assert!(!datagram.is_empty(), "bad transmit: an empty datagram");
        self.datagrams += 1;
        assert!(
            self.datagrams < DRAIN_BOUND,
            "poll_transmit never returned None"
        );
    }
}

impl Log {
    fn event(&mut self) {
        self.events += 1;
        assert!(self.events < DRAIN_BOUND, "poll_event never returned None");
    }
}

impl Timetable {
    /// Drives `session`, created at [`Instant::ZERO`].
    pub fn new(session: Session) -> Timetable {
        let side = if session.role().is_client() {
            Side::Client
        } else {
            Side::Server
        };
        Timetable {
            pair: Pair::solo(session, File::empty()),
            side,
            log: Log::default(),
            writes: Vec::new(),
            taken: 0,
            sent: 0,
            out: Collect::new(65_536),
        }
    }

    /// Serves [`Event::Read`] from `file`.
    pub fn serving(mut self, file: &[u8]) -> Timetable {
        *self.pair.endpoint_mut(self.side).file_mut() = File::serving(Source::new(file.to_vec()));
        self
    }

    /// The session itself, for its accessors.
    pub fn session(&self) -> &Session {
        self.pair.endpoint(self.side).session()
    }

    /// The session itself, for calls such as [`Session::abort`].
    pub fn session_mut(&mut self) -> &mut Session {
        self.pair.endpoint_mut(self.side).session_mut()
    }

    /// The clock now.
    pub fn now(&self) -> Instant {
        self.pair.now()
    }

    /// Moves the clock to `t` (never backwards).
    pub fn at(&mut self, t: Instant) -> &mut Self {
        self.pair.set_now(t);
        self
    }

    /// Feeds `packet` from `from` at the current time.
    pub fn feed(&mut self, from: SocketAddr, packet: Pkt) -> &mut Self {
        self.feed_raw(from, &packet.bytes)
    }

    /// Feeds raw bytes from `from` at the current time.
    pub fn feed_raw(&mut self, from: SocketAddr, datagram: &[u8]) -> &mut Self {
        if let Some(write) = self.pair.feed(self.side, from, datagram) {
            self.writes.push((write.offset, write.data.len()));
        }
        self.drain_events();
        self
    }

    /// Handles the timeout at `t` (moving the clock there).
    pub fn timeout(&mut self, t: Instant) -> &mut Self {
        self.at(t);
        self.pair.timeout(self.side);
        self.drain_events();
        self
    }

    /// The deadline the session asks for.
    pub fn deadline(&self) -> Option<Instant> {
        self.session().poll_timeout()
    }

    /// Asserts that nothing happens before `t`: the deadline is not earlier, and a timeout
    /// handled just before `t` (1 us) sends nothing and reports nothing. Moves the clock there.
    pub fn quiet_until(&mut self, t: Instant) -> &mut Self {
        if let Some(d) = self.deadline() {
            assert!(d >= t, "deadline {d:?} is before {t:?}");
        }
        let before = Instant::from_micros(t.as_micros().saturating_sub(1));
        if before > self.now() {
            self.timeout(before);
            self.expect_nothing();
            self.no_outcome();
        }
        self
    }

    fn drain_events(&mut self) {
        self.log.events = 0;
        self.pair.serve_events(self.side, &mut self.log);
    }

    /// Drains every datagram the session wants to send now (and the reads a window takes
    /// between them).
    pub fn take_sent(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        self.drain_events();
        (self.log.events, self.log.datagrams) = (0, 0);
        self.pair.drain(self.side, &mut self.out, &mut self.log);
        let out = self.out.take();
        self.sent += out.len();
        out
    }

    /// Asserts that the session sends exactly `want`, in this order, now.
    #[track_caller]
    pub fn expect(&mut self, want: &[(SocketAddr, Pkt)]) -> &mut Self {
        let sent = self.take_sent();
        let same = sent.len() == want.len()
            && sent.iter().zip(want).all(|((to, bytes), (want_to, want))| {
                to == want_to && Packet::parse(bytes).is_ok_and(|p| want.matches(&p))
            });
        if !same {
            let sent: Vec<String> = sent
                .iter()
                .map(|(to, b)| format!("{to} <- {}", describe(b)))
                .collect();
            let want: Vec<String> = want
                .iter()
                .map(|(to, p)| format!("{to} <- {p:?}"))
                .collect();
            panic!(
                "at {:?}: expected\n  {}\nbut the session sent\n  {}",
                self.now(),
                if want.is_empty() {
                    "nothing".to_string()
                } else {
                    want.join("\n  ")
                },
                if sent.is_empty() {
                    "nothing".to_string()
                } else {
                    sent.join("\n  ")
                }
            );
        }
        self
    }

    /// Asserts that the session sends nothing now.
    #[track_caller]
    pub fn expect_nothing(&mut self) -> &mut Self {
        self.expect(&[])
    }

    /// Asserts that no outcome is waiting to be taken.
    #[track_caller]
    pub fn no_outcome(&mut self) -> &mut Self {
        self.drain_events();
        assert_eq!(
            &self.log.outcomes[self.taken..],
            &[] as &[Event],
            "at {:?}: unexpected outcome",
            self.now()
        );
        self
    }

    #[track_caller]
    fn take_outcome(&mut self) -> Event {
        self.drain_events();
        assert_eq!(
            self.log.outcomes.len(),
            self.taken + 1,
            "at {:?}: expected exactly one new outcome, got {:?}",
            self.now(),
            &self.log.outcomes[self.taken..]
        );
        self.taken += 1;
        self.log.outcomes[self.taken - 1].clone()
    }

    /// Takes the one new outcome, which must be [`Event::Finished`].
    #[track_caller]
    pub fn finished(&mut self) -> Summary {
        match self.take_outcome() {
            Event::Finished(summary) => summary,
            other => panic!("at {:?}: expected Finished, got {other:?}", self.now()),
        }
    }

    /// Takes the one new outcome, which must be [`Event::Failed`].
    #[track_caller]
    pub fn failed(&mut self) -> TransferError {
        match self.take_outcome() {
            Event::Failed(error) => error,
            other => panic!("at {:?}: expected Failed, got {other:?}", self.now()),
        }
    }

    /// Asserts that the session is over: closed, no deadline, nothing to send.
    #[track_caller]
    pub fn assert_closed(&mut self) -> &mut Self {
        self.expect_nothing().no_outcome();
        assert!(
            self.session().is_closed(),
            "at {:?}: not closed",
            self.now()
        );
        assert_eq!(self.deadline(), None, "a closed session has no deadline");
        self
    }

    /// The file as written by the session's [`tftp_proto::Write`]s.
    pub fn file(&self) -> &[u8] {
        self.pair.endpoint(self.side).file().written()
    }

    /// Every write, as `(offset, len)`.
    pub fn writes(&self) -> &[(u64, usize)] {
        &self.writes
    }

    /// Every read the session asked for, as `(offset, len)`.
    pub fn reads(&self) -> &[(u64, usize)] {
        &self.log.reads
    }

    /// Datagrams sent so far.
    pub fn sent_count(&self) -> usize {
        self.sent
    }
}

impl Drop for Timetable {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        self.drain_events();
        let unchecked = &self.log.outcomes[self.taken..];
        assert!(unchecked.is_empty(), "outcome never checked: {unchecked:?}");
        let left: Vec<String> = self.take_sent().iter().map(|(_, d)| describe(d)).collect();
        assert!(left.is_empty(), "datagrams never expected: {left:?}");
    }
}

/// A duration of `n` milliseconds.
pub fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}
