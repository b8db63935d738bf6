//! An in-memory client/server pair on a virtual clock, shared by `benches/transfer.rs` and
//! `tests/no_alloc_per_packet.rs` (both include it with `#[path]`).
//!
//! A client session ([`Session::client_get`]) downloads from a server session started the way a
//! real server starts one: the client's RRQ goes through [`tftp_proto::server::accept`], then
//! [`Session::server_read`]. No sockets, no files: the sender's [`Event::Read`]s are served from
//! a [`Source`] (one preallocated buffer), the receiver's writes are copied into a [`Sink`]
//! (another one), and datagrams pass between the two through a [`Wire`] whose buffers are
//! allocated once and reused across transfers, so the harness itself allocates nothing per
//! packet.
//!
//! Each [`Pair::step`] is one round: the server handles what the client sent, serves its reads
//! and emits; then the client does the same. The virtual clock moves 1 µs per turn, so no
//! retransmission timer ever fires on a clean run; if neither side has anything to send, the
//! clock jumps to the earliest deadline.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tftp_proto::server::{accept, Intake};
use tftp_proto::{
    ClientRequest, Config, Event, Instant, Mode, RequestOptions, ServerPolicy, Session, Summary,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The client's address, as the server sees it.
pub const CLIENT: SocketAddr = SocketAddr::new(LOCALHOST, 40_000);
/// The server's well-known port (where the RRQ goes).
pub const SERVER_LISTEN: SocketAddr = SocketAddr::new(LOCALHOST, 69);
/// The server session's own port (its transfer ID).
pub const SERVER_TID: SocketAddr = SocketAddr::new(LOCALHOST, 50_000);

/// What to transfer.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub blksize: u16,
    pub windowsize: u16,
    pub mode: Mode,
    /// File length in bytes.
    pub file_len: u64,
}

impl Spec {
    /// The largest datagram either side sends (the size of each wire buffer).
    fn max_datagram(&self) -> usize {
        usize::from(self.blksize).max(512) + 4
    }
}

/// The file being served: `pattern` repeated up to `len` bytes. With `pattern.len() == len`
/// every read is one `copy_from_slice`; a shorter pattern lets a test run a long transfer on
/// little memory.
pub struct Source<'a> {
    pub pattern: &'a [u8],
    pub len: u64,
}

impl Source<'_> {
    /// Copies the file bytes at `offset` into `out`; returns how many (short at end of file).
    pub fn read(&self, offset: u64, out: &mut [u8]) -> usize {
        let n = self.len.saturating_sub(offset).min(out.len() as u64) as usize;
        let p = self.pattern;
        let start = offset as usize;
        if start + n <= p.len() {
            out[..n].copy_from_slice(&p[start..start + n]);
            return n;
        }
        let mut done = 0;
        while done < n {
            let at = ((offset + done as u64) % p.len() as u64) as usize;
            let chunk = (n - done).min(p.len() - at);
            out[done..done + chunk].copy_from_slice(&p[at..at + chunk]);
            done += chunk;
        }
        n
    }
}

/// Where the receiver's bytes go: written at their file offset, wrapping around `buf` when the
/// file is longer than it (so a long test needs little memory).
pub struct Sink<'a> {
    pub buf: &'a mut [u8],
}

impl Sink<'_> {
    /// Copies `data` to file offset `offset`.
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        let start = offset as usize;
        if start + data.len() <= self.buf.len() {
            self.buf[start..start + data.len()].copy_from_slice(data);
            return;
        }
        let mut done = 0;
        while done < data.len() {
            let at = ((offset + done as u64) % self.buf.len() as u64) as usize;
            let chunk = (data.len() - done).min(self.buf.len() - at);
            self.buf[at..at + chunk].copy_from_slice(&data[done..done + chunk]);
            done += chunk;
        }
    }
}

/// Datagrams in flight in one direction: fixed-size slots in one allocation, reused.
#[derive(Default)]
struct Flight {
    mem: Vec<u8>,
    stride: usize,
    lens: Vec<usize>,
}

impl Flight {
    /// Empties the flight and sizes it for `slots` datagrams of up to `stride` bytes; allocates
    /// only when that is more than it ever held.
    fn reset(&mut self, stride: usize, slots: usize) {
        self.lens.clear();
        self.lens.reserve(slots);
        self.stride = stride;
        if self.mem.len() < stride * slots {
            self.mem.resize(stride * slots, 0);
        }
    }

    /// The buffer for the next datagram (grows only if more are in flight than `reset` planned).
    fn next_buf(&mut self) -> &mut [u8] {
        let start = self.lens.len() * self.stride;
        if self.mem.len() < start + self.stride {
            self.mem.resize(start + self.stride, 0);
        }
        &mut self.mem[start..start + self.stride]
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = i * self.stride;
        &self.mem[start..start + self.lens[i]]
    }
}

/// The two directions of the in-memory network. Create once, reuse for every transfer.
#[derive(Default)]
pub struct Wire {
    to_client: Flight,
    to_server: Flight,
}

impl Wire {
    pub fn new() -> Wire {
        Wire::default()
    }
}

