//! Timetable tests of [`tftp_proto::Session`] through its public API only (STYLE.md habit 8).
//!
//! Each test feeds packets at given times on a virtual clock and expects exactly the packets
//! that come out, parsed and compared as packets, to their destinations. Each names the
//! requirement it proves (shared/spec/REQUIREMENTS.md) in its name or in a comment above it.
//!
//! Addresses: the client is 127.0.0.1:40000, the server listens on 127.0.0.1:69 and answers
//! from its transfer ID 127.0.0.1:50000; 127.0.0.1:6666 is a stranger. Timing uses the
//! [`config`] below, spelled out so that the timetables do not depend on the defaults.

#[path = "support/timetable.rs"]
mod timetable;

use std::net::SocketAddr;
use std::time::Duration;

use tftp_proto::options::MAX_WINDOWSIZE;
use tftp_proto::server::{accept, Intake};
use tftp_proto::{
    ClientRequest, Completion, Config, ErrorCode, Instant, Mode, OptionList, Packet,
    RequestOptions, ServerPolicy, Session, SessionError, TransferError, TransferOptions,
};
use timetable::{
    ack, data, error, error_code, millis, ms, oack, rrq, wrq, Pkt, Timetable, CLIENT, SERVER,
    SERVER_TID, STRANGER,
};

const NAME: &[u8] = b"file.bin";

/// Retransmission after 1 s before any round trip is measured, adaptive between 10 ms and 2 s,
/// doubling on each timeout; give up after 5 retries and 12 s without progress, or 40 retries;
/// dally 3 s; a server never repeats its first packet to a silent peer (the strict R-SRV-6
/// bound: the timed repeats have tests of their own, on [`repeating`]).
fn config() -> Config {
    let mut c = Config::default();
    c.first_packet_repeats = 0;
    c.initial_rto = Duration::from_secs(1);
    c.min_rto = millis(10);
    c.max_rto = Duration::from_secs(2);
    c.min_retries = 5;
    c.max_retries = 40;
    c.idle_timeout = Duration::from_secs(12);
    c.dally = Duration::from_secs(3);
    c
}

/// A file whose blocks all differ, so a block sent in the wrong place shows.
fn file_of(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

fn client_request(mode: Mode, options: RequestOptions) -> ClientRequest<'static> {
    ClientRequest {
        filename: NAME,
        mode,
        options,
        max_file_size: None,
    }
}

fn client_get(options: RequestOptions) -> Timetable {
    client_get_mode(Mode::Octet, options)
}

fn client_get_mode(mode: Mode, options: RequestOptions) -> Timetable {
    let request = client_request(mode, options);
    Timetable::new(Session::client_get(Instant::ZERO, SERVER, &request, &config()).unwrap())
}

fn client_put(options: RequestOptions, file: &[u8]) -> Timetable {
    let request = client_request(Mode::Octet, options);
    Timetable::new(Session::client_put(Instant::ZERO, SERVER, &request, &config()).unwrap())
        .serving(file)
}

fn server_read_with(options: &[u8], file: &[u8], policy: &ServerPolicy) -> Timetable {
    server_read_mode(Mode::Octet, options, file, policy)
}

fn server_read_mode(mode: Mode, options: &[u8], file: &[u8], policy: &ServerPolicy) -> Timetable {
    let options = OptionList::parse(options).unwrap();
    let session = Session::server_read(
        Instant::ZERO,
        CLIENT,
        mode,
        &options,
        Some(file.len() as u64),
        policy,
        &config(),
    )
    .unwrap();
    Timetable::new(session).serving(file)
}

fn server_read(options: &[u8], file: &[u8]) -> Timetable {
    server_read_with(options, file, &ServerPolicy::default())
}

fn server_write(options: &[u8]) -> Timetable {
    let options = OptionList::parse(options).unwrap();
    let session = Session::server_write(
        Instant::ZERO,
        CLIENT,
        Mode::Octet,
        &options,
        &ServerPolicy::default(),
        &config(),
    )
    .unwrap();
    Timetable::new(session)
}

fn blksize(b: u16) -> RequestOptions {
    RequestOptions {
        blksize: Some(b),
        ..RequestOptions::default()
    }
}

/// DATA `first..=last` of `file` at blksize 8, all to the client: one window on the wire.
fn window(file: &[u8], blocks: std::ops::RangeInclusive<usize>) -> Vec<(SocketAddr, Pkt)> {
    blocks
        .map(|n| (CLIENT, data(n as u16, block(file, 8, n))))
        .collect()
}

/// Block `b` (from 1) of `file` cut in blocks of `size`.
fn block(file: &[u8], size: usize, b: usize) -> &[u8] {
    let start = ((b - 1) * size).min(file.len());
    &file[start..(b * size).min(file.len())]
}

// ---------------------------------------------------------------------------------------------
// R-XFR-1: RRQ answered by DATA 1 or OACK, WRQ by ACK 0 or OACK; blocks start at 1.

// R-XFR-1
#[test]
fn r_xfr_1_server_read_answers_rrq_with_data_1() {
    let file = file_of(700);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file[..512]))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, &file[512..]))]);
    tt.at(ms(20)).feed(CLIENT, ack(2)).expect_nothing();
    let s = tt.finished();
    assert_eq!(
        (s.completion, s.bytes, s.blocks),
        (Completion::Transferred, 700, 2)
    );
    tt.assert_closed();
}

// R-XFR-1
#[test]
fn r_xfr_1_server_read_with_options_answers_oack_then_data_1() {
    let file = file_of(100);
    let mut tt = server_read(b"blksize\x001024\x00", &file);
    tt.at(ms(0))
        .expect(&[(CLIENT, oack(b"blksize\x001024\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(0))
        .expect(&[(CLIENT, data(1, &file))]);
    tt.at(ms(20)).feed(CLIENT, ack(1)).expect_nothing();
    assert_eq!(tt.finished().bytes, 100);
    tt.assert_closed();
}

// R-XFR-1
#[test]
fn r_xfr_1_server_write_answers_wrq_with_ack_0() {
    let file = file_of(522);
    let mut tt = server_write(b"");
    tt.at(ms(0)).expect(&[(CLIENT, ack(0))]);
    tt.at(ms(10))
        .feed(CLIENT, data(1, &file[..512]))
        .expect(&[(CLIENT, ack(1))]);
    tt.no_outcome();
    tt.at(ms(20))
        .feed(CLIENT, data(2, &file[512..]))
        .expect(&[(CLIENT, ack(2))]);
    assert_eq!(tt.finished().bytes, 522);
    assert_eq!(tt.file(), &file[..]);
    assert_eq!(tt.writes(), &[(0, 512), (512, 10)]);
}

// R-XFR-1
#[test]
fn r_xfr_1_server_write_with_options_answers_oack() {
    let file = file_of(100);
    let mut tt = server_write(b"blksize\x00100\x00");
    tt.at(ms(0))
        .expect(&[(CLIENT, oack(b"blksize\x00100\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, data(1, &file))
        .expect(&[(CLIENT, ack(1))]);
    tt.no_outcome();
    tt.at(ms(20))
        .feed(CLIENT, data(2, b""))
        .expect(&[(CLIENT, ack(2))]);
    assert_eq!(tt.finished().bytes, 100);
    assert_eq!(tt.file(), &file[..]);
}

// R-XFR-1
#[test]
fn r_xfr_1_client_get_sends_rrq_and_takes_data_1() {
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, b"hello"))
        .expect(&[(SERVER_TID, ack(1))]);
    assert_eq!(tt.writes(), &[(0, 5)]);
    assert_eq!(tt.file(), b"hello");
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (5, 1));
}

// R-XFR-1
#[test]
fn r_xfr_1_client_put_sends_wrq_then_data_1_after_ack_0() {
    let file = file_of(600);
    let mut tt = client_put(RequestOptions::default(), &file);
    tt.at(ms(0)).expect(&[(SERVER, wrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, ack(0))
        .expect(&[(SERVER_TID, data(1, &file[..512]))]);
    tt.at(ms(20))
        .feed(SERVER_TID, ack(1))
        .expect(&[(SERVER_TID, data(2, &file[512..]))]);
    tt.no_outcome();
    tt.at(ms(30)).feed(SERVER_TID, ack(2)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (600, 2));
    tt.assert_closed();
}

// ---------------------------------------------------------------------------------------------
// R-XFR-2: a short DATA ends; a multiple of blksize ends with an empty DATA.

// R-XFR-2
#[test]
fn r_xfr_2_sender_ends_a_multiple_of_blksize_with_empty_data() {
    let file = file_of(1024);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file[..512]))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, &file[512..]))]);
    tt.at(ms(20))
        .feed(CLIENT, ack(2))
        .expect(&[(CLIENT, data(3, b""))]);
    tt.no_outcome();
    tt.at(ms(30)).feed(CLIENT, ack(3)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (1024, 3));
    tt.assert_closed();
}

// R-XFR-2
#[test]
fn r_xfr_2_receiver_ends_on_a_short_or_empty_data_only() {
    let file = file_of(512);
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &file))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.no_outcome(); // a full block is not the end
    tt.at(ms(20))
        .feed(SERVER_TID, data(2, b""))
        .expect(&[(SERVER_TID, ack(2))]);
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (512, 2));
    assert_eq!(tt.file(), &file[..]);

    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &file[..511]))
        .expect(&[(SERVER_TID, ack(1))]);
    assert_eq!(tt.finished().bytes, 511);
}

