//! Interop (R-INT-1, R-CLI-1, R-CLI-2): our `tftp` client against third-party servers —
//! tftpd-hpa, atftpd and dnsmasq — downloads and uploads, compared by SHA-256.
//!
//! tftpd-hpa and atftpd listen on a free port of 127.0.0.1. dnsmasq serves TFTP on port 69
//! only, so it runs in a private network namespace (`unshare -n`, which needs root) and our
//! client joins that namespace with `nsenter --net=/proc/PID/ns/net`.
//!
//! Each cell of a test's matrix prints `MATRIX server | direction | options | size | ok/FAIL |
//! seconds` (see them with `--nocapture`); a test fails at the end with every failed cell.
//! Downloads of one option set run side by side: our client dallies 1 s after its last ACK
//! (R-XFR-8), and that wait is idle.

#![cfg(unix)]

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use procs::{
    content, free_udp_port, our_bin, output_text, require_peer, require_root, run_bounded,
    sha256_hex, wait_until_answers, ChildGuard, TempDir, START_TIMEOUT,
};

/// Longest run of one client.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// The sizes moved both ways: empty, around one 512-byte block, and 1 MiB.
const SIZES: [usize; 5] = [0, 511, 512, 513, 1 << 20];
/// One block past 65535 blocks of 512 bytes: the block number rolls over.
const ROLLOVER: usize = 512 * 65536 + 100;

const NO_OPTIONS: &[&str] = &[];
const LOCKSTEP_OPTIONS: &[&str] = &["--blksize", "1468", "--tsize", "--timeout", "2"];
const WINDOW_OPTIONS: &[&str] = &["--blksize", "1468", "--windowsize", "8", "--tsize"];
/// Two blocks of 65464: more overflow a peer's default 208 KiB socket buffer under load, and
/// each lost block then costs a whole retransmission timeout.
const BIG_BLOCK_OPTIONS: &[&str] = &["--blksize", "65464", "--windowsize", "2", "--tsize"];

// ---------------------------------------------------------------------------------------
// Third-party servers.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hpa,
    Atftpd,
    Dnsmasq,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Hpa => "tftpd-hpa",
            Kind::Atftpd => "atftpd",
            Kind::Dnsmasq => "dnsmasq",
        }
    }
}

/// A running third-party server with its root, and a folder for our client's files.
struct PeerServer {
    kind: Kind,
    // The server is dropped (killed) before the folders go.
    guard: ChildGuard,
    addr: SocketAddr,
    /// The PID whose network namespace the client must join (dnsmasq).
    netns: Option<u32>,
    root: TempDir,
    local: TempDir,
    _logs: TempDir,
}

