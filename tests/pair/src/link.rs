//! The impairments of one direction of the simulated network, and what they do to one datagram.

use std::time::Duration;

use tftp_proto::Instant;

use crate::Rng;

/// Impairments of one direction: every datagram is lost, duplicated, delayed and held up by
/// its own draws.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram that is not lost arrives twice.
    pub duplicate: f64,
    /// One-way delay.
    pub delay: Duration,
    /// Extra random delay up to this much; datagrams overtake each other when it exceeds the
    /// gap between them (reordering).
    pub jitter: Duration,
    /// Probability that a datagram is held up by [`Link::stall_for`] on top (a peer that was
    /// not scheduled for a while on a loaded machine).
    pub stall: f64,
    /// How long a stalled datagram is held up.
    pub stall_for: Duration,
}

impl Link {
    /// No loss, no duplication, no jitter: 1 ms each way.
    pub fn clean() -> Link {
        Link {
            loss: 0.0,
            duplicate: 0.0,
            delay: Duration::from_millis(1),
            jitter: Duration::ZERO,
            stall: 0.0,
            stall_for: Duration::ZERO,
        }
    }

    /// `loss`, with a fifth of it as duplication and 0.5 ms of jitter on 1 ms.
    pub fn lossy(loss: f64) -> Link {
        Link {
            loss,
            duplicate: loss / 5.0,
            delay: Duration::from_millis(1),
            jitter: Duration::from_micros(500),
            stall: 0.0,
            stall_for: Duration::ZERO,
        }
    }

    /// What happens to a datagram sent at `now`, drawn from `rng` in a fixed order: loss,
    /// duplication, then for each copy its jitter and (only when [`Link::stall`] is above 0)
    /// its stall.
    pub fn fate(&self, now: Instant, rng: &mut Rng) -> Fate {
        if rng.chance(self.loss) {
            return Fate::Lost;
        }
        let copies = if rng.chance(self.duplicate) { 2 } else { 1 };
        let mut at = [now; 2];
        for arrival in &mut at[..copies] {
            let jitter = rng.below(self.jitter.as_micros() as u64 + 1);
            *arrival = now + self.delay + Duration::from_micros(jitter);
            if self.stall > 0.0 && rng.chance(self.stall) {
                *arrival = *arrival + self.stall_for;
            }
        }
        Fate::Arrives { at, copies }
    }
}

/// What a [`Link`] does to one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Gone.
    Lost,
    /// Arrives at `at[..copies]` (`copies` is 1, or 2 for a duplicate).
    Arrives {
        /// The arrival times of the copies.
        at: [Instant; 2],
        /// How many copies arrive.
        copies: usize,
    },
}
