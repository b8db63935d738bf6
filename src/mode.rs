//! Transfer modes (RFC 1350): octet and netascii; mail and anything else are refused (R-MOD-3).

/// A transfer mode this library serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Bytes exactly as stored (R-MOD-1).
    Octet,
    /// Text with CR LF line ends on the wire (R-MOD-2), translated by [`crate::netascii`].
    Netascii,
}

impl Mode {
    /// The mode for a request's mode field, compared case-insensitively (R-PKT-3);
    /// `None` for `mail` and unknown modes.
    pub fn from_bytes(mode: &[u8]) -> Option<Mode> {
        if mode.eq_ignore_ascii_case(b"octet") {
            Some(Mode::Octet)
        } else if mode.eq_ignore_ascii_case(b"netascii") {
            Some(Mode::Netascii)
        } else {
            None
        }
    }

    /// The mode's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Octet => "octet",
            Mode::Netascii => "netascii",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-MOD-3, R-PKT-3
    #[test]
    fn r_mod_3_only_octet_and_netascii() {
        assert_eq!(Mode::from_bytes(b"OCTET"), Some(Mode::Octet));
        assert_eq!(Mode::from_bytes(b"NetAscii"), Some(Mode::Netascii));
        for m in [&b"mail"[..], b"binary", b"ascii", b"octet\x01", b""] {
            assert_eq!(Mode::from_bytes(m), None);
        }
    }
}