impl PeerServer {
    /// Starts a server of `kind` serving `files`, or None (skipped loudly) when the program
    /// or root is missing.
    fn start(kind: Kind, files: &[(String, Vec<u8>)]) -> Option<PeerServer> {
        let program = match kind {
            Kind::Hpa => require_peer("/usr/sbin/in.tftpd")?,
            Kind::Atftpd => require_peer("/opt/atftpd/usr/sbin/atftpd")?,
            Kind::Dnsmasq => {
                if !require_root("dnsmasq on port 69 in a private network namespace") {
                    return None;
                }
                require_peer("unshare")?;
                require_peer("nsenter")?;
                require_peer("ip")?;
                require_peer("dnsmasq")?
            }
        };
        let tag = kind.name();
        let root = TempDir::new(&format!("{tag}-root"));
        let local = TempDir::new(&format!("{tag}-local"));
        let logs = TempDir::new(&format!("{tag}-log"));
        // tftpd-hpa and atftpd run as nobody: the root must be writable by anyone for puts.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        for (name, bytes) in files {
            let path = root.path().join(name);
            fs::write(&path, bytes).expect("write a served file");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let log = logs.path().join("server.log");
        for _attempt in 0..5 {
            let port = if kind == Kind::Dnsmasq {
                69
            } else {
                free_udp_port()
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let mut cmd = match kind {
                Kind::Hpa => {
                    let mut cmd = Command::new(&program);
                    cmd.args(["-L", "-c", "-s"])
                        .arg(root.path())
                        .args(["-a", &format!("127.0.0.1:{port}")]);
                    cmd
                }
                Kind::Atftpd => {
                    let mut cmd = Command::new(&program);
                    cmd.args(["--daemon", "--no-fork", "--port", &port.to_string()])
                        .args(["--bind-address", "127.0.0.1", "--logfile", "-"])
                        .arg(root.path());
                    cmd
                }
                Kind::Dnsmasq => {
                    let script = format!(
                        "ip link set lo up && exec '{}' --no-daemon --port=0 --enable-tftp \
                         --tftp-root='{}' --listen-address=127.0.0.1 --bind-interfaces \
                         --conf-file=/dev/null --user=root --log-facility=- --pid-file=",
                        program.display(),
                        root.path().display()
                    );
                    let mut cmd = Command::new("unshare");
                    cmd.args(["-n", "sh", "-c", &script]);
                    cmd
                }
            };
            let log_file = fs::File::create(&log).expect("log file");
            let child = cmd
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log file"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
            let mut guard = ChildGuard::new(child);
            guard.log = Some(log.clone());
            let netns = (kind == Kind::Dnsmasq).then(|| guard.pid());
            let ready = match netns {
                // Our probe socket cannot reach into the namespace: watch its UDP table.
                Some(pid) => wait_for_port_69(&mut guard, pid),
                None => {
                    let start = Instant::now();
                    let mut answer = None;
                    while answer.is_none()
                        && start.elapsed() < START_TIMEOUT
                        && guard.wait_timeout(Duration::ZERO).is_none()
                    {
                        answer = wait_until_answers(addr, Duration::from_millis(300));
                    }
                    answer.is_some()
                }
            };
            if ready {
                return Some(PeerServer {
                    kind,
                    guard,
                    addr,
                    netns,
                    root,
                    local,
                    _logs: logs,
                });
            }
            if guard.wait_timeout(Duration::ZERO).is_none() || kind == Kind::Dnsmasq {
                panic!("{tag} did not start: {}", guard.log_text());
            }
            // Exited at once: most likely its port was taken meanwhile; another one.
        }
        panic!("{tag} did not start on any port");
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn local(&self, name: &str) -> PathBuf {
        self.local.path().join(name)
    }

    fn served(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Runs our client with `args` (in the server's namespace for dnsmasq).
    fn client(&self, args: &[&str]) -> Output {
        let mut cmd = match self.netns {
            Some(pid) => {
                let mut cmd = Command::new("nsenter");
                cmd.arg(format!("--net=/proc/{pid}/ns/net"))
                    .arg("--")
                    .arg(our_bin("tftp"));
                cmd
            }
            None => Command::new(our_bin("tftp")),
        };
        cmd.args(args).current_dir(self.local.path());
        run_bounded(&mut cmd, RUN_TIMEOUT)
    }

    /// `tftp get HOST REMOTE LOCAL OPTIONS...`
    fn get(&self, remote: &str, local: &Path, options: &[&str]) -> Output {
        let local = local.to_str().expect("UTF-8 path");
        let host = self.host();
        let mut args = vec!["get", host.as_str(), remote, local];
        args.extend_from_slice(options);
        self.client(&args)
    }

    /// `tftp put HOST REMOTE LOCAL OPTIONS...`
    fn put(&self, remote: &str, local: &Path, options: &[&str]) -> Output {
        let local = local.to_str().expect("UTF-8 path");
        let host = self.host();
        let mut args = vec!["put", host.as_str(), remote, local];
        args.extend_from_slice(options);
        self.client(&args)
    }

    /// Our client's temporary download files left in the local folder.
    fn leftovers(&self) -> Vec<String> {
        self.local
            .names()
            .into_iter()
            .filter(|n| n.ends_with(".part") || n.contains(".tftp-"))
            .collect()
    }
}

/// Waits until the process `pid` (in its own network namespace) has a UDP socket on
/// 127.0.0.1:69.
fn wait_for_port_69(guard: &mut ChildGuard, pid: u32) -> bool {
    let table = format!("/proc/{pid}/net/udp");
    let start = Instant::now();
    while start.elapsed() < START_TIMEOUT {
        if guard.wait_timeout(Duration::ZERO).is_some() {
            return false;
        }
        // Until unshare(2) ran, the table is the host's.
        let own = fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        let moved = own.is_some() && own != fs::read_link("/proc/self/ns/net").ok();
        let text = fs::read_to_string(&table).unwrap_or_default();
        if moved && text.contains("0100007F:0045 ") {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

// ---------------------------------------------------------------------------------------
// Matrix.

/// One transfer to try: direction, options label, size, and the check.
type Job<'a> = (
    &'static str,
    String,
    usize,
    Box<dyn FnOnce() -> Result<(), String> + Send + 'a>,
);

/// The cells of one test's matrix; `finish` fails the test with every failed cell.
struct Matrix {
    peer: &'static str,
    failures: Vec<String>,
}

impl Matrix {
    fn new(peer: &'static str) -> Matrix {
        Matrix {
            peer,
            failures: Vec::new(),
        }
    }

    fn record(
        &mut self,
        dir: &str,
        options: &str,
        size: usize,
        secs: f64,
        result: Result<(), String>,
    ) {
        let verdict = if result.is_ok() { "ok" } else { "FAIL" };
        println!(
            "MATRIX {} | {dir} | {options} | {size} | {verdict} | {secs:.2}",
            self.peer
        );
        if let Err(e) = result {
            self.failures
                .push(format!("{} {dir} [{options}] {size} bytes: {e}", self.peer));
        }
    }

    /// Runs one cell.
    fn cell(
        &mut self,
        dir: &str,
        options: &str,
        size: usize,
        run: impl FnOnce() -> Result<(), String>,
    ) {
        let start = Instant::now();
        let result = run();
        self.record(dir, options, size, start.elapsed().as_secs_f64(), result);
    }

    /// Runs cells side by side.
    fn parallel(&mut self, jobs: Vec<Job<'_>>) {
        let results: Vec<_> = thread::scope(|s| {
            let handles: Vec<_> = jobs
                .into_iter()
                .map(|(dir, options, size, run)| {
                    s.spawn(move || {
                        let start = Instant::now();
                        let result = run();
                        (dir, options, size, start.elapsed().as_secs_f64(), result)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a cell panicked"))
                .collect()
        });
        for (dir, options, size, secs, result) in results {
            self.record(dir, &options, size, secs, result);
        }
    }

    /// Fails with every failed cell, our client's leftovers and the server's log.
    fn finish(self, server: &PeerServer) {
        let leftovers = server.leftovers();
        assert!(
            self.failures.is_empty() && leftovers.is_empty(),
            "{} failed cells:\n{}\ntemporary files left by our client: {leftovers:?}\n--- {} log\n{}",
            self.failures.len(),
            self.failures.join("\n\n"),
            server.kind.name(),
            server.guard.log_text()
        );
    }
}

/// Ok when `path` holds exactly `expected` (by SHA-256).
fn same_bytes(path: &Path, expected: &[u8], out: &Output) -> Result<(), String> {
    let got = fs::read(path).map_err(|e| {
        format!(
            "{} unreadable ({e}); client said:\n{}",
            path.display(),
            output_text(out)
        )
    })?;
    if sha256_hex(&got) == sha256_hex(expected) {
        Ok(())
    } else {
        Err(format!(
            "{} has {} bytes sha256 {}, expected {} bytes sha256 {}; client said:\n{}",
            path.display(),
            got.len(),
            sha256_hex(&got),
            expected.len(),
            sha256_hex(expected),
            output_text(out)
        ))
    }
}

/// Ok when the client exited 0.
fn exited_0(out: &Output) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("our client failed:\n{}", output_text(out)))
    }
}

fn files_of_sizes(seed: u64) -> Vec<(String, Vec<u8>)> {
    SIZES
        .iter()
        .enumerate()
        .map(|(i, &size)| (format!("f{size}"), content(size, seed + i as u64)))
        .collect()
}

/// Gets every file of `files` with each option set (sizes side by side).
fn get_matrix(m: &mut Matrix, s: &PeerServer, files: &[(String, Vec<u8>)], sets: &[&[&str]]) {
    for (set, options) in sets.iter().enumerate() {
        let label = options.join(" ");
        let jobs: Vec<Job<'_>> = files
            .iter()
            .map(|(name, bytes)| {
                let job: Job<'_> = (
                    "get",
                    label.clone(),
                    bytes.len(),
                    Box::new(move || {
                        let local = s.local(&format!("{name}-{set}"));
                        let out = s.get(name, &local, options);
                        exited_0(&out)?;
                        same_bytes(&local, bytes, &out)
                    }),
                );
                job
            })
            .collect();
        m.parallel(jobs);
    }
}

/// Puts every file of `files` under a new name with each option set.
fn put_matrix(m: &mut Matrix, s: &PeerServer, files: &[(String, Vec<u8>)], sets: &[&[&str]]) {
    for (set, options) in sets.iter().enumerate() {
        let label = options.join(" ");
        for (name, bytes) in files {
            m.cell("put", &label, bytes.len(), || {
                let up = format!("up-{name}-{set}");
                let out = s.put(&up, &s.served(name), options);
                exited_0(&out)?;
                same_bytes(&s.served(&up), bytes, &out)
            });
        }
    }
}

/// A text with LF line ends whose netascii form puts a CR LF exactly at the end of block 1
/// and splits the next CR LF across blocks 2 and 3, then lines of varied lengths.
fn lf_text() -> Vec<u8> {
    let mut text = Vec::new();
    text.extend(std::iter::repeat_n(b'a', 510));
    text.push(b'\n');
    text.extend(std::iter::repeat_n(b'b', 511));
    text.push(b'\n');
    for i in 0..2000usize {
        let len = (i * 37) % 120;
        text.extend((0..len).map(|j| b'!' + ((i + j) % 90) as u8));
        text.push(b'\n');
        if i % 50 == 0 {
            text.push(b'\n');
        }
    }
    text
}

/// Bare CRs (netascii CR NUL), one as the last byte of block 1 and one of block 2 (so the
/// NUL starts the next block), CR LF in the file, and a CR at the very end.
fn cr_text() -> Vec<u8> {
    let mut text = vec![b'a'; 511];
    text.push(b'\r');
    text.extend(std::iter::repeat_n(b'b', 510));
    text.extend_from_slice(b"\rline\n\r\n\r\r\nend\r");
    text
}

// ---------------------------------------------------------------------------------------
// Gets and puts.

// R-INT-1, R-OPT-2, R-OPT-5, R-OPT-6, R-OPT-7: our client gets from tftpd-hpa without
// options, with blksize + tsize + timeout, and asking windowsize (which tftpd-hpa leaves out
// of its OACK: our client goes on lock-step), also with 65464-byte blocks.
#[test]
fn r_int_1_tftpd_hpa_get() {
    let files = files_of_sizes(1000);
    let Some(s) = PeerServer::start(Kind::Hpa, &files) else {
        return;
    };
    let mut m = Matrix::new("tftpd-hpa");
    get_matrix(
        &mut m,
        &s,
        &files,
        &[
            NO_OPTIONS,
            LOCKSTEP_OPTIONS,
            WINDOW_OPTIONS,
            BIG_BLOCK_OPTIONS,
        ],
    );
    m.finish(&s);
}

// R-INT-1, R-OPT-5, R-OPT-7: our client puts to tftpd-hpa (`-c`) without options, with
// blksize + tsize + timeout, and asking windowsize (left out: lock-step), also with
// 65464-byte blocks.
#[test]
fn r_int_1_tftpd_hpa_put() {
    let files = files_of_sizes(1100);
    let Some(s) = PeerServer::start(Kind::Hpa, &files) else {
        return;
    };
    let mut m = Matrix::new("tftpd-hpa");
    put_matrix(
        &mut m,
        &s,
        &files,
        &[
            NO_OPTIONS,
            LOCKSTEP_OPTIONS,
            WINDOW_OPTIONS,
            BIG_BLOCK_OPTIONS,
        ],
    );
    m.finish(&s);
}

// R-INT-1, R-OPT-5, R-OPT-6, R-OPT-7, R-OPT-8: our client gets from atftpd without options,
// lock-step with options, windowed, and with 65464-byte blocks.
#[test]
fn r_int_1_atftpd_get() {
    let files = files_of_sizes(1200);
    let Some(s) = PeerServer::start(Kind::Atftpd, &files) else {
        return;
    };
    let mut m = Matrix::new("atftpd");
    let sets = [
        NO_OPTIONS,
        LOCKSTEP_OPTIONS,
        WINDOW_OPTIONS,
        BIG_BLOCK_OPTIONS,
    ];
    get_matrix(&mut m, &s, &files, &sets);
    m.finish(&s);
}

// R-INT-1, R-OPT-5, R-OPT-6, R-OPT-7, R-OPT-8: our client puts to atftpd without options,
// lock-step with options, windowed, and with 65464-byte blocks.
#[test]
fn r_int_1_atftpd_put() {
    let files = files_of_sizes(1300);
    let Some(s) = PeerServer::start(Kind::Atftpd, &files) else {
        return;
    };
    let mut m = Matrix::new("atftpd");
    let sets = [
        NO_OPTIONS,
        LOCKSTEP_OPTIONS,
        WINDOW_OPTIONS,
        BIG_BLOCK_OPTIONS,
    ];
    put_matrix(&mut m, &s, &files, &sets);
    m.finish(&s);
}

// R-INT-1, R-OPT-2, R-OPT-5, R-OPT-7: our client gets from dnsmasq (port 69, private network
// namespace) without options, with blksize + tsize + timeout, and asking windowsize, also
// with 65464-byte blocks.
#[test]
fn r_int_1_dnsmasq_get() {
    let files = files_of_sizes(1400);
    let Some(s) = PeerServer::start(Kind::Dnsmasq, &files) else {
        return;
    };
    let mut m = Matrix::new("dnsmasq");
    get_matrix(
        &mut m,
        &s,
        &files,
        &[
            NO_OPTIONS,
            LOCKSTEP_OPTIONS,
            WINDOW_OPTIONS,
            BIG_BLOCK_OPTIONS,
        ],
    );
    m.finish(&s);
}

// R-INT-1, R-CLI-2: dnsmasq refuses uploads: our client exits non-zero with the server's
// ERROR code and message, and nothing appears in the root.
#[test]
fn r_cli_2_dnsmasq_refuses_put() {
    let Some(s) = PeerServer::start(Kind::Dnsmasq, &[]) else {
        return;
    };
    let source = s.local("up.bin");
    fs::write(&source, content(3000, 1500)).expect("write the upload");
    let mut m = Matrix::new("dnsmasq");
    m.cell("put", "refused", 3000, || {
        let out = s.put("up.bin", &source, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return Err(format!("exit 0:\n{}", output_text(&out)));
        }
        if !err.contains("server error 4") || !err.contains("unsupported request") {
            return Err(format!(
                "expected the server's ERROR 4 \"unsupported request\":\n{}",
                output_text(&out)
            ));
        }
        match s.root.names() {
            names if names.is_empty() => Ok(()),
            names => Err(format!("files appeared in the root: {names:?}")),
        }
    });
    m.finish(&s);
}

// ---------------------------------------------------------------------------------------
// Rollover (65537 blocks of 512 bytes), once or twice per server.

/// Gets (and puts, where allowed) a file of ROLLOVER bytes with each option set given.
fn rollover(kind: Kind, get_options: &[&str], put_options: &[&[&str]], seed: u64) {
    let big = content(ROLLOVER, seed);
    let files = [("big".to_string(), big.clone())];
    let Some(s) = PeerServer::start(kind, &files) else {
        return;
    };
    let mut m = Matrix::new(kind.name());
    let label = format!("{} (rollover)", get_options.join(" "));
    m.cell("get", &label, ROLLOVER, || {
        let local = s.local("big");
        let out = s.get("big", &local, get_options);
        exited_0(&out)?;
        same_bytes(&local, &big, &out)
    });
    for (i, options) in put_options.iter().enumerate() {
        let label = format!("{} (rollover)", options.join(" "));
        m.cell("put", &label, ROLLOVER, || {
            let up = format!("up-big-{i}");
            let out = s.put(&up, &s.served("big"), options);
            exited_0(&out)?;
            same_bytes(&s.served(&up), &big, &out)
        });
    }
    m.finish(&s);
}

// R-INT-1, R-XFR-11: past block 65535 with tftpd-hpa: get without options, put with blksize
// 512 + tsize.
#[test]
fn r_int_1_tftpd_hpa_rollover() {
    rollover(Kind::Hpa, &[], &[&["--blksize", "512", "--tsize"]], 1600);
}

// R-INT-1, R-XFR-11, R-OPT-8: past block 65535 with atftpd: get windowed with options, put
// without options and windowed.
#[test]
fn r_int_1_atftpd_rollover() {
    let windowed: &[&str] = &["--blksize", "512", "--windowsize", "16", "--tsize"];
    rollover(Kind::Atftpd, windowed, &[&[], windowed], 1700);
}

// R-INT-1, R-XFR-11: past block 65535 with dnsmasq: get without options (it takes no uploads).
#[test]
fn r_int_1_dnsmasq_rollover() {
    rollover(Kind::Dnsmasq, &[], &[], 1800);
}

// ---------------------------------------------------------------------------------------
// netascii.

// R-INT-1, R-MOD-2: netascii with every server: a text with LF line ends comes back identical
// on get, and a put (where allowed) stores it with the server's local line ends (LF); so does
// a text with bare CRs at block ends.
#[test]
fn r_int_1_netascii_with_every_server() {
    let files = [
        ("text.txt".to_string(), lf_text()),
        ("cr.txt".to_string(), cr_text()),
    ];
    let netascii: &[&str] = &["--mode", "netascii"];
    for kind in [Kind::Hpa, Kind::Atftpd, Kind::Dnsmasq] {
        let Some(s) = PeerServer::start(kind, &files) else {
            continue;
        };
        let mut m = Matrix::new(kind.name());
        for (name, text) in &files {
            m.cell("get", "--mode netascii", text.len(), || {
                let local = s.local(name);
                let out = s.get(name, &local, netascii);
                exited_0(&out)?;
                same_bytes(&local, text, &out)
            });
            if kind != Kind::Dnsmasq {
                m.cell("put", "--mode netascii", text.len(), || {
                    let up = format!("up-{name}");
                    let out = s.put(&up, &s.served(name), netascii);
                    exited_0(&out)?;
                    same_bytes(&s.served(&up), text, &out)
                });
            }
        }
        m.finish(&s);
    }
}

// ---------------------------------------------------------------------------------------
// Errors.

// R-CLI-1, R-CLI-2: a get of a missing file from each server: our client exits non-zero,
// prints the server's ERROR code (1) and message, creates no local file, and leaves an
// existing local file as it was.
#[test]
fn r_cli_1_missing_file_from_every_server() {
    let expected_text = |kind| match kind {
        Kind::Hpa | Kind::Atftpd => "File not found",
        Kind::Dnsmasq => "not found",
    };
    for kind in [Kind::Hpa, Kind::Atftpd, Kind::Dnsmasq] {
        let Some(s) = PeerServer::start(kind, &[]) else {
            continue;
        };
        let mut m = Matrix::new(kind.name());
        fs::write(s.local("keep.txt"), b"old contents").expect("write keep.txt");
        for local in ["new.txt", "keep.txt"] {
            m.cell("get", &format!("missing file -> {local}"), 0, || {
                let out = s.get("missing.txt", &s.local(local), &[]);
                let err = String::from_utf8_lossy(&out.stderr);
                if out.status.success() {
                    return Err(format!("exit 0:\n{}", output_text(&out)));
                }
                if !err.contains("server error 1") || !err.contains(expected_text(kind)) {
                    return Err(format!(
                        "expected ERROR 1 and {:?}:\n{}",
                        expected_text(kind),
                        output_text(&out)
                    ));
                }
                Ok(())
            });
        }
        assert_eq!(s.local.names(), ["keep.txt"], "{}", kind.name());
        assert_eq!(
            fs::read(s.local("keep.txt")).expect("keep.txt"),
            b"old contents"
        );
        m.finish(&s);
    }
}

// ---------------------------------------------------------------------------------------
// Dally.

// R-XFR-8, R-CLI-2: "completion is reported at once; the dally only keeps answering". Our
// client downloads from tftpd-hpa with `--timeout 30`, so it dallies max(1 s, 2 x 30 s)
// after its final ACK. The file is complete and in place; a Ctrl-C during that wait must not
// turn the finished download into a failure (exit 130, "interrupted ... no partial file was
// kept", an ERROR 0 "interrupted" sent to the server).
#[test]
fn r_xfr_8_interrupt_while_dallying_keeps_the_success() {
    let bytes = content(513, 1900);
    let files = [("f513".to_string(), bytes.clone())];
    let Some(s) = PeerServer::start(Kind::Hpa, &files) else {
        return;
    };
    let local = s.local("f513");
    let err_log = s.local.path().join("client.err");
    let child = Command::new(our_bin("tftp"))
        .args(["get", &s.host(), "f513"])
        .arg(&local)
        .args(["--timeout", "30"])
        .current_dir(s.local.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err_log).expect("client log"))
        .spawn()
        .expect("spawn tftp");
    let mut client = ChildGuard::new(child);
    let start = Instant::now();
    while fs::read(&local).ok().as_deref() != Some(&bytes[..]) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the download did not complete"
        );
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(300));
    let still_running = client.wait_timeout(Duration::ZERO).is_none();
    let status = client.signal_and_wait("INT", Duration::from_secs(10));
    let err = fs::read_to_string(&err_log).unwrap_or_default();
    println!(
        "MATRIX tftpd-hpa | get | --timeout 30, SIGINT while dallying | 513 | {} | {:.2}",
        if status.is_some_and(|s| s.success()) {
            "ok"
        } else {
            "FAIL"
        },
        start.elapsed().as_secs_f64()
    );
    assert_eq!(
        fs::read(&local).ok().as_deref(),
        Some(&bytes[..]),
        "the file is kept"
    );
    assert!(
        status.is_some_and(|s| s.success()) && !err.contains("interrupted"),
        "a finished download (client still dallying: {still_running}) was reported as failed \
         on SIGINT: status {status:?}, stderr: {err}"
    );
}
