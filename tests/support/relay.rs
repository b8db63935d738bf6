//! A seeded, lossy UDP relay for TFTP integration tests (std only, loopback only).
//!
//! Topology: the client sends its request to [`Relay::addr`] (the *front* socket). For every
//! client address the relay opens one *upstream* socket, so the server sees one stable client
//! transfer ID per client. For every server source port that answers a client, the relay opens
//! one *TID* socket facing that client; replies reach the client from that socket, and whatever
//! the client sends there goes to the matching server port. Each direction has its own
//! [`Impairment`] and its own PRNG stream derived from [`RelayConfig::seed`], so a given seed
//! yields the same drop/duplicate/reorder decisions for the same sequence of datagrams.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Longest time the worker sleeps when there is nothing to do.
const IDLE: Duration = Duration::from_micros(200);
/// How long a datagram held back for reordering waits (on top of delay + jitter) for a successor.
const REORDER_HOLD: Duration = Duration::from_millis(20);
/// Upper bound on [`RelayConfig::max_lifetime`].
const LIFETIME_CAP: Duration = Duration::from_secs(3600);

/// Impairments applied to the datagrams travelling in one direction.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impairment {
    /// Probability (`0.0..=1.0`) that a datagram is silently dropped.
    pub loss: f64,
    /// Probability that a datagram which was not dropped is delivered twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back and released after the next datagram in the
    /// same direction, or after a short timeout if none follows.
    pub reorder: f64,
    /// Fixed extra delay added to every forwarded datagram.
    pub delay: Duration,
    /// Uniformly distributed extra delay in `0..jitter`, added on top of `delay`.
    pub jitter: Duration,
}

#[allow(dead_code)]
impl Impairment {
    /// No impairment at all: every datagram is forwarded once, immediately, in order.
    pub const fn none() -> Self {
        Impairment {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
        }
    }
}

impl Default for Impairment {
    fn default() -> Self {
        Impairment::none()
    }
}

/// Configuration of a [`Relay`].
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RelayConfig {
    /// Seed of the per-direction PRNG streams.
    pub seed: u64,
    /// Impairment for datagrams from the client to the server.
    pub to_server: Impairment,
    /// Impairment for datagrams from the server to the client.
    pub to_client: Impairment,
    /// The relay thread exits by itself after this long (capped at one hour).
    pub max_lifetime: Duration,
}

impl Default for RelayConfig {
    /// Seed 0, no impairment, 120 s lifetime.
    fn default() -> Self {
        RelayConfig {
            seed: 0,
            to_server: Impairment::none(),
            to_client: Impairment::none(),
            max_lifetime: Duration::from_secs(120),
        }
    }
}

/// Counters for one direction.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Datagrams received by the relay for this direction.
    pub seen: u64,
    /// Datagrams dropped on purpose.
    pub dropped: u64,
    /// Datagrams for which an extra copy was scheduled.
    pub duplicated: u64,
    /// Datagrams held back for reordering.
    pub reordered: u64,
    /// Datagrams actually sent on (duplicates included).
    pub forwarded: u64,
    /// Payload bytes actually sent on (duplicates included).
    pub bytes: u64,
    /// Sends that failed at the socket level (the datagram is lost).
    pub send_errors: u64,
}

/// A snapshot of the relay's counters.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Client-to-server direction.
    pub to_server: DirectionStats,
    /// Server-to-client direction.
    pub to_client: DirectionStats,
}

/// A running relay; stops and joins its thread on [`Relay::stop`] or drop.
#[allow(dead_code)]
pub struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<RelayStats>>,
    thread: Option<JoinHandle<()>>,
}

