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
#[command(group(clap::ArgGroup::new("folder").required(true).args(["root", "directory"])))]
pub struct Args {
    /// The folder to serve; names in requests are taken relative to it (and never leave it).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// The folder to serve, given as tftpd-hpa takes it (`in.tftpd [options] DIR`).
    #[arg(value_name = "DIR", conflicts_with = "root")]
    pub directory: Option<PathBuf>,

    /// Address and port to listen on, as tftpd-hpa's -a: `ADDR`, `:PORT`, `ADDR:PORT`,
    /// `[IPV6]:PORT` (numeric addresses only). Instead of --bind and --port.
    #[arg(long, short = 'a', value_name = "[ADDR][:PORT]", value_parser = parse_address,
          conflicts_with_all = ["bind", "port"])]
    pub address: Option<(Option<IpAddr>, Option<u16>)>,

    /// Accepted for tftpd-hpa command lines, no effect: names are always taken relative to
    /// the folder and opened beneath it, with no chroot needed (tftpd-hpa's -s).
    #[arg(long, short = 's')]
    pub secure: bool,

    /// Accepted for tftpd-hpa command lines, no effect: this server always runs standalone
    /// in the foreground (tftpd-hpa's -l and -L).
    #[arg(long, short = 'l', visible_alias = "foreground", short_alias = 'L')]
    pub listen: bool,

    /// Accepted for tftpd-hpa command lines, no effect: access is what the file system
    /// allows the server's user (tftpd-hpa's -p; without it tftpd-hpa also wants world
    /// permissions).
    #[arg(long, short = 'p')]
    pub permissive: bool,

    /// Accepted for tftpd-hpa command lines (-v, -vv...), no effect: every transfer and every
    /// refusal is logged, one line each.
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,

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
    #[arg(long, short = 'c')]
    pub allow_create: bool,

    /// Local ports for transfer sockets, LOW:HIGH (for a firewall that opens only those); a
    /// request finding all of them taken gets ERROR 0. Default: any free port.
    #[arg(long, short = 'R', value_name = "LOW:HIGH")]
    pub port_range: Option<PortRange>,

    /// After binding the port and opening the root, run as this user (its uid and groups),
    /// like tftpd-hpa's -u; needs root. Files are then read and written with its
    /// permissions: what it may not read is refused (ERROR 2), uploads belong to it.
    #[arg(long, short = 'u', value_name = "NAME")]
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
    #[arg(long, short = 'B', visible_alias = "blocksize", value_name = "N", default_value_t = 65464,
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

    /// Rewrite requested file names by the rules in FILE, in the format of tftpd-hpa's
    /// --map-file (-m): operations r g i e s a G P 4 6 ~, and \0 to \9, \i, \x, \U, \L, \E in
    /// replacements. A bad rule stops the server at start, naming its line; the rewritten
    /// name is checked and confined to the root like a client's. SIGHUP reads FILE again.
    #[arg(long, short = 'm', value_name = "FILE")]
    pub map_file: Option<PathBuf>,

    /// Answer every transfer from the listening port, sessions told apart by the client's
    /// address and port (as dnsmasq's --tftp-single-port): for NAT, firewalls and containers
    /// that forward only the one port. Not with --port-range.
    #[arg(long, conflicts_with = "port_range")]
    pub single_port: bool,

    /// After SIGTERM, how long running transfers may take to finish (new requests are
    /// refused meanwhile); then they are stopped with ERROR 0. SIGINT (Ctrl-C) or a second
    /// SIGTERM stops at once. 0: stop at once on SIGTERM too.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub grace: u64,

    /// Never grant this option (blksize, tsize, timeout or windowsize; repeat for more): it
    /// is left out of the OACK, as tftpd-hpa's -r. Clients then use the RFC 1350 default.
    #[arg(long, short = 'r', value_name = "OPTION")]
    pub refuse: Vec<RefusedOption>,

    /// Permissions of new uploaded files: 0666 without the bits of this octal umask (as
    /// tftpd-hpa's -U). Without it, new files get 0644 (less what the process umask takes).
    /// Replaced files keep their permissions.
    #[arg(long, short = 'U', value_name = "UMASK", value_parser = parse_umask)]
    pub umask: Option<u32>,

    /// Shortest retransmission interval in microseconds for clients that negotiate no
    /// `timeout` (tftpd-hpa's -T: the first retransmission waits this long, then backs off);
    /// a measured round trip can lengthen it, never shorten it.
    #[arg(long, short = 'T', value_name = "USEC",
          value_parser = clap::value_parser!(u64).range(1000..=255_000_000))]
    pub retransmit: Option<u64>,

    /// Largest `timeout` option granted, in seconds (1..=255); a client asking for more gets
    /// the option left out (RFC 2349 allows no other value) and the adaptive interval.
    #[arg(long, value_name = "SECONDS", default_value_t = 255,
          value_parser = clap::value_parser!(u8).range(1..))]
    pub max_timeout: u8,

    /// Event loops (threads) serving the port, each with its own listening socket on it
    /// (SO_REUSEPORT); a transfer stays on the loop that took it, and the limits hold for
    /// all of them together. Default: one per CPU.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// Times the first packet of a transfer (DATA 1, OACK or ACK 0) is sent again to a client
    /// that has not answered it, the first time after a second: a lost first packet then costs
    /// about a second instead of the client's own timer. A request from a spoofed address gets
    /// at most 1 + N datagrams; 0 sends the first packet once only (the client's repeated
    /// request is still answered).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(0..=8))]
    pub first_packet_repeats: u8,

    /// IPv4 only (the default listens on 0.0.0.0), as tftpd-hpa's -4.
    #[arg(long, short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 only: listen on `::` (or the IPv6 --bind) without taking IPv4, as tftpd-hpa's -6.
    /// (`--bind ::` without it serves both.)
    #[arg(long, short = '6')]
    pub ipv6: bool,
}

