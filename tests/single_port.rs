//! `tftpd --single-port` (as dnsmasq's `--tftp-single-port`): every transfer is answered from
//! the listening port, sessions are told apart by the client's address and port.
//!
//! - On the wire (tshark on `lo`, the server alone on its own address 127.0.0.9): while tftp-hpa, atftp (windowed),
//!   curl and busybox get and put at once, every datagram the server sends leaves from the
//!   listening port, and every transfer is byte-exact; the same run without the flag shows
//!   other ports (so the check can fail).
//! - Two clients on one address with different ports (two clients behind one NAT address)
//!   interleave lock-step downloads of different files and each gets its own bytes.
//! - Strangers: DATA or ACK from a port with no session gets ERROR 5 and the running
//!   transfers go on untouched (R-XFR-4); an ERROR gets no answer (R-XFR-9).
//! - Under loss, duplication and reordering (the seeded relay), tftp-hpa and atftp (windowed)
//!   get and put byte-exact through the one port (R-XFR-5, R-XFR-6, R-XFR-7).

#[path = "support/procs.rs"]
mod procs;
#[path = "support/relay.rs"]
mod relay;
#[path = "support/tshark.rs"]
mod tshark;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use procs::{
    as_error, content, output_text, require_peer, run_bounded, start_our_example, ChildGuard,
    TempDir,
};
use tshark::Tshark;

const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// The servers' own loopback addresses, one per test that captures, so that a capture of
/// `host IP` holds that test's server traffic only (the tests run in parallel).
const SINGLE_IP: &str = "127.0.0.9";
const MULTI_IP: &str = "127.0.0.10";

fn start(ip: &str, root: &Path, extra: &[&str]) -> (ChildGuard, SocketAddr) {
    let mut args = vec![OsStr::new("--root"), root.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    start_our_example("tftpd", ip, &args)
}

// ---------------------------------------------------------------------------------------
// The wire.

/// `tshark -i lo -f "udp and host IP"`: the traffic of the server on IP.
struct Capture {
    tshark: Tshark,
    ip: &'static str,
}

impl Capture {
    fn start(dir: &Path, ip: &'static str) -> Option<Capture> {
        let tshark = Tshark::start(dir, &format!("udp and host {ip}"))?;
        Some(Capture { tshark, ip })
    }

    /// Stops the capture and returns (source ip, source port, destination port, TFTP opcode)
    /// of every UDP frame the server sent, with `port` decoded as TFTP.
    fn stop(mut self, port: u16) -> Vec<(String, u16, u16, String)> {
        self.tshark.stop();
        let text = self.tshark.fields(
            port,
            &["ip.src", "udp.srcport", "udp.dstport", "tftp.opcode"],
        );
        text.lines()
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                let num = |i: usize| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
                let text = |i: usize| f.get(i).unwrap_or(&"").to_string();
                (text(0), num(1), num(2), text(3))
            })
            .filter(|frame| frame.0 == self.ip)
            .collect()
    }
}

/// Files served, and one uploaded by each uploading client.
struct Fixture {
    top: TempDir,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let top = TempDir::new(tag);
        fs::create_dir_all(top.path().join("root")).expect("root");
        for (name, len, seed) in [
            ("hpa.bin", 300_000, 1),
            ("atftp.bin", 2_000_000, 2),
            ("curl.bin", 1_000_000, 3),
            ("busybox.bin", 200_000, 4),
        ] {
            fs::write(top.path().join("root").join(name), content(len, seed)).expect("file");
        }
        for (name, len, seed) in [("hpa-up.bin", 150_000, 5), ("curl-up.bin", 400_000, 6)] {
            fs::write(top.path().join(name), content(len, seed)).expect("local file");
        }
        Fixture { top }
    }

    fn root(&self) -> PathBuf {
        self.top.path().join("root")
    }

    fn local(&self, name: &str) -> PathBuf {
        self.top.path().join(name)
    }
}

