//! The tftpd-hpa flags people use, on our server: `--refuse` (-r), `--umask` (-U),
//! `--retransmit` (-T), `--max-timeout`, `-4`/`-6`, and tftpd-hpa's short spellings
//! (-c -B -r -U -T -m -R -u) taken as an admin's TFTP_OPTIONS line would give them.

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use procs::{
    content, output_text, require_peer, run_bounded, start_our_server, start_our_server_on, TempDir,
};

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

fn rrq(name: &str, options: &[(&str, &str)]) -> Vec<u8> {
    let mut p = b"\x00\x01".to_vec();
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(b"\x00octet\x00");
    for (k, v) in options {
        p.extend_from_slice(k.as_bytes());
        p.push(0);
        p.extend_from_slice(v.as_bytes());
        p.push(0);
    }
    p
}

fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = socket.recv_from(&mut buf).expect("an answer in time");
    (buf[..n].to_vec(), from)
}

/// The options of an OACK, as name=value strings in order.
fn oack_options(packet: &[u8]) -> Vec<String> {
    assert_eq!(&packet[..2], [0, 6], "not an OACK: {packet:?}");
    let fields: Vec<&[u8]> = packet[2..].split(|&b| b == 0).collect();
    fields
        .chunks(2)
        .filter(|kv| kv.len() == 2)
        .map(|kv| {
            format!(
                "{}={}",
                String::from_utf8_lossy(kv[0]),
                String::from_utf8_lossy(kv[1])
            )
        })
        .collect()
}

