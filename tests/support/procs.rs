//! Processes for tests that run real programs on loopback: our example binaries (release
//! build), third-party peers, bounded runs, free ports, temporary folders, SHA-256.
//!
//! Include with `#[path = "support/procs.rs"] mod procs;`. Every wait here is bounded, every
//! child is killed by its PID when its guard drops, and only 127.0.0.1 is used.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

/// Longest wait for a server to answer its first request.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Our binaries.

/// `target/release/examples`, with `tftpd`, `tftp` and `ipxe_script` built and up to date
/// (built at most once per test process, and only when missing or older than a source file).
pub fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // A test runs from <target>/<profile>/deps/NAME-HASH.
        let exe = std::env::current_exe().expect("test binary path");
        let target = exe
            .ancestors()
            .nth(3)
            .expect("the target folder above <profile>/deps")
            .to_path_buf();
        let dir = target.join("release").join("examples");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let built = ["tftpd", "tftp", "ipxe_script"]
            .iter()
            .map(|name| modified(&dir.join(name)))
            .min()
            .flatten();
        let sources = ["src", "examples", "Cargo.toml", "Cargo.lock"]
            .iter()
            .filter_map(|p| newest(&manifest.join(p)))
            .max();
        let fresh = matches!((built, sources), (Some(b), Some(s)) if b >= s);
        if !fresh {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--release", "--examples", "--quiet"])
                .current_dir(manifest)
                .env("CARGO_TARGET_DIR", &target)
                .stdin(Stdio::null())
                .status()
                .expect("run cargo build --release --examples");
            assert!(status.success(), "cargo build --release --examples failed");
        }
        dir
    })
}

/// The path of our example binary `name` (`tftpd` or `tftp`).
pub fn our_bin(name: &str) -> PathBuf {
    let path = examples_dir().join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` or anything beneath it.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = fs::symlink_metadata(path).ok()?;
    let mut best = meta.modified().ok();
    if meta.is_dir() {
        for entry in fs::read_dir(path).ok()?.flatten() {
            best = best.max(newest(&entry.path()));
        }
    }
    best
}

// ---------------------------------------------------------------------------------------
// Processes.

/// A child process, killed by its PID and reaped when dropped. `log` is the file its output
/// goes to, when it was started with one; it is removed with the guard.
pub struct ChildGuard {
    pub child: Child,
    pub log: Option<PathBuf>,
}

impl ChildGuard {
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard { child, log: None }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the child wrote to its log so far.
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .map(|p| fs::read_to_string(p).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Waits at most `limit` for the child to exit.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` (a name for `kill -s`, e.g. "INT") to the child and waits at most
    /// `limit` for it to exit; the drop kills it if it did not.
    pub fn signal_and_wait(&mut self, signal: &str, limit: Duration) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-s", signal, &self.pid().to_string()])
            .stderr(Stdio::null())
            .status();
        self.wait_timeout(limit)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(log) = &self.log {
            let _ = fs::remove_file(log);
        }
    }
}

/// Runs `cmd` (stdin closed, stdout and stderr captured) and returns its output; kills it by
/// PID when it runs longer than `timeout` (then the status is the kill's, and stderr ends
/// with a note saying so).
pub fn run_bounded(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let stdout = collect(child.stdout.take().expect("stdout pipe"));
    let stderr = collect(child.stderr.take().expect("stderr pipe"));
    let mut guard = ChildGuard::new(child);
    let (status, killed) = match guard.wait_timeout(timeout) {
        Some(status) => (status, false),
        None => {
            let _ = guard.child.kill();
            (guard.child.wait().expect("wait for the killed child"), true)
        }
    };
    // The readers end at end of file; a grandchild that still holds the pipes gets a bounded
    // moment, then what was read so far is taken.
    let start = Instant::now();
    while Arc::strong_count(&stdout) + Arc::strong_count(&stderr) > 2
        && start.elapsed() < Duration::from_secs(2)
    {
        thread::sleep(Duration::from_millis(5));
    }
    let take = |b: &Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *b.lock().unwrap());
    let mut err = take(&stderr);
    if killed {
        err.extend_from_slice(
            format!("\n[run_bounded: killed after {timeout:?}: {cmd:?}]\n").as_bytes(),
        );
    }
    Output {
        status,
        stdout: take(&stdout),
        stderr: err,
    }
}

/// Reads `pipe` to its end on a thread into a shared buffer; the thread drops its handle on
/// the buffer when done.
fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let theirs = Arc::clone(&buf);
    thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            theirs.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buf
}

/// Combined stdout and stderr of a run, for assertion messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------------------
// Peers, root, CI.

/// The path of a third-party program (an absolute path, or a name looked up in PATH and the
/// sbin folders). When it is missing: a panic under CI (env `CI` set), else a loud
/// `SKIPPED` line on stderr and None.
pub fn require_peer(path_or_name: &str) -> Option<PathBuf> {
    let found = which(path_or_name);
    if found.is_none() {
        skip_or_fail(&format!(
            "missing peer {path_or_name}: run .ci/install-peers"
        ));
    }
    found
}

/// The path of a program: an absolute path, or a name looked up in PATH and the sbin folders.
pub fn which(path_or_name: &str) -> Option<PathBuf> {
    if path_or_name.contains('/') {
        Some(PathBuf::from(path_or_name)).filter(|p| p.is_file())
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
            .map(|dir| dir.join(path_or_name))
            .find(|p| p.is_file())
    }
}

