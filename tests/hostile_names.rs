//! Hostile file names against our running `tftpd` (R-SRV-1): every name in the table is
//! sent as a raw RRQ and a raw WRQ datagram to a server started with `--allow-create
//! --allow-write`, and each must be answered with the right ERROR (2 for a traversal, an
//! escape or a device, 1 for a name that is harmless but absent, 4 for a malformed request),
//! or, for a harmless WRQ, be stored beneath the root where the name says. Afterwards nothing
//! outside the root was read (no datagram ever carries the secrets planted outside it) or
//! written (the tree around the root is byte-for-byte as it was).
//!
//! The root is deep (about 1.5 KiB of path) so that a root joined with a long name passes
//! PATH_MAX (bad-inputs: dnsmasq CVE-2009-2957), and every `..` chain in the table stays
//! inside this test's own folder: were the server to follow one, it would write there, where
//! the snapshot sees it, never into the system.

#![cfg(unix)]

#[path = "support/procs.rs"]
mod procs;

#[path = "support/hostile.rs"]
mod hostile;

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::Duration;

use hostile::{as_ack, as_error, contains, data, describe, snapshot, snapshot_diff, Raw};

/// Folders between the test's base and the root's parent (each 150 bytes long).
const DEPTH: usize = 10;
/// `..` steps from the root up to the test's base folder (DEPTH levels, the root's parent,
/// the root itself): no chain in the table is longer, so none can leave the base.
const UP_TO_BASE: usize = DEPTH + 2;
/// How long one answer may take.
const ANSWER: Duration = Duration::from_secs(3);

/// What a request must get.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Want {
    /// An ERROR with this code, and nothing else.
    Error(u16),
    /// (WRQ only) ACK 0, then the one-block upload lands at this path under the root.
    Stored(PathBuf),
    /// Not sent (a WRQ aimed at a system path: never risk writing there).
    Skip,
}

use Want::{Error, Skip};

fn stored(rel: &str) -> Want {
    Want::Stored(PathBuf::from(rel))
}

/// One row: bytes after the opcode (`name\0mode\0...`, or something malformed).
struct Case {
    label: String,
    body: Vec<u8>,
    rrq: Want,
    wrq: Want,
}

/// The folders and planted secrets of one run.
struct World {
    base: procs::TempDir,
    root: PathBuf,
    outside: PathBuf,
    secrets: Vec<Vec<u8>>,
    inner: Vec<u8>,
    devices: bool,
}

/// `name\0octet\0`.
fn body(name: &[u8]) -> Vec<u8> {
    let mut b = name.to_vec();
    b.extend_from_slice(b"\0octet\0");
    b
}

fn case(label: &str, name: &[u8], rrq: Want, wrq: Want) -> Case {
    Case {
        label: label.to_string(),
        body: body(name),
        rrq,
        wrq,
    }
}

fn raw_case(label: &str, raw: &[u8], rrq: Want, wrq: Want) -> Case {
    Case {
        label: label.to_string(),
        body: raw.to_vec(),
        rrq,
        wrq,
    }
}

