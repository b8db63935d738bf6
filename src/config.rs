//! The settings every session shares ([`Config`]).

use core::time::Duration;

/// Settings shared by every session: timing, retries, and the memory a sender keeps.
///
/// A transfer gives up when the packet it waits on has been retransmitted `min_retries` times
/// *and* nothing has moved for `idle_timeout`, or in any case after `max_retries`
/// retransmissions; both bounds are finite, so a dead peer is always detected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Retransmission interval before any round trip was measured. RFC 6298 uses 1 s for
    /// any path; the default here is 250 ms, since TFTP runs on local networks: under heavy
    /// loss a 1 s start (2 s after one backoff) made the handshake alone take up to 20 s in
    /// simulation, and give up in 0.5% of transfers at 30% loss each way.
    pub initial_rto: Duration,
    /// Floor of the adaptive interval; 5 ms by default. On a local network the measured
    /// interval (SRTT + 4 RTTVAR, at least 1 ms above SRTT) is below it, so the floor is the
    /// wait per lost packet: at 10% loss each way a lock-step 1 MiB get took 7.2 s with a
    /// 10 ms floor and 5.1 s with 5 ms. A spurious retransmission costs one duplicate (a
    /// duplicate ACK never makes DATA go out again, R-XFR-6); QUIC (RFC 9002) keeps no floor
    /// beyond a 1 ms timer granularity.
    pub min_rto: Duration,
    /// Ceiling of the adaptive interval, backoff included.
    pub max_rto: Duration,
    /// Retransmissions always tried before giving up.
    pub min_retries: u32,
    /// Retransmissions after which the transfer gives up whatever the time.
    pub max_retries: u32,
    /// How long without progress before giving up, once `min_retries` were tried.
    pub idle_timeout: Duration,
    /// How long the side that sent the final ACK keeps answering a repeated final DATA
    /// (R-XFR-8); at least twice a negotiated `timeout`.
    pub dally: Duration,
    /// File bytes a sender keeps in memory, rounded down to whole blocks (at least one block,
    /// at most one window). A block sent and later lost that is no longer held is read again
    /// from the file, so a session's memory does not grow with `windowsize` x `blksize`:
    /// 500 sessions at windowsize 64 and blksize 1468 would hold 94 KB each for their windows
    /// alone. The default, 32 KiB, keeps a window of 22 such blocks or 64 of 512.
    pub send_buffer: usize,
    /// How many times a server repeats its first packet (DATA 1, OACK or ACK 0) to a peer
    /// that has not answered it (R-SRV-6): 1 by default, so a lost first packet or a lost
    /// answer to it costs about [`Config::first_packet_wait`] instead of the client's own
    /// timer (tftp-hpa's is 5 s), while a request from a spoofed source still gets at most
    /// two datagrams. 0 never repeats it (the strict reflection bound: one datagram).
    pub first_packet_repeats: u8,
    /// The shortest wait before the first of those repeats (the retransmission interval if
    /// longer; each later repeat waits twice as long as the one before): 1 s by default, so a
    /// client that lost the packet usually repeats its request first (its own answer, no
    /// repeat owed), and a spoofed source is not sent two packets in a burst.
    pub first_packet_wait: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            initial_rto: Duration::from_millis(250),
            min_rto: Duration::from_millis(5),
            max_rto: Duration::from_secs(2),
            min_retries: 5,
            max_retries: 50,
            idle_timeout: Duration::from_secs(12),
            dally: Duration::from_secs(3),
            send_buffer: 32 * 1024,
            first_packet_repeats: 1,
            first_packet_wait: Duration::from_secs(1),
        }
    }
}
