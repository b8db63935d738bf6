//! Helper for `benches/loopback.sh` (the end-to-end race). One binary, five jobs:
//!
//! - `lbtool port`: prints a free UDP port on 127.0.0.1;
//! - `lbtool relay SERVER_PORT LOSS SEED LIFETIME_S`: the seeded lossy relay of
//!   `tests/support/relay.rs` (same loss each way) in front of 127.0.0.1:SERVER_PORT; prints its
//!   own port on the first line, then runs until killed or LIFETIME_S;
//! - `lbtool timeit [--until-file PATH] [--log FILE] -- CMD...`: runs CMD, prints the seconds until it exits
//!   (or, with `--until-file`, until PATH appears: our client renames its download into place
//!   when it is complete and then dallies 1 s for a repeated final DATA, which is not transfer
//!   time); exits with CMD's status;
//! - `lbtool swarm PORT NAME SOURCE N BLKSIZE WINDOWSIZE LIMIT_S [SPREAD_MS [MIN_RTO_MS]]`: N
//!   `Session::client_get` in one mio loop, one UDP socket each, started evenly over SPREAD_MS
//!   (default 0: all at once), each retransmitting no sooner than MIN_RTO_MS (default the
//!   core's 5 ms floor), downloading NAME; every block is compared with SOURCE at its
//!   offset (WINDOWSIZE 0 asks no windowsize); prints `seconds transfers_per_s failures
//!   peak_open`, peak_open being the most sessions at once between their first DATA and
//!   their end;
//! - `lbtool floor PORT ROOT`: the cheapest lock-step server there can be, the yardstick of
//!   `benches/loopback/syscalls.sh` (see `floor.rs`).

use std::io::Write as _;
use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant as StdInstant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use tftp_proto::{ClientRequest, Config, Event, Instant, Mode, RequestOptions, Session};

#[path = "../../tests/support/relay.rs"]
mod relay;

mod floor;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("port") => {
            let s = StdUdp::bind("127.0.0.1:0").expect("bind");
            println!("{}", s.local_addr().expect("addr").port());
            ExitCode::SUCCESS
        }
        Some("relay") => run_relay(&args[1..]),
        Some("timeit") => timeit(&args[1..]),
        Some("swarm") => swarm(&args[1..]),
        Some("floor") => floor::run(&args[1..]),
        _ => {
            eprintln!("usage: lbtool port | relay .. | timeit .. | swarm .. | floor ..");
            ExitCode::from(2)
        }
    }
}

fn run_relay(a: &[String]) -> ExitCode {
    let port: u16 = a[0].parse().expect("server port");
    let loss: f64 = a[1].parse().expect("loss");
    let seed: u64 = a[2].parse().expect("seed");
    let life: u64 = a[3].parse().expect("lifetime");
    let imp = relay::Impairment {
        loss,
        ..relay::Impairment::none()
    };
    let config = relay::RelayConfig {
        seed,
        to_server: imp,
        to_client: imp,
        max_lifetime: Duration::from_secs(life),
    };
    let server: SocketAddr = ([127, 0, 0, 1], port).into();
    let r = relay::Relay::start(server, config).expect("relay");
    println!("{}", r.addr().port());
    std::io::stdout().flush().ok();
    while r.is_running() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = r.stats();
    eprintln!(
        "relay: to_server seen {} dropped {}, to_client seen {} dropped {}",
        s.to_server.seen, s.to_server.dropped, s.to_client.seen, s.to_client.dropped
    );
    ExitCode::SUCCESS
}

