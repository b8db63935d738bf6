//! Errors of the wire codec, typed by who is at fault.
//!
//! - [`ParseError`]: a datagram that is not well-formed TFTP (the peer's fault).
//! - [`EncodeError`]: a packet this side asked to encode that cannot go on the wire (the caller's).
//! - [`Field`]: which NUL-terminated field either is about.

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
    /// More option pairs than [`MAX_OPTIONS`](crate::wire::option_list::MAX_OPTIONS).
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
