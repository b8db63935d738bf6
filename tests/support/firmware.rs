//! Shared machinery of the real-firmware tests (`tests/firmware_ipxe.rs`,
//! `tests/firmware_uboot.rs`): boot firmware under QEMU against our `tftpd` example, all inside a
//! private network namespace, and check what the console, the server log and a packet capture
//! show (R-INT-1, R-INT-2).
//!
//! Everything runs inside a network namespace made for the test: a holder process
//! (`unshare --net sleep`) owns it, and every other process (`ip`, `tftpd`, `dumpcap`, QEMU)
//! joins it with `nsenter --target PID --net`, which execs the program in place, so each
//! process we start has one PID and is killed by that PID. The namespace has only `lo`;
//! QEMU's user networking (slirp) reaches the server through it, and nothing leaves it.
//!
//! Every wait is bounded; a test fails (with the console, the server log and the decoded
//! capture in the message, and the files kept under `<target>/firmware-tests/`) rather than
//! hangs.

#![allow(dead_code)] // each test binary uses a part of this

#[path = "procs.rs"]
mod procs;

#[path = "captured.rs"]
mod captured;

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use procs::ChildGuard;

/// Longest wait for a helper process (namespace, server, capture) to be ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for one `tshark -r` decode.
pub const DECODE_TIMEOUT: Duration = Duration::from_secs(60);
/// Expert-info severity of a warning in Wireshark (`_ws.expert.severity`); errors are higher.
pub const SEVERITY_WARN: u32 = 0x0060_0000;

// ---------------------------------------------------------------------------------------
// Prerequisites.

/// Whether this process runs as root (uid 0).
pub use procs::is_root;

/// The path of `program` (a name looked up on PATH and the sbin folders, or a path).
pub use procs::which;