/// True when running as root. When not: a panic under CI, else a loud `SKIPPED` line naming
/// `what` and false.
pub fn require_root(what: &str) -> bool {
    let root = is_root();
    if !root {
        skip_or_fail(&format!("{what} needs root"));
    }
    root
}

/// True when this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1).map(str::to_owned));
    match euid {
        Some(uid) => uid == "0",
        None => Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0"),
    }
}

fn skip_or_fail(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{reason}");
    }
    eprintln!("\n**************** SKIPPED: {reason} ****************\n");
}

// ---------------------------------------------------------------------------------------
// Ports, folders, bytes.

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind port 0");
    socket.local_addr().expect("local addr").port()
}

/// A fresh folder under the system's temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("procs-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The names in the folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic bytes that are not a repeating pattern.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Polls `done` every 20 ms for at most `limit`.
pub fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    done()
}

// ---------------------------------------------------------------------------------------
// Servers.

/// The code and message of a TFTP ERROR packet.
pub fn as_error(packet: &[u8]) -> Option<(u16, String)> {
    match packet {
        [0, 5, hi, lo, rest @ ..] => {
            let text = rest.strip_suffix(&[0]).unwrap_or(rest);
            Some((
                u16::from_be_bytes([*hi, *lo]),
                String::from_utf8_lossy(text).into_owned(),
            ))
        }
        _ => None,
    }
}

/// Waits at most `limit` for a TFTP server at `addr` to answer an RRQ for a missing file
/// with an ERROR (from any port). Returns the ERROR's code and text.
pub fn wait_until_answers(addr: SocketAddr, limit: Duration) -> Option<(u16, String)> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind probe");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let mut rrq = b"\x00\x01".to_vec();
    rrq.extend_from_slice(b"no-such-file.procs-probe\x00octet\x00");
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    while start.elapsed() < limit {
        let _ = socket.send_to(&rrq, addr);
        let wait = Instant::now();
        while wait.elapsed() < Duration::from_millis(200) {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) if from.ip() == addr.ip() => {
                    if let Some(error) = as_error(&buf[..n]) {
                        return Some(error);
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    None
}

/// Starts our `tftpd` on `root` at 127.0.0.1 on a free port with `extra_args` and waits
/// until it answers (ERROR 1 for a missing file). Its stderr goes to the guard's log.
pub fn start_our_server(root: &Path, extra_args: &[&str]) -> (ChildGuard, SocketAddr) {
    start_our_server_on("127.0.0.1", root, extra_args)
}

/// As [`start_our_server`], with `--bind bind` (e.g. "::" for a dual-stack listener); the
/// address returned and probed is 127.0.0.1 on the chosen port.
pub fn start_our_server_on(
    bind: &str,
    root: &Path,
    extra_args: &[&str],
) -> (ChildGuard, SocketAddr) {
    let mut args = vec![OsStr::new("--root"), root.as_os_str()];
    args.extend(extra_args.iter().map(OsStr::new));
    start_our_example("tftpd", bind, &args)
}

/// Starts our example server `name` (`tftpd`, `ipxe_script`) with `args`, `--bind bind` and a
/// free `--port`, and waits until it answers a probe for a missing file with ERROR 1; the
/// address returned (and probed) is `bind` when it is one IPv4 loopback address
/// (127.0.0.9, say), else 127.0.0.1, on that port. Its stderr goes to the guard's log.
pub fn start_our_example(name: &str, bind: &str, args: &[&OsStr]) -> (ChildGuard, SocketAddr) {
    start_our_example_with(name, bind, args, |_| {})
}

/// As [`start_our_example`], with `setup` called on each command before it is spawned (to
/// add environment variables, or send stdout to a file: it is null otherwise).
pub fn start_our_example_with(
    name: &str,
    bind: &str,
    args: &[&OsStr],
    setup: impl Fn(&mut Command),
) -> (ChildGuard, SocketAddr) {
    static LOGS: AtomicU64 = AtomicU64::new(0);
    let log = std::env::temp_dir().join(format!(
        "procs-{}-{name}-{}.log",
        std::process::id(),
        LOGS.fetch_add(1, Ordering::Relaxed)
    ));
    for _attempt in 0..5 {
        let port = free_udp_port();
        let ip = match bind.parse::<std::net::Ipv4Addr>() {
            Ok(ip) if ip.is_loopback() => ip,
            _ => std::net::Ipv4Addr::LOCALHOST,
        };
        let addr = SocketAddr::from((ip, port));
        let mut cmd = Command::new(our_bin(name));
        cmd.args(args)
            .args(["--bind", bind, "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("server log file"));
        setup(&mut cmd);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let mut guard = ChildGuard {
            child,
            log: Some(log.clone()),
        };
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if let Some(status) = guard.wait_timeout(Duration::ZERO) {
                let text = guard.log_text();
                if text.contains("in use") {
                    break; // the port was taken meanwhile: another one
                }
                panic!("{name} exited at start ({status}): {text}");
            }
            match wait_until_answers(addr, Duration::from_millis(300)) {
                Some((1, _)) => return (guard, addr),
                Some(other) => panic!("{name} answered a probe with {other:?}"),
                None => {}
            }
        }
        if guard.wait_timeout(Duration::ZERO).is_none() {
            panic!("{name} did not answer in time: {}", guard.log_text());
        }
    }
    panic!("no free port for {name}");
}
