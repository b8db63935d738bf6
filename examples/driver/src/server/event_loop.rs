//! The server's event loop: one mio `Poll`, the listening socket, one socket per transfer
//! (its transfer ID, R-XFR-3), transfers in a slab keyed by token, and a deadline heap
//! whose earliest entry sets the loop's [`Alarm`], so an idle server sleeps.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use tftp_proto::{Config, Instant, ServerPolicy};

use super::log::{self, Record};
use super::ports::{PortRange, TransferPorts};
use super::remap::RemapRules;
use super::shared::{SessionSlot, Shared};
use crate::alarm::Alarm;
use crate::backend::Backend;
use crate::clock::Clock;
use crate::deadlines::Deadlines;
use crate::inbox::Inbox;
use crate::net::MAX_DATAGRAM;
use crate::outbox::Outbox;
use crate::signals::Signals;
use crate::transfer::{Ended, Input, Transfer};

/// The listening socket's token; transfers use their slab key.
pub const LISTENER: Token = Token(usize::MAX);
/// The token of the process's signals (stop, graceful stop, reload).
pub const SIGNALS: Token = Token(usize::MAX - 1);
/// The token of the deadline alarm.
pub const ALARM: Token = Token(usize::MAX - 2);

/// How the server treats requests.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where files come from and go to (a [`crate::fs::Folder`], or a backend of your own).
    pub backend: Arc<dyn Backend>,
    /// Option negotiation and upload size limit.
    pub policy: ServerPolicy,
    /// Retransmission timing.
    pub config: Config,
    /// Send a window with one UDP GSO system call where the system allows.
    pub gso: bool,
    /// The ports transfer sockets may take (`None`: any).
    pub ports: Option<PortRange>,
    /// Filename remap rules (`--map-file`), applied to every request's name.
    pub remap: Option<RemapRules>,
    /// Every transfer answered from the listening socket (`--single-port`).
    pub single_port: bool,
    /// The remap file, read again on SIGHUP.
    pub remap_file: Option<PathBuf>,
    /// How long running transfers may take to finish after SIGTERM (`--grace`).
    pub grace: Duration,
}

impl Settings {
    /// `backend` with the defaults of the `tftpd` command line: tftp-proto's default policy
    /// and timing, GSO where the system has it, any port. (The limits on transfers and
    /// requests are the server's [`Shared`] state.)
    pub fn new(backend: Arc<dyn Backend>) -> Settings {
        Settings {
            backend,
            policy: ServerPolicy::default(),
            config: Config::default(),
            gso: true,
            ports: None,
            remap: None,
            single_port: false,
            remap_file: None,
            grace: Duration::from_secs(10),
        }
    }
}

/// A transfer and what the server keeps about it.
pub(crate) struct Served {
    pub(crate) transfer: Transfer,
    pub(crate) record: Record,
    /// The request that started it: an identical one from the same peer is a repeat.
    pub(crate) request: Box<[u8]>,
    /// Its place under `--max-sessions`, given back when it is dropped.
    pub(crate) _slot: SessionSlot,
    pub(crate) ended: bool,
}

/// The running server.
pub struct Server {
    pub(crate) poll: Poll,
    pub(crate) listener: UdpSocket,
    /// Transfer sockets bind to this address...
    pub(crate) local_ip: IpAddr,
    /// ...on these ports.
    pub(crate) ports: TransferPorts,
    pub(crate) transfers: Slab<Served>,
    /// The latest transfer of each peer address, to route repeated requests (R-SRV-6).
    pub(crate) by_peer: HashMap<SocketAddr, usize>,
    pub(crate) deadlines: Deadlines,
    /// Wakes the loop at the earliest deadline.
    alarm: Alarm,
    pub(crate) clock: Clock,
    pub(crate) settings: Settings,
    /// The limits and clock this server shares with the other workers.
    pub(crate) shared: Arc<Shared>,
    pub(crate) signals: Signals,
    /// After SIGTERM: when the transfers still running are aborted.
    pub(crate) drain_until: Option<Instant>,
    pub(crate) rx: Vec<u8>,
    inbox: Inbox,
    pub(crate) out: Outbox,
    /// The listening socket may hold more requests than the last turn took: take more next
    /// turn, after the running transfers had theirs.
    pub(crate) listener_backlog: bool,
}