// R-XFR-2: an empty file is one empty DATA 1.
#[test]
fn r_xfr_2_empty_file_is_one_empty_data() {
    let mut tt = server_read(b"", b"");
    tt.at(ms(0)).expect(&[(CLIENT, data(1, b""))]);
    tt.at(ms(10)).feed(CLIENT, ack(1)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (0, 1));
    tt.assert_closed();
}

// ---------------------------------------------------------------------------------------------
// R-XFR-3: the client learns the server's transfer ID from the first answer.

// R-XFR-3
#[test]
fn r_xfr_3_client_get_talks_to_the_port_that_answered_first() {
    let file = file_of(1100);
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    assert_eq!(tt.session().peer(), SERVER);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &file[..512]))
        .expect(&[(SERVER_TID, ack(1))]);
    assert_eq!(tt.session().peer(), SERVER_TID);
    // The well-known port is a stranger now.
    tt.at(ms(12))
        .feed(SERVER, data(2, b"from the listening port"))
        .expect(&[(SERVER, error_code(ErrorCode::UnknownTransferId))]);
    tt.at(ms(20))
        .feed(SERVER_TID, data(2, &file[512..1024]))
        .expect(&[(SERVER_TID, ack(2))]);
    // A retransmission goes to the transfer ID too.
    let d = tt.deadline().expect("waiting for DATA 3");
    tt.quiet_until(d);
    tt.timeout(d).expect(&[(SERVER_TID, ack(2))]);
    tt.at(d + millis(5))
        .feed(SERVER_TID, data(3, &file[1024..]))
        .expect(&[(SERVER_TID, ack(3))]);
    assert_eq!(tt.finished().bytes, 1100);
    assert_eq!(tt.file(), &file[..]);
}

// R-XFR-3
#[test]
fn r_xfr_3_client_put_sends_data_to_the_tid_and_refuses_the_listening_port() {
    let file = file_of(600);
    let mut tt = client_put(RequestOptions::default(), &file);
    tt.at(ms(0)).expect(&[(SERVER, wrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, ack(0))
        .expect(&[(SERVER_TID, data(1, &file[..512]))]);
    tt.at(ms(15))
        .feed(SERVER, ack(1))
        .expect(&[(SERVER, error_code(ErrorCode::UnknownTransferId))]);
    tt.at(ms(20))
        .feed(SERVER_TID, ack(1))
        .expect(&[(SERVER_TID, data(2, &file[512..]))]);
    tt.at(ms(30)).feed(SERVER_TID, ack(2)).expect_nothing();
    assert_eq!(tt.finished().bytes, 600);
}

// ---------------------------------------------------------------------------------------------
// R-XFR-4: strangers get ERROR 5 and change nothing.

// R-XFR-4, R-XFR-13 (no byte from a stranger is written)
#[test]
fn r_xfr_4_stranger_gets_error_5_and_the_download_goes_on() {
    let file = file_of(1000);
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &file[..512]))
        .expect(&[(SERVER_TID, ack(1))]);
    let deadline = tt.deadline();
    let error5 = || error_code(ErrorCode::UnknownTransferId);
    tt.at(ms(15))
        .feed(STRANGER, data(2, b"bytes from a stranger"))
        .expect(&[(STRANGER, error5())]);
    tt.at(ms(16))
        .feed(STRANGER, ack(1))
        .expect(&[(STRANGER, error5())]);
    tt.at(ms(17))
        .feed(STRANGER, error(ErrorCode::NotDefined, "go away"))
        .expect(&[(STRANGER, error5())]);
    tt.at(ms(18))
        .feed(STRANGER, error(ErrorCode::FileNotFound, "no"))
        .expect(&[(STRANGER, error5())]);
    tt.no_outcome();
    assert_eq!(tt.writes(), &[(0, 512)]);
    assert_eq!(tt.deadline(), deadline, "a stranger moves no timer");
    assert_eq!(tt.session().peer(), SERVER_TID);
    tt.at(ms(20))
        .feed(SERVER_TID, data(2, &file[512..]))
        .expect(&[(SERVER_TID, ack(2))]);
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (1000, 2));
    assert_eq!(tt.file(), &file[..]);
}

// R-XFR-4
#[test]
fn r_xfr_4_stranger_ack_and_data_do_not_move_a_sender() {
    let file = file_of(700);
    let mut tt = server_read(b"", &file);
    let error5 = || error_code(ErrorCode::UnknownTransferId);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file[..512]))]);
    let deadline = tt.deadline();
    tt.at(ms(5))
        .feed(STRANGER, ack(1))
        .expect(&[(STRANGER, error5())]);
    tt.at(ms(6))
        .feed(STRANGER, data(1, b"x"))
        .expect(&[(STRANGER, error5())]);
    tt.at(ms(7))
        .feed(STRANGER, error(ErrorCode::DiskFull, "full"))
        .expect(&[(STRANGER, error5())]);
    tt.no_outcome();
    assert_eq!(tt.deadline(), deadline, "a stranger moves no timer");
    tt.at(ms(10))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, &file[512..]))]);
    tt.at(ms(20)).feed(CLIENT, ack(2)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (700, 2));
}

// R-XFR-4: before the first answer, another host is a stranger too (only the server's host
// may pick the transfer ID).
#[test]
fn r_xfr_4_other_host_before_the_first_answer_gets_error_5() {
    let other_host: SocketAddr = "10.9.9.9:50000".parse().unwrap();
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(5))
        .feed(other_host, data(1, b"forged"))
        .expect(&[(other_host, error_code(ErrorCode::UnknownTransferId))]);
    assert_eq!(tt.session().peer(), SERVER, "the forger is not the server");
    assert_eq!(tt.writes(), &[] as &[(u64, usize)]);
    tt.no_outcome();
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, b"real"))
        .expect(&[(SERVER_TID, ack(1))]);
    assert_eq!(tt.file(), b"real");
    assert_eq!(tt.finished().bytes, 4);
}

// R-XFR-4
#[test]
fn r_xfr_4_error_5_from_a_stranger_gets_no_answer() {
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &[7; 512]))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(11))
        .feed(STRANGER, error(ErrorCode::UnknownTransferId, "who are you"))
        .expect_nothing();
    tt.no_outcome();

    let file = file_of(10);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file))]);
    tt.at(ms(1))
        .feed(STRANGER, error_code(ErrorCode::UnknownTransferId))
        .expect_nothing();
    tt.no_outcome();
    tt.at(ms(2)).feed(CLIENT, ack(1)).expect_nothing();
    assert_eq!(tt.finished().bytes, 10);
}

// ---------------------------------------------------------------------------------------------
// R-XFR-5 and R-SRV-6: retransmission, its bounds, and the server's first packet.

// R-XFR-5
#[test]
fn r_xfr_5_client_request_is_retransmitted_with_backoff_then_times_out() {
    let mut tt = client_get(RequestOptions::default());
    let request = || rrq(NAME, "octet", b"");
    tt.at(ms(0)).expect(&[(SERVER, request())]);
    // 1 s before any round trip is known, then doubling, capped at 2 s.
    for t in [1_000, 3_000, 5_000, 7_000, 9_000, 11_000] {
        tt.quiet_until(ms(t));
        tt.timeout(ms(t)).expect(&[(SERVER, request())]);
        tt.no_outcome();
    }
    // Five retries spent and 12 s without progress: give up, sending nothing.
    tt.quiet_until(ms(13_000));
    tt.timeout(ms(13_000)).expect_nothing();
    assert_eq!(tt.failed(), TransferError::TimedOut { retries: 6 });
    tt.assert_closed();
    tt.timeout(ms(60_000)).expect_nothing();
}

// R-XFR-5
#[test]
fn r_xfr_5_client_put_repeats_its_wrq_and_the_retry_count_bounds_it() {
    let mut c = config();
    c.max_retries = 2;
    c.idle_timeout = Duration::from_secs(3600);
    let request = client_request(Mode::Octet, RequestOptions::default());
    let session = Session::client_put(Instant::ZERO, SERVER, &request, &c).unwrap();
    let mut tt = Timetable::new(session).serving(b"x");
    let wrq = || wrq(NAME, "octet", b"");
    tt.at(ms(0)).expect(&[(SERVER, wrq())]);
    tt.quiet_until(ms(1_000));
    tt.timeout(ms(1_000)).expect(&[(SERVER, wrq())]);
    tt.quiet_until(ms(3_000));
    tt.timeout(ms(3_000)).expect(&[(SERVER, wrq())]);
    // max_retries reached: give up at the next deadline although idle_timeout is far off.
    tt.quiet_until(ms(5_000));
    tt.timeout(ms(5_000)).expect_nothing();
    assert_eq!(tt.failed(), TransferError::TimedOut { retries: 2 });
    tt.assert_closed();
}

