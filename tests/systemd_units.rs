//! The shipped unit pair, `examples/driver/systemd/tftpd.socket` and `tftpd.service`:
//! `systemd-analyze verify` has nothing to say about them (and does speak up about a broken
//! copy), `systemd-analyze security` rates the service's exposure low, the socket listens on
//! port 69 for IPv4 and IPv6 (R-SRV-5), the service's ExecStart serves port 69 with no
//! privilege at all when handed the socket, and every system call it makes while serving is
//! one its SystemCallFilter allows. systemd need not be running (it is not PID 1 here): these
//! checks read unit files offline, and `systemd-socket-activate` stands in for the socket
//! unit.

#[path = "support/procs.rs"]
mod procs;

#[path = "support/activate.rs"]
mod activate;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Where the shipped ExecStart expects the program.
const INSTALLED: &str = "/usr/local/bin/tftpd";

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/driver/systemd")
}

fn unit(name: &str) -> String {
    fs::read_to_string(units_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The values of `key=` lines in `text`, in order.
fn values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .collect()
}

fn systemd_analyze() -> Option<PathBuf> {
    procs::require_peer("systemd-analyze")
}

/// The two units in a fresh folder, ExecStart pointing at the built server (verify checks
/// that the program exists), the service text passed through `edit`.
fn units_copy(edit: impl Fn(String) -> String) -> procs::TempDir {
    let dir = procs::TempDir::new("units");
    let tftpd = procs::our_bin("tftpd");
    let service = unit("tftpd.service").replace(INSTALLED, tftpd.to_str().expect("path"));
    fs::write(dir.path().join("tftpd.service"), edit(service)).expect("write service");
    fs::write(dir.path().join("tftpd.socket"), unit("tftpd.socket")).expect("write socket");
    dir
}

fn verify(analyze: &Path, dir: &Path) -> Output {
    procs::run_bounded(
        Command::new(analyze)
            .args(["verify", "--man=no", "./tftpd.socket", "./tftpd.service"])
            .current_dir(dir),
        Duration::from_secs(60),
    )
}

// systemd-analyze verify finds nothing to warn about: no unknown key, no bad value, the
// program exists, the socket and service match.
#[test]
fn the_units_pass_systemd_analyze_verify() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let dir = units_copy(|s| s);
    let out = verify(&analyze, dir.path());
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        procs::output_text(&out)
    );
}

// The check above can fail: a misspelt key and a missing program are reported.
#[test]
fn systemd_analyze_verify_speaks_up_about_a_broken_unit() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let dir = units_copy(|s| s.replace("ProtectHome=yes", "ProtectHome=yes\nProtectHoem=yes"));
    let out = verify(&analyze, dir.path());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ProtectHoem"),
        "{}",
        procs::output_text(&out)
    );
    let tftpd = procs::our_bin("tftpd");
    let dir = units_copy(|s| s.replace(tftpd.to_str().unwrap(), "/nonexistent/tftpd"));
    let out = verify(&analyze, dir.path());
    assert!(!out.status.success(), "{}", procs::output_text(&out));
}

// The hardening adds up: systemd-analyze's offline security review rates the service's
// exposure at most 2.0 ("OK"; an unhardened service rates 9.6).
#[test]
fn the_service_exposure_is_low() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let dir = units_copy(|s| s);
    let out = procs::run_bounded(
        Command::new(&analyze)
            .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
            .arg("./tftpd.service")
            .current_dir(dir.path()),
        Duration::from_secs(60),
    );
    let text = procs::output_text(&out);
    let level = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for tftpd.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no exposure level in {text}"));
    assert!(
        out.status.success() && level <= 2.0,
        "exposure {level}:\n{text}"
    );
    for key in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(
            unit("tftpd.service").contains(key),
            "no {key:?} in tftpd.service"
        );
    }
}

// R-SRV-5: the socket unit listens on UDP port 69, one socket for IPv4 and IPv6.
#[test]
fn r_srv_5_the_socket_unit_listens_on_port_69_for_both_families() {
    let socket = unit("tftpd.socket");
    assert_eq!(values(&socket, "ListenDatagram"), ["69"]);
    assert_eq!(values(&socket, "BindIPv6Only"), ["both"]);
    assert!(values(&socket, "ListenStream").is_empty());
}

