//! Interop (R-INT-1): our `tftpd` with third-party clients on loopback — tftp-hpa, atftp, curl
//! and busybox — downloads and uploads, compared by SHA-256.
//!
//! Each test starts its own server on a free port with its own temporary root. A test runs its
//! whole matrix and then fails with every failed cell listed; each cell prints one line
//! `MATRIX peer | direction | options | size | ok/FAIL | seconds` (see them with
//! `--nocapture`). Peers are found with `procs::require_peer`: missing ones skip loudly, or
//! fail under CI.

#![cfg(unix)]

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use procs::{
    content, output_text, require_peer, run_bounded, sha256_hex, start_our_server, ChildGuard,
    TempDir,
};

/// Longest run of one client.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// The sizes every client moves both ways: empty, around one 512-byte block, and 1 MiB.
const SIZES: [usize; 5] = [0, 511, 512, 513, 1 << 20];
/// One block past 65535 blocks of 512 bytes: the block number rolls over.
const ROLLOVER: usize = 512 * 65536 + 100;

// ---------------------------------------------------------------------------------------
// Fixture and matrix.

/// Our server on a temporary root, and a temporary folder for the client's files.
struct Fixture {
    // The server is dropped (killed) before the folders go.
    server: ChildGuard,
    addr: SocketAddr,
    root: TempDir,
    local: TempDir,
}

impl Fixture {
    /// Our server, accepting uploads, with `files` (name, bytes) in its root.
    fn new(tag: &str, files: &[(String, Vec<u8>)]) -> Fixture {
        let root = TempDir::new(&format!("{tag}-root"));
        let local = TempDir::new(&format!("{tag}-local"));
        for (name, bytes) in files {
            fs::write(root.path().join(name), bytes).expect("write a served file");
        }
        let (server, addr) = start_our_server(root.path(), &["--allow-create", "--allow-write"]);
        Fixture {
            server,
            addr,
            root,
            local,
        }
    }

    fn port(&self) -> String {
        self.addr.port().to_string()
    }

    fn local(&self, name: &str) -> PathBuf {
        self.local.path().join(name)
    }

    fn served(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Temporary upload files (`.NAME.tftp-RANDOM.part`) left in the root.
    fn leftovers(&self) -> Vec<String> {
        self.root
            .names()
            .into_iter()
            .filter(|n| n.ends_with(".part") || n.contains(".tftp-"))
            .collect()
    }
}

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

