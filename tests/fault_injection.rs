//! Hostile networks between real processes on loopback: our `tftp` client and `tftpd`
//! server (and the tftp-hpa and atftp clients) through the seeded lossy relay
//! (`support/relay.rs`), strangers writing into a running transfer, clients that vanish
//! mid-transfer, and the traffic a windowed transfer costs under loss and reordering.
//!
//! Every wait is bounded, every process is ours and killed by its PID (procs::ChildGuard),
//! and only 127.0.0.x is used. Timings and ratios are printed (run with `--nocapture`).

#![cfg(unix)]

#[path = "support/procs.rs"]
mod procs;

#[path = "support/hostile.rs"]
mod hostile;

#[path = "support/relay.rs"]
mod relay;

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use hostile::{ack, as_ack, as_data, as_error, data, describe, median, Raw};
use relay::{Impairment, Relay, RelayConfig, RelayStats};

/// The size of the file moved through the lossy relay (~300 KiB, not a block multiple).
const FILE_SIZE: usize = 300 * 1024 + 123;
/// Runs per configuration of the loss matrix (the median is reported).
const RUNS: usize = 3;
/// Longest a transfer of the loss matrix may take (at 30% loss each way one takes about
/// 1-12 s once the first packet's round trip is measured right); the client is killed then.
const TRANSFER_LIMIT: Duration = Duration::from_secs(30);
/// How long a server may take to give up on a vanished client (R-XFR-5).
const GIVE_UP_BOUND: Duration = Duration::from_secs(30);

/// Loss each way, with some duplication and reordering each way too.
fn impairment(loss: f64) -> Impairment {
    Impairment {
        loss,
        duplicate: 0.05,
        reorder: 0.05,
        ..Impairment::none()
    }
}

fn relay_for(server: SocketAddr, seed: u64, imp: Impairment) -> Relay {
    let config = RelayConfig {
        seed,
        to_server: imp,
        to_client: imp,
        max_lifetime: Duration::from_secs(120),
    };
    Relay::start(server, config).expect("start relay")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Get,
    Put,
}

/// One transfer by our client through a fresh relay; checks the bytes. Returns the time to
/// completion (the moment the file appears under its final name: the client's 1 s dally
/// after a download is not counted) and the relay's counters, or what went wrong.
#[allow(clippy::too_many_arguments)]
fn our_lossy_transfer(
    server: SocketAddr,
    root: &Path,
    local: &Path,
    verb: Verb,
    options: &[&str],
    seed: u64,
    imp: Impairment,
    bytes: &[u8],
) -> Result<(Duration, RelayStats), String> {
    let relay = relay_for(server, seed, imp);
    let host = relay.addr().to_string();
    let tag = format!("{verb:?} {} seed {seed}", options.join(" "));
    let (timed, path) = match verb {
        Verb::Get => {
            let local_name = format!("got-{seed}.bin");
            let path = local.join(&local_name);
            let mut args = vec!["get", &host, "src.bin", &local_name];
            args.extend_from_slice(options);
            (
                hostile::our_client_timed(local, &args, &path, TRANSFER_LIMIT),
                path,
            )
        }
        Verb::Put => {
            let remote = format!("put-{seed}.bin");
            let path = root.join(&remote);
            let mut args = vec!["put", &host, &remote, "up.bin"];
            args.extend_from_slice(options);
            (
                hostile::our_client_timed(local, &args, &path, TRANSFER_LIMIT),
                path,
            )
        }
    };
    let stats = relay.stats();
    let moved = fs::read(&path).unwrap_or_default();
    let _ = fs::remove_file(&path);
    if !timed.status.is_some_and(|s| s.success()) || moved != bytes {
        return Err(format!(
            "{tag}, loss {:.0}%: status {:?} after {:.1} s, {} bytes moved, relay {stats:?}: {}",
            imp.loss * 100.0,
            timed.status,
            timed.exited.as_secs_f64(),
            moved.len(),
            timed.stderr.trim()
        ));
    }
    Ok((timed.done.unwrap_or(timed.exited), stats))
}

/// One run of the loss matrix: its time to completion and data sent over the file size, or
/// what went wrong.
type RunOutcome = Result<(Duration, f64), String>;

