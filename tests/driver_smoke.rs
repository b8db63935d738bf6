//! Smoke tests of the mio driver: the `tftpd` and `tftp` examples run as processes on
//! loopback, each test with its own server, port and temporary root.
//!
//! The example binaries are built (a no-op when up to date) with the profile of this test
//! binary, in its target directory. Every process started here is killed by PID when its
//! guard drops, and every wait is bounded.

#![cfg(unix)]

#[path = "support/procs.rs"]
mod procs;
#[path = "support/relay.rs"]
mod relay;

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use procs::{as_error, content, eventually, our_bin, ChildGuard, TempDir};
use relay::{Impairment, Relay, RelayConfig};

/// Longest wait for one client run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for one datagram.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// Helpers: the server, the client, raw packets (processes, folders and ports: `procs`).

/// Our tftpd, answering on 127.0.0.1.
struct Server {
    proc: ChildGuard,
    port: u16,
}

impl Server {
    /// Starts tftpd on 127.0.0.1 for `root` with `flags` and waits until it answers.
    fn start(root: &Path, flags: &[&str]) -> Server {
        Server::start_on("127.0.0.1", root, flags)
    }

    /// Starts tftpd on `bind` for `root` with `flags` and waits until it answers.
    fn start_on(bind: &str, root: &Path, flags: &[&str]) -> Server {
        let (proc, addr) = procs::start_our_server_on(bind, root, flags);
        Server {
            proc,
            port: addr.port(),
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        self.proc.log_text()
    }
}

/// Runs our tftp client with `args` in `cwd`; returns its status and stderr.
fn client(cwd: &Path, args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(our_bin("tftp"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tftp");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut guard = ChildGuard::new(child);
    let status = guard
        .wait_timeout(CLIENT_TIMEOUT)
        .expect("tftp did not finish in time");
    drop(guard);
    let text = reader.join().unwrap_or_default();
    (status, text)
}

/// A loopback socket for hand-made packets.
fn raw_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(RECV_TIMEOUT))
        .expect("read timeout");
    socket
}

fn request(opcode: u8, name: &str, mode: &str) -> Vec<u8> {
    let mut packet = vec![0, opcode];
    packet.extend_from_slice(name.as_bytes());
    packet.push(0);
    packet.extend_from_slice(mode.as_bytes());
    packet.push(0);
    packet
}

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0; 65536];
    let (n, from) = socket.recv_from(&mut buf).expect("an answer in time");
    buf.truncate(n);
    (buf, from)
}

/// Sends `packet` to the server and returns the ERROR code it answers with.
fn error_for(server: &Server, packet: &[u8]) -> (u16, String) {
    let socket = raw_socket();
    socket.send_to(packet, server.addr()).expect("send");
    let (answer, _) = recv(&socket);
    as_error(&answer).unwrap_or_else(|| panic!("expected an ERROR, got {answer:?}"))
}

// ---------------------------------------------------------------------------------------
// Tests.

// R-XFR-1, R-XFR-3: the seed check. A raw RRQ for a.txt gets DATA 1 from a fresh port (the
// transfer ID), and ERROR 1 from the listening port once a.txt is gone.
#[test]
fn r_xfr_3_seed_rrq_gets_data_1_from_a_new_port() {
    let root = TempDir::new("seed");
    fs::write(root.path().join("a.txt"), b"hello, tftp\n").expect("write a.txt");
    let server = Server::start(root.path(), &[]);
    let seed = [0, 1, 97, 46, 116, 120, 116, 0, 111, 99, 116, 101, 116, 0];
    assert_eq!(seed[..], request(1, "a.txt", "octet")[..]);

    let socket = raw_socket();
    socket.send_to(&seed, server.addr()).expect("send RRQ");
    let (data, from) = recv(&socket);
    assert_eq!(data[..4], [0, 3, 0, 1], "DATA 1 expected, got {data:?}");
    assert_eq!(&data[4..], b"hello, tftp\n");
    assert_ne!(
        from.port(),
        server.port,
        "DATA must come from a new transfer ID"
    );
    socket.send_to(&[0, 4, 0, 1], from).expect("send ACK 1");

    // A new client port: the same one would still be routed to the first session, should
    // its request arrive before the ACK is processed (R-SRV-6).
    fs::remove_file(root.path().join("a.txt")).expect("remove a.txt");
    let socket = raw_socket();
    socket.send_to(&seed, server.addr()).expect("send RRQ");
    let (answer, from) = recv(&socket);
    assert_eq!(as_error(&answer).map(|e| e.0), Some(1), "got {answer:?}");
    assert_eq!(
        from.port(),
        server.port,
        "a refusal comes from the listening port"
    );
}

