//! The option list codec (RFC 2347): the `name NUL value NUL` pairs of a request or OACK,
//! validated, iterated and written.
//!
//! Which values a transfer runs with is negotiation's business ([`crate::options`]); this module
//! only knows the option names and that their values are decimal numbers.

use crate::wire::cstr::take_cstr;
use crate::wire::error::{Field, ParseError};

/// The options this library understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KnownOption {
    /// Block size (RFC 2348).
    Blksize,
    /// Retransmission timeout in seconds (RFC 2349).
    Timeout,
    /// Transfer size in bytes (RFC 2349).
    Tsize,
    /// Blocks per window (RFC 7440).
    Windowsize,
}

impl KnownOption {
    /// The option's name on the wire, lowercase.
    pub fn name(self) -> &'static str {
        match self {
            KnownOption::Blksize => "blksize",
            KnownOption::Timeout => "timeout",
            KnownOption::Tsize => "tsize",
            KnownOption::Windowsize => "windowsize",
        }
    }

    /// The option for a name, compared case-insensitively (R-PKT-3).
    pub fn from_name(name: &[u8]) -> Option<KnownOption> {
        [
            KnownOption::Blksize,
            KnownOption::Timeout,
            KnownOption::Tsize,
            KnownOption::Windowsize,
        ]
        .into_iter()
        .find(|o| o.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// The most option pairs a request or OACK may carry; more is a [`ParseError::TooManyOptions`].
pub const MAX_OPTIONS: usize = 64;

/// A decimal option value: `None` when empty or not all digits; saturates at `u64::MAX`
/// instead of overflowing, so a 500-digit value is just "very large".
pub fn parse_number(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// The option pairs of a request or OACK, borrowed and validated: names are non-empty and
/// unique (case-insensitively), and the values of known options are decimal numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionList<'a> {
    raw: &'a [u8],
}

impl<'a> OptionList<'a> {
    /// No options.
    pub const EMPTY: OptionList<'static> = OptionList { raw: b"" };

    /// Validates `raw`, a sequence of `name NUL value NUL` pairs.
    pub fn parse(raw: &'a [u8]) -> Result<OptionList<'a>, ParseError> {
        let mut rest = raw;
        let mut seen = [false; 4];
        let mut count = 0usize;
        while !rest.is_empty() {
            count += 1;
            if count > MAX_OPTIONS {
                return Err(ParseError::TooManyOptions);
            }
            let (name, after_name) = take_cstr(rest, Field::OptionName)?;
            let (value, after_value) = take_cstr(after_name, Field::OptionValue)?;
            if name.is_empty() {
                return Err(ParseError::EmptyOptionName);
            }
            if let Some(known) = KnownOption::from_name(name) {
                if parse_number(value).is_none() {
                    return Err(ParseError::BadOptionValue);
                }
                let slot = &mut seen[known as usize];
                if *slot {
                    return Err(ParseError::DuplicateOption);
                }
                *slot = true;
            } else {
                // Unknown names: compare with every earlier name (at most MAX_OPTIONS of them).
                let earlier = OptionList {
                    raw: &raw[..raw.len() - rest.len()],
                };
                if earlier.get_bytes(name).is_some() {
                    return Err(ParseError::DuplicateOption);
                }
            }
            rest = after_value;
        }
        Ok(OptionList { raw })
    }

    /// Wraps bytes this crate wrote itself and knows to be valid.
    pub(crate) fn from_trusted(raw: &'a [u8]) -> OptionList<'a> {
        OptionList { raw }
    }

    /// The pairs as they appear on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// True when there are no options.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The pairs in order, as `(name, value)` byte slices.
    pub fn iter(&self) -> OptionIter<'a> {
        OptionIter { rest: self.raw }
    }

    /// The value of the option `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.get_bytes(name.as_bytes())
    }

    fn get_bytes(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The numeric value of a known option, when present.
    pub fn number(&self, option: KnownOption) -> Option<u64> {
        self.get(option.name()).and_then(parse_number)
    }
}

impl core::fmt::Debug for OptionList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut m = f.debug_map();
        for (n, v) in self.iter() {
            m.entry(
                &core::str::from_utf8(n).unwrap_or("<bytes>"),
                &core::str::from_utf8(v).unwrap_or("<bytes>"),
            );
        }
        m.finish()
    }
}

/// Iterator over the pairs of an [`OptionList`].
#[derive(Clone, Debug)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, rest) = take_cstr(self.rest, Field::OptionName).ok()?;
        let (value, rest) = take_cstr(rest, Field::OptionValue).ok()?;
        self.rest = rest;
        Some((name, value))
    }
}

/// A small fixed buffer holding option pairs this crate writes (requests and OACKs): the four
/// known options need at most 70 bytes, so no allocation is needed.
#[derive(Clone, Copy)]
pub(crate) struct OptionBuf {
    bytes: [u8; 96],
    len: usize,
}

impl OptionBuf {
    pub(crate) const fn new() -> OptionBuf {
        OptionBuf {
            bytes: [0; 96],
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, option: KnownOption, value: u64) {
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for part in [option.name().as_bytes(), &[0], &digits[i..], &[0]] {
            self.bytes[self.len..self.len + part.len()].copy_from_slice(part);
            self.len += part.len();
        }
    }

    pub(crate) fn list(&self) -> OptionList<'_> {
        OptionList::from_trusted(&self.bytes[..self.len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(raw: &[u8]) -> OptionList<'_> {
        OptionList::parse(raw).unwrap()
    }

    // R-PKT-3
    #[test]
    fn r_pkt_3_names_are_case_insensitive() {
        let l = list(b"BlkSize\x001024\x00WINDOWSIZE\x004\x00");
        assert_eq!(l.number(KnownOption::Blksize), Some(1024));
        assert_eq!(l.number(KnownOption::Windowsize), Some(4));
        assert_eq!(
            OptionList::parse(b"x-ext\x00a\x00X-EXT\x00b\x00"),
            Err(ParseError::DuplicateOption)
        );
    }

    #[test]
    fn numbers_saturate() {
        assert_eq!(parse_number(&[b'9'; 500]), Some(u64::MAX));
        assert_eq!(parse_number(b""), None);
        assert_eq!(parse_number(b"-1"), None);
        assert_eq!(parse_number(b"007"), Some(7));
    }
}
