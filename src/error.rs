//! The session errors, typed by who is at fault (the errors of the wire codec are in
//! [`crate::wire::error`]).
//!
//! - [`TransferError`]: why a transfer ended without success, with the TFTP [`ErrorCode`] that
//!   went (or would go) on the wire.
//! - [`SessionError`]: a session that cannot be started as asked (the caller's).

use alloc::string::String;

use crate::wire::error::ParseError;
use crate::wire::packet::ErrorCode;

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
