//! Socket activation for tests: a program started through `systemd-socket-activate`, which
//! binds the socket, waits for the first datagram (or connection) and then execs the program
//! in its own process with `LISTEN_PID` and `LISTEN_FDS` set, as systemd does for a `.socket`
//! unit. Needs `procs` included beside it.
//!
//! Include with `#[path = "support/activate.rs"] mod activate;`.

#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::procs::{self, ChildGuard};

/// `systemd-socket-activate`, or None (and a SKIPPED line; a panic under CI).
pub fn launcher() -> Option<PathBuf> {
    procs::require_peer("systemd-socket-activate")
}

/// A log file path for one child.
pub fn log_path(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "activate-{}-{tag}-{}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Runs `program args...` (a command line: the program first) as `wrapper...
/// systemd-socket-activate LAUNCH_ARGS program args...`, stdout and stderr to the guard's
/// log, and waits until the launcher says it listens. `wrapper` is empty or a command that
/// execs the rest in the same process (`unshare -n`, `strace -f -o FILE`).
pub fn start(
    launcher: &Path,
    wrapper: &[&OsStr],
    launch_args: &[&str],
    command_line: &[OsString],
) -> ChildGuard {
    let log = log_path("launch");
    let (program, rest): (&OsStr, Vec<&OsStr>) = match wrapper.split_first() {
        Some((first, more)) => {
            let mut rest = more.to_vec();
            rest.push(launcher.as_os_str());
            (first, rest)
        }
        None => (launcher.as_os_str(), Vec::new()),
    };
    let file = fs::File::create(&log).expect("log file");
    let child = Command::new(program)
        .args(rest)
        .args(launch_args)
        .args(command_line)
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program:?}: {e}"));
    let mut guard = ChildGuard {
        child,
        log: Some(log),
    };
    let listening = procs::eventually(procs::START_TIMEOUT, || {
        guard.log_text().contains("Listening on") || guard.wait_timeout(Duration::ZERO).is_some()
    });
    assert!(
        listening && guard.log_text().contains("Listening on"),
        "the launcher did not listen: {}",
        guard.log_text()
    );
    guard
}

/// The target of `/proc/PID/fd/FD` (`socket:[INODE]` for a socket).
pub fn fd_link(pid: u32, fd: u32) -> String {
    fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// The file name of the program process `pid` runs now.
pub fn exe_name(pid: u32) -> String {
    fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// The value of `field` (e.g. "Uid", "CapEff", "NoNewPrivs") in `/proc/PID/status`.
pub fn status_field(pid: u32, field: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// Runs tftp-hpa (octet) `verb a b` against `host port` in `dir`, with `prefix` before the
/// client (e.g. `nsenter -t PID -n`).
pub fn tftp_hpa(
    prefix: &[&str],
    host: &str,
    port: u16,
    verb: &str,
    a: &str,
    b: &str,
    dir: &Path,
) -> Output {
    let tftp = procs::which("tftp").expect("tftp-hpa");
    let (program, args): (PathBuf, Vec<String>) = match prefix.split_first() {
        Some((first, more)) => {
            let mut args: Vec<String> = more.iter().map(|s| s.to_string()).collect();
            args.push(tftp.display().to_string());
            (PathBuf::from(first), args)
        }
        None => (tftp, Vec::new()),
    };
    let port = port.to_string();
    procs::run_bounded(
        Command::new(program)
            .args(args)
            .args([host, &port, "-m", "binary", "-c", verb, a, b])
            .current_dir(dir),
        Duration::from_secs(60),
    )
}

/// Fetches `remote` with [`tftp_hpa`] into `dir/local`; returns the bytes fetched (tftp-hpa
/// exits 0 on an ERROR and leaves an empty file, so only the content tells).
pub fn tftp_hpa_get(
    prefix: &[&str],
    host: &str,
    port: u16,
    remote: &str,
    dir: &Path,
    local: &str,
) -> Vec<u8> {
    let out = tftp_hpa(prefix, host, port, "get", remote, local, dir);
    let got = fs::read(dir.join(local)).unwrap_or_default();
    if got.is_empty() {
        eprintln!("tftp-hpa got nothing: {}", procs::output_text(&out));
    }
    got
}