/// The loss matrix at `loss`: get and put, windowsize 1 and 16, blksize 1468, RUNS seeds
/// each, every run on its own thread; prints the median time to completion per
/// configuration and the data sent over the file size, then fails on any failed run.
fn loss_matrix(loss: f64, seed_base: u64) {
    let root = procs::TempDir::new("fi-loss-root");
    let local = procs::TempDir::new("fi-loss-local");
    let bytes = procs::content(FILE_SIZE, 42);
    fs::write(root.path().join("src.bin"), &bytes).expect("write source");
    fs::write(local.path().join("up.bin"), &bytes).expect("write upload");
    let (server, addr) = procs::start_our_server(root.path(), &["--allow-create", "--allow-write"]);
    let mut configs = Vec::new();
    for ws in ["1", "16"] {
        for verb in [Verb::Get, Verb::Put] {
            configs.push((ws, verb));
        }
    }
    let started = Instant::now();
    // (config index, outcome) per run; the runs share the machine, each mostly waits on
    // timeouts.
    let results: Vec<(usize, RunOutcome)> = thread::scope(|s| {
        let mut handles = Vec::new();
        for (i, &(ws, verb)) in configs.iter().enumerate() {
            for run in 0..RUNS {
                let (root, local, bytes) = (root.path(), local.path(), &bytes);
                let seed = seed_base + (i * RUNS + run) as u64;
                handles.push(s.spawn(move || {
                    let options = ["--blksize", "1468", "--windowsize", ws];
                    let outcome = our_lossy_transfer(
                        addr,
                        root,
                        local,
                        verb,
                        &options,
                        seed,
                        impairment(loss),
                        bytes,
                    );
                    let outcome = outcome.map(|(took, stats)| {
                        let sent = match verb {
                            Verb::Get => stats.to_client.bytes,
                            Verb::Put => stats.to_server.bytes,
                        };
                        (took, sent as f64 / bytes.len() as f64)
                    });
                    (i, outcome)
                }));
            }
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("a transfer thread panicked"))
            .collect()
    });
    println!(
        "\nloss {:.0}% each way (+5% dup, +5% reorder each way), {FILE_SIZE} bytes, blksize \
         1468, {RUNS} seeded runs per row side by side, wall {:.1} s; time = until the file \
         has its final name",
        loss * 100.0,
        started.elapsed().as_secs_f64()
    );
    println!("  window  verb  median     runs (s)              data sent / file size");
    let mut failures = Vec::new();
    for (i, (ws, verb)) in configs.iter().enumerate() {
        let mut times = Vec::new();
        let mut cells = Vec::new();
        let mut ratios = Vec::new();
        for (_, outcome) in results.iter().filter(|r| r.0 == i) {
            match outcome {
                Ok((took, ratio)) => {
                    times.push(*took);
                    cells.push(format!("{:.2}", took.as_secs_f64()));
                    ratios.push(format!("{ratio:.2}x"));
                }
                Err(e) => {
                    cells.push("FAIL".to_string());
                    failures.push(e.clone());
                }
            }
        }
        let median = if times.is_empty() {
            "-".to_string()
        } else {
            format!("{:.3} s", median(times).as_secs_f64())
        };
        println!(
            "  {ws:>6}  {:<4} {median:>9}   {:<21} {}",
            format!("{verb:?}").to_lowercase(),
            cells.join(" "),
            ratios.join(" "),
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} transfers failed at {:.0}% loss:\n{}\n--- server log\n{}",
        failures.len(),
        results.len(),
        loss * 100.0,
        failures.join("\n"),
        server.log_text()
    );
    assert!(
        hostile::part_files(root.path()).is_empty(),
        "temporary files left: {}",
        server.log_text()
    );
}

// R-XFR-5, R-XFR-7, R-OPT-8, R-INT-1: our client and server move a ~300 KiB file byte-exact,
// get and put, at 10% loss each way (plus 5% duplication and 5% reordering each way),
// lock-step (windowsize 1) and windowed (windowsize 16), blksize 1468; medians printed.
// bad-inputs: Windows WDS CVE-2018-8476 (windowed transfers under loss).
#[test]
fn r_xfr_5_our_client_and_server_survive_10_percent_loss() {
    loss_matrix(0.10, 1000);
}

// R-XFR-5, R-XFR-7, R-OPT-8: the same at 30% loss each way.
#[test]
fn r_xfr_5_our_client_and_server_survive_30_percent_loss() {
    loss_matrix(0.30, 2000);
}

/// Which third-party client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    TftpHpa,
    Atftp,
}

/// A third-party client moves the file through 10% loss each way against our server.
fn peer_through_loss(peer: Peer, verb: Verb, seed: u64) {
    peer_through_loss_with(peer, verb, seed, &[]);
}

