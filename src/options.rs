//! Option negotiation (RFC 2347) for blksize (RFC 2348), timeout and tsize (RFC 2349) and
//! windowsize (RFC 7440).
//!
//! - [`OptionList`]: the borrowed, validated name/value pairs of a request or OACK.
//! - [`RequestOptions`]: what a client asks for; [`TransferOptions`]: what a transfer runs with.
//! - [`ServerPolicy`]: how a server answers; the server answers only options the client asked
//!   for (R-OPT-1), and a client checks every OACK against what it asked (R-OPT-3).

use alloc::borrow::Cow;

use crate::wire::option_list::OptionBuf;
use crate::wire::packet::{encode_error, ErrorCode, DEFAULT_BLKSIZE, MAX_BLKSIZE};

pub use crate::wire::option_list::{
    parse_number, KnownOption, OptionIter, OptionList, MAX_OPTIONS,
};

/// The most bytes a window may hold (blksize x windowsize): a sender keeps one window for
/// retransmission, so this bounds a session's memory whatever a peer asks for.
pub const MAX_WINDOW_BYTES: usize = 16 << 20;
/// The largest window this library uses: block numbers in flight must stay within half the
/// 16-bit block space to tell an old ACK from a future one.
pub const MAX_WINDOWSIZE: u16 = 32767;

/// The largest window size allowed with `blksize`, under [`MAX_WINDOW_BYTES`] and
/// [`MAX_WINDOWSIZE`].
pub fn window_limit(blksize: u16) -> u16 {
    let by_bytes = MAX_WINDOW_BYTES / usize::from(blksize.max(1));
    by_bytes.clamp(1, usize::from(MAX_WINDOWSIZE)) as u16
}

/// What a client asks for in its request. `None` leaves an option out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Block size to ask for, 8..=65464.
    pub blksize: Option<u16>,
    /// Window size to ask for, 1..=65535.
    pub windowsize: Option<u16>,
    /// Retransmission timeout in seconds to ask for, 1..=255.
    pub timeout: Option<u8>,
    /// Transfer size: 0 in a read request (asks for the size), the file's size in a write.
    pub tsize: Option<u64>,
}

impl RequestOptions {
    /// True when every value is inside its RFC range, and the window within
    /// [`window_limit`] of the block size asked for.
    pub fn is_valid(&self) -> bool {
        let blksize = self.blksize.unwrap_or(DEFAULT_BLKSIZE as u16);
        self.blksize
            .is_none_or(|b| (8..=MAX_BLKSIZE as u16).contains(&b))
            && self
                .windowsize
                .is_none_or(|w| w >= 1 && w <= window_limit(blksize))
            && self.timeout.is_none_or(|t| t >= 1)
    }

    pub(crate) fn to_buf(self) -> OptionBuf {
        let mut buf = OptionBuf::new();
        if let Some(b) = self.blksize {
            buf.push(KnownOption::Blksize, b.into());
        }
        if let Some(t) = self.timeout {
            buf.push(KnownOption::Timeout, t.into());
        }
        if let Some(t) = self.tsize {
            buf.push(KnownOption::Tsize, t);
        }
        if let Some(w) = self.windowsize {
            buf.push(KnownOption::Windowsize, w.into());
        }
        buf
    }
}

/// The options a transfer runs with, after negotiation (or the RFC 1350 defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferOptions {
    /// DATA payload size.
    pub blksize: u16,
    /// Blocks sent before waiting for an ACK (1 is lock-step).
    pub windowsize: u16,
    /// Negotiated fixed retransmission timeout in seconds; `None` means adaptive.
    pub timeout: Option<u8>,
    /// The transfer size the peers agreed on, when tsize was negotiated.
    pub tsize: Option<u64>,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            blksize: DEFAULT_BLKSIZE as u16,
            windowsize: 1,
            timeout: None,
            tsize: None,
        }
    }
}

/// How a server treats one option when a client asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionHandling {
    /// Negotiate it (within the policy's limits).
    Accept,
    /// Leave it out of the OACK, as if unknown.
    Ignore,
    /// Answer the request with ERROR 8.
    Refuse,
}

