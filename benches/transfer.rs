//! Whole in-memory transfers: a 64 MiB download between a client and a server session
//! (`tftp_pair::Pair` on a perfect network) for every blksize x windowsize, beside a plain copy
//! of the same 64 MiB in blksize chunks. After the run, a report prints the ratios and the ns
//! per DATA+ACK pair computed from the medians criterion saved (see `benches/README.md`).
//!
//! `cargo bench --bench transfer` (a filter after `--` picks cases, e.g. `-- 65464`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use tftp_pair::{File, Network, Pair, Setup, Source};
use tftp_proto::{Mode, Summary};

const FILE_LEN: usize = 64 << 20;
/// A file that stays in the L2 cache, with its copy (`transfer_in_cache`).
const IN_CACHE_LEN: usize = 128 << 10;
const BLKSIZES: [u16; 4] = [512, 1468, 8192, 65464];
const WINDOWS: [u16; 3] = [1, 16, 64];

/// Deterministic, incompressible-looking file bytes (xorshift).
fn file_bytes(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn transfer_id(blksize: u16, window: u16) -> String {
    format!("blksize{blksize}_window{window}")
}

/// Downloads `file` into `out` at `blksize` and `window` (the sender's reads copy from `file`,
/// the receiver's writes into `out`: the copies a real server's `read` and `write` would do);
/// returns the client's and the server's summaries.
fn transfer(blksize: u16, window: u16, file: &[u8], out: &mut [u8]) -> (Summary, Summary) {
    let setup = Setup::download(
        Mode::Octet,
        blksize,
        window,
        File::wrapping_into(out),
        File::serving(Source::new(file)),
    );
    let mut pair = Pair::new(setup, Network::perfect(Duration::ZERO));
    pair.run();
    pair.completed().expect("the transfer completes")
}

fn benches(c: &mut Criterion, file: &[u8], out: &mut [u8]) {
    let mut group = c.benchmark_group("transfer");
    group
        .throughput(Throughput::Bytes(FILE_LEN as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for blksize in BLKSIZES {
        for window in WINDOWS {
            // Check the transfer once, outside the timing: whole, byte-exact, no retransmission.
            out.fill(0);
            let (got, sent) = transfer(blksize, window, file, out);
            assert_eq!((got.bytes, sent.bytes), (FILE_LEN as u64, FILE_LEN as u64));
            assert_eq!((got.retransmits, sent.retransmits), (0, 0));
            assert_eq!(got.options.windowsize, window);
            assert!(
                out == file,
                "blksize {blksize} window {window}: received bytes differ"
            );

            group.bench_function(transfer_id(blksize, window), |b| {
                b.iter(|| transfer(blksize, window, file, out))
            });
        }
    }
    group.finish();

    // The same lock-step 512 transfer on a file small enough to stay in the L2 cache: the
    // core's cost per DATA+ACK pair without the memory-bandwidth floor of a 64 MiB copy.
    let small = &file[..IN_CACHE_LEN];
    let mut group = c.benchmark_group("transfer_in_cache");
    group
        .throughput(Throughput::Bytes(IN_CACHE_LEN as u64))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function(transfer_id(512, 1), |b| {
        b.iter(|| transfer(512, 1, small, &mut out[..IN_CACHE_LEN]))
    });
    group.finish();

    let mut group = c.benchmark_group("plain_copy");
    group
        .throughput(Throughput::Bytes(FILE_LEN as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for blksize in BLKSIZES {
        let chunk = usize::from(blksize);
        group.bench_function(format!("blksize{blksize}"), |b| {
            b.iter(|| {
                let src = black_box(file);
                for (to, from) in out.chunks_mut(chunk).zip(src.chunks(chunk)) {
                    to.copy_from_slice(from);
                }
                black_box(&mut *out);
            })
        });
    }
    group.finish();
}

/// Where criterion saved its estimates: `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`, or
/// `target/criterion` beside this executable (`target/release/deps/transfer-*`).
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// The median (ns per iteration) criterion saved for `group/id`, from
/// `<dir>/<group>/<id>/new/estimates.json`.
fn median_ns(dir: &std::path::Path, group: &str, id: &str) -> Option<f64> {
    let json = std::fs::read_to_string(dir.join(group).join(id).join("new/estimates.json")).ok()?;
    let median = &json[json.find("\"median\":")?..];
    let value = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

/// Prints, from the saved medians, the transfer / plain-copy ratio and the ns per DATA block
/// (a DATA+ACK pair at window 1) of every case, and checks them against the two targets.
fn report() {
    let Some(dir) = criterion_dir() else {
        return;
    };
    println!("\nReport from the medians saved in {}", dir.display());
    println!("(this run's, or the last saved run's for cases filtered out of this one)");
    println!(
        "{:<24} {:>12} {:>12} {:>7} {:>10} {:>12}",
        "case", "transfer ms", "copy ms", "ratio", "ns/block", "ns/block-cp"
    );
    for blksize in BLKSIZES {
        let copy = median_ns(&dir, "plain_copy", &format!("blksize{blksize}"));
        // DATA blocks of a 64 MiB file: the full ones and the final short (here empty) one.
        let blocks = (FILE_LEN / usize::from(blksize) + 1) as f64;
        for window in WINDOWS {
            let id = transfer_id(blksize, window);
            let Some(t) = median_ns(&dir, "transfer", &id) else {
                continue;
            };
            let ms = |ns: f64| format!("{:.2}", ns / 1e6);
            let (copy_ms, ratio, over_copy) = match copy {
                Some(c) => (
                    ms(c),
                    format!("{:.2}", t / c),
                    format!("{:.1}", (t - c) / blocks),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            println!(
                "{id:<24} {:>12} {copy_ms:>12} {ratio:>7} {:>10.1} {over_copy:>12}",
                ms(t),
                t / blocks
            );
        }
    }
    let check = |what: &str, value: Option<f64>, ok: fn(f64) -> bool, unit: &str| match value {
        Some(v) => println!(
            "target {what}: {v:.2}{unit} -> {}",
            if ok(v) { "met" } else { "MISSED" }
        ),
        None => println!("target {what}: not measured"),
    };
    let ratio = |window: u16| {
        let t = median_ns(&dir, "transfer", &transfer_id(65464, window))?;
        Some(t / median_ns(&dir, "plain_copy", "blksize65464")?)
    };
    println!();
    check(
        "blksize 65464 window 64 within 4x of the plain copy",
        ratio(64),
        |r| r <= 4.0,
        "x",
    );
    check(
        "blksize 65464 window 1 within 4x of the plain copy",
        ratio(1),
        |r| r <= 4.0,
        "x",
    );
    let pair_ns =
        median_ns(&dir, "transfer", &transfer_id(512, 1)).map(|t| t / (FILE_LEN / 512 + 1) as f64);
    check(
        "blksize 512 window 1 under 100 ns per DATA+ACK pair",
        pair_ns,
        |n| n < 100.0,
        " ns",
    );
    if let Some(t) = median_ns(&dir, "transfer_in_cache", &transfer_id(512, 1)) {
        let blocks = (IN_CACHE_LEN / 512 + 1) as f64;
        println!(
            "(in cache, {} KiB file: {:.1} ns per DATA+ACK pair at blksize 512 window 1)",
            IN_CACHE_LEN >> 10,
            t / blocks
        );
    }
}

fn main() {
    let file = file_bytes(FILE_LEN);
    let mut out = vec![0u8; FILE_LEN];
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, &file, &mut out);
    c.final_summary();
    // Only after a real measurement: `cargo bench` passes --bench, `cargo test` does not, and
    // `--test` / `--profile-time` run the cases without saving estimates.
    let args: Vec<String> = std::env::args().collect();
    let measured = !args.iter().any(|a| a == "--test" || a == "--profile-time");
    if args.iter().any(|a| a == "--bench") && measured {
        report();
    }
}