/// [`peer_through_loss`] against a server started with `server_args` as well.
fn peer_through_loss_with(peer: Peer, verb: Verb, seed: u64, server_args: &[&str]) {
    let path = match peer {
        Peer::TftpHpa => procs::require_peer("/usr/bin/tftp"),
        Peer::Atftp => procs::require_peer("/usr/bin/atftp"),
    };
    let Some(path) = path else {
        return;
    };
    let root = procs::TempDir::new("fi-peer-root");
    let local = procs::TempDir::new("fi-peer-local");
    let bytes = procs::content(FILE_SIZE, 43);
    fs::write(root.path().join("src.bin"), &bytes).expect("write source");
    fs::write(local.path().join("up.bin"), &bytes).expect("write upload");
    let mut args = vec!["--allow-create", "--allow-write"];
    args.extend_from_slice(server_args);
    let (server, addr) = procs::start_our_server(root.path(), &args);
    let relay = relay_for(addr, seed, impairment(0.10));
    let host = relay.addr().ip().to_string();
    let port = relay.addr().port().to_string();
    let mut cmd = Command::new(&path);
    cmd.current_dir(local.path());
    match (peer, verb) {
        (Peer::TftpHpa, Verb::Get) => {
            cmd.args([
                &host, &port, "-m", "binary", "-c", "get", "src.bin", "got.bin",
            ]);
        }
        (Peer::TftpHpa, Verb::Put) => {
            cmd.args([
                &host, &port, "-m", "binary", "-c", "put", "up.bin", "put.bin",
            ]);
        }
        (Peer::Atftp, Verb::Get) => {
            cmd.args(["--option", "blksize 1468", "--option", "windowsize 8"]);
            cmd.args(["-g", "-r", "src.bin", "-l", "got.bin", &host, &port]);
        }
        (Peer::Atftp, Verb::Put) => {
            cmd.args(["--option", "blksize 1468", "--option", "windowsize 8"]);
            cmd.args(["-p", "-l", "up.bin", "-r", "put.bin", &host, &port]);
        }
    }
    let start = Instant::now();
    let out = procs::run_bounded(&mut cmd, Duration::from_secs(45));
    let took = start.elapsed();
    // tftp-hpa exits 0 after an ERROR or a timeout: the content is what counts.
    let moved = match verb {
        Verb::Get => fs::read(local.path().join("got.bin")).unwrap_or_default(),
        Verb::Put => fs::read(root.path().join("put.bin")).unwrap_or_default(),
    };
    let stats = relay.stats();
    println!(
        "\n{peer:?} {verb:?} through 10% loss each way: {:.2} s, {} of {} bytes, relay dropped \
         {} of {} datagrams to the server and {} of {} to the client",
        took.as_secs_f64(),
        moved.len(),
        bytes.len(),
        stats.to_server.dropped,
        stats.to_server.seen,
        stats.to_client.dropped,
        stats.to_client.seen
    );
    assert!(
        moved == bytes,
        "{peer:?} {verb:?} through 10% loss: {} of {} bytes arrived (wrong or short)\n{}\n\
         --- server log\n{}",
        moved.len(),
        bytes.len(),
        procs::output_text(&out),
        server.log_text()
    );
}

// R-INT-1, R-XFR-5: the tftp-hpa client (lock-step, 512-byte blocks) downloads through 10%
// loss each way from our server, byte-exact.
#[test]
fn r_int_1_tftp_hpa_get_through_10_percent_loss() {
    peer_through_loss(Peer::TftpHpa, Verb::Get, 77);
}

// R-INT-1, R-XFR-5, R-XFR-6: the tftp-hpa client uploads 8 KiB to our server through a relay
// that loses one datagram: the first DATA 5. tftp-hpa (5.2) sends DATA again only on its own
// 5 s timer and, Sorcerer-safe, never on a duplicate ACK; it restarts that timer on every
// ACK it receives. So the upload completes about 5 s later if the server, waiting for DATA
// 5, stays quiet long enough (or gives up later than 5 s after its last retransmitted ACK).
// (Through 10% random loss a healthy tftp-hpa put costs 5 s per lost DATA: minutes for
// 300 KiB, so this case uses one chosen loss.)
#[test]
fn r_int_1_tftp_hpa_put_recovers_from_one_lost_data() {
    let Some(path) = procs::require_peer("/usr/bin/tftp") else {
        return;
    };
    let root = procs::TempDir::new("fi-hpa-put-root");
    let local = procs::TempDir::new("fi-hpa-put-local");
    let bytes = procs::content(16 * 512 + 99, 51);
    fs::write(local.path().join("up.bin"), &bytes).expect("write upload");
    let (server, addr) = procs::start_our_server(root.path(), &["--allow-create"]);
    let relay = hostile::DropOnce::start(addr, |p| as_data(p).is_some_and(|d| d.0 == 5));
    let host = relay.addr().ip().to_string();
    let port = relay.addr().port().to_string();
    let start = Instant::now();
    let out = procs::run_bounded(
        Command::new(&path)
            .args([
                &host, &port, "-m", "binary", "-c", "put", "up.bin", "put.bin",
            ])
            .current_dir(local.path()),
        Duration::from_secs(25),
    );
    let took = start.elapsed();
    let stored = fs::read(root.path().join("put.bin")).unwrap_or_default();
    println!(
        "\ntftp-hpa put of {} bytes with DATA 5 lost once: {:.2} s, {} bytes stored",
        bytes.len(),
        took.as_secs_f64(),
        stored.len()
    );
    assert_eq!(relay.dropped(), 1, "the relay lost DATA 5");
    assert!(
        stored == bytes,
        "tftp-hpa put with one lost DATA: {} of {} bytes stored after {:.1} s\n{}\n--- server \
         log\n{}",
        stored.len(),
        bytes.len(),
        took.as_secs_f64(),
        procs::output_text(&out),
        server.log_text()
    );
}