impl Server {
    /// A server on the bound `listener`.
    pub fn new(
        mut listener: UdpSocket,
        settings: Settings,
        shared: Arc<Shared>,
    ) -> io::Result<Server> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let signals = Signals::install(poll.registry(), SIGNALS)?;
        let alarm = Alarm::new(poll.registry(), ALARM);
        let local_ip = listener.local_addr()?.ip();
        let gso = settings.gso;
        Ok(Server {
            poll,
            listener,
            local_ip,
            ports: TransferPorts::new(settings.ports),
            transfers: Slab::new(),
            by_peer: HashMap::new(),
            deadlines: Deadlines::new(),
            alarm,
            clock: shared.clock(),
            settings,
            shared,
            signals,
            drain_until: None,
            rx: vec![0; MAX_DATAGRAM],
            inbox: Inbox::new(),
            out: if gso { Outbox::new() } else { Outbox::plain() },
            listener_backlog: false,
        })
    }

    /// Serves until a stop signal (see [`crate::signals`]): at once after SIGINT, once the
    /// running transfers are done (or the grace period is over) after SIGTERM.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        loop {
            if self.on_signals() {
                return Ok(());
            }
            let next = match (self.deadlines.earliest(), self.drain_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timeout = self.alarm.timeout(&self.clock, next);
            let timeout = if self.listener_backlog {
                Some(std::time::Duration::ZERO)
            } else {
                timeout
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut listener_ready = self.listener_backlog;
            for event in events.iter() {
                match event.token() {
                    LISTENER => listener_ready = true,
                    SIGNALS => {
                        self.signals.on_ready();
                    }
                    ALARM => self.alarm.fired(),
                    Token(key) => self.on_transfer(key),
                }
            }
            // Requests come after the running transfers: a flood on the listening port must
            // not starve them (R-SRV-4).
            if listener_ready {
                self.on_listener();
            }
            self.on_deadlines();
        }
    }

    /// Datagrams on a transfer's socket.
    fn on_transfer(&mut self, key: usize) {
        let Some(served) = self.transfers.get_mut(key) else {
            return;
        };
        let ended = served
            .transfer
            .on_readable(&self.clock, &mut self.inbox, &mut self.out);
        self.after_step(key, ended);
    }

    /// Every session whose deadline has passed.
    fn on_deadlines(&mut self) {
        let now = self.clock.now();
        while let Some(Token(key)) = self.deadlines.pop_expired(now) {
            let Some(served) = self.transfers.get_mut(key) else {
                continue;
            };
            let ended =
                served
                    .transfer
                    .step(now, Input::Timeout, &mut self.out, Some(&self.listener));
            self.after_step(key, ended);
        }
    }

    /// After a step: log an ending, drop a closed transfer, or re-arm its deadline.
    pub(crate) fn after_step(&mut self, key: usize, ended: Option<Ended>) {
        let Some(served) = self.transfers.get_mut(key) else {
            return;
        };
        if let Some(ended) = ended {
            served.ended = true;
            let t = &served.transfer;
            log::transfer(&served.record, t, &ended);
        }
        if served.transfer.is_closed() {
            self.remove(key);
        } else {
            let deadline = served.transfer.deadline();
            self.deadlines.arm(Token(key), deadline, self.clock.now());
        }
    }

    /// Drops a transfer: its socket closes, an unfinished upload's temporary file goes.
    pub(crate) fn remove(&mut self, key: usize) {
        let Some(mut served) = self.transfers.try_remove(key) else {
            return;
        };
        if let Some(socket) = &mut served.transfer.socket {
            // Closing the socket deregisters it anyway.
            let _ = self.poll.registry().deregister(socket);
        }
        if self.by_peer.get(&served.record.peer) == Some(&key) {
            self.by_peer.remove(&served.record.peer);
        }
        self.deadlines.disarm(Token(key));
    }
}
