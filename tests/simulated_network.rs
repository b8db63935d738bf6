//! Whole transfers between a client session and a server session through a deterministic
//! simulated network (seeded loss, duplication, reordering and delay; simulated time).

#[path = "support/netsim.rs"]
mod netsim;

use std::time::Duration;

use netsim::{run, Link, Report, Scenario};
use tftp_proto::server::Direction;
use tftp_proto::{Completion, Mode, RequestOptions, TransferError};

fn file(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

fn text(len: usize) -> Vec<u8> {
    let line = b"a line of text\r\nwith a bare CR\r and LF\n\n";
    line.iter().copied().cycle().take(len).collect()
}

fn opts(blksize: u16, windowsize: u16) -> RequestOptions {
    RequestOptions {
        blksize: Some(blksize),
        windowsize: Some(windowsize),
        tsize: None,
        timeout: None,
    }
}

/// The bytes arrived exactly, or both ends report a clean failure (a timeout under loss).
fn assert_exact_or_timeout(sc: &Scenario, r: &Report) {
    match (&r.client, &r.server) {
        (Some(Ok(c)), Some(Ok(_))) => {
            assert_eq!(c.completion, Completion::Transferred);
            assert_eq!(r.received.len(), sc.file.len(), "length");
            assert!(r.received == sc.file, "content differs");
        }
        (Some(Err(TransferError::TimedOut { .. })), _)
        | (_, Some(Err(TransferError::TimedOut { .. }))) => {
            assert!(
                sc.to_server.loss > 0.0 || sc.to_client.loss > 0.0,
                "timeout without loss"
            );
        }
        other => panic!("unexpected outcome {other:?} for seed {}", sc.seed),
    }
}

// R-XFR-1, R-XFR-2, R-MOD-1: every interesting size, both directions, lossless.
#[test]
fn r_xfr_2_sizes_both_directions_lossless() {
    for direction in [Direction::Read, Direction::Write] {
        for len in [0, 1, 511, 512, 513, 1024, 1536, 5000] {
            for options in [RequestOptions::default(), opts(512, 4), opts(1468, 16)] {
                let mut sc = Scenario::new(direction, file(len, 7));
                sc.options = options;
                let r = run(&sc);
                assert_exact_or_timeout(&sc, &r);
                assert!(
                    matches!(r.client, Some(Ok(_))),
                    "{direction:?} {len} {options:?}"
                );
            }
        }
    }
}

// R-MOD-2: netascii both ways, across block boundaries, with small blocks.
#[test]
fn r_mod_2_netascii_round_trips() {
    for direction in [Direction::Read, Direction::Write] {
        for blksize in [8u16, 9, 512] {
            let mut sc = Scenario::new(direction, text(3000));
            sc.mode = Mode::Netascii;
            sc.options = opts(blksize, 3);
            let r = run(&sc);
            assert!(r.received == sc.file, "{direction:?} blksize {blksize}");
        }
    }
}

// R-XFR-11: past 65535 blocks, with and without a window, with loss.
#[test]
fn r_xfr_11_rollover_lossless_and_lossy() {
    let data = file(8 * 70_000 + 3, 1);
    for (windowsize, loss) in [(1u16, 0.0), (16, 0.0), (8, 0.05)] {
        for direction in [Direction::Read, Direction::Write] {
            let mut sc = Scenario::new(direction, data.clone());
            sc.options = opts(8, windowsize);
            sc.to_server = Link::lossy(loss);
            sc.to_client = Link::lossy(loss);
            let r = run(&sc);
            assert_exact_or_timeout(&sc, &r);
            assert!(
                matches!(r.client, Some(Ok(s)) if s.blocks == 70_001),
                "{r:?}"
            );
        }
    }
}

// R-XFR-5, R-XFR-7, R-XFR-13, R-OPT-8: any size, blksize, window, mode and sender buffer
// under up to 30% loss with duplication and reordering: exact bytes or a clean timeout, never
// written twice (the simulator asserts every write continues where the last ended). A sender
// buffer smaller than the window makes lost blocks be read again from the file.
#[test]
fn quickcheck_lossy_transfers_are_exact_or_time_out() {
    const MAX_BLOCKS: usize = 2000;
    #[allow(clippy::too_many_arguments)]
    fn prop(
        seed: u64,
        len: u16,
        blk: u8,
        win: u8,
        loss: u8,
        write: bool,
        ascii: bool,
        held: u8,
    ) -> bool {
        let blksize = 8 + u16::from(blk) * 4;
        // At most MAX_BLOCKS blocks: with blksize 8 a file of 200 KB is 25,000 blocks, and
        // a netascii window at 30% loss (go-back-N: early blocks are not kept) needed more
        // than the hour of simulated time for that (2 cases in 20,000, with the retransmission
        // timer of commit db519a4 as with the later one).
        let len = (len as usize * 4).min(MAX_BLOCKS * usize::from(blksize));
        let mut sc = Scenario::new(
            if write {
                Direction::Write
            } else {
                Direction::Read
            },
            if ascii {
                text(len)
            } else {
                file(len, seed as u8)
            },
        );
        sc.seed = seed;
        sc.mode = if ascii { Mode::Netascii } else { Mode::Octet };
        sc.options = opts(blksize, 1 + u16::from(win % 32));
        let loss = f64::from(loss % 31) / 100.0;
        sc.to_server = Link::lossy(loss);
        sc.to_client = Link::lossy(loss);
        // The default, one block, a block and a half, a few blocks.
        if held % 4 != 0 {
            sc.config.send_buffer = [1, 1 + usize::from(blk) * 6, 5000][usize::from(held % 4) - 1];
        }
        let r = run(&sc);
        assert_exact_or_timeout(&sc, &r);
        true
    }
    quickcheck::QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(u64, u16, u8, u8, u8, bool, bool, u8) -> bool);
}