// R-INT-1 (our own client and server), R-XFR-2, R-OPT-5, R-OPT-8, R-SRV-3: put and get
// round trips of 0, 511, 512, 513 bytes and 1 MiB, byte-exact, with and without options.
#[test]
fn r_int_1_put_and_get_round_trips_are_byte_exact() {
    let root = TempDir::new("rt-root");
    let local = TempDir::new("rt-local");
    let server = Server::start(root.path(), &["--allow-create", "--allow-write"]);
    let host = server.host();
    let option_sets: [&[&str]; 2] = [&[], &["--blksize", "1468", "--windowsize", "16"]];
    for (set, options) in option_sets.iter().enumerate() {
        for (i, size) in [0usize, 511, 512, 513, 1 << 20].into_iter().enumerate() {
            let name = format!("f{size}-{set}");
            let bytes = content(size, (set * 10 + i) as u64 + 1);
            fs::write(local.path().join(&name), &bytes).expect("write local");

            let mut args = vec!["put", host.as_str(), name.as_str()];
            args.extend_from_slice(options);
            let (status, err) = client(local.path(), &args);
            assert!(status.success(), "put {name} {options:?}: {err}");
            let stored = fs::read(root.path().join(&name)).expect("uploaded file");
            assert!(stored == bytes, "put {name} {options:?} changed the bytes");

            let back = format!("{name}.back");
            let mut args = vec!["get", host.as_str(), name.as_str(), back.as_str()];
            args.extend_from_slice(options);
            let (status, err) = client(local.path(), &args);
            assert!(status.success(), "get {name} {options:?}: {err}");
            let got = fs::read(local.path().join(&back)).expect("downloaded file");
            assert!(got == bytes, "get {name} {options:?} changed the bytes");
        }
    }
    // No temporary file is left on either side (R-SRV-3, R-CLI-1).
    assert!(root.names().iter().all(|n| !n.ends_with(".part")));
    assert!(local.names().iter().all(|n| !n.ends_with(".part")));
}

// R-MOD-2: a netascii get of a text file gives the same text back (LF and a bare CR
// survive the trip as CR LF and CR NUL).
#[test]
fn r_mod_2_netascii_get_gives_the_same_text() {
    let root = TempDir::new("na-root");
    let local = TempDir::new("na-local");
    let text = b"first line\nsecond line\nbare\rcarriage return\n\nlast line without end";
    fs::write(root.path().join("notes.txt"), text).expect("write text");
    let server = Server::start(root.path(), &[]);
    let host = server.host();
    let (status, err) = client(
        local.path(),
        &["get", &host, "notes.txt", "copy.txt", "--mode", "netascii"],
    );
    assert!(status.success(), "netascii get: {err}");
    assert_eq!(fs::read(local.path().join("copy.txt")).expect("copy"), text);
}

// R-SRV-2, R-CLI-2: a put to a read-only server fails (ERROR 2 reported, exit code not
// zero) and no file appears.
#[test]
fn r_srv_2_put_to_a_read_only_server_fails() {
    let root = TempDir::new("ro-root");
    let local = TempDir::new("ro-local");
    fs::write(local.path().join("up.bin"), content(3000, 7)).expect("write local");
    let server = Server::start(root.path(), &[]);
    let host = server.host();
    let (status, err) = client(local.path(), &["put", &host, "up.bin"]);
    assert!(!status.success(), "a put to a read-only server must fail");
    assert!(err.contains("error 2"), "the ERROR code is reported: {err}");
    assert!(
        root.names().is_empty(),
        "files appeared: {:?}",
        root.names()
    );
}