/// Builds base/outside (secrets), base/l0/../l9/x/root (served) and x/root-private (the
/// root-prefix sibling), with links, a FIFO, a folder and (as root) device nodes in the root.
fn build_world() -> World {
    let base = procs::TempDir::new("hostile-names");
    let outside = base.path().join("outside");
    fs::create_dir_all(outside.join("sub")).expect("mkdir outside");
    let marker = |tag: &str| {
        let mut s = format!("TOP-SECRET-{tag}-{}-", std::process::id()).into_bytes();
        s.extend_from_slice(&procs::content(700, tag.len() as u64 + 99));
        s
    };
    let secret = marker("outside");
    let secret_sub = marker("outside-sub");
    let secret_sibling = marker("sibling");
    fs::write(outside.join("secret.txt"), &secret).expect("write secret");
    fs::write(outside.join("sub").join("secret2.txt"), &secret_sub).expect("write secret2");

    let mut parent = base.path().to_path_buf();
    for level in 0..DEPTH {
        parent.push(format!("l{level}-{}", "p".repeat(146)));
    }
    parent.push("x");
    let root = parent.join("root");
    let sibling = parent.join("root-private");
    fs::create_dir_all(root.join("sub")).expect("mkdir root");
    fs::create_dir_all(&sibling).expect("mkdir sibling");
    fs::write(sibling.join("secret"), &secret_sibling).expect("write sibling secret");

    let inner = b"inside the root, fine to serve\n".to_vec();
    fs::write(root.join("inner.txt"), &inner).expect("write inner");
    fs::write(root.join("sub").join("inner2.txt"), &inner).expect("write inner2");

    let up = "../".repeat(UP_TO_BASE);
    let depth_from_slash = root.components().count() - 1;
    let to_slash = "../".repeat(depth_from_slash);
    let links: [(&str, PathBuf); 8] = [
        ("link-file", outside.join("secret.txt")),
        ("link-rel", PathBuf::from(format!("{up}outside/secret.txt"))),
        ("link-dir", outside.clone()),
        ("link-rel-dir", PathBuf::from(format!("{up}outside"))),
        ("priv", PathBuf::from("../root-private")),
        ("zero", PathBuf::from("/dev/zero")),
        ("zero-rel", PathBuf::from(format!("{to_slash}dev/zero"))),
        ("loop", PathBuf::from("loop")),
    ];
    for (name, target) in links {
        symlink(&target, root.join(name)).expect("symlink");
    }
    // The relative links really lead where they claim (else the rows prove nothing).
    assert_eq!(
        fs::read(root.join("link-rel")).expect("link-rel resolves"),
        secret
    );
    assert!(
        fs::metadata(root.join("zero-rel")).is_ok(),
        "zero-rel resolves"
    );
    assert_eq!(
        fs::read(root.join("priv").join("secret")).expect("priv resolves"),
        secret_sibling
    );

    let fifo = Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(fifo, "mkfifo failed");
    let devices = procs::require_root("mknod of device files inside the root")
        && [("null-dev", "1", "3"), ("zero-dev", "1", "5")]
            .iter()
            .all(|(name, major, minor)| {
                Command::new("mknod")
                    .arg(root.join(name))
                    .args(["c", major, minor])
                    .status()
                    .is_ok_and(|s| s.success())
            });
    World {
        base,
        root,
        outside,
        secrets: vec![secret, secret_sub, secret_sibling],
        inner,
        devices,
    }
}