// R-OPT-1, R-OPT-6: --refuse leaves an option out of the OACK; --max-timeout grants a timeout
// up to it as asked and leaves a larger one out, never changing it.
#[test]
fn r_opt_1_refused_options_and_the_timeout_cap() {
    let root = TempDir::new("flags-refuse");
    fs::write(root.path().join("f.bin"), content(3000, 1)).expect("file");
    let (_server, addr) = start_our_server(
        root.path(),
        &[
            "--refuse",
            "blksize",
            "-r",
            "windowsize",
            "--max-timeout",
            "5",
        ],
    );
    let c = client();
    let asked = [
        ("blksize", "1468"),
        ("tsize", "0"),
        ("windowsize", "8"),
        ("timeout", "5"),
    ];
    c.send_to(&rrq("f.bin", &asked), addr).expect("RRQ");
    let (oack, _) = recv(&c);
    assert_eq!(oack_options(&oack), ["tsize=3000", "timeout=5"]);

    let c = client();
    c.send_to(&rrq("f.bin", &[("timeout", "6"), ("tsize", "0")]), addr)
        .expect("RRQ");
    let (oack, _) = recv(&c);
    assert_eq!(oack_options(&oack), ["tsize=3000"]);

    // A real client still gets the file when its blksize is refused (RFC 2347 fallback).
    let Some(atftp) = require_peer("atftp") else {
        return;
    };
    let local = root.path().join("got.bin");
    let out = run_bounded(
        Command::new(atftp)
            .args(["--option", "blksize 1024", "-g", "-r", "f.bin", "-l"])
            .arg(&local)
            .args(["127.0.0.1", &addr.port().to_string()]),
        RUN_TIMEOUT,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(fs::read(&local).unwrap_or_default(), content(3000, 1));
}

fn mode_of(path: &std::path::Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

// R-SRV-2: --umask sets the permissions of new files exactly (0666 less the mask, whatever
// the process umask); without it a new file is 0644 less the process umask; a replaced file
// keeps its own permissions.
#[test]
fn r_srv_2_umask_sets_the_permissions_of_new_files() {
    let Some(tftp) = require_peer("tftp") else {
        return;
    };
    let put = |port: u16, local: &std::path::Path, remote: &str| {
        let out = run_bounded(
            Command::new(&tftp)
                .args(["127.0.0.1", &port.to_string(), "-m", "binary", "-c", "put"])
                .arg(local)
                .arg(remote),
            RUN_TIMEOUT,
        );
        let text = output_text(&out);
        assert!(out.status.success() && !text.contains("Error"), "{text}");
    };
    let top = TempDir::new("flags-umask");
    let local = top.path().join("local.bin");
    fs::write(&local, content(2000, 2)).expect("local");
    for (flags, new_mode) in [
        (&["-c", "-U", "027"][..], 0o640),
        (&["-c", "--umask", "0"][..], 0o666),
        (&["-c"][..], 0o644),
    ] {
        let root = TempDir::new("flags-umask-root");
        let kept = root.path().join("kept.bin");
        fs::write(&kept, b"old").expect("kept");
        fs::set_permissions(&kept, fs::Permissions::from_mode(0o600)).expect("chmod");
        let mut args = flags.to_vec();
        args.push("--allow-write");
        let (_server, addr) = start_our_server(root.path(), &args);
        put(addr.port(), &local, "new.bin");
        put(addr.port(), &local, "kept.bin");
        assert_eq!(mode_of(&root.path().join("new.bin")), new_mode, "{flags:?}");
        assert_eq!(
            mode_of(&kept),
            0o600,
            "{flags:?}: a replaced file changed mode"
        );
        assert_eq!(fs::read(&kept).expect("kept"), content(2000, 2));
    }
}

// R-XFR-12: --retransmit (-T) sets the shortest retransmission interval for clients that
// negotiate no timeout: a lost DATA 2 comes again no sooner than that (on loopback the
// measured interval would be a few milliseconds).
#[test]
fn r_xfr_12_retransmit_sets_the_shortest_interval() {
    let root = TempDir::new("flags-retransmit");
    fs::write(root.path().join("f.bin"), content(2000, 3)).expect("file");
    let (_server, addr) = start_our_server(root.path(), &["-T", "300000"]);
    let c = client();
    c.send_to(&rrq("f.bin", &[]), addr).expect("RRQ");
    let (data1, tid) = recv(&c);
    assert_eq!(&data1[..4], [0, 3, 0, 1]);
    c.send_to(&[0, 4, 0, 1], tid).expect("ACK 1");
    let (data2, _) = recv(&c);
    let sent = Instant::now();
    assert_eq!(&data2[..4], [0, 3, 0, 2]);
    let (again, _) = recv(&c);
    let waited = sent.elapsed();
    assert_eq!(again, data2, "not a retransmission of DATA 2");
    assert!(
        waited >= Duration::from_millis(290),
        "retransmitted after {waited:?}, before the 300 ms asked for"
    );
}

/// Whether a server at `addr` answers an RRQ (any answer) within a second.
fn answers(addr: SocketAddr) -> bool {
    let bind = if addr.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let s = UdpSocket::bind(bind).expect("bind");
    s.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    s.send_to(&rrq("nothing-here", &[]), addr).expect("RRQ");
    let mut buf = [0u8; 512];
    s.recv_from(&mut buf).is_ok()
}

// R-SRV-5: -6 listens on IPv6 only; -4 (and the default) on IPv4 only; `--bind ::` on both.
#[test]
fn r_srv_5_ipv4_and_ipv6_only() {
    let root = TempDir::new("flags-family");
    let _six = start_v6_only_wildcard(root.path());

    let (_four, addr) = start_our_server(root.path(), &["-4"]);
    assert!(answers(addr), "-4 does not answer on 127.0.0.1");
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()));
    assert!(!answers(v6), "-4 answers on ::1");

    let (_both, addr) = start_our_server_on("::", root.path(), &[]);
    assert!(answers(addr), "--bind :: does not answer on 127.0.0.1");
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()));
    assert!(answers(v6), "--bind :: does not answer on ::1");
}

