//! Per-source request rate limit (R-SRV-4): a token bucket per IP address in a bounded map.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tftp_proto::Instant;

/// Addresses tracked at once; when full, idle buckets go first, then the stalest one.
const MAX_TRACKED: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets: `rate` requests per second per address, bursts of up to `rate`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    buckets: HashMap<IpAddr, Bucket>,
}

impl RateLimiter {
    /// `rate` requests per second per address; 0 allows everything.
    pub fn new(rate: u32) -> RateLimiter {
        RateLimiter {
            rate: f64::from(rate),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for a request from `ip` at `now`; false when it is over the limit.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let rate = self.rate;
        let bucket = self.buckets.entry(ip).or_insert(Bucket {
            tokens: rate,
            updated: now,
        });
        let elapsed = (now - bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Drops the buckets that have refilled (they hold nothing a new bucket would not), or
    /// failing that the one updated longest ago.
    fn make_room(&mut self, now: Instant) {
        let refill = Duration::from_secs_f64(1.0);
        self.buckets.retain(|_, b| now - b.updated < refill);
        if self.buckets.len() >= MAX_TRACKED {
            let stalest = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.updated)
                .map(|(ip, _)| *ip);
            if let Some(ip) = stalest {
                self.buckets.remove(&ip);
            }
        }
    }
}
