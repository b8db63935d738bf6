#[path = "../benches/support/pair.rs"]
mod pair;
use pair::{Pair, Sink, Source, Spec, Wire};
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(8 << 20);
    let file: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
    let mut out = vec![0u8; n];
    let mut wire = Wire::new();
    let spec = Spec {
        blksize: 512,
        windowsize: 1,
        mode: tftp_proto::Mode::Octet,
        file_len: n as u64,
    };
    let source = Source {
        pattern: &file,
        len: n as u64,
    };
    let t = std::time::Instant::now();
    let p = Pair::start(&spec, &mut wire);
    let mut sink = Sink { buf: &mut out };
    let _ = p.run(&source, &mut sink);
    let e = t.elapsed();
    eprintln!(
        "{} pairs, {:.1} ns/pair",
        n / 512,
        e.as_nanos() as f64 / (n / 512) as f64
    );
}