// R-XFR-5: once the peer has answered, a server does retransmit on timeout.
#[test]
fn r_xfr_5_server_retransmits_once_the_peer_has_answered() {
    let mut tt = server_write(b"");
    tt.at(ms(0)).expect(&[(CLIENT, ack(0))]);
    tt.at(ms(10))
        .feed(CLIENT, data(1, &[1; 512]))
        .expect(&[(CLIENT, ack(1))]);
    let d = tt.deadline().expect("waiting for DATA 2");
    tt.quiet_until(d);
    tt.timeout(d).expect(&[(CLIENT, ack(1))]);
    tt.no_outcome();
}

/// Fires every deadline left: nothing goes out, and the session gives up with a timeout within
/// a bounded number of deadlines.
fn sends_nothing_until_it_gives_up(tt: &mut Timetable) {
    let mut deadlines = 0;
    while let Some(d) = tt.deadline() {
        deadlines += 1;
        assert!(deadlines <= 100, "the session never gives up");
        tt.timeout(d).expect_nothing();
    }
    assert!(matches!(tt.failed(), TransferError::TimedOut { .. }));
}

/// Fires every deadline of a server session whose peer never answers its first packet `first`:
/// nothing goes out again, and the session gives up within a bounded number of deadlines.
fn never_repeats_to_a_silent_peer(mut tt: Timetable, first: Pkt) {
    tt.at(ms(0)).expect(&[(CLIENT, first)]);
    assert!(tt.session().is_awaiting_peer());
    sends_nothing_until_it_gives_up(&mut tt);
    assert!(tt.now() <= ms(60_000), "gave up only at {:?}", tt.now());
    assert_eq!(
        tt.sent_count(),
        1,
        "one datagram to a peer that never answered"
    );
    tt.assert_closed();
}

// R-SRV-6, R-XFR-5
#[test]
fn r_srv_6_server_never_repeats_its_first_packet_to_a_silent_peer() {
    let file = file_of(100);
    never_repeats_to_a_silent_peer(server_read(b"", &file), data(1, &file));
    never_repeats_to_a_silent_peer(
        server_read(b"tsize\x000\x00", &file),
        oack(b"tsize\x00100\x00"),
    );
    never_repeats_to_a_silent_peer(server_write(b""), ack(0));
    never_repeats_to_a_silent_peer(
        server_write(b"blksize\x001024\x00"),
        oack(b"blksize\x001024\x00"),
    );
}

/// [`config`] with `repeats` timed repeats of a server's first packet, the first after
/// `wait`.
fn repeating(repeats: u8, wait: Duration) -> Config {
    let mut c = config();
    c.first_packet_repeats = repeats;
    c.first_packet_wait = wait;
    c
}

fn server_session(write: bool, options: &[u8], file: &[u8], config: &Config) -> Timetable {
    let options = OptionList::parse(options).unwrap();
    let policy = ServerPolicy::default();
    let session = if write {
        Session::server_write(
            Instant::ZERO,
            CLIENT,
            Mode::Octet,
            &options,
            &policy,
            config,
        )
    } else {
        let size = Some(file.len() as u64);
        Session::server_read(
            Instant::ZERO,
            CLIENT,
            Mode::Octet,
            &options,
            size,
            &policy,
            config,
        )
    };
    Timetable::new(session.unwrap()).serving(file)
}

// R-SRV-6, R-XFR-5: the bounded repeat. A server whose peer stays silent sends its first
// packet again `first_packet_repeats` times: the first after the wait (here 1 s, the
// retransmission interval before a measurement being 1 s too), then after twice the wait
// before; never more, and never before the wait; then it gives up as before.
#[test]
fn r_srv_6_the_first_packet_is_repeated_a_bounded_number_of_times() {
    let file = file_of(100);
    let cases: [(bool, &[u8], Pkt); 3] = [
        (false, b"", data(1, &file)),
        (false, b"tsize\x000\x00", oack(b"tsize\x00100\x00")),
        (true, b"", ack(0)),
    ];
    for (write, options, first) in cases {
        for repeats in [1u8, 2] {
            let c = repeating(repeats, Duration::from_secs(1));
            let mut tt = server_session(write, options, &file, &c);
            tt.at(ms(0)).expect(&[(CLIENT, first.clone())]);
            tt.timeout(ms(999)).expect_nothing();
            tt.timeout(ms(1_000)).expect(&[(CLIENT, first.clone())]);
            if repeats == 2 {
                tt.timeout(ms(2_999)).expect_nothing();
                tt.timeout(ms(3_000)).expect(&[(CLIENT, first.clone())]);
            }
            sends_nothing_until_it_gives_up(&mut tt);
            assert_eq!(tt.sent_count(), 1 + usize::from(repeats), "{first:?}");
        }
    }
}

// R-SRV-6, R-XFR-5, R-XFR-12: a client whose ACK 1 was lost gets DATA 1 again at the wait and
// the transfer goes on; the ACK that follows the repeat is no round-trip sample (Karn), and
// once the peer answered nothing more is repeated on the first-packet schedule.
#[test]
fn r_srv_6_a_lost_answer_to_the_first_packet_is_recovered_by_the_repeat() {
    let file = file_of(1300);
    let c = repeating(3, Duration::from_secs(1));
    let mut tt = server_session(false, b"", &file, &c);
    tt.at(ms(0))
        .expect(&[(CLIENT, data(1, block(&file, 512, 1)))]);
    // The client's ACK 1 is lost; DATA 1 comes again at 1 s.
    tt.timeout(ms(1_000))
        .expect(&[(CLIENT, data(1, block(&file, 512, 1)))]);
    tt.at(ms(1_002))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, block(&file, 512, 2)))]);
    assert!(!tt.session().is_awaiting_peer());
    // The ACK after a repeat was no sample: the interval is still the 1 s start.
    tt.timeout(ms(1_900)).expect_nothing();
    tt.at(ms(1_950))
        .feed(CLIENT, ack(2))
        .expect(&[(CLIENT, data(3, block(&file, 512, 3)))]);
    // The second repeat (due at 3 s) was dropped when the peer answered.
    tt.timeout(ms(3_000)).expect_nothing();
    tt.at(ms(3_010)).feed(CLIENT, ack(3)).expect_nothing();
    assert_eq!(tt.finished().bytes, 1300);
}

// R-SRV-6, R-XFR-5
#[test]
fn r_srv_6_a_repeated_request_makes_the_server_resend_its_first_packet() {
    let file = file_of(100);
    let request = || rrq(NAME, "octet", b"tsize\x000\x00");
    let mut tt = server_read(b"tsize\x000\x00", &file);
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"tsize\x00100\x00"))]);
    tt.timeout(ms(1_000)).expect_nothing();
    tt.at(ms(1_500))
        .feed(CLIENT, request())
        .expect(&[(CLIENT, oack(b"tsize\x00100\x00"))]);
    assert!(tt.session().is_awaiting_peer());
    tt.at(ms(1_510))
        .feed(CLIENT, ack(0))
        .expect(&[(CLIENT, data(1, &file))]);
    assert!(!tt.session().is_awaiting_peer());
    // Once the peer answered, a late copy of its request changes nothing.
    tt.at(ms(1_520)).feed(CLIENT, request()).expect_nothing();
    tt.at(ms(1_530)).feed(CLIENT, ack(1)).expect_nothing();
    assert_eq!(tt.finished().bytes, 100);

    let mut tt = server_read(b"", &file);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file))]);
    tt.timeout(ms(1_000)).expect_nothing();
    tt.at(ms(1_200))
        .feed(CLIENT, rrq(NAME, "octet", b""))
        .expect(&[(CLIENT, data(1, &file))]);
    tt.at(ms(1_210)).feed(CLIENT, ack(1)).expect_nothing();
    assert_eq!(tt.finished().bytes, 100);

    let mut tt = server_write(b"");
    tt.at(ms(0)).expect(&[(CLIENT, ack(0))]);
    tt.timeout(ms(1_000)).expect_nothing();
    tt.at(ms(1_200))
        .feed(CLIENT, wrq(NAME, "octet", b""))
        .expect(&[(CLIENT, ack(0))]);
    tt.at(ms(1_210))
        .feed(CLIENT, data(1, b"abc"))
        .expect(&[(CLIENT, ack(1))]);
    assert_eq!(tt.finished().bytes, 3);
}

// ---------------------------------------------------------------------------------------------
// R-XFR-6: no Sorcerer's Apprentice.

