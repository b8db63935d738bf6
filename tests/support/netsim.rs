//! A deterministic simulated network for whole transfers: one client session and the server
//! sessions it causes, joined through seeded loss, duplication, reordering and delay, on
//! simulated time, with in-memory files. In the spirit of quinn-proto's `Pair`: step to the
//! earlier of the next deadline and the next arrival; a run that never ends fails the test.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use tftp_proto::server::{accept, Direction, Intake};
use tftp_proto::{
    ClientRequest, Config, Event, Instant, Mode, Packet, RequestOptions, ServerPolicy, Session,
    Summary, TransferError,
};

/// A small deterministic PRNG (splitmix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 % 1.0 < p
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// Impairments of one direction.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub loss: f64,
    pub duplicate: f64,
    /// One-way delay.
    pub delay: Duration,
    /// Extra random delay up to this much; datagrams overtake each other when it exceeds the
    /// gap between them (reordering).
    pub jitter: Duration,
    /// Probability that a datagram is held up by [`Link::stall_for`] on top (a peer that was
    /// not scheduled for a while on a loaded machine).
    pub stall: f64,
    /// How long a stalled datagram is held up.
    pub stall_for: Duration,
}

impl Link {
    pub fn clean() -> Link {
        Link {
            loss: 0.0,
            duplicate: 0.0,
            delay: Duration::from_millis(1),
            jitter: Duration::ZERO,
            stall: 0.0,
            stall_for: Duration::ZERO,
        }
    }
    pub fn lossy(loss: f64) -> Link {
        Link {
            loss,
            duplicate: loss / 5.0,
            delay: Duration::from_millis(1),
            jitter: Duration::from_micros(500),
            stall: 0.0,
            stall_for: Duration::ZERO,
        }
    }
}

/// What the scenario is.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub seed: u64,
    pub direction: Direction,
    pub mode: Mode,
    pub options: RequestOptions,
    pub file: Vec<u8>,
    pub to_server: Link,
    pub to_client: Link,
    pub policy: ServerPolicy,
    pub config: Config,
    /// A stranger sends a datagram to each side every this many steps (0: never).
    pub stranger_every: u64,
    /// Hard bound on simulated time.
    pub time_limit: Duration,
}

impl Scenario {
    pub fn new(direction: Direction, file: Vec<u8>) -> Scenario {
        Scenario {
            seed: 1,
            direction,
            mode: Mode::Octet,
            options: RequestOptions::default(),
            file,
            to_server: Link::clean(),
            to_client: Link::clean(),
            policy: ServerPolicy::default(),
            config: Config::default(),
            stranger_every: 0,
            time_limit: Duration::from_secs(3600),
        }
    }
}

/// Counters and outcome of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub client: Option<Result<Summary, TransferError>>,
    pub server: Option<Result<Summary, TransferError>>,
    /// What the receiving side wrote.
    pub received: Vec<u8>,
    /// Simulated time at which the client saw its outcome.
    pub client_done_at: Duration,
    pub data_sent: u64,
    pub data_bytes_sent: u64,
    pub acks_sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
    /// ERROR 5 answers that reached a stranger.
    pub stranger_errors: u64,
    pub stranger_sent: u64,
    /// The largest number of DATA sent between two consecutive ACK arrivals or timeouts at
    /// the sender.
    pub max_data_per_trigger: u64,
    /// Datagrams sent by a server to a peer that had never answered.
    pub server_sessions: u64,
    pub steps: u64,
}

