//! Parse and encode of every packet type, as the firmware clients send them.
//!
//! DATA reports bytes/s (the datagram's length per iteration: parse borrows the payload, so its
//! rate only shows that nothing is copied; encode copies it). The small control packets report
//! packets/s, which reads better than bytes/s for a 4-byte ACK.
//!
//! `cargo bench --bench packets` (a filter after `--` picks cases, e.g. `-- data`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, Throughput};
use tftp_proto::server::accept;
use tftp_proto::{ErrorCode, Packet};

/// Named datagrams, each with the throughput it reports.
fn datagrams() -> Vec<(String, Vec<u8>, Throughput)> {
    let mut all: Vec<(String, Vec<u8>, Throughput)> = Vec::new();
    let one = || Throughput::Elements(1);
    // iPXE: blksize from the link MTU, and the size.
    all.push((
        "rrq_ipxe".into(),
        b"\x00\x01/boot/ipxe/snponly.efi\x00octet\x00blksize\x001432\x00tsize\x000\x00".to_vec(),
        one(),
    ));
    // U-Boot with CONFIG_TFTP_WINDOWSIZE.
    all.push((
        "rrq_uboot".into(),
        b"\x00\x01pxelinux.cfg/01-52-54-00-12-34-56\x00octet\x00timeout\x005\x00blksize\x001468\x00windowsize\x008\x00".to_vec(),
        one(),
    ));
    for size in [512usize, 1468, 8192, 65464] {
        let mut d = vec![0, 3, 0x12, 0x34];
        d.extend((0..size).map(|i| i as u8));
        let len = d.len() as u64;
        all.push((format!("data_{size}"), d, Throughput::Bytes(len)));
    }
    all.push(("ack".into(), vec![0, 4, 0x12, 0x34], one()));
    all.push((
        "oack".into(),
        b"\x00\x06timeout\x005\x00blksize\x001468\x00windowsize\x008\x00tsize\x0033554432\x00"
            .to_vec(),
        one(),
    ));
    all.push((
        "error".into(),
        b"\x00\x05\x00\x01file not found\x00".to_vec(),
        one(),
    ));
    all
}

fn configure<M: criterion::measurement::Measurement>(group: &mut BenchmarkGroup<'_, M>) {
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    configure(&mut group);
    for (name, datagram, throughput) in datagrams() {
        group.throughput(throughput);
        group.bench_function(&name, |b| {
            b.iter(|| Packet::parse(black_box(&datagram)).is_ok())
        });
    }
    // What a server runs on an RRQ: parse, mode, safe path (allocates the path once per
    // request, not per packet).
    group.throughput(Throughput::Elements(1));
    for (name, datagram, _) in datagrams().into_iter().filter(|d| d.0.starts_with("rrq")) {
        group.bench_function(format!("accept_{name}"), |b| {
            b.iter(|| accept(black_box(&datagram)))
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    configure(&mut group);
    let mut buf = vec![0u8; 65536];
    for (name, datagram, throughput) in datagrams() {
        let packet = Packet::parse(&datagram).expect("valid datagram");
        let n = packet.encode(&mut buf).expect("encodes");
        assert_eq!(buf[..n], datagram[..], "{name}: encode(parse(x)) != x");
        group.throughput(throughput);
        group.bench_function(&name, |b| {
            b.iter(|| black_box(&packet).encode(black_box(&mut buf[..])))
        });
    }
    // The path the session takes for its own ERRORs (message cut to fit, NULs dropped).
    group.throughput(Throughput::Elements(1));
    group.bench_function("error_encode_error", |b| {
        b.iter(|| {
            tftp_proto::packet::encode_error(
                black_box(&mut buf[..]),
                ErrorCode::FileNotFound,
                black_box("file not found"),
            )
        })
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    parse(&mut c);
    encode(&mut c);
    c.final_summary();
}