// R-XFR-6
#[test]
fn r_xfr_6_duplicate_acks_never_cause_data_only_a_timeout_does() {
    let file = file_of(3 * 512 + 1);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0))
        .expect(&[(CLIENT, data(1, block(&file, 512, 1)))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, block(&file, 512, 2)))]);
    for t in [11, 12, 13] {
        tt.at(ms(t)).feed(CLIENT, ack(1)).expect_nothing();
    }
    tt.at(ms(20))
        .feed(CLIENT, ack(2))
        .expect(&[(CLIENT, data(3, block(&file, 512, 3)))]);
    tt.at(ms(21)).feed(CLIENT, ack(2)).expect_nothing();
    tt.at(ms(22)).feed(CLIENT, ack(1)).expect_nothing();
    // DATA 3 went out again only when its deadline passed.
    let d = tt.deadline().expect("waiting for ACK 3");
    tt.quiet_until(d);
    tt.timeout(d)
        .expect(&[(CLIENT, data(3, block(&file, 512, 3)))]);
    tt.at(d + millis(10))
        .feed(CLIENT, ack(3))
        .expect(&[(CLIENT, data(4, block(&file, 512, 4)))]);
    // The ACK of the original DATA 3 and of its copy: the second is a duplicate.
    tt.at(d + millis(11)).feed(CLIENT, ack(3)).expect_nothing();
    tt.at(d + millis(20)).feed(CLIENT, ack(4)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (3 * 512 + 1, 4));
}

// R-XFR-6
#[test]
fn r_xfr_6_client_put_ignores_duplicate_acks() {
    let file = file_of(600);
    let mut tt = client_put(RequestOptions::default(), &file);
    tt.at(ms(0)).expect(&[(SERVER, wrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, ack(0))
        .expect(&[(SERVER_TID, data(1, &file[..512]))]);
    tt.at(ms(11)).feed(SERVER_TID, ack(0)).expect_nothing();
    tt.at(ms(12)).feed(SERVER_TID, ack(0)).expect_nothing();
    tt.at(ms(20))
        .feed(SERVER_TID, ack(1))
        .expect(&[(SERVER_TID, data(2, &file[512..]))]);
    tt.at(ms(21)).feed(SERVER_TID, ack(1)).expect_nothing();
    tt.at(ms(30)).feed(SERVER_TID, ack(2)).expect_nothing();
    assert_eq!(tt.finished().bytes, 600);
}

// R-XFR-6: windowed, the ACK of a window resent after a timeout is a duplicate and sends
// nothing.
#[test]
fn r_xfr_6_windowed_duplicate_ack_after_a_timeout_sends_nothing() {
    let file = file_of(70); // 8 blocks of 8 and one of 6
    let b = |n: usize| data(n as u16, block(&file, 8, n));
    let mut tt = server_read(b"blksize\x008\x00windowsize\x004\x00", &file);
    tt.at(ms(0))
        .expect(&[(CLIENT, oack(b"blksize\x008\x00windowsize\x004\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(0))
        .expect(&window(&file, 1..=4));
    let d = tt.deadline().expect("waiting for ACK 4");
    tt.quiet_until(d);
    tt.timeout(d).expect(&window(&file, 1..=4));
    // The ACK of the first copy, then the ACK of the second copy.
    tt.at(d + millis(1))
        .feed(CLIENT, ack(4))
        .expect(&window(&file, 5..=8));
    tt.at(d + millis(2)).feed(CLIENT, ack(4)).expect_nothing();
    tt.at(d + millis(3)).feed(CLIENT, ack(4)).expect_nothing();
    tt.at(d + millis(4)).feed(CLIENT, ack(3)).expect_nothing();
    tt.at(d + millis(11))
        .feed(CLIENT, ack(8))
        .expect(&[(CLIENT, b(9))]);
    tt.at(d + millis(21)).feed(CLIENT, ack(9)).expect_nothing();
    assert_eq!(tt.finished().bytes, 70);
}

// ---------------------------------------------------------------------------------------------
// R-XFR-7: duplicate DATA is acknowledged again, written once.

// R-XFR-7
#[test]
fn r_xfr_7_duplicate_data_is_acked_again_and_written_once() {
    let file = file_of(700);
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &file[..512]))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(11))
        .feed(SERVER_TID, data(1, &file[..512]))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(12))
        .feed(SERVER_TID, data(1, &file[..512]))
        .expect(&[(SERVER_TID, ack(1))]);
    assert_eq!(tt.writes(), &[(0, 512)]);
    tt.at(ms(20))
        .feed(SERVER_TID, data(2, &file[512..]))
        .expect(&[(SERVER_TID, ack(2))]);
    assert_eq!(tt.finished().bytes, 700);
    tt.at(ms(21))
        .feed(SERVER_TID, data(2, &file[512..]))
        .expect(&[(SERVER_TID, ack(2))]);
    tt.no_outcome(); // finished once only
    assert_eq!(tt.writes(), &[(0, 512), (512, 188)]);
    assert_eq!(tt.file(), &file[..]);
}

// R-XFR-7
#[test]
fn r_xfr_7_server_write_acks_a_duplicate_without_writing_it() {
    let file = file_of(600);
    let mut tt = server_write(b"");
    tt.at(ms(0)).expect(&[(CLIENT, ack(0))]);
    tt.at(ms(10))
        .feed(CLIENT, data(1, &file[..512]))
        .expect(&[(CLIENT, ack(1))]);
    tt.at(ms(15))
        .feed(CLIENT, data(1, &file[..512]))
        .expect(&[(CLIENT, ack(1))]);
    tt.at(ms(20))
        .feed(CLIENT, data(2, &file[512..]))
        .expect(&[(CLIENT, ack(2))]);
    assert_eq!(tt.finished().bytes, 600);
    assert_eq!(tt.writes(), &[(0, 512), (512, 88)]);
}

// ---------------------------------------------------------------------------------------------
// R-XFR-8: the receiver dallies after its final ACK.

// R-XFR-8
#[test]
fn r_xfr_8_receiver_reports_at_once_then_dallies_then_closes() {
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, b"tail"))
        .expect(&[(SERVER_TID, ack(1))]);
    assert_eq!(tt.finished().bytes, 4, "completion is reported at once");
    assert!(!tt.session().is_closed(), "the dally keeps it open");
    assert_eq!(tt.deadline(), Some(ms(3_010)));
    // The final ACK was lost: the server repeats the final DATA.
    tt.at(ms(500))
        .feed(SERVER_TID, data(1, b"tail"))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(2_000))
        .feed(SERVER_TID, data(1, b"tail"))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.no_outcome();
    assert_eq!(tt.writes(), &[(0, 4)]);
    tt.quiet_until(ms(3_010));
    assert!(!tt.session().is_closed());
    tt.timeout(ms(3_010)).expect_nothing();
    tt.assert_closed();
    tt.at(ms(4_000))
        .feed(SERVER_TID, data(1, b"tail"))
        .expect_nothing();
}

// R-XFR-8: the dally lasts at least twice a negotiated timeout.
#[test]
fn r_xfr_8_server_write_dallies_twice_the_negotiated_timeout() {
    let mut tt = server_write(b"timeout\x005\x00");
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"timeout\x005\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, data(1, b"end"))
        .expect(&[(CLIENT, ack(1))]);
    assert_eq!(tt.finished().bytes, 3);
    assert_eq!(tt.deadline(), Some(ms(10_010)));
    tt.at(ms(9_000))
        .feed(CLIENT, data(1, b"end"))
        .expect(&[(CLIENT, ack(1))]);
    tt.quiet_until(ms(10_010));
    tt.timeout(ms(10_010)).expect_nothing();
    tt.assert_closed();
}

// ---------------------------------------------------------------------------------------------
// R-XFR-9: an ERROR received ends the transfer; nothing goes back.

// R-XFR-9
#[test]
fn r_xfr_9_error_from_the_server_ends_a_download_silently() {
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, error(ErrorCode::FileNotFound, "no such file"))
        .expect_nothing();
    assert_eq!(
        tt.failed(),
        TransferError::Peer {
            code: ErrorCode::FileNotFound,
            message: "no such file".into()
        }
    );
    tt.assert_closed();
    tt.timeout(ms(30_000)).expect_nothing();
}

// R-XFR-9
#[test]
fn r_xfr_9_error_mid_transfer_ends_a_sender_silently() {
    let file = file_of(1000);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file[..512]))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, &file[512..]))]);
    tt.at(ms(15))
        .feed(CLIENT, error(ErrorCode::DiskFull, "disk full"))
        .expect_nothing();
    assert_eq!(
        tt.failed(),
        TransferError::Peer {
            code: ErrorCode::DiskFull,
            message: "disk full".into()
        }
    );
    tt.assert_closed();
}

// R-XFR-9: an ERROR this side sends (here an abort) goes once and is never retransmitted.
#[test]
fn r_xfr_9_an_abort_sends_one_error_and_nothing_after() {
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &[5; 512]))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(15))
        .session_mut()
        .abort(ErrorCode::DiskFull, "disk full");
    tt.expect(&[(SERVER_TID, error(ErrorCode::DiskFull, "disk full"))]);
    assert_eq!(
        tt.failed(),
        TransferError::Aborted {
            code: ErrorCode::DiskFull,
            message: "disk full".into()
        }
    );
    tt.assert_closed();
    // The server, not having heard, repeats DATA 2: nothing more goes back.
    tt.at(ms(20))
        .feed(SERVER_TID, data(2, &[5; 512]))
        .expect_nothing();
    tt.timeout(ms(30_000)).expect_nothing();
}

