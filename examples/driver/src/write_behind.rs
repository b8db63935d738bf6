//! A receiver's writes gathered into larger ones: the core hands over one block per DATA, and
//! one `pwrite` per block is one system call per datagram received. Contiguous small writes
//! are collected in a [`WRITE_BEHIND`]-byte buffer and written with one `pwrite` when it is
//! full, when a write does not continue it (a block kept from ahead of a gap), and before the
//! upload is fsynced ([`WriteBehind::flush`]). Larger writes go straight to the file.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes gathered before one `pwrite` (22 blocks of 1468, 64 of 512).
pub const WRITE_BEHIND: usize = 32 * 1024;

/// Writes up to this long are gathered; longer ones (blksize 8192 and up) are written at once.
pub const SMALL_WRITE: usize = WRITE_BEHIND / 4;

/// Small writes in a row that make the buffer worth its memory (a one-block upload never
/// allocates it).
pub const SMALL_RUN: u8 = 4;

/// Pending writes of a file: `buf` belongs at `start`.
#[derive(Debug, Default)]
pub struct WriteBehind {
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    start: u64,
    /// Small writes in a row so far (up to [`SMALL_RUN`]).
    small_run: u8,
}

impl WriteBehind {
    /// Nothing pending, no buffer yet.
    pub fn new() -> WriteBehind {
        WriteBehind::default()
    }

    /// Writes `data` at `offset` of `file`, now or with later writes. An error may belong to
    /// bytes given in an earlier call; either way the upload has failed.
    pub fn write_at(&mut self, file: &File, offset: u64, data: &[u8]) -> io::Result<()> {
        if data.len() > SMALL_WRITE {
            self.small_run = 0;
            self.flush(file)?;
            return file.write_all_at(data, offset);
        }
        self.small_run = self.small_run.saturating_add(1).min(SMALL_RUN);
        if self.buf.capacity() == 0 && self.small_run < SMALL_RUN {
            return file.write_all_at(data, offset);
        }
        let continues = self.start.checked_add(self.buf.len() as u64) == Some(offset);
        if !self.buf.is_empty() && (!continues || self.buf.len() + data.len() > WRITE_BEHIND) {
            self.flush(file)?;
        }
        if self.buf.capacity() == 0 {
            self.buf = Vec::with_capacity(WRITE_BEHIND);
        }
        if self.buf.is_empty() {
            self.start = offset;
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() == WRITE_BEHIND {
            self.flush(file)?;
        }
        Ok(())
    }

    /// Writes what is pending. The buffer is empty afterwards, also on error.
    pub fn flush(&mut self, file: &File) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = file.write_all_at(&self.buf, self.start);
        self.buf.clear();
        result
    }

    /// Drops what is pending (the upload is discarded).
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}
