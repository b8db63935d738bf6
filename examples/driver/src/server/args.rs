//! Command line of the server.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

use super::log::Format;
use super::ports::PortRange;

/// A TFTP server (RFC 1350 with blksize, timeout, tsize and windowsize options) on the
/// tftp-proto core: serves one folder, read-only unless told otherwise.
#[derive(Debug, Parser)]
#[command(name = "tftpd", version)]
pub struct Args {
    /// The folder to serve; names in requests are taken relative to it.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,

    /// Address to listen on; `::` serves IPv6 and IPv4. Ignored when systemd passes the socket.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// UDP port to listen on (69 needs root or CAP_NET_BIND_SERVICE). Ignored when systemd
    /// passes the socket (socket activation: LISTEN_FDS).
    #[arg(long, value_name = "N", default_value_t = 69)]
    pub port: u16,

    /// Let uploads replace existing files (else ERROR 6, "file exists").
    #[arg(long)]
    pub allow_write: bool,

    /// Let uploads create new files (else ERROR 2).
    #[arg(long)]
    pub allow_create: bool,

    /// Local ports for transfer sockets, LOW:HIGH (for a firewall that opens only those); a
    /// request finding all of them taken gets ERROR 0. Default: any free port.
    #[arg(long, value_name = "LOW:HIGH")]
    pub port_range: Option<PortRange>,

    /// After binding the port and opening the root, run as this user (its uid and groups),
    /// like tftpd-hpa's -u; needs root. Files are then read and written with its
    /// permissions: what it may not read is refused (ERROR 2), uploads belong to it.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Write the process ID to this file once the port is bound (before --user), hold it
    /// locked while running (a second server on the same file refuses to start), and remove
    /// it on exit.
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,

    /// Where the line per transfer and per refused request goes: stderr (text), syslog (the
    /// same text to /dev/log, facility daemon, ident tftpd), json (one JSON object per line
    /// on stdout, with the SHA-256 of the bytes moved).
    #[arg(long, value_enum, value_name = "WHERE", default_value_t = Format::Stderr)]
    pub log: Format,

    /// Largest block size granted (8..=65464).
    #[arg(long, value_name = "N", default_value_t = 65464,
          value_parser = clap::value_parser!(u16).range(8..=65464))]
    pub max_blksize: u16,

    /// Largest window size granted (1..=65535).
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub max_windowsize: u16,

    /// Most transfers at once; more are refused with ERROR 0 "server busy".
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,

    /// File bytes each download keeps in memory for retransmission (whole blocks, at least
    /// one, at most a window); a lost block beyond it is read again from the file.
    #[arg(long, value_name = "BYTES", default_value_t = 32 * 1024)]
    pub send_buffer: usize,

    /// Largest upload in bytes; larger ones get ERROR 3.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,

    /// New requests per second allowed from one IP address (with an equal burst); more get
    /// ERROR 0. 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub rate_limit: u32,

    /// Send every datagram with its own system call instead of a window per UDP GSO send
    /// (Linux). Slower; use it when reading packet captures taken on this host: with GSO a
    /// capture on `lo` shows a window as one large datagram, since it taps packets before
    /// the kernel splits them.
    #[arg(long)]
    pub no_gso: bool,
}
