//! Opening a relative path so that it cannot leave a directory (R-SRV-1, the file-system
//! part: symbolic links and races).
//!
//! On Linux this is `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` relative to the
//! directory's handle: the kernel refuses any step out of the directory (a `..`, an absolute
//! symbolic link, a relative one that climbs out) with `EXDEV`, atomically, so there is no
//! check-then-open race. Elsewhere, and on a Linux kernel without `openat2` (before 5.6, or a
//! sandbox that filters it), the path is canonicalized and checked component-wise to lie
//! inside the canonical directory, then opened without following a final symbolic link; a
//! link swapped in between the check and the open is the remaining (documented) race.

use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

/// Opens `rel` (components joined by `/`, none of them `..`) beneath the directory `dir`,
/// whose canonical path is `dir_path`. Fails with `EXDEV` when the path would leave it.
pub fn open_beneath(
    dir: &OwnedFd,
    dir_path: &Path,
    rel: &str,
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        if let Some(result) = linux::open(dir, rel, flags, mode) {
            return result;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
    portable_open(dir_path, rel, flags, mode)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::OwnedFd;
    use std::sync::atomic::{AtomicBool, Ordering};

    use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    /// Set once the kernel said it has no `openat2`, so later opens go straight to the
    /// portable path.
    static MISSING: AtomicBool = AtomicBool::new(false);

    /// `openat2` beneath `dir`; `None` when the kernel lacks it.
    pub(super) fn open(
        dir: &OwnedFd,
        rel: &str,
        flags: OFlags,
        mode: Mode,
    ) -> Option<io::Result<OwnedFd>> {
        if MISSING.load(Ordering::Relaxed) {
            return None;
        }
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        // EAGAIN: a rename or mount raced with the lookup; the kernel asks for a retry.
        for _ in 0..8 {
            match openat2(dir, rel, flags | OFlags::CLOEXEC, mode, resolve) {
                Err(Errno::AGAIN) => continue,
                Err(Errno::NOSYS) => {
                    MISSING.store(true, Ordering::Relaxed);
                    return None;
                }
                other => return Some(other.map_err(io::Error::from)),
            }
        }
        Some(Err(io::Error::from(Errno::AGAIN)))
    }
}

/// Canonicalize, check by component that the result is under `dir_path`, open it.
fn portable_open(dir_path: &Path, rel: &str, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
    let wanted = dir_path.join(rel);
    let real = wanted.canonicalize()?;
    // Path::starts_with compares whole components: /srv/tftp-private is not under /srv/tftp.
    if !real.starts_with(dir_path) {
        return Err(io::Error::from(rustix::io::Errno::XDEV));
    }
    let fd = rustix::fs::open(&real, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, mode)?;
    Ok(fd)
}
