//! The simulated network between the two sides: datagrams in flight, in order of arrival, each
//! in a buffer of a pool that is reused (so a running pair allocates nothing per packet).

use std::collections::VecDeque;
use std::time::Duration;

use tftp_proto::Instant;

use crate::{Fate, Link, Rng};

/// Datagrams in flight between the client and the server side, and the impairments they
/// meet: a [`Link`] per direction and the seeded [`Rng`] that decides, or none at all.
#[derive(Debug)]
pub struct Network {
    rng: Rng,
    to_server: Link,
    to_client: Link,
    /// False: every datagram arrives after the link's delay, and the generator is never
    /// asked.
    impaired: bool,
    /// The delay of a network that is not impaired, in microseconds.
    perfect_delay: u64,
    /// In order of arrival, then of sending (a flight goes in after every one that arrives
    /// no later).
    flights: VecDeque<Flight>,
    /// Every buffer the network ever needed, each as long as the longest datagram it held.
    buffers: Vec<Vec<u8>>,
    /// Indexes of the buffers not in flight.
    free: Vec<u32>,
    /// The buffer handed out by the last [`Network::buffer`], not yet sent.
    pending: Option<u32>,
    stats: NetStats,
}

/// What the network did with the datagrams it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams given to it (injected ones included).
    pub sent: u64,
    /// Datagrams lost.
    pub dropped: u64,
    /// Datagrams that arrived twice.
    pub duplicated: u64,
}

/// One datagram on its way. Where it comes from and goes to are the pair's business: indexes
/// it resolved when the datagram was sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flight {
    pub at: Instant,
    pub from: u32,
    pub to: u32,
    buffer: u32,
    len: u32,
}

impl Network {
    /// A network whose two directions are impaired as `to_server` and `to_client` say, every
    /// draw from one generator seeded with `seed` (in the order the datagrams are sent).
    pub fn impaired(seed: u64, to_server: Link, to_client: Link) -> Network {
        Network {
            rng: Rng::new(seed),
            to_server,
            to_client,
            impaired: true,
            perfect_delay: 0,
            flights: VecDeque::new(),
            buffers: Vec::new(),
            free: Vec::new(),
            pending: None,
            stats: NetStats::default(),
        }
    }

    /// A network without loss, duplication or reordering, that never draws a random number:
    /// every datagram arrives `delay` after it was sent.
    pub fn perfect(delay: Duration) -> Network {
        let link = Link {
            delay,
            ..Link::clean()
        };
        Network {
            impaired: false,
            perfect_delay: u64::try_from(delay.as_micros()).expect("a delay under 500,000 years"),
            ..Network::impaired(0, link, link)
        }
    }

    /// The generator the impairments draw from (for a test whose own choices should follow
    /// the same seed; each draw shifts every later impairment).
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// What happened to the datagrams so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// True when nothing is in flight.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.flights.is_empty()
    }

    /// Datagrams in flight.
    pub fn in_flight(&self) -> usize {
        self.flights.len()
    }

    /// When the next datagram arrives.
    #[inline]
    pub fn next_arrival(&self) -> Option<Instant> {
        self.flights.front().map(|f| f.at)
    }

    /// A buffer of at least `len` bytes for the next datagram.
    #[inline]
    pub(crate) fn buffer(&mut self, len: usize) -> &mut [u8] {
        let i = match self.pending {
            Some(i) => i,
            None => {
                let i = self.take_buffer();
                self.pending = Some(i);
                i
            }
        };
        let buf = &mut self.buffers[i as usize];
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf
    }

    /// A buffer not in flight, made when there is none.
    #[inline]
    fn take_buffer(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.buffers.push(Vec::new());
            u32::try_from(self.buffers.len() - 1).expect("fewer than 2^32 datagrams in flight")
        })
    }

    /// Puts the datagram of `len` bytes written into the last [`Network::buffer`] on the link
    /// toward the client or the server at `now`, from and to what the pair calls `from` and
    /// `to`.
    #[inline]
    pub(crate) fn send(
        &mut self,
        now: Instant,
        (from, to): (u32, u32),
        len: usize,
        toward_client: bool,
    ) {
        self.stats.sent += 1;
        let Some(buffer) = self.pending.take() else {
            unreachable!("a datagram sent without a buffer");
        };
        let len = len as u32; // at most a buffer's length, which is a datagram's
        let flight = |at| Flight {
            at,
            from,
            to,
            buffer,
            len,
        };
        if !self.impaired {
            let at = Instant::from_micros(now.as_micros().saturating_add(self.perfect_delay));
            return self.push(flight(at));
        }
        let link = if toward_client {
            &self.to_client
        } else {
            &self.to_server
        };
        match link.fate(now, &mut self.rng) {
            Fate::Lost => {
                self.stats.dropped += 1;
                self.free.push(buffer);
            }
            Fate::Arrives { at, copies: 1 } => self.push(flight(at[0])),
            Fate::Arrives { at, .. } => {
                self.stats.duplicated += 1;
                let copy = self.take_buffer();
                let (original, copied) = pair_mut(&mut self.buffers, buffer, copy);
                fill(copied, &original[..len as usize]);
                self.push(flight(at[0]));
                self.push(Flight {
                    buffer: copy,
                    ..flight(at[1])
                });
            }
        }
    }

    /// Puts `datagram` on the way from `from` to `to` (the pair's indexes), arriving at `at`
    /// unimpaired.
    pub(crate) fn inject(&mut self, at: Instant, (from, to): (u32, u32), datagram: &[u8]) {
        self.stats.sent += 1;
        let buffer = self.take_buffer();
        fill(&mut self.buffers[buffer as usize], datagram);
        let len = u32::try_from(datagram.len()).expect("a datagram under 4 GiB");
        self.push(Flight {
            at,
            from,
            to,
            buffer,
            len,
        });
    }

    /// Inserts a flight after every one that arrives no later (at the end, as a rule).
    #[inline]
    fn push(&mut self, flight: Flight) {
        let mut i = self.flights.len();
        while i > 0 && self.flights[i - 1].at > flight.at {
            i -= 1;
        }
        if i == self.flights.len() {
            self.flights.push_back(flight);
        } else {
            self.flights.insert(i, flight);
        }
    }

    /// The next datagram that has arrived by `now`; its bytes are [`Network::datagram`] until
    /// [`Network::recycle`].
    #[inline]
    pub(crate) fn arrived(&mut self, now: Instant) -> Option<Flight> {
        if self.flights.front()?.at > now {
            return None;
        }
        self.flights.pop_front()
    }

    /// The bytes of an arrived datagram.
    #[inline]
    pub(crate) fn datagram(&self, flight: &Flight) -> &[u8] {
        &self.buffers[flight.buffer as usize][..flight.len as usize]
    }

    /// Takes back the buffer of a delivered datagram.
    #[inline]
    pub(crate) fn recycle(&mut self, flight: Flight) {
        self.free.push(flight.buffer);
    }
}

