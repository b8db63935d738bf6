//! The in-memory client/server pair that every in-memory test of `tftp-proto` drives: the
//! timetable tests (`tests/session_timetable.rs`), the simulated network
//! (`tests/simulated_network.rs`), the allocation count (`tests/no_alloc_per_packet.rs`), the
//! transfer benchmarks (`benches/transfer.rs`) and the session fuzz bodies
//! (`tests/fuzz_bodies/session/`).
//!
//! Three layers, each usable alone:
//! - [`Endpoint`]: one [`tftp_proto::Session`] with its [`File`] in memory and its outcome.
//!   [`Endpoint::drain`] is the one drain loop (events before every datagram, until neither
//!   is left; reads served from the file; datagrams into an [`Outbox`]); an [`Observer`] sees
//!   every read, outcome and datagram as it happens.
//! - [`Network`]: the datagrams in flight, each direction impaired by its [`Link`] (loss,
//!   duplication, delay, jitter that reorders, stalls), every draw from one seeded [`Rng`];
//!   or [`Network::perfect`], which draws nothing (with no delay, the clock stands still while
//!   datagrams fly and moves only to a deadline: the benchmarks' network).
//! - [`Pair`]: the client endpoint, the server sessions its requests start (through
//!   [`tftp_proto::server::accept`], as a server starts them), the network and the clock.
//!   [`Pair::step`] moves the whole pair to its next event; [`Pair::feed`], [`Pair::timeout`],
//!   [`Pair::serve_events`] and [`Pair::drain`] drive one side for a test that plays the other
//!   ([`Pair::solo`]).
//!
//! Nothing here allocates per packet once a transfer runs: the network's buffers come from a
//! pool, the files can write into a lent buffer ([`File::wrapping_into`]) and read from a lent
//! pattern ([`Source::repeating`]).
//!
//! ```
//! use std::time::Duration;
//! use tftp_pair::{File, Link, Network, Pair, Setup, Source};
//! use tftp_proto::{server::Direction, Mode, RequestOptions};
//!
//! let bytes: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
//! let setup = Setup::new(
//!     Direction::Read,
//!     Mode::Octet,
//!     RequestOptions::default(),
//!     File::empty(),
//!     File::serving(Source::new(&bytes[..])),
//! );
//! let net = Network::impaired(7, Link::lossy(0.1), Link::lossy(0.1));
//! let mut pair = Pair::new(setup, net).with_time_limit(Duration::from_secs(60));
//! pair.run();
//! let (got, sent) = pair.completed().expect("both ends finished");
//! assert_eq!((got.bytes, sent.bytes), (5000, 5000));
//! assert_eq!(pair.client().file().written(), &bytes[..]);
//! ```

mod endpoint;
mod file;
mod link;
mod network;
mod observer;
mod outbox;
mod pair;
mod rng;
mod routes;
mod setup;
mod steps;

pub use endpoint::{Endpoint, Stats};
pub use file::{File, Source};
pub use link::{Fate, Link};
pub use network::{NetStats, Network};
pub use observer::Observer;
pub use outbox::{Collect, Outbox};
pub use pair::{server_tid, Pair, Side, CLIENT, SERVER};
pub use rng::Rng;
pub use setup::Setup;
