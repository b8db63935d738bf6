//! The `tftpd` program: the command line to a running [`Server`].
//!
//! ```text
//! tftpd --root /srv/tftp                        # port 69, read-only
//! tftpd --root DIR --port 6969 --allow-create --allow-write
//! tftpd --root DIR --bind ::                    # IPv6 and IPv4
//! tftpd --root /srv/tftp --user nobody          # drop root
//! tftpd --root /srv/tftp --log json --pid-file /run/tftpd.pid
//! ```
//!
//! One line per transfer goes to stderr (or as `--log` says). Started by systemd with a
//! socket (socket activation), the server serves that socket and ignores `--bind` and
//! `--port`. Ctrl-C or SIGTERM aborts the running transfers (the peers get ERROR 0), removes
//! unfinished uploads and exits.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tftp_proto::{Config, ServerPolicy};

use super::args::Args;
use super::log::{self, Destination};
use super::pid_file::PidFile;
use super::ratelimit::RateLimiter;
use super::{activation, listen, privilege, Server, Settings};
use crate::fs::{Folder, Root, WriteRules};

/// The program: parses the command line, serves until stopped, and says why it stopped.
pub fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tftpd: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Serves as `args` say until a stop signal; the error is a sentence for the operator.
pub fn run(args: Args) -> Result<(), String> {
    let passed = activation::listener()?;
    let destination = Destination::open(args.log)?;
    let root = Root::open(&args.root)
        .map_err(|e| format!("cannot open the root folder {}: {e}", args.root.display()))?;
    let rules = WriteRules {
        create: args.allow_create,
        overwrite: args.allow_write,
    };
    let mut policy = ServerPolicy::default();
    policy.max_blksize = args.max_blksize;
    policy.max_windowsize = args.max_windowsize;
    policy.max_file_size = args.max_file_size;
    let addr = SocketAddr::new(args.bind, args.port);
    let (listener, origin) = match passed {
        Some(socket) => (socket, " (socket from systemd)"),
        None => (listen::listen(addr)?, ""),
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let _pid_file = args.pid_file.as_deref().map(PidFile::create).transpose()?;
    let mode = match (rules.create, rules.overwrite) {
        (false, false) => "read-only",
        (true, false) => "uploads may create files",
        (false, true) => "uploads may replace files",
        (true, true) => "uploads may create and replace files",
    };
    eprintln!(
        "tftpd: serving {} on {bound}{origin} ({mode})",
        root.path().display()
    );
    if let Some(name) = &args.user {
        let who = privilege::drop_to(name)?;
        eprintln!("tftpd: running as {who}");
    }
    let mut config = Config::default();
    config.send_buffer = args.send_buffer;
    let settings = Settings {
        backend: Arc::new(Folder { root, rules }),
        policy,
        config,
        max_sessions: usize::try_from(args.max_sessions).unwrap_or(usize::MAX),
        gso: !args.no_gso,
        ports: args.port_range,
    };
    let limiter = RateLimiter::new(args.rate_limit);
    let _ = log::set_destination(destination);
    let mut server =
        Server::new(listener, settings, limiter).map_err(|e| format!("cannot start: {e}"))?;
    server.run().map_err(|e| format!("stopped on error: {e}"))
}