    /// Runs one cell and prints its line.
    fn cell(
        &mut self,
        dir: &str,
        options: &str,
        size: usize,
        run: impl FnOnce() -> Result<(), String>,
    ) {
        let start = Instant::now();
        let result = run();
        let secs = start.elapsed().as_secs_f64();
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

    /// Fails with every failed cell and the server's log.
    fn finish(self, fixture: &Fixture) {
        let leftovers = fixture.leftovers();
        assert!(
            self.failures.is_empty() && leftovers.is_empty(),
            "{} failed cells:\n{}\ntemporary files left in the root: {leftovers:?}\n--- server log\n{}",
            self.failures.len(),
            self.failures.join("\n\n"),
            fixture.server.log_text()
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
        Err(format!("client failed:\n{}", output_text(out)))
    }
}

fn files_of_sizes(prefix: &str, seed: u64) -> Vec<(String, Vec<u8>)> {
    SIZES
        .iter()
        .enumerate()
        .map(|(i, &size)| (format!("{prefix}{size}"), content(size, seed + i as u64)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Client command lines (as checked in .ci/PEERS-CHECKED.md).

/// tftp-hpa one-shot: `tftp 127.0.0.1 PORT -m MODE -c get|put A B`. It exits 0 even on an
/// ERROR, so its output is checked for "Error" too.
fn tftp_hpa(
    bin: &Path,
    f: &Fixture,
    mode: &str,
    verb: &str,
    a: &Path,
    b: &Path,
) -> Result<Output, String> {
    let out = run_bounded(
        Command::new(bin)
            .args(["127.0.0.1", &f.port(), "-m", mode, "-c", verb])
            .arg(a)
            .arg(b),
        RUN_TIMEOUT,
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() || text.contains("Error") || text.contains("timed out") {
        return Err(format!("tftp-hpa failed:\n{}", output_text(&out)));
    }
    Ok(out)
}

/// atftp: `atftp [--option "N V"]... -g|-p -r REMOTE -l LOCAL 127.0.0.1 PORT`.
fn atftp(
    bin: &Path,
    f: &Fixture,
    options: &[&str],
    verb: &str,
    remote: &str,
    local: &Path,
) -> Output {
    let mut cmd = Command::new(bin);
    for o in options {
        cmd.args(["--option", o]);
    }
    cmd.args([verb, "-r", remote, "-l"])
        .arg(local)
        .args(["127.0.0.1", &f.port()]);
    run_bounded(&mut cmd, RUN_TIMEOUT)
}

/// curl, always bounded by its own `-m` too.
fn curl(bin: &Path, args: &[&str], extra: &[&std::ffi::OsStr]) -> Output {
    run_bounded(
        Command::new(bin)
            .args(["-sS", "--connect-timeout", "10", "-m", "60"])
            .args(args)
            .args(extra),
        RUN_TIMEOUT,
    )
}

/// busybox tftp: `busybox tftp -g|-p [-b N] -r REMOTE -l LOCAL 127.0.0.1 PORT`.
fn busybox(
    bin: &Path,
    f: &Fixture,
    blksize: Option<&str>,
    verb: &str,
    remote: &str,
    local: &Path,
) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(["tftp", verb]);
    if let Some(b) = blksize {
        cmd.args(["-b", b]);
    }
    cmd.args(["-r", remote, "-l"])
        .arg(local)
        .args(["127.0.0.1", &f.port()]);
    run_bounded(&mut cmd, RUN_TIMEOUT)
}

// ---------------------------------------------------------------------------------------
// tftp-hpa: no options at all (512-byte blocks, lock-step).

// R-INT-1, R-XFR-2: tftp-hpa `-m binary` gets and puts 0, 511, 512, 513 bytes and 1 MiB.
#[test]
fn r_int_1_tftp_hpa_binary_get_and_put() {
    let Some(bin) = require_peer("tftp") else {
        return;
    };
    let files = files_of_sizes("f", 100);
    let f = Fixture::new("hpa", &files);
    let mut m = Matrix::new("tftp-hpa");
    for (name, bytes) in &files {
        let size = bytes.len();
        m.cell("get", "-m binary", size, || {
            let local = f.local(name);
            let out = tftp_hpa(&bin, &f, "binary", "get", Path::new(name), &local)?;
            same_bytes(&local, bytes, &out)
        });
        m.cell("put", "-m binary", size, || {
            let up = format!("up-{name}");
            let out = tftp_hpa(&bin, &f, "binary", "put", &f.served(name), Path::new(&up))?;
            same_bytes(&f.served(&up), bytes, &out)
        });
    }
    m.finish(&f);
}

/// A text with LF line ends whose netascii form puts a CR LF exactly at the end of block 1
/// and splits the next CR LF across blocks 2 and 3, then many lines of varied lengths.
fn lf_text() -> Vec<u8> {
    let mut text = Vec::new();
    text.extend(std::iter::repeat_n(b'a', 510));
    text.push(b'\n'); // netascii: 510 + CR LF = block 1 exactly
    text.extend(std::iter::repeat_n(b'b', 511));
    text.push(b'\n'); // netascii: CR ends block 2, LF starts block 3
    for i in 0..3000usize {
        let len = (i * 37) % 120;
        text.extend((0..len).map(|j| b'!' + ((i + j) % 90) as u8));
        text.push(b'\n');
        if i % 50 == 0 {
            text.push(b'\n'); // an empty line
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

// R-INT-1, R-MOD-2: tftp-hpa netascii: a text with LF line ends comes back identical on get,
// and a put stores it with LF line ends; so does a text with bare CRs at block ends.
#[test]
fn r_int_1_tftp_hpa_netascii_get_and_put() {
    let Some(bin) = require_peer("tftp") else {
        return;
    };
    let text = lf_text();
    let short = b"one line\n\nthird line\n".to_vec();
    let files = vec![
        ("text.txt".to_string(), text.clone()),
        ("short.txt".to_string(), short.clone()),
        ("cr.txt".to_string(), cr_text()),
        ("empty.txt".to_string(), Vec::new()),
    ];
    let f = Fixture::new("hpa-na", &files);
    let mut m = Matrix::new("tftp-hpa");
    for (name, bytes) in &files {
        m.cell("get", "-m netascii", bytes.len(), || {
            let local = f.local(name);
            let out = tftp_hpa(&bin, &f, "netascii", "get", Path::new(name), &local)?;
            same_bytes(&local, bytes, &out)
        });
        m.cell("put", "-m netascii", bytes.len(), || {
            let up = format!("up-{name}");
            let out = tftp_hpa(&bin, &f, "netascii", "put", &f.served(name), Path::new(&up))?;
            same_bytes(&f.served(&up), bytes, &out)
        });
    }
    m.finish(&f);
}

// ---------------------------------------------------------------------------------------
// atftp: blksize, windowsize, tsize and timeout in combinations.

/// Option sets for atftp: lock-step and windowed.
const ATFTP_LOCKSTEP: [&[&str]; 3] = [
    &[],
    &["blksize 1468", "tsize 0", "timeout 2"],
    &["blksize 8", "tsize 0"],
];
const ATFTP_WINDOWED: [&[&str]; 3] = [
    &["blksize 1468", "windowsize 8", "tsize 0"],
    &["blksize 512", "windowsize 16", "timeout 2"],
    // Two blocks of 65464: four overflow atftp's default 208 KiB socket buffer under load,
    // and each lost block then waits out the negotiated 2 s timeout.
    &["blksize 65464", "windowsize 2", "tsize 0", "timeout 2"],
];

fn atftp_matrix(tag: &str, sets: &[&[&str]], seed: u64) {
    let Some(bin) = require_peer("atftp") else {
        return;
    };
    let files = files_of_sizes("f", seed);
    let f = Fixture::new(tag, &files);
    let mut m = Matrix::new("atftp");
    for (set, options) in sets.iter().enumerate() {
        let label = options.join(", ");
        for (name, bytes) in &files {
            let size = bytes.len();
            if options.contains(&"blksize 8") && size > 4096 {
                continue; // 131072 lock-step blocks of 8 bytes: too slow to be worth it
            }
            m.cell("get", &label, size, || {
                let local = f.local(&format!("{name}-{set}"));
                let out = atftp(&bin, &f, options, "-g", name, &local);
                exited_0(&out)?;
                same_bytes(&local, bytes, &out)
            });
            m.cell("put", &label, size, || {
                let up = format!("up-{name}-{set}");
                let out = atftp(&bin, &f, options, "-p", &up, &f.served(name));
                exited_0(&out)?;
                same_bytes(&f.served(&up), bytes, &out)
            });
        }
    }
    m.finish(&f);
}

// R-INT-1, R-OPT-5, R-OPT-6, R-OPT-7: atftp lock-step, with no options, with
// blksize 1468 + tsize + timeout, and with the smallest blksize (8).
#[test]
fn r_int_1_atftp_lockstep_get_and_put() {
    atftp_matrix("atftp-ls", &ATFTP_LOCKSTEP, 200);
}

// R-INT-1, R-OPT-8: atftp windowed (RFC 7440), windowsize 4..16 at blksize 512, 1468, 65464.
#[test]
fn r_int_1_atftp_windowed_get_and_put() {
    atftp_matrix("atftp-win", &ATFTP_WINDOWED, 300);
}

// ---------------------------------------------------------------------------------------
// curl: tsize, blksize and timeout on every request.

// R-INT-1, R-OPT-5, R-OPT-7: curl gets and puts with --tftp-blksize 512, 1468 and 65464.
//
// curl refuses an OACK whose tsize is 0 ("invalid tsize -:0:- value in OACK packet", exit 71)
// whatever the server (tftpd-hpa does the same), so the empty file is fetched with
// --tftp-no-options.
#[test]
fn r_int_1_curl_get_and_put() {
    let Some(bin) = require_peer("curl") else {
        return;
    };
    let files = files_of_sizes("f", 400);
    let f = Fixture::new("curl", &files);
    let mut m = Matrix::new("curl");
    for blksize in ["512", "1468", "65464"] {
        for (name, bytes) in &files {
            let size = bytes.len();
            let options: &[&str] = if size == 0 {
                &["--tftp-no-options"]
            } else {
                &["--tftp-blksize", blksize]
            };
            let label = options.join(" ");
            m.cell("get", &label, size, || {
                let local = f.local(&format!("{name}-{blksize}"));
                let url = format!("tftp://127.0.0.1:{}/{name}", f.port());
                let out = curl(
                    &bin,
                    options,
                    &["-o".as_ref(), local.as_os_str(), url.as_ref()],
                );
                exited_0(&out)?;
                same_bytes(&local, bytes, &out)
            });
            let label = format!("--tftp-blksize {blksize}");
            m.cell("put", &label, size, || {
                let up = format!("up-{name}-{blksize}");
                let url = format!("tftp://127.0.0.1:{}/{up}", f.port());
                let source = f.served(name);
                let out = curl(
                    &bin,
                    &["--tftp-blksize", blksize],
                    &["-T".as_ref(), source.as_os_str(), url.as_ref()],
                );
                exited_0(&out)?;
                same_bytes(&f.served(&up), bytes, &out)
            });
        }
    }
    m.finish(&f);
}

// ---------------------------------------------------------------------------------------
// busybox: tsize always, blksize with -b.

// R-INT-1, R-OPT-5: busybox tftp gets and puts, default and -b 1468.
#[test]
fn r_int_1_busybox_get_and_put() {
    let Some(bin) = require_peer("busybox") else {
        return;
    };
    let files = files_of_sizes("f", 500);
    let f = Fixture::new("bb", &files);
    let mut m = Matrix::new("busybox");
    for blksize in [None, Some("1468")] {
        let label = blksize.map_or("default".to_string(), |b| format!("-b {b}"));
        for (name, bytes) in &files {
            let size = bytes.len();
            let tag = blksize.unwrap_or("d");
            m.cell("get", &label, size, || {
                let local = f.local(&format!("{name}-{tag}"));
                let out = busybox(&bin, &f, blksize, "-g", name, &local);
                exited_0(&out)?;
                same_bytes(&local, bytes, &out)
            });
            m.cell("put", &label, size, || {
                let up = format!("up-{name}-{tag}");
                let out = busybox(&bin, &f, blksize, "-p", &up, &f.served(name));
                exited_0(&out)?;
                same_bytes(&f.served(&up), bytes, &out)
            });
        }
    }
    m.finish(&f);
}

// ---------------------------------------------------------------------------------------
// Block-number rollover: 65537 blocks of 512 bytes.

// R-INT-1, R-XFR-11: downloads past block 65535, without options (tftp-hpa, lock-step) and
// with options (atftp, tsize + windowsize 16 at blksize 512).
#[test]
fn r_int_1_rollover_get() {
    let (Some(hpa), Some(at)) = (require_peer("tftp"), require_peer("atftp")) else {
        return;
    };
    let big = content(ROLLOVER, 600);
    let f = Fixture::new("roll-get", &[("big".to_string(), big.clone())]);
    let mut m = Matrix::new("tftp-hpa");
    m.cell("get", "-m binary (no options)", ROLLOVER, || {
        let local = f.local("big-hpa");
        let out = tftp_hpa(&hpa, &f, "binary", "get", Path::new("big"), &local)?;
        same_bytes(&local, &big, &out)
    });
    m.peer = "atftp";
    let options = ["blksize 512", "windowsize 16", "tsize 0"];
    m.cell("get", &options.join(", "), ROLLOVER, || {
        let local = f.local("big-atftp");
        let out = atftp(&at, &f, &options, "-g", "big", &local);
        exited_0(&out)?;
        same_bytes(&local, &big, &out)
    });
    m.finish(&f);
}

// R-INT-1, R-XFR-11, R-OPT-8, R-SRV-3: uploads past block 65535, without options (tftp-hpa)
// and with options (atftp, blksize 512 + tsize lock-step, and windowsize 16); no temporary
// file is left.
#[test]
fn r_int_1_rollover_put() {
    let (Some(hpa), Some(at)) = (require_peer("tftp"), require_peer("atftp")) else {
        return;
    };
    let big = content(ROLLOVER, 700);
    let f = Fixture::new("roll-put", &[]);
    let source = f.local("big");
    fs::write(&source, &big).expect("write the big file");
    let mut m = Matrix::new("tftp-hpa");
    m.cell("put", "-m binary (no options)", ROLLOVER, || {
        let out = tftp_hpa(&hpa, &f, "binary", "put", &source, Path::new("up-hpa"))?;
        same_bytes(&f.served("up-hpa"), &big, &out)
    });
    m.peer = "atftp";
    let sets: [&[&str]; 2] = [
        &["blksize 512", "tsize 0"],
        &["blksize 512", "windowsize 16"],
    ];
    for (i, options) in sets.iter().enumerate() {
        m.cell("put", &options.join(", "), ROLLOVER, || {
            let up = format!("up-atftp-{i}");
            let out = atftp(&at, &f, options, "-p", &up, &source);
            exited_0(&out)?;
            same_bytes(&f.served(&up), &big, &out)
        });
    }
    m.finish(&f);
}

// ---------------------------------------------------------------------------------------
// Errors reach every client.

// R-INT-1, R-PKT-7: a get of a missing file fails in every client (curl exit 68, busybox 1,
// atftp non-zero, tftp-hpa prints "Error code 1") and no client keeps a partial file with
// content.
#[test]
fn r_int_1_missing_file_fails_in_every_client() {
    let f = Fixture::new("missing", &[]);
    let mut m = Matrix::new("tftp-hpa");
    if let Some(bin) = require_peer("tftp") {
        m.cell("get", "missing file", 0, || {
            let local = f.local("hpa");
            match tftp_hpa(&bin, &f, "binary", "get", Path::new("nope"), &local) {
                Err(text) if text.contains("Error code 1") => Ok(()),
                Err(text) => Err(format!("expected Error code 1: {text}")),
                Ok(out) => Err(format!("no error reported:\n{}", output_text(&out))),
            }
        });
    }
    m.peer = "atftp";
    if let Some(bin) = require_peer("atftp") {
        m.cell("get", "missing file", 0, || {
            let out = atftp(&bin, &f, &[], "-g", "nope", &f.local("atftp"));
            if out.status.success() {
                Err(format!("exit 0:\n{}", output_text(&out)))
            } else {
                Ok(())
            }
        });
    }
    m.peer = "curl";
    if let Some(bin) = require_peer("curl") {
        m.cell("get", "missing file", 0, || {
            let local = f.local("curl");
            let url = format!("tftp://127.0.0.1:{}/nope", f.port());
            let out = curl(&bin, &[], &["-o".as_ref(), local.as_os_str(), url.as_ref()]);
            match out.status.code() {
                Some(68) => Ok(()),
                _ => Err(format!("expected exit 68:\n{}", output_text(&out))),
            }
        });
    }
    m.peer = "busybox";
    if let Some(bin) = require_peer("busybox") {
        m.cell("get", "missing file", 0, || {
            let local = f.local("busybox");
            let out = busybox(&bin, &f, None, "-g", "nope", &local);
            if out.status.success() || local.exists() {
                Err(format!("exit 0 or a local file:\n{}", output_text(&out)))
            } else {
                Ok(())
            }
        });
    }
    for name in f.local.names() {
        let len = fs::metadata(f.local(&name)).map_or(0, |m| m.len());
        assert_eq!(len, 0, "{name} got content from a failed get");
    }
    m.finish(&f);
}
