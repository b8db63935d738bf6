//! Helpers for the hostile-network and hostile-input tests (`tests/hostile_names.rs`,
//! `tests/fault_injection.rs`, `tests/request_flood.rs`): hand-made TFTP datagrams, raw
//! loopback sockets with bounded reads, directory snapshots, our client run with a bound,
//! /proc readings (RSS, UDP drops) and medians.
//!
//! Include after `procs`: `#[path = "support/procs.rs"] mod procs;` then
//! `#[path = "support/hostile.rs"] mod hostile;` (this file uses `crate::procs`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use crate::procs;

/// Longest wait for one expected datagram.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest run of one client process.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Datagrams.

/// An RRQ (`opcode` 1) or WRQ (2) for `name` (raw bytes) in `mode`, with option pairs.
pub fn request(opcode: u8, name: &[u8], mode: &str, options: &[(&str, &str)]) -> Vec<u8> {
    let mut packet = vec![0, opcode];
    packet.extend_from_slice(name);
    packet.push(0);
    packet.extend_from_slice(mode.as_bytes());
    packet.push(0);
    for (key, value) in options {
        packet.extend_from_slice(key.as_bytes());
        packet.push(0);
        packet.extend_from_slice(value.as_bytes());
        packet.push(0);
    }
    packet
}

/// An RRQ in octet mode without options.
pub fn rrq(name: &[u8]) -> Vec<u8> {
    request(1, name, "octet", &[])
}

/// A WRQ in octet mode without options.
pub fn wrq(name: &[u8]) -> Vec<u8> {
    request(2, name, "octet", &[])
}