/// The table: at least 40 hostile names (plus one row per control byte).
fn cases(world: &World) -> Vec<Case> {
    let up = |n: usize| "../".repeat(n);
    let abs_outside = world.outside.display().to_string();
    let mut c = vec![
        // -- `..` in all its spellings (bad-inputs: many servers, path traversal).
        case("../etc/passwd", b"../etc/passwd", Error(2), Error(2)),
        case("/../../x", b"/../../x", Error(2), Error(2)),
        case("a/../../b", b"a/../../b", Error(2), Error(2)),
        case("a/..", b"a/..", Error(2), Error(2)),
        case("..", b"..", Error(2), Error(2)),
        case("..\\..\\x (backslashes)", b"..\\..\\x", Error(2), Error(2)),
        case("a\\..\\..\\b", b"a\\..\\..\\b", Error(2), Error(2)),
        // bad-inputs: `..../` that a filter collapses into `../`.
        case("..../", b"..../", Error(2), Error(2)),
        case("..../x", b"..../x", Error(2), Error(2)),
        case("...", b"...", Error(2), Error(2)),
        case(".../x", b".../x", Error(2), Error(2)),
        case(". . (dots and spaces)", b". .", Error(2), Error(2)),
        case(".. /x (dot dot space)", b".. /x", Error(2), Error(2)),
        case("/./././../x", b"/./././../x", Error(2), Error(2)),
        case("sub/../../x", b"sub/../../x", Error(2), Error(2)),
        case("inner.txt/..", b"inner.txt/..", Error(2), Error(2)),
        case(
            "../ x12 to the base, then outside/secret.txt",
            format!("{}outside/secret.txt", up(UP_TO_BASE)).as_bytes(),
            Error(2),
            Error(2),
        ),
        case(
            "../ x2 then an escape file",
            format!("{}escaped-by-wrq", up(2)).as_bytes(),
            Error(2),
            Error(2),
        ),
        // bad-inputs: root check by string prefix (/srv/tftp matching /srv/tftp-private).
        case(
            "../root-private/secret (root-prefix sibling)",
            b"../root-private/secret",
            Error(2),
            Error(2),
        ),
        // -- Absolute names are taken relative to the root (R-SRV-1).
        case("/etc/passwd", b"/etc/passwd", Error(1), Skip),
        case("/proc/self/environ", b"/proc/self/environ", Error(1), Skip),
        case("/dev/zero (absolute)", b"/dev/zero", Error(1), Skip),
        case(
            "absolute path of the outside secret",
            format!("{abs_outside}/secret.txt").as_bytes(),
            Error(1),
            Error(1),
        ),
        case(
            "absolute path of a new file in the outside folder",
            format!("{abs_outside}/new-abs.txt").as_bytes(),
            Error(1),
            Error(1),
        ),
        case("/ (nothing but a separator)", b"/", Error(2), Error(2)),
        case(". (nothing but a dot)", b".", Error(2), Error(2)),
        case(
            "/new-abs.txt (harmless absolute)",
            b"/new-abs.txt",
            Error(1),
            stored("new-abs.txt"),
        ),
        case(
            "\\new-bs.txt (harmless backslash)",
            b"\\new-bs.txt",
            Error(1),
            stored("new-bs.txt"),
        ),
        // -- Symbolic links out of the root (R-SRV-1: the file-system part).
        case(
            "link-file -> outside/secret.txt",
            b"link-file",
            Error(2),
            Error(2),
        ),
        case(
            "link-rel -> ../../outside/secret.txt",
            b"link-rel",
            Error(2),
            Error(2),
        ),
        case(
            "link-dir/secret.txt (link to a folder outside)",
            b"link-dir/secret.txt",
            Error(2),
            Error(2),
        ),
        case(
            "link-dir/sub/secret2.txt",
            b"link-dir/sub/secret2.txt",
            Error(2),
            Error(2),
        ),
        case(
            "link-dir/new.txt (create through a link)",
            b"link-dir/new.txt",
            Error(2),
            Error(2),
        ),
        case("link-dir", b"link-dir", Error(2), Error(2)),
        case(
            "link-rel-dir/secret.txt",
            b"link-rel-dir/secret.txt",
            Error(2),
            Error(2),
        ),
        case(
            "priv/secret (link to the root-prefix sibling)",
            b"priv/secret",
            Error(2),
            Error(2),
        ),
        case(
            "priv/new (create in the sibling)",
            b"priv/new",
            Error(2),
            Error(2),
        ),
        case("loop -> loop", b"loop", Error(2), Error(2)),
        // -- Devices, FIFOs, folders: not regular files.
        case("zero -> /dev/zero", b"zero", Error(2), Error(2)),
        case(
            "zero-rel -> ../../dev/zero",
            b"zero-rel",
            Error(2),
            Error(2),
        ),
        case("fifo (a FIFO in the root)", b"fifo", Error(2), Error(2)),
        case("sub (a folder)", b"sub", Error(2), Error(2)),
        case(
            "sub/ (a folder, trailing slash)",
            b"sub/",
            Error(2),
            Error(2),
        ),
        // -- Windows spellings.
        case("C:\\x", b"C:\\x", Error(2), Error(2)),
        case(
            "C:\\Windows\\win.ini",
            b"C:\\Windows\\win.ini",
            Error(2),
            Error(2),
        ),
        case("\\\\?\\C:\\x", b"\\\\?\\C:\\x", Error(2), Error(2)),
        case(
            "inner.txt::$DATA (alternate stream)",
            b"inner.txt::$DATA",
            Error(2),
            Error(2),
        ),
        case(
            "\\\\server\\share\\x (UNC, harmless)",
            b"\\\\server\\share\\x",
            Error(1),
            Error(1),
        ),
        // -- Encodings that only a decoder would turn into `..`: harmless, absent.
        case(
            "%2e%2e/%2e%2e/etc/passwd",
            b"%2e%2e/%2e%2e/etc/passwd",
            Error(1),
            Error(1),
        ),
        case("%2e%2e", b"%2e%2e", Error(1), stored("%2e%2e")),
        case(
            "..%2f..%2fx",
            b"..%2f..%2fx",
            Error(1),
            stored("..%2f..%2fx"),
        ),
        case("..%00/x", b"..%00/x", Error(1), Error(1)),
        case("..;/x", b"..;/x", Error(1), Error(1)),
        case("..;", b"..;", Error(1), stored("..;")),
        case(
            "fullwidth dots \u{ff0e}\u{ff0e}/x",
            "\u{ff0e}\u{ff0e}/x".as_bytes(),
            Error(1),
            Error(1),
        ),
        case(
            "fullwidth dots \u{ff0e}\u{ff0e}",
            "\u{ff0e}\u{ff0e}".as_bytes(),
            Error(1),
            stored("\u{ff0e}\u{ff0e}"),
        ),
        case(
            "two-dot leader \u{2025}/x",
            "\u{2025}/x".as_bytes(),
            Error(1),
            Error(1),
        ),
        // Overlong UTF-8 for `.` and `/`: not UTF-8, refused.
        case(
            "overlong UTF-8 ../x",
            b"\xc0\xae\xc0\xae/x",
            Error(2),
            Error(2),
        ),
        case(
            "overlong UTF-8 ..(slash)x",
            b"\xc0\xae\xc0\xae\xc0\xafx",
            Error(2),
            Error(2),
        ),
        case("invalid UTF-8 \\xff\\xfe", b"\xff\xfe", Error(2), Error(2)),
        case(
            "inner.txt/x (through a file)",
            b"inner.txt/x",
            Error(1),
            Error(1),
        ),
        case(
            "~root/.ssh/authorized_keys",
            b"~root/.ssh/authorized_keys",
            Error(1),
            Skip,
        ),
        case(
            "$(id) (shell syntax, harmless)",
            b"$(id)",
            Error(1),
            stored("$(id)"),
        ),
        // -- Malformed requests (bad-inputs: atftpd CVE-2021-46671, last byte not NUL).
        raw_case("empty name", b"\0octet\0", Error(4), Error(4)),
        raw_case(
            "NUL first: \\0../etc/passwd",
            b"\0../etc/passwd\0octet\0",
            Error(4),
            Error(4),
        ),
        raw_case(
            "embedded NUL: ../../x\\0.txt (the NUL ends the name)",
            b"../../x\0.txt\0octet\0",
            Error(4),
            Error(4),
        ),
        raw_case(
            "embedded NUL: inner.txt\\0../outside/secret.txt",
            b"inner.txt\0../outside/secret.txt\0",
            Error(4),
            Error(4),
        ),
        raw_case(
            "no NUL after the mode",
            b"../etc/passwd\0octet",
            Error(4),
            Error(4),
        ),
        raw_case("no NUL at all", b"../etc/passwd", Error(4), Error(4)),
        raw_case("mail mode with ..", b"../x\0mail\0", Error(4), Error(4)),
        raw_case(
            "traversal with options",
            b"../x\0octet\0blksize\x001468\0tsize\x000\0",
            Error(2),
            Error(2),
        ),
        raw_case(
            "traversal in netascii",
            b"../../x\0NetAscii\0",
            Error(2),
            Error(2),
        ),
    ];
    // -- Control characters (0x01..=0x1f, 0x7f): log and terminal injection.
    for byte in (1u8..=0x1f).chain([0x7f]) {
        let mut name = format!("ctl-{byte:02x}-").into_bytes();
        name.push(byte);
        name.extend_from_slice(b"-x");
        c.push(case(
            &format!("control byte 0x{byte:02x}"),
            &name,
            Error(2),
            Error(2),
        ));
    }
    c.push(case(
        "ANSI escape \\x1b[2J",
        b"\x1b[2J\x1b[31mred",
        Error(2),
        Error(2),
    ));
    c.push(case(
        "a\\nb (newline)",
        b"a\nfake log line",
        Error(2),
        Error(2),
    ));
    // -- Long names (bad-inputs: Cisco IOS, AT-TFTP, TFTPD32: 100 B to 32 KiB; dnsmasq
    // CVE-2009-2957 with the deep root).
    let max_name = 65_507 - 2 - 1 - "octet".len() - 1;
    c.push(case(
        "300 B, one component",
        &[b'a'; 300],
        Error(2),
        Error(2),
    ));
    let mut multi = "d/".repeat(149);
    multi.push('x');
    c.push(case(
        "300 B, many short components (absent)",
        multi.as_bytes(),
        Error(1),
        Error(1),
    ));
    c.push(case(
        "4 KiB, one component",
        &[b'b'; 4096],
        Error(2),
        Error(2),
    ));
    c.push(case(
        "4 KiB of ../",
        "../".repeat(1365).as_bytes(),
        Error(2),
        Error(2),
    ));
    c.push(case(
        "65000 B of x/",
        "x/".repeat(32_500).as_bytes(),
        Error(2),
        Error(2),
    ));
    c.push(case(
        "largest datagram (65498 B name)",
        &vec![b'c'; max_name],
        Error(2),
        Error(2),
    ));
    if world.devices {
        c.push(case(
            "null-dev (mknod c 1 3)",
            b"null-dev",
            Error(2),
            Error(2),
        ));
        c.push(case(
            "zero-dev (mknod c 1 5)",
            b"zero-dev",
            Error(2),
            Error(2),
        ));
    }
    c
}

