//! TFTP packets on the wire (RFC 1350, RFC 2347): a borrowed view parsed from a datagram, and
//! encoding into a caller-provided buffer.
//!
//! Parsing checks every length once and borrows the datagram's bytes: file names, payloads and
//! messages are slices of the input, never copies. Every malformed input is a [`ParseError`],
//! never a panic (R-PKT-5). Unknown error codes are kept as values ([`ErrorCode::Other`]).

use crate::wire::cstr::{take_cstr, Writer};
use crate::wire::error::{EncodeError, Field, ParseError};
use crate::wire::option_list::OptionList;

/// Largest DATA payload any TFTP peer may negotiate (RFC 2348).
pub const MAX_BLKSIZE: usize = 65464;
/// DATA payload size without a `blksize` option (RFC 1350).
pub const DEFAULT_BLKSIZE: usize = 512;
/// Length of a DATA or ACK header: opcode and block number.
pub const HEADER_LEN: usize = 4;
/// Largest request this library sends (RFC 2347 keeps requests within 512 bytes).
pub const MAX_SENT_REQUEST: usize = 512;

/// The opcode of a TFTP packet (R-PKT-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Opcode {
    /// Read request.
    Rrq = 1,
    /// Write request.
    Wrq = 2,
    /// A block of file data.
    Data = 3,
    /// Acknowledgement of a block.
    Ack = 4,
    /// An error, which ends the transfer.
    Error = 5,
    /// Option acknowledgement (RFC 2347).
    Oack = 6,
}

impl Opcode {
    /// The opcode for a wire value, or `None` for values outside 1..=6.
    pub fn from_u16(value: u16) -> Option<Opcode> {
        Some(match value {
            1 => Opcode::Rrq,
            2 => Opcode::Wrq,
            3 => Opcode::Data,
            4 => Opcode::Ack,
            5 => Opcode::Error,
            6 => Opcode::Oack,
            _ => return None,
        })
    }
}

/// A TFTP error code (R-PKT-7). Codes outside 0..=8 are kept as [`ErrorCode::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: not defined, see the message.
    NotDefined,
    /// 1: file not found.
    FileNotFound,
    /// 2: access violation.
    AccessViolation,
    /// 3: disk full or allocation exceeded.
    DiskFull,
    /// 4: illegal TFTP operation.
    IllegalOperation,
    /// 5: unknown transfer ID.
    UnknownTransferId,
    /// 6: file already exists.
    FileExists,
    /// 7: no such user.
    NoSuchUser,
    /// 8: option negotiation refused (RFC 2347).
    OptionRefused,
    /// Any other code, kept as it came.
    Other(u16),
}

impl ErrorCode {
    /// The code as it goes on the wire.
    pub fn to_u16(self) -> u16 {
        match self {
            ErrorCode::NotDefined => 0,
            ErrorCode::FileNotFound => 1,
            ErrorCode::AccessViolation => 2,
            ErrorCode::DiskFull => 3,
            ErrorCode::IllegalOperation => 4,
            ErrorCode::UnknownTransferId => 5,
            ErrorCode::FileExists => 6,
            ErrorCode::NoSuchUser => 7,
            ErrorCode::OptionRefused => 8,
            ErrorCode::Other(code) => code,
        }
    }

    /// The code for a wire value; values 0..=8 always map to their named variant.
    pub fn from_u16(value: u16) -> ErrorCode {
        match value {
            0 => ErrorCode::NotDefined,
            1 => ErrorCode::FileNotFound,
            2 => ErrorCode::AccessViolation,
            3 => ErrorCode::DiskFull,
            4 => ErrorCode::IllegalOperation,
            5 => ErrorCode::UnknownTransferId,
            6 => ErrorCode::FileExists,
            7 => ErrorCode::NoSuchUser,
            8 => ErrorCode::OptionRefused,
            other => ErrorCode::Other(other),
        }
    }

    /// The RFC's wording for the code.
    pub fn description(self) -> &'static str {
        match self {
            ErrorCode::NotDefined => "not defined",
            ErrorCode::FileNotFound => "file not found",
            ErrorCode::AccessViolation => "access violation",
            ErrorCode::DiskFull => "disk full or allocation exceeded",
            ErrorCode::IllegalOperation => "illegal TFTP operation",
            ErrorCode::UnknownTransferId => "unknown transfer ID",
            ErrorCode::FileExists => "file already exists",
            ErrorCode::NoSuchUser => "no such user",
            ErrorCode::OptionRefused => "option negotiation refused",
            ErrorCode::Other(_) => "unknown error code",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.to_u16(), self.description())
    }
}

