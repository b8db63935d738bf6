//! The server's life after start (`examples/driver/src/server/lifecycle.rs`):
//!
//! - SIGTERM refuses new requests (ERROR 0) and lets a running download finish, byte-exact,
//!   then the server exits by itself;
//! - a stalled upload is stopped when the grace period (`--grace`) is over, or at once on a
//!   second SIGTERM: the peer gets ERROR 0, the file it would replace stays as it was and no
//!   temporary file is left (R-SRV-3);
//! - SIGHUP reads the remap file again without dropping a running transfer; a file that no
//!   longer parses leaves the old rules in force.

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use procs::{as_error, content, eventually, start_our_server, ChildGuard, TempDir};

/// A bound on how long any step below may take (never a measurement).
const PATIENCE: Duration = Duration::from_secs(10);

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    s
}

fn request(opcode: u8, name: &str) -> Vec<u8> {
    let mut p = vec![0, opcode];
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(b"\x00octet\x00");
    p
}

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 1024];
    let (n, from) = socket.recv_from(&mut buf).expect("an answer in time");
    (buf[..n].to_vec(), from)
}

/// The next DATA `block` from the transfer (retransmissions of the block before are skipped).
fn data(socket: &UdpSocket, block: u16) -> (Vec<u8>, SocketAddr) {
    loop {
        let (d, from) = recv(socket);
        let got = u16::from_be_bytes([d[2], d[3]]);
        assert_eq!(&d[..2], [0, 3], "not DATA: {d:?}");
        if got == block {
            return (d[4..].to_vec(), from);
        }
        assert_eq!(got, block - 1, "DATA {got} while waiting for {block}");
    }
}

/// Downloads the rest of a lock-step transfer whose DATA `block` is next.
fn finish_download(socket: &UdpSocket, tid: SocketAddr, mut block: u16, got: &mut Vec<u8>) {
    loop {
        let (payload, _) = data(socket, block);
        got.extend_from_slice(&payload);
        socket
            .send_to(&[0, 4, (block >> 8) as u8, block as u8], tid)
            .expect("ACK");
        if payload.len() < 512 {
            return;
        }
        block += 1;
    }
}

fn signal(server: &ChildGuard, name: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", name, &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -s {name}");
}

fn exits_cleanly(server: &mut ChildGuard) {
    let status = server.wait_timeout(PATIENCE);
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}: {}",
        server.log_text()
    );
}

// R-SRV-4 (refused with an ERROR, not dropped): after SIGTERM a running download goes on to the
// end and new requests get ERROR 0; the server then exits 0 by itself, long before the grace.
#[test]
fn r_srv_4_sigterm_finishes_running_downloads_and_refuses_new_ones() {
    let root = TempDir::new("drain-read");
    let file = content(512 * 20 + 7, 1);
    fs::write(root.path().join("big.bin"), &file).expect("file");
    // One worker: with several, each logs its own "stopping", and a worker that has not
    // taken the signal yet would still serve the late request below.
    let (mut server, addr) = start_our_server(root.path(), &["--grace", "60", "--workers", "1"]);
    let c = client();
    c.send_to(&request(1, "big.bin"), addr).expect("RRQ");
    let (first, tid) = data(&c, 1);
    let mut got = first;
    c.send_to(&[0, 4, 0, 1], tid).expect("ACK 1");
    let (second, _) = data(&c, 2);
    got.extend_from_slice(&second);

    signal(&server, "TERM");
    assert!(
        eventually(PATIENCE, || server.log_text().contains("stopping")),
        "{}",
        server.log_text()
    );
    let late = client();
    late.send_to(&request(1, "big.bin"), addr)
        .expect("late RRQ");
    let (answer, _) = recv(&late);
    let (code, message) = as_error(&answer).expect("an ERROR for a new request");
    assert_eq!((code, message.as_str()), (0, "server shutting down"));

    c.send_to(&[0, 4, 0, 2], tid).expect("ACK 2");
    finish_download(&c, tid, 3, &mut got);
    assert!(got == file, "the download changed across SIGTERM");
    let started = Instant::now();
    exits_cleanly(&mut server);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited for the grace"
    );
}

/// Starts an upload over `old.bin` and sends its first full block; returns the socket and
/// the transfer's address.
fn stalled_upload(addr: SocketAddr) -> (UdpSocket, SocketAddr) {
    let c = client();
    c.send_to(&request(2, "old.bin"), addr).expect("WRQ");
    let (ack, tid) = recv(&c);
    assert_eq!(ack, [0, 4, 0, 0]);
    let mut block = vec![0, 3, 0, 1];
    block.extend_from_slice(&content(512, 7));
    c.send_to(&block, tid).expect("DATA 1");
    let (ack, _) = recv(&c);
    assert_eq!(ack, [0, 4, 0, 1]);
    (c, tid)
}

