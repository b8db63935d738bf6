//! Request intake for servers: the first datagram of a transfer, checked before any file is
//! touched (R-SRV-1's pure part, R-MOD-3, R-PKT-5).
//!
//! [`accept`] turns a datagram that arrived on the listening port into an [`Incoming`] request
//! with a [`SafePath`], or says what to answer instead. The driver then opens the file under
//! its root (the file-system checks are its own) and starts a session with
//! [`crate::Session::server_read`] or [`crate::Session::server_write`].

use alloc::borrow::Cow;
use alloc::format;
use alloc::vec::Vec;

use crate::mode::Mode;
use crate::options::Refusal;
use crate::path::{safe_path, SafePath};
use crate::wire::error::ParseError;
use crate::wire::option_list::OptionList;
use crate::wire::packet::{ErrorCode, Packet};

/// Which way the file goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// RRQ: the server sends the file.
    Read,
    /// WRQ: the server receives the file.
    Write,
}

/// A request worth serving: a safe path, a supported mode, and its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming<'a> {
    /// Read or write.
    pub direction: Direction,
    /// The file name as the client sent it (for logs; print it escaped).
    pub raw_filename: &'a [u8],
    /// The file's path under the root.
    pub path: SafePath,
    /// The transfer mode.
    pub mode: Mode,
    /// The options asked for.
    pub options: OptionList<'a>,
}

/// What to do with a datagram that arrived on the listening port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intake<'a> {
    /// Serve it (the driver still checks the file system).
    Serve(Incoming<'a>),
    /// Answer with this ERROR and forget it.
    Refuse(Refusal),
    /// Drop it silently: an ERROR packet (never answered) or a runt of under 4 bytes (an
    /// answer would be larger than the datagram: a reflection risk, R-SRV-6).
    Ignore,
}

/// Checks the first datagram of a transfer.
pub fn accept(datagram: &[u8]) -> Intake<'_> {
    accept_renamed(datagram, |_, _| Ok(None))
}

