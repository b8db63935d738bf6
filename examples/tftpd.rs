//! `tftpd`: a TFTP server on the tftp-proto core, meant to replace tftpd-hpa.
//!
//! ```text
//! cargo run --release --example tftpd -- --root /srv/tftp            # port 69, read-only
//! cargo run --release --example tftpd -- --root DIR --port 6969 --allow-create --allow-write
//! cargo run --release --example tftpd -- --root DIR --bind ::        # IPv6 and IPv4
//! cargo run --release --example tftpd -- --root /srv/tftp --user nobody  # drop root
//! ```
//!
//! One line per transfer goes to stderr. Ctrl-C or SIGTERM aborts the running transfers
//! (the peers get ERROR 0), removes unfinished uploads and exits.

#[cfg(unix)]
#[path = "tftpd/args.rs"]
mod args;
#[cfg(unix)]
#[path = "driver/mod.rs"]
mod driver;
#[cfg(unix)]
#[path = "tftpd/intake.rs"]
mod intake;
#[cfg(unix)]
#[path = "tftpd/listen.rs"]
mod listen;
#[cfg(unix)]
#[path = "tftpd/log.rs"]
mod log;
#[cfg(unix)]
#[path = "tftpd/ports.rs"]
mod ports;
#[cfg(unix)]
#[path = "tftpd/privilege.rs"]
mod privilege;
#[cfg(unix)]
#[path = "tftpd/ratelimit.rs"]
mod ratelimit;
#[cfg(unix)]
#[path = "tftpd/server.rs"]
mod server;

use std::process::ExitCode;

#[cfg(unix)]
fn main() -> ExitCode {
    use clap::Parser;

    match run(args::Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tftpd: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(unix)]
fn run(args: args::Args) -> Result<(), String> {
    use std::net::SocketAddr;

    use driver::fs::{Root, WriteRules};
    use tftp_proto::{Config, ServerPolicy};

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
    let listener = listen::listen(addr)?;
    let bound = listener.local_addr().unwrap_or(addr);
    let mode = match (rules.create, rules.overwrite) {
        (false, false) => "read-only",
        (true, false) => "uploads may create files",
        (false, true) => "uploads may replace files",
        (true, true) => "uploads may create and replace files",
    };
    eprintln!(
        "tftpd: serving {} on {bound} ({mode})",
        root.path().display()
    );
    if let Some(name) = &args.user {
        let who = privilege::drop_to(name)?;
        eprintln!("tftpd: running as {who}");
    }
    let mut config = Config::default();
    config.send_buffer = args.send_buffer;
    let settings = server::Settings {
        root,
        rules,
        policy,
        config,
        max_sessions: usize::try_from(args.max_sessions).unwrap_or(usize::MAX),
        gso: !args.no_gso,
        ports: args.port_range,
    };
    let limiter = ratelimit::RateLimiter::new(args.rate_limit);
    let mut server = server::Server::new(listener, settings, limiter)
        .map_err(|e| format!("cannot start: {e}"))?;
    server.run().map_err(|e| format!("stopped on error: {e}"))
}

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("tftpd: this example runs on Unix-like systems (Linux, macOS, the BSDs) only");
    ExitCode::FAILURE
}