/// The service's ExecStart as a command line: the built server for the installed path, and
/// `root` for /srv/tftp; `extra` arguments after it.
fn exec_start(root: &Path, extra: &[&str]) -> Vec<OsString> {
    let service = unit("tftpd.service");
    let line = values(&service, "ExecStart");
    assert_eq!(line.len(), 1, "one ExecStart: {line:?}");
    let mut words = line[0].split_whitespace();
    assert_eq!(words.next(), Some(INSTALLED));
    let mut command = vec![procs::our_bin("tftpd").into_os_string()];
    for word in words {
        command.push(match word {
            "/srv/tftp" => root.as_os_str().to_owned(),
            other => OsString::from(other),
        });
    }
    command.extend(extra.iter().map(OsString::from));
    assert!(
        command.contains(&root.as_os_str().to_owned()),
        "no --root /srv/tftp"
    );
    command
}

// R-SRV-5, R-INT-1: the shipped ExecStart, handed port 69 (IPv4 and IPv6, as the socket unit
// binds it) in a network namespace of its own, runs as an unprivileged user with no
// capability and no_new_privs (as DynamicUser=, CapabilityBoundingSet= and
// NoNewPrivileges= leave it) and serves tftp-hpa byte-exact over 127.0.0.1 and ::1.
#[test]
fn r_srv_5_exec_start_serves_port_69_with_no_privilege() {
    let Some(launcher) = activate::launcher() else {
        return;
    };
    if !procs::require_root("a network namespace") {
        return;
    }
    for tool in ["unshare", "nsenter", "setpriv", "ip", "tftp"] {
        if procs::require_peer(tool).is_none() {
            return;
        }
    }
    let root = procs::TempDir::new("units-root");
    let local = procs::TempDir::new("units-local");
    let data = procs::content(150_000, 71);
    fs::write(root.path().join("boot.img"), &data).expect("write");
    // unshare and setpriv exec what follows in the same process, so LISTEN_PID stays true.
    let unshare = procs::which("unshare").unwrap();
    let setpriv = procs::which("setpriv").unwrap();
    let mut line: Vec<OsString> = [
        setpriv.as_os_str(),
        OsStr::new("--reuid=65534"),
        OsStr::new("--regid=65534"),
        OsStr::new("--clear-groups"),
        OsStr::new("--no-new-privs"),
        OsStr::new("--inh-caps=-all"),
        OsStr::new("--bounding-set=-all"),
    ]
    .iter()
    .map(|s| s.to_os_string())
    .collect();
    line.extend(exec_start(root.path(), &[]));
    let script = "ip link set lo up && exec \"$@\"";
    let wrapper = [
        unshare.as_os_str(),
        OsStr::new("-n"),
        OsStr::new("sh"),
        OsStr::new("-c"),
        OsStr::new(script),
        OsStr::new("sh"),
    ];
    let server = activate::start(&launcher, &wrapper, &["--datagram", "-l", "69"], &line);
    let pid = server.pid().to_string();
    let nsenter = ["nsenter", "-t", pid.as_str(), "-n"];
    let got = activate::tftp_hpa_get(&nsenter, "127.0.0.1", 69, "boot.img", local.path(), "v4");
    assert!(
        got == data,
        "IPv4: {} bytes\n{}",
        got.len(),
        server.log_text()
    );
    let got = activate::tftp_hpa_get(&nsenter, "::1", 69, "boot.img", local.path(), "v6");
    assert!(
        got == data,
        "IPv6: {} bytes\n{}",
        got.len(),
        server.log_text()
    );
    let pid = server.pid();
    assert_eq!(activate::exe_name(pid), "tftpd");
    let uid = activate::status_field(pid, "Uid");
    assert_eq!(
        uid.split_whitespace().collect::<Vec<_>>(),
        ["65534"; 4],
        "Uid {uid}"
    );
    assert_eq!(activate::status_field(pid, "CapEff"), "0000000000000000");
    assert_eq!(activate::status_field(pid, "CapBnd"), "0000000000000000");
    assert_eq!(activate::status_field(pid, "NoNewPrivs"), "1");
    assert!(
        server
            .log_text()
            .contains("on [::]:69 (socket from systemd)"),
        "{}",
        server.log_text()
    );
}