struct Flight {
    at: Instant,
    seq: u64,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

impl PartialEq for Flight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Flight {}
impl PartialOrd for Flight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Flight {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

pub const CLIENT: &str = "10.0.0.1:40000";
pub const SERVER: &str = "10.0.0.2:69";
pub const STRANGER: &str = "10.0.0.9:6666";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// One endpoint's session plus the file it reads from or writes into.
struct Side {
    session: Session,
    addr: SocketAddr,
    source: Vec<u8>,
    sink: Vec<u8>,
    covered: Vec<bool>,
    outcome: Option<Result<Summary, TransferError>>,
    data_since_trigger: u64,
}

impl Side {
    /// A side at `addr`; a sending side reads the scenario's file, a receiving one starts empty.
    fn new(session: Session, addr: SocketAddr, sends: bool, sc: &Scenario) -> Side {
        Side {
            session,
            addr,
            source: if sends { sc.file.clone() } else { Vec::new() },
            sink: Vec::new(),
            covered: Vec::new(),
            outcome: None,
            data_since_trigger: 0,
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        // Nothing is written twice: no byte is covered by two writes.
        let (start, end) = (offset as usize, offset as usize + data.len());
        if self.sink.len() < end {
            self.sink.resize(end, 0);
            self.covered.resize(end, false);
        }
        assert!(
            self.covered[start..end].iter().all(|c| !c),
            "bytes {start}..{end} written twice"
        );
        self.covered[start..end].fill(true);
        self.sink[start..end].copy_from_slice(data);
    }

    /// Drains events and transmits; returns the datagrams to put on the network.
    fn drain(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        report: &mut Report,
    ) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            let mut progressed = false;
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                match event {
                    Event::Read { offset, len } => {
                        let start = (offset as usize).min(self.source.len());
                        let end = (start + len).min(self.source.len());
                        let n = end - start;
                        self.session.read_buffer()[..n].copy_from_slice(&self.source[start..end]);
                        self.session.read_done(n);
                    }
                    Event::Finished(s) => {
                        assert!(self.outcome.is_none(), "two outcomes");
                        self.outcome = Some(Ok(s));
                    }
                    Event::Failed(e) => {
                        assert!(self.outcome.is_none(), "two outcomes");
                        self.outcome = Some(Err(e));
                    }
                }
            }
            while let Some(t) = self.session.poll_transmit(now, buf) {
                progressed = true;
                let bytes = buf[..t.len].to_vec();
                let packet = Packet::parse(&bytes).expect("the core sends only valid packets");
                match packet {
                    Packet::Data { data, .. } => {
                        report.data_sent += 1;
                        report.data_bytes_sent += data.len() as u64;
                        self.data_since_trigger += 1;
                        report.max_data_per_trigger =
                            report.max_data_per_trigger.max(self.data_since_trigger);
                    }
                    Packet::Ack { .. } => report.acks_sent += 1,
                    _ => {}
                }
                out.push((t.destination, bytes));
            }
            if !progressed {
                return out;
            }
        }
    }
}