/// The body of a read or write request (R-PKT-2), borrowed from the datagram.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The file name as sent: raw bytes, not yet checked as a path (see [`crate::path`]).
    pub filename: &'a [u8],
    /// The transfer mode as sent (compare with [`crate::Mode::from_bytes`]).
    pub mode: &'a [u8],
    /// The options that follow the mode, possibly none.
    pub options: OptionList<'a>,
}

impl core::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Request")
            .field("filename", &Lossy(self.filename))
            .field("mode", &Lossy(self.mode))
            .field("options", &self.options)
            .finish()
    }
}

/// One TFTP packet, borrowing from the datagram it was parsed from (R-PKT-4).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Read request.
    Rrq(Request<'a>),
    /// Write request.
    Wrq(Request<'a>),
    /// A block of file data.
    Data {
        /// The block number (wraps after 65535).
        block: u16,
        /// The payload, 0..=blksize bytes.
        data: &'a [u8],
    },
    /// Acknowledgement of a block.
    Ack {
        /// The block acknowledged.
        block: u16,
    },
    /// An error; ends the transfer.
    Error {
        /// The error code.
        code: ErrorCode,
        /// The message as sent, without its NUL.
        message: &'a [u8],
    },
    /// Option acknowledgement.
    Oack(OptionList<'a>),
}

/// Prints bytes as text where they are printable, for `Debug` output of names and messages.
struct Lossy<'a>(&'a [u8]);

impl core::fmt::Debug for Lossy<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("\"")
    }
}

impl core::fmt::Debug for Packet<'_> {
    /// Prints payload lengths, never payload bytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Packet::Rrq(r) => f.debug_tuple("Rrq").field(r).finish(),
            Packet::Wrq(r) => f.debug_tuple("Wrq").field(r).finish(),
            Packet::Data { block, data } => f
                .debug_struct("Data")
                .field("block", block)
                .field("len", &data.len())
                .finish(),
            Packet::Ack { block } => f.debug_struct("Ack").field("block", block).finish(),
            Packet::Error { code, message } => f
                .debug_struct("Error")
                .field("code", code)
                .field("message", &Lossy(message))
                .finish(),
            Packet::Oack(o) => f.debug_tuple("Oack").field(o).finish(),
        }
    }
}

fn parse_request(body: &[u8]) -> Result<Request<'_>, ParseError> {
    let (filename, rest) = take_cstr(body, Field::Filename)?;
    if filename.is_empty() {
        return Err(ParseError::EmptyFilename);
    }
    let (mode, rest) = take_cstr(rest, Field::Mode)?;
    if mode.is_empty() {
        return Err(ParseError::EmptyMode);
    }
    // Some old PXE ROMs pad requests with NULs after the mode; padding is not an option list.
    let options = if rest.iter().all(|&b| b == 0) {
        OptionList::EMPTY
    } else {
        OptionList::parse(rest)?
    };
    Ok(Request {
        filename,
        mode,
        options,
    })
}

impl<'a> Packet<'a> {
    /// Parses one datagram. Never panics; every malformed input is a [`ParseError`].
    pub fn parse(datagram: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        if datagram.len() < 2 {
            return Err(ParseError::TooShort {
                len: datagram.len(),
            });
        }
        let raw_opcode = u16::from_be_bytes([datagram[0], datagram[1]]);
        let opcode = Opcode::from_u16(raw_opcode).ok_or(ParseError::UnknownOpcode(raw_opcode))?;
        let body = &datagram[2..];
        let block_of = |body: &[u8]| -> Result<u16, ParseError> {
            match body {
                [hi, lo, ..] => Ok(u16::from_be_bytes([*hi, *lo])),
                _ => Err(ParseError::TooShort {
                    len: datagram.len(),
                }),
            }
        };
        Ok(match opcode {
            Opcode::Rrq => Packet::Rrq(parse_request(body)?),
            Opcode::Wrq => Packet::Wrq(parse_request(body)?),
            Opcode::Data => Packet::Data {
                block: block_of(body)?,
                data: &body[2..],
            },
            Opcode::Ack => {
                let block = block_of(body)?;
                if body.len() > 2 {
                    return Err(ParseError::TrailingBytes {
                        extra: body.len() - 2,
                    });
                }
                Packet::Ack { block }
            }
            Opcode::Error => {
                let code = ErrorCode::from_u16(block_of(body)?);
                let (message, rest) = take_cstr(&body[2..], Field::ErrorMessage)?;
                if !rest.is_empty() {
                    return Err(ParseError::TrailingBytes { extra: rest.len() });
                }
                Packet::Error { code, message }
            }
            Opcode::Oack => Packet::Oack(OptionList::parse(body)?),
        })
    }