// ---------------------------------------------------------------------------------------------
// R-XFR-10: a packet of the wrong kind ends the transfer with ERROR 4.

// R-XFR-10
#[test]
fn r_xfr_10_data_sent_to_a_sender_is_illegal() {
    let file = file_of(1000);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file[..512]))]);
    tt.at(ms(10))
        .feed(CLIENT, data(1, b"what"))
        .expect(&[(CLIENT, error_code(ErrorCode::IllegalOperation))]);
    assert!(matches!(tt.failed(), TransferError::Illegal(_)));
    tt.assert_closed();
}

// R-XFR-10
#[test]
fn r_xfr_10_ack_for_a_future_block_is_illegal() {
    let file = file_of(2000);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &file[..512]))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(5))
        .expect(&[(CLIENT, error_code(ErrorCode::IllegalOperation))]);
    assert!(matches!(tt.failed(), TransferError::Illegal(_)));
    tt.assert_closed();

    let mut tt = client_put(RequestOptions::default(), &file);
    tt.at(ms(0)).expect(&[(SERVER, wrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, ack(0))
        .expect(&[(SERVER_TID, data(1, &file[..512]))]);
    tt.at(ms(20))
        .feed(SERVER_TID, ack(2))
        .expect(&[(SERVER_TID, error_code(ErrorCode::IllegalOperation))]);
    assert!(matches!(tt.failed(), TransferError::Illegal(_)));
    tt.assert_closed();
}

// R-XFR-10
#[test]
fn r_xfr_10_ack_sent_to_a_receiver_is_illegal() {
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &[3; 512]))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(20))
        .feed(SERVER_TID, ack(1))
        .expect(&[(SERVER_TID, error_code(ErrorCode::IllegalOperation))]);
    assert!(matches!(tt.failed(), TransferError::Illegal(_)));
    tt.assert_closed();
}

// ---------------------------------------------------------------------------------------------
// R-XFR-11: block numbers roll over.

/// 65537 full blocks of 8 bytes and a short one: block 65536 is wire 0, 65537 wire 1.
const ROLLOVER_BLOCKS: usize = 65_538;

fn rollover_file() -> Vec<u8> {
    file_of(8 * (ROLLOVER_BLOCKS - 1) + 3)
}

// R-XFR-11
#[test]
fn r_xfr_11_sender_rolls_65535_over_to_0_then_1() {
    let file = rollover_file();
    let mut tt = server_read(b"blksize\x008\x00", &file);
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"blksize\x008\x00"))]);
    tt.at(ms(1))
        .feed(CLIENT, ack(0))
        .expect(&[(CLIENT, data(1, block(&file, 8, 1)))]);
    for b in 1..65_534usize {
        tt.at(ms(b as u64 + 1))
            .feed(CLIENT, ack(b as u16))
            .expect(&[(CLIENT, data(b as u16 + 1, block(&file, 8, b + 1)))]);
    }
    // The rollover, spelled out.
    tt.at(ms(65_535))
        .feed(CLIENT, ack(65_534))
        .expect(&[(CLIENT, data(65_535, block(&file, 8, 65_535)))]);
    tt.at(ms(65_536))
        .feed(CLIENT, ack(65_535))
        .expect(&[(CLIENT, data(0, block(&file, 8, 65_536)))]);
    tt.at(ms(65_537))
        .feed(CLIENT, ack(0))
        .expect(&[(CLIENT, data(1, block(&file, 8, 65_537)))]);
    tt.at(ms(65_538))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, block(&file, 8, 65_538)))]);
    assert_eq!(block(&file, 8, 65_538).len(), 3);
    tt.no_outcome();
    tt.at(ms(65_539)).feed(CLIENT, ack(2)).expect_nothing();
    let s = tt.finished();
    assert_eq!(
        (s.bytes, s.blocks),
        (file.len() as u64, ROLLOVER_BLOCKS as u64)
    );
}

/// A download of [`rollover_file`] at blksize 8 whose DATA numbers are `wire(block)`.
fn receive_rollover(wire: impl Fn(usize) -> u16) {
    let file = rollover_file();
    let mut tt = client_get(blksize(8));
    tt.at(ms(0))
        .expect(&[(SERVER, rrq(NAME, "octet", b"blksize\x008\x00"))]);
    tt.at(ms(1))
        .feed(SERVER_TID, oack(b"blksize\x008\x00"))
        .expect(&[(SERVER_TID, ack(0))]);
    for b in 1..=ROLLOVER_BLOCKS {
        tt.at(ms(b as u64 + 1))
            .feed(SERVER_TID, data(wire(b), block(&file, 8, b)))
            .expect(&[(SERVER_TID, ack(wire(b)))]);
    }
    let s = tt.finished();
    assert_eq!(
        (s.bytes, s.blocks),
        (file.len() as u64, ROLLOVER_BLOCKS as u64)
    );
    assert_eq!(tt.writes().len(), ROLLOVER_BLOCKS);
    assert!(tt.file() == &file[..], "the file came across intact");
}

// R-XFR-11
#[test]
fn r_xfr_11_receiver_follows_rollover_to_0() {
    receive_rollover(|b| b as u16);
}

// R-XFR-11
#[test]
fn r_xfr_11_receiver_follows_a_sender_that_rolls_over_to_1() {
    receive_rollover(|b| {
        if b <= 65_535 {
            b as u16
        } else {
            (b - 65_535) as u16
        }
    });
}

// R-XFR-11, R-OPT-8: a windowed download across the rollover acknowledges every window's last
// block by its wire number (block 65536 is ACK 0).
#[test]
fn r_xfr_11_windowed_receiver_rolls_over() {
    const BLOCKS: usize = 65_556;
    let file = file_of(8 * (BLOCKS - 1) + 5);
    let options = RequestOptions {
        blksize: Some(8),
        windowsize: Some(16),
        ..RequestOptions::default()
    };
    let mut tt = client_get(options);
    tt.take_sent(); // the request
    tt.at(ms(1))
        .feed(SERVER_TID, oack(b"blksize\x008\x00windowsize\x0016\x00"))
        .expect(&[(SERVER_TID, ack(0))]);
    for b in 1..=BLOCKS {
        let want: &[(SocketAddr, Pkt)] = if b % 16 == 0 || b == BLOCKS {
            &[(SERVER_TID, ack(b as u16))]
        } else {
            &[]
        };
        tt.at(ms(b as u64 / 16 + 2))
            .feed(SERVER_TID, data(b as u16, block(&file, 8, b)))
            .expect(want);
    }
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (file.len() as u64, BLOCKS as u64));
    assert!(tt.file() == &file[..], "the file came across intact");
}

// ---------------------------------------------------------------------------------------------
// R-XFR-12: adaptive timeouts, or the negotiated one.

// R-XFR-12
#[test]
fn r_xfr_12_retransmission_follows_the_measured_round_trip() {
    let file = file_of(512 * 20);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0))
        .expect(&[(CLIENT, data(1, block(&file, 512, 1)))]);
    // Ten round trips of 10 ms.
    for k in 1..=10usize {
        tt.at(ms(10 * k as u64))
            .feed(CLIENT, ack(k as u16))
            .expect(&[(CLIENT, data(k as u16 + 1, block(&file, 512, k + 1)))]);
    }
    // DATA 11, sent at 100 ms, is lost.
    let d = tt.deadline().expect("waiting for ACK 11");
    let rto = d - ms(100);
    assert!(
        rto >= millis(10) && rto < millis(100),
        "retransmission after {rto:?}, not tens of milliseconds"
    );
    tt.quiet_until(d);
    tt.timeout(d)
        .expect(&[(CLIENT, data(11, block(&file, 512, 11)))]);
    // Backoff: the next wait is twice as long.
    let d2 = tt.deadline().expect("still waiting for ACK 11");
    assert_eq!(d2 - d, rto * 2);
    tt.quiet_until(d2);
    tt.timeout(d2)
        .expect(&[(CLIENT, data(11, block(&file, 512, 11)))]);
    tt.at(d2 + millis(10))
        .feed(CLIENT, ack(11))
        .expect(&[(CLIENT, data(12, block(&file, 512, 12)))]);
    tt.no_outcome();
}

// R-XFR-12: a receiver's ACK is retransmitted after the measured round trip too.
#[test]
fn r_xfr_12_receiver_retransmits_its_ack_after_the_measured_round_trip() {
    let file = file_of(512 * 20);
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    for k in 1..=10usize {
        tt.at(ms(10 * k as u64))
            .feed(SERVER_TID, data(k as u16, block(&file, 512, k)))
            .expect(&[(SERVER_TID, ack(k as u16))]);
    }
    // DATA 11 never comes (or ACK 10 was lost).
    let d = tt.deadline().expect("waiting for DATA 11");
    let rto = d - ms(100);
    assert!(
        rto >= millis(10) && rto < millis(100),
        "retransmission after {rto:?}, not tens of milliseconds"
    );
    tt.quiet_until(d);
    tt.timeout(d).expect(&[(SERVER_TID, ack(10))]);
    tt.no_outcome();
}