// R-INT-1, R-XFR-5, R-OPT-8: the atftp client (blksize 1468, windowsize 8) downloads through
// 10% loss each way from our server, byte-exact.
#[test]
fn r_int_1_atftp_windowed_get_through_10_percent_loss() {
    peer_through_loss(Peer::Atftp, Verb::Get, 79);
}

// R-INT-1, R-XFR-5, R-OPT-8: the atftp client (blksize 1468, windowsize 8) uploads through
// 10% loss each way to our server, byte-exact.
#[test]
fn r_int_1_atftp_windowed_put_through_10_percent_loss() {
    peer_through_loss(Peer::Atftp, Verb::Put, 80);
}

// R-OPT-8, R-XFR-5, R-INT-1 with Config::send_buffer: a server that holds 2 blocks of an
// atftp client's window of 8 (blksize 1468) reads every lost block it no longer holds again
// from the file, through 10% loss each way: byte-exact.
#[test]
fn r_opt_8_atftp_windowed_get_rereads_lost_blocks_from_the_file() {
    peer_through_loss_with(Peer::Atftp, Verb::Get, 79, &["--send-buffer", "3000"]);
}

// R-MOD-2, R-OPT-8, R-XFR-5 with Config::send_buffer: a netascii download at windowsize 16
// from a server that holds 2 blocks translates each lost block again from where it started
// in the file (line ends and bare CRs split across blocks included), through 10% loss each
// way; the text arrives exactly as it was.
#[test]
fn r_mod_2_netascii_window_rereads_lost_blocks_through_loss() {
    let root = procs::TempDir::new("fi-ascii-root");
    let local = procs::TempDir::new("fi-ascii-local");
    let line = b"kernel /boot/vmlinuz root=/dev/sda1\r\nbare CR\rand LF\n\n";
    let text: Vec<u8> = line.iter().copied().cycle().take(FILE_SIZE).collect();
    fs::write(root.path().join("src.txt"), &text).expect("write source");
    let (server, addr) = procs::start_our_server(root.path(), &["--send-buffer", "1024"]);
    let relay = relay_for(addr, 82, impairment(0.10));
    let host = relay.addr().to_string();
    let path = local.path().join("got.txt");
    let args = [
        "get",
        &host,
        "src.txt",
        "got.txt",
        "--mode",
        "netascii",
        "--blksize",
        "512",
        "--windowsize",
        "16",
    ];
    let timed = hostile::our_client_timed(local.path(), &args, &path, TRANSFER_LIMIT);
    let got = fs::read(&path).unwrap_or_default();
    let stats = relay.stats();
    println!(
        "\nnetascii windowsize 16, server holding 2 blocks, 10% loss each way: {:.2} s, relay \
         dropped {} of {} datagrams to the client",
        timed.exited.as_secs_f64(),
        stats.to_client.dropped,
        stats.to_client.seen
    );
    assert!(
        timed.status.is_some_and(|s| s.success()) && got == text,
        "status {:?}, {} of {} bytes, equal: {}\n{}\n--- server log\n{}",
        timed.status,
        got.len(),
        text.len(),
        got == text,
        timed.stderr.trim(),
        server.log_text()
    );
    assert!(
        stats.to_client.dropped > 0,
        "the relay dropped nothing, so nothing was sent twice"
    );
}

