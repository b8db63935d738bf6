//! A transfer's receipt: the SHA-256 of the file bytes it moved, in file order, which an
//! administrator can check against the file (`sha256sum`). Kept only when asked for
//! (`tftpd --log json`): an unused [`Receipt`] is a null pointer and one branch per block.
//!
//! The transfer hands over every piece of the file it touches, with its offset: a download
//! the bytes it read, an upload the bytes it wrote. Each byte counts once, in offset order:
//!
//! - a piece that only repeats bytes already hashed (a lost block read again from the file)
//!   adds nothing, and a piece that overlaps the hashed prefix adds only its new tail;
//! - a piece beyond the hashed prefix (an upload's block kept from ahead of a missing one) is
//!   held until the gap before it is filled, then hashed in turn. The core keeps such blocks
//!   only within one window, so at most a window's bytes wait here; past [`MAX_AHEAD`] bytes
//!   the receipt gives up rather than grow (the log then has no hash for that transfer).
//!
//! For an upload the hashed bytes are the ones written, which are the committed file; for a
//! download they are the file's bytes as read, the bytes the client received.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Bytes held from ahead of a gap before the receipt gives up (a window of 64 blocks of
/// 65464 bytes, the server's default limits, is 4 MiB).
pub const MAX_AHEAD: usize = 16 << 20;

/// The SHA-256 of a transfer's file bytes, or nothing when not kept.
#[derive(Clone, Debug, Default)]
pub struct Receipt(Option<Box<Hashing>>);

#[derive(Clone, Debug, Default)]
struct Hashing {
    hasher: Sha256,
    /// Bytes `0..hashed` of the file are in the hash.
    hashed: u64,
    /// Pieces beyond `hashed`, by offset, waiting for the gap before them.
    ahead: BTreeMap<u64, Vec<u8>>,
    ahead_bytes: usize,
    /// More than [`MAX_AHEAD`] bytes waited: no hash.
    gave_up: bool,
}

impl Receipt {
    /// A receipt that keeps nothing (the default).
    pub fn off() -> Receipt {
        Receipt(None)
    }

    /// A receipt that hashes what it is given.
    pub fn on() -> Receipt {
        Receipt(Some(Box::default()))
    }

    /// True when this receipt hashes.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// `data` is the file's content at `offset` (read for a download, written for an upload).
    pub fn note(&mut self, offset: u64, data: &[u8]) {
        if let Some(h) = &mut self.0 {
            h.note(offset, data);
        }
    }

    /// The lower-case hex SHA-256 of file bytes `0..len`, when this receipt hashed exactly
    /// those (it is on, did not give up, and has no gap).
    pub fn sha256_hex(&self, len: u64) -> Option<String> {
        let h = self.0.as_ref()?;
        if h.gave_up || h.hashed != len || !h.ahead.is_empty() {
            return None;
        }
        let digest = h.hasher.clone().finalize();
        Some(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl Hashing {
    fn note(&mut self, offset: u64, data: &[u8]) {
        if self.gave_up || data.is_empty() {
            return;
        }
        if offset > self.hashed {
            self.hold(offset, data);
            return;
        }
        self.extend(offset, data);
        // Pieces that waited for this one, in offset order.
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() > self.hashed {
                break;
            }
            let (start, piece) = entry.remove_entry();
            self.ahead_bytes -= piece.len();
            self.extend(start, &piece);
        }
    }

    /// Hashes the part of `data` (at `offset`, not beyond the prefix) past the prefix.
    fn extend(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        if end > self.hashed {
            let skip = usize::try_from(self.hashed - offset).unwrap_or(data.len());
            self.hasher.update(&data[skip..]);
            self.hashed = end;
        }
    }

    fn hold(&mut self, offset: u64, data: &[u8]) {
        let held = self.ahead.get(&offset).map_or(0, Vec::len);
        if held >= data.len() {
            return;
        }
        if self.ahead_bytes - held + data.len() > MAX_AHEAD {
            self.gave_up = true;
            self.ahead = BTreeMap::new();
            self.ahead_bytes = 0;
            return;
        }
        self.ahead_bytes = self.ahead_bytes - held + data.len();
        self.ahead.insert(offset, data.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(data: &[u8]) -> String {
        Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn file() -> Vec<u8> {
        (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect()
    }

    #[test]
    fn in_order_pieces_hash_the_file() {
        let data = file();
        let mut r = Receipt::on();
        for (i, chunk) in data.chunks(512).enumerate() {
            r.note(i as u64 * 512, chunk);
        }
        assert_eq!(r.sha256_hex(data.len() as u64), Some(hex(&data)));
        assert_eq!(r.sha256_hex(data.len() as u64 - 1), None);
    }

    #[test]
    fn pieces_read_again_count_once() {
        let data = file();
        let mut r = Receipt::on();
        r.note(0, &data[..2048]);
        // A lost block read again, and a read that overlaps the prefix.
        r.note(512, &data[512..1024]);
        r.note(1024, &data[1024..3000]);
        r.note(3000, &data[3000..]);
        assert_eq!(r.sha256_hex(data.len() as u64), Some(hex(&data)));
    }

    #[test]
    fn pieces_ahead_of_a_gap_wait_for_it() {
        let data = file();
        let mut r = Receipt::on();
        r.note(0, &data[..512]);
        r.note(2048, &data[2048..2560]);
        r.note(1536, &data[1536..2048]);
        assert_eq!(r.sha256_hex(512), None, "a gap is not a hash");
        r.note(512, &data[512..1536]);
        r.note(2560, &data[2560..]);
        assert_eq!(r.sha256_hex(data.len() as u64), Some(hex(&data)));
    }

    #[test]
    fn too_much_ahead_gives_up() {
        let mut r = Receipt::on();
        let block = vec![1u8; 1 << 20];
        for i in 0..=(MAX_AHEAD >> 20) as u64 {
            r.note((i + 1) << 20, &block);
        }
        r.note(0, &block);
        assert_eq!(r.sha256_hex((MAX_AHEAD as u64) + (2 << 20)), None);
    }

    #[test]
    fn off_keeps_nothing_and_empty_file_hashes() {
        let mut off = Receipt::off();
        off.note(0, b"abc");
        assert!(!off.is_on());
        assert_eq!(off.sha256_hex(3), None);
        assert_eq!(Receipt::on().sha256_hex(0), Some(hex(b"")));
    }
}