/// [`accept`], with the file name first passed through `rename` (a filename remap, as
/// tftpd-hpa's `--map-file`): it gets the direction and the name as the client sent it, and
/// returns `Ok(None)` to keep it, `Ok(Some(name))` to use another, or `Err` to refuse the
/// request. The name it returns goes through the same path checks as a client's name (a
/// rename cannot lead outside the root); [`Incoming::raw_filename`] stays the client's.
pub fn accept_renamed<F>(datagram: &[u8], rename: F) -> Intake<'_>
where
    F: FnOnce(Direction, &[u8]) -> Result<Option<Vec<u8>>, Refusal>,
{
    if datagram.len() < 4 {
        return Intake::Ignore; // whatever it parses as: no answer outweighs a runt
    }
    let packet = match Packet::parse(datagram) {
        Ok(p) => p,
        Err(ParseError::UnknownOpcode(op)) => {
            return Intake::Refuse(Refusal {
                code: ErrorCode::IllegalOperation,
                message: Cow::Owned(format!("unknown opcode {op}")),
            })
        }
        Err(e) => {
            return Intake::Refuse(Refusal {
                code: ErrorCode::IllegalOperation,
                message: Cow::Owned(format!("malformed request: {e}")),
            })
        }
    };
    let (direction, request) = match packet {
        Packet::Rrq(r) => (Direction::Read, r),
        Packet::Wrq(r) => (Direction::Write, r),
        Packet::Error { .. } => return Intake::Ignore,
        _ => {
            return Intake::Refuse(Refusal::new(
                ErrorCode::IllegalOperation,
                "expected a read or write request",
            ))
        }
    };
    let Some(mode) = Mode::from_bytes(request.mode) else {
        // R-MOD-3: name the mode, printable bytes only, bounded.
        let shown: alloc::string::String = request
            .mode
            .iter()
            .take(32)
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
            .collect();
        return Intake::Refuse(Refusal {
            code: ErrorCode::IllegalOperation,
            message: Cow::Owned(format!("unsupported mode \"{shown}\"")),
        });
    };
    let renamed = match rename(direction, request.filename) {
        Ok(renamed) => renamed,
        Err(refusal) => return Intake::Refuse(refusal),
    };
    let name = renamed.as_deref().unwrap_or(request.filename);
    let path = match safe_path(name) {
        Ok(p) => p,
        Err(e) => {
            return Intake::Refuse(Refusal {
                code: e.code(),
                message: Cow::Owned(format!("{e}")),
            })
        }
    };
    Intake::Serve(Incoming {
        direction,
        raw_filename: request.filename,
        path,
        mode,
        options: request.options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-MOD-3
    #[test]
    fn r_mod_3_mail_is_refused_naming_the_mode() {
        let Intake::Refuse(r) = accept(b"\x00\x01a\x00mail\x00") else {
            panic!()
        };
        assert_eq!(r.code, ErrorCode::IllegalOperation);
        assert!(r.message.contains("mail"));
    }

    // R-SRV-1
    #[test]
    fn r_srv_1_traversal_is_access_violation() {
        let Intake::Refuse(r) = accept(b"\x00\x02../x\x00octet\x00") else {
            panic!()
        };
        assert_eq!(r.code, ErrorCode::AccessViolation);
    }

    #[test]
    fn runts_and_errors_are_dropped_others_refused() {
        for d in [
            &b""[..],
            b"\x00",
            b"\x00\x05\x00",
            b"\x00\x06",
            b"\x00\x05\x00\x01x\x00",
        ] {
            assert_eq!(accept(d), Intake::Ignore);
        }
        for d in [
            &b"\x00\x03\x00\x01abc"[..],
            b"\x00\x07\x00\x00",
            b"\x00\x01abc",
        ] {
            assert!(
                matches!(accept(d), Intake::Refuse(r) if r.code == ErrorCode::IllegalOperation)
            );
        }
        let Intake::Serve(i) = accept(b"\x00\x01/boot/x.efi\x00OCTET\x00tsize\x000\x00") else {
            panic!()
        };
        assert_eq!(i.path.as_str(), "boot/x.efi");
        assert_eq!((i.direction, i.mode), (Direction::Read, Mode::Octet));
    }

    // R-SRV-1: a renamed request goes through the same path checks; the client's name stays
    // for the log; a refusal from the rename is the answer.
    #[test]
    fn r_srv_1_a_renamed_name_is_checked_like_a_clients() {
        let rrq = b"\x00\x01BOOT\\X.EFI\x00octet\x00";
        let to = |name: &'static [u8]| move |_: Direction, _: &[u8]| Ok(Some(name.to_vec()));
        let Intake::Serve(i) = accept_renamed(rrq, to(b"boot/x.efi")) else {
            panic!()
        };
        assert_eq!(i.path.as_str(), "boot/x.efi");
        assert_eq!(i.raw_filename, b"BOOT\\X.EFI");
        for outside in [&b"../etc/passwd"[..], b"a/../../b", b"x\x00y"] {
            let renamed = accept_renamed(rrq, move |_, _| Ok(Some(outside.to_vec())));
            assert!(
                matches!(&renamed, Intake::Refuse(r) if r.code == ErrorCode::AccessViolation),
                "{renamed:?}"
            );
        }
        let refused = accept_renamed(rrq, |d, name| {
            assert_eq!((d, name), (Direction::Read, &b"BOOT\\X.EFI"[..]));
            Err(Refusal::new(ErrorCode::AccessViolation, "refused by rule"))
        });
        assert!(matches!(refused, Intake::Refuse(r) if r.message == "refused by rule"));
        let kept = accept_renamed(b"\x00\x02up.bin\x00octet\x00", |_, _| Ok(None));
        assert!(matches!(kept, Intake::Serve(i) if i.path.as_str() == "up.bin"));
    }
}
