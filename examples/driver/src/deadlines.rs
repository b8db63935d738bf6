//! The deadlines of all sessions, earliest first: the `poll` timeout is the earliest one.
//!
//! A `BinaryHeap<Reverse<(Instant, Token)>>` with lazy invalidation. Each token has at most
//! one *live* entry, remembered in `armed`; entries that no longer match it are skipped when
//! they come up. A session moves its deadline on nearly every packet, so [`Deadlines::arm`]
//! pushes only when the new deadline is earlier than the live one: a later deadline is found
//! when the earlier entry fires (calling `handle_timeout` early is harmless) and is armed
//! then. The heap thus holds about one entry per session instead of one per packet.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use mio::Token;
use tftp_proto::Instant;

/// Shortest wait for a deadline that is already due when armed, so a session whose deadline
/// does not move cannot spin the loop.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// Pending session deadlines keyed by mio [`Token`].
#[derive(Debug, Default)]
pub struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, Token)>>,
    armed: HashMap<Token, Instant>,
}

impl Deadlines {
    /// No deadlines.
    pub fn new() -> Deadlines {
        Deadlines::default()
    }

    /// Makes sure `token` wakes up at or before `deadline` (none: the session needs no
    /// timer). A deadline at or before `now` is pushed to `now` plus a millisecond.
    pub fn arm(&mut self, token: Token, deadline: Option<Instant>, now: Instant) {
        let Some(deadline) = deadline else {
            self.armed.remove(&token);
            return;
        };
        let deadline = deadline.max(now + MIN_WAIT);
        if self.armed.get(&token).is_some_and(|&live| live <= deadline) {
            return;
        }
        self.armed.insert(token, deadline);
        self.heap.push(Reverse((deadline, token)));
    }

    /// Forgets `token` (its session is gone); its heap entries become stale.
    pub fn disarm(&mut self, token: Token) {
        self.armed.remove(&token);
    }

    /// The earliest live deadline.
    pub fn earliest(&mut self) -> Option<Instant> {
        self.drop_stale();
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// A token whose deadline is at or before `now`, disarmed; call until `None`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Token> {
        self.drop_stale();
        let Reverse((at, token)) = *self.heap.peek()?;
        if at > now {
            return None;
        }
        self.heap.pop();
        self.armed.remove(&token);
        Some(token)
    }

    /// Pops entries from the top that are no longer a token's live deadline.
    fn drop_stale(&mut self) {
        while let Some(Reverse((at, token))) = self.heap.peek() {
            if self.armed.get(token) == Some(at) {
                return;
            }
            self.heap.pop();
        }
    }

    /// Heap entries, live and stale (for tests and statistics).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no entry is left.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
