//! # tftp-driver: the tftp-proto core on mio, UDP sockets and files
//!
//! Everything around a [`tftp_proto::Session`] that touches the outside world (sockets, the
//! clock, files), as a library, plus the two programs built on it: the server [`server`]
//! (`tftpd`) and the client [`client`] (`tftp`). `cargo install --path examples/driver`
//! installs both binaries.
//!
//! One job per module:
//! - [`clock`]: `std::time::Instant` to the core's microsecond [`tftp_proto::Instant`];
//! - [`deadlines`]: the heap of session deadlines whose earliest entry wakes the loop;
//! - [`alarm`]: that earliest deadline as one kernel timer, moved only when it changes;
//! - [`transfer`]: one session with its socket and file, and the loop step that mirrors the
//!   crate docs' driver loop line for line;
//! - [`file_end`]: the file side of a transfer (positional reads, or an upload's writes);
//! - [`read_ahead`]: a sender's file, read in larger pieces than lock-step blocks;
//! - [`receipt`]: the SHA-256 of the file bytes a transfer moved, each byte once;
//! - [`backend`]: where a server's files come from and go to (a trait; a folder by default);
//! - [`fs`]: the folder backend (safe opens under the served root) and the TFTP error for each
//!   file-system error;
//! - [`beneath`]: opening a relative path so that it cannot leave a directory;
//! - [`upload`]: temporary file, fsync and rename, so a half upload never shows;
//! - [`write_behind`]: a receiver's block-sized writes gathered into larger ones;
//! - [`inbox`]: receiving a transfer's datagrams, a window per system call where the OS allows;
//! - [`net`]: UDP sockets (dual-stack IPv6) for mio;
//! - [`outbox`]: sending a session's datagrams, a window per system call where the OS allows;
//! - [`signals`]: SIGINT, SIGTERM and SIGHUP as events of the mio loop;
//! - [`server`]: the `tftpd` server (event loop, request intake, limits, log, command line);
//! - [`client`]: the `tftp` client (one transfer, progress, report, command line).
//!
//! The driver runs on Unix-like systems (it uses `openat2`/`*at` calls, a timerfd on Linux
//! and Unix signals); elsewhere this crate is empty.

#![cfg(unix)]
#![deny(missing_docs)]

pub mod alarm;
pub mod backend;
pub mod beneath;
pub mod client;
pub mod clock;
pub mod deadlines;
pub mod file_end;
pub mod fs;
pub mod inbox;
pub mod net;
pub mod outbox;
pub mod read_ahead;
pub mod receipt;
pub mod server;
pub mod signals;
pub mod transfer;
pub mod upload;
pub mod write_behind;