// R-XFR-12: the floor holds on a very fast link.
#[test]
fn r_xfr_12_adaptive_interval_has_a_floor() {
    let file = file_of(512 * 20);
    let mut tt = server_read(b"", &file);
    tt.at(ms(0))
        .expect(&[(CLIENT, data(1, block(&file, 512, 1)))]);
    // Round trips of 100 us.
    for k in 1..=10usize {
        tt.at(Instant::from_micros(100 * k as u64))
            .feed(CLIENT, ack(k as u16))
            .expect(&[(CLIENT, data(k as u16 + 1, block(&file, 512, k + 1)))]);
    }
    let d = tt.deadline().expect("waiting for ACK 11");
    assert_eq!(d - tt.now(), millis(10), "min_rto is the floor");
    tt.quiet_until(d);
    tt.timeout(d)
        .expect(&[(CLIENT, data(11, block(&file, 512, 11)))]);
    tt.no_outcome();
}

// R-XFR-12
#[test]
fn r_xfr_12_negotiated_timeout_fixes_the_interval_for_a_sender() {
    let file = file_of(512 * 10);
    let mut tt = server_read(b"timeout\x003\x00", &file);
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"timeout\x003\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(0))
        .expect(&[(CLIENT, data(1, block(&file, 512, 1)))]);
    tt.at(ms(20))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, block(&file, 512, 2)))]);
    tt.at(ms(30))
        .feed(CLIENT, ack(2))
        .expect(&[(CLIENT, data(3, block(&file, 512, 3)))]);
    // DATA 3 is lost: exactly 3 s later it goes again, and 3 s after that (no backoff).
    tt.quiet_until(ms(3_030));
    tt.timeout(ms(3_030))
        .expect(&[(CLIENT, data(3, block(&file, 512, 3)))]);
    tt.quiet_until(ms(6_030));
    tt.timeout(ms(6_030))
        .expect(&[(CLIENT, data(3, block(&file, 512, 3)))]);
    tt.no_outcome();
}

// R-XFR-12
#[test]
fn r_xfr_12_negotiated_timeout_fixes_the_interval_for_a_receiver() {
    let options = RequestOptions {
        timeout: Some(3),
        ..RequestOptions::default()
    };
    let mut tt = client_get(options);
    tt.at(ms(0))
        .expect(&[(SERVER, rrq(NAME, "octet", b"timeout\x003\x00"))]);
    tt.at(ms(10))
        .feed(SERVER_TID, oack(b"timeout\x003\x00"))
        .expect(&[(SERVER_TID, ack(0))]);
    tt.quiet_until(ms(3_010));
    tt.timeout(ms(3_010)).expect(&[(SERVER_TID, ack(0))]);
    tt.quiet_until(ms(6_010));
    tt.timeout(ms(6_010)).expect(&[(SERVER_TID, ack(0))]);
    tt.no_outcome();
}

// ---------------------------------------------------------------------------------------------
// R-XFR-13: a DATA longer than blksize is refused; one window in flight at most.

// R-XFR-13
#[test]
fn r_xfr_13_data_longer_than_blksize_is_refused() {
    let mut tt = client_get(RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "octet", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &[9; 513]))
        .expect(&[(SERVER_TID, error_code(ErrorCode::IllegalOperation))]);
    assert!(matches!(tt.failed(), TransferError::Illegal(_)));
    assert_eq!(tt.writes(), &[] as &[(u64, usize)]);
    tt.assert_closed();

    let mut tt = client_get(blksize(8));
    tt.at(ms(0))
        .expect(&[(SERVER, rrq(NAME, "octet", b"blksize\x008\x00"))]);
    tt.at(ms(10))
        .feed(SERVER_TID, oack(b"blksize\x008\x00"))
        .expect(&[(SERVER_TID, ack(0))]);
    tt.at(ms(20))
        .feed(SERVER_TID, data(1, b"12345678"))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(30))
        .feed(SERVER_TID, data(2, b"123456789"))
        .expect(&[(SERVER_TID, error_code(ErrorCode::IllegalOperation))]);
    assert!(matches!(tt.failed(), TransferError::Illegal(_)));
    assert_eq!(tt.writes(), &[(0, 8)]);
    tt.assert_closed();
}

// R-XFR-13, R-OPT-8
#[test]
fn r_xfr_13_sender_keeps_at_most_one_window_in_flight() {
    let file = file_of(100); // 12 blocks of 8 and one of 4
    let mut tt = server_read(b"blksize\x008\x00windowsize\x004\x00", &file);
    tt.at(ms(0))
        .expect(&[(CLIENT, oack(b"blksize\x008\x00windowsize\x004\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(0))
        .expect(&window(&file, 1..=4));
    tt.at(ms(11)).expect_nothing();
    tt.at(ms(20))
        .feed(CLIENT, ack(4))
        .expect(&window(&file, 5..=8));
    // A timeout sends the window again, no more.
    let d = tt.deadline().expect("waiting for ACK 8");
    tt.quiet_until(d);
    tt.timeout(d).expect(&window(&file, 5..=8));
    // The receiver saw 5 and 6 only: the window slides to 7..=10.
    tt.at(d + millis(10))
        .feed(CLIENT, ack(6))
        .expect(&window(&file, 7..=10));
    tt.at(d + millis(20))
        .feed(CLIENT, ack(10))
        .expect(&window(&file, 11..=13));
    tt.at(d + millis(30)).feed(CLIENT, ack(13)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (100, 13));
}

// ---------------------------------------------------------------------------------------------
// Options.

// R-OPT-2
#[test]
fn r_opt_2_download_falls_back_to_defaults_when_the_server_ignores_options() {
    let file = file_of(612);
    let options = RequestOptions {
        blksize: Some(1024),
        windowsize: Some(4),
        ..RequestOptions::default()
    };
    let mut tt = client_get(options);
    tt.at(ms(0)).expect(&[(
        SERVER,
        rrq(NAME, "octet", b"blksize\x001024\x00windowsize\x004\x00"),
    )]);
    // DATA 1 instead of OACK: 512 bytes is a full block, acknowledged at once (no window).
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &file[..512]))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.no_outcome();
    tt.at(ms(20))
        .feed(SERVER_TID, data(2, &file[512..]))
        .expect(&[(SERVER_TID, ack(2))]);
    let s = tt.finished();
    assert_eq!(s.options, TransferOptions::default());
    assert_eq!(s.bytes, 612);
    assert_eq!(tt.file(), &file[..]);
}

// R-OPT-2
#[test]
fn r_opt_2_upload_falls_back_to_512_when_the_server_ignores_options() {
    let file = file_of(700);
    let mut tt = client_put(blksize(1024), &file);
    tt.at(ms(0))
        .expect(&[(SERVER, wrq(NAME, "octet", b"blksize\x001024\x00"))]);
    tt.at(ms(10))
        .feed(SERVER_TID, ack(0))
        .expect(&[(SERVER_TID, data(1, &file[..512]))]);
    assert_eq!(tt.reads()[0], (0, 512));
    tt.at(ms(20))
        .feed(SERVER_TID, ack(1))
        .expect(&[(SERVER_TID, data(2, &file[512..]))]);
    tt.at(ms(30)).feed(SERVER_TID, ack(2)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.options.blksize), (700, 512));
}

/// A client that asked for `options` gets `answer` as the OACK: ERROR 8 and a failed
/// negotiation.
fn refuses_oack(mut tt: Timetable, answer: &[u8]) {
    tt.take_sent(); // the request
    tt.at(ms(10))
        .feed(SERVER_TID, oack(answer))
        .expect(&[(SERVER_TID, error_code(ErrorCode::OptionRefused))]);
    assert!(matches!(tt.failed(), TransferError::Negotiation(_)));
    assert_eq!(tt.writes(), &[] as &[(u64, usize)]);
    tt.assert_closed();
}

// R-OPT-3
#[test]
fn r_opt_3_oack_with_a_larger_blksize_is_refused_with_error_8() {
    refuses_oack(client_get(blksize(1024)), b"blksize\x002048\x00");
    refuses_oack(client_put(blksize(1024), b"x"), b"blksize\x002048\x00");
}

// R-OPT-3
#[test]
fn r_opt_3_oack_with_an_option_not_asked_for_is_refused_with_error_8() {
    refuses_oack(client_get(blksize(1024)), b"windowsize\x004\x00");
    refuses_oack(
        client_get(blksize(1024)),
        b"blksize\x001024\x00colour\x00blue\x00",
    );
    refuses_oack(client_get(RequestOptions::default()), b"tsize\x00100\x00");
    refuses_oack(client_put(blksize(512), b"x"), b"timeout\x005\x00");
}

// R-OPT-4
#[test]
fn r_opt_4_oack_to_rrq_is_answered_by_ack_0() {
    let file = file_of(1100);
    let options = RequestOptions {
        blksize: Some(1024),
        tsize: Some(0),
        ..RequestOptions::default()
    };
    let mut tt = client_get(options);
    tt.at(ms(0)).expect(&[(
        SERVER,
        rrq(NAME, "octet", b"blksize\x001024\x00tsize\x000\x00"),
    )]);
    tt.at(ms(10))
        .feed(SERVER_TID, oack(b"blksize\x001024\x00tsize\x001100\x00"))
        .expect(&[(SERVER_TID, ack(0))]);
    tt.no_outcome();
    tt.at(ms(20))
        .feed(SERVER_TID, data(1, &file[..1024]))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.no_outcome();
    tt.at(ms(30))
        .feed(SERVER_TID, data(2, &file[1024..]))
        .expect(&[(SERVER_TID, ack(2))]);
    let s = tt.finished();
    assert_eq!((s.options.blksize, s.options.tsize), (1024, Some(1100)));
    assert_eq!(tt.file(), &file[..]);
}

// R-OPT-4
#[test]
fn r_opt_4_oack_to_wrq_is_answered_by_data_1() {
    let file = file_of(20);
    let options = RequestOptions {
        blksize: Some(8),
        tsize: Some(20),
        ..RequestOptions::default()
    };
    let mut tt = client_put(options, &file);
    tt.at(ms(0)).expect(&[(
        SERVER,
        wrq(NAME, "octet", b"blksize\x008\x00tsize\x0020\x00"),
    )]);
    tt.at(ms(10))
        .feed(SERVER_TID, oack(b"blksize\x008\x00tsize\x0020\x00"))
        .expect(&[(SERVER_TID, data(1, &file[..8]))]);
    tt.at(ms(20))
        .feed(SERVER_TID, ack(1))
        .expect(&[(SERVER_TID, data(2, &file[8..16]))]);
    tt.at(ms(30))
        .feed(SERVER_TID, ack(2))
        .expect(&[(SERVER_TID, data(3, &file[16..]))]);
    tt.at(ms(40)).feed(SERVER_TID, ack(3)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.options.blksize), (20, 8));
}

