//! The `tftp` client: one download or upload from the command line.
//!
//! - [`run`]: one client transfer (socket, session, file, deadlines, progress);
//! - [`target`]: `HOST[:PORT]` to a socket address;
//! - [`progress`]: the progress line;
//! - [`report`]: the outcome on the terminal and the exit status;
//! - [`args`] and [`cli`]: the command line and the program's `main`.

pub mod args;
pub mod cli;
pub mod progress;
pub mod report;
pub mod run;
pub mod target;
