//! The windowed sending machine: DATA out, ACK in (RFC 1350, RFC 7440).
//!
//! Blocks are numbered from 1 with a 64-bit counter and go on the wire as its low 16 bits, so
//! block numbers roll over from 65535 to 0 (R-XFR-11). The machine keeps one window of blocks
//! (windowsize x blksize bytes, allocated once) so it can retransmit them; it asks the caller
//! for file bytes one block at a time through [`Sender::read_request`].
//!
//! - A duplicate or stale ACK changes nothing and sends nothing (R-XFR-6).
//! - An ACK inside the window slides it; an ACK short of what was sent means the receiver saw
//!   a gap, so sending resumes after the acknowledged block at once (R-OPT-8), at most once per
//!   round trip so that a receiver acknowledging every block cannot multiply traffic.
//! - An ACK for a block never sent is an illegal operation (R-XFR-10).
//! - At most one window is ever in flight (R-XFR-13).

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use crate::mode::Mode;
use crate::netascii::Encoder;
use crate::time::Instant;

/// Raw file bytes waiting to be translated to netascii.
struct NetasciiSource {
    encoder: Encoder,
    staging: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes of the block being filled.
    filled: usize,
}

/// What an ACK did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// Duplicate or stale: nothing changes (R-XFR-6).
    Ignored,
    /// The window moved; `rtt` is a clean round-trip sample, when there is one.
    Progress { rtt: Option<Duration> },
    /// The final block is acknowledged.
    Finished { rtt: Option<Duration> },
    /// An ACK for a block that was never sent.
    Future,
}

pub(crate) struct Sender {
    blksize: usize,
    window: u64,
    /// `window` slots of `blksize` bytes; block b lives in slot b % window.
    slots: Vec<u8>,
    lens: Vec<usize>,
    /// Oldest unacknowledged block.
    base: u64,
    /// Next block to put on the wire.
    next: u64,
    /// Highest block ever sent.
    highest_sent: u64,
    /// Blocks below this are loaded in their slots.
    loaded: u64,
    /// The last block, once a short read showed where the file ends.
    final_block: Option<u64>,
    netascii: Option<NetasciiSource>,
    /// File bytes handed over by the caller so far.
    file_bytes: u64,
    /// A block sent once, and when: the round-trip probe (Karn: dropped on retransmission).
    probe: Option<(u64, Instant)>,
    last_rewind: Option<Instant>,
}

impl Sender {
    pub(crate) fn new(blksize: u16, windowsize: u16, mode: Mode) -> Sender {
        let blksize = usize::from(blksize.max(1));
        let window = usize::from(windowsize.max(1));
        Sender {
            blksize,
            window: window as u64,
            slots: vec![0; blksize * window],
            lens: vec![0; window],
            base: 1,
            next: 1,
            highest_sent: 0,
            loaded: 1,
            final_block: None,
            netascii: (mode == Mode::Netascii).then(|| NetasciiSource {
                encoder: Encoder::new(),
                staging: vec![0; blksize],
                start: 0,
                end: 0,
                eof: false,
                filled: 0,
            }),
            file_bytes: 0,
            probe: None,
            last_rewind: None,
        }
    }

    fn slot_range(&self, block: u64) -> core::ops::Range<usize> {
        let i = (block % self.window) as usize;
        i * self.blksize..(i + 1) * self.blksize
    }

    fn wants_block(&self) -> bool {
        self.final_block.is_none() && self.loaded < self.base + self.window
    }

    /// In octet mode, the free slots from the next one to load up to the end of the ring:
    /// they are contiguous, so one read fills them all (one syscall per window, not per block).
    fn free_run(&self) -> usize {
        let free = self.base + self.window - self.loaded;
        let to_ring_end = self.window - self.loaded % self.window;
        free.min(to_ring_end) as usize * self.blksize
    }

    /// The file bytes wanted next, as `(offset, len)`: fill [`Sender::read_buffer`] and call
    /// [`Sender::read_done`].
    pub(crate) fn read_request(&self) -> Option<(u64, usize)> {
        if !self.wants_block() {
            return None;
        }
        let len = match &self.netascii {
            Some(n) => n.staging.len(),
            None => self.free_run(),
        };
        Some((self.file_bytes, len))
    }

    /// Where the caller writes the bytes of [`Sender::read_request`] (empty when none is due).
    pub(crate) fn read_buffer(&mut self) -> &mut [u8] {
        if !self.wants_block() {
            return &mut [];
        }
        let start = self.slot_range(self.loaded).start;
        let run = self.free_run();
        match &mut self.netascii {
            Some(n) => &mut n.staging,
            None => &mut self.slots[start..start + run],
        }
    }