fn timeit(a: &[String]) -> ExitCode {
    let mut i = 0;
    let mut until = None;
    let mut log = None;
    while i < a.len() && a[i] != "--" {
        if a[i] == "--until-file" {
            until = Some(std::path::PathBuf::from(&a[i + 1]));
            i += 1;
        } else if a[i] == "--log" {
            log = Some(std::fs::File::create(&a[i + 1]).expect("log file"));
            i += 1;
        }
        i += 1;
    }
    let cmd = &a[i + 1..];
    let start = StdInstant::now();
    let mut command = Command::new(&cmd[0]);
    command.args(&cmd[1..]).stdin(std::process::Stdio::null());
    if let Some(f) = log {
        command.stdout(f.try_clone().expect("log")).stderr(f);
    }
    let mut child = command.spawn().expect("spawn");
    let mut done_at = None;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if let (None, Some(p)) = (done_at, &until) {
            if p.exists() {
                done_at = Some(start.elapsed());
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    let end = done_at.unwrap_or_else(|| start.elapsed());
    println!("{:.6}", end.as_secs_f64());
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(c.clamp(1, 255) as u8),
        None => ExitCode::from(137),
    }
}

struct Slot {
    session: Session,
    socket: UdpSocket,
    /// Every byte written so far equals the source at its offset.
    exact: bool,
    /// The end of the furthest write.
    received: usize,
    outcome: Option<bool>,
}

fn swarm(a: &[String]) -> ExitCode {
    let port: u16 = a[0].parse().expect("port");
    let name = a[1].as_bytes().to_vec();
    let source = std::fs::read(&a[2]).expect("source file");
    let n: usize = a[3].parse().expect("n");
    let blksize: u16 = a[4].parse().expect("blksize");
    let windowsize: u16 = a[5].parse().expect("windowsize");
    let limit = Duration::from_secs(a[6].parse().expect("limit"));
    // Optional: the requests spread evenly over this many milliseconds (a boot storm).
    let spread = Duration::from_millis(a.get(7).map_or(0, |v| v.parse().expect("spread ms")));
    let server: SocketAddr = ([127, 0, 0, 1], port).into();

    let mut poll = Poll::new().expect("poll");
    let epoch = StdInstant::now();
    let now = || Instant::from_micros(epoch.elapsed().as_micros() as u64);
    let mut config = Config::default();
    config.dally = Duration::ZERO;
    // Optional: the clients' retransmission floor, also their first interval (firmware waits
    // at least this long: iPXE 250 ms, U-Boot 5 s); default the core's own.
    if let Some(ms) = a.get(8) {
        let floor = Duration::from_millis(ms.parse().expect("min rto ms"));
        config.min_rto = floor;
        config.initial_rto = floor;
        config.max_rto = config.max_rto.max(floor);
    }
    let request = ClientRequest {
        filename: &name,
        mode: Mode::Octet,
        options: RequestOptions {
            blksize: Some(blksize),
            // 0: not asked (lock-step against any server, whether it knows windowsize or not)
            windowsize: (windowsize > 0).then_some(windowsize),
            ..Default::default()
        },
        max_file_size: None,
    };
    let mut rx = vec![0u8; 65536];
    let mut tx = vec![0u8; 65536];
    let mut slots: Vec<Slot> = Vec::with_capacity(n);
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let mut socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        poll.registry()
            .register(&mut socket, Token(i), Interest::READABLE)
            .expect("register");
        sockets.push(socket);
    }
    let mut sockets = sockets.into_iter();
    let started = StdInstant::now();
    let mut events = Events::with_capacity(1024);
    let mut open = n;
    let mut peak_open = 0;
    let mut finished_at = started.elapsed();
    while open > 0 && started.elapsed() < limit {
        // Start the sessions that are due (all at once without a spread).
        let due = if spread.is_zero() {
            n
        } else {
            (n as f64 * started.elapsed().as_secs_f64() / spread.as_secs_f64()).ceil() as usize
        };
        while slots.len() < due.min(n) {
            let session = Session::client_get(now(), server, &request, &config).expect("session");
            slots.push(Slot {
                session,
                socket: sockets.next().expect("a socket per session"),
                exact: true,
                received: 0,
                outcome: None,
            });
            let last = slots.len() - 1;
            drive(&mut slots[last], now(), None, &mut tx, &source);
        }
        let t = now();
        let next = slots
            .iter()
            .filter(|s| !s.session.is_closed())
            .filter_map(|s| s.session.poll_timeout())
            .min();
        let wait = next
            .map(|d| d.saturating_duration_since(t))
            .unwrap_or(Duration::from_millis(100))
            .min(if slots.len() < n {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(100)
            });
        poll.poll(&mut events, Some(wait)).expect("poll");
        for ev in events.iter() {
            let Some(slot) = slots.get_mut(ev.token().0) else {
                continue;
            };
            loop {
                match slot.socket.recv_from(&mut rx) {
                    Ok((len, from)) => {
                        drive(slot, now(), Some((from, &rx[..len])), &mut tx, &source)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
        }
        let t = now();
        for slot in slots.iter_mut() {
            if !slot.session.is_closed() && slot.session.poll_timeout().is_some_and(|d| d <= t) {
                slot.session.handle_timeout(t);
                drive(slot, t, None, &mut tx, &source);
            }
        }
        let before = open;
        let running = slots.iter().filter(|s| s.outcome.is_none()).count();
        // Sessions that got their first DATA and have not finished: open on the server too.
        let serving = slots
            .iter()
            .filter(|s| s.outcome.is_none() && s.received > 0)
            .count();
        peak_open = peak_open.max(serving);
        open = running + (n - slots.len());
        if open < before {
            finished_at = started.elapsed();
        }
    }
    let secs = finished_at.as_secs_f64();
    let failures = slots
        .iter()
        .filter(|s| s.outcome != Some(true) || !s.exact || s.received != source.len())
        .count()
        + (n - slots.len());
    println!(
        "{secs:.6} {:.1} {failures} {peak_open}",
        (n - failures) as f64 / secs
    );
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One turn of the driver loop (as `examples/driver/src/transfer.rs`), writing into memory.
/// Writes are checked against `source` at their offsets instead of kept (so 10,000 sessions
/// need no 10,000 copies).
fn drive(
    slot: &mut Slot,
    now: Instant,
    input: Option<(SocketAddr, &[u8])>,
    tx: &mut [u8],
    source: &[u8],
) {
    if let Some((from, bytes)) = input {
        if let Some(w) = slot.session.handle_datagram(now, from, bytes) {
            let start = w.offset as usize;
            let end = start + w.data.len();
            slot.exact &= source.get(start..end) == Some(w.data);
            slot.received = slot.received.max(end);
        }
    }
    while let Some(event) = slot.session.poll_event() {
        match event {
            Event::Finished(_) => slot.outcome = Some(true),
            Event::Failed(_) => slot.outcome = Some(false),
            Event::Read { .. } => slot.session.read_done(0),
        }
    }
    while let Some(t) = slot.session.poll_transmit(now, tx) {
        let _ = slot.socket.send_to(&tx[..t.len], t.destination);
    }
}
