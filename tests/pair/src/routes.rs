//! Where datagrams go: addresses as indexes of the pair's endpoints, and the outbox that puts
//! an endpoint's datagrams onto the network.

use std::net::SocketAddr;

use tftp_proto::Instant;

use crate::pair::SERVER;
use crate::{Network, Outbox};

/// The index of a flight's destination for the server's well-known port.
pub(crate) const LISTEN: u32 = u32::MAX;
/// The index of a flight's destination for nobody in the pair.
pub(crate) const NOWHERE: u32 = u32::MAX - 1;
/// Set in the index of a flight's source from outside the pair (the rest indexes
/// [`Routes::outsiders`]).
pub(crate) const OUTSIDER: u32 = 1 << 31;

/// Addresses to indexes and back: the endpoints' (an endpoint's index is its place in
/// the pair's endpoints) and those of the senders from outside.
pub(crate) struct Routes {
    addrs: Vec<SocketAddr>,
    /// For each endpoint, its last destination and the index found for it.
    last: Vec<Option<(SocketAddr, u32)>>,
    outsiders: Vec<SocketAddr>,
}

impl Routes {
    /// The routes of a pair whose first endpoint is at `first`.
    pub(crate) fn new(first: SocketAddr) -> Routes {
        let mut routes = Routes {
            addrs: Vec::new(),
            last: Vec::new(),
            outsiders: Vec::new(),
        };
        routes.add(first);
        routes
    }

    /// A new endpoint at `addr`, next in order.
    pub(crate) fn add(&mut self, addr: SocketAddr) {
        self.addrs.push(addr);
        self.last.push(None);
    }

    /// Where a datagram to `to` goes: [`LISTEN`], an endpoint, or `None` for an address
    /// outside the pair.
    #[inline]
    pub(crate) fn of(&self, to: SocketAddr) -> Option<u32> {
        if to == SERVER {
            return Some(LISTEN);
        }
        let i = self.addrs.iter().position(|&a| a == to)?;
        Some(i as u32)
    }

    /// Where a datagram from endpoint `from` to `to` goes, remembering the answer for the
    /// next datagram of the same endpoint (endpoints are never removed, so it stays right).
    #[inline]
    fn sent_by(&mut self, from: u32, to: SocketAddr) -> Option<u32> {
        let last = &mut self.last[from as usize];
        if let Some((addr, i)) = *last {
            if addr == to {
                return Some(i);
            }
        }
        let i = self.of(to)?;
        self.last[from as usize] = Some((to, i));
        Some(i)
    }

    /// The source index of `addr` outside the pair.
    pub(crate) fn outsider(&mut self, addr: SocketAddr) -> u32 {
        let i = match self.outsiders.iter().position(|&a| a == addr) {
            Some(i) => i,
            None => {
                self.outsiders.push(addr);
                self.outsiders.len() - 1
            }
        };
        OUTSIDER | i as u32
    }

    /// The address of source index `from`.
    #[inline]
    pub(crate) fn address(&self, from: u32) -> SocketAddr {
        if from & OUTSIDER == 0 {
            self.addrs[from as usize]
        } else {
            self.outsiders[(from & !OUTSIDER) as usize]
        }
    }
}

/// The outbox of [`crate::Pair::send`] for endpoint `from`: datagrams to the pair's
/// addresses go onto the network, the others are only counted.
pub(crate) struct Wire<'a> {
    pub net: &'a mut Network,
    pub now: Instant,
    pub from: u32,
    pub routes: &'a mut Routes,
    /// The client's index, when there is a client.
    pub toward_client: Option<u32>,
    pub outside: &'a mut u64,
}

impl Outbox for Wire<'_> {
    #[inline]
    fn buffer(&mut self, len: usize) -> &mut [u8] {
        self.net.buffer(len)
    }

    #[inline]
    fn send(&mut self, _from: SocketAddr, to: SocketAddr, len: usize) {
        let Some(to) = self.routes.sent_by(self.from, to) else {
            *self.outside += 1;
            return;
        };
        let toward_client = self.toward_client == Some(to);
        self.net.send(self.now, (self.from, to), len, toward_client);
    }
}
