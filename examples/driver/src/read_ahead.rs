//! A sender's file with read-ahead: a lock-step transfer asks for one small block per round
//! trip, and one `pread` per block was a third of the server's system calls at blksize 512.
//! Reads of at most [`SMALL_READ`] bytes (one lock-step block) are served from one
//! [`READ_AHEAD`]-byte read kept in memory; larger reads (a window) go straight into the
//! caller's buffer, as before, so a windowed session never pays for the cache.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Bytes read at once for small reads (16 blocks of 512, 5 of 1468). The cache is allocated
/// only after [`SMALL_RUN`] small reads in a row: a windowed sender's reads are mostly whole
/// windows with a small one now and then (where its ring of slots wraps), and must not cost a
/// cache. 8 KiB rather than 16: the cache is most of a lock-step session's memory, and with
/// 16 KiB 10,000 sessions held 19.0 KiB each (`bash benches/bootstorm.sh`), for 0.09 fewer
/// system calls per block at blksize 1468.
pub const READ_AHEAD: usize = 8 * 1024;

/// Reads up to this long go through the cache (a lock-step block up to blksize 4096).
pub const SMALL_READ: usize = 4 * 1024;

/// Small reads in a row that make the cache worth its memory.
pub const SMALL_RUN: u8 = 4;

/// A file read at increasing offsets through a small cache.
#[derive(Debug)]
pub struct ReadAhead {
    file: Arc<File>,
    cache: Vec<u8>,
    /// File offset of `cache[0]`.
    start: u64,
    /// Valid bytes in `cache`; fewer than [`READ_AHEAD`] means the file ends there.
    len: usize,
    /// Small reads in a row so far (up to [`SMALL_RUN`]).
    small_run: u8,
}

impl ReadAhead {
    /// Wraps `file` (a file of its own, or one shared with other transfers of the same
    /// file: every read is positional); nothing is read yet.
    pub fn new(file: impl Into<Arc<File>>) -> ReadAhead {
        ReadAhead {
            file: file.into(),
            cache: Vec::new(),
            start: 0,
            len: 0,
            small_run: 0,
        }
    }

    /// Reads into `buf` at `offset` until it is full or the file ends; returns the count.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if buf.len() > SMALL_READ {
            self.small_run = 0;
            return read_full(&self.file, offset, buf);
        }
        self.small_run = self.small_run.saturating_add(1).min(SMALL_RUN);
        if self.cache.is_empty() && self.small_run < SMALL_RUN {
            return read_full(&self.file, offset, buf);
        }
        if !self.holds(offset, buf.len()) {
            if self.cache.is_empty() {
                self.cache = vec![0; READ_AHEAD];
            }
            self.len = 0; // a failed refill leaves nothing stale behind
            self.len = read_full(&self.file, offset, &mut self.cache)?;
            self.start = offset;
        }
        let from = (offset - self.start) as usize;
        let n = buf.len().min(self.len - from);
        buf[..n].copy_from_slice(&self.cache[from..from + n]);
        Ok(n)
    }

    /// True when the cache has `len` bytes at `offset`, or all the file has from there.
    fn holds(&self, offset: u64, len: usize) -> bool {
        if self.cache.is_empty() {
            return false;
        }
        let Some(from) = offset.checked_sub(self.start) else {
            return false;
        };
        let cached = self.len as u64;
        let at_eof = self.len < self.cache.len();
        from <= cached && (from.saturating_add(len as u64) <= cached || at_eof)
    }
}

/// `pread` until `buf` is full or the file ends.
fn read_full(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

impl crate::backend::FileSource for ReadAhead {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        ReadAhead::read_at(self, offset, buf)
    }
}
