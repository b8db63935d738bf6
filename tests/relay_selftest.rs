//! Self-test of the lossy test relay in `tests/support/relay.rs`, using plain UDP sockets.

#[path = "support/relay.rs"]
mod relay;

use relay::{Impairment, Relay, RelayConfig};
use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(2);

fn socket(read_timeout: Duration) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(read_timeout)).unwrap();
    s
}

fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < TIMEOUT {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
    done()
}

fn config(seed: u64, to_server: Impairment, to_client: Impairment) -> RelayConfig {
    RelayConfig {
        seed,
        to_server,
        to_client,
        ..RelayConfig::default()
    }
}

/// A server on one socket that records every datagram and optionally echoes it.
struct Sink {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Vec<u8>>>,
}

impl Sink {
    fn spawn(echo: bool) -> Sink {
        let sock = socket(Duration::from_millis(20));
        let addr = sock.local_addr().unwrap();
        let received = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, flag) = (Arc::clone(&received), Arc::clone(&stop));
        let thread = thread::spawn(move || {
            let (mut got, mut buf) = (Vec::new(), [0u8; 2048]);
            loop {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        if echo {
                            sock.send_to(&buf[..n], from).unwrap();
                        }
                        got.push(buf[..n].to_vec());
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    // Only stop once the socket is drained.
                    Err(_) if flag.load(Ordering::SeqCst) => return got,
                    Err(_) => {}
                }
            }
        });
        Sink {
            addr,
            received,
            stop,
            thread,
        }
    }

    fn finish(self) -> Vec<Vec<u8>> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

fn numbered(i: u32) -> [u8; 8] {
    let mut d = [0xAB; 8];
    d[..4].copy_from_slice(&i.to_be_bytes());
    d
}

fn number(d: &[u8]) -> u32 {
    u32::from_be_bytes(d[..4].try_into().unwrap())
}

/// Sends `count` numbered datagrams to the relay in batches, pacing on the relay's `seen`
/// counter so no socket buffer overflows; returns whatever replies the client got meanwhile.
fn send_numbered(relay: &Relay, client: &UdpSocket, count: u32) -> Vec<Vec<u8>> {
    client.set_nonblocking(true).unwrap();
    let (mut replies, mut buf) = (Vec::new(), [0u8; 2048]);
    for i in 0..count {
        client.send_to(&numbered(i), relay.addr()).unwrap();
        if i % 50 == 49 || i + 1 == count {
            assert!(wait_until(|| relay.stats().to_server.seen > u64::from(i)));
            while let Ok((n, _)) = client.recv_from(&mut buf) {
                replies.push(buf[..n].to_vec());
            }
        }
    }
    client.set_nonblocking(false).unwrap();
    replies
}