/// Checks root and the `programs` and `files` a test needs. When something is missing: panics
/// if the environment variable `CI` is set, else prints a loud SKIPPED line and returns false.
pub fn prerequisites(test: &str, programs: &[&str], files: &[&str]) -> bool {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root (namespaces, packet capture)".to_string());
    }
    for p in programs {
        if which(p).is_none() {
            missing.push(format!("program {p}"));
        }
    }
    for f in files {
        if !Path::new(f).is_file() {
            missing.push(format!("file {f}"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let text = format!(
        "{test} needs {} (install with `bash .ci/install-peers`)",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{text}");
    }
    eprintln!("\n######## SKIPPED {text} ########\n");
    false
}

// ---------------------------------------------------------------------------------------
// Paths, binaries, work folders.

/// The cargo target folder of this test binary (`<target>/<profile>/deps/NAME-HASH`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("the target folder above <profile>/deps")
        .to_path_buf()
}

/// Our `tftpd` example (release build, built at most once per test run by `procs`).
pub fn tftpd_bin() -> PathBuf {
    procs::our_bin("tftpd")
}

/// A folder for one test's files under `<target>/firmware-tests/`: removed when the test
/// passes, kept (and its path printed) when it fails.
pub struct WorkDir(PathBuf);

impl WorkDir {
    pub fn new(tag: &str) -> WorkDir {
        let target_dir = target_dir();
        let path = target_dir
            .join("firmware-tests")
            .join(format!("{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(path.join("root")).expect("create work dir");
        WorkDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The folder the server serves.
    pub fn root(&self) -> PathBuf {
        self.0.join("root")
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("firmware test files kept in {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// A random 64-bit value (from the standard library's per-process random hash keys).
pub fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// Deterministic bytes from `seed` that are not a repeating pattern (xorshift).
pub use procs::content;

/// CRC-32 as zlib and U-Boot's `crc32` compute it (reflected polynomial 0xEDB88320).
pub fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        table
    });
    let mut crc = !0u32;
    for &b in bytes {
        crc = table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The first line a program prints for `--version`.
pub fn version_of(program: &str) -> String {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("{program} (version unknown)"))
}

/// An overall time budget for a test: every wait takes the smaller of its own limit and what
/// is left.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    start: Instant,
    end: Instant,
}

impl Budget {
    pub fn new(total: Duration) -> Budget {
        let start = Instant::now();
        Budget {
            start,
            end: start + total,
        }
    }

    /// `limit`, or less if the budget ends sooner.
    pub fn cap(&self, limit: Duration) -> Duration {
        limit.min(self.end.saturating_duration_since(Instant::now()))
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Polls `done` every 20 ms for at most `limit`.
pub use procs::eventually;

// ---------------------------------------------------------------------------------------
// Processes.

/// A process we started, killed by its PID (SIGKILL) when dropped if it still runs (the drop
/// is `procs::ChildGuard`'s).
pub struct Guard {
    proc: ChildGuard,
    what: String,
}

impl Guard {
    pub fn spawn(mut command: Command, what: &str) -> Guard {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        Guard {
            proc: ChildGuard::new(child),
            what: what.to_string(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.proc.child.try_wait().ok().flatten()
    }

    /// Waits at most `limit` for the process to end.
    pub fn wait_bounded(&mut self, limit: Duration) -> Option<ExitStatus> {
        self.proc.wait_timeout(limit)
    }

    /// Sends `signal` (a name for kill(1), like "INT") to the process, by its PID, if it has
    /// not been reaped yet (so the PID cannot belong to another process).
    pub fn signal(&mut self, signal: &str) {
        if self.exited().is_none() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(self.pid().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// SIGINT, then SIGKILL if it has not ended after `grace`.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.signal("INT");
        if let Some(status) = self.wait_bounded(grace) {
            return Some(status);
        }
        eprintln!("{} ignored SIGINT for {grace:?}: killing it", self.what);
        let _ = self.proc.child.kill();
        let _ = self.proc.child.wait();
        None
    }
}

/// Runs `command` to its end, at most `limit`; returns status, stdout and stderr.
pub fn run_bounded(
    mut command: Command,
    what: &str,
    limit: Duration,
) -> (Option<ExitStatus>, String, String) {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = Guard::spawn(command, what);
    let out = guard.proc.child.stdout.take().expect("stdout pipe");
    let err = guard.proc.child.stderr.take().expect("stderr pipe");
    let read = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = read(Box::new(out));
    let err = read(Box::new(err));
    let status = guard.wait_bounded(limit);
    drop(guard); // kills it if it ran over, which closes the pipes
    (
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------------------
// The private network namespace.

/// A network namespace of our own, held by a `sleep` process; only `lo`, brought up.
pub struct Netns {
    holder: Guard,
}

impl Netns {
    pub fn new() -> Netns {
        let mut command = Command::new("unshare");
        command
            .args(["--net", "--", "sleep", "600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut holder = Guard::spawn(command, "namespace holder");
        let ours = fs::read_link("/proc/self/ns/net").expect("our network namespace");
        let link = format!("/proc/{}/ns/net", holder.pid());
        // unshare execs sleep once it has its namespace: wait until the link differs, so that
        // nothing ever joins ours by mistake.
        let separate = eventually(READY_TIMEOUT, || {
            fs::read_link(&link).is_ok_and(|l| l != ours)
        });
        if !separate {
            panic!(
                "unshare --net did not make a namespace (exited: {:?})",
                holder.exited()
            );
        }
        let ns = Netns { holder };
        let mut up = ns.command("ip");
        up.args(["link", "set", "lo", "up"]);
        let (status, _, err) = run_bounded(up, "ip link set lo up", READY_TIMEOUT);
        assert!(
            status.is_some_and(|s| s.success()),
            "ip link set lo up in the namespace: {err}"
        );
        ns
    }

    /// A command that runs `program` inside the namespace (nsenter execs it: same PID).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg("--target")
            .arg(self.holder.pid().to_string())
            .args(["--net", "--"])
            .arg(program);
        command
    }
}

// ---------------------------------------------------------------------------------------
// Our server.

/// Our `tftpd` inside the namespace on 127.0.0.1, logging to a file.
pub struct Server {
    guard: Guard,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    pub fn start(ns: &Netns, root: &Path, port: u16, log: PathBuf, flags: &[&str]) -> Server {
        let mut command = ns.command(tftpd_bin());
        command
            .arg("--root")
            .arg(root)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("server log file"));
        let mut guard = Guard::spawn(command, "tftpd");
        let ready = eventually(READY_TIMEOUT, || {
            fs::read_to_string(&log).is_ok_and(|t| t.contains("tftpd: serving"))
                || guard.exited().is_some()
        });
        let text = fs::read_to_string(&log).unwrap_or_default();
        assert!(
            ready && text.contains("tftpd: serving"),
            "tftpd did not start on 127.0.0.1:{port}: {text}"
        );
        Server { guard, port, log }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The parsed line of the read transfer of `name`, once logged (waits at most `limit`).
    pub fn transfer(&self, name: &str, limit: Duration) -> Option<LogLine> {
        let mut found = None;
        eventually(limit, || {
            found = self
                .log()
                .lines()
                .filter_map(LogLine::parse)
                .find(|l| l.name == name);
            found.is_some()
        });
        found
    }

    pub fn stop(&mut self) {
        self.guard.stop(Duration::from_secs(5));
    }
}

/// One transfer line of the server log, e.g.
/// `tftpd: 127.0.0.1:44898 read "f.bin" octet blksize=1468 windowsize=8 timeout=5: 300000
/// bytes in 0.028 s (10.8 MB/s), 0 retransmissions, ok`.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub raw: String,
    pub direction: String,
    pub name: String,
    /// The negotiated options as the server logs them (`blksize`, `windowsize`, `timeout`,
    /// `tsize`).
    pub options: BTreeMap<String, u64>,
    pub bytes: u64,
    pub seconds: f64,
    pub retransmissions: Option<u64>,
    pub ok: bool,
}

impl LogLine {
    pub fn parse(line: &str) -> Option<LogLine> {
        let rest = line.strip_prefix("tftpd: ")?;
        let (direction, after) = [("read", " read \""), ("write", " write \"")]
            .iter()
            .find_map(|(d, sep)| rest.split_once(sep).map(|(_, a)| (*d, a)))?;
        let (name, after) = after.split_once('"')?;
        let (head, tail) = after.split_once(": ")?;
        let options = head
            .split_whitespace()
            .filter_map(|t| t.split_once('='))
            .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
            .collect();
        let words: Vec<&str> = tail.split_whitespace().collect();
        if words.get(1) != Some(&"bytes") || words.get(2) != Some(&"in") {
            return None;
        }
        let retransmissions = tail
            .split(", ")
            .find_map(|p| p.strip_suffix(" retransmissions"))
            .and_then(|n| n.trim().parse().ok());
        Some(LogLine {
            raw: line.to_string(),
            direction: direction.to_string(),
            name: name.to_string(),
            options,
            bytes: words[0].parse().ok()?,
            seconds: words[3].parse().ok()?,
            retransmissions,
            ok: tail.trim_end().ends_with(", ok"),
        })
    }

    pub fn option(&self, key: &str) -> Option<u64> {
        self.options.get(key).copied()
    }
}

// ---------------------------------------------------------------------------------------
// Packet capture (dumpcap is the capture engine tshark itself runs; one process, one PID).

/// A capture of every UDP datagram on the namespace's `lo`.
pub struct Capture {
    guard: Guard,
    pub file: PathBuf,
    err: PathBuf,
}

impl Capture {
    pub fn start(ns: &Netns, file: PathBuf) -> Capture {
        let err = file.with_extension("dumpcap.txt");
        let mut command = ns.command("dumpcap");
        command
            .args(["-i", "lo", "-f", "udp", "-B", "64", "-q", "-w"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&err).expect("dumpcap log file"));
        let mut guard = Guard::spawn(command, "dumpcap");
        // dumpcap names the file once the interface is open and filtering.
        let ready = eventually(READY_TIMEOUT, || {
            fs::read_to_string(&err).is_ok_and(|t| t.contains("File:")) || guard.exited().is_some()
        });
        let text = fs::read_to_string(&err).unwrap_or_default();
        assert!(
            ready && guard.exited().is_none(),
            "dumpcap did not start: {text}"
        );
        Capture { guard, file, err }
    }

    /// Stops the capture (SIGINT, so dumpcap writes out what it holds); returns dumpcap's
    /// report, and fails if the kernel dropped packets.
    pub fn stop(&mut self) -> String {
        // Let the last datagrams reach the capture before it stops.
        thread::sleep(Duration::from_millis(300));
        self.guard.stop(Duration::from_secs(10));
        let text = fs::read_to_string(&self.err).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("received/dropped")) {
            let counts = line.rsplit(": ").next().unwrap_or("");
            let dropped = counts
                .split_whitespace()
                .next()
                .and_then(|c| c.split('/').nth(1))
                .and_then(|d| d.parse::<u64>().ok());
            assert_eq!(dropped, Some(0), "the capture dropped packets: {line}");
        }
        text
    }
}

/// One captured UDP datagram as tshark decodes it.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    pub number: u64,
    pub src_port: u16,
    pub dst_port: u16,
    /// None: tshark did not decode it as TFTP.
    pub opcode: Option<u16>,
    /// The block number on the wire (`tftp.block`; the checks count rollovers themselves).
    pub wire_block: Option<u16>,
    pub options: Vec<(String, String)>,
    pub file: String,
    pub error: String,
    pub malformed: bool,
    pub expert: Vec<(u32, String)>,
    /// The UDP payload. A frame taken on the sending host may hold a whole GSO batch: several
    /// datagrams back to back, split by the kernel after the capture tapped them.
    pub payload: Vec<u8>,
}

/// TFTP opcodes.
pub const RRQ: u16 = 1;
pub const DATA: u16 = 3;
pub const ACK: u16 = 4;
pub const ERROR: u16 = 5;
pub const OACK: u16 = 6;

/// Decodes `file` with tshark; `tftp_port` is the server's listening port when it is not 69
/// (decoded as TFTP with `-d udp.port==N,tftp`; tshark follows each transfer from its
/// request to the server's new port). ICMP (which quotes UDP headers) is left out.
pub fn decode(file: &Path, tftp_port: Option<u16>) -> Vec<Frame> {
    let fields = [
        "frame.number",
        "udp.srcport",
        "udp.dstport",
        "tftp.opcode",
        "tftp.block",
        "tftp.option.name",
        "tftp.option.value",
        "tftp.source_file",
        "tftp.error.message",
        "_ws.malformed",
        "_ws.expert.severity",
        "_ws.expert.message",
        "udp.payload",
    ];
    let mut command = Command::new("tshark");
    command.arg("-r").arg(file).args(["-n"]);
    if let Some(port) = tftp_port {
        command.args(["-d", &format!("udp.port=={port},tftp")]);
    }
    command.args([
        "-Y",
        "udp && !icmp",
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ]);
    for f in fields {
        command.args(["-e", f]);
    }
    let (status, out, err) = run_bounded(command, "tshark -r", DECODE_TIMEOUT);
    assert!(
        status.is_some_and(|s| s.success()),
        "tshark -r {} failed or timed out: {err}",
        file.display()
    );
    out.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("");
            let list = |i: usize| -> Vec<String> {
                get(i)
                    .split('|')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            let names = list(5);
            let values = list(6);
            let severities = list(10);
            let messages = list(11);
            Frame {
                number: get(0).parse().unwrap_or(0),
                src_port: get(1).parse().unwrap_or(0),
                dst_port: get(2).parse().unwrap_or(0),
                opcode: get(3).parse().ok(),
                wire_block: get(4).parse().ok(),
                options: names.into_iter().zip(values).collect(),
                file: get(7).to_string(),
                error: get(8).to_string(),
                malformed: !get(9).is_empty(),
                expert: severities
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        (
                            s.parse().unwrap_or(u32::MAX),
                            messages.get(i).cloned().unwrap_or_default(),
                        )
                    })
                    .collect(),
                payload: captured::from_hex(get(12)),
            }
        })
        .collect()
}

/// The DATA datagrams in `frames` (in capture order), each as (block counted across
/// rollovers, block on the wire), read from the UDP payloads: a frame holding a GSO batch of
/// `4 + blksize`-byte datagrams yields each of them. A datagram whose header is not DATA is a
/// problem.
fn data_datagrams(frames: &[&Frame], blksize: u64) -> Result<Vec<(u32, u16)>, String> {
    let blksize = usize::try_from(blksize).unwrap_or(usize::MAX - 4);
    let mut out = Vec::new();
    let mut last = 0u32;
    for f in frames {
        let blocks = captured::data_blocks(&f.payload, blksize)
            .map_err(|e| format!("frame {}: {e}", f.number))?;
        for wire in blocks {
            last = captured::unwrap_block(wire, last);
            out.push((last, wire));
        }
    }
    Ok(out)
}

/// What the capture must show for one read transfer.
pub struct Expect<'a> {
    pub file: &'a str,
    pub size: u64,
    /// The options the client's RRQ must carry, exactly (name, value), in any order.
    pub request: &'a [(&'a str, &'a str)],
    /// The options our OACK must carry, exactly.
    pub oack: &'a [(&'a str, &'a str)],
    pub blksize: u64,
    pub windowsize: u64,
}

/// What the capture showed for one read transfer.
#[derive(Debug)]
pub struct Seen {
    pub client_port: u16,
    pub server_port: u16,
    pub blocks: u64,
    /// DATA datagrams the capture holds (each datagram of a GSO batch counted).
    pub data_frames: u64,
    /// The blocks the client acknowledged, in order (ACK 0 of the OACK included).
    pub acks: Vec<u32>,
    pub payload_bytes: u64,
}

/// Whole-capture checks (R-INT-2): every UDP datagram decodes as TFTP, none is malformed or
/// carries an expert warning or error, and no ERROR was sent. Returns the note-level expert
/// messages (e.g. the block number rollover) for the report.
pub fn check_clean(frames: &[Frame]) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for f in frames {
        if f.opcode.is_none() {
            problems.push(format!("frame {} is not decoded as TFTP", f.number));
        }
        if f.malformed {
            problems.push(format!("frame {} is malformed", f.number));
        }
        for (severity, message) in &f.expert {
            if *severity >= SEVERITY_WARN {
                problems.push(format!(
                    "frame {}: expert {severity:#x}: {message}",
                    f.number
                ));
            } else if !notes.contains(message) {
                notes.push(message.clone());
            }
        }
        if f.opcode == Some(ERROR) {
            problems.push(format!(
                "frame {}: ERROR packet {} -> {}: {}",
                f.number, f.src_port, f.dst_port, f.error
            ));
        }
    }
    if frames.is_empty() {
        problems.push("the capture holds no UDP datagram".to_string());
    }
    if problems.is_empty() {
        Ok(notes)
    } else {
        Err(problems.join("\n"))
    }
}

fn sorted(options: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = options
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    v.sort();
    v
}

/// Checks one read transfer in the capture: the request's and the OACK's options, every DATA
/// block from 1 to the last (short) one, and the client's ACKs (every block in lock-step, or
/// the last block of each window and the final block, R-OPT-8).
pub fn check_transfer(frames: &[Frame], expect: &Expect) -> Result<Seen, String> {
    let rrqs: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.opcode == Some(RRQ) && f.file == expect.file)
        .collect();
    let rrq = rrqs
        .first()
        .ok_or_else(|| format!("no RRQ for {}", expect.file))?;
    let want = |o: &[(&str, &str)]| sorted(o.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut problems = Vec::new();
    if rrqs.len() > 1 {
        problems.push(format!("{} RRQs for {}", rrqs.len(), expect.file));
    }
    if sorted(rrq.options.clone()) != want(expect.request) {
        problems.push(format!(
            "RRQ options {:?}, expected {:?}",
            rrq.options, expect.request
        ));
    }
    let client = rrq.src_port;
    let oack = frames
        .iter()
        .find(|f| f.number > rrq.number && f.opcode == Some(OACK) && f.dst_port == client)
        .ok_or_else(|| format!("no OACK to port {client}"))?;
    let server = oack.src_port;
    if sorted(oack.options.clone()) != want(expect.oack) {
        problems.push(format!(
            "OACK options {:?}, expected {:?}",
            oack.options, expect.oack
        ));
    }
    let blocks = expect.size / expect.blksize + 1; // R-XFR-2: a short (maybe empty) last one
    let data: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.opcode == Some(DATA) && f.src_port == server && f.dst_port == client)
        .collect();
    let datagrams = data_datagrams(&data, expect.blksize)?;
    let mut seen_blocks: Vec<u32> = datagrams.iter().map(|(full, _)| *full).collect();
    seen_blocks.sort_unstable();
    seen_blocks.dedup();
    let all: Vec<u32> = (1..=blocks as u32).collect();
    if seen_blocks != all {
        problems.push(format!(
            "DATA blocks seen: {} distinct (first {:?}, last {:?}), expected 1..={blocks}",
            seen_blocks.len(),
            seen_blocks.first(),
            seen_blocks.last()
        ));
    }
    // R-XFR-11: past block 65535 the numbers on the wire go on from 0.
    if blocks > 65535 {
        let wrapped: Vec<u16> = datagrams
            .iter()
            .filter(|(full, _)| *full == 65536)
            .map(|(_, wire)| *wire)
            .collect();
        if wrapped.is_empty() || wrapped.iter().any(|b| *b != 0) {
            problems.push(format!(
                "DATA block 65536 went on the wire as {wrapped:?}, expected 0"
            ));
        }
    }
    let mut last_ack = 0u32;
    let acks: Vec<u32> = frames
        .iter()
        .filter(|f| f.opcode == Some(ACK) && f.src_port == client && f.dst_port == server)
        .filter_map(|f| f.wire_block)
        .map(|wire| {
            last_ack = captured::unwrap_block(wire, last_ack);
            last_ack
        })
        .collect();
    let retransmitted = datagrams.len() as u64 > blocks;
    if !retransmitted {
        // Without loss or retransmission the ACKs are exactly predictable.
        let w = expect.windowsize as u32;
        let mut expected: Vec<u32> = vec![0];
        expected.extend((1..=blocks as u32).filter(|b| b % w == 0 || *b == blocks as u32));
        if acks != expected {
            problems.push(format!(
                "ACKs {} (first {:?}), expected {} (windowsize {w})",
                acks.len(),
                &acks[..acks.len().min(12)],
                expected.len()
            ));
        }
    }
    if problems.is_empty() {
        Ok(Seen {
            client_port: client,
            server_port: server,
            blocks,
            data_frames: datagrams.len() as u64,
            acks,
            payload_bytes: expect.size,
        })
    } else {
        Err(problems.join("\n"))
    }
}

/// tshark's one-line summaries of the TFTP packets in `file` (for failure reports): the first
/// and last `n`.
pub fn summary(file: &Path, tftp_port: Option<u16>, n: usize) -> String {
    let mut command = Command::new("tshark");
    command.arg("-r").arg(file).arg("-n");
    if let Some(port) = tftp_port {
        command.args(["-d", &format!("udp.port=={port},tftp")]);
    }
    command.args(["-Y", "udp"]);
    let (_, out, err) = run_bounded(command, "tshark summary", DECODE_TIMEOUT);
    let lines: Vec<&str> = out.lines().collect();
    let mut text = String::new();
    if lines.len() <= 2 * n {
        text.push_str(&lines.join("\n"));
    } else {
        text.push_str(&lines[..n].join("\n"));
        let _ = write!(text, "\n... {} more ...\n", lines.len() - 2 * n);
        text.push_str(&lines[lines.len() - n..].join("\n"));
    }
    if lines.is_empty() {
        text.push_str(&err);
    }
    text
}

// ---------------------------------------------------------------------------------------
// QEMU's serial console.

/// A QEMU process whose serial console is its stdin and stdout (`-nographic`/`-serial
/// stdio`); a pipe, not a terminal, which QEMU reads as typed characters.
pub struct Console {
    guard: Guard,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    cursor: usize,
    readers: Vec<JoinHandle<()>>,
    transcript: PathBuf,
}

impl Console {
    /// Starts `command`; `interactive` gives it a stdin pipe (else /dev/null). The whole
    /// output (stdout and stderr) is also written to `transcript` when the console is dropped.
    pub fn spawn(mut command: Command, interactive: bool, transcript: PathBuf) -> Console {
        command
            .stdin(if interactive {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut guard = Guard::spawn(command, "qemu");
        let stdin = guard.proc.child.stdin.take();
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(guard.proc.child.stdout.take().expect("stdout")),
            Box::new(guard.proc.child.stderr.take().expect("stderr")),
        ];
        for mut pipe in pipes {
            let out = Arc::clone(&out);
            readers.push(thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock()
                        .expect("console buffer")
                        .extend_from_slice(&buf[..n]);
                }
            }));
        }
        Console {
            guard,
            stdin,
            out,
            cursor: 0,
            readers,
            transcript,
        }
    }

    /// Everything printed so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().expect("console buffer")).into_owned()
    }

    /// The last `n` characters printed (for failure messages).
    pub fn tail(&self, n: usize) -> String {
        let text = self.text();
        let start = text.len().saturating_sub(n);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    /// Waits at most `limit` for `pattern` after the cursor; returns the text from the cursor
    /// to the end of the match and moves the cursor there.
    pub fn expect(&mut self, pattern: &str, limit: Duration) -> Result<String, String> {
        let start = Instant::now();
        loop {
            {
                let out = self.out.lock().expect("console buffer");
                let after = &out[self.cursor.min(out.len())..];
                if let Some(at) = find(after, pattern.as_bytes()) {
                    let end = at + pattern.len();
                    let text = String::from_utf8_lossy(&after[..end]).into_owned();
                    self.cursor += end;
                    return Ok(text);
                }
            }
            if let Some(status) = self.guard.exited() {
                // Let the readers drain what is left, then look once more.
                thread::sleep(Duration::from_millis(100));
                let out = self.out.lock().expect("console buffer");
                let after = &out[self.cursor.min(out.len())..];
                if let Some(at) = find(after, pattern.as_bytes()) {
                    let end = at + pattern.len();
                    let text = String::from_utf8_lossy(&after[..end]).into_owned();
                    self.cursor += end;
                    return Ok(text);
                }
                return Err(format!("QEMU exited ({status}) before {pattern:?}"));
            }
            if start.elapsed() >= limit {
                return Err(format!("no {pattern:?} within {limit:?}"));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `text` on the console.
    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("an interactive console");
        stdin.write_all(text.as_bytes()).expect("write to QEMU");
        stdin.flush().expect("flush to QEMU");
    }

    /// Waits at most `limit` for QEMU to end.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        self.guard.wait_bounded(limit)
    }

    /// Kills QEMU (by PID) if it still runs, and collects the rest of its output.
    pub fn finish(&mut self) {
        self.stdin = None;
        if self.guard.exited().is_none() {
            let _ = self.guard.proc.child.kill();
            let _ = self.guard.proc.child.wait();
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.finish();
        let _ = fs::write(&self.transcript, self.text());
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `text` without ANSI escape sequences and carriage returns.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if n.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}