/// How a server answers options (R-OPT-1, R-OPT-5..9).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerPolicy {
    /// Largest block size granted; a larger request is answered with this value.
    pub max_blksize: u16,
    /// Largest window size granted; a larger request is answered with this value (and never
    /// more than [`window_limit`] of the granted block size).
    pub max_windowsize: u16,
    /// Treatment of `blksize`.
    pub blksize: OptionHandling,
    /// Treatment of `timeout`.
    pub timeout: OptionHandling,
    /// Largest `timeout` granted, in seconds; a larger one is left out of the OACK (RFC 2349
    /// lets a server grant the value asked for or nothing, R-OPT-6).
    pub max_timeout: u8,
    /// Treatment of `tsize`.
    pub tsize: OptionHandling,
    /// Treatment of `windowsize`.
    pub windowsize: OptionHandling,
    /// Largest file accepted on upload: a larger `tsize` gets ERROR 3, and an upload that grows
    /// past it is ended with ERROR 3.
    pub max_file_size: Option<u64>,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        ServerPolicy {
            max_blksize: MAX_BLKSIZE as u16,
            max_windowsize: 64,
            blksize: OptionHandling::Accept,
            timeout: OptionHandling::Accept,
            max_timeout: 255,
            tsize: OptionHandling::Accept,
            windowsize: OptionHandling::Accept,
            max_file_size: None,
        }
    }
}

/// A request the server will not serve: the ERROR to send instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("refused with error {code}: {message}")]
pub struct Refusal {
    /// The code to send.
    pub code: ErrorCode,
    /// The message to send.
    pub message: Cow<'static, str>,
}

impl Refusal {
    /// A refusal with a fixed message.
    pub const fn new(code: ErrorCode, message: &'static str) -> Refusal {
        Refusal {
            code,
            message: Cow::Borrowed(message),
        }
    }
}

impl Refusal {
    /// Writes the ERROR packet into `buf`; returns its length (0 when `buf` is under 5 bytes).
    pub fn encode(&self, buf: &mut [u8]) -> usize {
        encode_error(buf, self.code, &self.message)
    }
}

/// The server's answer to a request's options: what the transfer runs with, and the OACK
/// (empty when no option was accepted, in which case no OACK is sent).
pub(crate) struct ServerAnswer {
    pub(crate) options: TransferOptions,
    pub(crate) oack: OptionBuf,
}

/// Decides the answer to `requested` under `policy` (R-OPT-1, R-OPT-5..9).
/// `file_size` is the size to announce for tsize in a read (`None` leaves tsize out).
pub(crate) fn negotiate(
    requested: &OptionList<'_>,
    policy: &ServerPolicy,
    is_read: bool,
    file_size: Option<u64>,
) -> Result<ServerAnswer, Refusal> {
    let mut options = TransferOptions::default();
    let mut oack = OptionBuf::new();
    let mut windowsize_asked = false;
    for (name, value) in requested.iter() {
        let Some(known) = KnownOption::from_name(name) else {
            continue; // R-OPT-1: unknown options are left out silently.
        };
        let handling = match known {
            KnownOption::Blksize => policy.blksize,
            KnownOption::Timeout => policy.timeout,
            KnownOption::Tsize => policy.tsize,
            KnownOption::Windowsize => policy.windowsize,
        };
        match handling {
            OptionHandling::Ignore => continue,
            OptionHandling::Refuse => {
                return Err(Refusal::new(
                    ErrorCode::OptionRefused,
                    "option refused by server policy",
                ))
            }
            OptionHandling::Accept => {}
        }
        // Validated by OptionList::parse; a saturated value is simply "too large".
        let v = parse_number(value).unwrap_or(u64::MAX);
        match known {
            KnownOption::Blksize if v >= 8 => {
                let granted = v.min(u64::from(policy.max_blksize).min(MAX_BLKSIZE as u64));
                options.blksize = granted as u16;
                oack.push(known, granted);
            }
            KnownOption::Windowsize if v >= 1 => {
                // Capped by the block size below, once it is known.
                options.windowsize = v.min(u64::from(policy.max_windowsize.max(1))) as u16;
                windowsize_asked = true;
            }
            KnownOption::Timeout if (1..=u64::from(policy.max_timeout)).contains(&v) => {
                options.timeout = Some(v as u8);
                oack.push(known, v);
            }
            KnownOption::Tsize if is_read => {
                if let Some(size) = file_size {
                    options.tsize = Some(size);
                    oack.push(known, size);
                }
            }
            KnownOption::Tsize => {
                if policy.max_file_size.is_some_and(|max| v > max) {
                    return Err(Refusal::new(
                        ErrorCode::DiskFull,
                        "file larger than the server accepts",
                    ));
                }
                options.tsize = Some(v);
                oack.push(known, v);
            }
            // R-OPT-9: out-of-range values are left out, as RFC 2348/2349/7440 allow.
            _ => {}
        }
    }
    if windowsize_asked {
        options.windowsize = options.windowsize.min(window_limit(options.blksize));
        oack.push(KnownOption::Windowsize, options.windowsize.into());
    }
    Ok(ServerAnswer { options, oack })
}