// R-XFR-6: every ACK duplicated (and delivered twice), no loss: not one DATA is resent.
#[test]
fn r_xfr_6_duplicated_acks_never_resend_data() {
    for windowsize in [1u16, 4] {
        for direction in [Direction::Read, Direction::Write] {
            let mut sc = Scenario::new(direction, file(512 * 300 + 1, 3));
            sc.options = opts(512, windowsize);
            let acks = Link {
                duplicate: 1.0,
                ..Link::clean()
            };
            match direction {
                Direction::Read => sc.to_server = acks,
                Direction::Write => sc.to_client = acks,
            }
            let r = run(&sc);
            assert!(r.received == sc.file);
            assert_eq!(
                r.data_sent, 301,
                "{direction:?} window {windowsize}: DATA resent"
            );
        }
    }
}

// R-XFR-4: a stranger poking both ends all along changes nothing, and gets ERROR 5.
#[test]
fn r_xfr_4_strangers_never_change_the_outcome() {
    for direction in [Direction::Read, Direction::Write] {
        let mut sc = Scenario::new(direction, file(100_000, 9));
        sc.options = opts(1024, 4);
        sc.stranger_every = 3;
        let r = run(&sc);
        assert!(matches!(r.client, Some(Ok(_))));
        assert!(r.received == sc.file);
        assert!(r.stranger_sent > 10);
        // Every stranger packet but its ERRORs with code 5 would get an answer; ours are codes
        // 0, so all are answered (while the sessions are open).
        assert!(r.stranger_errors > 0);
    }
}

