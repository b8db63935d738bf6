//! Session bodies: a [`Script`] makes one session and feeds it datagrams from its peer and from
//! strangers, time steps and aborts; the session is one side of a `tftp_pair::Pair` (the
//! harness plays the other), whose drain loop serves `Event::Read` from the script's file after
//! every input while the harness watches every read, outcome and datagram (bounded: a drain
//! that does not go idle fails), and the invariants below are checked. A simulated peer ([`Datagram::Auto`], [`Op::Run`]) lets the fuzzer reach deep
//! states (windows, rollover, dally) cheaply. At the end the peer goes silent and the session
//! must close within a bounded number of deadlines.
//!
//! Invariants (the requirement each one serves):
//! - no panic, and every drain goes idle within [`DRAIN_CAP`] steps (no endless loop);
//! - every emitted datagram parses and fits `max_datagram_len()` (R-PKT-5, R-INT-2); a request
//!   is at most 512 bytes (R-PKT-6); an OACK holds only options the client asked for and
//!   never grows with them (R-OPT-1, CVE-2021-41054);
//! - only ERROR 5 goes to anyone but the peer, only to a stranger that just wrote, and a
//!   stranger's datagram changes nothing: no write, no event, same deadline (R-XFR-4);
//! - a server's peer never changes; a client's changes once, to the port that answered (R-XFR-3);
//! - deadlines: after `handle_timeout(now)` the deadline is later than `now` (else a driver
//!   spins); no other input sets one earlier than its `now` (a deadline already past may stay
//!   pending, since a late datagram is not a timeout); an open session always has a deadline,
//!   and a closed one has nothing left to do (R-XFR-5);
//! - a sender's DATA lie in (acked, acked + windowsize] counting rollover, go out in order
//!   within an input and restart only at acked + 1 after a timeout, an ACK or a repeated
//!   request; at most one window per input; in octet mode each carries exactly the file's
//!   bytes for its block (R-XFR-13, R-XFR-11, R-OPT-8, R-MOD-1);
//! - a duplicate ACK sends no DATA (R-XFR-6); a server whose peer never spoke sends nothing on
//!   a timeout (R-SRV-6); an ERROR from the peer is never answered, and at most one ERROR per
//!   session goes to the peer (R-XFR-9);
//! - reads are sequential; writes never overflow, never overlap (octet: each is exactly the
//!   DATA payload; netascii: each follows the last), never pass a size limit, never sum to more
//!   than the payload bytes the peer sent, and never come from a stranger (R-XFR-7, R-XFR-13);
//! - at most one `Finished`/`Failed`; after `Failed` only ERRORs go out; a finished transfer
//!   reports the bytes it moved, and an octet receiver's writes then cover `[0, bytes)`
//!   exactly; a peer's ERROR message is reported bounded (255 characters).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tftp_pair::{Collect, File, Pair, Side as PairSide, Source};
use tftp_proto::{
    ClientRequest, Config, ErrorCode, Instant, Mode, OptionHandling, OptionList, Packet,
    RequestOptions, Role, ServerPolicy, Session, Summary, TransferError,
};

use super::script::{Announce, Datagram, Op, OptionPair, Script};

/// Panics with the message, the op being applied and the role (field accesses only, so it
/// works while the session is borrowed).
macro_rules! fail {
    ($h:expr, $($msg:tt)+) => {
        panic!("{} [{}; role {:?}]", format!($($msg)+), describe($h.at, $h.ops), $h.role)
    };
}

/// [`fail!`] unless `cond`.
macro_rules! ensure {
    ($h:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            fail!($h, $($msg)+);
        }
    };
}

/// Where in the script a run is.
#[derive(Clone, Copy, Debug)]
enum At {
    Start,
    Op(usize),
    Silence,
}

fn describe(at: At, ops: &[Op]) -> String {
    match at {
        At::Op(i) => format!("op {i}: {:?}", ops[i]),
        other => format!("{other:?}"),
    }
}

mod checks;
mod peer;

/// Steps (events plus datagrams) one drain may take, besides 8 per block of the window,
/// before it counts as an endless loop.
pub const DRAIN_CAP: usize = 1_000;
/// Deadlines a silent peer is given before the session must have closed.
pub const SILENCE_CAP: usize = 1_000;
const BUF_LEN: usize = 70_000;
/// Payload bytes one `Op::Run` moves at most (a round moves a window, or one block).
const RUN_BYTES: u64 = 1 << 22;
/// The longest OACK payload: the four known options with 20-digit values.
const MAX_OACK_LEN: usize = 2 + 96;