/// Six real transfers at once against the server at `addr`; each result says which and how.
fn run_clients(f: &Fixture, addr: SocketAddr) -> Vec<(String, Output)> {
    let (tftp, atftp, curl, busybox) = (
        require_peer("tftp").expect("tftp-hpa"),
        require_peer("atftp").expect("atftp"),
        require_peer("curl").expect("curl"),
        require_peer("busybox").expect("busybox"),
    );
    let ip = addr.ip().to_string();
    let port = addr.port().to_string();
    let url = |name: &str| format!("tftp://{ip}:{port}/{name}");
    let mut jobs: Vec<(String, Command)> = Vec::new();
    let mut c = Command::new(&tftp);
    c.args([&ip, &port, "-m", "binary", "-c", "get", "hpa.bin"])
        .arg(f.local("hpa.bin"));
    jobs.push(("tftp-hpa get".into(), c));
    let mut c = Command::new(&tftp);
    c.args([&ip, &port, "-m", "binary", "-c", "put"])
        .arg(f.local("hpa-up.bin"))
        .arg("hpa-up.bin");
    jobs.push(("tftp-hpa put".into(), c));
    let mut c = Command::new(&atftp);
    c.args(["--option", "blksize 1468", "--option", "windowsize 8"])
        .args(["-g", "-r", "atftp.bin", "-l"])
        .arg(f.local("atftp.bin"))
        .args([&ip, &port]);
    jobs.push(("atftp get windowsize 8".into(), c));
    let mut c = Command::new(&curl);
    c.args(["-sS", "-m", "60", "--tftp-blksize", "1468", "-o"])
        .arg(f.local("curl.bin"))
        .arg(url("curl.bin"));
    jobs.push(("curl get".into(), c));
    let mut c = Command::new(&curl);
    c.args(["-sS", "-m", "60", "-T"])
        .arg(f.local("curl-up.bin"))
        .arg(url("curl-up.bin"));
    jobs.push(("curl put".into(), c));
    let mut c = Command::new(&busybox);
    c.args(["tftp", "-g", "-b", "1024", "-r", "busybox.bin", "-l"])
        .arg(f.local("busybox.bin"))
        .args([&ip, &port]);
    jobs.push(("busybox get".into(), c));
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|(what, mut cmd)| thread::spawn(move || (what, run_bounded(&mut cmd, RUN_TIMEOUT))))
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect()
}

/// Every transfer of [`run_clients`] succeeded byte-exact.
fn assert_all_exact(f: &Fixture, results: &[(String, Output)], log: &str) {
    for (what, out) in results {
        let text = output_text(out);
        assert!(
            out.status.success() && !text.contains("Error") && !text.contains("timed out"),
            "{what}: {text}\nserver: {log}"
        );
    }
    for name in ["hpa.bin", "atftp.bin", "curl.bin", "busybox.bin"] {
        let got = fs::read(f.local(name)).unwrap_or_default();
        let want = fs::read(f.root().join(name)).expect("served file");
        assert!(
            got == want,
            "{name} differs ({} of {} bytes)",
            got.len(),
            want.len()
        );
    }
    for name in ["hpa-up.bin", "curl-up.bin"] {
        let got = fs::read(f.root().join(name)).unwrap_or_default();
        let want = fs::read(f.local(name)).expect("uploaded file");
        assert!(got == want, "upload {name} differs");
    }
}

/// The ports the server sent from, and the client ports it sent to.
fn server_ports(frames: &[(String, u16, u16, String)]) -> (BTreeSet<u16>, BTreeSet<u16>) {
    let sources = frames.iter().map(|f| f.1).collect();
    let clients = frames.iter().map(|f| f.2).collect();
    (sources, clients)
}

// R-XFR-3 (the single-port exception), R-INT-1, R-INT-2: concurrent real clients, all answered
// from the listening port, all byte-exact.
#[test]
fn r_int_1_concurrent_real_clients_are_all_answered_from_the_listening_port() {
    let f = Fixture::new("single-port-wire");
    let Some(capture) = Capture::start(f.top.path(), SINGLE_IP) else {
        return;
    };
    let (server, addr) = start(SINGLE_IP, &f.root(), &["--single-port", "--allow-create"]);
    let results = run_clients(&f, addr);
    let frames = capture.stop(addr.port());
    assert_all_exact(&f, &results, &server.log_text());
    let (sources, clients) = server_ports(&frames);
    assert_eq!(
        sources,
        BTreeSet::from([addr.port()]),
        "the server sent from other ports"
    );
    // Six clients and the start-up probe, each on a port of its own.
    assert!(clients.len() >= 7, "client ports seen: {clients:?}");
    let data = frames.iter().filter(|f| f.3 == "3").count();
    assert!(data > 1000, "only {data} DATA frames decoded as TFTP");
}