// R-OPT-7
#[test]
fn r_opt_7_server_read_answers_the_file_size_in_tsize() {
    let file = file_of(1234);
    let mut tt = server_read(b"tsize\x000\x00", &file);
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"tsize\x001234\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(0))
        .expect(&[(CLIENT, data(1, &file[..512]))]);
    tt.at(ms(20))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, &file[512..1024]))]);
    tt.at(ms(30))
        .feed(CLIENT, ack(2))
        .expect(&[(CLIENT, data(3, &file[1024..]))]);
    tt.at(ms(40)).feed(CLIENT, ack(3)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.options.tsize), (1234, Some(1234)));
}

// R-OPT-7
#[test]
fn r_opt_7_upload_larger_than_the_policy_is_refused_with_error_3() {
    let mut policy = ServerPolicy::default();
    policy.max_file_size = Some(1000);
    let write = |options: &[u8]| {
        Session::server_write(
            Instant::ZERO,
            CLIENT,
            Mode::Octet,
            &OptionList::parse(options).unwrap(),
            &policy,
            &config(),
        )
    };
    let refusal = write(b"tsize\x001001\x00").expect_err("too large");
    assert_eq!(refusal.code, ErrorCode::DiskFull);
    let mut buf = [0u8; 600];
    let n = refusal.encode(&mut buf);
    assert!(matches!(
        Packet::parse(&buf[..n]),
        Ok(Packet::Error {
            code: ErrorCode::DiskFull,
            ..
        })
    ));
    // At the limit it is accepted, and tsize is echoed.
    let mut tt = Timetable::new(write(b"tsize\x001000\x00").expect("at the limit"));
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"tsize\x001000\x00"))]);
}

// R-OPT-7: without tsize, an upload that grows past policy.max_file_size ends with ERROR 3
// and the block that crossed the limit is not written.
#[test]
fn r_opt_7_upload_growing_past_the_policy_is_ended_with_error_3() {
    let mut policy = ServerPolicy::default();
    policy.max_file_size = Some(1000);
    let session = Session::server_write(
        Instant::ZERO,
        CLIENT,
        Mode::Octet,
        &OptionList::EMPTY,
        &policy,
        &config(),
    )
    .unwrap();
    let mut tt = Timetable::new(session);
    tt.at(ms(0)).expect(&[(CLIENT, ack(0))]);
    tt.at(ms(10))
        .feed(CLIENT, data(1, &[1; 512]))
        .expect(&[(CLIENT, ack(1))]);
    tt.at(ms(20))
        .feed(CLIENT, data(2, &[2; 512]))
        .expect(&[(CLIENT, error_code(ErrorCode::DiskFull))]);
    assert_eq!(tt.failed(), TransferError::TooLarge { limit: 1000 });
    assert_eq!(tt.writes(), &[(0, 512)]);
    tt.assert_closed();
}

// R-OPT-8: the gap ACK comes after a short reorder wait (a fraction of the round trip, so a
// merely reordered block costs nothing), long before any retransmission timeout.
#[test]
fn r_opt_8_receiver_acks_each_window_and_a_gap_within_a_round_trip() {
    let file = file_of(76); // 9 blocks of 8 and one of 4
    let b = |n: usize| data(n as u16, block(&file, 8, n));
    let options = RequestOptions {
        blksize: Some(8),
        windowsize: Some(4),
        ..RequestOptions::default()
    };
    let mut tt = client_get(options);
    tt.at(ms(0)).expect(&[(
        SERVER,
        rrq(NAME, "octet", b"blksize\x008\x00windowsize\x004\x00"),
    )]);
    // Round trips of 10 ms.
    tt.at(ms(10))
        .feed(SERVER_TID, oack(b"blksize\x008\x00windowsize\x004\x00"))
        .expect(&[(SERVER_TID, ack(0))]);
    for n in 1..=3 {
        tt.at(ms(20)).feed(SERVER_TID, b(n)).expect_nothing();
    }
    tt.at(ms(20))
        .feed(SERVER_TID, b(4))
        .expect(&[(SERVER_TID, ack(4))]);
    tt.at(ms(30)).feed(SERVER_TID, b(5)).expect_nothing();
    let retransmission = tt.deadline().expect("waiting for the window");
    // Block 6 is lost: 7 and 8 arrive ahead of it.
    tt.at(ms(30)).feed(SERVER_TID, b(7)).expect_nothing();
    tt.at(ms(30)).feed(SERVER_TID, b(8)).expect_nothing();
    let gap = tt.deadline().expect("a gap to report");
    assert!(
        gap > ms(30) && gap - ms(30) < millis(10) && gap < retransmission,
        "gap reported at {gap:?}, not within a round trip (retransmission at {retransmission:?})"
    );
    tt.quiet_until(gap);
    tt.timeout(gap).expect(&[(SERVER_TID, ack(5))]);
    // The sender goes on from 6; 7 and 8 come again and are not written twice.
    for n in 6..=8 {
        tt.at(ms(40)).feed(SERVER_TID, b(n)).expect_nothing();
    }
    tt.at(ms(40))
        .feed(SERVER_TID, b(9))
        .expect(&[(SERVER_TID, ack(9))]);
    tt.no_outcome();
    tt.at(ms(50))
        .feed(SERVER_TID, b(10))
        .expect(&[(SERVER_TID, ack(10))]);
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (76, 10));
    assert_eq!(tt.file(), &file[..]);
    assert_eq!(tt.writes().len(), 10, "each block written once");
}

