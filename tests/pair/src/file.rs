//! The files behind the two sides, in memory: what a sender's reads return ([`Source`]) and
//! where a receiver's writes go ([`File`]).

use std::borrow::Cow;

/// What a sender's reads return: `pattern` repeated up to `len` bytes. With the whole file as
/// the pattern every read is one copy; a short pattern lets a test run a long transfer on
/// little memory.
#[derive(Clone)]
pub struct Source<'a> {
    pattern: Cow<'a, [u8]>,
    len: u64,
}

impl<'a> Source<'a> {
    /// A file of exactly `bytes`.
    pub fn new(bytes: impl Into<Cow<'a, [u8]>>) -> Source<'a> {
        let pattern = bytes.into();
        let len = pattern.len() as u64;
        Source { pattern, len }
    }

    /// `pattern` repeated up to `len` bytes (`pattern` may be empty only when `len` is 0).
    pub fn repeating(pattern: impl Into<Cow<'a, [u8]>>, len: u64) -> Source<'a> {
        let pattern = pattern.into();
        assert!(len == 0 || !pattern.is_empty(), "an empty pattern repeated");
        Source { pattern, len }
    }

    /// A file of no bytes.
    pub fn empty() -> Source<'a> {
        Source::new(&[][..])
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for a file of no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the file bytes at `offset` into `out`; returns how many (short at end of file).
    #[inline]
    pub fn read(&self, offset: u64, out: &mut [u8]) -> usize {
        let n = self.len.saturating_sub(offset).min(out.len() as u64) as usize;
        let p = &self.pattern[..];
        // Within the pattern (n is 0 past the end of the file, so this cannot overflow).
        if offset <= p.len() as u64 && offset as usize + n <= p.len() {
            let start = offset as usize;
            out[..n].copy_from_slice(&p[start..start + n]);
            return n;
        }
        let mut done = 0;
        while done < n {
            let at = ((offset + done as u64) % p.len() as u64) as usize;
            let chunk = (n - done).min(p.len() - at);
            out[done..done + chunk].copy_from_slice(&p[at..at + chunk]);
            done += chunk;
        }
        n
    }
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pattern = self.pattern.len();
        write!(
            f,
            "Source {{ len: {}, pattern: {pattern} bytes }}",
            self.len
        )
    }
}

/// Where the writes of a [`File`] go.
enum Store<'a> {
    /// A buffer that grows to the end of the furthest write.
    Grow(Vec<u8>),
    /// A buffer the caller lent, written at offset modulo its length.
    Wrap(&'a mut [u8]),
    /// Nowhere.
    Discard,
}

/// One side's file: a [`Source`] its reads come from, and a store its writes go to (a buffer
/// that grows, by default).
#[derive(Debug)]
pub struct File<'a> {
    source: Source<'a>,
    store: Store<'a>,
    /// With [`File::written_once`]: which bytes were written.
    covered: Option<Vec<bool>>,
}

impl<'a> File<'a> {
    /// A file whose reads return `source`; writes grow a buffer of their own.
    pub fn serving(source: Source<'a>) -> File<'a> {
        File {
            source,
            store: Store::Grow(Vec::new()),
            covered: None,
        }
    }

    /// A file with nothing to read, whose writes grow a buffer (a receiver's).
    pub fn empty() -> File<'a> {
        File::serving(Source::empty())
    }

    /// A file with nothing to read, whose writes go into `buf` at their offset modulo its
    /// length (so a long transfer needs little memory, and allocates nothing).
    pub fn wrapping_into(buf: &'a mut [u8]) -> File<'a> {
        assert!(!buf.is_empty(), "an empty buffer to write into");
        File {
            store: Store::Wrap(buf),
            ..File::empty()
        }
    }

    /// The same file, but its writes are dropped (a fuzzed receiver can write anywhere).
    pub fn discarding(self) -> File<'a> {
        File {
            store: Store::Discard,
            ..self
        }
    }