/// Checks a server's OACK against what the client asked for (R-OPT-3) and returns the options
/// the transfer runs with, or the reason to answer ERROR 8.
pub(crate) fn check_oack(
    asked: &RequestOptions,
    oack: &OptionList<'_>,
) -> Result<TransferOptions, &'static str> {
    let mut options = TransferOptions::default();
    for (name, value) in oack.iter() {
        let known = KnownOption::from_name(name).ok_or("OACK holds an unknown option")?;
        let v = parse_number(value).ok_or("OACK value is not a number")?;
        match known {
            KnownOption::Blksize => {
                let asked = asked.blksize.ok_or("OACK grants blksize not asked for")?;
                if !(8..=u64::from(asked)).contains(&v) {
                    return Err("OACK blksize out of range");
                }
                options.blksize = v as u16;
            }
            KnownOption::Windowsize => {
                let asked = asked
                    .windowsize
                    .ok_or("OACK grants windowsize not asked for")?;
                if !(1..=u64::from(asked)).contains(&v) {
                    return Err("OACK windowsize out of range");
                }
                options.windowsize = v as u16;
            }
            KnownOption::Timeout => {
                let asked = asked.timeout.ok_or("OACK grants timeout not asked for")?;
                if v != u64::from(asked) {
                    return Err("OACK timeout differs from the one asked for");
                }
                options.timeout = Some(asked);
            }
            KnownOption::Tsize => {
                asked.tsize.ok_or("OACK grants tsize not asked for")?;
                options.tsize = Some(v);
            }
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(raw: &[u8]) -> OptionList<'_> {
        OptionList::parse(raw).unwrap()
    }

    fn answer(raw: &[u8], policy: &ServerPolicy, read: bool) -> (TransferOptions, &'static [u8]) {
        let a = negotiate(&list(raw), policy, read, Some(1234)).unwrap();
        let bytes: &'static [u8] = alloc::vec::Vec::leak(a.oack.list().as_bytes().to_vec());
        (a.options, bytes)
    }

    // R-OPT-1
    #[test]
    fn r_opt_1_oack_holds_only_accepted_options() {
        let p = ServerPolicy::default();
        let (o, oack) = answer(
            b"multicast\x00\x00blksize\x001432\x00tsize\x000\x00",
            &p,
            true,
        );
        assert_eq!(oack, b"blksize\x001432\x00tsize\x001234\x00");
        assert_eq!(o.blksize, 1432);
        assert_eq!(o.tsize, Some(1234));
        let (_, oack) = answer(b"x\x00y\x00", &p, true);
        assert!(oack.is_empty());
    }

    // R-OPT-5, R-OPT-8, R-OPT-9
    #[test]
    fn r_opt_5_server_caps_and_ignores_out_of_range() {
        let p = ServerPolicy {
            max_blksize: 1468,
            max_windowsize: 16,
            ..Default::default()
        };
        let (o, oack) = answer(b"windowsize\x00100\x00blksize\x0065464\x00", &p, true);
        assert_eq!((o.blksize, o.windowsize), (1468, 16));
        assert_eq!(oack, b"blksize\x001468\x00windowsize\x0016\x00");
        // The window is capped so that one window stays within MAX_WINDOW_BYTES.
        let wide = ServerPolicy {
            max_windowsize: 65535,
            ..Default::default()
        };
        let (o, _) = answer(b"blksize\x0065464\x00windowsize\x0065535\x00", &wide, true);
        assert_eq!(o.windowsize, window_limit(65464));
        assert!(usize::from(o.windowsize) * 65464 <= MAX_WINDOW_BYTES);
        let (o, _) = answer(b"windowsize\x0065535\x00", &wide, true);
        assert_eq!(o.windowsize, MAX_WINDOWSIZE);
        // Too small, zero, and a 500-digit value.
        let (o, oack) = answer(
            b"blksize\x007\x00windowsize\x000\x00timeout\x000\x00",
            &p,
            true,
        );
        assert_eq!(o, TransferOptions::default());
        assert!(oack.is_empty());
        let huge = [b"timeout\x00".as_slice(), &[b'9'; 500], b"\x00"].concat();
        let (o, oack) = answer(&huge, &p, true);
        assert_eq!(o.timeout, None);
        assert!(oack.is_empty());
    }

    // R-OPT-6
    #[test]
    fn r_opt_6_timeout_is_echoed_unchanged() {
        let (o, oack) = answer(b"timeout\x00255\x00", &ServerPolicy::default(), false);
        assert_eq!(o.timeout, Some(255));
        assert_eq!(oack, b"timeout\x00255\x00");
        // R-OPT-6 under a cap: within it as asked, above it left out, never lowered.
        let capped = ServerPolicy {
            max_timeout: 10,
            ..ServerPolicy::default()
        };
        let (o, oack) = answer(b"timeout\x0010\x00", &capped, false);
        assert_eq!((o.timeout, oack), (Some(10), &b"timeout\x0010\x00"[..]));
        let (o, oack) = answer(b"timeout\x0011\x00blksize\x001024\x00", &capped, false);
        assert_eq!(o.timeout, None);
        assert_eq!(oack, b"blksize\x001024\x00");
    }

    // R-OPT-7
    #[test]
    fn r_opt_7_write_tsize_over_limit_is_refused_with_disk_full() {
        let p = ServerPolicy {
            max_file_size: Some(100),
            ..Default::default()
        };
        let r = negotiate(&list(b"tsize\x00101\x00"), &p, false, None);
        assert_eq!(r.err().map(|e| e.code), Some(ErrorCode::DiskFull));
        let (o, _) = answer(b"tsize\x00100\x00", &p, false);
        assert_eq!(o.tsize, Some(100));
        // A read without a known size leaves tsize out.
        let a = negotiate(&list(b"tsize\x000\x00"), &p, true, None).unwrap();
        assert!(a.oack.list().is_empty());
    }

    #[test]
    fn refused_option_is_error_8() {
        let p = ServerPolicy {
            windowsize: OptionHandling::Refuse,
            ..Default::default()
        };
        let r = negotiate(&list(b"windowsize\x004\x00"), &p, true, None);
        assert_eq!(r.err().map(|e| e.code), Some(ErrorCode::OptionRefused));
    }

    // R-OPT-3
    #[test]
    fn r_opt_3_client_rejects_unasked_or_larger_values() {
        let asked = RequestOptions {
            blksize: Some(1024),
            ..Default::default()
        };
        assert!(check_oack(&asked, &list(b"blksize\x002048\x00")).is_err());
        assert!(check_oack(&asked, &list(b"windowsize\x002\x00")).is_err());
        assert!(check_oack(&asked, &list(b"color\x00red\x00")).is_err());
        let o = check_oack(&asked, &list(b"blksize\x00512\x00")).unwrap();
        assert_eq!(o.blksize, 512);
    }

    #[test]
    fn option_buf_writes_what_parses() {
        let b = RequestOptions {
            blksize: Some(65464),
            windowsize: Some(65535),
            timeout: Some(255),
            tsize: Some(u64::MAX),
        }
        .to_buf();
        let l = OptionList::parse(b.list().as_bytes()).unwrap();
        assert_eq!(l.number(KnownOption::Tsize), Some(u64::MAX));
        assert_eq!(l.number(KnownOption::Windowsize), Some(65535));
    }
}
