//! `tftpd --log json` and `--log syslog` with real clients: every JSON line parses, carries
//! every field with the right value, and its `sha256` is the SHA-256 of the file (downloads
//! and uploads, through loss where blocks are read again or arrive ahead of a gap); refusals
//! and failures have their own lines; hostile names still make valid JSON; syslog lines
//! reach the socket in the `<PRI>tftpd[PID]: ...` form with facility daemon.

#[path = "support/procs.rs"]
mod procs;

#[path = "support/relay.rs"]
mod relay;

use std::ffi::OsStr;
use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use relay::{Impairment, Relay, RelayConfig};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// A server with `--log json`, its stdout in a file.
struct JsonServer {
    guard: procs::ChildGuard,
    addr: SocketAddr,
    stdout: PathBuf,
}

impl JsonServer {
    fn start(root: &Path, extra: &[&str]) -> JsonServer {
        let stdout = root.with_extension("stdout.json");
        let mut args = vec![OsStr::new("--root"), root.as_os_str(), OsStr::new("--log")];
        args.push(OsStr::new("json"));
        args.extend(extra.iter().map(OsStr::new));
        let (guard, addr) = procs::start_our_example_with("tftpd", "127.0.0.1", &args, |cmd| {
            cmd.stdout(fs::File::create(&stdout).expect("stdout file"));
        });
        JsonServer {
            guard,
            addr,
            stdout,
        }
    }

    /// Every line on stdout, each parsed (a line that is not JSON fails the test).
    fn lines(&self) -> Vec<Value> {
        let text = fs::read(&self.stdout).unwrap_or_default();
        let text = String::from_utf8(text).expect("stdout is UTF-8");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// The `event` line whose `file` is `file`, waited for.
    fn line_for(&self, event: &str, file: &str) -> Value {
        let find = || {
            self.lines()
                .into_iter()
                .find(|v| v["event"] == event && v["file"] == file)
        };
        procs::eventually(Duration::from_secs(20), || find().is_some());
        find().unwrap_or_else(|| {
            panic!(
                "no {event} line for {file:?} in {:?}\n--- stderr\n{}",
                self.lines(),
                self.guard.log_text()
            )
        })
    }
}

impl Drop for JsonServer {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.stdout);
    }
}

