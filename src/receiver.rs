//! The windowed receiving machine: DATA in, ACK out (RFC 1350, RFC 7440).
//!
//! - Each new block is handed to the caller once, at its file offset; a duplicate is never
//!   handed over again (R-XFR-7) and is acknowledged again only when it is the block last
//!   acknowledged (the sender lost that ACK), so duplicates cannot start a storm.
//! - An ACK goes out after every `windowsize` blocks in order and once the final block is in.
//! - In octet mode a block that arrives ahead of a missing one (reordering, or a loss) is kept:
//!   it is handed over at its own offset and remembered, so a reordered window costs nothing.
//!   In netascii (whose offsets depend on earlier blocks) it is dropped. Either way the machine
//!   reports the gap; the session waits a short reorder window and then acknowledges the last
//!   block in order, once per gap, so the sender resumes from there (R-OPT-8).
//! - A payload longer than blksize is refused (R-XFR-13).
//! - Block numbers wrap from 65535 to 0; a lock-step sender that wraps to 1 is followed
//!   (R-XFR-11).

use alloc::vec;
use alloc::vec::Vec;

use crate::mode::Mode;
use crate::netascii::Decoder;

/// What a DATA did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataOutcome {
    /// Nothing to write and nothing to send now; `gap` says blocks are missing below one that
    /// arrived.
    Ignored { gap: bool },
    /// Nothing to write; acknowledge `ack` again (the sender lost it).
    Ack { ack: u16 },
    /// New bytes to write at `offset`. `ack` is the ACK due now, if any; `complete` says every
    /// block up to the final one is in; `final_payload` says this payload is the final block;
    /// `gap` as in `Ignored`.
    Deliver {
        offset: u64,
        len: usize,
        ack: Option<u16>,
        complete: bool,
        final_payload: bool,
        gap: bool,
    },
    /// Longer than blksize.
    TooLong,
}

pub(crate) struct Receiver {
    blksize: usize,
    window: u64,
    /// Blocks 1..=in_order are all in.
    in_order: u64,
    /// Wire number of block `in_order`.
    last_wire: u16,
    /// Last block acknowledged, and its wire number.
    acked: u64,
    acked_wire: u16,
    /// Blocks in (in_order, in_order + window] already received (octet only); block b is bit
    /// b % window.
    ahead: Vec<bool>,
    ahead_count: u64,
    /// The final (short) block, once seen.
    final_block: Option<u64>,
    /// A gap ACK was sent and nothing moved since.
    gap_acked: bool,
    /// The sender numbers 65535, 1, 2 ... (lock-step only).
    wraps_to_one: bool,
    /// Local bytes handed to the caller.
    written: u64,
    netascii: Option<(Decoder, Vec<u8>)>,
}

impl Receiver {
    pub(crate) fn new(blksize: u16, windowsize: u16, mode: Mode) -> Receiver {
        let blksize = usize::from(blksize.max(1));
        let window = u64::from(windowsize.max(1));
        let keeps_ahead = mode == Mode::Octet && window > 1;
        Receiver {
            blksize,
            window,
            in_order: 0,
            last_wire: 0,
            acked: 0,
            acked_wire: 0,
            ahead: if keeps_ahead {
                vec![false; window as usize]
            } else {
                Vec::new()
            },
            ahead_count: 0,
            final_block: None,
            gap_acked: false,
            wraps_to_one: false,
            written: 0,
            netascii: (mode == Mode::Netascii)
                .then(|| (Decoder::new(), vec![0; Decoder::max_output(blksize) + 1])),
        }
    }

    fn complete(&self) -> bool {
        self.final_block == Some(self.in_order)
    }

    fn slot(&self, block: u64) -> usize {
        (block % self.window) as usize
    }

