//! The server argument: `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT`, or a bare IPv6
//! address.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// The well-known TFTP port.
pub const DEFAULT_PORT: u16 = 69;

/// Resolves the server argument to one address.
pub fn resolve(spec: &str) -> Result<SocketAddr, String> {
    let (host, port) = split(spec)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    addrs.next().ok_or_else(|| format!("{host} has no address"))
}

fn split(spec: &str) -> Result<(&str, u16), String> {
    let bad = || format!("bad server address {spec:?} (want HOST, HOST:PORT or [IPV6]:PORT)");
    if let Some(rest) = spec.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => DEFAULT_PORT,
            _ => parse_port(after.strip_prefix(':').ok_or_else(bad)?).ok_or_else(bad)?,
        };
        return Ok((host, port));
    }
    match spec.split_once(':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some((host, port)) if !port.contains(':') => Ok((host, parse_port(port).ok_or_else(bad)?)),
        _ if spec.is_empty() => Err(bad()),
        _ => Ok((spec, DEFAULT_PORT)),
    }
}

fn parse_port(text: &str) -> Option<u16> {
    text.parse().ok().filter(|&p| p != 0)
}