// The control for the test above: without --single-port the same run answers from other
// ports (one per transfer, R-XFR-3), so the capture check does see them.
#[test]
fn r_xfr_3_without_the_flag_transfers_use_ports_of_their_own() {
    let f = Fixture::new("multi-port-wire");
    let Some(capture) = Capture::start(f.top.path(), MULTI_IP) else {
        return;
    };
    let (server, addr) = start(MULTI_IP, &f.root(), &["--allow-create"]);
    let results = run_clients(&f, addr);
    let frames = capture.stop(addr.port());
    assert_all_exact(&f, &results, &server.log_text());
    let (sources, _) = server_ports(&frames);
    assert!(sources.len() >= 7, "server source ports: {sources:?}");
}

// ---------------------------------------------------------------------------------------
// Sessions keyed by address and port, strangers.

fn rrq(name: &str) -> Vec<u8> {
    let mut p = b"\x00\x01".to_vec();
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(b"\x00octet\x00");
    p
}

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = socket.recv_from(&mut buf).expect("an answer in time");
    (buf[..n].to_vec(), from)
}

/// The next datagram that is not a retransmission of DATA `block - 1` (the server's timer can
/// repeat it while the test is busy elsewhere).
fn recv_block(socket: &UdpSocket, block: u16) -> (Vec<u8>, SocketAddr) {
    let previous = block.wrapping_sub(1).to_be_bytes();
    loop {
        let (data, from) = recv(socket);
        if data.len() < 4 || data[..2] != [0, 3] || data[2..4] != previous {
            return (data, from);
        }
    }
}

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

// R-XFR-4, R-XFR-13: two clients on one address (as behind one NAT) with different ports
// interleave lock-step reads of different files through the one server port; each gets its
// own file's blocks, and a stranger's ACK and DATA from a third port get ERROR 5 without
// disturbing them; an ERROR from a stranger gets no answer.
#[test]
fn r_xfr_4_two_clients_on_one_address_stay_separate() {
    let top = TempDir::new("single-port-nat");
    let a = content(512 * 6 + 100, 11);
    let b = content(512 * 6 + 200, 12);
    fs::write(top.path().join("a.bin"), &a).expect("a");
    fs::write(top.path().join("b.bin"), &b).expect("b");
    let (_server, addr) = start("127.0.0.1", top.path(), &["--single-port"]);
    let (one, two, stranger) = (client(), client(), client());
    one.send_to(&rrq("a.bin"), addr).expect("RRQ a");
    two.send_to(&rrq("b.bin"), addr).expect("RRQ b");
    let mut got = [Vec::new(), Vec::new()];
    let mut done = [false, false];
    let mut stranger_answers = 0;
    for round in 0..20u16 {
        for (i, socket) in [&one, &two].into_iter().enumerate() {
            if done[i] {
                continue;
            }
            let (data, from) = recv_block(socket, round + 1);
            assert_eq!(from, addr, "answered from another port");
            let want = (round + 1).to_be_bytes();
            assert_eq!(&data[..4], [0, 3, want[0], want[1]], "client {i}: {data:?}");
            got[i].extend_from_slice(&data[4..]);
            done[i] = data.len() < 516;
            socket
                .send_to(&[0, 4, data[2], data[3]], addr)
                .expect("ACK");
        }
        if round == 2 {
            stranger.send_to(&[0, 4, 0, 3], addr).expect("stray ACK");
            stranger
                .send_to(&[0, 3, 0, 4, 1, 2, 3], addr)
                .expect("stray DATA");
            for _ in 0..2 {
                let (answer, from) = recv(&stranger);
                assert_eq!(from, addr);
                assert_eq!(as_error(&answer).map(|e| e.0), Some(5), "{answer:?}");
                stranger_answers += 1;
            }
            stranger
                .send_to(b"\x00\x05\x00\x00oops\x00", addr)
                .expect("stray ERROR");
        }
        if done == [true, true] {
            break;
        }
    }
    assert_eq!(done, [true, true]);
    assert_eq!(got[0], a, "client one got other bytes");
    assert_eq!(got[1], b, "client two got other bytes");
    assert_eq!(stranger_answers, 2);
    stranger
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    assert!(
        stranger.recv_from(&mut buf).is_err(),
        "an ERROR from a stranger was answered"
    );
}

