//! Wire check (R-INT-2): transfers through our server and our client are captured on `lo`
//! with tshark and decoded again; every UDP packet of each transfer must decode as TFTP,
//! none may be malformed or carry an expert warning, and the OACK must hold the options
//! that were asked for.
//!
//! Capturing on `lo` needs root: when not root and not under CI, the tests skip loudly.

#![cfg(unix)]

#[path = "support/procs.rs"]
mod procs;

#[path = "support/captured.rs"]
mod captured;

#[path = "support/tshark.rs"]
mod tshark;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use procs::{content, our_bin, output_text, require_peer, run_bounded, start_our_server, TempDir};
use tshark::Tshark;

/// Longest run of one client, or of one tshark decode.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Capture.

/// A running `tshark -i lo -f udp -w FILE`.
struct Capture(Tshark);

impl Capture {
    /// Starts capturing into `dir`, or None (skipped loudly) without root or tshark.
    fn start(dir: &Path) -> Option<Capture> {
        Tshark::start(dir, "udp").map(Capture)
    }

    /// Stops the capture and decodes it, with UDP `server_port` taken as TFTP (the
    /// conversations that follow are found by tshark).
    fn stop_and_decode(mut self, server_port: u16) -> Vec<Frame> {
        self.0.stop();
        let fields = [
            "frame.number",
            "udp.srcport",
            "udp.dstport",
            "frame.protocols",
            "tftp.opcode",
            "tftp.block",
            "tftp.source_file",
            "tftp.destination_file",
            "tftp.option.name",
            "tftp.option.value",
            "tftp.error.code",
            "_ws.malformed",
            "_ws.expert.severity",
            "_ws.expert.message",
            "udp.payload",
        ];
        self.0
            .fields(server_port, &fields)
            .lines()
            .map(Frame::parse)
            .collect()
    }
}

/// One decoded UDP datagram.
#[derive(Debug, Clone)]
struct Frame {
    number: u64,
    src: u16,
    dst: u16,
    protocols: String,
    opcode: Option<u16>,
    block: Option<u16>,
    file: String,
    options: Vec<(String, String)>,
    error_code: Option<u16>,
    malformed: String,
    expert: String,
    /// The UDP payload (a GSO batch on the sending host: see `support/captured.rs`).
    payload: Payload,
}

impl Frame {
    fn parse(line: &str) -> Frame {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("").to_string();
        let num = |i: usize| get(i).split(',').next().and_then(|v| v.parse().ok());
        let names: Vec<String> = split_list(&get(8));
        let values: Vec<String> = split_list(&get(9));
        Frame {
            number: num(0).unwrap_or(0),
            src: num(1).unwrap_or(0) as u16,
            dst: num(2).unwrap_or(0) as u16,
            protocols: get(3),
            opcode: num(4).map(|v| v as u16),
            block: num(5).map(|v| v as u16),
            file: format!("{}{}", get(6), get(7)),
            options: names.into_iter().zip(values).collect(),
            error_code: num(10).map(|v| v as u16),
            malformed: get(11),
            expert: format!("{} {}", get(12), get(13)).trim().to_string(),
            payload: Payload(captured::from_hex(&get(14))),
        }
    }

    fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Payload bytes, shown by their count in failure reports.
#[derive(Clone)]
struct Payload(Vec<u8>);

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(str::to_string).collect()
    }
}

/// The frames of the transfer whose request (opcode `opcode`, file `name`) went to
/// `server_port`: the request, and everything between the client's port and the server's
/// ports (listening port and transfer ID).
fn transfer_frames(frames: &[Frame], server_port: u16, opcode: u16, name: &str) -> Vec<Frame> {
    let request = frames
        .iter()
        .find(|f| f.dst == server_port && f.opcode == Some(opcode) && f.file == name)
        .unwrap_or_else(|| panic!("no request {opcode} for {name} to port {server_port}"));
    let client = request.src;
    let tid = frames
        .iter()
        .find(|f| f.number > request.number && f.dst == client && f.src != server_port)
        .map(|f| f.src);
    frames
        .iter()
        .filter(|f| f.number >= request.number)
        .filter(|f| {
            let ends = |a: u16, b: u16| (f.src == a && f.dst == b) || (f.src == b && f.dst == a);
            ends(client, server_port) || tid.is_some_and(|t| ends(client, t))
        })
        .cloned()
        .collect()
}