#[test]
fn clean_relay_keeps_tftp_transfer_ids_apart() {
    const N: usize = 20;
    let well_known = socket(TIMEOUT);
    let server_addr = well_known.local_addr().unwrap();
    // Answers every request from a fresh socket, then expects the client's "ack" there.
    let server = thread::spawn(move || {
        let (mut seen, mut open) = (Vec::new(), Vec::new());
        let mut buf = [0u8; 512];
        for _ in 0..N {
            let (n, client_tid) = well_known.recv_from(&mut buf).unwrap();
            let tid = socket(TIMEOUT);
            tid.send_to(&buf[..n], client_tid).unwrap();
            let (m, from) = tid.recv_from(&mut buf).unwrap();
            assert_eq!(from, client_tid, "ack must come from the same client TID");
            assert!(buf[..m].starts_with(b"ack"));
            seen.push((client_tid, tid.local_addr().unwrap().port()));
            open.push(tid); // keep it bound so the kernel cannot reuse its port
        }
        seen
    });

    let relay = Relay::start(server_addr, RelayConfig::default()).unwrap();
    let client = socket(TIMEOUT);
    let mut reply_ports = HashSet::new();
    let mut bytes = (0, 0);
    for i in 0..N {
        let req = format!("request {i}");
        client.send_to(req.as_bytes(), relay.addr()).unwrap();
        let mut buf = [0u8; 512];
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], req.as_bytes());
        assert_eq!(from.ip(), relay.addr().ip());
        assert_ne!(from, relay.addr(), "reply must come from a relay TID port");
        assert_ne!(
            from, server_addr,
            "the client must not see the server directly"
        );
        assert!(
            reply_ports.insert(from.port()),
            "each server TID gets its own relay port"
        );
        let ack = format!("ack {i}");
        client.send_to(ack.as_bytes(), from).unwrap();
        bytes = (bytes.0 + req.len() + ack.len(), bytes.1 + req.len());
    }
    let seen = server.join().unwrap();
    let client_tids: HashSet<_> = seen.iter().map(|s| s.0).collect();
    assert_eq!(client_tids.len(), 1, "server sees one stable client TID");
    assert_ne!(seen[0].0, client.local_addr().unwrap());
    let server_tids: HashSet<_> = seen.iter().map(|s| s.1).collect();
    assert_eq!(server_tids.len(), N);

    let n = N as u64;
    assert!(wait_until(|| relay.stats().to_server.forwarded == 2 * n));
    let stats = relay.stats();
    assert_eq!((stats.to_server.seen, stats.to_server.dropped), (2 * n, 0));
    assert_eq!((stats.to_client.seen, stats.to_client.forwarded), (n, n));
    assert_eq!(
        (stats.to_server.bytes, stats.to_client.bytes),
        (bytes.0 as u64, bytes.1 as u64)
    );
    assert_eq!(stats.to_server.duplicated + stats.to_client.reordered, 0);
}

#[test]
fn loss_rate_matches_config_and_stats() {
    const N: u64 = 2000;
    let lossy = Impairment {
        loss: 0.3,
        ..Impairment::none()
    };
    let sink = Sink::spawn(true);
    let relay = Relay::start(sink.addr, config(42, lossy, lossy)).unwrap();
    let client = socket(Duration::from_millis(50));
    let mut replies = send_numbered(&relay, &client, N as u32);
    // Wait until every datagram has been decided on and sent, in both directions.
    assert!(wait_until(|| {
        let s = relay.stats();
        let echoed = sink.received.load(Ordering::SeqCst);
        s.to_server.forwarded + s.to_server.dropped == N
            && s.to_server.forwarded == echoed
            && s.to_client.seen == echoed
            && s.to_client.forwarded + s.to_client.dropped == echoed
    }));
    let mut buf = [0u8; 64];
    while let Ok((n, _)) = client.recv_from(&mut buf) {
        replies.push(buf[..n].to_vec());
    }
    let at_server = sink.finish().len() as u64;
    let at_client = replies.len() as u64;
    let stats = relay.stats();

    let up = 1.0 - at_server as f64 / N as f64;
    let down = 1.0 - at_client as f64 / at_server as f64;
    assert!((0.25..0.35).contains(&up), "to-server drop fraction {up}");
    assert!(
        (0.25..0.35).contains(&down),
        "to-client drop fraction {down}"
    );
    assert_eq!(stats.to_server.seen, N);
    assert_eq!(stats.to_server.dropped, N - at_server);
    assert_eq!(stats.to_server.bytes, 8 * at_server);
    assert_eq!(stats.to_client.seen, at_server);
    assert_eq!(stats.to_client.dropped, at_server - at_client);
    assert_eq!(stats.to_client.forwarded, at_client);
    assert_eq!(stats.to_client.bytes, 8 * at_client);
    assert_eq!(stats.to_server.send_errors + stats.to_client.send_errors, 0);
}

