//! Where a server's files come from and go to: the [`Backend`] trait, and the two halves of a
//! file a transfer uses, [`FileSource`] (read at an offset) and [`FileSink`] (write at an
//! offset, then commit or abort).
//!
//! The server never opens a file itself: for each request it asks its backend, with the
//! checked relative path ([`SafePath`]: no `..`, no NUL, no absolute path) and the client's
//! address. [`crate::fs::Folder`] is the default backend (a folder on disk, opened beneath its
//! handle, uploads atomic); a backend of your own can serve generated content (an iPXE script
//! chosen by the client's address), content from elsewhere (an object store, a database), or a
//! folder with rules of its own, without touching the rest of the driver. The `ipxe_script`
//! example of this crate is one such backend, served with no file on disk.
//!
//! The driver calls these methods from its event loop: they should not block for long (a slow
//! backend stalls every transfer of that loop).

use std::fmt::Debug;
use std::io;
use std::net::SocketAddr;

use tftp_proto::path::SafePath;
use tftp_proto::{Mode, Refusal};

/// What a request asks the backend for.
#[derive(Clone, Copy, Debug)]
pub struct FileRequest<'a> {
    /// The file, relative to whatever the backend serves (already checked by the core: no
    /// `..` component, no NUL, no control character; an absolute name was made relative).
    pub path: &'a SafePath,
    /// The client's address and port.
    pub peer: SocketAddr,
    /// The transfer mode (the backend gives and takes file bytes; the session translates
    /// netascii on the wire).
    pub mode: Mode,
}

/// A file opened for a read request.
#[derive(Debug)]
pub struct Opened {
    /// Its bytes.
    pub source: Box<dyn FileSource>,
    /// Its size in bytes when known: announced as `tsize` when the client asks. `None`
    /// leaves `tsize` out of the answer (content generated as it is read).
    pub size: Option<u64>,
}

/// Serves a server's files.
///
/// A refusal ([`Refusal`]: an ERROR code and a short message) is sent to the client as it is,
/// so its message must not reveal what the client should not learn (a server path, say).
pub trait Backend: Debug + Send + Sync {
    /// Opens a file for a read request (RRQ).
    fn open_read(&self, request: &FileRequest<'_>) -> Result<Opened, Refusal>;

    /// Starts an upload for a write request (WRQ). Nothing the sink receives may be visible
    /// under the file's name before [`FileSink::commit`]; an upload that never commits leaves
    /// nothing behind.
    fn create(&self, request: &FileRequest<'_>) -> Result<Box<dyn FileSink>, Refusal>;

    /// False when no upload can succeed here: write requests are then refused (ERROR 2)
    /// before any session or file is made for them. True by default.
    fn accepts_uploads(&self) -> bool {
        true
    }
}

/// The bytes of a file being sent.
pub trait FileSource: Debug + Send {
    /// Reads into `buf` at `offset` until `buf` is full or the file ends, and returns the
    /// count: fewer bytes than asked means the file ends there. Offsets normally grow, but a
    /// lost block can be read again at an earlier offset, and must give the same bytes (a
    /// file that reads back differently ends the transfer with an ERROR).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// A file being received.
pub trait FileSink: Debug + Send {
    /// Writes `data` at `offset`. Blocks can come ahead of a missing one (they are written at
    /// their own offsets), and each byte is written once.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// The last block arrived: make the file what was received, under its name. An error
    /// is sent to the client instead of the final acknowledgement, and the upload must then
    /// leave nothing behind.
    fn commit(&mut self) -> io::Result<()>;

    /// The transfer failed or was stopped (or the commit failed): drop what was received.
    /// Never called after a successful commit; a second call must do nothing.
    fn abort(&mut self);
}

/// Bytes in memory as a [`FileSource`] (generated content, a cached file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl FileSource for Bytes {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(offset).map_or(self.0.len(), |o| o.min(self.0.len()));
        let n = buf.len().min(self.0.len() - start);
        buf[..n].copy_from_slice(&self.0[start..start + n]);
        Ok(n)
    }
}

impl Bytes {
    /// The file as an [`Opened`], its size known.
    pub fn opened(self) -> Opened {
        let size = Some(self.0.len() as u64);
        Opened {
            source: Box::new(self),
            size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_at_any_offset_and_past_the_end() {
        let mut b = Bytes(b"hello world".to_vec());
        let mut buf = [0u8; 4];
        assert_eq!(b.read_at(0, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"hell");
        assert_eq!(b.read_at(9, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"ld");
        assert_eq!(b.read_at(11, &mut buf).unwrap(), 0);
        assert_eq!(b.read_at(u64::MAX, &mut buf).unwrap(), 0);
    }
}