    /// The caller put `n` bytes into the read buffer; fewer than asked means end of file.
    pub(crate) fn read_done(&mut self, n: usize) {
        if !self.wants_block() {
            return;
        }
        let Some(src) = &mut self.netascii else {
            let asked = self.free_run();
            let n = n.min(asked);
            self.file_bytes += n as u64;
            for _ in 0..n / self.blksize {
                self.commit_block(self.blksize);
            }
            if n < asked {
                self.commit_block(n % self.blksize); // the short (maybe empty) last block
            }
            return;
        };
        let n = n.min(src.staging.len());
        self.file_bytes += n as u64;
        src.start = 0;
        src.end = n;
        src.eof = n < src.staging.len();
        self.translate();
    }

    /// Moves netascii bytes from the staging buffer into block slots until the staging buffer
    /// is empty (more file bytes needed) or the window is full.
    fn translate(&mut self) {
        while self.wants_block() {
            let range = self.slot_range(self.loaded);
            let Some(src) = &mut self.netascii else {
                return;
            };
            let out = &mut self.slots[range.start + src.filled..range.end];
            let (used, made) = src.encoder.encode(&src.staging[src.start..src.end], out);
            src.start += used;
            src.filled += made;
            let staging_empty = src.start == src.end;
            let full = src.filled == self.blksize;
            if full || (src.eof && staging_empty && !src.encoder.has_pending()) {
                let len = src.filled;
                src.filled = 0;
                self.commit_block(len);
            } else if staging_empty && !src.eof {
                return; // read_request asks for the next raw bytes
            }
        }
    }

    fn commit_block(&mut self, len: usize) {
        let i = (self.loaded % self.window) as usize;
        self.lens[i] = len;
        if len < self.blksize {
            self.final_block = Some(self.loaded);
        }
        self.loaded += 1;
    }

    /// The next DATA to put on the wire: its wire block number and payload.
    pub(crate) fn next_data(&mut self, now: Instant) -> Option<(u16, &[u8])> {
        let block = self.next;
        if block >= self.loaded
            || block >= self.base + self.window
            || self.final_block.is_some_and(|f| block > f)
        {
            return None;
        }
        self.next += 1;
        if block > self.highest_sent {
            self.highest_sent = block;
            if self.probe.is_none() {
                self.probe = Some((block, now));
            }
        } else if self.probe.is_some_and(|(p, _)| p >= block) {
            self.probe = None; // Karn: a retransmitted block gives no clean sample.
        }
        let range = self.slot_range(block);
        let len = self.lens[(block % self.window) as usize];
        Some((block as u16, &self.slots[range.start..range.start + len]))
    }

    /// Handles ACK `wire` at `now`. `rewind_guard` is the least time between two rewinds.
    pub(crate) fn on_ack(&mut self, wire: u16, now: Instant, rewind_guard: Duration) -> AckOutcome {
        let acked_before = self.base - 1;
        let distance = wire.wrapping_sub(acked_before as u16) as i16;
        if distance <= 0 {
            return AckOutcome::Ignored; // duplicate or delayed: R-XFR-6
        }
        let block = acked_before + distance as u64;
        if block > self.highest_sent {
            return AckOutcome::Future;
        }
        let rtt = match self.probe {
            Some((p, sent)) if p <= block => {
                self.probe = None;
                Some(now - sent)
            }
            _ => None,
        };
        self.base = block + 1;
        if self.netascii.is_some() {
            self.translate(); // bytes left in staging fill the slots just freed
        }
        if self.final_block == Some(block) {
            return AckOutcome::Finished { rtt };
        }
        if self.next > self.base {
            // The receiver stopped short of what was sent: a gap (R-OPT-8). Go back at most
            // once per round trip.
            let may_rewind = self.last_rewind.is_none_or(|t| now - t >= rewind_guard);
            if may_rewind {
                self.last_rewind = Some(now);
                self.next = self.base;
            }
        } else {
            self.next = self.base;
        }
        AckOutcome::Progress { rtt }
    }

    /// Drops the round-trip probe: a timeout passed, so whatever ACK comes next may answer
    /// an earlier copy (Karn).
    pub(crate) fn forget_probe(&mut self) {
        self.probe = None;
    }

    /// The retransmission deadline passed: send the window again from its first block.
    pub(crate) fn on_timeout(&mut self) {
        self.next = self.base;
        self.probe = None;
    }