// R-CLI-1, R-CLI-2: a failed get reports ERROR 1, exits non-zero, and leaves no file
// under its name (and an existing one as it was) and no temporary file.
#[test]
fn r_cli_1_failed_get_leaves_local_files_alone() {
    let root = TempDir::new("cli-root");
    let local = TempDir::new("cli-local");
    fs::write(local.path().join("keep.txt"), b"old contents").expect("write local");
    let server = Server::start(root.path(), &[]);
    let host = server.host();
    let (status, err) = client(local.path(), &["get", &host, "missing.txt"]);
    assert!(!status.success());
    assert!(err.contains("error 1"), "the ERROR code is reported: {err}");
    let (status, _) = client(local.path(), &["get", &host, "missing.txt", "keep.txt"]);
    assert!(!status.success());
    assert_eq!(local.names(), ["keep.txt"]);
    assert_eq!(
        fs::read(local.path().join("keep.txt")).expect("keep"),
        b"old contents"
    );
}

// R-SRV-2: without --allow-write a WRQ for an existing file gets ERROR 6 and the old file
// stays; creating a new file works with --allow-create.
#[test]
fn r_srv_2_existing_file_without_allow_write_gets_error_6() {
    let root = TempDir::new("ex-root");
    fs::write(root.path().join("old.txt"), b"precious").expect("write old");
    let server = Server::start(root.path(), &["--allow-create"]);
    let (code, _) = error_for(&server, &request(2, "old.txt", "octet"));
    assert_eq!(code, 6);
    assert_eq!(
        fs::read(root.path().join("old.txt")).expect("old"),
        b"precious"
    );

    let local = TempDir::new("ex-local");
    fs::write(local.path().join("new.txt"), b"fresh").expect("write new");
    let host = server.host();
    let (status, err) = client(local.path(), &["put", &host, "new.txt"]);
    assert!(status.success(), "creating a file: {err}");
    assert_eq!(
        fs::read(root.path().join("new.txt")).expect("new"),
        b"fresh"
    );
}

// R-SRV-1: a symbolic link inside the root that points outside it is refused with ERROR 2,
// for reading and for writing; so are names with `..`.
#[test]
fn r_srv_1_symlink_out_of_the_root_is_refused() {
    let root = TempDir::new("ln-root");
    let outside = TempDir::new("ln-outside");
    let secret = outside.path().join("secret.txt");
    fs::write(&secret, b"not for tftp").expect("write secret");
    std::os::unix::fs::symlink(&secret, root.path().join("link.txt")).expect("symlink");
    std::os::unix::fs::symlink(outside.path(), root.path().join("dir")).expect("symlink");
    let server = Server::start(root.path(), &["--allow-create", "--allow-write"]);

    for name in ["link.txt", "dir/secret.txt", "../ln-outside/secret.txt"] {
        let (code, message) = error_for(&server, &request(1, name, "octet"));
        assert_eq!(code, 2, "read {name}: {message}");
        let (code, message) = error_for(&server, &request(2, name, "octet"));
        assert_eq!(code, 2, "write {name}: {message}");
    }
    assert_eq!(fs::read(&secret).expect("secret"), b"not for tftp");
    assert_eq!(outside.names(), ["secret.txt"]);
}

// R-SRV-1: a FIFO or a folder under the root is not served (and does not block the server).
#[test]
fn r_srv_1_fifo_and_folder_are_refused() {
    let root = TempDir::new("fifo-root");
    fs::create_dir(root.path().join("sub")).expect("mkdir");
    let fifo_made = Command::new("mkfifo")
        .arg(root.path().join("pipe"))
        .status()
        .is_ok_and(|s| s.success());
    let server = Server::start(root.path(), &[]);
    if fifo_made {
        let (code, _) = error_for(&server, &request(1, "pipe", "octet"));
        assert_eq!(code, 2);
    }
    let (code, _) = error_for(&server, &request(1, "sub", "octet"));
    assert_eq!(code, 2);
}