/// Which pair of roles the first header byte chooses between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

/// The fuzz body for server sessions (server read or write).
pub fn server_session(data: &[u8]) {
    run(&Script::read(data), Side::Server, false);
}

/// The fuzz body for client sessions (client get or put).
pub fn client_session(data: &[u8]) {
    run(&Script::read(data), Side::Client, false);
}

/// What a run did, for tests that look closer than the invariants.
#[derive(Debug, Default)]
pub struct Report {
    /// None when the session could not be made (a refusal or a bad request).
    pub role: Option<Role>,
    /// The ERROR a server sends instead of starting (a refused option).
    pub refusal: Option<Vec<u8>>,
    pub outcome: Option<Result<Summary, TransferError>>,
    /// Every datagram sent, with its destination (only when asked to record).
    pub sent: Vec<(SocketAddr, Vec<u8>)>,
    /// Sent datagrams per op (the first entry is for the session's start).
    pub sent_per_input: Vec<usize>,
    pub written: u64,
}

impl Report {
    /// The sent datagrams to `to`, parsed.
    pub fn packets_to(&self, to: SocketAddr) -> Vec<Packet<'_>> {
        self.sent
            .iter()
            .filter(|(d, _)| *d == to)
            .map(|(_, b)| Packet::parse(b).expect("checked by the harness"))
            .collect()
    }
}

/// Where the simulated peer and the others send from.
pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a literal address")
}
/// The client of a server session.
pub const CLIENT: &str = "192.0.2.1:1234";
/// The server of a client session: its well-known port, and the port that answers.
pub const SERVER: &str = "192.0.2.2:69";
pub const SERVER_TID: &str = "192.0.2.2:5000";
pub const STRANGER: &str = "192.0.2.99:4444";

/// Runs `script` as a session of `side`; records every datagram when `record`.
pub fn run(script: &Script, side: Side, record: bool) -> Report {
    let mut report = Report::default();
    let Some((mut h, mut d)) = Harness::start(script, side, record, &mut report) else {
        return report;
    };
    for (i, op) in script.ops.iter().enumerate() {
        h.at = At::Op(i);
        h.apply(&mut d, op);
        h.report.sent_per_input.push(h.sent_this_input);
    }
    h.silence(&mut d);
    h.report.outcome = h.outcome.clone();
    h.report.written = h.written;
    std::mem::take(h.report)
}

/// The input a drain follows, for the checks that depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Start,
    Timeout,
    Peer(PeerKind),
    Stranger(SocketAddr),
    Abort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PeerKind {
    /// The ACK of the block the sender last had acknowledged, during the transfer.
    DuplicateAck,
    Ack,
    Request,
    Error,
    Other,
}

impl Input {
    /// A sender may go back to the first unacknowledged block after these.
    fn may_rewind(self) -> bool {
        matches!(
            self,
            Input::Timeout | Input::Peer(PeerKind::Ack | PeerKind::Request)
        )
    }
}

/// What one drain saw.
#[derive(Default)]
struct Drained {
    data: u64,
    last_data: Option<u64>,
    to_peer_not_data: u32,
    to_strangers: u32,
    events: u32,
}

/// The session under test: one side of a pair whose other side the harness plays.
struct Driver {
    pair: Pair<'static>,
    side: PairSide,
    /// Where its datagrams go (the harness sees each as it is sent, and keeps none here).
    out: Collect,
}

impl Driver {
    fn s(&self) -> &Session {
        self.pair.endpoint(self.side).session()
    }

    fn s_mut(&mut self) -> &mut Session {
        self.pair.endpoint_mut(self.side).session_mut()
    }

    fn now(&self) -> Instant {
        self.pair.now()
    }
}