// R-OPT-8, R-XFR-13: under loss and reordering, a windowed sender never sends more than one
// window per ACK or timeout, and the total DATA stays within a small factor of the file.
#[test]
fn r_opt_8_windowed_loss_never_multiplies_traffic() {
    for windowsize in [4u16, 16, 64] {
        let mut sc = Scenario::new(Direction::Read, file(1 << 20, 5));
        sc.options = opts(1468, windowsize);
        sc.to_server = Link {
            jitter: Duration::from_millis(2),
            ..Link::lossy(0.1)
        };
        sc.to_client = Link {
            jitter: Duration::from_millis(2),
            ..Link::lossy(0.1)
        };
        let r = run(&sc);
        assert!(r.received == sc.file);
        assert!(
            r.max_data_per_trigger <= u64::from(windowsize),
            "window {windowsize}: {} DATA after one trigger",
            r.max_data_per_trigger
        );
        let blocks = (1u64 << 20) / 1468 + 1;
        assert!(
            r.data_sent < blocks * 4,
            "window {windowsize}: {} DATA for {blocks} blocks",
            r.data_sent
        );
    }
}

// R-OPT-10: a client that takes the OACK and answers ERROR 8 is a size probe, not a failure.
#[test]
fn r_opt_10_size_probe_is_its_own_outcome() {
    use std::net::SocketAddr;
    use tftp_proto::{Config, Event, Instant, OptionList, Packet, ServerPolicy, Session};
    let peer: SocketAddr = "10.0.0.1:1000".parse().unwrap();
    let options = OptionList::parse(b"tsize\x000\x00").unwrap();
    let mut s = Session::server_read(
        Instant::ZERO,
        peer,
        Mode::Octet,
        &options,
        Some(4096),
        &ServerPolicy::default(),
        &Config::default(),
    )
    .unwrap();
    let mut buf = [0u8; 600];
    let t = s.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    assert!(
        matches!(Packet::parse(&buf[..t.len]), Ok(Packet::Oack(o)) if o.get("tsize") == Some(b"4096"))
    );
    assert!(s
        .handle_datagram(Instant::ZERO, peer, b"\x00\x05\x00\x08\x00")
        .is_none());
    let mut finished = None;
    while let Some(e) = s.poll_event() {
        if let Event::Finished(summary) = e {
            finished = Some(summary);
        }
    }
    assert_eq!(finished.map(|f| f.completion), Some(Completion::SizeProbe));
    assert!(s.poll_transmit(Instant::ZERO, &mut buf).is_none());
    assert!(s.is_closed());
}

/// Simulated seconds for a 1 MiB download with `loss` each way at `windowsize` (blksize 1468),
/// the median over 5 seeds.
fn completion_time(loss: f64, windowsize: u16) -> (f64, usize) {
    let mut times = Vec::new();
    let mut failures = 0;
    for seed in 1..=5u64 {
        let mut sc = Scenario::new(Direction::Read, file(1 << 20, seed as u8));
        sc.seed = seed;
        sc.options = opts(1468, windowsize);
        sc.to_server = Link::lossy(loss);
        sc.to_client = Link::lossy(loss);
        let r = run(&sc);
        assert_exact_or_timeout(&sc, &r);
        if matches!(r.client, Some(Ok(_))) {
            times.push(r.client_done_at.as_secs_f64());
        } else {
            failures += 1;
        }
    }
    times.sort_by(f64::total_cmp);
    (
        times.get(times.len() / 2).copied().unwrap_or(f64::NAN),
        failures,
    )
}

// R-XFR-12, R-OPT-8: the results table. Loss costs a small multiple of the lossless time (not a
// second per lost packet, as with a fixed 1 s timeout). Printed so that regressions show as
// changed numbers: `cargo test --release --test simulated_network -- --nocapture table`.
#[test]
fn r_xfr_12_results_table_loss_by_window() {
    println!("1 MiB download, blksize 1468, 1 ms each way, median of 5 seeds (simulated seconds)");
    println!(
        "{:>6} {:>10} {:>10} {:>10}",
        "loss", "window 1", "window 8", "window 32"
    );
    for loss in [0.0, 0.01, 0.05, 0.10, 0.30] {
        let mut row = format!("{:>5}%", (loss * 100.0) as u32);
        for windowsize in [1u16, 8, 32] {
            let (t, failures) = completion_time(loss, windowsize);
            let (lossless, _) = completion_time(0.0, windowsize);
            row.push_str(&format!(" {:>10.3}", t));
            assert_eq!(
                failures, 0,
                "loss {loss} window {windowsize}: transfers failed"
            );
            // A fixed 1 s timeout would cost about loss x packets seconds; stay far below.
            let blocks = (1 << 20) as f64 / 1468.0;
            let fixed_timeout_cost = 2.0 * loss * blocks / windowsize as f64;
            if loss >= 0.05 {
                assert!(
                    t < lossless + fixed_timeout_cost / 10.0,
                    "loss {loss} window {windowsize}: {t} s"
                );
            }
        }
        println!("{row}");
    }
}

