//! `tftpd --workers N`: N event loops on N threads, each with its own listening socket on the
//! same address (SO_REUSEPORT: the kernel spreads clients over the sockets by their address
//! and port, and keeps each client on one), each a whole [`Server`]. A transfer stays on
//! the loop that took its request; the limits are the workers' [`Shared`] state, so they hold
//! for the whole server.

use std::io;
use std::sync::Arc;
use std::thread;

use mio::net::UdpSocket;

use super::{Server, Settings, Shared};

/// Serves with one worker per listening socket until every worker has stopped (each sees the
/// process's signals: see [`crate::signals`]); the first error of any worker is returned.
/// One socket: served on the calling thread.
pub fn serve(listeners: Vec<UdpSocket>, settings: Settings, shared: Arc<Shared>) -> io::Result<()> {
    if listeners.len() == 1 {
        let listener = listeners.into_iter().next().expect("one listener");
        return Server::new(listener, settings, shared)?.run();
    }
    // Every worker's signal source exists before any signal can be taken for the process.
    let servers: Vec<Server> = listeners
        .into_iter()
        .map(|listener| Server::new(listener, settings.clone(), Arc::clone(&shared)))
        .collect::<io::Result<_>>()?;
    let handles: Vec<_> = servers
        .into_iter()
        .enumerate()
        .map(|(i, mut server)| {
            thread::Builder::new()
                .name(format!("tftpd-worker-{i}"))
                .spawn(move || server.run())
        })
        .collect::<io::Result<_>>()?;
    let mut first_error = None;
    for handle in handles {
        let result = handle
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a worker panicked")));
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