/// Checks the fields every successful transfer line has; returns its options.
fn check_ok(line: &Value, file: &str, direction: &str, data: &[u8]) -> Value {
    let keys: Vec<&str> = line
        .as_object()
        .expect("object")
        .keys()
        .map(|k| k.as_str())
        .collect();
    for key in [
        "event",
        "time",
        "peer",
        "file",
        "direction",
        "mode",
        "options",
        "bytes",
        "duration_ms",
        "retransmissions",
        "outcome",
        "sha256",
    ] {
        assert!(keys.contains(&key), "no {key} in {line}");
    }
    assert!(!keys.contains(&"error"), "an error on success: {line}");
    assert_eq!(line["event"], "transfer");
    assert!(
        line["time"]
            .as_str()
            .is_some_and(|t| t.len() == 24 && t.ends_with('Z')),
        "{line}"
    );
    assert!(
        line["peer"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "{line}"
    );
    assert_eq!(line["file"], file);
    assert_eq!(line["direction"], direction);
    assert_eq!(line["mode"], "octet");
    assert_eq!(line["bytes"], data.len() as u64, "{line}");
    assert!(
        line["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{line}"
    );
    assert!(line["retransmissions"].is_u64(), "{line}");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["sha256"], procs::sha256_hex(data), "{line}");
    let options = line["options"].clone();
    for key in ["blksize", "windowsize", "timeout", "tsize"] {
        assert!(options.get(key).is_some(), "no options.{key} in {line}");
    }
    options
}

fn tftp_hpa(dir: &Path, addr: SocketAddr, verb: &str, a: &str, b: &str) {
    let tftp = procs::require_peer("tftp").expect("tftp-hpa");
    let port = addr.port().to_string();
    let out = procs::run_bounded(
        Command::new(tftp)
            .args(["127.0.0.1", &port, "-m", "binary", "-c", verb, a, b])
            .current_dir(dir),
        LIMIT,
    );
    assert!(
        out.status.success(),
        "tftp-hpa {verb}: {}",
        procs::output_text(&out)
    );
}

fn curl(args: &[&OsStr]) {
    let curl = procs::require_peer("curl").expect("curl");
    let out = procs::run_bounded(
        Command::new(curl)
            .args(["-sS", "--connect-timeout", "10", "-m", "60"])
            .args(args),
        LIMIT,
    );
    assert!(out.status.success(), "curl: {}", procs::output_text(&out));
}

// R-INT-1: downloads by tftp-hpa (no options) and curl (blksize, tsize) are logged with every
// field, the options granted and the SHA-256 of the file; the start-up probe for a missing
// file is logged as a refusal with its ERROR.
#[test]
fn r_int_1_downloads_are_logged_as_json_with_the_file_sha256() {
    let root = procs::TempDir::new("jl-get-root");
    let local = procs::TempDir::new("jl-get-local");
    let data = procs::content(300_000, 61);
    fs::write(root.path().join("image.bin"), &data).expect("write");
    let server = JsonServer::start(root.path(), &[]);

    tftp_hpa(local.path(), server.addr, "get", "image.bin", "a.bin");
    assert!(fs::read(local.path().join("a.bin")).unwrap() == data);
    let line = server.line_for("transfer", "image.bin");
    let options = check_ok(&line, "image.bin", "read", &data);
    assert_eq!(options["blksize"], 512);
    assert_eq!(options["windowsize"], 1);
    assert!(
        options["timeout"].is_null() && options["tsize"].is_null(),
        "{line}"
    );

    let out = local.path().join("c.bin");
    let url = format!("tftp://127.0.0.1:{}/image.bin", server.addr.port());
    curl(&[
        OsStr::new("--tftp-blksize"),
        OsStr::new("1468"),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new(&url),
    ]);
    assert!(fs::read(&out).unwrap() == data);
    let reads: Vec<Value> = server
        .lines()
        .into_iter()
        .filter(|v| v["event"] == "transfer" && v["options"]["blksize"] == 1468)
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    let options = check_ok(&reads[0], "image.bin", "read", &data);
    assert_eq!(options["tsize"], data.len() as u64, "curl asks for tsize");

    let probe = server.line_for("refused", "no-such-file.procs-probe");
    assert_eq!(probe["direction"], "read");
    assert_eq!(probe["outcome"], "refused");
    assert_eq!(probe["error"]["code"], 1);
    assert_eq!(probe["error"]["message"], "file not found");
}

// R-SRV-1, R-INT-1: with --map-file, a name the rules rewrote is logged as asked (`file`) and
// as served (`served`); a name they left alone has no `served`.
#[test]
fn r_srv_1_a_remapped_name_is_logged_as_asked_and_as_served() {
    let root = procs::TempDir::new("jl-map-root");
    let local = procs::TempDir::new("jl-map-local");
    let data = procs::content(70_000, 67);
    fs::create_dir(root.path().join("boot")).expect("mkdir");
    fs::write(root.path().join("boot/image.bin"), &data).expect("write");
    let rules = root.path().with_extension("rules");
    fs::write(&rules, "rg \\\\ /\nr ^pxe/ boot/\n").expect("rules");
    let server = JsonServer::start(root.path(), &["--map-file", rules.to_str().expect("utf-8")]);

    tftp_hpa(local.path(), server.addr, "get", "pxe\\image.bin", "a.bin");
    assert!(fs::read(local.path().join("a.bin")).unwrap() == data);
    let line = server.line_for("transfer", "pxe\\image.bin");
    check_ok(&line, "pxe\\image.bin", "read", &data);
    assert_eq!(line["served"], "boot/image.bin", "{line}");

    tftp_hpa(local.path(), server.addr, "get", "boot/image.bin", "b.bin");
    assert!(fs::read(local.path().join("b.bin")).unwrap() == data);
    let line = server.line_for("transfer", "boot/image.bin");
    check_ok(&line, "boot/image.bin", "read", &data);
    assert!(line.get("served").is_none(), "{line}");
    let _ = fs::remove_file(&rules);
}

// R-SRV-3, R-INT-1: uploads by tftp-hpa and curl are logged with the SHA-256 of the file as
// committed under its name.
#[test]
fn r_srv_3_uploads_are_logged_with_the_committed_file_sha256() {
    let root = procs::TempDir::new("jl-put-root");
    let local = procs::TempDir::new("jl-put-local");
    let data = procs::content(200_001, 62);
    fs::write(local.path().join("src.bin"), &data).expect("write");
    let server = JsonServer::start(root.path(), &["--allow-create"]);

    tftp_hpa(local.path(), server.addr, "put", "src.bin", "up-hpa.bin");
    let line = server.line_for("transfer", "up-hpa.bin");
    check_ok(&line, "up-hpa.bin", "write", &data);
    assert_eq!(
        line["sha256"],
        procs::sha256_hex(&fs::read(root.path().join("up-hpa.bin")).unwrap())
    );

    let url = format!("tftp://127.0.0.1:{}/up-curl.bin", server.addr.port());
    let src = local.path().join("src.bin");
    curl(&[OsStr::new("-T"), src.as_os_str(), OsStr::new(&url)]);
    let line = server.line_for("transfer", "up-curl.bin");
    check_ok(&line, "up-curl.bin", "write", &data);
    assert_eq!(
        line["sha256"],
        procs::sha256_hex(&fs::read(root.path().join("up-curl.bin")).unwrap())
    );
}

fn lossy_relay(server: SocketAddr, seed: u64) -> Relay {
    let imp = Impairment {
        loss: 0.10,
        duplicate: 0.05,
        reorder: 0.10,
        ..Impairment::none()
    };
    let config = RelayConfig {
        seed,
        to_server: imp,
        to_client: imp,
        max_lifetime: Duration::from_secs(120),
    };
    Relay::start(server, config).expect("relay")
}

/// Our client through `relay`: `verb` with windowsize 16, blksize 512.
fn our_client(dir: &Path, relay: &Relay, verb: &str, remote: &str, local: &str) {
    let host = relay.addr().to_string();
    let args = [
        verb,
        &host,
        remote,
        local,
        "--blksize",
        "512",
        "--windowsize",
        "16",
    ];
    let out = procs::run_bounded(
        Command::new(procs::our_bin("tftp"))
            .args(args)
            .current_dir(dir),
        LIMIT,
    );
    assert!(
        out.status.success(),
        "tftp {verb}: {}",
        procs::output_text(&out)
    );
}

// R-OPT-8, R-XFR-5: a windowed download through loss from a server that holds 2 blocks reads
// lost blocks again from the file; each byte is hashed once, so the receipt is still the
// file's SHA-256.
#[test]
fn r_opt_8_a_download_through_loss_hashes_blocks_read_again_once() {
    let root = procs::TempDir::new("jl-loss-get-root");
    let local = procs::TempDir::new("jl-loss-get-local");
    let data = procs::content(307_323, 63);
    fs::write(root.path().join("big.bin"), &data).expect("write");
    let server = JsonServer::start(root.path(), &["--send-buffer", "1024"]);
    let relay = lossy_relay(server.addr, 64);
    our_client(local.path(), &relay, "get", "big.bin", "got.bin");
    assert!(fs::read(local.path().join("got.bin")).unwrap() == data);
    let line = server.line_for("transfer", "big.bin");
    check_ok(&line, "big.bin", "read", &data);
    assert_eq!(line["options"]["windowsize"], 16);
    assert!(relay.stats().to_client.dropped > 0, "nothing was lost");
    assert!(
        line["retransmissions"].as_u64() > Some(0),
        "nothing was sent again: {line}"
    );
}

// R-SRV-3, R-OPT-8: a windowed upload through loss and reordering, whose blocks arrive ahead
// of missing ones and are written at their offsets: the receipt is the committed file's
// SHA-256.
#[test]
fn r_srv_3_an_upload_through_loss_and_reordering_hashes_the_committed_file() {
    let root = procs::TempDir::new("jl-loss-put-root");
    let local = procs::TempDir::new("jl-loss-put-local");
    let data = procs::content(307_323, 65);
    fs::write(local.path().join("src.bin"), &data).expect("write");
    let server = JsonServer::start(root.path(), &["--allow-create"]);
    let relay = lossy_relay(server.addr, 66);
    our_client(local.path(), &relay, "put", "up.bin", "src.bin");
    let line = server.line_for("transfer", "up.bin");
    check_ok(&line, "up.bin", "write", &data);
    assert!(fs::read(root.path().join("up.bin")).unwrap() == data);
    let stats = relay.stats();
    assert!(
        stats.to_server.dropped > 0 && stats.to_server.reordered > 0,
        "{stats:?}"
    );
}

/// A request sent by hand: an RRQ for `name` from a fresh socket; the DATA of a file shorter
/// than one block is acknowledged, an ERROR is returned.
fn raw_get(server: SocketAddr, name: &[u8]) -> Result<Vec<u8>, (u16, String)> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(name);
    rrq.extend_from_slice(b"\0octet\0");
    socket.send_to(&rrq, server).expect("send");
    let mut buf = [0u8; 1024];
    let (n, from) = socket.recv_from(&mut buf).expect("an answer");
    if let Some(error) = procs::as_error(&buf[..n]) {
        return Err(error);
    }
    assert!(
        n < 516 && buf[..4] == [0, 3, 0, 1],
        "not the one DATA: {:?}",
        &buf[..n.min(8)]
    );
    socket.send_to(&[0, 4, 0, 1], from).expect("ack");
    Ok(buf[4..n].to_vec())
}