/// `tftpd -6` on the IPv6 wildcard: it answers on ::1 and not on 127.0.0.1 (probed over
/// IPv6 by hand, since the usual start probe speaks IPv4).
fn start_v6_only_wildcard(root: &std::path::Path) -> procs::ChildGuard {
    let port = procs::free_udp_port();
    let child = Command::new(procs::our_bin("tftpd"))
        .arg("--root")
        .arg(root)
        .args(["-6", "--port", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn tftpd -6");
    let guard = procs::ChildGuard::new(child);
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    assert!(
        procs::eventually(Duration::from_secs(20), || answers(v6)),
        "tftpd -6 did not answer on ::1"
    );
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(!answers(v4), "tftpd -6 answers on IPv4");
    guard
}

// R-SRV-2, R-OPT-5: an admin's tftpd-hpa options in their short spellings work as they say:
// -c creates, -B caps the block size, -r refuses tsize, -m remaps.
#[test]
fn r_srv_2_tftpd_hpa_short_flags() {
    let Some(tftp) = require_peer("tftp") else {
        return;
    };
    let top = TempDir::new("flags-short");
    let root = top.path().join("root");
    fs::create_dir(&root).expect("root");
    fs::write(root.join("boot.img"), content(5000, 4)).expect("file");
    let rules = top.path().join("rules");
    fs::write(&rules, "rg \\\\ /\n").expect("rules");
    let rules = rules.to_str().expect("path").to_owned();
    let (_server, addr) =
        start_our_server(&root, &["-c", "-B", "1024", "-r", "tsize", "-m", &rules]);
    let c = client();
    c.send_to(
        &rrq("boot.img", &[("blksize", "1468"), ("tsize", "0")]),
        addr,
    )
    .expect("RRQ");
    let (oack, _) = recv(&c);
    assert_eq!(oack_options(&oack), ["blksize=1024"]);

    let port = addr.port().to_string();
    let local = top.path().join("got.img");
    let out = run_bounded(
        Command::new(&tftp)
            .args([
                "127.0.0.1",
                &port,
                "-m",
                "binary",
                "-c",
                "get",
                r"\boot.img",
            ])
            .arg(&local),
        RUN_TIMEOUT,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(fs::read(&local).unwrap_or_default(), content(5000, 4));
    let out = run_bounded(
        Command::new(&tftp)
            .args(["127.0.0.1", &port, "-m", "binary", "-c", "put"])
            .arg(&local)
            .arg("made.img"),
        RUN_TIMEOUT,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(
        fs::read(root.join("made.img")).unwrap_or_default(),
        content(5000, 4)
    );
}

// R-SRV-1, R-SRV-5: the command line Debian's tftpd-hpa service runs (`in.tftpd --listen --user
// tftp --address 0.0.0.0:69 --secure /srv/tftp`, here with nobody, a loopback address, -c and
// -vv) starts our server unchanged, and a client gets a file.
#[test]
fn r_srv_1_debians_tftpd_hpa_command_line_works_unchanged() {
    let Some(tftp) = require_peer("tftp") else {
        return;
    };
    if !procs::require_root("--user nobody") {
        return;
    }
    let root = TempDir::new("flags-debian");
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::write(root.path().join("pxelinux.0"), content(4000, 5)).expect("file");
    let port = procs::free_udp_port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(procs::our_bin("tftpd"))
        .args([
            "--listen",
            "--user",
            "nobody",
            "--address",
            &address,
            "--secure",
        ])
        .args(["-c", "-vv"])
        .arg(root.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn tftpd");
    let _guard = procs::ChildGuard::new(child);
    let addr: SocketAddr = address.parse().expect("address");
    assert!(
        procs::eventually(Duration::from_secs(20), || answers(addr)),
        "no answer"
    );
    let local = root.path().join("got");
    let out = run_bounded(
        Command::new(&tftp)
            .args(["127.0.0.1", &port.to_string(), "-m", "binary", "-c", "get"])
            .args(["/pxelinux.0"])
            .arg(&local),
        RUN_TIMEOUT,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(fs::read(&local).unwrap_or_default(), content(4000, 5));
}
