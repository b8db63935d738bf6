//! The `tftpd` program: the command line to a running [`Server`](super::Server).
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tftp_proto::{Config, OptionHandling, ServerPolicy};

use super::args::{Args, RefusedOption};
use super::log::{self, Destination};
use super::pid_file::PidFile;
use super::remap::RemapRules;
use super::{activation, listen, privilege, workers, Settings, Shared};
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
    let folder = args.root_dir();
    let root = Root::open(folder)
        .map_err(|e| format!("cannot open the root folder {}: {e}", folder.display()))?;
    let rules = WriteRules {
        create: args.allow_create,
        overwrite: args.allow_write,
        new_file_mode: args.umask.map(|mask| 0o666 & !mask),
    };
    let mut policy = ServerPolicy::default();
    policy.max_blksize = args.max_blksize;
    policy.max_windowsize = args.max_windowsize;
    policy.max_file_size = args.max_file_size;
    policy.max_timeout = args.max_timeout;
    for option in &args.refuse {
        let handling = match option {
            RefusedOption::Blksize => &mut policy.blksize,
            RefusedOption::Tsize => &mut policy.tsize,
            RefusedOption::Timeout => &mut policy.timeout,
            RefusedOption::Windowsize => &mut policy.windowsize,
        };
        *handling = OptionHandling::Ignore;
    }
    let remap = args.map_file.as_deref().map(RemapRules::load).transpose()?;
    let addr = listen_address(&args)?;
    // A socket from systemd is one socket: one loop serves it (several loops on one socket
    // could split a client's datagrams between them).
    let (listeners, origin) = match passed {
        Some(socket) => (vec![socket], " (socket from systemd)"),
        None => {
            let workers = args.workers.map_or_else(default_workers, usize::from);
            (listen::listen_shared(addr, args.ipv6, workers)?, "")
        }
    };
    let workers = listeners.len();
    let bound = listeners[0].local_addr().unwrap_or(addr);
    let _pid_file = args.pid_file.as_deref().map(PidFile::create).transpose()?;
    let mode = match (rules.create, rules.overwrite) {
        (false, false) => "read-only",
        (true, false) => "uploads may create files",
        (false, true) => "uploads may replace files",
        (true, true) => "uploads may create and replace files",
    };
    let ports = if args.single_port {
        ", every transfer on this port"
    } else {
        ""
    };
    eprintln!(
        "tftpd: serving {} on {bound}{origin} ({mode}{ports}; {workers} workers)",
        root.path().display()
    );
    if let Some(name) = &args.user {
        let who = privilege::drop_to(name)?;
        eprintln!("tftpd: running as {who}");
    }
    let mut config = Config::default();
    config.send_buffer = args.send_buffer;
    config.first_packet_repeats = args.first_packet_repeats;
    if let Some(usec) = args.retransmit {
        // A fixed interval: the adaptive one starts, stays and ends there.
        let interval = Duration::from_micros(usec);
        config.initial_rto = interval;
        config.min_rto = interval;
        config.max_rto = interval.max(config.max_rto);
    }
    let settings = Settings {
        backend: Arc::new(Folder::new(root, rules)),
        policy,
        config,
        gso: !args.no_gso,
        ports: args.port_range,
        remap,
        single_port: args.single_port,
        remap_file: args.map_file.clone(),
        grace: Duration::from_secs(args.grace),
    };
    let max_sessions = usize::try_from(args.max_sessions).unwrap_or(usize::MAX);
    let shared = Shared::new(max_sessions, args.rate_limit);
    let _ = log::set_destination(destination);
    let result = workers::serve(listeners, settings, shared);
    eprintln!("tftpd: stopped");
    result.map_err(|e| format!("stopped on error: {e}"))
}

/// The address to listen on: `--address`, or `--bind` and `--port`, with `-4` and `-6` (which
/// take the wildcard address of their family when no address was given).
fn listen_address(args: &Args) -> Result<SocketAddr, String> {
    let (bind, port) = args.listen_on();
    let default = bind == IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let ip = match (args.ipv4, args.ipv6, bind) {
        (true, _, IpAddr::V6(_)) => return Err("--ipv4 with an IPv6 --bind address".into()),
        (_, true, IpAddr::V4(_)) if default => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (_, true, IpAddr::V4(_)) => return Err("--ipv6 with an IPv4 --bind address".into()),
        (_, _, ip) => ip,
    };
    Ok(SocketAddr::new(ip, port))
}

/// One worker per CPU the process may run on.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