// R-SRV-6, R-XFR-5: in single-port mode a repeated request (its answer lost) is answered again
// from the same session, a late duplicate of a running transfer's request is dropped, and a
// different request from the same port replaces the session.
#[test]
fn r_srv_6_repeats_duplicates_and_new_requests_from_one_port() {
    let top = TempDir::new("single-port-repeat");
    let a = content(512 * 3, 21);
    fs::write(top.path().join("a.bin"), &a).expect("a");
    fs::write(top.path().join("b.bin"), b"short b").expect("b");
    let (_server, addr) = start("127.0.0.1", top.path(), &["--single-port"]);
    let c = client();
    c.send_to(&rrq("a.bin"), addr).expect("RRQ");
    let (first, _) = recv(&c);
    c.send_to(&rrq("a.bin"), addr).expect("repeat");
    let (again, _) = recv(&c);
    assert_eq!(
        (&first[..4], &again[..4]),
        (&[0, 3, 0, 1][..], &[0, 3, 0, 1][..])
    );
    c.send_to(&[0, 4, 0, 1], addr).expect("ACK 1");
    let (second, _) = recv_block(&c, 2);
    assert_eq!(&second[..4], [0, 3, 0, 2]);
    // A late copy of the request is not a new transfer: no DATA 1 comes for it.
    c.send_to(&rrq("a.bin"), addr).expect("late duplicate");
    c.send_to(&[0, 4, 0, 2], addr).expect("ACK 2");
    let (third, _) = recv_block(&c, 3);
    assert_eq!(
        &third[..4],
        [0, 3, 0, 3],
        "the duplicate restarted the transfer"
    );
    // Another request from the same port: the old session goes, the new one answers.
    c.send_to(&rrq("b.bin"), addr).expect("RRQ b");
    let (b, _) = recv_block(&c, 4);
    assert_eq!(b, b"\x00\x03\x00\x01short b");
}

// R-XFR-5, R-XFR-6, R-XFR-7, R-INT-1: single-port transfers recover from loss, duplicates and
// reordering with real clients: tftp-hpa (lock-step get and put) and atftp (windowsize 8 get)
// through the seeded relay, 5% loss, 2% duplication and 2% reordering each way.
#[test]
fn r_xfr_5_single_port_transfers_survive_an_impaired_path() {
    let (Some(tftp), Some(atftp)) = (require_peer("tftp"), require_peer("atftp")) else {
        return;
    };
    let f = Fixture::new("single-port-lossy");
    let (server, addr) = start("127.0.0.1", &f.root(), &["--single-port", "--allow-create"]);
    let impairment = relay::Impairment {
        loss: 0.05,
        duplicate: 0.02,
        reorder: 0.02,
        ..relay::Impairment::none()
    };
    // tftp-hpa's client waits its own 5 s for each lost ACK of an upload: the upload is
    // small (16 blocks), so the test stays short.
    let small = f.local("small-up.bin");
    fs::write(&small, content(8000, 7)).expect("small upload");
    for seed in 1..=2u64 {
        let config = relay::RelayConfig {
            seed,
            to_server: impairment,
            to_client: impairment,
            ..relay::RelayConfig::default()
        };
        let relay = relay::Relay::start(addr, config).expect("relay");
        let port = relay.addr().port().to_string();
        let local = f.local(&format!("hpa-{seed}.bin"));
        let out = run_bounded(
            Command::new(&tftp)
                .args(["127.0.0.1", &port, "-m", "binary", "-c", "get", "hpa.bin"])
                .arg(&local),
            RUN_TIMEOUT,
        );
        assert!(out.status.success(), "tftp-hpa get: {}", output_text(&out));
        assert!(
            fs::read(&local).unwrap_or_default() == fs::read(f.root().join("hpa.bin")).unwrap()
        );

        let remote = format!("up-{seed}.bin");
        let out = run_bounded(
            Command::new(&tftp)
                .args(["127.0.0.1", &port, "-m", "binary", "-c", "put"])
                .arg(&small)
                .arg(&remote),
            RUN_TIMEOUT,
        );
        assert!(out.status.success(), "tftp-hpa put: {}", output_text(&out));
        assert!(
            fs::read(f.root().join(&remote)).unwrap_or_default() == fs::read(&small).unwrap(),
            "upload {remote} differs\n{}",
            server.log_text()
        );

        let local = f.local(&format!("atftp-{seed}.bin"));
        let out = run_bounded(
            Command::new(&atftp)
                .args(["--option", "blksize 1468", "--option", "windowsize 8"])
                .args(["-g", "-r", "busybox.bin", "-l"])
                .arg(&local)
                .args(["127.0.0.1", &port]),
            RUN_TIMEOUT,
        );
        assert!(out.status.success(), "atftp get: {}", output_text(&out));
        assert!(
            fs::read(&local).unwrap_or_default() == fs::read(f.root().join("busybox.bin")).unwrap()
        );
    }
}