// R-SRV-1 with hostile names: a served name with a quote, a backslash (a separator) and
// non-ASCII letters is logged exactly; refused names with control characters, quotes and
// bytes that are not UTF-8 still make valid JSON lines whose file_hex gives the exact bytes.
#[test]
fn r_srv_1_hostile_names_make_valid_json() {
    let root = procs::TempDir::new("jl-names-root");
    fs::create_dir(root.path().join("dir")).expect("mkdir");
    fs::write(root.path().join("dir/q\"uote é.bin"), b"small file").expect("write");
    let server = JsonServer::start(root.path(), &[]);

    let served = "dir\\q\"uote é.bin";
    assert_eq!(
        raw_get(server.addr, served.as_bytes()),
        Ok(b"small file".to_vec())
    );
    let line = server.line_for("transfer", served);
    check_ok(&line, served, "read", b"small file");

    let hostile: [&[u8]; 3] = [
        b"a\"b\\c\x01\x1b[31m\x7f.bin",
        b"\xff\xfe\"\\\n",
        b"ok\xc3\x28name",
    ];
    for name in hostile {
        let refused = raw_get(server.addr, name);
        assert!(matches!(refused, Err((2, _))), "{name:?}: {refused:?}");
    }
    procs::eventually(Duration::from_secs(10), || {
        server
            .lines()
            .iter()
            .filter(|v| v["event"] == "refused")
            .count()
            >= 4
    });
    let lines = server.lines();
    for name in hostile {
        let lossy = String::from_utf8_lossy(name);
        let line = lines
            .iter()
            .find(|v| v["event"] == "refused" && v["file"] == *lossy)
            .unwrap_or_else(|| panic!("no refusal for {name:?} in {lines:?}"));
        assert_eq!(line["error"]["code"], 2);
        let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
        match std::str::from_utf8(name) {
            Ok(_) => assert!(line.get("file_hex").is_none(), "{line}"),
            Err(_) => assert_eq!(line["file_hex"], hex, "{line}"),
        }
    }
}

