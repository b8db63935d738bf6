//! `lbtool floor PORT ROOT`: the cheapest lock-step TFTP server there can be, as a yardstick
//! for `benches/loopback/syscalls.sh` (not a server to run: no options but blksize, no
//! checks beyond the core's name check, one transfer at a time, serves until killed).
//!
//! Each download's file is read whole into memory before the first DATA, so a block costs
//! exactly one blocking `recv` of the ACK and one `send` of the next DATA on a connected
//! socket: two system calls and one sleep, the least any server that sleeps between packets
//! can pay. What such a server spends per block above that is what there is to remove; what
//! it spends itself is the floor under every lock-step server on this machine.

use std::net::UdpSocket;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use tftp_proto::{OptionList, Packet, Request};

/// Runs the yardstick server on 127.0.0.1:`a[0]` for the files in `a[1]`.
pub fn run(a: &[String]) -> ExitCode {
    let port: u16 = a[0].parse().expect("port");
    let root = Path::new(&a[1]);
    let listen = UdpSocket::bind(("127.0.0.1", port)).expect("bind");
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, peer) = listen.recv_from(&mut buf).expect("recv request");
        let Ok(Packet::Rrq(req)) = Packet::parse(&buf[..n]) else {
            continue;
        };
        let Some((data, blksize, oack)) = prepare(root, &req) else {
            continue;
        };
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind transfer");
        sock.connect(peer).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(1)))
            .expect("timeout");
        serve(&sock, &data, blksize, oack, &mut buf);
    }
}

/// The file's bytes, the block size and whether an OACK goes first.
fn prepare(root: &Path, req: &Request<'_>) -> Option<(Vec<u8>, usize, bool)> {
    // The core's name check (no `..`, relative to the root); symbolic links are not followed
    // out of it only because the bench's root has none.
    let name = tftp_proto::path::safe_path(req.filename).ok()?;
    let data = std::fs::read(root.join(name.as_str())).ok()?;
    let blksize = req
        .options
        .get("blksize")
        .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
        .map(|b| b.clamp(8, 65464));
    Some((data, blksize.unwrap_or(512), blksize.is_some()))
}

/// Sends `data` in lock-step (a stale ACK is ignored, a silent second repeats the DATA);
/// gives up after five silent seconds. Packets are written by the core's encoder.
fn serve(sock: &UdpSocket, data: &[u8], blksize: usize, oack: bool, buf: &mut [u8]) {
    let blocks = (data.len() / blksize + 1) as u64;
    let mut out = vec![0u8; 4 + blksize.max(64)];
    let mut sent: u64 = 0;
    let mut len = if oack {
        let options = format!("blksize\0{blksize}\0");
        let options = OptionList::parse(options.as_bytes()).expect("blksize option");
        Packet::Oack(options).encode(&mut out).expect("OACK fits")
    } else {
        sent = 1;
        fill(&mut out, data, blksize, sent)
    };
    let mut silent = 0;
    let _ = sock.send(&out[..len]);
    loop {
        match sock.recv(buf) {
            Ok(n) if n >= 4 && buf[1] == 4 => {
                silent = 0;
                if u16::from_be_bytes([buf[2], buf[3]]) != sent as u16 {
                    continue;
                }
            }
            Ok(_) => return,
            Err(_) => {
                silent += 1;
                if silent == 5 {
                    return;
                }
                let _ = sock.send(&out[..len]);
                continue;
            }
        }
        if sent == blocks {
            return;
        }
        sent += 1;
        len = fill(&mut out, data, blksize, sent);
        let _ = sock.send(&out[..len]);
    }
}

/// DATA block `block` (1-based) of `data` into `out`; returns its length.
fn fill(out: &mut [u8], data: &[u8], blksize: usize, block: u64) -> usize {
    let start = ((block - 1) as usize * blksize).min(data.len());
    let end = (start + blksize).min(data.len());
    Packet::Data {
        block: block as u16,
        data: &data[start..end],
    }
    .encode(out)
    .expect("a block fits")
}