// R-SRV-3: an upload that fails half way (the client sends ERROR) leaves no file, neither
// under its name nor as a temporary file.
#[test]
fn r_srv_3_aborted_upload_leaves_nothing() {
    let root = TempDir::new("ab-root");
    fs::write(root.path().join("old.bin"), b"old").expect("write old");
    let server = Server::start(root.path(), &["--allow-create", "--allow-write"]);
    for name in ["new.bin", "old.bin"] {
        let socket = raw_socket();
        socket
            .send_to(&request(2, name, "octet"), server.addr())
            .expect("WRQ");
        let (ack, tid) = recv(&socket);
        assert_eq!(ack, [0, 4, 0, 0], "ACK 0 expected");
        let mut data = vec![0, 3, 0, 1];
        data.extend_from_slice(&content(512, 3));
        socket.send_to(&data, tid).expect("DATA 1");
        let (ack, _) = recv(&socket);
        assert_eq!(ack, [0, 4, 0, 1], "ACK 1 expected");
        socket
            .send_to(b"\x00\x05\x00\x00gave up\x00", tid)
            .expect("ERROR");
    }
    let clean = eventually(Duration::from_secs(5), || root.names() == ["old.bin"]);
    assert!(clean, "left behind: {:?}", root.names());
    assert_eq!(fs::read(root.path().join("old.bin")).expect("old"), b"old");
}

// R-SRV-6: a repeated request from a peer that has not answered yet is answered by its
// existing session, from the same transfer ID, not by a new one.
#[test]
fn r_srv_6_repeated_request_goes_to_the_existing_session() {
    let root = TempDir::new("rep-root");
    fs::write(root.path().join("a.txt"), content(100, 5)).expect("write");
    let server = Server::start(root.path(), &[]);
    let socket = raw_socket();
    let rrq = request(1, "a.txt", "octet");
    socket.send_to(&rrq, server.addr()).expect("RRQ");
    let (first, tid1) = recv(&socket);
    socket.send_to(&rrq, server.addr()).expect("RRQ again");
    let (second, tid2) = recv(&socket);
    assert_eq!(first[..4], [0, 3, 0, 1]);
    assert_eq!(first, second);
    assert_eq!(
        tid1, tid2,
        "the repeat must be answered by the same session"
    );
    socket.send_to(&[0, 4, 0, 1], tid1).expect("ACK 1");
}

// R-SRV-4: requests beyond the session limit or the per-address rate get an ERROR, never
// silence.
#[test]
fn r_srv_4_limits_answer_with_an_error() {
    let root = TempDir::new("lim-root");
    fs::write(root.path().join("a.txt"), content(100, 9)).expect("write");

    // One session (never acknowledged, so it stays), then a second request: busy.
    let server = Server::start(root.path(), &["--max-sessions", "1"]);
    let first = raw_socket();
    first
        .send_to(&request(1, "a.txt", "octet"), server.addr())
        .expect("RRQ");
    let (data, _) = recv(&first);
    assert_eq!(data[..4], [0, 3, 0, 1]);
    let (code, message) = error_for(&server, &request(1, "a.txt", "octet"));
    assert_eq!(code, 0);
    assert!(message.contains("busy"), "{message}");

    // One request per second from one address: of six quick ones, most are refused as too
    // many, and every one is answered.
    let server = Server::start(root.path(), &["--rate-limit", "1"]);
    let socket = raw_socket();
    let mut limited = 0;
    for _ in 0..6 {
        socket
            .send_to(&request(1, "missing", "octet"), server.addr())
            .expect("RRQ");
        let (answer, _) = recv(&socket);
        let (code, message) = as_error(&answer).expect("an ERROR");
        if message.contains("too many") {
            assert_eq!(code, 0);
            limited += 1;
        }
    }
    assert!(limited >= 3, "rate limit not applied: {}", server.log());
}

// R-SRV-3 with a stop signal: SIGINT during an upload stops the server cleanly, the peer
// gets an ERROR, and the temporary file is removed.
#[test]
fn sigint_stops_the_server_and_removes_temporary_files() {
    let root = TempDir::new("sig-root");
    let mut server = Server::start(root.path(), &["--allow-create"]);
    let socket = raw_socket();
    socket
        .send_to(&request(2, "big.bin", "octet"), server.addr())
        .expect("WRQ");
    let (ack, tid) = recv(&socket);
    assert_eq!(ack, [0, 4, 0, 0]);
    let mut data = vec![0, 3, 0, 1];
    data.extend_from_slice(&content(512, 4));
    socket.send_to(&data, tid).expect("DATA 1");
    let (ack, _) = recv(&socket);
    assert_eq!(ack, [0, 4, 0, 1]);
    assert_eq!(root.names().len(), 1, "a temporary file while receiving");

    let pid = server.proc.pid().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "kill -INT {pid}");
    // The server may repeat ACK 1 while it waits for DATA 2 (RFC 7440's receiver timeout)
    // before the signal lands; the ERROR comes after those.
    let answer = loop {
        let (answer, _) = recv(&socket);
        if answer != [0, 4, 0, 1] {
            break answer;
        }
    };
    assert_eq!(as_error(&answer).map(|e| e.0), Some(0), "got {answer:?}");
    let status = server.proc.wait_timeout(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{}", server.log());
    assert!(root.names().is_empty(), "left behind: {:?}", root.names());
}

