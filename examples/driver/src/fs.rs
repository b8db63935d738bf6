//! The served root (R-SRV-1, R-SRV-2): every file the server touches is opened relative to
//! one directory handle, never by a path string, and every file-system error becomes the
//! TFTP error a client should see.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use tftp_proto::path::SafePath;
use tftp_proto::{ErrorCode, Refusal};

use crate::backend::{Backend, FileRequest, FileSink, Opened};
use crate::beneath::open_beneath;
use crate::read_ahead::ReadAhead;
use crate::upload::Upload;

/// What uploads may do (tftpd-hpa's `-c` and the read-only default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteRules {
    /// A WRQ may create a file that does not exist.
    pub create: bool,
    /// A WRQ may replace a file that exists.
    pub overwrite: bool,
    /// Permissions of a new file (`--umask`: 0666 less the mask); `None`: 0644 less the
    /// process umask. A replaced file keeps its own.
    pub new_file_mode: Option<u32>,
}

/// A file opened for a read request.
#[derive(Debug)]
pub struct Source {
    /// The open file.
    pub file: File,
    /// Its size when opened (for `tsize`).
    pub size: u64,
}

/// The folder the server serves, held open.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens the folder `path`.
    pub fn open(path: &Path) -> io::Result<Root> {
        let path = path.canonicalize()?;
        let dir = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root { dir, path })
    }

    /// The folder's canonical path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `path` for reading. It must stay beneath the root (no symbolic link out of it)
    /// and be a regular file: a FIFO, a device or a folder is an access violation. The open
    /// is non-blocking and takes no controlling terminal, so a FIFO cannot stall the server.
    pub fn open_read(&self, path: &SafePath) -> Result<Source, Refusal> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let fd = open_beneath(&self.dir, &self.path, path.as_str(), flags, Mode::empty())
            .map_err(|e| refusal(&e))?;
        let file = File::from(fd);
        let meta = file.metadata().map_err(|e| refusal(&e))?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        Ok(Source {
            size: meta.len(),
            file,
        })
    }

    /// Starts an upload to `path` under `rules`: ERROR 2 when writing or creating is off or
    /// the target is not a regular file, ERROR 6 when it exists and may not be replaced.
    pub fn begin_upload(&self, path: &SafePath, rules: WriteRules) -> Result<Upload, Refusal> {
        if !rules.create && !rules.overwrite {
            return Err(Refusal::new(
                ErrorCode::AccessViolation,
                "this server is read-only",
            ));
        }
        let (dir, name) = match path.as_str().rsplit_once('/') {
            Some((parent, name)) => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY;
                let dir = open_beneath(&self.dir, &self.path, parent, flags, Mode::empty())
                    .map_err(|e| refusal(&e))?;
                (dir, name)
            }
            None => (
                self.dir.try_clone().map_err(|e| refusal(&e))?,
                path.as_str(),
            ),
        };
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                return Err(not_regular())
            }
            Ok(_) if !rules.overwrite => {
                return Err(Refusal::new(ErrorCode::FileExists, "file exists"));
            }
            Ok(_) => {}
            Err(Errno::NOENT) if !rules.create => {
                return Err(Refusal::new(
                    ErrorCode::AccessViolation,
                    "creating files is not allowed",
                ));
            }
            Err(Errno::NOENT) => {}
            Err(e) => return Err(refusal(&e.into())),
        }
        Upload::create(dir, OsStr::new(name), rules.overwrite, rules.new_file_mode)
            .map_err(|e| refusal(&e))
    }
}

/// The default [`Backend`]: a folder on disk under [`WriteRules`], files opened beneath its
/// handle ([`Root::open_read`]) and uploads atomic ([`Root::begin_upload`]).
///
/// Downloads of one file share one open file (found by device and inode, the same one the
/// path check just opened): in a boot storm thousands of clients fetch the same image, and a
/// descriptor per transfer for it would halve the transfers the descriptor limit allows
/// (each transfer has its socket too). Reads are positional, so sharing is safe; a file
/// replaced under its name (a new inode) gets a descriptor of its own.
#[derive(Debug)]
pub struct Folder {
    root: Root,
    rules: WriteRules,
    open: Mutex<HashMap<(u64, u64), Weak<File>>>,
}

/// Open files kept for sharing before the entries of closed ones are swept out.
const SWEEP_AT: usize = 1024;

impl Folder {
    /// Serves `root` under `rules`.
    pub fn new(root: Root, rules: WriteRules) -> Folder {
        Folder {
            root,
            rules,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The served folder.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// `file` if no download holds the same file open, else that download's (and `file` is
    /// closed).
    fn shared(&self, file: File) -> Arc<File> {
        let Ok(meta) = file.metadata() else {
            return Arc::new(file);
        };
        let key = (meta.dev(), meta.ino());
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = open.get(&key).and_then(Weak::upgrade) {
            return held;
        }
        if open.len() >= SWEEP_AT {
            open.retain(|_, f| f.strong_count() > 0);
        }
        let file = Arc::new(file);
        open.insert(key, Arc::downgrade(&file));
        file
    }
}

impl Backend for Folder {
    fn open_read(&self, request: &FileRequest<'_>) -> Result<Opened, Refusal> {
        let source = self.root.open_read(request.path)?;
        Ok(Opened {
            source: Box::new(ReadAhead::new(self.shared(source.file))),
            size: Some(source.size),
        })
    }

    fn create(&self, request: &FileRequest<'_>) -> Result<Box<dyn FileSink>, Refusal> {
        let upload = self.root.begin_upload(request.path, self.rules)?;
        Ok(Box::new(upload))
    }

    fn accepts_uploads(&self) -> bool {
        self.rules.create || self.rules.overwrite
    }
}

fn not_regular() -> Refusal {
    Refusal::new(ErrorCode::AccessViolation, "not a regular file")
}

/// The TFTP error code for a file-system error: ENOENT is 1, a refused or escaping path 2,
/// a full disk or quota 3, an existing file 6, anything else 0.
pub fn error_code(err: &io::Error) -> ErrorCode {
    match Errno::from_io_error(err) {
        Some(Errno::NOENT | Errno::NOTDIR) => ErrorCode::FileNotFound,
        Some(
            Errno::ACCESS
            | Errno::PERM
            | Errno::LOOP
            | Errno::XDEV
            | Errno::ISDIR
            | Errno::ROFS
            | Errno::NAMETOOLONG,
        ) => ErrorCode::AccessViolation,
        Some(Errno::NOSPC | Errno::DQUOT | Errno::FBIG) => ErrorCode::DiskFull,
        Some(Errno::EXIST) => ErrorCode::FileExists,
        _ => match err.kind() {
            io::ErrorKind::NotFound => ErrorCode::FileNotFound,
            io::ErrorKind::PermissionDenied => ErrorCode::AccessViolation,
            io::ErrorKind::AlreadyExists => ErrorCode::FileExists,
            _ => ErrorCode::NotDefined,
        },
    }
}

/// The ERROR to send for a file-system error (short, and revealing no server path).
pub fn refusal(err: &io::Error) -> Refusal {
    let message = match Errno::from_io_error(err) {
        Some(Errno::XDEV) => "path leaves the served folder",
        Some(Errno::LOOP) => "symbolic link refused",
        Some(Errno::ACCESS | Errno::PERM) => "permission denied",
        Some(Errno::ISDIR) => "is a folder",
        Some(Errno::NOSPC) => "disk full",
        Some(Errno::DQUOT) => "disk quota exceeded",
        _ => error_code(err).description(),
    };
    Refusal {
        code: error_code(err),
        message: Cow::Borrowed(message),
    }
}