// R-XFR-9: a transfer the client ends with an ERROR is logged as failed, with the error, and
// without a hash (the client did not take the whole file).
#[test]
fn r_xfr_9_a_failed_transfer_is_logged_with_its_error_and_no_hash() {
    let root = procs::TempDir::new("jl-fail-root");
    fs::write(root.path().join("long.bin"), procs::content(5000, 67)).expect("write");
    let server = JsonServer::start(root.path(), &[]);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    socket
        .send_to(b"\x00\x01long.bin\x00octet\x00", server.addr)
        .expect("send");
    let mut buf = [0u8; 1024];
    let (n, from) = socket.recv_from(&mut buf).expect("DATA 1");
    assert_eq!(&buf[..4], [0, 3, 0, 1], "{n} bytes");
    socket
        .send_to(b"\x00\x05\x00\x00changed my mind\x00", from)
        .expect("error");
    let line = server.line_for("transfer", "long.bin");
    assert!(
        line["outcome"]
            .as_str()
            .is_some_and(|o| o.starts_with("failed: ") && o.contains("changed my mind")),
        "{line}"
    );
    assert_eq!(line["error"]["code"], 0);
    assert!(line["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("changed my mind")));
    assert!(line["sha256"].is_null(), "{line}");
}

// --log syslog: the refusal of the start-up probe and a download reach the log socket as
// `<PRI>tftpd[PID]: LINE`, facility daemon (3), notice (5) for a refusal and info (6) for a
// transfer, and they are not on stderr.
#[test]
fn syslog_lines_reach_the_log_socket() {
    let root = procs::TempDir::new("jl-syslog-root");
    let local = procs::TempDir::new("jl-syslog-local");
    let data = procs::content(40_000, 68);
    fs::write(root.path().join("s.bin"), &data).expect("write");
    let socket_path = root.path().with_extension("syslog.sock");
    let _ = fs::remove_file(&socket_path);
    let log = UnixDatagram::bind(&socket_path).expect("bind the log socket");
    log.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let args = [
        OsStr::new("--root"),
        root.path().as_os_str(),
        OsStr::new("--log"),
        OsStr::new("syslog"),
    ];
    let (server, addr) = procs::start_our_example_with("tftpd", "127.0.0.1", &args, |cmd| {
        cmd.env("TFTPD_SYSLOG_SOCKET", &socket_path);
    });
    tftp_hpa(local.path(), addr, "get", "s.bin", "s.bin");
    assert!(fs::read(local.path().join("s.bin")).unwrap() == data);
    let pid = server.pid();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !received.iter().any(|l: &String| l.contains("\"s.bin\"")) {
        let n = log
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no line ({e}) after {received:?}"));
        received.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let probe = format!("<29>tftpd[{pid}]: 127.0.0.1:");
    assert!(
        received.iter().any(|l| l.starts_with(&probe)
            && l.ends_with(
                "read \"no-such-file.procs-probe\": refused with ERROR 1 (file not found)"
            )),
        "{received:?}"
    );
    let transfer = received.last().unwrap();
    assert!(
        transfer.starts_with(&format!("<30>tftpd[{pid}]: 127.0.0.1:")),
        "{transfer}"
    );
    assert!(
        transfer.contains(" read \"s.bin\" octet blksize=512 windowsize=1: 40000 bytes in "),
        "{transfer}"
    );
    assert!(transfer.ends_with(", ok"), "{transfer}");
    let stderr = server.log_text();
    assert!(
        !stderr.contains("s.bin") && !stderr.contains("procs-probe"),
        "{stderr}"
    );
    drop(server);
    let _ = fs::remove_file(&socket_path);
}

// --log syslog with no log daemon listening: the server refuses to start, and says why.
#[test]
fn syslog_without_a_log_socket_refuses_to_start() {
    let root = procs::TempDir::new("jl-nosyslog-root");
    let missing = root.path().join("no-such.sock");
    let port = procs::free_udp_port().to_string();
    let out = procs::run_bounded(
        Command::new(procs::our_bin("tftpd"))
            .args(["--root"])
            .arg(root.path())
            .args(["--bind", "127.0.0.1", "--port", &port, "--log", "syslog"])
            .env("TFTPD_SYSLOG_SOCKET", &missing),
        Duration::from_secs(20),
    );
    let text = procs::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("--log syslog: cannot reach"), "{text}");
}