/// DATA `block` carrying `payload`.
pub fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0, 3];
    packet.extend_from_slice(&block.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// ACK `block`.
pub fn ack(block: u16) -> [u8; 4] {
    let [hi, lo] = block.to_be_bytes();
    [0, 4, hi, lo]
}

/// ERROR `code` with `message`.
pub fn error(code: u16, message: &str) -> Vec<u8> {
    let mut packet = vec![0, 5];
    packet.extend_from_slice(&code.to_be_bytes());
    packet.extend_from_slice(message.as_bytes());
    packet.push(0);
    packet
}

/// The opcode of a datagram (0 when it has fewer than 2 bytes).
pub fn opcode(packet: &[u8]) -> u16 {
    match packet {
        [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    }
}

/// The code and message of an ERROR packet.
pub use crate::procs::as_error;

/// The block number and payload of a DATA packet.
pub fn as_data(packet: &[u8]) -> Option<(u16, &[u8])> {
    match packet {
        [0, 3, hi, lo, rest @ ..] => Some((u16::from_be_bytes([*hi, *lo]), rest)),
        _ => None,
    }
}

/// The block number of an ACK packet.
pub fn as_ack(packet: &[u8]) -> Option<u16> {
    match packet {
        [0, 4, hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

/// A short description of a datagram for assertion messages.
pub fn describe(packet: &[u8]) -> String {
    if let Some((code, message)) = as_error(packet) {
        return format!("ERROR {code} {message:?}");
    }
    if let Some((block, payload)) = as_data(packet) {
        return format!("DATA {block} ({} bytes)", payload.len());
    }
    if let Some(block) = as_ack(packet) {
        return format!("ACK {block}");
    }
    if opcode(packet) == 6 {
        return format!("OACK {:?}", String::from_utf8_lossy(&packet[2..]));
    }
    format!(
        "{} bytes {:?}",
        packet.len(),
        &packet[..packet.len().min(16)]
    )
}

// ---------------------------------------------------------------------------------------
// Raw sockets.

/// A loopback UDP socket driven by hand, every read bounded.
pub struct Raw {
    pub socket: UdpSocket,
    buf: Vec<u8>,
}

impl Raw {
    /// A socket on 127.0.0.1, a free port.
    pub fn new() -> Raw {
        Raw::on(Ipv4Addr::LOCALHOST)
    }

    /// A socket on `ip` (any 127.x.y.z address is loopback on Linux), a free port.
    pub fn on(ip: Ipv4Addr) -> Raw {
        let socket = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}: {e}"));
        Raw {
            socket,
            buf: vec![0; 65536],
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("local addr")
    }

    pub fn send(&self, packet: &[u8], to: SocketAddr) {
        self.socket
            .send_to(packet, to)
            .unwrap_or_else(|e| panic!("send {} bytes to {to}: {e}", packet.len()));
    }

    /// The next datagram within `limit` (ICMP errors from earlier sends are skipped).
    pub fn recv_within(&mut self, limit: Duration) -> Option<(Vec<u8>, SocketAddr)> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("read timeout");
            match self.socket.recv_from(&mut self.buf) {
                Ok((n, from)) => return Some((self.buf[..n].to_vec(), from)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                // ECONNREFUSED from an ICMP port unreachable, EINTR: read on.
                Err(_) => {}
            }
        }
    }

    /// The next datagram within [`RECV_TIMEOUT`], or a panic naming `what`.
    pub fn expect(&mut self, what: &str) -> (Vec<u8>, SocketAddr) {
        self.recv_within(RECV_TIMEOUT)
            .unwrap_or_else(|| panic!("no answer within {RECV_TIMEOUT:?}: {what}"))
    }

    /// Every datagram arriving within `window`.
    pub fn drain(&mut self, window: Duration) -> Vec<(Vec<u8>, SocketAddr)> {
        let deadline = Instant::now() + window;
        let mut got = Vec::new();
        while let Some(d) = self.recv_within(deadline.saturating_duration_since(Instant::now())) {
            got.push(d);
        }
        got
    }
}

impl Default for Raw {
    fn default() -> Self {
        Raw::new()
    }
}

/// True when a socket can be bound on `ip` (127.0.0.2 and up are loopback on Linux).
pub fn can_bind(ip: Ipv4Addr) -> bool {
    UdpSocket::bind((IpAddr::V4(ip), 0)).is_ok()
}

// ---------------------------------------------------------------------------------------
// Directory snapshots.

/// What one entry of a tree is: enough to say it did not change, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    File { len: u64, sha256: String },
    Dir,
    Symlink(PathBuf),
    Other(u32),
}

/// Every entry under `dir` by path relative to it, not following symbolic links, skipping
/// the subtrees in `skip` (absolute paths).
pub fn snapshot(dir: &Path, skip: &[&Path]) -> BTreeMap<PathBuf, Entry> {
    fn walk(dir: &Path, base: &Path, skip: &[&Path], out: &mut BTreeMap<PathBuf, Entry>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if skip.iter().any(|s| *s == path) {
                continue;
            }
            let rel = path.strip_prefix(base).expect("under base").to_path_buf();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let ft = meta.file_type();
            let kind = if ft.is_symlink() {
                Entry::Symlink(fs::read_link(&path).unwrap_or_default())
            } else if ft.is_dir() {
                walk(&path, base, skip, out);
                Entry::Dir
            } else if ft.is_file() {
                let bytes = fs::read(&path).unwrap_or_default();
                Entry::File {
                    len: meta.len(),
                    sha256: procs::sha256_hex(&bytes),
                }
            } else {
                use std::os::unix::fs::MetadataExt;
                Entry::Other(meta.mode())
            };
            out.insert(rel, kind);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, skip, &mut out);
    out
}

/// The differences between two snapshots, one line each (empty when equal).
pub fn snapshot_diff(
    before: &BTreeMap<PathBuf, Entry>,
    after: &BTreeMap<PathBuf, Entry>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (path, was) in before {
        match after.get(path) {
            None => lines.push(format!("removed {}", path.display())),
            Some(now) if now != was => {
                lines.push(format!("changed {}: {was:?} -> {now:?}", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in after.keys() {
        if !before.contains_key(path) {
            lines.push(format!("appeared {}", path.display()));
        }
    }
    lines
}

/// Names of temporary upload files (`.NAME.tftp-RANDOM.part`) anywhere under `dir`.
pub fn part_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir, &[])
        .into_keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".part"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Processes and /proc.

/// Runs our `tftp` client with `args` in `cwd` (bounded); returns its output and run time.
pub fn our_client(cwd: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = procs::run_bounded(
        Command::new(procs::our_bin("tftp"))
            .args(args)
            .current_dir(cwd),
        CLIENT_TIMEOUT,
    );
    (out, start.elapsed())
}

/// The resident set size of process `pid` in KiB (VmRSS in /proc/PID/status).
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> Option<usize> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// The kernel's drop counter of the IPv4 UDP socket bound to 127.0.0.1:`port` (last
/// column of /proc/net/udp), when it is found.
pub fn udp_drops(port: u16) -> Option<u64> {
    let table = fs::read_to_string("/proc/net/udp").ok()?;
    let wanted = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) == Some(&wanted.as_str()) {
            fields.last().and_then(|d| d.parse().ok())
        } else {
            None
        }
    })
}

/// Waits at most `limit` for `done`, polling every 20 ms.
pub use crate::procs::eventually;

/// The median of some durations (the upper one of the middle two for an even count).
pub fn median(mut times: Vec<Duration>) -> Duration {
    assert!(!times.is_empty(), "median of nothing");
    times.sort();
    times[times.len() / 2]
}

/// True when `haystack` holds `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// How a client run went when it was timed by the file it produces.
pub struct Timed {
    /// Exit status (None when it had to be killed).
    pub status: Option<std::process::ExitStatus>,
    /// What it wrote to stderr.
    pub stderr: String,
    /// From the start until `done` appeared (the transfer's completion: a finished transfer
    /// renames its temporary file to its final name), when it did.
    pub done: Option<Duration>,
    /// From the start until the process exited.
    pub exited: Duration,
}

/// Runs our `tftp` client with `args` in `cwd` and times the moment `done` appears (the
/// downloaded file beside the client, or the uploaded file in the server's root); bounded
/// by `limit` (at most [`CLIENT_TIMEOUT`]), the child killed by its PID when it runs over.
pub fn our_client_timed(cwd: &Path, args: &[&str], done: &Path, limit: Duration) -> Timed {
    let limit = limit.min(CLIENT_TIMEOUT);
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let err_path =
        std::env::temp_dir().join(format!("hostile-{}-client-{n}.stderr", std::process::id()));
    let start = Instant::now();
    let child = Command::new(procs::our_bin("tftp"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("spawn tftp");
    let mut guard = procs::ChildGuard::new(child);
    let mut done_at = None;
    let mut status = None;
    while start.elapsed() < limit {
        if done_at.is_none() && done.exists() {
            done_at = Some(start.elapsed());
        }
        if let Ok(Some(s)) = guard.child.try_wait() {
            status = Some(s);
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    if done_at.is_none() && done.exists() {
        done_at = Some(start.elapsed());
    }
    let exited = start.elapsed();
    drop(guard);
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&err_path);
    Timed {
        status,
        stderr,
        done: done_at,
        exited,
    }
}

// ---------------------------------------------------------------------------------------
// A relay that loses one chosen datagram.

/// A one-client relay on 127.0.0.1 that forwards everything both ways, except the first
/// datagram from the client for which `lose` is true: that one is dropped. The client talks
/// to [`DropOnce::addr`] only (requests and transfer alike); requests go to the server's
/// listening address, everything else to the port the server last answered from.
pub struct DropOnce {
    addr: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DropOnce {
    pub fn start(server: SocketAddr, lose: fn(&[u8]) -> bool) -> DropOnce {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::Arc;
        assert!(server.ip().is_loopback(), "loopback only");
        let front = UdpSocket::bind("127.0.0.1:0").expect("bind front");
        let upstream = UdpSocket::bind("127.0.0.1:0").expect("bind upstream");
        for s in [&front, &upstream] {
            s.set_nonblocking(true).expect("nonblocking");
        }
        let addr = front.local_addr().expect("front addr");
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&dropped));
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut buf = vec![0u8; 65536];
            let mut client: Option<SocketAddr> = None;
            let mut tid: Option<SocketAddr> = None;
            let mut lost = false;
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let mut busy = false;
                while let Ok((n, from)) = front.recv_from(&mut buf) {
                    busy = true;
                    client = Some(from);
                    let packet = &buf[..n];
                    if !lost && lose(packet) {
                        lost = true;
                        count.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let to = match (opcode(packet), tid) {
                        (1 | 2, _) | (_, None) => server,
                        (_, Some(t)) => t,
                    };
                    let _ = upstream.send_to(packet, to);
                }
                while let Ok((n, from)) = upstream.recv_from(&mut buf) {
                    busy = true;
                    if from.ip() != server.ip() {
                        continue;
                    }
                    if from != server {
                        tid = Some(from);
                    }
                    if let Some(c) = client {
                        let _ = front.send_to(&buf[..n], c);
                    }
                }
                if !busy {
                    thread::sleep(Duration::from_micros(200));
                }
            }
        });
        DropOnce {
            addr,
            stop,
            dropped,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many datagrams were dropped (0 or 1).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for DropOnce {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