/// The model of the transfer and the checks: the observer of every drain.
struct Harness<'r> {
    role: Role,
    mode: Mode,
    file: Source<'static>,
    asked: RequestOptions,
    filename: Vec<u8>,
    /// The request a server session was made for (repeated by `Datagram::Request`).
    request: Vec<u8>,
    /// Where the simulated peer sends from.
    peer_addr: SocketAddr,
    peer_changes: u32,
    scratch: Vec<u8>,
    /// Where in the script the run is, and the script's ops (for failure messages).
    at: At,
    ops: &'r [Op],
    record: bool,
    report: &'r mut Report,
    sent_this_input: usize,
    /// The drain under way: what it follows, what it saw, how many steps (events plus
    /// datagrams) it took and may take.
    input: Input,
    seen: Drained,
    steps: usize,
    cap: usize,
    /// Sender model: the highest block the peer acknowledged, the highest DATA sent, and the
    /// end of the furthest read (blocks absolute, from 1).
    acked: u64,
    highest_data: u64,
    read_end: u64,
    /// Receiver model: the block the simulated peer sends next; whether only the peer's file
    /// went across (so the writes must be that file).
    peer_next: u64,
    peer_file_only: bool,
    received_payload: u64,
    written: u64,
    /// Octet writes: start -> end.
    ranges: BTreeMap<u64, u64>,
    write_limit: Option<u64>,
    /// A client's simulated server has answered.
    client_started: bool,
    /// The peer sent something other than its request (R-SRV-6).
    peer_spoke: bool,
    /// Timed repeats of the first packet sent to the peer before it spoke (R-SRV-6's bound).
    first_repeats: u8,
    outcome: Option<Result<Summary, TransferError>>,
    errors_to_peer: u32,
}

fn handling(bits: u8) -> OptionHandling {
    match bits & 3 {
        1 => OptionHandling::Ignore,
        2 => OptionHandling::Refuse,
        _ => OptionHandling::Accept,
    }
}

fn encode_pairs(pairs: &[OptionPair]) -> Vec<u8> {
    let mut raw = Vec::new();
    pairs.iter().for_each(|p| p.encode(&mut raw));
    raw
}

impl<'r> Harness<'r> {
    /// Makes the session the header describes and drains its first output; `None` when it
    /// cannot be made (the refusal is checked and reported).
    fn start(
        script: &'r Script,
        side: Side,
        record: bool,
        report: &'r mut Report,
    ) -> Option<(Self, Driver)> {
        let (h, ops) = (&script.header, &script.ops[..]);
        let now = Instant::ZERO;
        let mut config = Config::default();
        match h.send_buffer {
            1 => config.send_buffer = 1,
            2 => config.send_buffer = 1500,
            3 => config.send_buffer = 8192,
            _ => {}
        }
        let file = peer::source(&h.file);
        let limit = (h.size_limit != 0).then_some(u64::from(h.size_limit));
        let (role, session, request, peer_addr) = match side {
            Side::Server => {
                let role = if h.second_role {
                    Role::ServerWrite
                } else {
                    Role::ServerRead
                };
                let raw = encode_pairs(&h.options);
                let options = OptionList::parse(&raw).unwrap_or(OptionList::EMPTY);
                let mut policy = ServerPolicy::default();
                if h.max_blksize != 0 {
                    policy.max_blksize = h.max_blksize.clamp(8, 65464);
                }
                policy.max_windowsize = u16::from(h.max_windowsize.clamp(1, 64));
                policy.blksize = handling(h.handling);
                policy.timeout = handling(h.handling >> 2);
                policy.tsize = handling(h.handling >> 4);
                policy.windowsize = handling(h.handling >> 6);
                policy.max_file_size = limit;
                let peer = addr(CLIENT);
                let made = if role == Role::ServerRead {
                    let size = match h.announce {
                        Announce::None => None,
                        Announce::Actual => Some(file.len()),
                        Announce::Other(v) => Some(u64::from(v)),
                    };
                    Session::server_read(now, peer, h.mode, &options, size, &policy, &config)
                } else {
                    Session::server_write(now, peer, h.mode, &options, &policy, &config)
                };
                let session = match made {
                    Ok(s) => s,
                    Err(refusal) => {
                        // A refusal is an ERROR that parses, with the refusal's code.
                        let mut buf = [0u8; 600];
                        let n = refusal.encode(&mut buf);
                        let packet = Packet::parse(&buf[..n]).expect("a refusal parses");
                        assert!(
                            matches!(packet, Packet::Error { code, .. } if code == refusal.code),
                            "refusal encodes as its ERROR: {packet:?}"
                        );
                        report.refusal = Some(buf[..n].to_vec());
                        return None;
                    }
                };
                let opcode = if role == Role::ServerRead { 1 } else { 2 };
                let mut request = vec![0, opcode, b'f', 0];
                request.extend_from_slice(h.mode.name().as_bytes());
                request.push(0);
                request.extend_from_slice(options.as_bytes());
                (role, session, request, peer)
            }
            Side::Client => {
                let role = if h.second_role {
                    Role::ClientPut
                } else {
                    Role::ClientGet
                };
                let req = ClientRequest {
                    filename: &h.filename,
                    mode: h.mode,
                    options: h.asked,
                    max_file_size: limit,
                };
                let server = addr(SERVER);
                let made = if role == Role::ClientGet {
                    Session::client_get(now, server, &req, &config)
                } else {
                    Session::client_put(now, server, &req, &config)
                };
                let session = made.ok()?;
                (role, session, Vec::new(), addr(SERVER_TID))
            }
        };
        report.role = Some(role);
        // A sender reads the script's file; a receiver's writes are checked, not kept.
        let session_file = if role.is_sender() {
            File::serving(file.clone())
        } else {
            File::empty().discarding()
        };
        let pair_side = if role.is_client() {
            PairSide::Client
        } else {
            PairSide::Server
        };
        let mut driver = Driver {
            pair: Pair::solo(session, session_file),
            side: pair_side,
            out: Collect::dropping(BUF_LEN),
        };
        let mut harness = Harness {
            role,
            mode: h.mode,
            file,
            asked: h.asked,
            filename: h.filename.clone(),
            request,
            peer_addr,
            peer_changes: 0,
            scratch: Vec::new(),
            at: At::Start,
            ops,
            record,
            report,
            sent_this_input: 0,
            input: Input::Start,
            seen: Drained::default(),
            steps: 0,
            cap: 0,
            acked: 0,
            highest_data: 0,
            read_end: 0,
            peer_next: 1,
            peer_file_only: true,
            received_payload: 0,
            written: 0,
            ranges: BTreeMap::new(),
            write_limit: if matches!(role, Role::ClientGet | Role::ServerWrite) {
                limit
            } else {
                None
            },
            client_started: false,
            peer_spoke: false,
            first_repeats: 0,
            outcome: None,
            errors_to_peer: 0,
        };
        harness.drain(&mut driver, Input::Start, None);
        harness.report.sent_per_input.push(harness.sent_this_input);
        Some((harness, driver))
    }

