//! Proven by real boot firmware: iPXE (Debian's `ipxe.lkrn`) under QEMU chains a script
//! from our `tftpd` and fetches a second file with it (R-INT-1), and every packet of the
//! exchange decodes cleanly in tshark (R-INT-2).
//!
//! The server, the capture and QEMU share a private network namespace made by the test
//! (see `support/firmware.rs`); QEMU's user network sends the guest's `10.0.2.2:PORT` to the
//! namespace's `127.0.0.1:PORT`. Needs root, QEMU, iPXE and tshark (`.ci/install-peers`):
//! without them the test prints SKIPPED, or fails when `CI` is set.

#![cfg(unix)]

#[path = "support/firmware.rs"]
mod firmware;

use std::fmt::Write as _;
use std::fs;
use std::net::UdpSocket;
use std::time::Duration;

use firmware::{
    check_clean, check_transfer, decode, plain, prerequisites, random_u64, summary, version_of,
    Budget, Capture, Console, Expect, Netns, Server, WorkDir,
};

const QEMU: &str = "qemu-system-x86_64";
const IPXE: &str = "/usr/lib/ipxe/ipxe.lkrn";
/// The whole test, QEMU included (iPXE takes about 2 s on an idle machine).
const BUDGET: Duration = Duration::from_secs(50);
/// The script's size: several hundred KiB of comment lines, so it takes ~290 blocks.
const SCRIPT_SIZE: usize = 400 * 1024;
/// The fetched file's size: not a multiple of 1432.
const SECOND_SIZE: usize = 350 * 1024 + 77;

/// A `#!ipxe` script padded with comments to about `SCRIPT_SIZE` bytes that fetches `second`,
/// shows the images' sizes and prints `marker` (only the served script holds it).
fn script(port: u16, second: &str, marker: &str) -> String {
    let mut text = String::from("#!ipxe\n");
    let mut n = 0;
    while text.len() < SCRIPT_SIZE {
        let _ = writeln!(
            text,
            "# padding line {n:06} of the firmware_ipxe test script: only the end of this \
             file does anything"
        );
        n += 1;
    }
    let _ = write!(
        text,
        "imgfetch tftp://10.0.2.2:{port}/{second}\nimgstat\necho {marker}\nexit\n"
    );
    text
}

