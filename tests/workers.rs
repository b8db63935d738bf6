//! `tftpd --workers N`: N event loops on one address (SO_REUSEPORT).
//!
//! - 40 concurrent downloads from 40 client ports are all byte-exact, and every worker thread
//!   served some (each ran on the CPU: its schedstat time grew);
//! - `--max-sessions` and `--rate-limit` hold for the whole server, not per worker (R-SRV-4);
//! - SIGTERM reaches every worker: the server exits (R-SRV-4's graceful path, per loop).

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

use procs::{as_error, content, start_our_server, TempDir};

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

fn rrq(name: &str) -> Vec<u8> {
    let mut p = b"\x00\x01".to_vec();
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(b"\x00octet\x00blksize\x001400\x00");
    p
}

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = socket.recv_from(&mut buf).expect("an answer in time");
    (buf[..n].to_vec(), from)
}

/// A lock-step download through a raw socket (OACK, then DATA; repeats of the previous block
/// are skipped).
fn download(addr: SocketAddr, name: &str) -> Vec<u8> {
    let c = client();
    c.send_to(&rrq(name), addr).expect("RRQ");
    let (oack, tid) = recv(&c);
    assert_eq!(&oack[..2], [0, 6], "{oack:?}");
    c.send_to(&[0, 4, 0, 0], tid).expect("ACK 0");
    let mut got = Vec::new();
    let mut block: u16 = 1;
    loop {
        let (d, _) = recv(&c);
        let n = u16::from_be_bytes([d[2], d[3]]);
        if n == block.wrapping_sub(1) {
            continue;
        }
        assert_eq!((&d[..2], n), (&[0u8, 3][..], block), "{:?}", &d[..4]);
        got.extend_from_slice(&d[4..]);
        c.send_to(&[0, 4, d[2], d[3]], tid).expect("ACK");
        if d.len() < 4 + 1400 {
            return got;
        }
        block = block.wrapping_add(1);
    }
}

/// CPU time (ns) of each `tftpd-worker-*` thread of `pid`.
fn worker_cpu(pid: u32) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for task in fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
        let dir = task.expect("task").path();
        let name = fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if name.starts_with("tftpd-worker") {
            let sched = fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
            let ns = sched.split_whitespace().next().and_then(|v| v.parse().ok());
            out.push((name.trim().to_owned(), ns.unwrap_or(0)));
        }
    }
    out.sort();
    out
}

// R-SRV-4, R-INT-1: every worker serves, every download is exact.
#[test]
fn r_srv_4_two_workers_share_forty_downloads() {
    let root = TempDir::new("workers-spread");
    let file = content(300_000, 1);
    fs::write(root.path().join("f.bin"), &file).expect("file");
    let (server, addr) = start_our_server(root.path(), &["--workers", "2"]);
    // The first worker may answer the start probe before the second thread is named.
    let named = procs::eventually(Duration::from_secs(10), || {
        worker_cpu(server.pid()).len() == 2
    });
    let before = worker_cpu(server.pid());
    assert!(named, "worker threads: {before:?}");
    let handles: Vec<_> = (0..40)
        .map(|_| thread::spawn(move || download(addr, "f.bin")))
        .collect();
    for h in handles {
        assert!(h.join().expect("client") == file, "a download differs");
    }
    let after = worker_cpu(server.pid());
    for ((name, b), (_, a)) in before.iter().zip(&after) {
        // 40 transfers of 215 blocks each spread over both by client port; one worker
        // serving none of them would be a 2^-39 chance, or a worker that never runs.
        assert!(a > b, "{name} did no work: {before:?} -> {after:?}");
    }
    assert!(
        server.log_text().contains("2 workers"),
        "{}",
        server.log_text()
    );
}

// R-SRV-4: --max-sessions counts the transfers of every worker: of 8 stalled reads from 8
// ports (spread over both workers), exactly 3 are served and 5 refused as busy.
#[test]
fn r_srv_4_max_sessions_holds_across_workers() {
    let root = TempDir::new("workers-limit");
    fs::write(root.path().join("f.bin"), content(10_000, 2)).expect("file");
    let (_server, addr) = start_our_server(
        root.path(),
        &["--workers", "2", "--max-sessions", "3", "--rate-limit", "0"],
    );
    let clients: Vec<UdpSocket> = (0..8).map(|_| client()).collect();
    for c in &clients {
        c.send_to(&rrq("f.bin"), addr).expect("RRQ");
        thread::sleep(Duration::from_millis(20));
    }
    let (mut served, mut busy) = (0, 0);
    for c in &clients {
        let (answer, _) = recv(c);
        match as_error(&answer) {
            Some((0, message)) if message.contains("busy") => busy += 1,
            None if answer[..2] == [0, 6] => served += 1,
            other => panic!("unexpected answer {other:?}: {answer:?}"),
        }
    }
    assert_eq!((served, busy), (3, 5));
}

// R-SRV-4: --rate-limit counts the requests from one address on every worker: 20 requests at
// once from 20 ports of 127.0.0.1 at a limit of 5 per second get at most 6 answers that are
// not "too many requests" (5, and one token refilled at most), not 5 per worker.
#[test]
fn r_srv_4_rate_limit_holds_across_workers() {
    let root = TempDir::new("workers-rate");
    let (_server, addr) = start_our_server(root.path(), &["--workers", "2", "--rate-limit", "5"]);
    // The start probe took a token; let the bucket fill again.
    thread::sleep(Duration::from_millis(1200));
    let clients: Vec<UdpSocket> = (0..20).map(|_| client()).collect();
    for c in &clients {
        c.send_to(&rrq("missing.bin"), addr).expect("RRQ");
    }
    let mut limited = 0;
    for c in &clients {
        let (answer, _) = recv(c);
        let (code, message) = as_error(&answer).expect("an ERROR");
        if message.contains("too many") {
            assert_eq!(code, 0);
            limited += 1;
        } else {
            assert_eq!(code, 1, "{message}");
        }
    }
    assert!(
        limited >= 14,
        "only {limited} of 20 limited: the limit is per worker"
    );
}

// A stop signal reaches every worker: after SIGTERM with nothing running, the process exits.
#[test]
fn sigterm_stops_every_worker() {
    let root = TempDir::new("workers-stop");
    let (mut server, _) = start_our_server(root.path(), &["--workers", "3"]);
    let status = server.signal_and_wait("TERM", Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}: {}",
        server.log_text()
    );
}