/// Runs the scenario to its end (both sides closed, or the time limit).
pub fn run(sc: &Scenario) -> Report {
    let mut rng = Rng::new(sc.seed);
    let mut report = Report::default();
    let client_addr = addr(CLIENT);
    let server_addr = addr(SERVER);
    let stranger = addr(STRANGER);
    let request = ClientRequest {
        filename: b"file.bin",
        mode: sc.mode,
        options: sc.options,
        max_file_size: None,
    };
    let start = Instant::ZERO;
    let session = match sc.direction {
        Direction::Read => Session::client_get(start, server_addr, &request, &sc.config),
        Direction::Write => Session::client_put(start, server_addr, &request, &sc.config),
    }
    .expect("valid request");
    let mut client = Side::new(session, client_addr, sc.direction == Direction::Write, sc);
    let mut servers: HashMap<SocketAddr, Side> = HashMap::new();
    let mut next_port = 50_000u16;
    let mut flights = BinaryHeap::new();
    let mut seq = 0u64;
    let mut now = start;
    let mut buf = vec![0u8; 65536];
    let limit = start + sc.time_limit;

    loop {
        report.steps += 1;
        assert!(report.steps < 50_000_000, "simulation does not end");
        // Outputs of everyone onto the network.
        let mut outgoing = vec![(client.addr, client.drain(now, &mut buf, &mut report))];
        for side in servers.values_mut() {
            outgoing.push((side.addr, side.drain(now, &mut buf, &mut report)));
        }
        if client.outcome.is_some() && report.client.is_none() {
            report.client = client.outcome.clone();
            report.client_done_at = now - start;
        }
        for (from, datagrams) in outgoing {
            for (to, bytes) in datagrams {
                if to == stranger {
                    report.stranger_errors += 1;
                    continue;
                }
                let link = if to == client_addr {
                    sc.to_client
                } else {
                    sc.to_server
                };
                if rng.chance(link.loss) {
                    report.dropped += 1;
                    continue;
                }
                let copies = if rng.chance(link.duplicate) {
                    report.duplicated += 1;
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let jitter = rng.below(link.jitter.as_micros() as u64 + 1);
                    let mut at = now + link.delay + Duration::from_micros(jitter);
                    if link.stall > 0.0 && rng.chance(link.stall) {
                        at = at + link.stall_for;
                    }
                    seq += 1;
                    flights.push(Reverse(Flight {
                        at,
                        seq,
                        from,
                        to,
                        bytes: bytes.clone(),
                    }));
                }
            }
        }
        if sc.stranger_every > 0 && report.steps % sc.stranger_every == 0 {
            // A stranger pokes both ends with plausible packets.
            let poke: &[u8] = match rng.below(3) {
                0 => b"\x00\x04\x00\x01",
                1 => b"\x00\x03\x00\x01junk",
                _ => b"\x00\x05\x00\x00go away\x00",
            };
            let mut targets = vec![client_addr];
            targets.extend(servers.keys().copied());
            for to in targets {
                report.stranger_sent += 1;
                seq += 1;
                flights.push(Reverse(Flight {
                    at: now,
                    seq,
                    from: stranger,
                    to,
                    bytes: poke.to_vec(),
                }));
            }
        }
        // Everyone done?
        let all_closed =
            client.session.is_closed() && servers.values().all(|s| s.session.is_closed());
        if all_closed && flights.is_empty() {
            break;
        }
        // Step time to the next arrival or deadline.
        let mut next = flights.peek().map(|Reverse(f)| f.at);
        for d in std::iter::once(client.session.poll_timeout())
            .chain(servers.values().map(|s| s.session.poll_timeout()))
            .flatten()
        {
            next = Some(next.map_or(d, |n| n.min(d)));
        }
        let Some(next) = next else { break };
        if next > limit {
            break;
        }
        now = now.max(next);
        // Deliver everything due.
        while flights.peek().is_some_and(|Reverse(f)| f.at <= now) {
            let Reverse(f) = flights.pop().unwrap();
            if f.to == client_addr {
                if f.from != stranger {
                    // A packet from the server: the client's sender window is re-triggered by
                    // ACKs.
                    if matches!(Packet::parse(&f.bytes), Ok(Packet::Ack { .. })) {
                        client.data_since_trigger = 0;
                    }
                }
                if let Some(w) = client.session.handle_datagram(now, f.from, &f.bytes) {
                    let (offset, data) = (w.offset, w.data.to_vec());
                    client.write(offset, &data);
                }
            } else if f.to == server_addr {
                deliver_request(sc, &mut servers, &mut next_port, now, &f, &mut report);
            } else if let Some(side) = servers.get_mut(&f.to) {
                if f.from != stranger && matches!(Packet::parse(&f.bytes), Ok(Packet::Ack { .. })) {
                    side.data_since_trigger = 0;
                }
                if let Some(w) = side.session.handle_datagram(now, f.from, &f.bytes) {
                    let (offset, data) = (w.offset, w.data.to_vec());
                    side.write(offset, &data);
                }
            }
        }
        // Timeouts.
        if client.session.poll_timeout().is_some_and(|d| d <= now) {
            client.data_since_trigger = 0;
            client.session.handle_timeout(now);
        }
        for side in servers.values_mut() {
            if side.session.poll_timeout().is_some_and(|d| d <= now) {
                side.data_since_trigger = 0;
                side.session.handle_timeout(now);
            }
        }
    }
    if report.client.is_none() {
        report.client = client.outcome.clone();
        report.client_done_at = now - start;
    }
    // The first server session is the one that did the work.
    let mut sides: Vec<_> = servers.into_values().collect();
    sides.sort_by_key(|s| s.addr.port());
    report.server_sessions = sides.len() as u64;
    if let Some(first) = sides.into_iter().next() {
        report.server = first.outcome.clone();
        if sc.direction == Direction::Write {
            report.received = first.sink;
        }
    }
    if sc.direction == Direction::Read {
        report.received = client.sink;
    }
    report
}

fn deliver_request(
    sc: &Scenario,
    servers: &mut HashMap<SocketAddr, Side>,
    next_port: &mut u16,
    now: Instant,
    f: &Flight,
    report: &mut Report,
) {
    // A repeat of a request whose answer was lost goes to the session that has it.
    if let Some(side) = servers
        .values_mut()
        .find(|s| s.session.peer() == f.from && s.session.is_awaiting_peer())
    {
        let _ = side.session.handle_datagram(now, f.from, &f.bytes);
        return;
    }
    let Intake::Serve(incoming) = accept(&f.bytes) else {
        return;
    };
    if f.from == addr(STRANGER) {
        return;
    }
    let session = match incoming.direction {
        Direction::Read => Session::server_read(
            now,
            f.from,
            incoming.mode,
            &incoming.options,
            Some(sc.file.len() as u64),
            &sc.policy,
            &sc.config,
        ),
        Direction::Write => Session::server_write(
            now,
            f.from,
            incoming.mode,
            &incoming.options,
            &sc.policy,
            &sc.config,
        ),
    };
    let Ok(session) = session else {
        report.server = Some(Err(TransferError::Illegal("refused")));
        return;
    };
    let tid: SocketAddr = SocketAddr::new(addr(SERVER).ip(), *next_port);
    *next_port += 1;
    let sends = incoming.direction == Direction::Read;
    servers.insert(tid, Side::new(session, tid, sends, sc));
}