fn assert_old_file_only(root: &Path, old: &[u8]) {
    assert_eq!(fs::read(root.join("old.bin")).expect("old.bin"), old);
    let names: Vec<String> = fs::read_dir(root)
        .expect("read root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["old.bin"], "left behind");
}

/// Waits for the ERROR 0 that stops the upload (its ACK 1 may be repeated before it).
fn stopped_with_error_0(c: &UdpSocket) {
    loop {
        let (answer, _) = recv(c);
        if answer == [0, 4, 0, 1] {
            continue;
        }
        assert_eq!(as_error(&answer).map(|e| e.0), Some(0), "{answer:?}");
        return;
    }
}

// R-SRV-3: the grace period ends a stalled upload: ERROR 0, nothing left in place of the old.
#[test]
fn r_srv_3_the_grace_period_ends_a_stalled_upload_leaving_the_old_file() {
    let root = TempDir::new("drain-upload");
    let old = b"the file as it was".to_vec();
    fs::write(root.path().join("old.bin"), &old).expect("old");
    let (mut server, addr) = start_our_server(root.path(), &["--allow-write", "--grace", "1"]);
    let (c, _) = stalled_upload(addr);
    let sent = Instant::now();
    signal(&server, "TERM");
    stopped_with_error_0(&c);
    assert!(
        sent.elapsed() >= Duration::from_millis(900),
        "stopped before the grace"
    );
    exits_cleanly(&mut server);
    assert_old_file_only(root.path(), &old);
}

// R-SRV-3: a second SIGTERM does not wait for the grace period.
#[test]
fn r_srv_3_a_second_sigterm_stops_at_once() {
    let root = TempDir::new("drain-twice");
    let old = b"old contents".to_vec();
    fs::write(root.path().join("old.bin"), &old).expect("old");
    let (mut server, addr) = start_our_server(root.path(), &["--allow-write", "--grace", "600"]);
    let (c, _) = stalled_upload(addr);
    signal(&server, "TERM");
    assert!(eventually(PATIENCE, || server
        .log_text()
        .contains("stopping")));
    signal(&server, "TERM");
    stopped_with_error_0(&c);
    exits_cleanly(&mut server);
    assert_old_file_only(root.path(), &old);
}

// R-SRV-1: SIGHUP reads the remap file again: new requests follow the new rules while a
// download started under the old ones completes; a bad file keeps the rules in force.
#[test]
fn r_srv_1_sighup_reloads_the_remap_file_without_dropping_transfers() {
    let top = TempDir::new("reload");
    let root = top.path().join("root");
    fs::create_dir(&root).expect("root");
    let a = content(512 * 8 + 3, 2);
    fs::write(root.join("a.bin"), &a).expect("a");
    fs::write(root.join("b.bin"), b"bee").expect("b");
    let rules = top.path().join("rules");
    fs::write(&rules, "r ^alias$ a.bin\n").expect("rules");
    let (server, addr) = start_our_server(&root, &["--map-file", rules.to_str().expect("path")]);

    let c = client();
    c.send_to(&request(1, "alias"), addr).expect("RRQ alias");
    let (mut got, tid) = data(&c, 1);
    fs::write(&rules, "# now\nr ^alias$ b.bin\n").expect("new rules");
    signal(&server, "HUP");
    assert!(
        eventually(PATIENCE, || server.log_text().contains("reloaded")),
        "{}",
        server.log_text()
    );
    c.send_to(&[0, 4, 0, 1], tid).expect("ACK 1");
    finish_download(&c, tid, 2, &mut got);
    assert!(got == a, "the running download changed");

    let fetch = || {
        let n = client();
        n.send_to(&request(1, "alias"), addr).expect("RRQ");
        let (payload, tid) = data(&n, 1);
        n.send_to(&[0, 4, 0, 1], tid).expect("ACK");
        payload
    };
    assert_eq!(fetch(), b"bee");

    fs::write(&rules, "r ^alias$ a.bin\nrz broken\n").expect("bad rules");
    signal(&server, "HUP");
    assert!(
        eventually(PATIENCE, || server.log_text().contains("line 2")),
        "{}",
        server.log_text()
    );
    assert_eq!(fetch(), b"bee", "a bad file replaced the rules");
}
