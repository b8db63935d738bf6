//! The mio driver shared by the `tftpd` and `tftp` examples: everything around a
//! [`tftp_proto::Session`] that touches the outside world (sockets, the clock, files).
//!
//! One job per file:
//! - [`clock`]: `std::time::Instant` to the core's microsecond [`tftp_proto::Instant`];
//! - [`deadlines`]: the heap of session deadlines whose earliest entry wakes the loop;
//! - [`alarm`]: that earliest deadline as one kernel timer, moved only when it changes;
//! - [`transfer`]: one session with its socket and file, and the loop step that mirrors the
//!   crate docs' driver loop line for line;
//! - [`file_end`]: the file side of a transfer (positional reads, or an upload's writes);
//! - [`read_ahead`]: a sender's file, read in larger pieces than lock-step blocks;
//! - [`fs`]: safe opens under the served root and the TFTP error for each file-system error;
//! - [`beneath`]: opening a relative path so that it cannot leave a directory;
//! - [`upload`]: temporary file, fsync and rename, so a half upload never shows;
//! - [`write_behind`]: a receiver's block-sized writes gathered into larger ones;
//! - [`inbox`]: receiving a transfer's datagrams, a window per system call where the OS allows;
//! - [`net`]: UDP sockets (dual-stack IPv6) for mio;
//! - [`outbox`]: sending a session's datagrams, a window per system call where the OS allows;
//! - [`shutdown`]: Ctrl-C and SIGTERM as a mio wake-up.

// Each binary uses its own part of this module (the client has no served root, the server
// no local download), so some items are unused in each of them.
#![allow(dead_code)]

pub mod alarm;
pub mod beneath;
pub mod clock;
pub mod deadlines;
pub mod file_end;
pub mod fs;
pub mod inbox;
pub mod net;
pub mod outbox;
pub mod read_ahead;
pub mod shutdown;
pub mod transfer;
pub mod upload;
pub mod write_behind;