// R-OPT-8
#[test]
fn r_opt_8_sender_resumes_after_a_gap_without_a_timeout() {
    let file = file_of(80); // 10 blocks of 8, then an empty one
    let mut tt = server_read(b"blksize\x008\x00windowsize\x004\x00", &file);
    tt.at(ms(0))
        .expect(&[(CLIENT, oack(b"blksize\x008\x00windowsize\x004\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(0))
        .expect(&window(&file, 1..=4));
    // The receiver lost 3: it acknowledges 2 and the sender goes on from 3 at once.
    let deadline = tt.deadline().expect("waiting for ACK 4");
    tt.at(ms(20))
        .feed(CLIENT, ack(2))
        .expect(&window(&file, 3..=6));
    assert!(ms(20) < deadline, "no timeout was needed");
    tt.at(ms(30))
        .feed(CLIENT, ack(6))
        .expect(&window(&file, 7..=10));
    tt.at(ms(40))
        .feed(CLIENT, ack(10))
        .expect(&[(CLIENT, data(11, b""))]);
    tt.at(ms(50)).feed(CLIENT, ack(11)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (80, 11));
}

// R-OPT-8: the final block may arrive ahead of a missing one; the transfer ends once the gap
// is filled, each block written once.
#[test]
fn r_opt_8_final_block_ahead_of_a_gap() {
    let file = file_of(28); // 3 blocks of 8 and one of 4
    let b = |n: usize| data(n as u16, block(&file, 8, n));
    let options = RequestOptions {
        blksize: Some(8),
        windowsize: Some(4),
        ..RequestOptions::default()
    };
    let mut tt = client_get(options);
    tt.take_sent(); // the request
    tt.at(ms(10))
        .feed(SERVER_TID, oack(b"blksize\x008\x00windowsize\x004\x00"))
        .expect(&[(SERVER_TID, ack(0))]);
    tt.at(ms(20)).feed(SERVER_TID, b(1)).expect_nothing();
    // 2 is lost.
    tt.at(ms(20)).feed(SERVER_TID, b(3)).expect_nothing();
    tt.at(ms(20)).feed(SERVER_TID, b(4)).expect_nothing();
    tt.no_outcome();
    let gap = tt.deadline().expect("a gap to report");
    assert!(gap - ms(20) < millis(10), "gap reported only at {gap:?}");
    tt.quiet_until(gap);
    tt.timeout(gap).expect(&[(SERVER_TID, ack(1))]);
    // The sender resends 2, 3, 4: 2 completes the file.
    tt.at(ms(30))
        .feed(SERVER_TID, b(2))
        .expect(&[(SERVER_TID, ack(4))]);
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (28, 4));
    tt.at(ms(30)).feed(SERVER_TID, b(3)).expect_nothing();
    tt.at(ms(30))
        .feed(SERVER_TID, b(4))
        .expect(&[(SERVER_TID, ack(4))]);
    tt.no_outcome();
    assert_eq!(tt.file(), &file[..]);
    assert_eq!(tt.writes().len(), 4, "each block written once");
}

// R-OPT-8, R-XFR-11: a client may ask windowsize up to 65535 and the server may answer
// smaller; the widest window it grants (MAX_WINDOWSIZE) works, across the rollover too.
#[test]
fn r_opt_8_widest_granted_window_completes_across_the_rollover() {
    const BLOCKS: usize = 70_000;
    let window = usize::from(MAX_WINDOWSIZE);
    let file = file_of(8 * BLOCKS - 1); // the last block is short
    let mut policy = ServerPolicy::default();
    policy.max_windowsize = u16::MAX;
    let mut tt = server_read_with(b"blksize\x008\x00windowsize\x0065535\x00", &file, &policy);
    let granted = format!("blksize\x008\x00windowsize\x00{window}\x00");
    tt.at(ms(0)).expect(&[(CLIENT, oack(granted.as_bytes()))]);
    let mut acked = 0;
    let mut t = 0;
    while acked < BLOCKS {
        t += 10;
        tt.at(ms(t)).feed(CLIENT, ack(acked as u16));
        let sent = tt.take_sent();
        let end = (acked + window).min(BLOCKS);
        assert_eq!(
            sent.len(),
            end - acked,
            "one whole window after ACK {acked}"
        );
        for (i, (to, bytes)) in sent.iter().enumerate() {
            let n = acked + 1 + i;
            let want = data(n as u16, block(&file, 8, n));
            assert!(
                *to == CLIENT && want.matches(&Packet::parse(bytes).unwrap()),
                "block {n} is not {want:?}"
            );
        }
        tt.no_outcome();
        // The receiver acknowledges the last block of each window.
        acked = end;
    }
    tt.at(ms(t + 10))
        .feed(CLIENT, ack(BLOCKS as u16))
        .expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks), (file.len() as u64, BLOCKS as u64));
    assert_eq!(s.options.windowsize, MAX_WINDOWSIZE);
}

// R-OPT-10
#[test]
fn r_opt_10_error_8_right_after_the_oack_is_a_size_probe() {
    let file = file_of(5000);
    let mut tt = server_read(b"tsize\x000\x00", &file);
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"tsize\x005000\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, error(ErrorCode::OptionRefused, "tsize only"))
        .expect_nothing();
    assert_eq!(tt.finished().completion, Completion::SizeProbe);
    tt.assert_closed();

    // Later in the transfer, ERROR 8 is an ordinary failure.
    let mut tt = server_read(b"tsize\x000\x00", &file);
    tt.at(ms(0)).expect(&[(CLIENT, oack(b"tsize\x005000\x00"))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(0))
        .expect(&[(CLIENT, data(1, &file[..512]))]);
    tt.at(ms(20))
        .feed(CLIENT, error(ErrorCode::OptionRefused, "changed my mind"))
        .expect_nothing();
    assert!(matches!(
        tt.failed(),
        TransferError::Peer {
            code: ErrorCode::OptionRefused,
            ..
        }
    ));
    tt.assert_closed();
}

// ---------------------------------------------------------------------------------------------
// Packets and modes.

// R-PKT-6
#[test]
fn r_pkt_6_client_request_over_512_bytes_is_refused() {
    // 2 (opcode) + name + NUL + "octet" + NUL: a 503-byte name makes exactly 512 bytes.
    let name = vec![b'n'; 503];
    let mut request = client_request(Mode::Octet, RequestOptions::default());
    request.filename = &name;
    let session = Session::client_get(Instant::ZERO, SERVER, &request, &config()).unwrap();
    let mut tt = Timetable::new(session);
    let sent = tt.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.len(), 512);
    assert!(rrq(&name, "octet", b"").matches(&Packet::parse(&sent[0].1).unwrap()));

    let name = vec![b'n'; 504];
    request.filename = &name;
    let get = Session::client_get(Instant::ZERO, SERVER, &request, &config());
    assert_eq!(get.err(), Some(SessionError::RequestTooLong));
    let put = Session::client_put(Instant::ZERO, SERVER, &request, &config());
    assert_eq!(put.err(), Some(SessionError::RequestTooLong));

    // Options count: a name that fits alone (504 bytes) is too long with them (517 bytes).
    let name = vec![b'n'; 495];
    request.filename = &name;
    assert!(Session::client_get(Instant::ZERO, SERVER, &request, &config()).is_ok());
    request.options = blksize(1024);
    let get = Session::client_get(Instant::ZERO, SERVER, &request, &config());
    assert_eq!(get.err(), Some(SessionError::RequestTooLong));
}

// R-MOD-2
#[test]
fn r_mod_2_netascii_download_turns_cr_lf_split_across_blocks_into_lf() {
    let mut first = vec![b'a'; 511];
    first.push(b'\r'); // its LF starts the next block
    let second = b"\nline two\r\nbare\r\0cr\r\n";
    let mut tt = client_get_mode(Mode::Netascii, RequestOptions::default());
    tt.at(ms(0)).expect(&[(SERVER, rrq(NAME, "netascii", b""))]);
    tt.at(ms(10))
        .feed(SERVER_TID, data(1, &first))
        .expect(&[(SERVER_TID, ack(1))]);
    tt.at(ms(20))
        .feed(SERVER_TID, data(2, second))
        .expect(&[(SERVER_TID, ack(2))]);
    let mut want = vec![b'a'; 511];
    want.extend_from_slice(b"\nline two\nbare\rcr\n");
    assert_eq!(
        String::from_utf8_lossy(tt.file()),
        String::from_utf8_lossy(&want)
    );
    assert_eq!(tt.finished().bytes, want.len() as u64);
}

// R-MOD-2: a netascii upload puts a line end's CR at the end of one block and its LF at the
// start of the next; tsize, unknown on the wire, is left out (so no OACK at all here).
#[test]
fn r_mod_2_netascii_upload_splits_cr_lf_across_blocks_and_leaves_tsize_out() {
    let mut file = vec![b'a'; 511];
    file.extend_from_slice(b"\nb\rc\n");
    let mut first = vec![b'a'; 511];
    first.push(b'\r');
    let mut tt = server_read_mode(
        Mode::Netascii,
        b"tsize\x000\x00",
        &file,
        &ServerPolicy::default(),
    );
    tt.at(ms(0)).expect(&[(CLIENT, data(1, &first))]);
    tt.at(ms(10))
        .feed(CLIENT, ack(1))
        .expect(&[(CLIENT, data(2, b"\nb\r\0c\r\n"))]);
    tt.at(ms(20)).feed(CLIENT, ack(2)).expect_nothing();
    let s = tt.finished();
    assert_eq!((s.bytes, s.blocks, s.options.tsize), (516, 2, None));
}

// R-MOD-3
#[test]
fn r_mod_3_mail_and_unknown_modes_are_refused_with_error_4_naming_them() {
    for (request, mode) in [
        (rrq(NAME, "mail", b""), "mail"),
        (wrq(NAME, "MAIL", b""), "MAIL"),
        (rrq(NAME, "binary", b""), "binary"),
    ] {
        let Intake::Refuse(refusal) = accept(request.bytes()) else {
            panic!("mode {mode} was not refused");
        };
        let mut buf = [0u8; 600];
        let n = refusal.encode(&mut buf);
        let Ok(Packet::Error { code, message }) = Packet::parse(&buf[..n]) else {
            panic!("the refusal is not an ERROR packet");
        };
        assert_eq!(code, ErrorCode::IllegalOperation);
        let message = String::from_utf8_lossy(message);
        assert!(message.contains(mode), "{message:?} does not name {mode}");
    }
}