// R-XFR-5, R-XFR-12, R-SRV-6: the tail under heavy loss. 400 lock-step downloads of 300 KB
// at 30% loss each way (6% duplication, loopback-like 50 us delay), with 1% of datagrams
// also held up 300 ms (a peer not scheduled for a while): every one completes byte-exact,
// the slowest within 20 simulated seconds. With a 1 s initial interval (2 s after one
// backoff) the handshake alone, whose first answer the server never repeats on its own, ran
// past the idle limit in some of these runs (seed 75 is the first); and a server gave up on a
// client that was still repeating its request.
#[test]
fn r_xfr_5_heavy_loss_has_a_bounded_tail() {
    let data = file(300 * 1024, 7);
    let mut times = Vec::new();
    for seed in 1..=400u64 {
        let mut sc = Scenario::new(Direction::Read, data.clone());
        sc.seed = seed;
        sc.options = opts(1468, 1);
        let link = Link {
            delay: Duration::from_micros(50),
            jitter: Duration::from_micros(20),
            stall: 0.01,
            stall_for: Duration::from_millis(300),
            ..Link::lossy(0.30)
        };
        sc.to_server = link;
        sc.to_client = link;
        sc.time_limit = Duration::from_secs(300);
        let r = run(&sc);
        assert!(
            matches!((&r.client, &r.server), (Some(Ok(_)), Some(Ok(_)))),
            "seed {seed}: client {:?}, server {:?} after {:?}",
            r.client,
            r.server,
            r.client_done_at
        );
        assert!(r.received == sc.file, "seed {seed}: content differs");
        times.push(r.client_done_at.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let pick = |q: usize| times[(times.len() - 1) * q / 100];
    println!(
        "30% loss each way, 400 seeds: median {:.2} s, p90 {:.2} s, p99 {:.2} s, max {:.2} s",
        pick(50),
        pick(90),
        pick(99),
        pick(100)
    );
    assert!(pick(100) < 20.0, "slowest run took {:.2} s", pick(100));
}

// R-XFR-12, RFC 1123 4.2.3.2 (Karn's algorithm): a path slower than the interval in use (a
// 600 ms satellite round trip against the 250 ms first interval on both sides) answers every
// packet only after it timed out, so no sample is ever clean by Karn's rule. The sessions
// still learn it: after a short run of such packets the retransmissions stop, where before
// every DATA went out twice for the whole transfer.
#[test]
fn r_xfr_12_a_path_slower_than_the_interval_is_learned() {
    let blocks = 60u64;
    let mut sc = Scenario::new(Direction::Read, file(512 * blocks as usize + 100, 5));
    sc.options = opts(512, 1);
    let slow = Link {
        delay: Duration::from_millis(300),
        jitter: Duration::from_millis(10),
        ..Link::clean()
    };
    sc.to_server = slow;
    sc.to_client = slow;
    sc.time_limit = Duration::from_secs(300);
    let r = run(&sc);
    assert!(r.received == sc.file, "content differs");
    let data_blocks = blocks + 1;
    println!(
        "{} DATA sent for {data_blocks} blocks in {:?}",
        r.data_sent, r.client_done_at
    );
    assert!(
        r.data_sent < data_blocks + data_blocks / 5,
        "{} DATA sent for {data_blocks} blocks",
        r.data_sent
    );
}