// R-SRV-5: `--bind ::` serves IPv6 and IPv4 from one listening socket.
#[test]
fn r_srv_5_dual_stack_listener_serves_ipv4_and_ipv6() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    }
    let root = TempDir::new("v6-root");
    let local = TempDir::new("v6-local");
    let bytes = content(5000, 13);
    fs::write(root.path().join("both.bin"), &bytes).expect("write");
    let server = Server::start_on("::", root.path(), &[]);
    for (host, name) in [
        (format!("127.0.0.1:{}", server.port), "v4.bin"),
        (format!("[::1]:{}", server.port), "v6.bin"),
    ] {
        let (status, err) = client(local.path(), &["get", &host, "both.bin", name]);
        assert!(status.success(), "get from {host}: {err}");
        assert!(fs::read(local.path().join(name)).expect("got") == bytes);
    }
}

// R-XFR-5, R-XFR-7, R-OPT-8: through a relay that loses, duplicates and reorders datagrams
// both ways, the driver's timeouts and retransmissions still deliver byte-exact files, in
// lock-step and windowed, downloads and uploads.
#[test]
fn r_xfr_5_round_trips_survive_a_lossy_network() {
    let root = TempDir::new("lossy-root");
    let local = TempDir::new("lossy-local");
    let bytes = content(200_000, 11);
    fs::write(root.path().join("src.bin"), &bytes).expect("write source");
    fs::write(local.path().join("up.bin"), &bytes).expect("write upload");
    let server = Server::start(root.path(), &["--allow-create", "--allow-write"]);
    let impairment = Impairment {
        loss: 0.05,
        duplicate: 0.02,
        reorder: 0.02,
        ..Impairment::none()
    };
    let option_sets: [&[&str]; 2] = [&[], &["--blksize", "1468", "--windowsize", "8"]];
    for (seed, options) in option_sets.iter().enumerate() {
        let config = RelayConfig {
            seed: seed as u64 + 1,
            to_server: impairment,
            to_client: impairment,
            ..RelayConfig::default()
        };
        let relay = Relay::start(server.addr(), config).expect("relay");
        let host = relay.addr().to_string();
        let mut args = vec!["get", host.as_str(), "src.bin", "got.bin"];
        args.extend_from_slice(options);
        let (status, err) = client(local.path(), &args);
        assert!(status.success(), "lossy get {options:?}: {err}");
        assert!(fs::read(local.path().join("got.bin")).expect("got") == bytes);

        let remote = format!("up-{seed}.bin");
        let mut args = vec!["put", host.as_str(), remote.as_str(), "up.bin"];
        args.extend_from_slice(options);
        let (status, err) = client(local.path(), &args);
        assert!(status.success(), "lossy put {options:?}: {err}");
        assert!(fs::read(root.path().join(&remote)).expect("put") == bytes);
    }
}