    /// The opcode of this packet.
    pub fn opcode(&self) -> Opcode {
        match self {
            Packet::Rrq(_) => Opcode::Rrq,
            Packet::Wrq(_) => Opcode::Wrq,
            Packet::Data { .. } => Opcode::Data,
            Packet::Ack { .. } => Opcode::Ack,
            Packet::Error { .. } => Opcode::Error,
            Packet::Oack(_) => Opcode::Oack,
        }
    }

    /// The number of bytes [`Packet::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        2 + match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                r.filename.len() + 1 + r.mode.len() + 1 + r.options.as_bytes().len()
            }
            Packet::Data { data, .. } => 2 + data.len(),
            Packet::Ack { .. } => 2,
            Packet::Error { message, .. } => 2 + message.len() + 1,
            Packet::Oack(o) => o.as_bytes().len(),
        }
    }

    /// Writes the packet into `buf` and returns its length on the wire.
    ///
    /// Fails when `buf` is too short, or when a string field would not parse back (a NUL inside
    /// a name, mode or message, or an empty file name or mode).
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.encoded_len();
        if buf.len() < needed {
            return Err(EncodeError::BufferTooSmall { needed });
        }
        let mut w = Writer::new(buf);
        w.put(&(self.opcode() as u16).to_be_bytes());
        match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                w.cstr(r.filename, Field::Filename, false)?;
                w.cstr(r.mode, Field::Mode, false)?;
                w.put(r.options.as_bytes());
            }
            Packet::Data { block, data } => {
                w.put(&block.to_be_bytes());
                w.put(data);
            }
            Packet::Ack { block } => w.put(&block.to_be_bytes()),
            Packet::Error { code, message } => {
                w.put(&code.to_u16().to_be_bytes());
                w.cstr(message, Field::ErrorMessage, true)?;
            }
            Packet::Oack(o) => w.put(o.as_bytes()),
        }
        Ok(w.written())
    }
}

