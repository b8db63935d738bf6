//! The crate's error types, typed by who is at fault.
//!
//! - [`ParseError`]: a datagram that is not well-formed TFTP (the peer's fault).
//! - [`EncodeError`]: a packet this side asked to encode that cannot go on the wire (the caller's).
//! - [`TransferError`]: why a transfer ended without success, with the TFTP [`ErrorCode`] that
//!   went (or would go) on the wire.
//! - [`SessionError`]: a session that cannot be started as asked (the caller's).

use alloc::string::String;

use crate::packet::ErrorCode;

/// Which NUL-terminated field of a packet a [`ParseError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The file name of a request.
    Filename,
    /// The transfer mode of a request.
    Mode,
    /// An option name.
    OptionName,
    /// An option value.
    OptionValue,
    /// The message of an ERROR packet.
    ErrorMessage,
}

impl core::fmt::Display for Field {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Field::Filename => "file name",
            Field::Mode => "mode",
            Field::OptionName => "option name",
            Field::OptionValue => "option value",
            Field::ErrorMessage => "error message",
        })
    }
}

/// A datagram that is not well-formed TFTP (R-PKT-5). Never a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the smallest packet of its kind.
    #[error("datagram too short: {len} bytes")]
    TooShort {
        /// The length that arrived.
        len: usize,
    },
    /// An opcode outside 1..=6, kept as its value.
    #[error("unknown opcode {0}")]
    UnknownOpcode(u16),
    /// A string field without its terminating NUL.
    #[error("{0} is not terminated by NUL")]
    MissingNul(Field),
    /// A request with an empty file name.
    #[error("empty file name")]
    EmptyFilename,
    /// A request with an empty mode.
    #[error("empty mode")]
    EmptyMode,
    /// An option with an empty name.
    #[error("empty option name")]
    EmptyOptionName,
    /// The same option twice (names compared case-insensitively).
    #[error("option given twice")]
    DuplicateOption,
    /// More option pairs than [`crate::options::MAX_OPTIONS`].
    #[error("too many options")]
    TooManyOptions,
    /// A known numeric option whose value is not a decimal number.
    #[error("option value is not a decimal number")]
    BadOptionValue,
    /// Bytes after the end of a fixed-size packet or after an ERROR's message.
    #[error("{extra} trailing bytes after the packet")]
    TrailingBytes {
        /// How many bytes follow the packet.
        extra: usize,
    },
}

/// A packet that cannot be encoded as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum EncodeError {
    /// The caller's buffer is shorter than the packet.
    #[error("buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// The packet's length on the wire.
        needed: usize,
    },
    /// A string field contains a NUL, or is empty where the protocol needs text.
    #[error("{0} is empty or contains NUL")]
    BadString(Field),
}

/// Why a transfer ended without success. Each maps to the TFTP error code that was sent to the
/// peer (or, for [`TransferError::Peer`], that the peer sent).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The peer sent an ERROR packet (R-XFR-9). Nothing was sent back.
    #[error("peer sent error {code}: {message}")]
    Peer {
        /// The code the peer sent.
        code: ErrorCode,
        /// The peer's message, lossily decoded and cut to a bounded length.
        message: String,
    },
    /// No answer within the retry budget (R-XFR-5). Nothing was sent to the peer.
    #[error("timed out after {retries} retransmissions")]
    TimedOut {
        /// How many times the last packet was retransmitted before giving up.
        retries: u32,
    },
    /// The peer sent a malformed datagram; ERROR 4 was sent to it.
    #[error("malformed packet from peer: {0}")]
    Malformed(ParseError),
    /// The peer sent a packet that does not fit the state (R-XFR-10); ERROR 4 was sent.
    #[error("illegal operation: {0}")]
    Illegal(&'static str),
    /// Option negotiation failed (R-OPT-3); ERROR 8 was sent.
    #[error("option negotiation failed: {0}")]
    Negotiation(&'static str),
    /// The file grew past the size limit; ERROR 3 was sent.
    #[error("file larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The caller aborted the transfer with [`crate::Session::abort`]; the ERROR was sent.
    #[error("aborted: error {code}: {message}")]
    Aborted {
        /// The code sent to the peer.
        code: ErrorCode,
        /// The message sent to the peer.
        message: String,
    },
}

impl TransferError {
    /// The TFTP error code of this failure: the one sent to the peer, or received from it.
    /// A timeout sends nothing and reports [`ErrorCode::NotDefined`].
    pub fn code(&self) -> ErrorCode {
        match self {
            TransferError::Peer { code, .. } | TransferError::Aborted { code, .. } => *code,
            TransferError::TimedOut { .. } => ErrorCode::NotDefined,
            TransferError::Malformed(_) | TransferError::Illegal(_) => ErrorCode::IllegalOperation,
            TransferError::Negotiation(_) => ErrorCode::OptionRefused,
            TransferError::TooLarge { .. } => ErrorCode::DiskFull,
        }
    }
}

/// A session that cannot be started as asked: the caller's mistake, not the peer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The request would not fit in 512 bytes on the wire (R-PKT-6).
    #[error("request longer than 512 bytes")]
    RequestTooLong,
    /// The file name is empty or contains NUL.
    #[error("file name is empty or contains NUL")]
    BadFilename,
    /// An option value outside its RFC range was asked for.
    #[error("option value out of range")]
    BadOption,
}
