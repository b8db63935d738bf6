//! The folder backend shares one open file among the downloads of the same file (a boot storm
//! fetches one image thousands of times; a descriptor each, beside each transfer's socket,
//! would halve the transfers the descriptor limit allows). Three stalled downloads of one
//! file hold one descriptor for it; a download of another file holds its own; every byte is
//! still right (R-SRV-1: the shared file is the one the path check opened).

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

use procs::{content, start_our_server, TempDir};

/// Descriptors of process `pid` open on `path`.
fn fds_on(pid: u32, path: &Path) -> usize {
    let path = path.canonicalize().expect("canonical path");
    fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd list")
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .filter(|target| *target == path)
        .count()
}

fn stalled_download(addr: std::net::SocketAddr, name: &str) -> (UdpSocket, Vec<u8>) {
    let c = UdpSocket::bind("127.0.0.1:0").expect("bind");
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut rrq = b"\x00\x01".to_vec();
    rrq.extend_from_slice(name.as_bytes());
    rrq.extend_from_slice(b"\x00octet\x00");
    c.send_to(&rrq, addr).expect("RRQ");
    let mut buf = [0u8; 1024];
    let (n, _) = c.recv_from(&mut buf).expect("DATA 1");
    assert_eq!(&buf[..4], [0, 3, 0, 1]);
    (c, buf[4..n].to_vec())
}

#[test]
fn r_srv_1_downloads_of_one_file_share_one_descriptor() {
    let root = TempDir::new("shared-fd");
    let boot = root.path().join("boot.img");
    let other = root.path().join("other.img");
    fs::write(&boot, content(5000, 1)).expect("boot");
    fs::write(&other, content(5000, 2)).expect("other");
    let (server, addr) = start_our_server(root.path(), &["--workers", "1"]);
    let downloads: Vec<_> = (0..3).map(|_| stalled_download(addr, "boot.img")).collect();
    let (_o, first_other) = stalled_download(addr, "other.img");
    for (_, first) in &downloads {
        assert_eq!(first, &content(5000, 1)[..512]);
    }
    assert_eq!(first_other, &content(5000, 2)[..512]);
    assert_eq!(
        fds_on(server.pid(), &boot),
        1,
        "three downloads of boot.img"
    );
    assert_eq!(fds_on(server.pid(), &other), 1, "one download of other.img");
}
