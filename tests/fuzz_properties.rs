//! The fuzz bodies of `tests/fuzz_bodies/` on stable: each runs on a few thousand quickcheck
//! inputs and on its seed corpus in `fuzz/corpus/`, and the inputs of
//! `/work/shared/notes/bad-inputs.md` are replayed as named regression tests.
//!
//! Run with `cargo test --release --test fuzz_properties`. The seed corpora are written by
//! `cargo test --release --test fuzz_properties -- --ignored write_seed_corpora`.

mod fuzz_bodies;

use std::path::PathBuf;

use quickcheck::{Gen, QuickCheck};
use tftp_proto::server::{accept, Intake};
use tftp_proto::{
    Completion, ErrorCode, Mode, Packet, ParseError, RequestOptions, Role, TransferError,
};

use fuzz_bodies::script::{Announce, Block, Datagram, FileSpec, Header, Name, Op, OptionPair};
use fuzz_bodies::script::{Len, Script, Value};
use fuzz_bodies::session::{addr, run, Report, Side, CLIENT, SERVER_TID};

// ---------------------------------------------------------------------------------------
// Helpers

fn check(tests: u64, size: usize, prop: fn(Vec<u8>)) {
    QuickCheck::new()
        .tests(tests)
        .max_tests(tests)
        .rng(Gen::new(size))
        .quickcheck(prop);
}

fn pair(name: &str, value: &str) -> OptionPair {
    OptionPair::new(name, value)
}

fn peer(datagram: Datagram) -> Op {
    Op::Peer {
        step: 1000,
        datagram,
    }
}

fn rounds(rounds: u16) -> Op {
    Op::Run { rounds, step: 1000 }
}

/// A header for `role` with `file` (the sender's file or the one the peer sends).
fn header(role: Role, file: FileSpec) -> (Header, Side) {
    let side = if role.is_client() {
        Side::Client
    } else {
        Side::Server
    };
    let second_role = matches!(role, Role::ServerWrite | Role::ClientPut);
    let h = Header {
        second_role,
        file,
        ..Header::default()
    };
    (h, side)
}

const ROLES: [Role; 4] = [
    Role::ServerRead,
    Role::ServerWrite,
    Role::ClientGet,
    Role::ClientPut,
];

/// Runs a script, recording what was sent; also checks the script survives its encoding.
fn play(header: Header, side: Side, ops: Vec<Op>) -> Report {
    let script = Script { header, ops };
    assert_eq!(Script::read(&script.to_bytes()), script, "script encoding");
    run(&script, side, true)
}

fn peer_of(side: Side) -> std::net::SocketAddr {
    addr(match side {
        Side::Server => CLIENT,
        Side::Client => SERVER_TID,
    })
}

fn transferred(report: &Report) -> u64 {
    match &report.outcome {
        Some(Ok(s)) if s.completion == Completion::Transferred => s.bytes,
        other => panic!("not transferred: {other:?}\n{:?}", report.sent),
    }
}

// ---------------------------------------------------------------------------------------
// Quickcheck over each body

// R-PKT-5, R-PKT-4
#[test]
fn packet_parse_on_random_bytes() {
    check(4000, 200, |d| fuzz_bodies::packet_parse(&d));
    // Mostly known opcodes, so the bodies get past the first two bytes.
    check(4000, 200, |body| {
        let opcode = body.first().map_or(1, |b| b % 8);
        fuzz_bodies::packet_parse(&[&[0, opcode], body.get(1..).unwrap_or_default()].concat())
    });
}

// R-PKT-2, R-PKT-3, R-PKT-5: requests and OACKs built from random fields.
#[test]
fn packet_parse_on_random_requests() {
    fn prop(fields: Vec<Vec<u8>>) {
        let mut packet = vec![0, 1 + (fields.len() % 6) as u8];
        for (i, f) in fields.iter().enumerate() {
            let f: Vec<u8> = f.iter().map(|&b| if b % 7 == 0 { 0 } else { b }).collect();
            match i % 3 {
                0 => packet.extend_from_slice(&f),
                1 => packet.extend_from_slice(b"blksize"),
                _ => packet.extend(f.iter().map(|b| b'0' + b % 10)),
            }
            packet.push(0);
        }
        fuzz_bodies::packet_parse(&packet);
        fuzz_bodies::accept(&packet);
    }
    QuickCheck::new()
        .tests(3000)
        .max_tests(3000)
        .quickcheck(prop as fn(Vec<Vec<u8>>));
}

