//! The core never reads a clock: this adapter turns `std::time::Instant` into the core's
//! [`Instant`], microseconds since a fixed epoch (the moment the clock was made).

use std::time::Duration;

use tftp_proto::Instant;

/// A monotonic clock on the core's time scale.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Clock {
        Clock {
            epoch: std::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        let micros = self.epoch.elapsed().as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// How long from now until `deadline` (zero when it has passed): a `poll` timeout.
    pub fn until(&self, deadline: Instant) -> Duration {
        deadline.saturating_duration_since(self.now())
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}
