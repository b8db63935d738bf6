//! The pair: a client endpoint, the server sessions its requests start, the simulated network
//! between them, and the clock.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tftp_proto::server::Direction;
use tftp_proto::{Config, Instant, ServerPolicy, Session, Summary, Write};

use crate::routes::{Routes, NOWHERE};
use crate::{Endpoint, File, Network, Observer, Outbox, Setup};

/// The client's address.
pub const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40_000);
/// The server's well-known port, where requests go.
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 69);

/// The port the `n`th server session (from 0) sends from: its transfer ID.
pub fn server_tid(n: usize) -> SocketAddr {
    let port = 50_000 + u16::try_from(n).expect("fewer than 15,000 server sessions");
    SocketAddr::new(SERVER.ip(), port)
}

/// Which side of a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client session.
    Client,
    /// The first server session (the one the client's request started).
    Server,
}

/// A client session and the server sessions its requests start, joined by a simulated
/// [`Network`] on a simulated clock, each with its file in memory.
///
/// A whole transfer: [`Pair::new`], then [`Pair::run`] (or [`Pair::step`] in a loop). Each step
/// is [`Pair::send`] (every endpoint that had an input drains onto the network at the current
/// time) then [`Pair::advance_to_next`] (the clock moves to the next arrival or deadline,
/// what arrived by then is delivered, and the deadlines due are handled).
///
/// A test that plays one side itself makes the pair with [`Pair::solo`] and drives the other
/// with [`Pair::feed`], [`Pair::timeout`], [`Pair::serve_events`] and [`Pair::drain`] at times
/// it sets with [`Pair::set_now`].
pub struct Pair<'f> {
    pub(crate) now: Instant,
    /// The client (when there is one) first, then the server sessions in the order they
    /// started.
    pub(crate) endpoints: Vec<Endpoint<'f>>,
    /// 1 with a client, else 0: where the server sessions start in `endpoints`.
    pub(crate) first_server: usize,
    /// Where datagrams go: the endpoints' addresses (same order), the last destination of
    /// each, and the senders from outside.
    pub(crate) routes: Routes,
    pub(crate) listener: Option<Listener<'f>>,
    pub(crate) net: Network,
    pub(crate) time_limit: Option<Instant>,
    pub(crate) outside: u64,
    pub(crate) refused: u64,
}

/// How a request to [`SERVER`] starts a server session.
pub(crate) struct Listener<'f> {
    pub policy: ServerPolicy,
    pub config: Config,
    pub announce: Option<u64>,
    /// For the first server session.
    pub first_file: Option<File<'f>>,
    /// [`File::fresh`] of it, for any later one.
    pub template: File<'f>,
}

impl<'f> Pair<'f> {
    /// The client session of `setup`, made at [`Instant::ZERO`] and sending from [`CLIENT`] to
    /// [`SERVER`], where its requests start server sessions through
    /// [`tftp_proto::server::accept`], as a server starts them (the first one sends from
    /// [`server_tid`] 0, the next from 1, ...).
    pub fn new(setup: Setup<'f>, network: Network) -> Pair<'f> {
        let start = Instant::ZERO;
        let request = &setup.request;
        let client = match setup.direction {
            Direction::Read => Session::client_get(start, SERVER, request, &setup.client_config),
            Direction::Write => Session::client_put(start, SERVER, request, &setup.client_config),
        }
        .expect("the setup's request is valid");
        Pair {
            now: start,
            endpoints: vec![Endpoint::new(client, CLIENT, setup.client_file)],
            first_server: 1,
            routes: Routes::new(CLIENT),
            listener: Some(Listener {
                policy: setup.policy,
                config: setup.server_config,
                announce: setup.announce,
                template: setup.server_file.fresh(),
                first_file: Some(setup.server_file),
            }),
            net: network,
            time_limit: None,
            outside: 0,
            refused: 0,
        }
    }

    /// A pair of one `session` (made at [`Instant::ZERO`]) with `file`, on its role's side; the
    /// caller plays the other side. A client session sends from [`CLIENT`], a server session
    /// from [`server_tid`] 0.
    pub fn solo(session: Session, file: File<'f>) -> Pair<'f> {
        let (addr, first_server) = if session.role().is_client() {
            (CLIENT, 1)
        } else {
            (server_tid(0), 0)
        };
        Pair {
            now: Instant::ZERO,
            endpoints: vec![Endpoint::new(session, addr, file)],
            first_server,
            routes: Routes::new(addr),
            listener: None,
            net: Network::perfect(Duration::from_millis(1)),
            time_limit: None,
            outside: 0,
            refused: 0,
        }
    }

    /// The same pair, but [`Pair::advance_to_next`] stops before anything `limit` after now.
    pub fn with_time_limit(mut self, limit: Duration) -> Pair<'f> {
        self.time_limit = Some(self.now + limit);
        self
    }

    /// The clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the clock to `t`, never backwards.
    pub fn set_now(&mut self, t: Instant) {
        assert!(
            t >= self.now,
            "the clock goes backwards: {t:?} < {:?}",
            self.now
        );
        self.now = t;
    }

    /// Moves the clock on by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
    }

