//! `--pid-file PATH`: the server's process ID in a file, for init scripts and monitors.
//!
//! Written once the listening socket is bound and before root is given up (`--user`), so it
//! can live in a folder only root may write, such as `/run`. The file is held with an
//! exclusive `flock` for the life of the process: a second server given the same path
//! refuses to start while the first runs, and a file left by a server that died is simply
//! taken over. It is opened without following a symbolic link and must be a regular file.
//! On a clean exit it is removed, if it is still this server's file and the process may
//! still remove it (after `--user` the folder must let that user; else the stale file stays,
//! unlocked, and the next start overwrites it).

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, FlockOperation, Mode, OFlags};

/// The pid file of this process; removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    file: File,
}

impl PidFile {
    /// Writes this process's ID to `path`; the error is a sentence for the operator.
    pub fn create(path: &Path) -> Result<PidFile, String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("--pid-file {}: {what}: {e}", path.display())
        };
        let flags = OFlags::RDWR
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NOCTTY
            | OFlags::NONBLOCK
            | OFlags::CLOEXEC;
        let mode = Mode::RUSR | Mode::WUSR | Mode::RGRP | Mode::ROTH;
        let fd = rustix::fs::open(path, flags, mode).map_err(|e| fail("cannot open", &e))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| fail("cannot stat", &e))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(fail("not a regular file", &"refused"));
        }
        if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut holder = String::new();
            let _ = File::from(fd).read_to_string(&mut holder);
            return Err(fail(
                "held by a running server",
                &format!("pid {}", holder.trim()),
            ));
        }
        let mut file = File::from(fd);
        file.set_len(0).map_err(|e| fail("cannot truncate", &e))?;
        writeln!(file, "{}", std::process::id()).map_err(|e| fail("cannot write", &e))?;
        Ok(PidFile {
            path: path.to_owned(),
            file,
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only the file this server wrote: not one that replaced it meanwhile.
        let same =
            |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
        if let (Ok(ours), Ok(there)) = (self.file.metadata(), std::fs::symlink_metadata(&self.path))
        {
            if same(&ours, &there) {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}
