//! The windowed receiving machine: DATA in, ACK out (RFC 1350, RFC 7440).
//!
//! - The next block in order is handed to the caller once, at its file offset; a duplicate is
//!   never handed over again (R-XFR-7) and is acknowledged again only when it is the block last
//!   acknowledged (the sender lost that ACK), so duplicates cannot start a storm.
//! - An ACK goes out after every `windowsize` blocks in order and after the final block; a
//!   block ahead of the next one in order (a gap) is dropped and answered at once with an ACK
//!   of the last block in order, once per gap (R-OPT-8).
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
    /// Nothing to write and nothing to send.
    Ignored,
    /// Nothing to write; acknowledge `ack` (a lost ACK, or a gap).
    Ack { ack: u16 },
    /// New bytes to write at `offset`; `ack` is the ACK to send, if one is due now.
    /// `last` marks the final block.
    Deliver {
        offset: u64,
        len: usize,
        ack: Option<u16>,
        last: bool,
    },
    /// Longer than blksize.
    TooLong,
}

pub(crate) struct Receiver {
    blksize: usize,
    window: u32,
    /// Wire number of the last block received in order (0 before the first).
    last_wire: u16,
    /// Wire number of the last block acknowledged.
    acked_wire: u16,
    /// Blocks received in order since the last ACK.
    since_ack: u32,
    /// An ACK for the current gap was already sent.
    gap_acked: bool,
    /// The sender numbers 65535, 1, 2 ... (lock-step only).
    wraps_to_one: bool,
    /// Local bytes handed to the caller.
    written: u64,
    blocks: u64,
    done: bool,
    netascii: Option<(Decoder, Vec<u8>)>,
}

impl Receiver {
    pub(crate) fn new(blksize: u16, windowsize: u16, mode: Mode) -> Receiver {
        let blksize = usize::from(blksize.max(1));
        Receiver {
            blksize,
            window: u32::from(windowsize.max(1)),
            last_wire: 0,
            acked_wire: 0,
            since_ack: 0,
            gap_acked: false,
            wraps_to_one: false,
            written: 0,
            blocks: 0,
            done: false,
            netascii: (mode == Mode::Netascii)
                .then(|| (Decoder::new(), vec![0; Decoder::max_output(blksize) + 1])),
        }
    }

    fn expected_wire(&self) -> u16 {
        match self.last_wire.wrapping_add(1) {
            0 if self.wraps_to_one => 1,
            w => w,
        }
    }

    /// Handles DATA `wire` with `len` payload bytes.
    pub(crate) fn on_data(&mut self, wire: u16, len: usize) -> DataOutcome {
        if len > self.blksize {
            return DataOutcome::TooLong;
        }
        let expected = self.expected_wire();
        let in_order = wire == expected
            || (expected == 0 && wire == 1 && self.window == 1 && {
                self.wraps_to_one = true;
                true
            });
        if self.done || !in_order {
            let distance = wire.wrapping_sub(self.last_wire) as i16;
            if distance <= 0 || self.done {
                // Already written (R-XFR-7): answer only a repeat of the block last
                // acknowledged, whose ACK the sender evidently lost.
                return if wire == self.acked_wire {
                    DataOutcome::Ack { ack: wire }
                } else {
                    DataOutcome::Ignored
                };
            }
            // Ahead of the next block in order: a gap (R-OPT-8).
            if self.gap_acked {
                return DataOutcome::Ignored;
            }
            self.gap_acked = true;
            return DataOutcome::Ack {
                ack: self.ack_now(),
            };
        }
        self.last_wire = wire;
        self.gap_acked = false;
        self.since_ack += 1;
        self.blocks += 1;
        let last = len < self.blksize;
        self.done = last;
        let offset = self.written;
        let ack = (last || self.since_ack >= self.window).then(|| self.ack_now());
        DataOutcome::Deliver {
            offset,
            len,
            ack,
            last,
        }
    }

    /// Records that the last block in order is acknowledged now; returns its wire number.
    pub(crate) fn ack_now(&mut self) -> u16 {
        self.acked_wire = self.last_wire;
        self.since_ack = 0;
        self.last_wire
    }

    /// Translates a delivered payload for writing and counts it; returns the bytes to write.
    pub(crate) fn take<'a>(&'a mut self, payload: &'a [u8], last: bool) -> &'a [u8] {
        let out: &'a [u8] = match &mut self.netascii {
            None => payload,
            Some((decoder, buf)) => {
                let mut n = decoder.decode(payload, buf);
                if last {
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
        self.blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(r: &mut Receiver, wire: u16, len: usize) -> DataOutcome {
        let out = r.on_data(wire, len);
        if let DataOutcome::Deliver { last, .. } = out {
            r.take(&vec![0; len], last);
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

    // R-OPT-8
    #[test]
    fn r_opt_8_ack_per_window_and_once_per_gap() {
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
        // 5 lost: 6 answers ACK 4 at once, 7 and 8 say nothing more.
        assert_eq!(deliver(&mut r, 6, 8), DataOutcome::Ack { ack: 4 });
        assert_eq!(deliver(&mut r, 7, 8), DataOutcome::Ignored);
        assert_eq!(deliver(&mut r, 8, 8), DataOutcome::Ignored);
        // The resent window is taken; an old duplicate is ignored.
        assert!(matches!(
            deliver(&mut r, 5, 8),
            DataOutcome::Deliver { offset: 32, .. }
        ));
        assert_eq!(deliver(&mut r, 3, 8), DataOutcome::Ignored);
        assert!(matches!(
            deliver(&mut r, 6, 3),
            DataOutcome::Deliver {
                ack: Some(6),
                last: true,
                ..
            }
        ));
        assert_eq!(r.written(), 43);
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
            for _ in 0..70_000u32 {
                assert!(matches!(
                    deliver(&mut r, wire, 8),
                    DataOutcome::Deliver { .. }
                ));
                wire = wire.wrapping_add(1);
                if wire == 0 {
                    wire = wrap_to;
                }
            }
            assert_eq!(r.blocks(), 70_000);
        }
    }
}