/// A download driven by hand, slowly, that lets `meddle` act (with the transfer port
/// known) right after DATA 1 and DATA `mid` arrive, before they are acknowledged.
fn slow_raw_download(
    server: SocketAddr,
    name: &str,
    size: usize,
    mid: u16,
    mut meddle: impl FnMut(SocketAddr, u16),
) -> Vec<u8> {
    let mut client = Raw::new();
    client.send(&hostile::rrq(name.as_bytes()), server);
    let mut got = Vec::new();
    let mut expected = 1u16;
    let mut tid = None;
    let mut quiet = 0;
    loop {
        let Some((packet, from)) = client.recv_within(Duration::from_secs(2)) else {
            quiet += 1;
            assert!(quiet < 10, "download stalled at block {expected}");
            if let Some(tid) = tid {
                client.send(&ack(expected - 1), tid);
            }
            continue;
        };
        let tid = *tid.get_or_insert(from);
        assert_eq!(
            from,
            tid,
            "a datagram from another port: {}",
            describe(&packet)
        );
        let Some((block, payload)) = as_data(&packet) else {
            panic!("the client got {} during the transfer", describe(&packet));
        };
        if block != expected {
            continue; // a retransmission while the client was slow
        }
        got.extend_from_slice(payload);
        if block == 1 || block == mid {
            meddle(tid, block);
        }
        thread::sleep(Duration::from_millis(2));
        client.send(&ack(block), tid);
        if payload.len() < 512 {
            break;
        }
        expected += 1;
        assert!(got.len() <= size, "more bytes than the file has");
    }
    got
}

/// The ACK for `block`, skipping repeats of earlier ACKs (the server resends its last ACK
/// while the client is slow, R-XFR-5).
fn expect_ack(client: &mut Raw, tid: SocketAddr, block: u16) {
    loop {
        let (reply, from) = client.expect(&format!("ACK {block}"));
        assert_eq!(
            from,
            tid,
            "a datagram from another port: {}",
            describe(&reply)
        );
        match as_ack(&reply) {
            Some(b) if b == block => return,
            Some(b) if b < block => continue,
            _ => panic!("want ACK {block}, got {}", describe(&reply)),
        }
    }
}

/// What a stranger sends into a transfer, and whether it must be answered with ERROR 5.
fn stranger_packets() -> Vec<(&'static str, Vec<u8>, bool)> {
    let long = "m".repeat(600);
    vec![
        ("DATA 1", data(1, &procs::content(512, 9)), true),
        ("DATA 2", data(2, b"junk"), true),
        ("ACK 1", ack(1).to_vec(), true),
        ("ACK 65535", ack(65535).to_vec(), true),
        ("ERROR 0", hostile::error(0, "stranger says stop"), true),
        // bad-inputs: Open TFTP Server, overflow in logging (500+ byte ERROR message).
        ("ERROR 0, 600-byte message", hostile::error(0, &long), true),
        ("RRQ on the transfer port", hostile::rrq(b"src.bin"), true),
        // An ERROR 5 is never answered (two endpoints must not bounce errors).
        ("ERROR 5", hostile::error(5, "who are you"), false),
        // bad-inputs: atftpd CVE-2019-11365, 0-3 byte ERROR/DATA/ACK on the transfer port.
        ("0 bytes", vec![], false),
        ("1 byte", vec![0], false),
        ("2 bytes (ERROR opcode)", vec![0, 5], false),
        ("3 bytes (ERROR opcode)", vec![0, 5, 0], false),
        ("3 bytes (ACK opcode)", vec![0, 4, 0], false),
    ]
}

/// The stranger sends each packet to `tid` and checks the answer (ERROR 5, or nothing).
fn stranger_meddles(stranger: &mut Raw, tid: SocketAddr, answered: &mut u32) {
    for (what, packet, answer) in stranger_packets() {
        stranger.send(&packet, tid);
        if answer {
            let (reply, from) = stranger.expect(&format!("ERROR 5 for a stranger's {what}"));
            assert_eq!(from, tid, "the ERROR 5 comes from the transfer port");
            assert_eq!(
                as_error(&reply).map(|e| e.0),
                Some(5),
                "a stranger's {what} got {}",
                describe(&reply)
            );
            *answered += 1;
        } else {
            let extra = stranger.drain(Duration::from_millis(100));
            assert!(
                extra.is_empty(),
                "a stranger's {what} was answered: {:?}",
                extra.iter().map(|(p, _)| describe(p)).collect::<Vec<_>>()
            );
        }
    }
}

