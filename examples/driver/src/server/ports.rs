//! `--port-range LOW:HIGH`: the local ports transfer sockets may take (their transfer IDs),
//! for a firewall that opens only those, as tftpd-hpa's `-R`. Without it the system picks
//! any free port.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use mio::net::UdpSocket;

use crate::net::bind_udp;

/// An inclusive range of UDP ports, `LOW:HIGH` on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    low: u16,
    high: u16,
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(text: &str) -> Result<PortRange, String> {
        let (low, high) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: expected LOW:HIGH"))?;
        let port = |p: &str| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{p:?}: expected a port number from 1 to 65535"))
        };
        let (low, high) = (port(low)?, port(high)?);
        if low > high {
            return Err(format!("{text:?}: the first port is above the second"));
        }
        Ok(PortRange { low, high })
    }
}

/// Where transfer sockets are bound: any port, or the next free one of a range (taken in
/// turn, so a port just freed is not reused at once by the next transfer).
#[derive(Debug)]
pub struct TransferPorts {
    range: Option<PortRange>,
    next: u16,
}

impl TransferPorts {
    /// Transfer sockets on `range`, or on any port.
    pub fn new(range: Option<PortRange>) -> TransferPorts {
        TransferPorts {
            next: range.map_or(0, |r| r.low),
            range,
        }
    }

    /// A transfer socket on `ip`. With a range: the first port from the turn's start that is
    /// free; every port taken is an error ("address in use").
    pub fn bind(&mut self, ip: IpAddr) -> io::Result<UdpSocket> {
        let Some(range) = self.range else {
            return bind_udp(SocketAddr::new(ip, 0));
        };
        let count = u32::from(range.high - range.low) + 1;
        let mut port = self.next;
        for _ in 0..count {
            let after = if port == range.high {
                range.low
            } else {
                port + 1
            };
            match bind_udp(SocketAddr::new(ip, port)) {
                Ok(socket) => {
                    self.next = after;
                    return Ok(socket);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => port = after,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "every port of the range is taken",
        ))
    }
}