    fn step(&mut self, d: &mut Driver, micros: u64) {
        d.pair.advance(Duration::from_micros(micros));
    }

    fn apply(&mut self, d: &mut Driver, op: &Op) {
        match op {
            Op::Peer { step, datagram } => {
                self.step(d, (*step).into());
                let bytes = self.build(d.s(), datagram);
                let from = self.peer_addr;
                self.datagram(d, from, &bytes, matches!(datagram, Datagram::Auto));
            }
            Op::Stranger { step, datagram } => {
                self.step(d, (*step).into());
                let bytes = self.build(d.s(), datagram);
                self.datagram(d, addr(STRANGER), &bytes, false);
            }
            Op::OtherPort { step, datagram } => {
                self.step(d, (*step).into());
                let bytes = self.build(d.s(), datagram);
                let mut from = self.peer_addr;
                from.set_port(if from.port() == 5001 { 5000 } else { 5001 });
                self.datagram(d, from, &bytes, false);
            }
            Op::Wait { step } => {
                self.step(d, (*step).into());
                self.timeout(d);
            }
            Op::Deadline => {
                if let Some(deadline) = d.s().poll_timeout() {
                    d.pair.set_now(d.now().max(deadline));
                }
                self.timeout(d);
            }
            Op::Abort { code, message } => {
                let before = d.s().poll_timeout();
                d.s_mut().abort(
                    ErrorCode::from_u16(*code),
                    &String::from_utf8_lossy(message),
                );
                self.drain(d, Input::Abort, before);
            }
            Op::Run { rounds, step } => {
                // At most RUN_BYTES of DATA payload per Run, so one input stays fast.
                let o = d.s().options();
                let per_round = u64::from(o.blksize) * u64::from(o.windowsize);
                let rounds = u64::from(*rounds).min((RUN_BYTES / per_round).max(16));
                for _ in 0..rounds {
                    if d.s().is_closed() {
                        break;
                    }
                    self.step(d, (*step).into());
                    if d.s().poll_timeout().is_some_and(|t| t <= d.now()) {
                        self.timeout(d);
                    }
                    let bytes = self.build(d.s(), &Datagram::Auto);
                    let from = self.peer_addr;
                    self.datagram(d, from, &bytes, true);
                }
            }
        }
    }

