//! Whole transfers through the simulated network of `tftp_pair::Pair`: one client session and
//! the server sessions it causes, joined through seeded loss, duplication, reordering and
//! delay, on simulated time, with in-memory files. In the spirit of quinn-proto's `Pair`: step
//! to the earlier of the next deadline and the next arrival; a run that never ends fails the
//! test. This file is the scenario (a [`Scenario`] in, a [`Report`] out) and the strangers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tftp_pair::{File, Network, Observer, Pair, Setup, Source, CLIENT};
use tftp_proto::server::Direction;
use tftp_proto::{
    Config, Mode, Packet, RequestOptions, ServerPolicy, Session, Summary, TransferError,
};

pub use tftp_pair::Link;

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
    /// Server sessions started (a repeated request no session was waiting for starts one).
    pub server_sessions: u64,
    pub steps: u64,
}

pub const STRANGER: &str = "10.0.0.9:6666";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Every datagram a session sends parses.
struct Parses;

impl Observer for Parses {
    fn sent(&mut self, _: &Session, _: SocketAddr, datagram: &[u8]) {
        Packet::parse(datagram).expect("the core sends only valid packets");
    }
}

/// Runs the scenario to its end (both sides closed, or the time limit).
pub fn run(sc: &Scenario) -> Report {
    let (client_file, server_file) = match sc.direction {
        Direction::Read => (File::empty(), File::serving(Source::new(&sc.file[..]))),
        Direction::Write => (File::serving(Source::new(&sc.file[..])), File::empty()),
    };
    let mut setup = Setup::new(
        sc.direction,
        sc.mode,
        sc.options,
        client_file.written_once(),
        server_file.written_once(),
    );
    setup.client_config = sc.config.clone();
    setup.server_config = sc.config.clone();
    setup.policy = sc.policy.clone();
    setup.announce = Some(sc.file.len() as u64);
    let net = Network::impaired(sc.seed, sc.to_server, sc.to_client);
    let mut pair = Pair::new(setup, net).with_time_limit(sc.time_limit);
    let stranger = addr(STRANGER);
    let mut report = Report::default();
    loop {
        report.steps += 1;
        assert!(report.steps < 50_000_000, "simulation does not end");
        pair.send_with(&mut Parses);
        if sc.stranger_every > 0 && report.steps % sc.stranger_every == 0 {
            // A stranger pokes both ends with plausible packets.
            let poke: &[u8] = match pair.network_mut().rng().below(3) {
                0 => b"\x00\x04\x00\x01",
                1 => b"\x00\x03\x00\x01junk",
                _ => b"\x00\x05\x00\x00go away\x00",
            };
            let mut targets = vec![CLIENT];
            targets.extend(pair.servers().iter().map(|s| s.addr()));
            for to in targets {
                report.stranger_sent += 1;
                pair.inject(stranger, to, poke);
            }
        }
        if !pair.advance_to_next() {
            break;
        }
    }
    let client = pair.client();
    report.client = client.outcome().cloned();
    report.client_done_at = client.done_at().unwrap_or(pair.now()) - tftp_proto::Instant::ZERO;
    let net = pair.network().stats();
    (report.dropped, report.duplicated) = (net.dropped, net.duplicated);
    report.stranger_errors = pair.sent_outside();
    if pair.refused() > 0 {
        report.server = Some(Err(TransferError::Illegal("refused")));
    }
    let client_stats = *client.stats();
    let client_file = pair.client().file().written().to_vec();
    let sides = pair.into_servers();
    for stats in sides.iter().map(|s| *s.stats()).chain([client_stats]) {
        report.data_sent += stats.data_sent;
        report.data_bytes_sent += stats.data_bytes_sent;
        report.acks_sent += stats.acks_sent;
        report.max_data_per_trigger = report.max_data_per_trigger.max(stats.max_burst);
    }
    // The first server session is the one that did the work.
    report.server_sessions = sides.len() as u64;
    if let Some(first) = sides.into_iter().next() {
        report.server = first.outcome().cloned();
        if sc.direction == Direction::Write {
            report.received = first.into_file().into_written();
        }
    }
    if sc.direction == Direction::Read {
        report.received = client_file;
    }
    report
}
