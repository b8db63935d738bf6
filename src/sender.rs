//! The windowed sending machine: DATA out, ACK in (RFC 1350, RFC 7440).
//!
//! Blocks are numbered from 1 with a 64-bit counter and go on the wire as its low 16 bits, so
//! block numbers roll over from 65535 to 0 (R-XFR-11). The machine asks the caller for file
//! bytes through [`Sender::read_request`] and keeps at most `cap` blocks of them (a byte
//! budget, [`crate::Config::send_buffer`], never more than one window): a block sent and lost
//! that is no longer held is read again from the file. In octet mode block `b` starts at file
//! offset `(b - 1) * blksize`; in netascii mode the machine remembers where each block of the
//! window starts in the file and in what state the translation was there.
//!
//! - A duplicate or stale ACK changes nothing and sends nothing (R-XFR-6).
//! - An ACK inside the window slides it; an ACK short of what was sent means the receiver saw
//!   a gap, so sending resumes after the acknowledged block at once (R-OPT-8), at most once per
//!   round trip so that a receiver acknowledging every block cannot multiply traffic.
//! - An ACK for a block never sent is an illegal operation (R-XFR-10).
//! - At most one window is ever in flight (R-XFR-13).
//! - A file that reads back differently (it ends at another block, or where a block already
//!   went out whole) stops the transfer: [`Sender::file_changed`].

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use crate::mode::Mode;
use crate::netascii::Encoder;
use crate::time::Instant;

/// Where a block starts in the file, and the translation state there (netascii).
#[derive(Clone, Copy, Debug, Default)]
struct BlockStart {
    offset: u64,
    encoder: Encoder,
}

/// Raw file bytes waiting to be translated to netascii.
struct NetasciiSource {
    encoder: Encoder,
    staging: Vec<u8>,
    /// File offset of `staging[0]`.
    staging_at: u64,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes of the block being filled.
    filled: usize,
    /// The start of each block from `base` to `base + window`: block b at b % (window + 1).
    starts: Vec<BlockStart>,
}

impl NetasciiSource {
    fn start_slot(&self, block: u64) -> usize {
        (block % self.starts.len() as u64) as usize
    }

    /// Where the next raw byte to translate sits in the file, and the state there.
    fn position(&self) -> BlockStart {
        BlockStart {
            offset: self.staging_at + self.start as u64,
            encoder: self.encoder,
        }
    }

    /// Forgets what is staged and goes back to `at`.
    fn restart(&mut self, at: BlockStart) {
        self.encoder = at.encoder;
        self.staging_at = at.offset;
        self.start = 0;
        self.end = 0;
        self.eof = false;
        self.filled = 0;
    }
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
    /// Most blocks held at once.
    cap: u64,
    /// `cap` slots of `blksize` bytes holding blocks `first..loaded`, block `first` in slot 0.
    slots: Vec<u8>,
    first: u64,
    loaded: u64,
    /// Oldest unacknowledged block.
    base: u64,
    /// Next block to put on the wire.
    next: u64,
    /// Highest block ever sent.
    highest_sent: u64,
    /// The last block and its length, once a short read showed where the file ends.
    final_block: Option<(u64, usize)>,
    netascii: Option<NetasciiSource>,
    /// The furthest file offset read so far.
    file_bytes: u64,
    /// The file read back differently from before.
    changed: bool,
    /// [`Sender::read_request`] asked for a read that [`Sender::read_done`] has not answered,
    /// and nothing moved since: the read buffer is where that read goes.
    read_pending: bool,
    /// A block sent once, and when: the round-trip probe (Karn: dropped on retransmission).
    probe: Option<(u64, Instant)>,
    last_rewind: Option<Instant>,
}

impl Sender {
    /// A sender of `blksize`-byte blocks, `windowsize` per window, holding at most
    /// `buffer` bytes of them (rounded down to whole blocks, at least one).
    pub(crate) fn new(blksize: u16, windowsize: u16, mode: Mode, buffer: usize) -> Sender {
        let blksize = usize::from(blksize.max(1));
        let window = u64::from(windowsize.max(1));
        let cap = ((buffer / blksize) as u64).clamp(1, window);
        Sender {
            blksize,
            window,
            cap,
            slots: vec![0; blksize * cap as usize],
            first: 1,
            loaded: 1,
            base: 1,
            next: 1,
            highest_sent: 0,
            final_block: None,
            netascii: (mode == Mode::Netascii).then(|| NetasciiSource {
                encoder: Encoder::new(),
                staging: vec![0; blksize],
                staging_at: 0,
                start: 0,
                end: 0,
                eof: false,
                filled: 0,
                starts: vec![BlockStart::default(); window as usize + 1],
            }),
            file_bytes: 0,
            changed: false,
            read_pending: false,
            probe: None,
            last_rewind: None,
        }
    }

