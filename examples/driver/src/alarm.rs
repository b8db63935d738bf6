//! The event loop's one kernel timer, aimed at the earliest deadline and moved only when
//! that deadline changes.
//!
//! A `poll` timeout makes the kernel arm and cancel a high-resolution timer on every sleep.
//! A lock-step transfer sleeps once per block, and once the timeout is shorter than the time
//! to the next scheduler tick, each arm and each cancel also reprograms the CPU's timer
//! hardware (under virtualization, a trap to the hypervisor each time). On Linux the earliest
//! deadline therefore lives in a timerfd registered with the poll: it is set again only when
//! the earliest deadline changes (with [`Deadlines`](crate::deadlines::Deadlines), about once
//! per retransmission interval rather than once per packet), and `poll` sleeps without a
//! timeout until a datagram or the timer wakes it. Elsewhere, and if the timer cannot be made
//! or set, the deadline is the `poll` timeout as before.
//!
//! Measured with atftp's client at blksize 1468, windowsize 1 against the server, 100 MiB,
//! everything on one CPU: the poll timeout cost about 9% of the transfer time.

use std::time::Duration;

use mio::{Registry, Token};
use tftp_proto::Instant;

use crate::clock::Clock;

/// The earliest deadline of a loop, as a kernel timer where there is one.
#[derive(Debug)]
pub struct Alarm {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    timer: Option<std::os::fd::OwnedFd>,
    /// The deadline the timer is set for (`None`: disarmed, or it fired since).
    set_for: Option<Instant>,
}

impl Alarm {
    /// An alarm whose expiry comes to `registry` as a readable event for `token`. Where no
    /// kernel timer can be made, [`Alarm::timeout`] hands the deadline to `poll` instead.
    pub fn new(registry: &Registry, token: Token) -> Alarm {
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (registry, token);
        Alarm {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            timer: timerfd::register(registry, token).ok(),
            set_for: None,
        }
    }

    /// Aims the alarm at `deadline` (none: no wake-up) and returns the timeout to pass to
    /// `poll`: `None` while the kernel timer keeps the deadline.
    pub fn timeout(&mut self, clock: &Clock, deadline: Option<Instant>) -> Option<Duration> {
        if self.keep(clock, deadline) {
            None
        } else {
            deadline.map(|d| clock.until(d))
        }
    }

    /// The alarm's token came up in a `poll` event: the timer is spent, and the next
    /// [`Alarm::timeout`] sets it again.
    pub fn fired(&mut self) {
        self.set_for = None;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(timer) = &self.timer {
            timerfd::clear(timer);
        }
    }

    /// Sets the kernel timer for `deadline` unless it already is; false when there is no
    /// kernel timer (or it refused), so `poll` must wait with a timeout.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn keep(&mut self, clock: &Clock, deadline: Option<Instant>) -> bool {
        let Some(timer) = &self.timer else {
            return false;
        };
        if deadline == self.set_for {
            return true;
        }
        // Zero would disarm the timer: a due deadline fires after a microsecond instead.
        let after = deadline.map(|d| clock.until(d).max(Duration::from_micros(1)));
        if timerfd::set(timer, after).is_err() {
            self.set_for = None;
            return false;
        }
        self.set_for = deadline;
        true
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn keep(&mut self, _clock: &Clock, _deadline: Option<Instant>) -> bool {
        false
    }
}

/// The Linux timerfd calls, through rustix's safe wrappers.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod timerfd {
    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::time::Duration;

    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};
    use rustix::time::{
        timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags,
        TimerfdTimerFlags, Timespec,
    };

    /// A non-blocking monotonic timerfd, registered for reading under `token`.
    pub fn register(registry: &Registry, token: Token) -> io::Result<OwnedFd> {
        let timer = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        registry.register(&mut SourceFd(&timer.as_raw_fd()), token, Interest::READABLE)?;
        Ok(timer)
    }

    /// Fires once, `after` from now (a non-zero duration); `None` disarms.
    pub fn set(timer: &OwnedFd, after: Option<Duration>) -> io::Result<()> {
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let value = match after {
            // Beyond what a timespec holds: as good as never.
            Some(after) => Timespec::try_from(after).unwrap_or(Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0,
            }),
            None => zero,
        };
        let spec = Itimerspec {
            it_interval: zero,
            it_value: value,
        };
        timerfd_settime(timer, TimerfdTimerFlags::empty(), &spec)?;
        Ok(())
    }

    /// Reads the expiry count so the descriptor is no longer readable (nothing to read, or
    /// an error, changes nothing: setting the timer again resets it anyway).
    pub fn clear(timer: &OwnedFd) {
        let mut count = [0u8; 8];
        let _ = rustix::io::read(timer, &mut count);
    }
}