/// One client download in progress.
pub struct Pair<'w> {
    client: Session,
    server: Session,
    now: Instant,
    wire: &'w mut Wire,
    /// Writes handed to the receiver's sink so far (one per DATA block that brought new bytes).
    pub blocks: u64,
    client_done: Option<Summary>,
    server_done: Option<Summary>,
}

impl<'w> Pair<'w> {
    /// Starts a download: the client's RRQ goes through `accept` and starts the server session,
    /// which has its first packet (OACK) ready.
    pub fn start(spec: &Spec, wire: &'w mut Wire) -> Pair<'w> {
        let now = Instant::ZERO;
        let config = Config::default();
        let request = ClientRequest {
            filename: b"boot/bench.img",
            mode: spec.mode,
            options: RequestOptions {
                blksize: Some(spec.blksize),
                windowsize: (spec.windowsize > 1).then_some(spec.windowsize),
                timeout: None,
                tsize: Some(0),
            },
            max_file_size: None,
        };
        let mut client =
            Session::client_get(now, SERVER_LISTEN, &request, &config).expect("client request");
        let slots = usize::from(spec.windowsize) + 2;
        wire.to_client.reset(spec.max_datagram(), slots);
        wire.to_server.reset(spec.max_datagram(), slots);
        let rrq = client
            .poll_transmit(now, wire.to_server.next_buf())
            .expect("the client sends its RRQ first");
        let Intake::Serve(incoming) = accept(&wire.to_server.mem[..rrq.len]) else {
            panic!("server refused the RRQ");
        };
        let mut policy = ServerPolicy::default();
        policy.max_windowsize = policy.max_windowsize.max(spec.windowsize);
        let server = Session::server_read(
            now,
            CLIENT,
            incoming.mode,
            &incoming.options,
            Some(spec.file_len),
            &policy,
            &config,
        )
        .expect("server accepts the options");
        Pair {
            client,
            server,
            now,
            wire,
            blocks: 0,
            client_done: None,
            server_done: None,
        }
    }

    /// One round: the server's turn, then the client's. Returns false once both sides reported
    /// success. Panics if the transfer fails or gets stuck.
    pub fn step(&mut self, source: &Source<'_>, sink: &mut Sink<'_>) -> bool {
        let Wire {
            to_client,
            to_server,
        } = &mut *self.wire;
        turn(
            &mut self.server,
            self.now,
            CLIENT,
            to_server,
            to_client,
            source,
            sink,
            &mut self.server_done,
        );
        self.now = self.now + Duration::from_micros(1);
        self.blocks += turn(
            &mut self.client,
            self.now,
            SERVER_TID,
            to_client,
            to_server,
            source,
            sink,
            &mut self.client_done,
        );
        self.now = self.now + Duration::from_micros(1);
        if self.client_done.is_some() && self.server_done.is_some() {
            return false;
        }
        if to_client.lens.is_empty() && to_server.lens.is_empty() {
            // Nothing in flight: wait for the earliest deadline (a clean run never gets here).
            let deadline = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .expect("stuck: nothing in flight and no deadline");
            self.now = self.now.max(deadline);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
        true
    }

    /// Runs the transfer to the end; returns the client's and the server's summaries.
    pub fn run(mut self, source: &Source<'_>, sink: &mut Sink<'_>) -> (Summary, Summary) {
        while self.step(source, sink) {}
        (self.client_done.unwrap(), self.server_done.unwrap())
    }
}

/// One endpoint's turn, in the order of the crate's driver loop: feed the datagrams in
/// `inbox` (writes go to `sink`), drain events (reads come from `source`), drain transmits
/// into `outbox`. Returns the number of writes.
#[allow(clippy::too_many_arguments)]
fn turn(
    session: &mut Session,
    now: Instant,
    from: SocketAddr,
    inbox: &mut Flight,
    outbox: &mut Flight,
    source: &Source<'_>,
    sink: &mut Sink<'_>,
    done: &mut Option<Summary>,
) -> u64 {
    let mut writes = 0;
    for i in 0..inbox.lens.len() {
        if let Some(write) = session.handle_datagram(now, from, inbox.get(i)) {
            sink.write(write.offset, write.data);
            writes += 1;
        }
    }
    inbox.lens.clear();
    // A window can take several reads: repeat until a pass neither reads nor sends (the
    // crate docs).
    loop {
        let mut read = false;
        while let Some(event) = session.poll_event() {
            match event {
                Event::Read { offset, len } => {
                    read = true;
                    let buf = session.read_buffer();
                    let len = len.min(buf.len());
                    let n = source.read(offset, &mut buf[..len]);
                    session.read_done(n);
                }
                Event::Finished(summary) => *done = Some(summary),
                Event::Failed(error) => panic!("{:?} failed: {error}", session.role()),
            }
        }
        let mut sent = false;
        while let Some(t) = session.poll_transmit(now, outbox.next_buf()) {
            outbox.lens.push(t.len);
            sent = true;
        }
        if !read && !sent {
            return writes;
        }
    }
}