    fn slot_start(&self, block: u64) -> usize {
        (block - self.first) as usize * self.blksize
    }

    fn block_len(&self, block: u64) -> usize {
        match self.final_block {
            Some((f, len)) if f == block => len,
            _ => self.blksize,
        }
    }

    /// Blocks that may still be loaded: up to the end of the window, of the file, and of
    /// the slots.
    fn room(&self) -> u64 {
        if self.changed {
            return 0;
        }
        let window_end = self.base + self.window;
        let file_end = self.final_block.map_or(u64::MAX, |(f, _)| f + 1);
        let slots_end = self.first + self.cap;
        window_end
            .min(file_end)
            .min(slots_end)
            .saturating_sub(self.loaded)
    }

    fn wants_block(&self) -> bool {
        self.room() > 0
    }

    /// Makes the slots ready for block `next`: kept when they hold it or have room for it
    /// next, else started over at it. A rewind to a block no longer held reads it again.
    fn settle(&mut self) {
        let next = self.next;
        if (self.first..self.loaded).contains(&next)
            || (next == self.loaded && self.loaded - self.first < self.cap)
        {
            return;
        }
        if next != self.loaded {
            if let Some(src) = &mut self.netascii {
                let at = src.starts[src.start_slot(next)];
                src.restart(at);
            }
        }
        self.first = next;
        self.loaded = next;
    }

    /// In octet mode, the free slots from the next one to load: one read fills them all
    /// (one syscall per window when the slots hold a window).
    fn free_run(&self) -> usize {
        self.room() as usize * self.blksize
    }

    /// Gets the slots ready for block `next` ([`Sender::settle`]) and, in netascii mode,
    /// translates what is staged into them. Done lazily, at the start of
    /// [`Sender::read_request`] and [`Sender::next_data`], so that sending never leaves a
    /// read due that the caller's next [`Sender::read_request`] would not see.
    fn prepare(&mut self) {
        self.read_pending = false;
        self.settle();
        if self.netascii.is_some() {
            self.translate();
        }
    }

    /// The file bytes wanted next, as `(offset, len)`: fill [`Sender::read_buffer`] and call
    /// [`Sender::read_done`].
    pub(crate) fn read_request(&mut self) -> Option<(u64, usize)> {
        self.prepare();
        if !self.wants_block() {
            return None;
        }
        let request = match &self.netascii {
            // Staged bytes (or the end of the file) still to translate: no room for them.
            Some(n) if n.start < n.end || n.eof => return None,
            Some(n) => (n.staging_at + n.end as u64, n.staging.len()),
            None => (self.octet_offset(self.loaded), self.free_run()),
        };
        self.read_pending = true;
        Some(request)
    }

    /// Where block `block` (counted from 1) starts in the file, in octet mode.
    fn octet_offset(&self, block: u64) -> u64 {
        (block - 1) * self.blksize as u64
    }

    /// Where the caller writes the bytes of the pending [`Sender::read_request`] (empty when
    /// none is pending).
    pub(crate) fn read_buffer(&mut self) -> &mut [u8] {
        if !self.read_pending {
            return &mut [];
        }
        let start = self.slot_start(self.loaded);
        let run = self.free_run();
        match &mut self.netascii {
            Some(n) => &mut n.staging,
            None => &mut self.slots[start..start + run],
        }
    }

    /// The caller put `n` bytes into the read buffer; fewer than asked means end of file.
    pub(crate) fn read_done(&mut self, n: usize) {
        if !core::mem::take(&mut self.read_pending) {
            return;
        }
        let Some(src) = &mut self.netascii else {
            let asked = self.free_run();
            let n = n.min(asked);
            let offset = self.octet_offset(self.loaded);
            self.file_bytes = self.file_bytes.max(offset + n as u64);
            for _ in 0..n / self.blksize {
                self.commit_block(self.blksize);
            }
            if n < asked {
                self.commit_block(n % self.blksize); // the short (maybe empty) last block
            }
            return;
        };
        let n = n.min(src.staging.len());
        src.staging_at += src.end as u64;
        src.start = 0;
        src.end = n;
        src.eof = n < src.staging.len();
        self.file_bytes = self.file_bytes.max(src.staging_at + n as u64);
        self.translate();
    }