// R-INT-1, R-INT-2, R-OPT-5 (blksize 1432), R-OPT-7 (tsize), R-XFR-2: iPXE chains a
// several-hundred-KiB script from our server, which imgfetches a second file; the console
// shows the script's random marker and the file's exact size; the server logs both transfers
// with blksize 1432 and tsize; the capture decodes cleanly.
#[test]
fn r_int_1_ipxe_chains_a_script_and_fetches_a_file() {
    if !prerequisites(
        "firmware_ipxe",
        &[
            QEMU, "unshare", "nsenter", "ip", "dumpcap", "tshark", "kill",
        ],
        &[IPXE],
    ) {
        return;
    }
    firmware::tftpd_bin(); // built (or found up to date) before the clock starts
    let budget = Budget::new(BUDGET);
    let work = WorkDir::new("ipxe");
    let root = work.root();
    // Any port is free in a fresh namespace; take one that is free here too, and not 69
    // (slirp answers 10.0.2.2:69 itself).
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let marker = format!("fw-ipxe-marker-{:016x}", random_u64());
    let second = "second.bin";
    let second_bytes = firmware::content(SECOND_SIZE, random_u64());
    let boot = script(port, second, &marker);
    fs::write(root.join("boot.ipxe"), &boot).expect("write boot.ipxe");
    fs::write(root.join(second), &second_bytes).expect("write second file");

    let ns = Netns::new();
    let mut capture = Capture::start(&ns, work.path().join("ipxe.pcapng"));
    let mut server = Server::start(&ns, &root, port, work.path().join("tftpd.log"), &[]);

    let append = format!(
        "ifopen net0 && set net0/ip 10.0.2.15 && set net0/netmask 255.255.255.0 && \
         set net0/gateway 10.0.2.2 && chain tftp://10.0.2.2:{port}/boot.ipxe"
    );
    let mut qemu = ns.command(QEMU);
    qemu.args([
        "-accel",
        "tcg",
        "-m",
        "256",
        "-nographic",
        "-nodefaults",
        "-serial",
        "stdio",
        "-no-reboot",
        "-netdev",
        "user,id=n0,ipv6=off",
        "-device",
        "virtio-net-pci,netdev=n0,romfile=",
        "-boot",
        "reboot-timeout=0",
        "-kernel",
        IPXE,
        "-append",
        &append,
    ]);
    let mut console = Console::spawn(qemu, false, work.path().join("console.txt"));
    let status = console.wait_exit(budget.cap(Duration::from_secs(45)));
    console.finish();
    let serial = plain(&console.text());
    let boot_line = server.transfer("boot.ipxe", budget.cap(Duration::from_secs(5)));
    let second_line = server.transfer(second, budget.cap(Duration::from_secs(5)));
    server.stop();
    capture.stop();
    let log = server.log();
    let report = |what: &str| -> String {
        format!(
            "{what}\n--- serial console (tail) ---\n{}\n--- tftpd log ---\n{log}\n\
             --- capture ---\n{}",
            console.tail(3000),
            summary(&capture.file, Some(port), 15)
        )
    };

    // The console: QEMU ended by itself, the script ran to its end, the file has its size.
    assert!(
        status.is_some_and(|s| s.success()),
        "{}",
        report(&format!("QEMU did not end cleanly: {status:?}"))
    );
    assert!(
        serial.contains(&marker),
        "{}",
        report("the served script's marker is not on the console")
    );
    let stat = format!("{second} : {SECOND_SIZE} bytes");
    assert!(
        serial.contains(&stat),
        "{}",
        report(&format!("imgstat does not show {stat:?}"))
    );

    // The server's log: both transfers completed with the options iPXE asks for.
    let mut lines = Vec::new();
    for (line, name, size) in [
        (&boot_line, "boot.ipxe", boot.len()),
        (&second_line, second, SECOND_SIZE),
    ] {
        let line = line
            .as_ref()
            .unwrap_or_else(|| panic!("{}", report(&format!("no log line for {name}"))));
        assert!(line.ok, "{}", report(&format!("{name} did not complete")));
        assert_eq!(line.bytes, size as u64, "{}", report(name));
        assert_eq!(line.option("blksize"), Some(1432), "{}", report(name));
        assert_eq!(line.option("tsize"), Some(size as u64), "{}", report(name));
        assert_eq!(line.option("windowsize"), Some(1), "{}", report(name));
        lines.push(line.clone());
    }

    // The capture (R-INT-2): everything decodes, options as negotiated, every block once
    // and every block acknowledged (iPXE has no windowsize).
    let frames = decode(&capture.file, Some(port));
    let notes = check_clean(&frames).unwrap_or_else(|e| panic!("{}", report(&e)));
    let mut seen = Vec::new();
    for (name, size) in [("boot.ipxe", boot.len()), (second, SECOND_SIZE)] {
        let tsize = size.to_string();
        let expect = Expect {
            file: name,
            size: size as u64,
            request: &[("blksize", "1432"), ("tsize", "0")],
            oack: &[("blksize", "1432"), ("tsize", &tsize)],
            blksize: 1432,
            windowsize: 1,
        };
        seen.push(check_transfer(&frames, &expect).unwrap_or_else(|e| panic!("{}", report(&e))));
    }

    let banner = serial
        .lines()
        .find(|l| l.contains("iPXE 1.") || l.contains("iPXE 2."))
        .map(|l| l.split(" -- ").next().unwrap_or(l).trim().to_string())
        .unwrap_or_else(|| "iPXE (banner not seen)".to_string());
    for (line, s) in lines.iter().zip(&seen) {
        eprintln!(
            "FIRMWARE PASS ipxe: {} | {banner} | \"{}\" {:?} | {} bytes in {:.3} s (server) | \
             {} DATA, {} ACK frames",
            version_of(QEMU),
            line.name,
            line.options,
            line.bytes,
            line.seconds,
            s.data_frames,
            s.acks.len()
        );
    }
    eprintln!(
        "FIRMWARE ipxe: {} UDP frames decoded as TFTP, expert notes {notes:?}, test took {:.1} s",
        frames.len(),
        budget.elapsed().as_secs_f64()
    );
}
