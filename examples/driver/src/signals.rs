//! The process's signals as events of the mio loop (through `signal-hook-mio`, so that every
//! loop of a process sees them, with no handler of our own):
//!
//! - SIGINT (Ctrl-C): stop at once: running transfers are aborted (the peer gets ERROR 0)
//!   and unfinished uploads removed;
//! - SIGTERM: stop gracefully: refuse new requests and let running transfers finish, for a
//!   bounded grace period (`tftpd --grace`); a second SIGTERM stops at once;
//! - SIGHUP: reload (the server reads its remap file again).
//!
//! A client takes any of them as "stop now".

use std::io;

use mio::{Interest, Registry, Token};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals as SignalSource;

/// What the signals received so far ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// Stop at once (SIGINT, or a second SIGTERM).
    pub stop: bool,
    /// Stop gracefully (SIGTERM).
    pub drain: bool,
    /// Reload (SIGHUP), not yet taken with [`Signals::take_reload`].
    pub reload: bool,
}

/// SIGINT, SIGTERM and SIGHUP, registered with one loop's poll.
pub struct Signals {
    source: SignalSource,
    requests: Requests,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals")
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

impl Signals {
    /// Catches SIGINT, SIGTERM and SIGHUP from now on, as readiness of `token` on `registry`.
    pub fn install(registry: &Registry, token: Token) -> io::Result<Signals> {
        let mut source = SignalSource::new([SIGINT, SIGTERM, SIGHUP])?;
        registry.register(&mut source, token, Interest::READABLE)?;
        Ok(Signals {
            source,
            requests: Requests::default(),
        })
    }

    /// Takes the signals that arrived (call it when `token` is ready; calling it at other
    /// times is harmless) and returns what they ask for.
    pub fn on_ready(&mut self) -> Requests {
        for signal in self.source.pending() {
            match signal {
                SIGINT => self.requests.stop = true,
                SIGTERM if self.requests.drain => self.requests.stop = true,
                SIGTERM => self.requests.drain = true,
                SIGHUP => self.requests.reload = true,
                _ => {}
            }
        }
        self.requests
    }

    /// What the signals received so far ask for.
    pub fn requests(&self) -> Requests {
        self.requests
    }

    /// True once any of the three arrived (what a client checks: each means "stop").
    pub fn interrupted(&self) -> bool {
        let r = self.requests;
        r.stop || r.drain || r.reload
    }

    /// True once, for each SIGHUP (or several close together).
    pub fn take_reload(&mut self) -> bool {
        std::mem::take(&mut self.requests.reload)
    }
}
