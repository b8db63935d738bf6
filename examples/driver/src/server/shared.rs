//! What every worker of one server shares (`tftpd --workers N` runs N event loops): one
//! clock, so that times from different loops compare; the count of open transfers against
//! `--max-sessions`; and the per-address request rate limiter (`--rate-limit`). So the limits
//! hold for the whole server, whichever loop a request lands on (R-SRV-4).

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tftp_proto::Instant;

use super::ratelimit::RateLimiter;
use crate::clock::Clock;

/// The state the workers of one server share.
#[derive(Debug)]
pub struct Shared {
    clock: Clock,
    max_sessions: usize,
    open: AtomicUsize,
    limiter: Mutex<RateLimiter>,
}

impl Shared {
    /// At most `max_sessions` transfers at once, `rate` new requests per second per address
    /// (0: no limit), on a clock that starts now.
    pub fn new(max_sessions: usize, rate: u32) -> Arc<Shared> {
        Arc::new(Shared {
            clock: Clock::new(),
            max_sessions,
            open: AtomicUsize::new(0),
            limiter: Mutex::new(RateLimiter::new(rate)),
        })
    }

    /// The clock every worker reads.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Takes a token for a request from `ip`; false when it is over the rate limit.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        // A worker that panicked while holding the lock left a limiter that is still sound.
        let mut limiter = self.limiter.lock().unwrap_or_else(PoisonError::into_inner);
        limiter.allow(ip, now)
    }

    /// A place for one more transfer, or `None` when `max_sessions` are open; the place is
    /// given back when the slot is dropped.
    pub fn open_session(self: &Arc<Shared>) -> Option<SessionSlot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_sessions).then_some(n + 1)
            });
        taken.ok().map(|_| SessionSlot(Arc::clone(self)))
    }

    /// Transfers open now, over all workers.
    pub fn open_sessions(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// One open transfer's place under `--max-sessions`, given back on drop.
#[derive(Debug)]
pub struct SessionSlot(Arc<Shared>);

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_srv_4_slots_are_bounded_and_given_back() {
        let shared = Shared::new(2, 0);
        let a = shared.open_session().expect("first");
        let b = shared.open_session().expect("second");
        assert!(shared.open_session().is_none(), "a third beyond the limit");
        drop(a);
        assert_eq!(shared.open_sessions(), 1);
        let c = shared
            .open_session()
            .expect("a slot given back is free again");
        drop((b, c));
        assert_eq!(shared.open_sessions(), 0);
    }
}