/// Two different buffers of `buffers`, mutably.
fn pair_mut(buffers: &mut [Vec<u8>], a: u32, b: u32) -> (&mut Vec<u8>, &mut Vec<u8>) {
    let (a, b) = (a as usize, b as usize);
    assert_ne!(a, b, "two buffers");
    if a < b {
        let (low, high) = buffers.split_at_mut(b);
        (&mut low[a], &mut high[0])
    } else {
        let (low, high) = buffers.split_at_mut(a);
        (&mut high[0], &mut low[b])
    }
}

/// Copies `datagram` to the start of `buf`, which only ever grows (pooled buffers keep their
/// length, so a reused one is not zeroed again).
fn fill(buf: &mut Vec<u8>, datagram: &[u8]) {
    if buf.len() < datagram.len() {
        buf.resize(datagram.len(), 0);
    }
    buf[..datagram.len()].copy_from_slice(datagram);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(net: &mut Network, now: u64, byte: u8) {
        net.buffer(1)[0] = byte;
        net.send(Instant::from_micros(now), (0, 1), 1, true);
    }

    fn arrivals(net: &mut Network) -> Vec<(u64, u8)> {
        let mut out = Vec::new();
        while let Some(f) = net.arrived(Instant::from_micros(u64::MAX)) {
            out.push((f.at.as_micros(), net.datagram(&f)[0]));
            net.recycle(f);
        }
        out
    }

    #[test]
    fn a_perfect_network_keeps_the_order_and_the_delay() {
        let mut net = Network::perfect(Duration::from_micros(5));
        for (i, byte) in (0..3).zip(b"abc") {
            send(&mut net, i, *byte);
        }
        assert_eq!(arrivals(&mut net), [(5, b'a'), (6, b'b'), (7, b'c')]);
        assert_eq!(net.stats().sent, 3);
    }

    #[test]
    fn jitter_reorders_and_ties_keep_the_order_of_sending() {
        let link = Link {
            jitter: Duration::from_millis(5),
            ..Link::clean()
        };
        let mut net = Network::impaired(3, link, link);
        for i in 0..40u8 {
            send(&mut net, 0, i);
        }
        let got = arrivals(&mut net);
        assert!(
            got.windows(2).all(|w| w[0].0 <= w[1].0),
            "in order of arrival"
        );
        assert!(
            got.windows(2).all(|w| w[0].0 < w[1].0 || w[0].1 < w[1].1),
            "ties in order of sending"
        );
        assert!(
            got.windows(2).any(|w| w[0].1 > w[1].1),
            "some overtake others"
        );
    }

    #[test]
    fn loss_and_duplication_are_counted() {
        let link = Link {
            loss: 0.5,
            duplicate: 0.5,
            ..Link::clean()
        };
        let mut net = Network::impaired(1, link, link);
        for i in 0..100u8 {
            send(&mut net, 0, i);
        }
        let got = arrivals(&mut net).len() as u64;
        let stats = net.stats();
        assert!(stats.dropped > 0 && stats.duplicated > 0, "{stats:?}");
        assert_eq!(got, 100 - stats.dropped + stats.duplicated);
    }
}
