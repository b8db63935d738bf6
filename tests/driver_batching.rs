//! The driver's batched socket I/O (`tftp_driver::outbox`, `tftp_driver::inbox`) on real loopback
//! sockets: a window that leaves as one GSO send still reaches the peer as separate, ordinary
//! DATA datagrams in order (R-OPT-8, R-XFR-13: one window in flight, nothing merged or cut), and
//! a coalesced batch received with GRO is split back into exactly the datagrams that were sent;
//! where the route cannot take a batch (blocks larger than its MTU), the sender falls back to
//! one send per datagram and the transfer completes.

#[path = "support/procs.rs"]
mod procs;

use std::net::{SocketAddr, UdpSocket as StdSocket};
use std::process::Command;
use std::time::{Duration, Instant as StdInstant};

use mio::net::UdpSocket;
use tftp_driver::inbox::Inbox;
use tftp_driver::net::bind_udp;
use tftp_driver::outbox::Outbox;
use tftp_proto::server::{accept, Intake};
use tftp_proto::{Config, Event, Instant, Packet, ServerPolicy, Session};

const BLKSIZE: usize = 1468;
const WINDOW: usize = 16;
/// 68 full blocks and a short one: four full windows and a short last one.
const FILE_LEN: usize = 68 * BLKSIZE + 176;

fn file() -> Vec<u8> {
    (0..FILE_LEN).map(|i| (i * 7 % 251) as u8).collect()
}

fn rrq() -> Vec<u8> {
    let mut r = vec![0, 1];
    for field in [
        "f",
        "octet",
        "blksize",
        "1468",
        "windowsize",
        "16",
        "tsize",
        "0",
    ] {
        r.extend_from_slice(field.as_bytes());
        r.push(0);
    }
    r
}

/// A server session answering `rrq()` from `client`, its socket, and an outbox.
fn server(client: SocketAddr) -> (Session, UdpSocket) {
    let datagram = rrq();
    let Intake::Serve(incoming) = accept(&datagram) else {
        panic!("the RRQ was not accepted");
    };
    let session = Session::server_read(
        Instant::ZERO,
        client,
        incoming.mode,
        &incoming.options,
        Some(FILE_LEN as u64),
        &ServerPolicy::default(),
        &Config::default(),
    )
    .expect("session");
    let socket = bind_udp("127.0.0.1:0".parse().unwrap()).expect("bind");
    (session, socket)
}

/// Serves the session's reads from `file` and sends what it has through `out`.
fn turn(session: &mut Session, socket: &UdpSocket, out: &mut Outbox, file: &[u8]) {
    loop {
        let mut read = false;
        while let Some(event) = session.poll_event() {
            if let Event::Read { offset, len } = event {
                read = true;
                let at = offset as usize;
                let n = len.min(file.len().saturating_sub(at));
                session.read_buffer()[..n].copy_from_slice(&file[at..at + n]);
                session.read_done(n);
            }
        }
        let sent = out.flush_session(session, Instant::ZERO, socket);
        if !read && sent == 0 {
            return;
        }
    }
}

