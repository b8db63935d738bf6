//! # tftp-proto: a sans-IO TFTP core
//!
//! Pure state machines for TFTP (RFC 1350) with options (RFC 2347), blksize (RFC 2348),
//! timeout and tsize (RFC 2349) and windowsize (RFC 7440), block-number rollover, and the
//! RFC 1123 4.2.3 rules (no Sorcerer's Apprentice, adaptive retransmission). The core never
//! opens a socket, reads a clock, touches a file or spawns a thread: datagrams come in as
//! `&[u8]` with their source address, time comes in as an [`Instant`] of the caller's clock,
//! and everything the core wants done comes out of `poll_*` calls. It is `#![no_std]` with
//! `alloc`, so a bootloader can link the same machines a server uses.
//!
//! ## The driver loop
//! A [`Session`] is one transfer in one of four roles (client get or put, server read or
//! write). The caller owns the socket, the file and the clock:
//!
//! 1. feed every datagram from the session's socket to [`Session::handle_datagram`] and write
//!    the bytes it returns; when [`Session::poll_timeout`] has passed, call
//!    [`Session::handle_timeout`];
//! 2. drain [`Session::poll_event`]: serve [`Event::Read`] through [`Session::read_buffer`]
//!    and [`Session::read_done`]; [`Event::Finished`] / [`Event::Failed`] say how it ended;
//! 3. drain [`Session::poll_transmit`] and send each datagram; go back to 2 until a pass
//!    serves no read and sends nothing (a window can take several reads:
//!    [`Config::send_buffer`]);
//! 4. wait for a datagram or the deadline; repeat until [`Session::is_closed`].
//!
//! ```
//! use core::net::SocketAddr;
//! use tftp_proto::{ClientRequest, Config, Event, Instant, Mode, RequestOptions, Session};
//!
//! // A client download, driven by hand: the "network" here is a closure that plays a server
//! // which answers DATA 1 (3 bytes, so the last block) to the request.
//! let server: SocketAddr = "127.0.0.1:69".parse().unwrap();
//! let request = ClientRequest {
//!     filename: b"hello.txt",
//!     mode: Mode::Octet,
//!     options: RequestOptions::default(),
//!     max_file_size: None,
//! };
//! let mut session = Session::client_get(Instant::ZERO, server, &request, &Config::default())?;
//! let mut file = Vec::new();
//! let mut buf = vec![0u8; 65536];
//! let mut now = Instant::ZERO;
//! let mut outcome = None;
//! while !session.is_closed() {
//!     // 2. events
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             Event::Finished(summary) => outcome = Some(Ok(summary.bytes)),
//!             Event::Failed(error) => outcome = Some(Err(error)),
//!             Event::Read { .. } => unreachable!("a download never reads"),
//!         }
//!     }
//!     // 3. transmits: our fake server answers the request from port 5000.
//!     let mut replies = Vec::new();
//!     while let Some(t) = session.poll_transmit(now, &mut buf) {
//!         if buf[..2] == [0, 1] {
//!             replies.push(b"\x00\x03\x00\x01abc".to_vec());
//!         }
//!         let _ = t.destination; // a real driver sends buf[..t.len] there
//!     }
//!     // 4. wait: here, jump to the next deadline when nothing arrives.
//!     if replies.is_empty() {
//!         match session.poll_timeout() {
//!             Some(deadline) => { now = deadline; session.handle_timeout(now); }
//!             None => break,
//!         }
//!     }
//!     // 1. datagrams in
//!     for reply in &replies {
//!         let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
//!         if let Some(write) = session.handle_datagram(now, from, reply) {
//!             file.truncate(write.offset as usize);
//!             file.extend_from_slice(write.data);
//!         }
//!     }
//! }
//! assert_eq!(file, b"abc");
//! assert_eq!(outcome, Some(Ok(3)));
//! # Ok::<(), tftp_proto::SessionError>(())
//! ```
//!
//! A server first passes the datagram that arrived on its listening port to
//! [`server::accept`], which checks the request and its file name ([`path::safe_path`]), then
//! opens the file and starts [`Session::server_read`] or [`Session::server_write`] on a fresh
//! socket of its own (the transfer ID).
//!
//! ## Bad input
//! No input makes the core panic, loop forever or allocate without bound.
//! - A malformed datagram is a typed [`ParseError`]; unknown opcodes and error codes keep
//!   their values.
//! - A datagram from anyone but the peer gets ERROR 5 and changes nothing (an ERROR 5 is never
//!   answered, so two endpoints cannot bounce errors forever).
//! - A malformed or out-of-place packet from the peer ends the transfer with ERROR 4; an ERROR
//!   from the peer ends it silently; a DATA longer than the block size is refused.
//! - A duplicate ACK never makes a DATA go out again; a duplicate DATA is never written twice.
//! - A server never repeats its first packet to a peer that has not answered (no reflection).
//! - Misuse of the API (a bad request built by the caller) is a [`SessionError`], apart from
//!   transfer failures ([`TransferError`]).

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod config;
mod error;
mod mode;
pub mod netascii;
pub mod options;
pub mod path;
mod receiver;
mod sender;
pub mod server;
mod session;
mod time;
mod timer;
mod wire;

pub use config::Config;
pub use error::{SessionError, TransferError};
pub use mode::Mode;
pub use options::{
    OptionHandling, OptionList, Refusal, RequestOptions, ServerPolicy, TransferOptions,
};
// `packet` is the public name of `wire::packet`; `no_inline` keeps these in the docs as
// re-exports of `packet::...`, as they were before the wire floor.
#[doc(no_inline)]
pub use packet::{ErrorCode, Packet, Request};
pub use session::{ClientRequest, Completion, Event, Role, Session, Summary, Transmit, Write};
pub use time::Instant;
pub use timer::RttEstimator;
pub use wire::error::{EncodeError, Field, ParseError};
pub use wire::packet;