// R-SRV-6, R-XFR-1 .. R-XFR-13, R-OPT-1 .. R-OPT-10
#[test]
fn server_session_on_random_scripts() {
    check(3000, 300, |d| fuzz_bodies::server_session(&d));
}

// R-XFR-3, R-OPT-2, R-OPT-3, R-OPT-4
#[test]
fn client_session_on_random_scripts() {
    check(3000, 300, |d| fuzz_bodies::client_session(&d));
}

// R-MOD-2
#[test]
fn netascii_on_random_text() {
    check(3000, 400, |d| fuzz_bodies::netascii(&d));
}

// R-SRV-1: random bytes, and names made of the pieces that break path checks.
#[test]
fn path_on_random_names() {
    check(3000, 200, |d| fuzz_bodies::path(&d));
    check(3000, 40, |picks| {
        const PIECES: [&str; 12] = [
            "..", ".", "a", "", " ", "...", "\\", ":", "\u{0}", "/", ". .", "é",
        ];
        let name: String = picks.iter().map(|&p| PIECES[usize::from(p) % 12]).collect();
        fuzz_bodies::path(name.as_bytes());
    });
}

// R-PKT-5, R-MOD-3, R-SRV-1
#[test]
fn accept_on_random_datagrams() {
    check(4000, 200, |d| fuzz_bodies::accept(&d));
}

