//! The file side of a transfer: the file a sender reads from, or the upload a receiver
//! writes to, behind the [`FileSource`] and [`FileSink`] traits (a local file, or whatever a
//! [`crate::backend::Backend`] gives). All I/O is positional (`read_at` / `write_at`), so a
//! retransmission or a window never needs a seek.

use std::fs::File;
use std::io;

use crate::backend::{FileSink, FileSource};
use crate::read_ahead::ReadAhead;

/// Where a session's file bytes come from or go to.
#[derive(Debug)]
pub enum FileEnd {
    /// A sender's file (server read, client put).
    Source(Box<dyn FileSource>),
    /// A receiver's upload (server write, client get), committed on success.
    Sink(Box<dyn FileSink>),
}

impl FileEnd {
    /// A sender's local file, read ahead for small blocks.
    pub fn source(file: File) -> FileEnd {
        FileEnd::Source(Box::new(ReadAhead::new(file)))
    }

    /// Reads into `buf` at `offset` until it is full or the file ends; returns the count.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            FileEnd::Source(source) => source.read_at(offset, buf),
            FileEnd::Sink(_) => Err(io::Error::other("an upload is not read")),
        }
    }

    /// Writes `data` at `offset`.
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        match self {
            FileEnd::Sink(sink) => sink.write_at(offset, data),
            FileEnd::Source(_) => Err(io::Error::other("a source file is not written")),
        }
    }

    /// The transfer succeeded: an upload is committed (a local one fsynced and renamed into
    /// place).
    pub fn finish(&mut self) -> io::Result<()> {
        match self {
            FileEnd::Sink(sink) => sink.commit(),
            FileEnd::Source(_) => Ok(()),
        }
    }

    /// The transfer failed: an upload is aborted (a local one's temporary file removed).
    pub fn discard(&mut self) {
        if let FileEnd::Sink(sink) = self {
            sink.abort();
        }
    }
}