    /// The same file, but a write that covers a byte already written panics.
    pub fn written_once(self) -> File<'a> {
        File {
            covered: Some(Vec::new()),
            ..self
        }
    }

    /// A file with the same source and checks and nothing written, writing into a growing
    /// buffer (for a second session of the same side).
    pub fn fresh(&self) -> File<'a> {
        File {
            source: self.source.clone(),
            store: Store::Grow(Vec::new()),
            covered: self.covered.as_ref().map(|_| Vec::new()),
        }
    }

    /// What the reads return.
    pub fn source(&self) -> &Source<'a> {
        &self.source
    }

    /// Copies the file bytes at `offset` into `out`; returns how many (short at end of file).
    pub fn read(&self, offset: u64, out: &mut [u8]) -> usize {
        self.source.read(offset, out)
    }

    /// Writes `data` at file offset `offset`.
    #[inline]
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        if let Some(covered) = &mut self.covered {
            let (start, end) = span(offset, data.len());
            if covered.len() < end {
                covered.resize(end, false);
            }
            assert!(
                covered[start..end].iter().all(|c| !c),
                "bytes {start}..{end} written twice"
            );
            covered[start..end].fill(true);
        }
        match &mut self.store {
            Store::Grow(bytes) => {
                let (start, end) = span(offset, data.len());
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[start..end].copy_from_slice(data);
            }
            Store::Wrap(buf) => wrap_write(buf, offset, data),
            Store::Discard => {}
        }
    }

    /// The bytes written so far, up to the end of the furthest write (empty unless the writes
    /// grow a buffer).
    pub fn written(&self) -> &[u8] {
        match &self.store {
            Store::Grow(bytes) => bytes,
            _ => &[],
        }
    }

    /// The bytes written, as [`File::written`].
    pub fn into_written(self) -> Vec<u8> {
        match self.store {
            Store::Grow(bytes) => bytes,
            _ => Vec::new(),
        }
    }
}

impl std::fmt::Debug for Store<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Grow(bytes) => write!(f, "Grow({} bytes)", bytes.len()),
            Store::Wrap(buf) => write!(f, "Wrap({} bytes)", buf.len()),
            Store::Discard => write!(f, "Discard"),
        }
    }
}

/// The byte range `offset..offset + len` as indexes into a buffer in memory.
fn span(offset: u64, len: usize) -> (usize, usize) {
    let start = usize::try_from(offset).expect("a write offset that fits in memory");
    (start, start + len)
}

/// Copies `data` to `offset` modulo the length of `buf`.
fn wrap_write(buf: &mut [u8], offset: u64, data: &[u8]) {
    if offset <= buf.len() as u64 && offset as usize + data.len() <= buf.len() {
        let start = offset as usize;
        buf[start..start + data.len()].copy_from_slice(data);
        return;
    }
    let mut done = 0;
    while done < data.len() {
        let at = ((offset + done as u64) % buf.len() as u64) as usize;
        let chunk = (data.len() - done).min(buf.len() - at);
        buf[at..at + chunk].copy_from_slice(&data[done..done + chunk]);
        done += chunk;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_pattern_reads_across_its_end() {
        let source = Source::repeating(&b"abc"[..], 8);
        let mut out = [0u8; 6];
        assert_eq!(source.read(2, &mut out), 6);
        assert_eq!(&out, b"cabcab");
        assert_eq!(source.read(6, &mut out), 2, "short at the end of the file");
        assert_eq!(&out[..2], b"ab");
        assert_eq!(source.read(9, &mut out), 0);
    }

    #[test]
    fn writes_grow_a_buffer_or_wrap_around_a_lent_one() {
        let mut grown = File::empty();
        grown.write(3, b"xy");
        assert_eq!(grown.written(), b"\0\0\0xy");
        let mut buf = [0u8; 4];
        let mut wrapped = File::wrapping_into(&mut buf);
        wrapped.write(3, b"abc");
        drop(wrapped);
        assert_eq!(&buf, b"bc\0a");
    }

    #[test]
    #[should_panic(expected = "bytes 2..4 written twice")]
    fn written_once_catches_an_overlap() {
        let mut file = File::empty().written_once();
        file.write(0, b"abc");
        file.write(2, b"de");
    }
}