/// Sends one request and checks its answer; problems go to `failures`. Returns the socket
/// for a later check that nothing else arrives.
fn run_one(
    server: SocketAddr,
    world: &World,
    case: &Case,
    opcode: u8,
    want: &Want,
    seen: &mut Vec<Vec<u8>>,
    failures: &mut Vec<String>,
) -> Option<Raw> {
    if *want == Skip {
        return None;
    }
    let kind = if opcode == 1 { "RRQ" } else { "WRQ" };
    let mut socket = Raw::new();
    let mut datagram = vec![0, opcode];
    datagram.extend_from_slice(&case.body);
    socket.send(&datagram, server);
    let Some((answer, from)) = socket.recv_within(ANSWER) else {
        failures.push(format!(
            "{kind} {}: no answer within {ANSWER:?}",
            case.label
        ));
        return Some(socket);
    };
    seen.push(answer.clone());
    match want {
        Error(code) => match as_error(&answer) {
            Some((got, _)) if got == *code => {}
            _ => {
                failures.push(format!(
                    "{kind} {}: want ERROR {code}, got {}",
                    case.label,
                    describe(&answer)
                ));
                // End whatever started, so it sends nothing more.
                if as_error(&answer).is_none() {
                    socket.send(&hostile::error(0, "test: end"), from);
                }
            }
        },
        Want::Stored(rel) => {
            if as_ack(&answer) != Some(0) {
                failures.push(format!(
                    "{kind} {}: want ACK 0 (stored at {}), got {}",
                    case.label,
                    rel.display(),
                    describe(&answer)
                ));
                return Some(socket);
            }
            let payload = format!("stored by hostile_names: {}\n", case.label).into_bytes();
            socket.send(&data(1, &payload), from);
            match socket.recv_within(ANSWER) {
                Some((a, _)) if as_ack(&a) == Some(1) => {}
                other => failures.push(format!(
                    "{kind} {}: want ACK 1, got {:?}",
                    case.label,
                    other.map(|(a, _)| describe(&a))
                )),
            }
            let path = world.root.join(rel);
            let landed = hostile::eventually(Duration::from_secs(2), || {
                fs::read(&path).is_ok_and(|b| b == payload)
            });
            if !landed {
                failures.push(format!(
                    "{kind} {}: the upload did not land at {}",
                    case.label,
                    path.display()
                ));
            }
        }
        Skip => unreachable!(),
    }
    Some(socket)
}