/// An option `--refuse` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RefusedOption {
    /// RFC 2348 block size.
    Blksize,
    /// RFC 2349 transfer size.
    Tsize,
    /// RFC 2349 retransmission timeout.
    Timeout,
    /// RFC 7440 window size.
    Windowsize,
}

impl Args {
    /// The served folder (`--root` or the positional DIR).
    pub fn root_dir(&self) -> &std::path::Path {
        self.root
            .as_deref()
            .or(self.directory.as_deref())
            .unwrap_or(std::path::Path::new("."))
    }

    /// The address to listen on, from --address or --bind and --port.
    pub fn listen_on(&self) -> (IpAddr, u16) {
        match self.address {
            Some((ip, port)) => (ip.unwrap_or(self.bind), port.unwrap_or(self.port)),
            None => (self.bind, self.port),
        }
    }
}

/// tftpd-hpa's `[address][:port]`.
fn parse_address(text: &str) -> Result<(Option<IpAddr>, Option<u16>), String> {
    let bad = || format!("{text:?}: expected ADDR, :PORT, ADDR:PORT or [IPV6]:PORT");
    let port = |p: &str| p.parse::<u16>().map_err(|_| bad());
    let ip = |a: &str| a.parse::<IpAddr>().map_err(|_| bad());
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => None,
            _ => Some(port(after.strip_prefix(':').ok_or_else(bad)?)?),
        };
        return Ok((Some(ip(addr)?), port));
    }
    match text.split_once(':') {
        Some((addr, p)) if !p.contains(':') => {
            let addr = if addr.is_empty() {
                None
            } else {
                Some(ip(addr)?)
            };
            Ok((addr, Some(port(p)?)))
        }
        _ => Ok((Some(ip(text)?), None)),
    }
}

fn parse_umask(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mask) if mask <= 0o777 => Ok(mask),
        _ => Err(format!("{text:?} is not an octal umask (000..777)")),
    }
}