    /// Handles DATA `wire` with `len` payload bytes.
    pub(crate) fn on_data(&mut self, wire: u16, len: usize) -> DataOutcome {
        if len > self.blksize {
            return DataOutcome::TooLong;
        }
        let mut distance = wire.wrapping_sub(self.last_wire) as i16;
        if self.last_wire == u16::MAX && wire == 1 && self.window == 1 && !self.complete() {
            // A lock-step sender that skips block 0 after 65535.
            self.wraps_to_one = true;
        }
        if self.wraps_to_one && self.last_wire == u16::MAX && wire == 1 {
            distance = 1;
        }
        if distance <= 0 || self.complete() {
            // Already written (R-XFR-7): answer only a repeat of the block last acknowledged,
            // whose ACK the sender evidently lost.
            return if wire == self.acked_wire {
                DataOutcome::Ack {
                    ack: self.acked_wire,
                }
            } else {
                DataOutcome::Ignored {
                    gap: self.has_gap(),
                }
            };
        }
        let block = self.in_order + distance as u64;
        let short = len < self.blksize;
        let beyond_final = self.final_block.is_some_and(|f| block > f);
        let beyond_window = block > self.acked + self.window;
        if beyond_final
            || beyond_window
            || (short && self.ahead_count > 0 && block < self.highest_ahead())
        {
            return DataOutcome::Ignored {
                gap: self.has_gap(),
            };
        }
        if distance > 1 {
            // Ahead of a missing block.
            if self.ahead.is_empty() || self.ahead[self.slot(block)] {
                return DataOutcome::Ignored { gap: true };
            }
            let slot = self.slot(block);
            self.ahead[slot] = true;
            self.ahead_count += 1;
            if short {
                self.final_block = Some(block);
            }
            return DataOutcome::Deliver {
                offset: (block - 1) * self.blksize as u64,
                len,
                ack: None,
                complete: false,
                final_payload: short,
                gap: true,
            };
        }
        // The next block in order; blocks kept ahead of it may now follow.
        let offset = match &self.netascii {
            Some(_) => self.written,
            None => (block - 1) * self.blksize as u64,
        };
        if short {
            self.final_block = Some(block);
        }
        self.advance(wire);
        while self.ahead_count > 0 && self.ahead[self.slot(self.in_order + 1)] {
            let slot = self.slot(self.in_order + 1);
            self.ahead[slot] = false;
            self.ahead_count -= 1;
            let next = self.last_wire.wrapping_add(1);
            self.advance(next);
        }
        let complete = self.complete();
        let ack = (complete || self.in_order - self.acked >= self.window).then(|| self.ack_now());
        DataOutcome::Deliver {
            offset,
            len,
            ack,
            complete,
            final_payload: short,
            gap: self.has_gap(),
        }
    }

    fn advance(&mut self, wire: u16) {
        self.in_order += 1;
        self.last_wire = wire;
        self.gap_acked = false;
    }

    fn highest_ahead(&self) -> u64 {
        (1..=self.window)
            .rev()
            .map(|d| self.in_order + d)
            .find(|&b| self.ahead[self.slot(b)])
            .unwrap_or(self.in_order)
    }

    /// True while a block is missing below one that arrived.
    pub(crate) fn has_gap(&self) -> bool {
        self.ahead_count > 0
    }

    /// The ACK that reports a gap: the last block in order, once per gap (`None` when already
    /// sent and nothing moved since).
    pub(crate) fn gap_ack(&mut self) -> Option<u16> {
        if self.gap_acked {
            return None;
        }
        self.gap_acked = true;
        Some(self.ack_now())
    }

    /// Records that the last block in order is acknowledged now; returns its wire number.
    pub(crate) fn ack_now(&mut self) -> u16 {
        self.acked = self.in_order;
        self.acked_wire = self.last_wire;
        self.last_wire
    }

