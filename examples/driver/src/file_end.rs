//! The file side of a transfer: the file a sender reads from, or the upload a receiver
//! writes to. All I/O is positional (`read_at` / `write_at`), so a retransmission or a
//! window never needs a seek.

use std::fs::File;
use std::io;

use crate::read_ahead::ReadAhead;
use crate::upload::Upload;

/// Where a session's file bytes come from or go to.
#[derive(Debug)]
pub enum FileEnd {
    /// A sender's file (server read, client put), read ahead for small blocks.
    Source(ReadAhead),
    /// A receiver's upload (server write, client get), renamed into place on success.
    Sink(Upload),
}

impl FileEnd {
    /// A sender's file.
    pub fn source(file: File) -> FileEnd {
        FileEnd::Source(ReadAhead::new(file))
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
            FileEnd::Sink(upload) => upload.write_at(offset, data),
            FileEnd::Source(_) => Err(io::Error::other("a source file is not written")),
        }
    }

    /// The transfer succeeded: an upload is fsynced and renamed into place.
    pub fn finish(&mut self) -> io::Result<()> {
        match self {
            FileEnd::Sink(upload) => upload.commit(),
            FileEnd::Source(_) => Ok(()),
        }
    }

    /// The transfer failed: an upload's temporary file is removed.
    pub fn discard(&mut self) {
        if let FileEnd::Sink(upload) = self {
            upload.discard();
        }
    }
}