// R-XFR-4: strangers (another port on 127.0.0.1, and 127.0.0.2) that send DATA, ACK, ERROR,
// a request and runts into a running download and a running upload get ERROR 5 for
// everything but ERROR 5 and runts, and both transfers complete byte-exact: the stranger's
// DATA is never written. bad-inputs: LiteX client (DATA from a stranger port).
#[test]
fn r_xfr_4_strangers_get_error_5_and_the_transfer_goes_on() {
    let root = procs::TempDir::new("fi-stranger-root");
    let size = 40 * 512 + 100;
    let bytes = procs::content(size, 44);
    fs::write(root.path().join("src.bin"), &bytes).expect("write source");
    let (server, addr) = procs::start_our_server(root.path(), &["--allow-create"]);
    let mut strangers = vec![Raw::new()];
    if hostile::can_bind(Ipv4Addr::new(127, 0, 0, 2)) {
        strangers.push(Raw::on(Ipv4Addr::new(127, 0, 0, 2)));
    }
    let mut answered = 0;

    // The download.
    let got = slow_raw_download(addr, "src.bin", size, 20, |tid, _block| {
        for stranger in &mut strangers {
            stranger_meddles(stranger, tid, &mut answered);
        }
    });
    assert!(got == bytes, "the download changed ({} bytes)", got.len());

    // The upload: strangers send DATA 1 and 2 (junk) before the real client does.
    let upload = procs::content(10 * 512 + 7, 45);
    let mut client = Raw::new();
    client.send(&hostile::wrq(b"up.bin"), addr);
    let (first, tid) = client.expect("ACK 0 for the WRQ");
    assert_eq!(as_ack(&first), Some(0), "got {}", describe(&first));
    for stranger in &mut strangers {
        stranger_meddles(stranger, tid, &mut answered);
    }
    for (i, chunk) in upload.chunks(512).enumerate() {
        let block = i as u16 + 1;
        client.send(&data(block, chunk), tid);
        expect_ack(&mut client, tid, block);
        if block == 3 {
            for stranger in &mut strangers {
                stranger_meddles(stranger, tid, &mut answered);
            }
        }
    }
    let stored = hostile::eventually(Duration::from_secs(3), || {
        fs::read(root.path().join("up.bin")).is_ok_and(|b| b == upload)
    });
    assert!(
        stored,
        "the upload is not byte-exact: {}",
        server.log_text()
    );
    // The log line follows the rename by a moment.
    let logged = hostile::eventually(Duration::from_secs(3), || {
        server.log_text().matches(", ok").count() == 2
    });
    let log = server.log_text();
    println!(
        "\nstrangers: {answered} ERROR 5 answers to {} strangers over 4 meddlings\n{log}",
        strangers.len()
    );
    assert!(logged, "two transfers ok: {log}");
}

/// Waits for a log line about `peer` that says `failed`; returns how long it took.
fn wait_for_failure(server: &procs::ChildGuard, peer: SocketAddr, from: Instant) -> Duration {
    let needle = format!("{peer} ");
    let ok = hostile::eventually(GIVE_UP_BOUND, || {
        server
            .log_text()
            .lines()
            .any(|l| l.contains(&needle) && l.contains("failed"))
    });
    assert!(
        ok,
        "no failure logged for {peer} within {GIVE_UP_BOUND:?}:\n{}",
        server.log_text()
    );
    from.elapsed()
}

/// A second request while the vanished session holds the only slot: ERROR 0 busy.
fn assert_busy(addr: SocketAddr, name: &[u8]) {
    let mut probe = Raw::new();
    probe.send(&hostile::rrq(name), addr);
    let (answer, _) = probe.expect("an answer while the slot is held");
    let (code, message) = as_error(&answer).unwrap_or_else(|| panic!("got {}", describe(&answer)));
    assert_eq!(code, 0, "{message}");
    assert!(message.contains("busy"), "{message}");
}

/// After the give-up the slot is free: an RRQ for `name` is served.
fn assert_served(addr: SocketAddr, name: &[u8]) {
    let mut probe = Raw::new();
    probe.send(&hostile::rrq(name), addr);
    let (answer, from) = probe.expect("an answer after the give-up");
    assert_eq!(
        as_data(&answer).map(|d| d.0),
        Some(1),
        "the freed slot serves: got {}",
        describe(&answer)
    );
    probe.send(&hostile::error(0, "probe done"), from);
}