// R-SRV-1 (defence in depth), R-SRV-2: `--user nobody` gives up root once the port is bound:
// every id of the process is nobody's, a file only root may read is refused with ERROR 2 while
// a readable one is served, and a new upload belongs to nobody.
#[test]
fn r_srv_1_user_option_gives_up_root_after_binding() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    if !procs::require_root("tftpd --user") {
        return;
    }
    let nobody = 65534;
    let root = TempDir::new("user-root");
    let local = TempDir::new("user-local");
    let public = content(5000, 11);
    fs::write(root.path().join("public.bin"), &public).expect("write public");
    fs::write(root.path().join("secret.bin"), b"root only").expect("write secret");
    fs::set_permissions(
        root.path().join("secret.bin"),
        fs::Permissions::from_mode(0o600),
    )
    .expect("chmod secret");
    // A folder anyone may write to, so that nobody can store an upload in it.
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o777)).expect("chmod root");
    let server = Server::start(root.path(), &["--user", "nobody", "--allow-create"]);
    let status =
        fs::read_to_string(format!("/proc/{}/status", server.proc.pid())).expect("server status");
    for key in ["Uid:", "Gid:"] {
        let ids: Vec<u32> = status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .expect("id line")
            .split_whitespace()
            .map(|id| id.parse().expect("numeric id"))
            .collect();
        assert_eq!(
            ids, [nobody; 4],
            "{key} real, effective, saved, file system"
        );
    }
    let host = server.host();
    let (ok, err) = client(local.path(), &["get", &host, "public.bin"]);
    assert!(ok.success(), "a readable file: {err}");
    assert_eq!(
        fs::read(local.path().join("public.bin")).expect("copy"),
        public
    );
    let (refused, err) = client(local.path(), &["get", &host, "secret.bin"]);
    assert!(!refused.success(), "a root-only file was served");
    assert!(
        err.contains("error 2"),
        "ERROR 2 for a root-only file: {err}"
    );
    assert!(!local.path().join("secret.bin").exists());
    fs::write(local.path().join("up.bin"), content(3000, 12)).expect("write upload");
    let (stored, err) = client(local.path(), &["put", &host, "up.bin"]);
    assert!(stored.success(), "upload: {err}");
    let meta = fs::metadata(root.path().join("up.bin")).expect("uploaded file");
    assert_eq!(
        (meta.uid(), meta.gid()),
        (nobody, nobody),
        "owner of the upload"
    );
    assert!(
        server.log().contains("running as nobody"),
        "{}",
        server.log()
    );
}

/// Two neighbouring UDP ports on 127.0.0.1 that were free a moment ago.
fn two_free_ports() -> (u16, u16) {
    for _ in 0..50 {
        let low = procs::free_udp_port();
        if low < u16::MAX && UdpSocket::bind(("127.0.0.1", low + 1)).is_ok() {
            return (low, low + 1);
        }
    }
    panic!("no two neighbouring free ports");
}

// R-XFR-3, R-SRV-4: `--port-range LOW:HIGH` puts every transfer socket (its transfer ID) on a
// port of the range; with all of them taken a request gets ERROR 0 instead of silence, and
// a range written wrong stops the server before it serves.
#[test]
fn r_srv_4_port_range_bounds_the_transfer_ports() {
    let root = TempDir::new("range-root");
    fs::write(root.path().join("f.bin"), content(2000, 5)).expect("write f.bin");
    let (low, high) = two_free_ports();
    let range = format!("{low}:{high}");
    let server = Server::start(root.path(), &["--port-range", &range]);
    // Two downloads that never acknowledge hold both ports (R-SRV-6: one DATA each).
    let mut taken = Vec::new();
    let mut holders = Vec::new();
    for _ in 0..2 {
        let socket = raw_socket();
        socket
            .send_to(&request(1, "f.bin", "octet"), server.addr())
            .expect("send RRQ");
        let (data, from) = recv(&socket);
        assert_eq!(data[..4], [0, 3, 0, 1], "DATA 1 expected, got {data:?}");
        taken.push(from.port());
        holders.push(socket);
    }
    taken.sort_unstable();
    assert_eq!(taken, [low, high], "transfer ports outside {range}");
    let third = raw_socket();
    third
        .send_to(&request(1, "f.bin", "octet"), server.addr())
        .expect("send RRQ");
    let (answer, from) = recv(&third);
    assert_eq!(as_error(&answer).map(|e| e.0), Some(0), "got {answer:?}");
    assert_eq!(
        from.port(),
        server.port,
        "the refusal comes from port 69's socket"
    );
    drop(holders);

    for bad in ["9:3", "0:10", "70000:70001", "12"] {
        let out = procs::run_bounded(
            Command::new(our_bin("tftpd")).args([
                "--root",
                root.path().to_str().expect("utf-8 path"),
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--port-range",
                bad,
            ]),
            Duration::from_secs(10),
        );
        // clap's usage error, at once (a server that started would run until killed).
        assert_eq!(out.status.code(), Some(2), "--port-range {bad} was taken");
    }
}