    /// File bytes handed over by the caller.
    pub(crate) fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Blocks acknowledged.
    pub(crate) fn blocks_acked(&self) -> u64 {
        self.base - 1
    }

    /// Bytes kept for retransmission (one window).
    pub(crate) fn buffer_len(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: &mut Sender, file: &[u8]) {
        while let Some((offset, len)) = s.read_request() {
            let offset = offset as usize;
            let end = (offset + len).min(file.len());
            let chunk = &file[offset.min(end)..end];
            s.read_buffer()[..chunk.len()].copy_from_slice(chunk);
            s.read_done(chunk.len());
        }
    }

    fn sent(s: &mut Sender) -> Vec<u16> {
        let mut out = Vec::new();
        while let Some((b, _)) = s.next_data(Instant::ZERO) {
            out.push(b);
        }
        out
    }

    const NO_GUARD: Duration = Duration::ZERO;

    // R-OPT-8, R-XFR-13
    #[test]
    fn r_opt_8_window_then_wait_and_resume_after_gap() {
        let file = vec![7u8; 10 * 8];
        let mut s = Sender::new(8, 4, Mode::Octet);
        load(&mut s, &file);
        assert_eq!(sent(&mut s), [1, 2, 3, 4]);
        assert_eq!(sent(&mut s), [] as [u16; 0], "one window in flight");
        // Gap after block 2: resume from 3.
        assert!(matches!(
            s.on_ack(2, Instant::ZERO, NO_GUARD),
            AckOutcome::Progress { .. }
        ));
        load(&mut s, &file);
        assert_eq!(sent(&mut s), [3, 4, 5, 6]);
        assert_eq!(s.on_ack(9, Instant::ZERO, NO_GUARD), AckOutcome::Future);
    }

    // R-XFR-6
    #[test]
    fn r_xfr_6_duplicate_ack_sends_nothing() {
        let file = vec![1u8; 100];
        let mut s = Sender::new(8, 1, Mode::Octet);
        load(&mut s, &file);
        assert_eq!(sent(&mut s), [1]);
        assert!(matches!(
            s.on_ack(1, Instant::ZERO, NO_GUARD),
            AckOutcome::Progress { .. }
        ));
        load(&mut s, &file);
        assert_eq!(sent(&mut s), [2]);
        for _ in 0..5 {
            assert_eq!(s.on_ack(1, Instant::ZERO, NO_GUARD), AckOutcome::Ignored);
            assert_eq!(sent(&mut s), [] as [u16; 0]);
        }
    }

    // R-XFR-2: a file of a multiple of blksize ends with an empty block.
    #[test]
    fn r_xfr_2_exact_multiple_ends_with_empty_block() {
        let file = vec![1u8; 16];
        let mut s = Sender::new(8, 4, Mode::Octet);
        load(&mut s, &file);
        let mut lens = Vec::new();
        while let Some((_, d)) = s.next_data(Instant::ZERO) {
            lens.push(d.len());
        }
        assert_eq!(lens, [8, 8, 0]);
        assert!(matches!(
            s.on_ack(3, Instant::ZERO, NO_GUARD),
            AckOutcome::Finished { .. }
        ));
    }

    #[test]
    fn rewinds_at_most_once_per_guard() {
        let file = vec![1u8; 800];
        let mut s = Sender::new(8, 8, Mode::Octet);
        load(&mut s, &file);
        assert_eq!(sent(&mut s).len(), 8);
        let guard = Duration::from_millis(10);
        // A receiver that acknowledges every block: one go-back, then plain sliding.
        s.on_ack(1, Instant::ZERO, guard);
        load(&mut s, &file);
        assert_eq!(sent(&mut s), [2, 3, 4, 5, 6, 7, 8, 9]);
        s.on_ack(2, Instant::from_micros(10), guard);
        load(&mut s, &file);
        assert_eq!(sent(&mut s), [10]);
    }

    // R-MOD-2: netascii expansion fills blocks across reads.
    #[test]
    fn netascii_blocks_hold_the_translated_bytes() {
        let file = b"ab\ncd\n\n\r".repeat(3);
        let mut s = Sender::new(8, 16, Mode::Netascii);
        load(&mut s, &file);
        let mut wire = Vec::new();
        while let Some((_, d)) = s.next_data(Instant::ZERO) {
            wire.extend_from_slice(d);
        }
        assert_eq!(wire, b"ab\r\ncd\r\n\r\n\r\0".repeat(3));
        assert_eq!(s.file_bytes(), file.len() as u64);
    }
}