    /// The client (panics for a pair without one).
    pub fn client(&self) -> &Endpoint<'f> {
        self.endpoints[..self.first_server]
            .first()
            .expect("a pair without a client")
    }

    /// The client (panics for a pair without one).
    pub fn client_mut(&mut self) -> &mut Endpoint<'f> {
        self.endpoints[..self.first_server]
            .first_mut()
            .expect("a pair without a client")
    }

    /// The first server session (panics before there is one).
    pub fn server(&self) -> &Endpoint<'f> {
        self.servers().first().expect("no server session yet")
    }

    /// The first server session (panics before there is one).
    pub fn server_mut(&mut self) -> &mut Endpoint<'f> {
        self.endpoints[self.first_server..]
            .first_mut()
            .expect("no server session yet")
    }

    /// Every server session, in the order they started.
    pub fn servers(&self) -> &[Endpoint<'f>] {
        &self.endpoints[self.first_server..]
    }

    /// The server sessions, with their files.
    pub fn into_servers(mut self) -> Vec<Endpoint<'f>> {
        self.endpoints.split_off(self.first_server)
    }

    /// One side: the client, or the first server session.
    pub fn endpoint(&self, side: Side) -> &Endpoint<'f> {
        match side {
            Side::Client => self.client(),
            Side::Server => self.server(),
        }
    }

    /// One side: the client, or the first server session.
    pub fn endpoint_mut(&mut self, side: Side) -> &mut Endpoint<'f> {
        match side {
            Side::Client => self.client_mut(),
            Side::Server => self.server_mut(),
        }
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The network, for its generator ([`Network::rng`]).
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.net
    }

    /// Datagrams sent to an address outside the pair (neither [`CLIENT`], [`SERVER`] nor a
    /// server session): counted here, never put on the network.
    pub fn sent_outside(&self) -> u64 {
        self.outside
    }

    /// Requests the server refused to start a session for.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The two summaries, once the client and the first server session both finished well.
    pub fn completed(&self) -> Option<(Summary, Summary)> {
        let client = self.endpoints[..self.first_server].first()?;
        let server = self.servers().first()?;
        match (client.outcome()?, server.outcome()?) {
            (Ok(client), Ok(server)) => Some((*client, *server)),
            _ => None,
        }
    }

    /// True when every session is closed and nothing is in flight.
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.net.is_empty() && self.endpoints.iter().all(|e| e.session().is_closed())
    }

    /// Feeds `datagram` from `from` to one side now (see [`Endpoint::deliver`]).
    pub fn feed<'a>(
        &'a mut self,
        side: Side,
        from: SocketAddr,
        datagram: &'a [u8],
    ) -> Option<Write<'a>> {
        let now = self.now;
        self.endpoint_mut(side).deliver(now, from, datagram)
    }

    /// Handles one side's timeout now (whether or not it is due).
    pub fn timeout(&mut self, side: Side) {
        let now = self.now;
        self.endpoint_mut(side).timeout(now);
    }

    /// Takes one side's pending events now (see [`Endpoint::serve_events`]).
    pub fn serve_events(&mut self, side: Side, observer: &mut impl Observer) -> usize {
        let now = self.now;
        self.endpoint_mut(side).serve_events(now, observer)
    }

    /// Drains one side now into `outbox` (see [`Endpoint::drain`]).
    pub fn drain(&mut self, side: Side, outbox: &mut impl Outbox, observer: &mut impl Observer) {
        let now = self.now;
        self.endpoint_mut(side).drain(now, outbox, observer);
    }

    /// Puts `datagram` from `from` (outside the pair) on the network to `to`, arriving now,
    /// unimpaired.
    pub fn inject(&mut self, from: SocketAddr, to: SocketAddr, datagram: &[u8]) {
        let from = self.routes.outsider(from);
        let to = self.routes.of(to).unwrap_or(NOWHERE);
        self.net.inject(self.now, (from, to), datagram);
    }
}
