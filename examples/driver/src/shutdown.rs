//! Ctrl-C (SIGINT) and SIGTERM as a wake-up of the mio loop, so the loop itself stops
//! cleanly: it aborts its sessions (the peer gets an ERROR) and removes temporary files.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mio::{Registry, Token, Waker};

/// Set once a stop signal arrived.
#[derive(Clone, Debug)]
pub struct Shutdown {
    requested: Arc<AtomicBool>,
}

impl Shutdown {
    /// Installs the process's one signal handler: it sets the flag and wakes `registry`'s
    /// poll with `token`.
    pub fn install(registry: &Registry, token: Token) -> io::Result<Shutdown> {
        let waker = Waker::new(registry, token)?;
        let requested = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&requested);
        ctrlc::set_handler(move || {
            flag.store(true, Ordering::SeqCst);
            // Nothing to do if the wake fails: the flag is seen at the next wake-up.
            let _ = waker.wake();
        })
        .map_err(io::Error::other)?;
        Ok(Shutdown { requested })
    }

    /// True once a stop signal arrived.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}
