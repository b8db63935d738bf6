//! The loop's deadline alarm (`tftp_driver::alarm`) wakes a `poll` at the earliest
//! deadline, follows that deadline when it moves earlier or later, and stays quiet once
//! disarmed (R-XFR-12: a retransmission interval only adapts if the timer fires when it is
//! due, no earlier and not never).
//!
//! On Linux the alarm is a timerfd and `poll` waits without a timeout; elsewhere it hands
//! the deadline to `poll` as its timeout. Both ways, a loop that waits with what
//! [`Alarm::timeout`] returns must wake when the deadline is due.

use std::time::{Duration, Instant as WallClock};

use mio::{Events, Poll, Token};
use tftp_driver::alarm::Alarm;
use tftp_driver::clock::Clock;
use tftp_proto::Instant;

const ALARM: Token = Token(7);

/// Longest any test waits for a wake-up that must come (a bound, not a measurement).
const PATIENCE: Duration = Duration::from_secs(5);

struct Loop {
    poll: Poll,
    alarm: Alarm,
    clock: Clock,
    events: Events,
}

impl Loop {
    fn new() -> Loop {
        let poll = Poll::new().unwrap();
        let alarm = Alarm::new(poll.registry(), ALARM);
        Loop {
            poll,
            alarm,
            clock: Clock::new(),
            events: Events::with_capacity(8),
        }
    }

    fn in_ms(&self, ms: u64) -> Instant {
        self.clock.now() + Duration::from_millis(ms)
    }

    /// One turn of a driver loop that is aimed at `deadline` and gives up after `limit`:
    /// true when the alarm (or, without a kernel timer, the poll timeout) woke it.
    fn wait(&mut self, deadline: Option<Instant>, limit: Duration) -> bool {
        let timeout = self.alarm.timeout(&self.clock, deadline);
        let started = WallClock::now();
        let capped = Some(timeout.map_or(limit, |t| t.min(limit)));
        self.poll.poll(&mut self.events, capped).unwrap();
        let mut woke = false;
        for event in self.events.iter() {
            assert_eq!(event.token(), ALARM, "only the alarm is registered");
            woke = true;
        }
        if woke {
            self.alarm.fired();
        }
        // Without a kernel timer the poll timeout is the alarm: it expiring counts.
        woke || timeout.is_some_and(|t| t <= limit && started.elapsed() >= t)
    }

    /// Turns of the loop until the clock reaches `deadline`; false if it took too long.
    fn wait_until_due(&mut self, deadline: Instant) -> bool {
        let started = WallClock::now();
        while self.clock.now() < deadline {
            if started.elapsed() > PATIENCE {
                return false;
            }
            self.wait(Some(deadline), PATIENCE);
        }
        true
    }
}

#[test]
fn r_xfr_12_alarm_wakes_the_loop_at_the_deadline_and_not_before() {
    let mut l = Loop::new();
    let deadline = l.in_ms(30);
    assert!(l.wait(Some(deadline), PATIENCE), "the alarm never fired");
    assert!(
        l.clock.now() >= deadline,
        "woke {:?} early",
        deadline.saturating_duration_since(l.clock.now())
    );
}

#[test]
fn r_xfr_12_alarm_follows_a_deadline_moved_earlier() {
    let mut l = Loop::new();
    // Aimed far out first (as a fresh session with a long timeout), then brought in.
    assert!(!l.wait(Some(l.in_ms(60_000)), Duration::from_millis(20)));
    let started = WallClock::now();
    let deadline = l.in_ms(40);
    assert!(
        l.wait_until_due(deadline),
        "the earlier deadline was missed"
    );
    assert!(
        started.elapsed() < PATIENCE,
        "woke only after {:?}",
        started.elapsed()
    );
}

#[test]
fn r_xfr_12_alarm_follows_a_deadline_moved_later() {
    let mut l = Loop::new();
    let first = l.in_ms(30);
    assert!(!l.wait(Some(first), Duration::ZERO));
    // The earliest deadline went away (its session made progress): the next one is later,
    // and nothing may wake the loop for the old one.
    let later = l.in_ms(300);
    assert!(
        l.wait(Some(later), PATIENCE),
        "the later deadline never fired"
    );
    assert!(
        l.clock.now() >= later,
        "woke for the deadline that went away"
    );
}

#[test]
fn r_xfr_12_alarm_without_a_deadline_stays_quiet() {
    let mut l = Loop::new();
    assert!(!l.wait(Some(l.in_ms(20)), Duration::ZERO));
    // Disarmed before it was due: a poll well past that moment sees nothing.
    assert!(!l.wait(None, Duration::from_millis(150)));
}

#[test]
fn r_xfr_12_alarm_for_a_passed_deadline_fires_at_once_and_again_after_firing() {
    let mut l = Loop::new();
    let passed = l.clock.now();
    std::thread::sleep(Duration::from_millis(2));
    assert!(
        l.wait(Some(passed), PATIENCE),
        "a due deadline did not fire"
    );
    // Fired and not moved (its session has not been stepped yet): it must fire again rather
    // than leave the loop asleep.
    let started = WallClock::now();
    assert!(
        l.wait(Some(passed), PATIENCE),
        "a spent alarm was not set again"
    );
    assert!(started.elapsed() < PATIENCE);
}