    /// Translates a delivered payload for writing and counts it; returns the bytes to write.
    pub(crate) fn take<'a>(&'a mut self, payload: &'a [u8], final_payload: bool) -> &'a [u8] {
        let out: &'a [u8] = match &mut self.netascii {
            None => payload,
            Some((decoder, buf)) => {
                let mut n = decoder.decode(payload, buf);
                if final_payload {
                    n += decoder.finish(&mut buf[n..]);
                }
                &buf[..n]
            }
        };
        self.written += out.len() as u64;
        out
    }

    /// Bytes handed to the caller so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Blocks received in order.
    pub(crate) fn blocks(&self) -> u64 {
        self.in_order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(r: &mut Receiver, wire: u16, len: usize) -> DataOutcome {
        let out = r.on_data(wire, len);
        if let DataOutcome::Deliver { final_payload, .. } = out {
            let _ = r.take(&vec![0; len], final_payload);
        }
        out
    }

    // R-XFR-7
    #[test]
    fn r_xfr_7_duplicate_is_acked_not_written() {
        let mut r = Receiver::new(8, 1, Mode::Octet);
        assert!(matches!(
            deliver(&mut r, 1, 8),
            DataOutcome::Deliver {
                offset: 0,
                ack: Some(1),
                ..
            }
        ));
        assert_eq!(deliver(&mut r, 1, 8), DataOutcome::Ack { ack: 1 });
        assert_eq!(r.written(), 8);
    }

    // R-OPT-8: ACK per window; a block ahead of a gap is kept and the gap reported.
    #[test]
    fn r_opt_8_ack_per_window_and_gap_reported() {
        let mut r = Receiver::new(8, 4, Mode::Octet);
        for b in 1..=3 {
            assert!(matches!(
                deliver(&mut r, b, 8),
                DataOutcome::Deliver { ack: None, .. }
            ));
        }
        assert!(matches!(
            deliver(&mut r, 4, 8),
            DataOutcome::Deliver { ack: Some(4), .. }
        ));
        // 5 is late: 6 and 7 are kept, each at its own offset, and the gap is reported.
        assert!(matches!(
            deliver(&mut r, 6, 8),
            DataOutcome::Deliver {
                offset: 40,
                gap: true,
                ack: None,
                ..
            }
        ));
        assert!(matches!(
            deliver(&mut r, 7, 8),
            DataOutcome::Deliver {
                offset: 48,
                gap: true,
                ..
            }
        ));
        assert_eq!(r.gap_ack(), Some(4));
        assert_eq!(r.gap_ack(), None, "once per gap");
        assert_eq!(deliver(&mut r, 6, 8), DataOutcome::Ignored { gap: true });
        // 5 arrives: 5, 6, 7 are in order now; the window ends at 8.
        assert!(matches!(
            deliver(&mut r, 5, 8),
            DataOutcome::Deliver {
                offset: 32,
                gap: false,
                ack: None,
                ..
            }
        ));
        assert!(matches!(
            deliver(&mut r, 8, 3),
            DataOutcome::Deliver {
                ack: Some(8),
                complete: true,
                ..
            }
        ));
        assert_eq!(r.written(), 8 * 7 + 3);
    }

    // R-OPT-8: netascii drops a block ahead of a gap (its offset is unknown) but reports it.
    #[test]
    fn netascii_drops_blocks_ahead_of_a_gap() {
        let mut r = Receiver::new(8, 4, Mode::Netascii);
        assert!(matches!(deliver(&mut r, 1, 8), DataOutcome::Deliver { .. }));
        assert_eq!(deliver(&mut r, 3, 8), DataOutcome::Ignored { gap: true });
    }

    // R-XFR-13
    #[test]
    fn r_xfr_13_longer_than_blksize_is_refused() {
        let mut r = Receiver::new(512, 1, Mode::Octet);
        assert_eq!(r.on_data(1, 513), DataOutcome::TooLong);
    }

    // R-XFR-11
    #[test]
    fn r_xfr_11_rollover_to_zero_and_to_one() {
        for wrap_to in [0u16, 1] {
            let mut r = Receiver::new(8, 1, Mode::Octet);
            let mut wire = 1u16;
            for i in 0..70_000u64 {
                let out = deliver(&mut r, wire, 8);
                assert!(
                    matches!(out, DataOutcome::Deliver { offset, .. } if offset == i * 8),
                    "{i}"
                );
                wire = wire.wrapping_add(1);
                if wire == 0 {
                    wire = wrap_to;
                }
            }
            assert_eq!(r.blocks(), 70_000);
        }
    }
}
