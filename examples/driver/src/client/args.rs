//! Command line of the client.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Which way the file goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Verb {
    /// Download REMOTE from the server to LOCAL.
    Get,
    /// Upload LOCAL to the server as REMOTE.
    Put,
}

/// The transfer mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Bytes exactly as stored.
    Octet,
    /// Text: line ends travel as CR LF.
    Netascii,
}

/// A TFTP client on the tftp-proto core.
///
/// A download goes to a temporary file beside LOCAL and replaces LOCAL only when complete.
#[derive(Debug, Parser)]
#[command(name = "tftp", version)]
pub struct Args {
    /// get or put.
    #[arg(value_enum)]
    pub verb: Verb,

    /// The server: `HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT` (port 69 by default).
    #[arg(
        value_name = "HOST[:PORT]",
        help = "The server: HOST, HOST:PORT, [IPV6] or [IPV6]:PORT (port 69 by default)"
    )]
    pub server: String,

    /// The file name on the server.
    #[arg(value_name = "REMOTE")]
    pub remote: String,

    /// The local file (default: REMOTE's last component for get, REMOTE itself for put).
    #[arg(value_name = "LOCAL")]
    pub local: Option<PathBuf>,

    /// Ask for this block size (8..=65464; e.g. 1468 fits an Ethernet frame).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(8..=65464))]
    pub blksize: Option<u16>,

    /// Ask for this window size (blocks in flight, 1..=65535).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub windowsize: Option<u16>,

    /// Ask for a fixed retransmission timeout in seconds (1..=255; adaptive without it).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u8).range(1..))]
    pub timeout: Option<u8>,

    /// Ask for (get) or announce (put) the transfer size, for a percentage.
    #[arg(long)]
    pub tsize: bool,

    /// Transfer mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Octet)]
    pub mode: ModeArg,
}