/// Asserts that every frame decodes as TFTP, with no malformed packet and no expert info
/// (but the one on every ERROR packet).
fn assert_clean(what: &str, frames: &[Frame]) {
    assert!(!frames.is_empty(), "{what}: no packets captured");
    let bad: Vec<&Frame> = frames
        .iter()
        .filter(|f| {
            !f.protocols.split(':').any(|p| p == "tftp")
                || f.opcode.is_none()
                || !f.malformed.is_empty()
                || !(f.expert.is_empty() || is_error_note(f))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {} of {} packets not clean TFTP:\n{bad:#?}",
        bad.len(),
        frames.len()
    );
}

/// Wireshark marks every TFTP ERROR packet with the expert warning "TFTP ERROR packet": a
/// statement about the packet's kind, not a decoding problem.
fn is_error_note(f: &Frame) -> bool {
    f.opcode == Some(5) && f.expert.ends_with(" TFTP ERROR packet") && !f.expert.contains(',')
}

/// The OACK of a transfer.
fn oack(what: &str, frames: &[Frame]) -> Frame {
    frames
        .iter()
        .find(|f| f.opcode == Some(6))
        .cloned()
        .unwrap_or_else(|| panic!("{what}: no OACK in {frames:#?}"))
}

fn opcodes(frames: &[Frame], opcode: u16) -> usize {
    frames.iter().filter(|f| f.opcode == Some(opcode)).count()
}

/// Runs our client in `cwd` with `args`.
fn our_client(cwd: &Path, args: &[&str]) -> Output {
    run_bounded(
        Command::new(our_bin("tftp")).args(args).current_dir(cwd),
        RUN_TIMEOUT,
    )
}

// ---------------------------------------------------------------------------------------
// Tests.

/// The DATA block numbers a captured frame carries, read from its payload: one, or a GSO
/// batch of them. The first must be the one tshark decoded.
fn blocks_carried(f: &Frame, blksize: usize) -> Vec<u16> {
    let blocks = captured::data_blocks(&f.payload.0, blksize)
        .unwrap_or_else(|e| panic!("frame {}: {e}", f.number));
    assert_eq!(blocks.first().copied(), f.block, "frame {}", f.number);
    blocks
}

/// atftp gets 300000 bytes from our server (started with `server_args`) with blksize 1468,
/// windowsize 8 and tsize 0, under capture. Checks that every packet decodes as TFTP,
/// nothing is malformed, the OACK grants tsize=300000, blksize=1468, windowsize=8, every
/// block from 1 to the last is carried, no frame carries more than one window, and the
/// receiver ACKs once per window. Returns the DATA frames, or None when skipped.
fn atftp_windowed_get(what: &str, server_args: &[&str]) -> Option<Vec<Frame>> {
    const BLKSIZE: usize = 1468;
    const WINDOW: usize = 8;
    let dir = TempDir::new("cap-atftp");
    let root = TempDir::new("cap-atftp-root");
    let size = 300_000;
    let bytes = content(size, 2000);
    fs::write(root.path().join("win.bin"), &bytes).expect("write served file");
    let atftp = require_peer("atftp")?;
    let (server, addr) = start_our_server(root.path(), server_args);
    let capture = Capture::start(dir.path())?;

    let local = dir.path().join("win.bin");
    let out = run_bounded(
        Command::new(&atftp)
            .args(["--option", "blksize 1468", "--option", "windowsize 8"])
            .args(["--option", "tsize 0", "-g", "-r", "win.bin", "-l"])
            .arg(&local)
            .args(["127.0.0.1", &addr.port().to_string()]),
        RUN_TIMEOUT,
    );
    assert!(out.status.success(), "{what}: atftp: {}", output_text(&out));
    assert!(
        fs::read(&local).expect("fetched") == bytes,
        "{what}: bytes differ"
    );

    let frames = capture.stop_and_decode(addr.port());
    let transfer = transfer_frames(&frames, addr.port(), 1, "win.bin");
    let log = server.log_text();
    assert_clean(&format!("{what} (server log: {log})"), &transfer);
    let o = oack(what, &transfer);
    assert_eq!(o.option("tsize"), Some("300000"), "{what}: {o:?}");
    assert_eq!(o.option("blksize"), Some("1468"), "{what}: {o:?}");
    assert_eq!(o.option("windowsize"), Some("8"), "{what}: {o:?}");
    let blocks = size / BLKSIZE + 1;
    let data: Vec<Frame> = transfer
        .iter()
        .filter(|f| f.opcode == Some(3))
        .cloned()
        .collect();
    let mut carried = vec![false; blocks + 1];
    for f in &data {
        let carried_here = blocks_carried(f, BLKSIZE);
        assert!(
            carried_here.len() <= WINDOW
                && carried_here
                    .iter()
                    .all(|&b| (1..=blocks).contains(&usize::from(b))),
            "{what}: frame {} carries blocks {carried_here:?} of 1..={blocks}",
            f.number
        );
        for b in carried_here {
            carried[usize::from(b)] = true;
        }
    }
    let missing: Vec<usize> = (1..=blocks).filter(|&b| !carried[b]).collect();
    assert!(
        missing.is_empty(),
        "{what}: blocks {missing:?} never seen in {data:#?}"
    );
    // ACK 0 after the OACK, then one ACK per window of 8 (and the last block).
    let acks = opcodes(&transfer, 4);
    assert!(
        acks <= 1 + blocks.div_ceil(WINDOW) + 2,
        "{what}: {acks} ACKs for {blocks} blocks"
    );
    println!(
        "R-INT-2 {what}: {} packets decoded as TFTP ({} DATA frames for {blocks} blocks), OACK {:?}",
        transfer.len(),
        data.len(),
        o.options
    );
    Some(data)
}

// R-INT-2, R-OPT-5, R-OPT-7, R-OPT-8: atftp gets 300000 bytes from our server with blksize
// 1468, windowsize 8 and tsize 0: every packet decodes as TFTP, nothing is malformed, the OACK
// grants the options, every block is on the wire and the receiver ACKs once per window. The
// server sends a window per GSO system call, so a frame may carry up to a window of blocks.
#[test]
fn r_int_2_server_packets_with_atftp_options_decode_cleanly() {
    atftp_windowed_get("atftp get", &[]);
}

// R-INT-2: with --no-gso the capture shows one frame per DATA datagram, none larger than
// blksize, and each block at least once.
#[test]
fn r_int_2_no_gso_captures_one_frame_per_datagram() {
    let Some(data) = atftp_windowed_get("atftp get, --no-gso", &["--no-gso"]) else {
        return;
    };
    let oversized: Vec<u64> = data
        .iter()
        .filter(|f| f.payload.0.len() > 4 + 1468)
        .map(|f| f.number)
        .collect();
    assert!(
        oversized.is_empty(),
        "frames over one datagram: {oversized:?}"
    );
    assert!(data.len() > 300_000 / 1468, "{} DATA frames", data.len());
}

// R-INT-2, R-MOD-2, R-OPT-5, R-OPT-7, R-OPT-8, R-PKT-7: our client against our server, every
// packet of both sides decodes as TFTP: a netascii get and put, an octet put with blksize,
// windowsize and tsize (OACK checked), and a get of a missing file (ERROR 1).
#[test]
fn r_int_2_client_packets_decode_cleanly() {
    let dir = TempDir::new("cap-client");
    let root = TempDir::new("cap-client-root");
    let text = b"first line\nsecond line\n\nbare\rreturn\n".repeat(200);
    fs::write(root.path().join("notes.txt"), &text).expect("write text");
    let upload = content(100_000, 2100);
    fs::write(dir.path().join("up.bin"), &upload).expect("write upload");
    fs::write(dir.path().join("notes-up.txt"), &text).expect("write text upload");
    let (server, addr) = start_our_server(root.path(), &["--allow-create"]);
    let host = addr.to_string();
    let Some(capture) = Capture::start(dir.path()) else {
        return;
    };

    let runs: [&[&str]; 4] = [
        &[
            "get",
            &host,
            "notes.txt",
            "notes.txt",
            "--mode",
            "netascii",
            "--blksize",
            "1468",
            "--tsize",
        ],
        &[
            "put",
            &host,
            "notes-up.txt",
            "notes-up.txt",
            "--mode",
            "netascii",
        ],
        &[
            "put",
            &host,
            "up.bin",
            "up.bin",
            "--blksize",
            "1468",
            "--windowsize",
            "8",
            "--tsize",
        ],
        &["get", &host, "missing.txt", "missing.txt"],
    ];
    for (i, args) in runs.iter().enumerate() {
        let out = our_client(dir.path(), args);
        assert_eq!(
            out.status.success(),
            i != 3,
            "{args:?}: {}",
            output_text(&out)
        );
    }
    assert_eq!(fs::read(dir.path().join("notes.txt")).expect("got"), text);
    assert_eq!(
        fs::read(root.path().join("notes-up.txt")).expect("put"),
        text
    );
    assert!(fs::read(root.path().join("up.bin")).expect("put") == upload);

    let frames = capture.stop_and_decode(addr.port());
    let log = server.log_text();

    let get = transfer_frames(&frames, addr.port(), 1, "notes.txt");
    assert_clean(&format!("netascii get (server log: {log})"), &get);
    let o = oack("netascii get", &get);
    assert_eq!(o.option("blksize"), Some("1468"), "{o:?}");

    let text_put = transfer_frames(&frames, addr.port(), 2, "notes-up.txt");
    assert_clean(&format!("netascii put (server log: {log})"), &text_put);

    let put = transfer_frames(&frames, addr.port(), 2, "up.bin");
    assert_clean(&format!("octet put (server log: {log})"), &put);
    let o = oack("octet put", &put);
    assert_eq!(o.option("tsize"), Some("100000"), "{o:?}");
    assert_eq!(o.option("blksize"), Some("1468"), "{o:?}");
    assert_eq!(o.option("windowsize"), Some("8"), "{o:?}");

    let missing = transfer_frames(&frames, addr.port(), 1, "missing.txt");
    assert_clean(&format!("missing file (server log: {log})"), &missing);
    assert!(
        missing.iter().any(|f| f.error_code == Some(1)),
        "no ERROR 1: {missing:#?}"
    );
    println!(
        "R-INT-2 our client: {} + {} + {} + {} packets decoded as TFTP",
        get.len(),
        text_put.len(),
        put.len(),
        missing.len()
    );
}
