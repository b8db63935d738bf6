//! NUL-terminated fields: splitting one off a datagram, and writing fields in order into a
//! buffer.

use crate::wire::error::{EncodeError, Field, ParseError};

/// Splits `bytes` at its first NUL: the field before it and the rest after it.
pub(crate) fn take_cstr(bytes: &[u8], field: Field) -> Result<(&[u8], &[u8]), ParseError> {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => Ok((&bytes[..i], &bytes[i + 1..])),
        None => Err(ParseError::MissingNul(field)),
    }
}

/// Writes fields in order into a buffer already checked to be long enough.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    /// A writer at the start of `buf`.
    pub(crate) fn new(buf: &'b mut [u8]) -> Writer<'b> {
        Writer { buf, pos: 0 }
    }

    /// How many bytes have been written.
    pub(crate) fn written(&self) -> usize {
        self.pos
    }

    /// Writes `bytes` as they are.
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    /// Writes `s` and its NUL; fails when `s` holds a NUL, or is empty and may not be.
    pub(crate) fn cstr(
        &mut self,
        s: &[u8],
        field: Field,
        may_be_empty: bool,
    ) -> Result<(), EncodeError> {
        if s.contains(&0) || (s.is_empty() && !may_be_empty) {
            return Err(EncodeError::BadString(field));
        }
        self.put(s);
        self.put(&[0]);
        Ok(())
    }
}