    /// Moves netascii bytes from the staging buffer into block slots until the staging buffer
    /// is empty (more file bytes needed) or no block may be loaded.
    fn translate(&mut self) {
        while self.wants_block() {
            let start = self.slot_start(self.loaded);
            let Some(src) = &mut self.netascii else {
                return;
            };
            let out = &mut self.slots[start + src.filled..start + self.blksize];
            let (used, made) = src.encoder.encode(&src.staging[src.start..src.end], out);
            src.start += used;
            src.filled += made;
            let staging_empty = src.start == src.end;
            let full = src.filled == self.blksize;
            if full || (src.eof && staging_empty && !src.encoder.has_pending()) {
                let len = src.filled;
                src.filled = 0;
                let at = src.position();
                let slot = src.start_slot(self.loaded + 1);
                src.starts[slot] = at;
                self.commit_block(len);
            } else if staging_empty && !src.eof {
                return; // read_request asks for the next raw bytes
            }
        }
    }

    /// Block `loaded` holds `len` bytes. Where the file's end is known it must agree.
    fn commit_block(&mut self, len: usize) {
        let block = self.loaded;
        let agrees = match self.final_block {
            Some(_) => len == self.block_len(block),
            // A short block where a whole one already went out: the file shrank.
            None => len == self.blksize || block > self.highest_sent,
        };
        if !agrees {
            self.changed = true;
            return;
        }
        if len < self.blksize {
            self.final_block = Some((block, len));
        }
        self.loaded += 1;
    }

    /// True when the file read back differently from what was already sent: the transfer
    /// cannot go on.
    pub(crate) fn file_changed(&self) -> bool {
        self.changed
    }

    /// The next DATA to put on the wire: its wire block number and payload.
    pub(crate) fn next_data(&mut self, now: Instant) -> Option<(u16, &[u8])> {
        if !(self.first..self.loaded).contains(&self.next) {
            self.prepare(); // a held block needs neither settling nor translating
        }
        let block = self.next;
        if block < self.first
            || block >= self.loaded
            || block >= self.base + self.window
            || self.changed
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
        let start = self.slot_start(block);
        let len = self.block_len(block);
        Some((block as u16, &self.slots[start..start + len]))
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
        self.read_pending = false;
        if self.final_block.is_some_and(|(f, _)| f == block) {
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
        self.read_pending = false;
        self.next = self.base;
        self.probe = None;
    }

    /// The furthest file offset read so far (the file size once the transfer is done).
    pub(crate) fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Blocks acknowledged.
    pub(crate) fn blocks_acked(&self) -> u64 {
        self.base - 1
    }

    /// Bytes of file data held: `cap` blocks, plus the netascii staging buffer and block
    /// starts.
    pub(crate) fn buffer_len(&self) -> usize {
        self.slots.len()
            + self.netascii.as_ref().map_or(0, |n| {
                n.staging.len() + n.starts.len() * core::mem::size_of::<BlockStart>()
            })
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
        let mut s = Sender::new(8, 4, Mode::Octet, 1 << 20);
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
        let mut s = Sender::new(8, 1, Mode::Octet, 1 << 20);
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
        let mut s = Sender::new(8, 4, Mode::Octet, 1 << 20);
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
        let mut s = Sender::new(8, 8, Mode::Octet, 1 << 20);
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
        let mut s = Sender::new(8, 16, Mode::Netascii, 1 << 20);
        load(&mut s, &file);
        let mut wire = Vec::new();
        while let Some((_, d)) = s.next_data(Instant::ZERO) {
            wire.extend_from_slice(d);
        }
        assert_eq!(wire, b"ab\r\ncd\r\n\r\n\r\0".repeat(3));
        assert_eq!(s.file_bytes(), file.len() as u64);
    }

    /// Plays a driver: serves reads from `file` and takes DATA until neither comes; returns
    /// the blocks sent with their payloads.
    fn pass(s: &mut Sender, file: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            let before = out.len();
            let mut read = false;
            while s.read_request().is_some() {
                read = true;
                load(s, file);
            }
            while let Some((b, d)) = s.next_data(Instant::ZERO) {
                out.push((b, d.to_vec()));
            }
            if !read && out.len() == before {
                return out;
            }
        }
    }

    fn blocks_of(
        file: &[u8],
        blksize: usize,
        range: core::ops::RangeInclusive<u16>,
    ) -> Vec<(u16, Vec<u8>)> {
        range
            .map(|b| {
                let start = (usize::from(b) - 1) * blksize;
                let end = (start + blksize).min(file.len());
                (b, file[start.min(end)..end].to_vec())
            })
            .collect()
    }

