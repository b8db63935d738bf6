//! A running `tshark -i lo -f FILTER -w FILE` capture, shared by the wire checks
//! (`tests/capture_tshark.rs`, `tests/single_port.rs`). Capturing on `lo` needs root: without
//! it (and not under CI) [`Tshark::start`] skips loudly.
//!
//! Include after `procs`: `#[path = "support/tshark.rs"] mod tshark;` (this file uses
//! `crate::procs`).

#![allow(dead_code)] // each test binary uses a part of this

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::procs::{output_text, require_peer, require_root, run_bounded, ChildGuard};

/// Longest wait for tshark to start capturing (it prints "Capture started").
const CAPTURE_START: Duration = Duration::from_secs(30);
/// Longest run of one decode.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A capture into a file, stopped (SIGINT, so that the file is complete) when dropped.
pub struct Tshark {
    guard: ChildGuard,
    /// The tshark binary.
    pub bin: PathBuf,
    /// The capture file.
    pub file: PathBuf,
}

impl Tshark {
    /// Starts capturing what `filter` (a capture filter) lets through on `lo` into `dir`, and
    /// waits until tshark says it captures; None (skipped loudly) without root or tshark.
    pub fn start(dir: &Path, filter: &str) -> Option<Tshark> {
        if !require_root("capturing on lo with tshark") {
            return None;
        }
        let bin = require_peer("tshark")?;
        let file = dir.join("capture.pcapng");
        let log = dir.join("tshark.log");
        let child = Command::new(&bin)
            .args(["-i", "lo", "-f", filter, "-q", "-w"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("tshark log"))
            .spawn()
            .expect("spawn tshark");
        let mut guard = ChildGuard::new(child);
        guard.log = Some(log);
        let start = Instant::now();
        while !guard.log_text().contains("Capture started") {
            if guard.wait_timeout(Duration::ZERO).is_some() || start.elapsed() > CAPTURE_START {
                panic!("tshark did not start capturing: {}", guard.log_text());
            }
            thread::sleep(Duration::from_millis(20));
        }
        Some(Tshark { guard, bin, file })
    }

    /// Lets the last datagrams reach the capture, then stops it.
    pub fn stop(&mut self) {
        thread::sleep(Duration::from_millis(300));
        let status = self.guard.signal_and_wait("INT", Duration::from_secs(10));
        assert!(
            status.is_some(),
            "tshark did not stop: {}",
            self.guard.log_text()
        );
    }

    /// The UDP frames of the capture with UDP `tftp_port` decoded as TFTP (the conversations
    /// that follow are found by tshark): one line per frame, `fields` separated by tabs.
    pub fn fields(&self, tftp_port: u16, fields: &[&str]) -> String {
        let decode = format!("udp.port=={tftp_port},tftp");
        let mut args = vec![
            "-d",
            &decode,
            "-Y",
            "udp",
            "-T",
            "fields",
            "-E",
            "separator=/t",
        ];
        for f in fields {
            args.extend(["-e", f]);
        }
        self.read(&args)
    }

    /// `tshark -r FILE ARGS...` on the capture: its stdout.
    pub fn read(&self, args: &[&str]) -> String {
        let out = run_bounded(
            Command::new(&self.bin).arg("-r").arg(&self.file).args(args),
            READ_TIMEOUT,
        );
        assert!(out.status.success(), "tshark -r: {}", output_text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tshark {
    fn drop(&mut self) {
        // SIGINT lets tshark stop its dumpcap; the guard then kills whatever is left.
        self.guard.signal_and_wait("INT", Duration::from_secs(5));
    }
}