// ---------------------------------------------------------------------------------------
// The seed corpora

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Every file of every seed corpus passes its body.
#[test]
fn seed_corpora_pass() {
    type Body = fn(&[u8]);
    let targets: [(&str, Body); 6] = [
        ("packet_parse", fuzz_bodies::packet_parse),
        ("server_session", fuzz_bodies::server_session),
        ("client_session", fuzz_bodies::client_session),
        ("netascii", fuzz_bodies::netascii),
        ("path", fuzz_bodies::path),
        ("accept", fuzz_bodies::accept),
    ];
    for (target, body) in targets {
        let Ok(dir) = std::fs::read_dir(corpus_dir(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{} fails", path.display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Whole transfers through the harness (the session seeds)

/// Requests as real clients send them (firmware-clients.md): iPXE, U-Boot, curl.
fn client_options() -> Vec<(&'static str, Vec<OptionPair>)> {
    vec![
        ("plain", vec![]),
        ("ipxe", vec![pair("blksize", "1432"), pair("tsize", "0")]),
        (
            "uboot",
            vec![
                pair("timeout", "5"),
                pair("blksize", "1468"),
                pair("tsize", "0"),
                pair("windowsize", "8"),
            ],
        ),
        (
            "curl",
            vec![
                pair("tsize", "0"),
                pair("blksize", "512"),
                pair("timeout", "6"),
            ],
        ),
    ]
}

/// Complete small transfers in every role, with and without options: the session seeds.
fn transfer_scripts() -> Vec<(String, Side, Script)> {
    let mut out = Vec::new();
    for (name, options) in client_options() {
        for role in [Role::ServerRead, Role::ServerWrite] {
            for mode in [Mode::Octet, Mode::Netascii] {
                let (mut h, side) = header(role, FileSpec::synthetic(5000));
                h.options = options.clone();
                h.max_windowsize = 8;
                h.announce = Announce::Actual;
                h.mode = mode;
                let label = format!("{role:?}-{name}-{}", mode.name()).to_lowercase();
                out.push((
                    label,
                    side,
                    Script {
                        header: h,
                        ops: vec![rounds(40)],
                    },
                ));
            }
        }
    }
    for role in [Role::ClientGet, Role::ClientPut] {
        for (name, asked, file) in [
            (
                "plain",
                RequestOptions::default(),
                FileSpec::Bytes(b"hello\r\nworld\n".repeat(19)),
            ),
            (
                "windowed",
                RequestOptions {
                    blksize: Some(1024),
                    windowsize: Some(4),
                    timeout: Some(3),
                    tsize: Some(if role == Role::ClientGet { 0 } else { 20000 }),
                },
                FileSpec::synthetic(20000),
            ),
        ] {
            let (mut h, side) = header(role, file);
            h.asked = asked;
            let label = format!("{role:?}-{name}").to_lowercase();
            out.push((
                label,
                side,
                Script {
                    header: h,
                    ops: vec![rounds(40)],
                },
            ));
        }
    }
    out
}

// R-XFR-1, R-XFR-2, R-OPT-4, R-MOD-1, R-MOD-2
#[test]
fn complete_transfers_in_every_role() {
    for (label, side, script) in transfer_scripts() {
        let expected = script.header.file.len();
        let octet = script.header.mode == Mode::Octet;
        let report = play(script.header, side, script.ops);
        let bytes = transferred(&report);
        // Receivers decode netascii, so only octet sizes are exact on both sides.
        if report.role.is_some_and(Role::is_sender) || octet {
            assert_eq!(bytes, expected, "{label}");
        }
    }
}

/// Block numbers roll over in a windowed read of 75,000 blocks of 8 bytes.
// R-XFR-11, R-OPT-8
#[test]
fn rollover_in_a_windowed_read() {
    let (mut h, side) = header(Role::ServerRead, FileSpec::synthetic(600_000));
    h.options = vec![pair("blksize", "8"), pair("windowsize", "64")];
    h.max_windowsize = 64;
    let report = play(h, side, vec![rounds(4096)]);
    assert_eq!(transferred(&report), 600_000);
}

/// Block numbers in flight must stay within half the 16-bit space for a sender to tell a
/// stale ACK from a new one: the largest window (32767 blocks) completes across rollover, and a
/// client cannot ask for more (RFC 7440 would allow 65535).
// R-OPT-8, R-XFR-11
#[test]
fn windowsize_at_the_block_number_horizon() {
    for (windowsize, completes) in [(32767, true), (32768, false), (65535, false)] {
        let (mut h, side) = header(Role::ClientPut, FileSpec::synthetic(8 * 70_000));
        h.asked = RequestOptions {
            blksize: Some(8),
            windowsize: Some(windowsize),
            timeout: None,
            tsize: None,
        };
        // Not `play`: the script grammar keeps windows to 64 blocks, for speed.
        let script = Script {
            header: h,
            ops: vec![rounds(16)],
        };
        let report = run(&script, side, false);
        if completes {
            assert_eq!(transferred(&report), 8 * 70_000);
        } else {
            assert_eq!(report.role, None, "window {windowsize} was accepted");
        }
    }
}

// ---------------------------------------------------------------------------------------
// bad-inputs.md, one test per row

/// A transfer in `role` stopped after a few blocks (5000-byte file, 512-byte blocks).
fn mid_transfer(role: Role) -> (Header, Side, Vec<Op>) {
    let (h, side) = header(role, FileSpec::synthetic(5000));
    (h, side, vec![rounds(3)])
}

/// atftpd CVE-2019-11365: ERROR, DATA and ACK of 0-3 bytes mid-transfer end it with ERROR 4;
/// on the listening port they are dropped.
// R-PKT-5, R-XFR-10, R-SRV-6
#[test]
fn cve_2019_11365_runts_mid_transfer() {
    for opcode in [3u8, 4, 5] {
        for len in 0..=3 {
            let runt = [0, opcode, 0][..len].to_vec();
            assert_eq!(accept(&runt), Intake::Ignore, "{runt:?} on port 69");
            for role in ROLES {
                let (h, side, mut ops) = mid_transfer(role);
                ops.push(peer(Datagram::Raw(runt.clone())));
                let report = play(h, side, ops);
                assert!(
                    matches!(
                        report.outcome,
                        Some(Err(TransferError::Malformed(ParseError::TooShort { .. })))
                    ),
                    "{role:?} {runt:?}: {:?}",
                    report.outcome
                );
                let last = report.packets_to(peer_of(side)).pop();
                assert!(
                    matches!(
                        last,
                        Some(Packet::Error {
                            code: ErrorCode::IllegalOperation,
                            ..
                        })
                    ),
                    "{role:?} {runt:?}: {last:?}"
                );
            }
        }
    }
}

/// atftpd CVE-2020-6097: unknown options with empty values (and `timeout 1`), then a client
/// that never answers: one OACK, repeated once after a second (R-SRV-6's bound), then a clean
/// timeout.
// R-OPT-1, R-SRV-6, R-XFR-5
#[test]
fn cve_2020_6097_empty_unknown_options_then_silence() {
    let lists = [
        vec![pair("multicast", ""), pair("timeout", "1")],
        vec![pair("multicast", ""), pair("x-rate", ""), pair("", "")],
        vec![
            pair("a", ""),
            pair("b", ""),
            pair("c", ""),
            pair("timeout", "1"),
        ],
    ];
    for role in [Role::ServerRead, Role::ServerWrite] {
        for options in &lists {
            for answer_first in [false, true] {
                let (mut h, side) = header(role, FileSpec::synthetic(5000));
                h.options = options.clone();
                // Either silence from the start, or ACK 0 / DATA 1 and then silence.
                let ops = if answer_first {
                    vec![rounds(1)]
                } else {
                    vec![]
                };
                let report = play(h, side, ops);
                assert!(
                    matches!(report.outcome, Some(Err(TransferError::TimedOut { .. }))),
                    "{role:?} {options:?}: {:?}",
                    report.outcome
                );
                let sent = report.packets_to(addr(CLIENT));
                if !answer_first {
                    // The first packet and its one timed repeat (Config::first_packet_repeats).
                    assert_eq!(sent.len(), 2, "R-SRV-6: {sent:?}");
                    assert_eq!(sent[0], sent[1], "R-SRV-6: the repeat differs: {sent:?}");
                }
                for p in &sent {
                    if let Packet::Oack(list) = p {
                        let names: Vec<_> = list.iter().map(|(n, _)| n.to_vec()).collect();
                        assert!(names.iter().all(|n| n == b"timeout"), "{names:?}");
                    }
                }
            }
        }
    }
}

/// atftpd CVE-2021-41054: blksize 8..20 with a 200-byte unknown option: the OACK holds only
/// the blksize, whatever the unknown option, and the transfer completes.
// R-OPT-1, R-OPT-5
#[test]
fn cve_2021_41054_tiny_blksize_and_long_unknown_option() {
    for blksize in 8..=20u32 {
        let (mut h, side) = header(Role::ServerRead, FileSpec::synthetic(300));
        h.options = vec![
            OptionPair {
                name: Name::Long,
                value: Value::Number(1),
            },
            pair("blksize", &blksize.to_string()),
        ];
        let report = play(h, side, vec![rounds(100)]);
        let first = &report.sent[0].1;
        assert_eq!(first, &format!("\0\x06blksize\0{blksize}\0").into_bytes());
        assert_eq!(transferred(&report), 300);
    }
}

/// Requests as iPXE, U-Boot and curl send them.
fn real_requests() -> Vec<Vec<u8>> {
    let mut out = vec![b"\x00\x01a.txt\x00octet\x00".to_vec()];
    for (_, options) in client_options() {
        let mut raw = b"\x00\x01boot/x.efi\x00octet\x00".to_vec();
        options.iter().for_each(|p| p.encode(&mut raw));
        out.push(raw);
    }
    out
}

/// atftpd CVE-2021-46671: a request cut anywhere (no trailing NUL) is refused or dropped, never
/// read past; to a running session it is a malformed packet or a repeat.
// R-PKT-5, R-PKT-2
#[test]
fn cve_2021_46671_requests_cut_anywhere() {
    for request in real_requests() {
        for cut in 0..=request.len() {
            let part = &request[..cut];
            fuzz_bodies::packet_parse(part);
            fuzz_bodies::accept(part);
            if let Intake::Serve(_) = accept(part) {
                assert_eq!(part.last(), Some(&0), "served {part:?}");
            }
            for role in ROLES {
                let (h, side, mut ops) = mid_transfer(role);
                ops.push(peer(Datagram::Raw(part.to_vec())));
                play(h, side, ops);
            }
        }
    }
}

/// tftpd-hpa CVE-2011-2199: option values of 1..500 digits are numbers that saturate: granted
/// within range, left out, or refused, never a crash; a client refuses an OACK with them.
// R-OPT-5, R-OPT-6, R-OPT-7, R-OPT-8, R-OPT-9, R-OPT-3
#[test]
fn cve_2011_2199_option_values_of_1_to_500_digits() {
    for count in 1..=500u16 {
        for index in 0..4u8 {
            for digit in [1, 9] {
                let option = OptionPair {
                    name: Name::Known {
                        index,
                        upper: count % 2 == 0,
                    },
                    value: Value::Digits { digit, count },
                };
                let mut raw = b"\x00\x01f\x00octet\x00".to_vec();
                option.encode(&mut raw);
                assert!(matches!(accept(&raw), Intake::Serve(_)));
                for role in [Role::ServerRead, Role::ServerWrite] {
                    let (mut h, side) = header(role, FileSpec::synthetic(100));
                    h.options = vec![option.clone()];
                    h.max_windowsize = 64;
                    h.size_limit = 1 << 20;
                    let report = play(h, side, vec![rounds(10)]);
                    check_granted(&report);
                }
                // A client that asked for the option gets it back with the huge value.
                let (mut h, side) = header(Role::ClientGet, FileSpec::synthetic(100));
                h.asked = RequestOptions {
                    blksize: Some(1024),
                    windowsize: Some(4),
                    timeout: Some(3),
                    tsize: Some(0),
                };
                let oack = Datagram::Oack {
                    echo: false,
                    extra: vec![option.clone()],
                };
                let report = play(h, side, vec![peer(oack), rounds(40)]);
                let v = (digit, count);
                let acceptable = match index {
                    0 => count <= 3 && (8..=1024).contains(&value_of(v)),
                    1 => value_of(v) == 3,
                    2 => true,
                    _ => (1..=4).contains(&value_of(v)),
                };
                if acceptable {
                    transferred(&report);
                } else {
                    assert!(
                        matches!(report.outcome, Some(Err(TransferError::Negotiation(_)))),
                        "{option:?}: {:?}",
                        report.outcome
                    );
                }
            }
        }
    }
}

fn value_of((digit, count): (u8, u16)) -> u64 {
    (0..count).fold(0u64, |acc, _| {
        acc.saturating_mul(10).saturating_add(u64::from(digit))
    })
}

/// The options in a server's OACK are inside their RFC ranges.
fn check_granted(report: &Report) {
    for p in report.packets_to(addr(CLIENT)) {
        if let Packet::Oack(list) = p {
            for (name, value) in list.iter() {
                let v: u64 = std::str::from_utf8(value).unwrap().parse().unwrap();
                match name.to_ascii_lowercase().as_slice() {
                    b"blksize" => assert!((8..=65464).contains(&v)),
                    b"timeout" => assert!((1..=255).contains(&v)),
                    b"windowsize" => assert!((1..=64).contains(&v)),
                    b"tsize" => assert!(v <= 1 << 20),
                    other => panic!("OACK grants {other:?}"),
                }
            }
        }
    }
    if let Some(refusal) = &report.refusal {
        // Only a write whose tsize is over the limit is refused (ERROR 3).
        assert_eq!(&refusal[..4], b"\x00\x05\x00\x03");
    }
}

/// SolarWinds TFTP: opcode 0 and 7..65535 are refused on port 69 and end a transfer with
/// ERROR 4.
// R-PKT-1, R-PKT-5, R-XFR-10
#[test]
fn opcodes_0_and_7_to_65535() {
    for opcode in std::iter::once(0u16).chain(7..=u16::MAX) {
        let mut datagram = opcode.to_be_bytes().to_vec();
        datagram.extend_from_slice(b"\x00\x01x\x00");
        assert_eq!(
            Packet::parse(&datagram),
            Err(ParseError::UnknownOpcode(opcode))
        );
        fuzz_bodies::packet_parse(&datagram);
        let Intake::Refuse(refusal) = accept(&datagram) else {
            panic!("opcode {opcode} not refused");
        };
        assert_eq!(refusal.code, ErrorCode::IllegalOperation);
        // Every opcode to a server read; a sample to the other roles.
        for role in ROLES {
            if role != Role::ServerRead && opcode % 97 != 0 {
                continue;
            }
            let (h, side, mut ops) = mid_transfer(role);
            ops.push(peer(Datagram::Raw(datagram.clone())));
            let report = play(h, side, ops);
            assert_eq!(
                report.outcome,
                Some(Err(TransferError::Malformed(ParseError::UnknownOpcode(
                    opcode
                ))))
            );
        }
    }
}

/// Open TFTP Server: an ERROR message of 500+ bytes from the peer ends the transfer with the
/// message reported bounded (255 characters), and nothing is sent back; on port 69 it is
/// dropped.
// R-XFR-9
#[test]
fn long_error_message_from_the_peer_is_bounded() {
    for len in [500u16, 1023] {
        for fill in [0u8, 3] {
            for role in ROLES {
                let (h, side, mut ops) = mid_transfer(role);
                let error = Datagram::Error { code: 1, len, fill };
                ops.push(peer(error));
                let report = play(h, side, ops);
                let Some(Err(TransferError::Peer { code, message })) = &report.outcome else {
                    panic!("{role:?}: {:?}", report.outcome);
                };
                assert_eq!(*code, ErrorCode::FileNotFound);
                assert!(message.chars().count() <= 255, "{} chars", message.len());
                assert!(message.len() <= 3 * 255, "{} bytes", message.len());
                assert_eq!(report.sent_per_input.last(), Some(&0), "R-XFR-9: answered");
            }
            let mut raw = b"\x00\x05\x00\x01".to_vec();
            raw.extend(std::iter::repeat_n(b'e', usize::from(len)));
            raw.push(0);
            assert_eq!(accept(&raw), Intake::Ignore);
        }
    }
}

/// Found by the accept fuzzer: `00 06` (2 bytes) parses as an empty OACK, so the runt guard
/// of `server::accept`, which covers parse errors only, misses it, and a 2-byte datagram gets
/// a 38-byte ERROR ("expected a read or write request"): a 19x reflection, against the
/// documented policy that runts under 4 bytes are dropped.
// R-SRV-6
#[test]
fn runt_empty_oack_on_port_69_is_dropped() {
    assert_eq!(accept(b"\x00\x06"), Intake::Ignore);
    fuzz_bodies::accept(b"\x00\x06");
}

/// tftp-hpa before 5.4: duplicate ACKs never make DATA go out again (Sorcerer's Apprentice).
// R-XFR-6
#[test]
fn duplicate_acks_send_nothing() {
    for role in [Role::ServerRead, Role::ClientPut] {
        let (h, side, mut ops) = mid_transfer(role);
        let dup = peer(Datagram::Ack {
            block: Block::Repeat,
        });
        ops.extend([dup.clone(), dup.clone(), dup]);
        let report = play(h, side, ops);
        assert_eq!(
            report.sent_per_input[report.sent_per_input.len() - 3..],
            [0, 0, 0]
        );
    }
}

/// LiteX client: DATA from a stranger port is answered with ERROR 5 and never written; a
/// repeated block is written once.
// R-XFR-4, R-XFR-7, R-XFR-13
#[test]
fn stranger_data_and_repeated_blocks_are_not_written() {
    for role in [Role::ClientGet, Role::ServerWrite] {
        let (h, side, mut ops) = mid_transfer(role);
        // A stranger's block 4 does not move the simulated peer, so the repeats are block 3.
        let stray = Datagram::Data {
            block: Block::Wire(4),
            len: Len::Full,
            fill: 1,
        };
        let repeat = Datagram::Data {
            block: Block::Repeat,
            len: Len::Full,
            fill: 2,
        };
        ops.extend([
            Op::OtherPort {
                step: 10,
                datagram: stray.clone(),
            },
            Op::Stranger {
                step: 10,
                datagram: stray,
            },
            peer(repeat.clone()),
            peer(repeat),
        ]);
        let report = play(h, side, ops);
        assert_eq!(report.written, 3 * 512, "{role:?}");
        let errors_5 = report
            .sent
            .iter()
            .filter(|(_, b)| b.starts_with(b"\x00\x05\x00\x05"))
            .count();
        assert_eq!(errors_5, 2, "{role:?}");
    }
}

/// U-Boot CVE-2018-18439: a client with a size limit gets a larger file: a clean ERROR 3 and
/// nothing written past the limit (checked on every write by the harness).
// R-XFR-13
#[test]
fn client_size_limit_holds() {
    for tsize in [None, Some(0)] {
        let (mut h, side) = header(Role::ClientGet, FileSpec::synthetic(5000));
        h.size_limit = 1500;
        h.asked.tsize = tsize;
        let report = play(h, side, vec![rounds(20)]);
        assert!(
            matches!(
                report.outcome,
                Some(Err(TransferError::TooLarge { limit: 1500 }))
            ),
            "{:?}",
            report.outcome
        );
        assert!(report.written <= 1500);
    }
}

/// curl CVE-2019-5482: the client asked blksize 100 and the server sends 512-byte DATA anyway:
/// refused with ERROR 4, nothing written.
// R-XFR-13, R-OPT-3
#[test]
fn data_longer_than_the_granted_blksize_is_refused() {
    let (mut h, side) = header(Role::ClientGet, FileSpec::synthetic(5000));
    h.asked.blksize = Some(100);
    let oack = Datagram::Oack {
        echo: true,
        extra: vec![],
    };
    let big = Datagram::Data {
        block: Block::Next,
        len: Len::Exact(512),
        fill: 0,
    };
    let report = play(h, side, vec![peer(oack), peer(big)]);
    assert!(matches!(
        report.outcome,
        Some(Err(TransferError::Illegal(_)))
    ));
    assert_eq!(report.written, 0);
}

// ---------------------------------------------------------------------------------------
// Seed corpora

/// Writes the seed corpora under `fuzz/corpus/` (run on demand; the files are committed).
#[test]
#[ignore]
fn write_seed_corpora() {
    let write = |target: &str, name: &str, data: &[u8]| {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    // Packets: real requests, the other kinds, and the bad inputs.
    let mut packets: Vec<(String, Vec<u8>)> = real_requests()
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("rrq-{i}"), r))
        .collect();
    packets.extend([
        (
            "wrq".into(),
            b"\x00\x02up.bin\x00octet\x00tsize\x003000\x00".to_vec(),
        ),
        (
            "rrq-padded".into(),
            b"\x00\x01pxelinux.0\x00octet\x00\x00\x00".to_vec(),
        ),
        ("data".into(), b"\x00\x03\x00\x01hello".to_vec()),
        ("ack".into(), b"\x00\x04\xff\xff".to_vec()),
        (
            "oack".into(),
            b"\x00\x06blksize\x001432\x00tsize\x0012345\x00".to_vec(),
        ),
        (
            "error".into(),
            b"\x00\x05\x00\x01File not found\x00".to_vec(),
        ),
        ("runt-error".into(), b"\x00\x05\x00".to_vec()),
        ("opcode-0".into(), b"\x00\x00\x00\x01x\x00".to_vec()),
        ("opcode-7".into(), b"\x00\x07\x00\x01x\x00".to_vec()),
        (
            "cut-request".into(),
            b"\x00\x01a.txt\x00octet\x00blksize\x0014".to_vec(),
        ),
        (
            "multicast-empty".into(),
            b"\x00\x01f\x00octet\x00multicast\x00\x00timeout\x001\x00".to_vec(),
        ),
        (
            "digits-500".into(),
            [
                &b"\x00\x01f\x00octet\x00blksize\x00"[..],
                &[b'9'; 500],
                b"\x00",
            ]
            .concat(),
        ),
        (
            "long-option".into(),
            [
                &b"\x00\x01f\x00octet\x00blksize\x008\x00"[..],
                &[b'x'; 200],
                b"\x00y\x00",
            ]
            .concat(),
        ),
        (
            "traversal".into(),
            b"\x00\x01../../etc/passwd\x00octet\x00".to_vec(),
        ),
        ("mail".into(), b"\x00\x01f\x00mail\x00".to_vec()),
    ]);
    for (name, bytes) in &packets {
        write("packet_parse", name, bytes);
        write("accept", name, bytes);
    }
    for (label, side, script) in transfer_scripts() {
        let target = match side {
            Side::Server => "server_session",
            Side::Client => "client_session",
        };
        write(target, &label, &script.to_bytes());
    }
    for role in ROLES {
        let target = if role.is_client() {
            "client_session"
        } else {
            "server_session"
        };
        let (h, _, mut ops) = mid_transfer(role);
        ops.push(peer(Datagram::Raw(b"\x00\x05\x00".to_vec())));
        ops.push(peer(Datagram::Error {
            code: 0,
            len: 600,
            fill: 5,
        }));
        let role = format!("{role:?}").to_lowercase();
        write(
            target,
            &format!("{role}-runt"),
            &Script { header: h, ops }.to_bytes(),
        );
    }
    write(
        "netascii",
        "lines",
        b"\x01\x02\x03\x04a\r\nb\rc\n\r\0\r\r\n",
    );
    write("netascii", "bare-cr-end", b"\x10\x01\x07\x02text\r");
    for name in [
        "boot/pxelinux.0",
        "../x",
        "a/./b//c",
        "C:\\win.ini",
        ". ./x",
        "a/.../b",
    ] {
        write(
            "path",
            &name.replace(['/', '\\', ':', ' '], "_"),
            name.as_bytes(),
        );
    }
}
