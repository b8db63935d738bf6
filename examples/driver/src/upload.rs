//! Atomic uploads (R-SRV-3, R-CLI-1): the bytes go to a new temporary file in the target's
//! folder, `.NAME.tftp-RANDOM.part`, created with `O_EXCL`; only a finished transfer is
//! fsynced and renamed over the target, within the same folder handle. Until then the old
//! file is untouched, and a failed, aborted or interrupted upload unlinks its temporary file
//! (explicitly, or on drop).

use std::collections::hash_map::RandomState;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::write_behind::WriteBehind;

/// Longest part of the target's name kept in the temporary name (NAME_MAX is 255).
const MAX_NAME_IN_TEMP: usize = 200;
/// Attempts at a fresh temporary name before giving up.
const TEMP_ATTEMPTS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    Committed,
    Discarded,
}

/// A file being received: a temporary file that becomes the target on [`Upload::commit`].
#[derive(Debug)]
pub struct Upload {
    file: File,
    pending: WriteBehind,
    dir: OwnedFd,
    temp: OsString,
    name: OsString,
    replace: bool,
    state: State,
}

impl Upload {
    /// Starts an upload of `name` (one path component) into the folder `dir`. With
    /// `replace`, the commit replaces an existing file; without, it fails with `EEXIST` if
    /// one appeared meanwhile. The temporary file takes an existing target's permissions; a
    /// new file gets `new_mode` when given (exactly, whatever the process umask), else 0644
    /// less the process umask.
    pub fn create(
        dir: OwnedFd,
        name: &OsStr,
        replace: bool,
        new_mode: Option<u32>,
    ) -> io::Result<Upload> {
        let existing_mode = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .filter(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
            .map(|st| {
                Mode::from_raw_mode(st.st_mode) & Mode::RWXU.union(Mode::RWXG).union(Mode::RWXO)
            });
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        let default_mode = Mode::RUSR | Mode::WUSR | Mode::RGRP | Mode::ROTH;
        let mut last = Errno::EXIST;
        for _ in 0..TEMP_ATTEMPTS {
            let temp = temp_name(name);
            match rustix::fs::openat(&dir, &temp, flags, default_mode) {
                Ok(fd) => {
                    let wanted = existing_mode.or(new_mode.map(Mode::from_raw_mode));
                    if let Some(mode) = wanted {
                        // Best effort: a failure leaves the default permissions.
                        let _ = rustix::fs::fchmod(&fd, mode);
                    }
                    return Ok(Upload {
                        file: File::from(fd),
                        pending: WriteBehind::new(),
                        dir,
                        temp,
                        name: name.to_owned(),
                        replace,
                        state: State::Open,
                    });
                }
                Err(Errno::EXIST) => last = Errno::EXIST,
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.into())
    }

    /// A download to `local` (the client's side, R-CLI-1): a temporary file beside it that
    /// replaces it on commit.
    pub fn beside(local: &Path) -> io::Result<Upload> {
        let name = local.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the local path names no file")
        })?;
        if local.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the local path is a folder",
            ));
        }
        let parent = match local.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = rustix::fs::open(
            parent,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Upload::create(dir, name, true, None)
    }

    /// The temporary file's name, in the target's folder.
    pub fn temp_name(&self) -> &OsStr {
        &self.temp
    }

    /// Writes `data` at `offset` of the temporary file (small writes gathered, see
    /// [`WriteBehind`]; all of them are on file before [`Upload::commit`] fsyncs it).
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.pending.write_at(&self.file, offset, data)
    }

    /// Makes the upload the target: fsync, then rename within the folder. On failure the
    /// temporary file is removed and the target stays as it was.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.state != State::Open {
            return Err(io::Error::other("upload already closed"));
        }
        let result = self
            .pending
            .flush(&self.file)
            .and_then(|()| self.file.sync_all())
            .and_then(|()| self.rename());
        match result {
            Ok(()) => {
                self.state = State::Committed;
                // Make the rename itself durable; some file systems refuse to fsync a folder.
                let _ = rustix::fs::fsync(&self.dir);
                Ok(())
            }
            Err(e) => {
                self.discard();
                Err(e)
            }
        }
    }

    fn rename(&self) -> io::Result<()> {
        if self.replace {
            return Ok(rustix::fs::renameat(
                &self.dir, &self.temp, &self.dir, &self.name,
            )?);
        }
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::RenameFlags;
            match rustix::fs::renameat_with(
                &self.dir,
                &self.temp,
                &self.dir,
                &self.name,
                RenameFlags::NOREPLACE,
            ) {
                // The file system has no RENAME_NOREPLACE: check, then rename (a race remains).
                Err(Errno::INVAL | Errno::NOSYS) => {}
                other => return Ok(other?),
            }
        }
        match rustix::fs::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Err(Errno::EXIST.into()),
            Err(Errno::NOENT) => Ok(rustix::fs::renameat(
                &self.dir, &self.temp, &self.dir, &self.name,
            )?),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the temporary file; the target stays as it was. Does nothing once committed.
    pub fn discard(&mut self) {
        if self.state == State::Open {
            self.state = State::Discarded;
            self.pending.clear();
            // Nothing more to do if it is already gone.
            let _ = rustix::fs::unlinkat(&self.dir, &self.temp, AtFlags::empty());
        }
    }

    /// True once the upload became the target.
    pub fn is_committed(&self) -> bool {
        self.state == State::Committed
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        self.discard();
    }
}

/// `.NAME.tftp-RANDOM.part`, NAME cut to a bounded length.
fn temp_name(name: &OsStr) -> OsString {
    let bytes = name.as_bytes();
    let kept = &bytes[..bytes.len().min(MAX_NAME_IN_TEMP)];
    let mut out = Vec::with_capacity(kept.len() + 32);
    out.push(b'.');
    out.extend_from_slice(kept);
    out.extend_from_slice(format!(".tftp-{:016x}.part", random_u64()).as_bytes());
    OsString::from_vec(out)
}

/// A fresh unpredictable number: std's randomly keyed hasher over a process-wide counter,
/// the process ID and the time. `O_EXCL` makes a collision harmless anyway.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(t.as_nanos());
    }
    hasher.finish()
}

impl crate::backend::FileSink for Upload {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        Upload::write_at(self, offset, data)
    }

    fn commit(&mut self) -> io::Result<()> {
        Upload::commit(self)
    }

    fn abort(&mut self) {
        self.discard();
    }
}