/// RRQ for a served name: DATA 1 with `want`, then ACK 1.
fn fetch_small(server: SocketAddr, name: &[u8]) -> Vec<u8> {
    let mut socket = Raw::new();
    socket.send(&hostile::rrq(name), server);
    let (answer, from) = socket.expect("RRQ for a served file");
    let (block, payload) = hostile::as_data(&answer)
        .unwrap_or_else(|| panic!("want DATA 1 for {name:?}, got {}", describe(&answer)));
    assert_eq!(block, 1);
    let payload = payload.to_vec();
    socket.send(&hostile::ack(1), from);
    payload
}

// R-SRV-1: at least 40 hostile names (traversal in every spelling, absolute names, links out
// of the root to a file, a folder and the root-prefix sibling, /dev/zero, device nodes, a
// FIFO, a folder, Windows drive and stream names, encodings, NUL, control bytes, names up to
// the datagram limit) as raw RRQs and WRQs: each gets its ERROR (or, for a harmless WRQ, is
// stored beneath the root), no datagram carries a byte of the secrets outside the root, the
// tree around the root is byte-for-byte unchanged, the log stays one escaped line per event,
// and the server still serves afterwards.
#[test]
fn r_srv_1_hostile_names_never_leave_the_root() {
    let world = build_world();
    let before = snapshot(world.base.path(), &[world.root.as_path()]);
    // --rate-limit 0: the table sends some 250 requests from one address in a few seconds.
    let (server, addr) = procs::start_our_server(
        &world.root,
        &["--allow-create", "--allow-write", "--rate-limit", "0"],
    );

    // Controls: the server serves inside the root, absolute names included.
    assert_eq!(fetch_small(addr, b"inner.txt"), world.inner);
    assert_eq!(fetch_small(addr, b"/sub/inner2.txt"), world.inner);

    let table = cases(&world);
    assert!(table.len() >= 40, "only {} names", table.len());
    let mut seen = Vec::new();
    let mut failures = Vec::new();
    let mut sockets = Vec::new();
    for case in &table {
        for (opcode, want) in [(1, &case.rrq), (2, &case.wrq)] {
            if let Some(s) = run_one(addr, &world, case, opcode, want, &mut seen, &mut failures) {
                sockets.push(s);
            }
        }
    }
    // Nothing more arrives anywhere (no late DATA, no second answer).
    thread::sleep(Duration::from_millis(500));
    for socket in &mut sockets {
        for (extra, from) in socket.drain(Duration::from_millis(2)) {
            failures.push(format!(
                "an extra datagram from {from} to {}: {}",
                socket.addr(),
                describe(&extra)
            ));
            seen.push(extra);
        }
    }

    // Nothing outside the root was read...
    let passwd = fs::read("/etc/passwd").unwrap_or_default();
    let passwd_head = &passwd[..passwd.len().min(32)];
    for datagram in &seen {
        for secret in &world.secrets {
            if contains(datagram, &secret[..40]) {
                failures.push(format!(
                    "a datagram carried a secret: {}",
                    describe(datagram)
                ));
            }
        }
        if passwd_head.len() >= 8 && contains(datagram, passwd_head) {
            failures.push("a datagram carried /etc/passwd".to_string());
        }
    }
    // ...or written: the tree around the root is as it was, no temporary file remains.
    let after = snapshot(world.base.path(), &[world.root.as_path()]);
    failures.extend(snapshot_diff(&before, &after));
    failures.extend(
        hostile::part_files(&world.root)
            .into_iter()
            .map(|p| format!("temporary file left: {}", p.display())),
    );

    // The server still serves, and its log is one escaped line per event (bad-inputs: Open
    // TFTP Server, overflow in logging; a name with a newline must not forge a line).
    assert_eq!(fetch_small(addr, b"inner.txt"), world.inner);
    let log = server.log_text();
    for line in log.lines() {
        if !line.starts_with("tftpd: ") {
            failures.push(format!("log line not from tftpd: {line:?}"));
        }
        if line.len() > 2048 {
            failures.push(format!("log line of {} bytes", line.len()));
        }
        if line.bytes().any(|b| b < 0x20 || b == 0x7f) {
            failures.push(format!("raw control byte in the log: {line:?}"));
        }
    }
    let requests = sockets.len();
    println!(
        "hostile_names: {} names, {requests} requests, {} log lines, devices: {}",
        table.len(),
        log.lines().count(),
        world.devices
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}\n--- server log (last 40 lines)\n{}",
        failures.len(),
        failures.join("\n"),
        log.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// R-SRV-1, R-SRV-2: an upload cannot replace a symbolic link inside the root (even one that
// points inside it) nor follow it on commit: the link and its target stay as they were.
#[test]
fn r_srv_1_upload_never_follows_a_link_on_commit() {
    let base = procs::TempDir::new("hostile-commit");
    let root = base.path().join("root");
    let outside = base.path().join("outside");
    fs::create_dir_all(&root).expect("mkdir root");
    fs::create_dir_all(&outside).expect("mkdir outside");
    fs::write(outside.join("target.txt"), b"outside, keep").expect("write target");
    fs::write(root.join("inside.txt"), b"inside, keep").expect("write inside");
    symlink(outside.join("target.txt"), root.join("out-link")).expect("symlink");
    symlink("inside.txt", root.join("in-link")).expect("symlink");
    let before = snapshot(base.path(), &[]);
    let (_server, addr) = procs::start_our_server(&root, &["--allow-create", "--allow-write"]);
    for name in ["out-link", "in-link"] {
        let mut socket = Raw::new();
        socket.send(&hostile::wrq(name.as_bytes()), addr);
        let (answer, from) = socket.expect("WRQ over a link");
        if as_error(&answer).is_none() {
            // Accepted: finish it, then the checks below say what it did.
            socket.send(&data(1, b"overwritten"), from);
            let _ = socket.recv_within(ANSWER);
        }
        assert_eq!(
            as_error(&answer).map(|e| e.0),
            Some(2),
            "WRQ {name}: got {}",
            describe(&answer)
        );
    }
    let after = snapshot(base.path(), &[]);
    let diff = snapshot_diff(&before, &after);
    assert!(diff.is_empty(), "changed: {diff:?}");
}
