//! Socket activation (R-SRV-5): `tftpd` started by `systemd-socket-activate --datagram`
//! serves the socket it was handed (the port was bound before it ran, and it binds none of
//! its own), answers the datagram that woke it, still drops root with `--user`, and refuses a
//! socket that is not UDP, or more than one, with a clear error.

#[path = "support/procs.rs"]
mod procs;

#[path = "support/activate.rs"]
mod activate;

use std::ffi::OsString;
use std::fs;
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `tftpd --root ROOT EXTRA...` as a command line for the launcher.
fn tftpd_line(root: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut line = vec![
        procs::our_bin("tftpd").into_os_string(),
        "--root".into(),
        root.into(),
    ];
    line.extend(extra.iter().map(OsString::from));
    line
}

fn port_is_taken(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_err()
}

// R-SRV-5: the listening socket comes from systemd. The launcher owns the port before tftpd
// runs; after the first request the same process (now tftpd) holds the same socket (same
// inode at descriptor 3), says so in its log, serves tftp-hpa and curl byte-exact, and leaves
// the --port it was given (ignored) unbound.
#[test]
fn r_srv_5_serves_the_socket_systemd_passes() {
    let Some(launcher) = activate::launcher() else {
        return;
    };
    let root = procs::TempDir::new("act-root");
    let local = procs::TempDir::new("act-local");
    let data = procs::content(300_000, 51);
    fs::write(root.path().join("image.bin"), &data).expect("write file");
    let port = procs::free_udp_port();
    let ignored = procs::free_udp_port();
    let listen = format!("127.0.0.1:{port}");
    let ignored_arg = ignored.to_string();
    let line = tftpd_line(
        root.path(),
        &["--bind", "127.0.0.1", "--port", &ignored_arg],
    );
    let mut server = activate::start(&launcher, &[], &["--datagram", "-l", &listen], &line);
    let pid = server.pid();

    // Before any request: the launcher runs, and it holds the port.
    assert_eq!(activate::exe_name(pid), "systemd-socket-activate");
    let socket_before = activate::fd_link(pid, 3);
    assert!(
        socket_before.starts_with("socket:["),
        "fd 3: {socket_before}"
    );
    assert!(
        port_is_taken(port),
        "the launcher does not hold port {port}"
    );

    // The first request wakes it: the same process becomes tftpd and answers.
    let got = activate::tftp_hpa_get(&[], "127.0.0.1", port, "image.bin", local.path(), "a.bin");
    assert!(
        got == data,
        "tftp-hpa: {} of {} bytes, log:\n{}",
        got.len(),
        data.len(),
        server.log_text()
    );
    assert_eq!(activate::exe_name(pid), "tftpd");
    assert_eq!(
        activate::fd_link(pid, 3),
        socket_before,
        "not the launcher's socket"
    );
    let log = server.log_text();
    let expected = format!(
        "tftpd: serving {} on 127.0.0.1:{port} (socket from systemd)",
        root.path().display()
    );
    assert!(log.contains(&expected), "no '{expected}' in:\n{log}");
    assert!(!port_is_taken(ignored), "tftpd bound --port {ignored} too");

    if let Some(curl) = procs::require_peer("curl") {
        let out_path = local.path().join("c.bin");
        let url = format!("tftp://127.0.0.1:{port}/image.bin");
        let out = procs::run_bounded(
            Command::new(curl)
                .args(["-sS", "--connect-timeout", "10", "-m", "60", "-o"])
                .arg(&out_path)
                .arg(&url),
            Duration::from_secs(70),
        );
        let got = fs::read(&out_path).unwrap_or_default();
        assert!(got == data, "curl: {}", procs::output_text(&out));
    }
    let status = server.signal_and_wait("TERM", Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}: {}",
        server.log_text()
    );
}

// R-SRV-5 with --user: a socket-activated server still gives up root after taking the socket,
// and serves as that user.
#[test]
fn r_srv_5_socket_from_systemd_with_user_drops_root() {
    let Some(launcher) = activate::launcher() else {
        return;
    };
    if !procs::require_root("--user nobody") {
        return;
    }
    let root = procs::TempDir::new("act-user-root");
    let local = procs::TempDir::new("act-user-local");
    let data = procs::content(70_000, 52);
    fs::write(root.path().join("f.bin"), &data).expect("write file");
    let port = procs::free_udp_port();
    let listen = format!("127.0.0.1:{port}");
    let line = tftpd_line(root.path(), &["--user", "nobody"]);
    let server = activate::start(&launcher, &[], &["--datagram", "-l", &listen], &line);
    let got = activate::tftp_hpa_get(&[], "127.0.0.1", port, "f.bin", local.path(), "f.bin");
    assert!(
        got == data,
        "{} of {} bytes: {}",
        got.len(),
        data.len(),
        server.log_text()
    );
    let uids = activate::status_field(server.pid(), "Uid");
    assert_eq!(
        uids.split_whitespace().collect::<Vec<_>>(),
        ["65534"; 4],
        "Uid: {uids}"
    );
    let log = server.log_text();
    assert!(
        log.contains("(socket from systemd)") && log.contains("running as nobody"),
        "{log}"
    );
}

/// Waits for the launched server to exit and returns its log.
fn exits_with_failure(mut server: procs::ChildGuard) -> String {
    let status = server.wait_timeout(Duration::from_secs(20));
    let log = server.log_text();
    assert!(
        status.is_some_and(|s| !s.success()),
        "status {status:?}: {log}"
    );
    log
}

// A stream socket (ListenStream= by mistake) is refused with an error that names the fix.
#[test]
fn a_stream_socket_from_systemd_is_refused() {
    let Some(launcher) = activate::launcher() else {
        return;
    };
    let root = procs::TempDir::new("act-tcp-root");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("probe port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let listen = format!("127.0.0.1:{port}");
    let server = activate::start(
        &launcher,
        &[],
        &["-l", &listen],
        &tftpd_line(root.path(), &[]),
    );
    let _connection = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let log = exits_with_failure(server);
    assert!(
        log.contains("not a UDP socket") && log.contains("ListenDatagram="),
        "{log}"
    );
}

// Two sockets: the server serves one, and says how to give it one.
#[test]
fn two_sockets_from_systemd_are_refused() {
    let Some(launcher) = activate::launcher() else {
        return;
    };
    let root = procs::TempDir::new("act-two-root");
    let (a, b) = (procs::free_udp_port(), procs::free_udp_port());
    let (la, lb) = (format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}"));
    let args = ["--datagram", "-l", &la, "-l", &lb];
    let server = activate::start(&launcher, &[], &args, &tftpd_line(root.path(), &[]));
    let probe = UdpSocket::bind("127.0.0.1:0").expect("probe");
    probe
        .send_to(b"\x00\x01x\x00octet\x00", ("127.0.0.1", a))
        .expect("send");
    let log = exits_with_failure(server);
    assert!(log.contains("passed 2 sockets"), "{log}");
}