// R-XFR-5, R-SRV-3, R-SRV-4: a client that vanishes mid-download and one that vanishes
// mid-upload (raw sockets that stop answering, but keep listening to count). Each server has
// `--max-sessions 1`: while it waits, a new request is refused as busy; it gives up within
// GIVE_UP_BOUND, sends a bounded number of retransmissions, logs the failure, and then
// serves again (the session was freed). For the upload, the old file is untouched and no
// `.part` temporary file remains. bad-inputs: atftpd CVE-2020-6097 (silence until the retries
// run out).
#[test]
fn r_xfr_5_vanished_clients_are_given_up_and_freed() {
    let started = Instant::now();
    let (down, up) = thread::scope(|s| {
        let down = s.spawn(|| {
            let root = procs::TempDir::new("fi-vanish-get");
            fs::write(root.path().join("big.bin"), procs::content(FILE_SIZE, 46)).expect("w");
            let (server, addr) = procs::start_our_server(root.path(), &["--max-sessions", "1"]);
            let mut client = Raw::new();
            client.send(&hostile::rrq(b"big.bin"), addr);
            let mut last = Instant::now();
            for block in 1..=5u16 {
                let (packet, tid) = client.expect("DATA before vanishing");
                assert_eq!(as_data(&packet).map(|d| d.0), Some(block));
                client.send(&ack(block), tid);
                last = Instant::now();
            }
            assert_busy(addr, b"big.bin");
            // Vanished: listen only.
            let took = wait_for_failure(&server, client.addr(), last);
            let resent = client.drain(Duration::from_millis(100)).len();
            assert!(
                resent <= 41,
                "{resent} retransmissions to a vanished client"
            );
            assert_served(addr, b"big.bin");
            (took, resent)
        });
        let up = s.spawn(|| {
            let root = procs::TempDir::new("fi-vanish-put");
            let old = procs::content(5000, 47);
            fs::write(root.path().join("old.bin"), &old).expect("write old");
            let (server, addr) = procs::start_our_server(
                root.path(),
                &["--allow-create", "--allow-write", "--max-sessions", "1"],
            );
            let mut client = Raw::new();
            client.send(&hostile::wrq(b"old.bin"), addr);
            let (first, tid) = client.expect("ACK 0");
            assert_eq!(as_ack(&first), Some(0), "got {}", describe(&first));
            let new = procs::content(512 * 3, 48);
            let mut last = Instant::now();
            for (i, chunk) in new.chunks(512).enumerate() {
                client.send(&data(i as u16 + 1, chunk), tid);
                let (reply, _) = client.expect("ACK before vanishing");
                assert_eq!(as_ack(&reply), Some(i as u16 + 1));
                last = Instant::now();
            }
            let parts = hostile::part_files(root.path());
            assert_eq!(
                parts.len(),
                1,
                "one temporary file while receiving: {parts:?}"
            );
            assert_eq!(fs::read(root.path().join("old.bin")).expect("old"), old);
            assert_busy(addr, b"old.bin");
            let took = wait_for_failure(&server, client.addr(), last);
            let resent = client.drain(Duration::from_millis(100)).len();
            assert!(
                resent <= 41,
                "{resent} retransmissions to a vanished client"
            );
            let clean = hostile::eventually(Duration::from_secs(2), || {
                hostile::part_files(root.path()).is_empty()
            });
            assert!(
                clean,
                "temporary file left: {:?}",
                hostile::part_files(root.path())
            );
            assert_eq!(
                fs::read(root.path().join("old.bin")).expect("old"),
                old,
                "the old file changed"
            );
            assert_eq!(root.names(), ["old.bin"]);
            assert_served(addr, b"old.bin");
            (took, resent)
        });
        (
            down.join().expect("download thread"),
            up.join().expect("upload thread"),
        )
    });
    println!(
        "\nvanished clients: download given up after {:.2} s ({} retransmissions seen), \
         upload after {:.2} s ({} retransmissions seen); test took {:.2} s",
        down.0.as_secs_f64(),
        down.1,
        up.0.as_secs_f64(),
        up.1,
        started.elapsed().as_secs_f64()
    );
}