    /// The peer goes silent: the session must close within [`SILENCE_CAP`] deadlines.
    fn silence(&mut self, d: &mut Driver) {
        self.at = At::Silence;
        for _ in 0..SILENCE_CAP {
            let Some(deadline) = d.s().poll_timeout() else {
                break;
            };
            d.pair.set_now(d.now().max(deadline));
            self.timeout(d);
        }
        ensure!(
            self,
            d.s().is_closed(),
            "R-XFR-5: still open after {SILENCE_CAP} deadlines of silence"
        );
    }

    fn timeout(&mut self, d: &mut Driver) {
        let before = d.s().poll_timeout();
        d.pair.timeout(d.side);
        self.drain(d, Input::Timeout, before);
    }

    /// Feeds one datagram from `from`, then checks the write it returned and drains.
    fn datagram(&mut self, d: &mut Driver, from: SocketAddr, bytes: &[u8], auto: bool) {
        let before = d.s().poll_timeout();
        let closed_before = d.s().is_closed();
        let peer_before = d.s().peer();
        let parsed = Packet::parse(bytes).ok();
        let payload = match parsed {
            Some(Packet::Data { data, .. }) => Some(data),
            _ => None,
        };
        let duplicate_ack = matches!(parsed, Some(Packet::Ack { block })
            if self.role.is_sender() && self.highest_data > 0 && block == self.acked as u16);
        // Copy the write out of the session's borrow.
        let write = d.pair.feed(d.side, from, bytes).map(|w| {
            self.scratch.clear();
            self.scratch.extend_from_slice(w.data);
            w.offset
        });
        let s = d.s();
        let from_peer = s.peer() == from;
        if s.peer() != peer_before {
            self.peer_changes += 1;
            ensure!(
                self,
                self.role.is_client()
                    && self.peer_changes == 1
                    && peer_before == addr(SERVER)
                    && from.ip() == peer_before.ip(),
                "R-XFR-3: peer moved from {peer_before} to {}",
                s.peer()
            );
            self.peer_addr = from;
        }
        if !from_peer {
            ensure!(self, write.is_none(), "R-XFR-13: wrote a stranger's bytes");
            return self.stranger_drain(d, from, bytes.len(), before, closed_before);
        }
        if !matches!(parsed, Some(Packet::Rrq(_) | Packet::Wrq(_)) | None) {
            self.peer_spoke = true;
            self.client_started = true;
        }
        if !auto && matches!(parsed, Some(Packet::Data { .. })) {
            self.peer_file_only = false;
        }
        if let Some(p) = payload {
            self.received_payload += p.len() as u64;
        }
        if let Some(offset) = write {
            self.check_write(d.s(), offset, payload);
        }
        if let Some(Packet::Ack { block }) = parsed {
            // The sender model: an ACK of a block sent and not yet acknowledged moves it.
            let ahead = u64::from(block.wrapping_sub(self.acked as u16));
            if ahead >= 1 && self.acked + ahead <= self.highest_data {
                self.acked += ahead;
            }
        }
        let kind = match parsed {
            _ if duplicate_ack => PeerKind::DuplicateAck,
            Some(Packet::Ack { .. }) => PeerKind::Ack,
            Some(Packet::Rrq(_) | Packet::Wrq(_)) => PeerKind::Request,
            Some(Packet::Error { .. }) => PeerKind::Error,
            _ => PeerKind::Other,
        };
        self.drain(d, Input::Peer(kind), before);
    }

    /// Drains events and datagrams after `input` through the pair's drain loop, this harness
    /// watching each (the checks of `checks.rs`); `before` is the deadline before the input.
    fn drain(&mut self, d: &mut Driver, input: Input, before: Option<Instant>) -> Drained {
        self.input = input;
        self.seen = Drained::default();
        self.sent_this_input = 0;
        // Each DATA of a window may take a read or two (netascii) and a datagram.
        self.cap = DRAIN_CAP + 8 * usize::from(d.s().options().windowsize);
        self.steps = 0;
        d.pair.drain(d.side, &mut d.out, self);
        let seen = std::mem::take(&mut self.seen);
        self.after_drain(d, input, before, &seen);
        seen
    }

    /// One more event or datagram in the drain under way: past the cap it is an endless loop.
    fn drain_step(&mut self) {
        self.steps += 1;
        ensure!(
            self,
            self.steps < self.cap,
            "the drain did not go idle in {} steps",
            self.cap
        );
    }
}