/// Every system call name in `@set` as systemd-analyze lists it, groups expanded.
fn syscall_set(analyze: &Path, set: &str, into: &mut BTreeSet<String>) {
    let out = procs::run_bounded(
        Command::new(analyze).args(["syscall-filter", "--no-pager", set]),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", procs::output_text(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for word in text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
    {
        if word.starts_with('#') {
            continue;
        }
        if word.starts_with('@') {
            syscall_set(analyze, word, into);
        } else {
            into.insert(word.to_string());
        }
    }
}

/// The system calls the service's SystemCallFilter= lines allow: the allow list (with
/// @default, which systemd always allows), less the `~` lists.
fn allowed_syscalls(analyze: &Path) -> BTreeSet<String> {
    let service = unit("tftpd.service");
    let mut allowed = BTreeSet::new();
    syscall_set(analyze, "@default", &mut allowed);
    let mut denied = BTreeSet::new();
    for value in values(&service, "SystemCallFilter") {
        match value.strip_prefix('~') {
            Some(sets) => sets
                .split_whitespace()
                .for_each(|s| syscall_set(analyze, s, &mut denied)),
            None => value
                .split_whitespace()
                .for_each(|s| syscall_set(analyze, s, &mut allowed)),
        }
    }
    &allowed - &denied
}

/// The names of the system calls in an `strace -f` log made after the exec of tftpd.
fn traced_syscalls(trace: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut started = false;
    for line in trace.lines() {
        let rest = line.split_once(' ').map_or(line, |(_, r)| r).trim_start();
        if !started {
            started =
                rest.starts_with("execve(") && rest.contains("tftpd\"") && rest.contains("= 0");
            continue;
        }
        let call = rest.strip_prefix("<... ").unwrap_or(rest);
        let name: String = call
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && (call.contains('(') || call.contains(" resumed>")) {
            names.insert(name);
        }
    }
    names
}

// The service's SystemCallFilter= does not stop the server: every system call the shipped
// ExecStart makes (with uploads switched on too) while taking the socket, serving downloads
// by tftp-hpa, an upload and refusals, and stopping on SIGTERM is in the allowed set.
#[test]
fn every_system_call_the_server_makes_is_allowed_by_the_unit() {
    let Some(launcher) = activate::launcher() else {
        return;
    };
    let (Some(analyze), Some(strace)) = (systemd_analyze(), procs::require_peer("strace")) else {
        return;
    };
    let root = procs::TempDir::new("units-sys-root");
    let local = procs::TempDir::new("units-sys-local");
    let data = procs::content(100_000, 72);
    fs::write(root.path().join("f.bin"), &data).expect("write");
    fs::write(local.path().join("up.bin"), &data).expect("write");
    let trace = local.path().join("trace.txt");
    let wrapper = [
        strace.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("-qq"),
        OsStr::new("-o"),
        trace.as_os_str(),
    ];
    let port = procs::free_udp_port();
    let listen = format!("127.0.0.1:{port}");
    let line = exec_start(root.path(), &["--allow-create", "--log", "json"]);
    let mut server = activate::start(&launcher, &wrapper, &["--datagram", "-l", &listen], &line);
    let got = activate::tftp_hpa_get(&[], "127.0.0.1", port, "f.bin", local.path(), "got.bin");
    assert!(got == data, "{} bytes: {}", got.len(), server.log_text());
    let missing = activate::tftp_hpa_get(&[], "127.0.0.1", port, "nothing", local.path(), "x");
    assert!(missing.is_empty());
    let out = activate::tftp_hpa(
        &[],
        "127.0.0.1",
        port,
        "put",
        "up.bin",
        "up.bin",
        local.path(),
    );
    assert!(
        procs::eventually(Duration::from_secs(10), || root
            .path()
            .join("up.bin")
            .exists()),
        "{}",
        procs::output_text(&out)
    );
    // strace runs tftpd as its child: stop tftpd (found as strace's child) with SIGTERM, and
    // strace ends with it.
    let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", server.pid()))
        .unwrap_or_default();
    let tftpd_pid = children
        .split_whitespace()
        .next()
        .expect("tftpd under strace")
        .to_string();
    let _ = Command::new("kill")
        .args(["-s", "TERM", &tftpd_pid])
        .status();
    let ended = server.wait_timeout(Duration::from_secs(20));
    let _ = Command::new("kill")
        .args(["-s", "KILL", &tftpd_pid])
        .stderr(std::process::Stdio::null())
        .status();
    assert!(ended.is_some(), "strace did not end");
    let text = fs::read_to_string(&trace).expect("trace");
    let used = traced_syscalls(&text);
    // The trace saw the serving: files opened beneath the root, an upload renamed into place.
    for call in ["openat2", "renameat2", "recvfrom", "timerfd_settime"] {
        assert!(used.contains(call), "no {call} in the trace: {used:?}");
    }
    let allowed = allowed_syscalls(&analyze);
    let refused: Vec<&String> = used.difference(&allowed).collect();
    assert!(
        refused.is_empty(),
        "not allowed by the unit: {refused:?} (used: {used:?})"
    );
}
