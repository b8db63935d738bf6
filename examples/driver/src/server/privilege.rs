//! `--user`: after the port is bound and the root folder opened, the server gives up root
//! for good and runs as an ordinary user (its uid, its primary group and its supplementary
//! groups), as tftpd-hpa does with `-u`. Every file is then opened with that user's
//! permissions: a file it may not read is refused with ERROR 2, and an upload belongs to it.
//! Defence in depth beside the confinement under the root (R-SRV-1): a flaw in the server
//! would hand an attacker that user, not root.

/// Switches the whole process (every thread) to `name`; afterwards root cannot be regained.
#[cfg(target_os = "linux")]
pub fn drop_to(name: &str) -> Result<String, String> {
    use std::ffi::CString;

    use nix::unistd::{initgroups, setgid, setuid, Uid, User};

    let user = User::from_name(name)
        .map_err(|e| format!("cannot look up user {name}: {e}"))?
        .ok_or_else(|| format!("no user named {name}"))?;
    let c_name = CString::new(name).map_err(|_| format!("bad user name {name:?}"))?;
    // Groups first: once the uid is not root, they cannot be changed any more. glibc's
    // set*id calls change every thread of the process, not only the calling one.
    initgroups(&c_name, user.gid).map_err(|e| format!("cannot take the groups of {name}: {e}"))?;
    setgid(user.gid).map_err(|e| format!("cannot take the group of {name}: {e}"))?;
    setuid(user.uid).map_err(|e| format!("cannot become {name}: {e}"))?;
    if !user.uid.is_root() && setuid(Uid::from_raw(0)).is_ok() {
        return Err(format!("became {name} but could become root again"));
    }
    Ok(format!("{name} (uid {}, gid {})", user.uid, user.gid))
}

/// Elsewhere `--user` is refused rather than ignored.
#[cfg(not(target_os = "linux"))]
pub fn drop_to(name: &str) -> Result<String, String> {
    Err(format!("--user {name}: not supported on this system"))
}