    // Config::send_buffer, R-OPT-8: a sender holding 2 blocks still sends whole windows of 8,
    // and a gap or a timeout reads the lost blocks again from their file offsets.
    #[test]
    fn small_buffer_sends_whole_windows_and_rereads_lost_blocks() {
        let file: Vec<u8> = (0..100u8).collect();
        let mut s = Sender::new(8, 8, Mode::Octet, 16);
        assert_eq!(s.buffer_len(), 16);
        assert_eq!(pass(&mut s, &file), blocks_of(&file, 8, 1..=8));
        // A gap after block 3: blocks 4.. again, read back from offset 24.
        s.on_ack(3, Instant::ZERO, NO_GUARD);
        assert_eq!(s.read_request(), Some((24, 16)));
        assert_eq!(pass(&mut s, &file), blocks_of(&file, 8, 4..=11));
        // A timeout: the window from block 4 again; then the rest, ending in the short block.
        s.on_timeout();
        assert_eq!(pass(&mut s, &file), blocks_of(&file, 8, 4..=11));
        s.on_ack(11, Instant::ZERO, NO_GUARD);
        assert_eq!(pass(&mut s, &file), blocks_of(&file, 8, 12..=13));
        assert_eq!(s.buffer_len(), 16, "never more than the budget");
        assert!(matches!(
            s.on_ack(13, Instant::ZERO, NO_GUARD),
            AckOutcome::Finished { .. }
        ));
        assert_eq!(s.file_bytes(), 100);
    }

    // R-MOD-2 with Config::send_buffer: netascii blocks no longer held are translated again
    // from where they started in the file (CR LF and CR NUL split across blocks included).
    #[test]
    fn netascii_rereads_translate_the_same_blocks() {
        let file = b"ab\ncdef\r\n\n\rxyz\n".repeat(5);
        let mut s = Sender::new(7, 6, Mode::Netascii, 7);
        let mut wire: Vec<Vec<u8>> = Vec::new();
        let mut keep = |sent: Vec<(u16, Vec<u8>)>| {
            for (b, d) in sent {
                let i = usize::from(b) - 1;
                match wire.get(i) {
                    Some(earlier) => assert_eq!(*earlier, d, "block {b} sent again differs"),
                    None => wire.push(d),
                }
            }
        };
        let first = pass(&mut s, &file);
        assert_eq!(first.len(), 6);
        keep(first);
        s.on_timeout();
        keep(pass(&mut s, &file));
        s.on_ack(2, Instant::ZERO, NO_GUARD);
        let mut last_acked = 2;
        loop {
            let sent = pass(&mut s, &file);
            let Some(&(last, _)) = sent.last() else {
                panic!("nothing to send after block {last_acked}");
            };
            keep(sent);
            // Every other round loses the window's tail: a gap after its first block.
            let ack = if last % 2 == 0 { last } else { last_acked + 1 };
            last_acked = u16::max(last_acked, ack);
            if matches!(
                s.on_ack(ack, Instant::ZERO, NO_GUARD),
                AckOutcome::Finished { .. }
            ) {
                break;
            }
        }
        assert_eq!(
            wire.concat(),
            b"ab\r\ncdef\r\0\r\n\r\n\r\0xyz\r\n".repeat(5)
        );
    }

    // Bad input (a file that changes under a transfer): a block sent whole that reads back
    // short, or an end of file that moved, stops the sender instead of sending other bytes.
    #[test]
    fn a_file_that_reads_back_differently_stops_the_sender() {
        let file = vec![5u8; 40];
        let mut s = Sender::new(8, 4, Mode::Octet, 8);
        assert_eq!(pass(&mut s, &file).len(), 4);
        s.on_timeout();
        let shrunk = &file[..12]; // now ends inside block 2, which went out whole
        assert_eq!(pass(&mut s, shrunk).len(), 1, "block 1 reads back whole");
        assert!(s.file_changed());
        assert!(s.next_data(Instant::ZERO).is_none());
        assert!(s.read_request().is_none());

        let mut s = Sender::new(8, 8, Mode::Octet, 8);
        assert_eq!(
            pass(&mut s, &file).len(),
            6,
            "blocks 1-5 and the empty block 6"
        );
        s.on_timeout();
        let grown = vec![5u8; 60];
        pass(&mut s, &grown);
        assert!(
            s.file_changed(),
            "block 6 was sent empty and now reads back full"
        );
    }
}