#[test]
fn duplicates_are_delivered_and_counted() {
    const N: u32 = 300;
    let dup = Impairment {
        duplicate: 0.2,
        ..Impairment::none()
    };
    let sink = Sink::spawn(false);
    let relay = Relay::start(sink.addr, config(3, dup, Impairment::none())).unwrap();
    let client = socket(TIMEOUT);
    send_numbered(&relay, &client, N);
    assert!(wait_until(|| {
        let s = relay.stats().to_server;
        s.forwarded == s.seen + s.duplicated && sink.received.load(Ordering::SeqCst) == s.forwarded
    }));
    let got = sink.finish();
    let stats = relay.stats().to_server;
    let mut counts = vec![0u32; N as usize];
    for d in &got {
        counts[number(d) as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| c == 1 || c == 2),
        "each datagram arrives once or twice"
    );
    let twice = counts.iter().filter(|&&c| c == 2).count() as u64;
    assert!((30..=90).contains(&twice), "{twice} duplicates out of {N}");
    assert_eq!(twice, stats.duplicated);
    assert_eq!(stats.dropped, 0);
}

/// Which of 300 numbered datagrams reach the server through a relay with 30 % loss.
fn drop_pattern(seed: u64) -> Vec<bool> {
    let sink = Sink::spawn(false);
    let lossy = Impairment {
        loss: 0.3,
        ..Impairment::none()
    };
    let relay = Relay::start(sink.addr, config(seed, lossy, Impairment::none())).unwrap();
    let client = socket(TIMEOUT);
    send_numbered(&relay, &client, 300);
    assert!(wait_until(|| {
        let s = relay.stats().to_server;
        s.forwarded + s.dropped == 300 && sink.received.load(Ordering::SeqCst) == s.forwarded
    }));
    let mut arrived = vec![false; 300];
    for d in sink.finish() {
        arrived[number(&d) as usize] = true;
    }
    arrived
}

#[test]
fn same_seed_same_drop_pattern() {
    let first = drop_pattern(7);
    assert!(first.iter().any(|&a| !a) && first.iter().any(|&a| a));
    assert_eq!(first, drop_pattern(7));
    assert_ne!(first, drop_pattern(8));
}

#[test]
fn reorder_changes_order_but_loses_nothing() {
    let shuffle = Impairment {
        reorder: 0.3,
        ..Impairment::none()
    };
    let sink = Sink::spawn(false);
    let relay = Relay::start(sink.addr, config(11, shuffle, Impairment::none())).unwrap();
    let client = socket(TIMEOUT);
    send_numbered(&relay, &client, 200);
    assert!(wait_until(|| sink.received.load(Ordering::SeqCst) == 200));
    let order: Vec<u32> = sink.finish().iter().map(|d| number(d)).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..200).collect::<Vec<_>>());
    assert_ne!(order, sorted);
    assert!(relay.stats().to_server.reordered > 0);
}

#[test]
fn delay_and_jitter_slow_replies_down() {
    let slow = Impairment {
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(10),
        ..Impairment::none()
    };
    let sink = Sink::spawn(true);
    let relay = Relay::start(sink.addr, config(5, Impairment::none(), slow)).unwrap();
    let client = socket(TIMEOUT);
    for _ in 0..3 {
        let start = Instant::now();
        client.send_to(b"ping", relay.addr()).unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = client.recv_from(&mut buf).unwrap();
        let rtt = start.elapsed();
        assert_eq!(&buf[..n], b"ping");
        assert!(
            rtt >= Duration::from_millis(40) && rtt < Duration::from_secs(1),
            "{rtt:?}"
        );
    }
    sink.finish();
}

#[test]
fn relay_stops_on_request_and_after_max_lifetime() {
    let sink = Sink::spawn(false);
    let short = RelayConfig {
        max_lifetime: Duration::from_millis(100),
        ..RelayConfig::default()
    };
    let relay = Relay::start(sink.addr, short).unwrap();
    assert!(wait_until(|| !relay.is_running()));
    let mut relay = Relay::start(sink.addr, RelayConfig::default()).unwrap();
    assert!(relay.is_running());
    relay.stop();
    assert!(!relay.is_running());
    relay.stop();
    sink.finish();
}

#[test]
#[should_panic(expected = "loopback")]
fn non_loopback_server_is_rejected() {
    let _ = Relay::start("192.0.2.1:69".parse().unwrap(), RelayConfig::default());
}