// R-OPT-8, R-XFR-6: a windowed download (windowsize 16, blksize 1468) through 10% loss,
// heavy reordering and duplication each way never multiplies traffic: the bytes the relay
// forwards to the client stay within 3x the file size. bad-inputs: EDK2 UEFI client vs WDS
// (windowed retransmit storm: duplicate and reordered ACKs inside a window).
#[test]
fn r_opt_8_windowed_download_under_loss_does_not_multiply_traffic() {
    let root = procs::TempDir::new("fi-window-root");
    let local = procs::TempDir::new("fi-window-local");
    let bytes = procs::content(FILE_SIZE, 49);
    fs::write(root.path().join("src.bin"), &bytes).expect("write source");
    let (_server, addr) = procs::start_our_server(root.path(), &[]);
    let imp = Impairment {
        loss: 0.10,
        duplicate: 0.10,
        reorder: 0.20,
        delay: Duration::from_micros(200),
        jitter: Duration::from_micros(500),
    };
    let options = ["--blksize", "1468", "--windowsize", "16"];
    let mut lines = Vec::new();
    let mut worst: f64 = 0.0;
    for seed in [5u64, 6, 7] {
        let (took, stats) = our_lossy_transfer(
            addr,
            root.path(),
            local.path(),
            Verb::Get,
            &options,
            seed,
            imp,
            &bytes,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ratio = stats.to_client.bytes as f64 / bytes.len() as f64;
        worst = worst.max(ratio);
        lines.push(format!(
            "  seed {seed}: {:.2} s, to client {} bytes in {} datagrams = {ratio:.2}x the file, \
             ACKs to server {}",
            took.as_secs_f64(),
            stats.to_client.bytes,
            stats.to_client.forwarded,
            stats.to_server.forwarded
        ));
        assert!(
            ratio <= 3.0,
            "seed {seed}: {ratio:.2}x the file went to the client\n{}",
            lines.join("\n")
        );
    }
    println!(
        "\nwindowed download (ws 16) through 10% loss, 20% reorder, 10% dup: worst {worst:.2}x"
    );
    for line in lines {
        println!("{line}");
    }
}

/// A windowed download (blksize 512, windowsize 4) driven by hand: the first two windows are
/// acknowledged at once (clean round-trip samples of well under a millisecond), then the
/// client goes silent; returns how long the server waits before it sends DATA 9 again. With
/// `ignore_first`, the client ignores the first OACK and repeats its request after that
/// long, as a client whose OACK was lost does.
fn retransmit_wait(addr: SocketAddr, ignore_first: Option<Duration>) -> Duration {
    let mut client = Raw::new();
    let rrq = hostile::request(
        1,
        b"src.bin",
        "octet",
        &[("blksize", "512"), ("windowsize", "4")],
    );
    client.send(&rrq, addr);
    let (oack, tid) = client.expect("OACK");
    assert_eq!(hostile::opcode(&oack), 6, "got {}", describe(&oack));
    if let Some(wait) = ignore_first {
        // R-SRV-6: nothing is repeated to a peer that never answered, before a second.
        let extra = client.drain(wait);
        assert!(
            extra.is_empty(),
            "the server repeated its OACK within {wait:?}"
        );
        client.send(&rrq, addr);
        let (again, tid2) = client.expect("the OACK again, for the repeated request");
        assert_eq!(hostile::opcode(&again), 6, "got {}", describe(&again));
        assert_eq!(tid2, tid, "the repeat is answered by the same session");
    }
    client.send(&ack(0), tid);
    for window in 0..3u16 {
        for i in 1..=4u16 {
            let (packet, _) = client.expect("DATA of a window");
            let block = as_data(&packet).map(|d| d.0);
            assert_eq!(block, Some(window * 4 + i), "got {}", describe(&packet));
        }
        if window < 2 {
            client.send(&ack(window * 4 + 4), tid);
        }
    }
    let silent = Instant::now();
    let (packet, _) = client.expect("a retransmission of DATA 9");
    let waited = silent.elapsed();
    assert_eq!(
        as_data(&packet).map(|d| d.0),
        Some(9),
        "got {}",
        describe(&packet)
    );
    client.send(&hostile::error(0, "test done"), tid);
    waited
}

// R-XFR-12, R-SRV-6, R-XFR-5: when the first OACK is lost and the client repeats its request,
// the OACK that goes out again is a retransmission, so its ACK gives no round-trip sample
// (Karn's rule). The server's retransmission interval must then follow the clean samples
// of the windows that follow (on loopback: the 5 ms floor), as it does without the repeat,
// not the seconds the client waited before repeating its request.
#[test]
fn r_xfr_12_a_repeated_first_packet_gives_no_round_trip_sample() {
    let root = procs::TempDir::new("fi-karn-root");
    fs::write(root.path().join("src.bin"), procs::content(20 * 1024, 50)).expect("write");
    let (server, addr) = procs::start_our_server(root.path(), &[]);
    let clean = retransmit_wait(addr, None);
    let repeated = retransmit_wait(addr, Some(Duration::from_millis(800)));
    println!(
        "\nretransmission wait after two clean windows: {:.0} ms; the same after the client \
         repeated its request 0.8 s later: {:.0} ms",
        clean.as_secs_f64() * 1000.0,
        repeated.as_secs_f64() * 1000.0
    );
    assert!(
        clean < Duration::from_millis(500),
        "clean: the server waited {clean:?}"
    );
    assert!(
        repeated < Duration::from_millis(500),
        "after a repeated request the server waited {repeated:?} before retransmitting \
         (clean: {clean:?}): the ACK of the re-sent OACK was taken as a round-trip sample of \
         about 0.8 s\n{}",
        server.log_text()
    );
}