#[allow(dead_code)]
impl Relay {
    /// Starts a relay in front of `server` (which must be a loopback address) on its own thread.
    ///
    /// # Panics
    /// If `server` is not loopback or a probability is outside `0.0..=1.0`.
    pub fn start(server: SocketAddr, config: RelayConfig) -> io::Result<Relay> {
        assert!(
            server.ip().is_loopback(),
            "relay only talks to loopback, got {server}"
        );
        for imp in [config.to_server, config.to_client] {
            for p in [imp.loss, imp.duplicate, imp.reorder] {
                assert!((0.0..=1.0).contains(&p), "probability out of range: {p}");
            }
        }
        let front = bind_loopback(server.is_ipv4())?;
        let addr = front.local_addr()?;
        let mut seeder = Rng(config.seed);
        let lane = |imp, rng: &mut Rng| Lane {
            imp,
            rng: Rng(rng.next_u64()),
            held: None,
        };
        let stats = Arc::new(Mutex::new(RelayStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            server,
            sockets: vec![(front, Role::Front)],
            upstream: HashMap::new(),
            tids: HashMap::new(),
            lanes: [
                lane(config.to_server, &mut seeder),
                lane(config.to_client, &mut seeder),
            ],
            queue: Vec::new(),
            seq: 0,
            stats: Arc::clone(&stats),
        };
        let deadline = Instant::now() + config.max_lifetime.min(LIFETIME_CAP);
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("tftp-test-relay".into())
            .spawn(move || worker.run(&flag, deadline))?;
        Ok(Relay {
            addr,
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// The front address: send the initial request (RRQ/WRQ) here instead of to the server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the counters (counted when a datagram is received / actually sent).
    pub fn stats(&self) -> RelayStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the relay thread is still running (false after `stop` or `max_lifetime`).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the relay thread and waits for it; idempotent. Datagrams still queued are discarded.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// splitmix64: tiny, seedable, good enough for test impairments.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0.0..1.0`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy)]
enum Dir {
    ToServer = 0,
    ToClient = 1,
}

/// What a relay socket is for.
#[derive(Clone, Copy)]
enum Role {
    /// Receives requests from any client.
    Front,
    /// Talks to the server on behalf of this client.
    Upstream(SocketAddr),
    /// Talks to this client on behalf of this server port.
    Tid(SocketAddr, u16),
}

struct Pending {
    due: Instant,
    seq: u64,
    dir: Dir,
    socket: usize,
    dest: SocketAddr,
    data: Vec<u8>,
}

struct Lane {
    imp: Impairment,
    rng: Rng,
    /// A datagram held back for reordering, with its release deadline.
    held: Option<(Instant, Pending)>,
}

struct Worker {
    server: SocketAddr,
    sockets: Vec<(UdpSocket, Role)>,
    upstream: HashMap<SocketAddr, usize>,
    tids: HashMap<(SocketAddr, u16), usize>,
    lanes: [Lane; 2],
    queue: Vec<Pending>,
    seq: u64,
    stats: Arc<Mutex<RelayStats>>,
}

impl Worker {
    fn run(mut self, stop: &AtomicBool, deadline: Instant) {
        let mut buf = vec![0u8; 65536];
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            let busy = self.poll(&mut buf);
            let now = Instant::now();
            self.flush(now);
            if !busy {
                let next = self.queue.iter().map(|p| p.due);
                let next = next.chain(
                    self.lanes
                        .iter()
                        .filter_map(|l| l.held.as_ref().map(|h| h.0)),
                );
                let nap = next
                    .map(|t| t.saturating_duration_since(now))
                    .fold(IDLE, Duration::min);
                thread::sleep(nap);
            }
        }
    }

    /// Reads whatever is available on every socket; returns whether anything arrived.
    fn poll(&mut self, buf: &mut [u8]) -> bool {
        let mut busy = false;
        let mut i = 0;
        while i < self.sockets.len() {
            for _ in 0..64 {
                // WouldBlock, or an ICMP-induced error: move on to the next socket.
                let Ok((n, from)) = self.sockets[i].0.recv_from(buf) else {
                    break;
                };
                busy = true;
                self.route(i, from, &buf[..n]);
            }
            i += 1;
        }
        busy
    }

    fn route(&mut self, idx: usize, from: SocketAddr, data: &[u8]) {
        let (via, dest, dir) = match self.sockets[idx].1 {
            Role::Front => match self.upstream_for(from) {
                Some(up) => (up, self.server, Dir::ToServer),
                None => return,
            },
            Role::Upstream(client) => {
                if from.ip() != self.server.ip() {
                    return;
                }
                match self.tid_for(client, from.port()) {
                    Some(tid) => (tid, client, Dir::ToClient),
                    None => return,
                }
            }
            Role::Tid(client, port) => {
                if from != client {
                    return;
                }
                (
                    self.upstream[&client],
                    SocketAddr::new(self.server.ip(), port),
                    Dir::ToServer,
                )
            }
        };
        self.impair(dir, via, dest, data);
    }

    fn upstream_for(&mut self, client: SocketAddr) -> Option<usize> {
        if let Some(&i) = self.upstream.get(&client) {
            return Some(i);
        }
        let i = self.open(Role::Upstream(client))?;
        self.upstream.insert(client, i);
        Some(i)
    }

    fn tid_for(&mut self, client: SocketAddr, port: u16) -> Option<usize> {
        if let Some(&i) = self.tids.get(&(client, port)) {
            return Some(i);
        }
        let i = self.open(Role::Tid(client, port))?;
        self.tids.insert((client, port), i);
        Some(i)
    }

    fn open(&mut self, role: Role) -> Option<usize> {
        let socket = bind_loopback(self.server.is_ipv4()).ok()?;
        self.sockets.push((socket, role));
        Some(self.sockets.len() - 1)
    }

    /// Applies the direction's impairment and queues the datagram (and any duplicate).
    fn impair(&mut self, dir: Dir, socket: usize, dest: SocketAddr, data: &[u8]) {
        let now = Instant::now();
        let lane = &mut self.lanes[dir as usize];
        // Always draw four numbers so one knob never shifts the others' decisions.
        let [loss, dup, reorder, jitter] = [(); 4].map(|_| lane.rng.unit());
        let imp = lane.imp;
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let stats = dir_stats(&mut stats, dir);
        stats.seen += 1;
        if loss < imp.loss {
            stats.dropped += 1;
            return;
        }
        let due = now + imp.delay + imp.jitter.mul_f64(jitter);
        let mut next_seq = || {
            self.seq += 1;
            self.seq
        };
        let data = data.to_vec();
        if dup < imp.duplicate {
            stats.duplicated += 1;
            let copy = Pending {
                due,
                seq: next_seq(),
                dir,
                socket,
                dest,
                data: data.clone(),
            };
            self.queue.push(copy);
        }
        let pending = Pending {
            due,
            seq: next_seq(),
            dir,
            socket,
            dest,
            data,
        };
        if reorder < imp.reorder && lane.held.is_none() {
            stats.reordered += 1;
            lane.held = Some((now + imp.delay + imp.jitter + REORDER_HOLD, pending));
        } else {
            let after = pending.due;
            self.queue.push(pending);
            if let Some((_, mut held)) = lane.held.take() {
                held.due = held.due.max(after);
                held.seq = next_seq();
                self.queue.push(held);
            }
        }
    }

    /// Releases timed-out held datagrams and sends everything that is due, in order.
    fn flush(&mut self, now: Instant) {
        for lane in &mut self.lanes {
            if lane.held.as_ref().is_some_and(|h| h.0 <= now) {
                let (_, mut held) = lane.held.take().expect("checked above");
                held.due = now;
                self.queue.push(held);
            }
        }
        if self.queue.is_empty() {
            return;
        }
        self.queue.sort_by_key(|p| (p.due, p.seq));
        let ready = self.queue.partition_point(|p| p.due <= now);
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        for p in self.queue.drain(..ready) {
            let stats = dir_stats(&mut stats, p.dir);
            match self.sockets[p.socket].0.send_to(&p.data, p.dest) {
                Ok(n) => {
                    stats.forwarded += 1;
                    stats.bytes += n as u64;
                }
                Err(_) => stats.send_errors += 1,
            }
        }
    }
}

fn dir_stats(stats: &mut RelayStats, dir: Dir) -> &mut DirectionStats {
    match dir {
        Dir::ToServer => &mut stats.to_server,
        Dir::ToClient => &mut stats.to_client,
    }
}

fn bind_loopback(v4: bool) -> io::Result<UdpSocket> {
    let ip: IpAddr = if v4 {
        Ipv4Addr::LOCALHOST.into()
    } else {
        Ipv6Addr::LOCALHOST.into()
    };
    let socket = UdpSocket::bind((ip, 0))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}