/// Waits for the next datagram on the server's socket and feeds it to the session.
fn feed_ack(session: &mut Session, socket: &UdpSocket, inbox: &mut Inbox) {
    let deadline = StdInstant::now() + Duration::from_secs(5);
    loop {
        match inbox.recv(socket) {
            Ok(got) => {
                let bytes = &inbox.bytes()[..got.len];
                let _ = session.handle_datagram(Instant::ZERO, got.from, bytes);
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(StdInstant::now() < deadline, "no ACK reached the server");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
}

fn ack(block: u16) -> Vec<u8> {
    let mut buf = [0u8; 4];
    let n = Packet::Ack { block }.encode(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// Checks one DATA datagram against the file and returns its payload length.
fn check_data(datagram: &[u8], expected_block: u16, file: &[u8]) -> usize {
    let Ok(Packet::Data { block, data }) = Packet::parse(datagram) else {
        panic!(
            "not a DATA datagram: {:02x?}",
            &datagram[..datagram.len().min(8)]
        );
    };
    assert_eq!(block, expected_block, "blocks arrive in order, none merged");
    let at = (usize::from(block) - 1) * BLKSIZE;
    let want = &file[at..(at + BLKSIZE).min(file.len())];
    assert_eq!(data, want, "block {block} carries its own bytes");
    data.len()
}

// R-OPT-8, R-XFR-13: a window sent in one batch arrives as WINDOW separate datagrams at a
// peer that reads them one by one (no GRO), each a whole DATA of the negotiated size.
#[test]
fn r_opt_8_a_batched_window_arrives_as_separate_datagrams() {
    let file = file();
    let client = StdSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (mut session, socket) = server(client.local_addr().unwrap());
    let server_addr = socket.local_addr().unwrap();
    let mut out = Outbox::new();
    let mut inbox = Inbox::new();
    let mut buf = vec![0u8; 65536];

    turn(&mut session, &socket, &mut out, &file);
    let (n, _) = client.recv_from(&mut buf).expect("OACK");
    assert!(matches!(Packet::parse(&buf[..n]), Ok(Packet::Oack(_))));

    let mut received = 0;
    let mut next: u16 = 1;
    let mut acked = 0u16;
    while received < FILE_LEN {
        client.send_to(&ack(acked), server_addr).unwrap();
        feed_ack(&mut session, &socket, &mut inbox);
        turn(&mut session, &socket, &mut out, &file);
        let blocks_left = FILE_LEN.div_ceil(BLKSIZE) - usize::from(acked);
        for _ in 0..WINDOW.min(blocks_left) {
            let (n, _) = client.recv_from(&mut buf).expect("a DATA of the window");
            received += check_data(&buf[..n], next, &file);
            next += 1;
        }
        acked = next - 1;
    }
    assert_eq!(received, FILE_LEN);
    client.send_to(&ack(acked), server_addr).unwrap();
    feed_ack(&mut session, &socket, &mut inbox);
    assert!(
        matches!(session.poll_event(), Some(Event::Finished(_))),
        "the transfer completes"
    );
}

// R-OPT-8: a receiver with coalescing on gets every window back as the same DATA datagrams,
// in order, however the kernel grouped them; on Linux it does group them (one recvmsg for
// several DATA), which is what makes a windowed download cheap for our client.
#[test]
fn r_opt_8_a_coalesced_window_is_split_back_into_its_datagrams() {
    let file = file();
    let client = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
    Inbox::enable_coalescing(&client);
    let (mut session, socket) = server(client.local_addr().unwrap());
    let server_addr = socket.local_addr().unwrap();
    let mut out = Outbox::new();
    let mut server_inbox = Inbox::new();
    let mut client_inbox = Inbox::new();

    // Everything the client got, split the way the driver splits it.
    let mut recv_all = |expect: usize| -> (Vec<Vec<u8>>, usize) {
        let mut datagrams = Vec::new();
        let mut calls = 0;
        let deadline = StdInstant::now() + Duration::from_secs(5);
        while datagrams.len() < expect {
            match client_inbox.recv(&client) {
                Ok(got) => {
                    calls += 1;
                    let bytes = &client_inbox.bytes()[..got.len];
                    datagrams.extend(bytes.chunks(got.segment.max(1)).map(<[u8]>::to_vec));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(StdInstant::now() < deadline, "datagrams missing");
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("recv: {e}"),
            }
        }
        (datagrams, calls)
    };

    turn(&mut session, &socket, &mut out, &file);
    let (oack, _) = recv_all(1);
    assert!(matches!(Packet::parse(&oack[0]), Ok(Packet::Oack(_))));

    let mut received = 0;
    let mut next: u16 = 1;
    let mut acked = 0u16;
    let mut total_calls = 0;
    let mut total_datagrams = 0;
    while received < FILE_LEN {
        client.send_to(&ack(acked), server_addr).unwrap();
        feed_ack(&mut session, &socket, &mut server_inbox);
        turn(&mut session, &socket, &mut out, &file);
        let blocks_left = FILE_LEN.div_ceil(BLKSIZE) - usize::from(acked);
        let (window, calls) = recv_all(WINDOW.min(blocks_left));
        assert_eq!(window.len(), WINDOW.min(blocks_left), "no extra datagram");
        total_calls += calls;
        total_datagrams += window.len();
        for datagram in &window {
            received += check_data(datagram, next, &file);
            next += 1;
        }
        acked = next - 1;
    }
    assert_eq!(received, FILE_LEN);
    if cfg!(target_os = "linux") {
        assert!(
            total_calls < total_datagrams,
            "GRO coalesced nothing: {total_calls} receives for {total_datagrams} datagrams"
        );
    }
}

// R-OPT-5, R-OPT-8: blocks larger than the route's MTU (here a private namespace whose
// loopback has MTU 1500) make the kernel refuse a GSO batch (EMSGSIZE); the server falls back
// to one send per datagram, which IP fragments as usual, and the windowed download at blksize
// 8192 is byte-exact. Then blksize 1024 (under the MTU) on the same server still batches.
#[test]
fn r_opt_5_blocks_larger_than_the_mtu_fall_back_to_plain_sends() {
    if !procs::require_root("a private network namespace (unshare -n)") {
        return;
    }
    for tool in ["unshare", "ip"] {
        if procs::require_peer(tool).is_none() {
            return;
        }
    }
    let root = procs::TempDir::new("mtu-root");
    let local = procs::TempDir::new("mtu-local");
    let bytes = procs::content(300_000, 8192);
    std::fs::write(root.path().join("f.bin"), &bytes).unwrap();
    let port = 6969;
    let script = format!(
        "set -e; ip link set lo up; ip link set lo mtu 1500; \
         '{tftpd}' --root '{root}' --bind 127.0.0.1 --port {port} & server=$!; \
         trap 'kill $server' EXIT; sleep 0.3; \
         '{tftp}' get 127.0.0.1:{port} f.bin '{local}/big.bin' --blksize 8192 --windowsize 16; \
         '{tftp}' get 127.0.0.1:{port} f.bin '{local}/small.bin' --blksize 1024 --windowsize 16",
        tftpd = procs::our_bin("tftpd").display(),
        tftp = procs::our_bin("tftp").display(),
        root = root.path().display(),
        local = local.path().display(),
    );
    let out = procs::run_bounded(
        Command::new("unshare").args(["-n", "sh", "-c", &script]),
        Duration::from_secs(60),
    );
    let text = procs::output_text(&out);
    assert!(out.status.success(), "{text}");
    for name in ["big.bin", "small.bin"] {
        let got = std::fs::read(local.path().join(name)).unwrap_or_default();
        assert!(
            got == bytes,
            "{name}: {} bytes, not the file\n{text}",
            got.len()
        );
    }
    assert!(
        text.contains("blksize=8192 windowsize=16") && text.contains("blksize=1024 windowsize=16"),
        "both options were granted as asked:\n{text}"
    );
}