/// Writes an ERROR packet with `message` cut to fit `buf` (and to at most 255 bytes of text),
/// dropping any NUL in it. Returns the length, or 0 when `buf` cannot hold even an empty ERROR.
pub fn encode_error(buf: &mut [u8], code: ErrorCode, message: &str) -> usize {
    if buf.len() < 5 {
        return 0;
    }
    buf[..2].copy_from_slice(&(Opcode::Error as u16).to_be_bytes());
    buf[2..4].copy_from_slice(&code.to_u16().to_be_bytes());
    let room = (buf.len() - 5).min(255);
    let mut pos = 4;
    for &b in message.as_bytes().iter().filter(|&&b| b != 0).take(room) {
        buf[pos] = b;
        pos += 1;
    }
    buf[pos] = 0;
    pos + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(p: Packet<'_>) {
        let mut buf = [0u8; 1024];
        let n = p.encode(&mut buf).unwrap();
        assert_eq!(n, p.encoded_len());
        assert_eq!(Packet::parse(&buf[..n]).unwrap(), p);
    }

    // R-PKT-1, R-PKT-4
    #[test]
    fn r_pkt_1_fixed_packets_round_trip() {
        round_trip(Packet::Data {
            block: 0xfffe,
            data: b"hello",
        });
        round_trip(Packet::Data {
            block: 1,
            data: b"",
        });
        round_trip(Packet::Ack { block: 65535 });
        round_trip(Packet::Error {
            code: ErrorCode::Other(99),
            message: b"odd",
        });
        round_trip(Packet::Oack(
            OptionList::parse(b"blksize\x001468\x00").unwrap(),
        ));
        assert_eq!(
            Packet::parse(&[0, 4, 1, 2]).unwrap(),
            Packet::Ack { block: 0x0102 }
        );
    }

    // R-PKT-2
    #[test]
    fn r_pkt_2_request_with_options() {
        let raw = b"\x00\x01a.txt\x00octet\x00blksize\x001432\x00tsize\x000\x00";
        let Packet::Rrq(r) = Packet::parse(raw).unwrap() else {
            panic!("not an RRQ")
        };
        assert_eq!(r.filename, b"a.txt");
        assert_eq!(r.mode, b"octet");
        assert_eq!(r.options.get("BLKSIZE"), Some(&b"1432"[..]));
        round_trip(Packet::Rrq(r));
        // The seed's raw request parses too.
        let seed = [0, 1, 97, 46, 116, 120, 116, 0, 111, 99, 116, 101, 116, 0];
        assert!(matches!(Packet::parse(&seed), Ok(Packet::Rrq(_))));
    }

    // R-PKT-5
    #[test]
    fn r_pkt_5_malformed_inputs_are_typed_errors() {
        use ParseError::*;
        let cases: &[(&[u8], ParseError)] = &[
            (b"", TooShort { len: 0 }),
            (b"\x00", TooShort { len: 1 }),
            (b"\x00\x03\x00", TooShort { len: 3 }),
            (b"\x00\x04\x00", TooShort { len: 3 }),
            (b"\x00\x05\x00", TooShort { len: 3 }),
            (b"\x00\x00", UnknownOpcode(0)),
            (b"\x00\x07abc", UnknownOpcode(7)),
            (b"\xff\xff", UnknownOpcode(65535)),
            (b"\x00\x01a.txt", MissingNul(Field::Filename)),
            (b"\x00\x01a.txt\x00octet", MissingNul(Field::Mode)),
            (b"\x00\x01\x00octet\x00", EmptyFilename),
            (b"\x00\x02a\x00\x00", EmptyMode),
            (
                b"\x00\x01a\x00octet\x00blksize",
                MissingNul(Field::OptionName),
            ),
            (
                b"\x00\x01a\x00octet\x00blksize\x00512",
                MissingNul(Field::OptionValue),
            ),
            (
                b"\x00\x01a\x00octet\x00blksize\x00512\x00BLKSIZE\x00512\x00",
                DuplicateOption,
            ),
            (b"\x00\x01a\x00octet\x00blksize\x00x1\x00", BadOptionValue),
            (b"\x00\x01a\x00octet\x00\x00\x001\x00", EmptyOptionName),
            (b"\x00\x05\x00\x01msg\x00junk", TrailingBytes { extra: 4 }),
            (b"\x00\x05\x00\x01msg", MissingNul(Field::ErrorMessage)),
            (b"\x00\x04\x00\x01\x00", TrailingBytes { extra: 1 }),
        ];
        for (raw, want) in cases {
            assert_eq!(Packet::parse(raw), Err(*want), "input {raw:?}");
        }
    }

    // R-PKT-7
    #[test]
    fn r_pkt_7_error_codes_keep_their_values() {
        for v in 0..=20u16 {
            assert_eq!(ErrorCode::from_u16(v).to_u16(), v);
        }
        assert_eq!(ErrorCode::from_u16(8), ErrorCode::OptionRefused);
        assert_eq!(ErrorCode::from_u16(5), ErrorCode::UnknownTransferId);
    }

    #[test]
    fn encode_refuses_what_would_not_parse_back() {
        let mut buf = [0u8; 64];
        let bad = Packet::Rrq(Request {
            filename: b"a\0b",
            mode: b"octet",
            options: OptionList::EMPTY,
        });
        assert_eq!(
            bad.encode(&mut buf),
            Err(EncodeError::BadString(Field::Filename))
        );
        let big = Packet::Data {
            block: 1,
            data: &[0; 100],
        };
        assert_eq!(
            big.encode(&mut buf),
            Err(EncodeError::BufferTooSmall { needed: 104 })
        );
    }

    #[test]
    fn encode_error_is_bounded_and_parses() {
        let mut buf = [0u8; 600];
        let long = "x".repeat(500);
        let n = encode_error(&mut buf, ErrorCode::DiskFull, &long);
        assert_eq!(n, 4 + 255 + 1);
        let Packet::Error { code, message } = Packet::parse(&buf[..n]).unwrap() else {
            panic!()
        };
        assert_eq!(code, ErrorCode::DiskFull);
        assert_eq!(message.len(), 255);
        assert_eq!(encode_error(&mut buf[..4], ErrorCode::DiskFull, "x"), 0);
        let n = encode_error(&mut buf[..6], ErrorCode::DiskFull, "a\0bc");
        assert_eq!(&buf[..n], b"\x00\x05\x00\x03a\x00");
    }
}
