//! A transfer as one object: the four roles (client get and put, server read and write) built
//! from the two machines, with negotiation, transfer IDs, timing and the public event surface.
//!
//! # Driving a session
//! Feed inputs, then drain outputs in this order until each returns `None`:
//! 1. [`Session::handle_datagram`] for every datagram that arrives on the session's socket (it
//!    returns file bytes to write, borrowed from the datagram), and [`Session::handle_timeout`]
//!    when the deadline from [`Session::poll_timeout`] has passed;
//! 2. [`Session::poll_event`]: serve [`Event::Read`] by filling [`Session::read_buffer`] and
//!    calling [`Session::read_done`]; note [`Event::Finished`] and [`Event::Failed`];
//! 3. [`Session::poll_transmit`]: send each datagram to its destination. A sender holds at
//!    most [`Config::send_buffer`] bytes of file data, so a window can need several reads:
//!    go back to 2 until a pass serves no read and sends nothing;
//! 4. wait until the next datagram or [`Session::poll_timeout`], then go to 1. Drop the session
//!    once [`Session::is_closed`].
//!
//! # Bad input
//! No input panics. A datagram from anyone but the peer gets ERROR 5 and changes nothing
//! (R-XFR-4); a malformed or out-of-place packet from the peer ends the transfer with ERROR 4
//! (R-XFR-10); an ERROR from the peer ends it without an answer (R-XFR-9).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use crate::config::Config;
use crate::error::{SessionError, TransferError};
use crate::mode::Mode;
use crate::options::{
    check_oack, negotiate, Refusal, RequestOptions, ServerPolicy, TransferOptions,
};
use crate::receiver::{DataOutcome, Receiver};
use crate::sender::{AckOutcome, Sender};
use crate::time::Instant;
use crate::timer::{Expiry, RetransmitTimer};
use crate::wire::option_list::{OptionBuf, OptionList};
use crate::wire::packet::{encode_error, ErrorCode, Packet, Request, HEADER_LEN, MAX_SENT_REQUEST};

/// How many strangers get an ERROR 5 between two drains of [`Session::poll_transmit`]; more
/// are dropped (a flood must not grow memory or the answer rate).
const STRANGER_REPLIES: usize = 4;

/// How many consecutive timeouts a receiver answers by repeating its ACK; later ones only
/// count towards giving up.
const RECEIVER_REACKS: u32 = 3;

/// Longest peer error message kept in a [`TransferError::Peer`], in bytes.
const MAX_PEER_MESSAGE: usize = 255;

/// Which of the four roles a session plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Client reading a file from a server (RRQ; receives).
    ClientGet,
    /// Client writing a file to a server (WRQ; sends).
    ClientPut,
    /// Server answering an RRQ (sends).
    ServerRead,
    /// Server answering a WRQ (receives).
    ServerWrite,
}

impl Role {
    /// True for the roles that send DATA.
    pub fn is_sender(self) -> bool {
        matches!(self, Role::ClientPut | Role::ServerRead)
    }

    /// True for the client roles.
    pub fn is_client(self) -> bool {
        matches!(self, Role::ClientGet | Role::ClientPut)
    }
}

/// What a client asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest<'a> {
    /// The remote file name.
    pub filename: &'a [u8],
    /// The transfer mode.
    pub mode: Mode,
    /// The options to ask for.
    pub options: RequestOptions,
    /// Largest file a get accepts: a larger `tsize` or a longer transfer ends with ERROR 3.
    pub max_file_size: Option<u64>,
}

/// A datagram to send, written into the caller's buffer by [`Session::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// Its length at the start of the buffer.
    pub len: usize,
}

/// File bytes to write, borrowed from the datagram (or, in netascii, from the session).
#[derive(Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Write<'a> {
    /// Offset in the file.
    pub offset: u64,
    /// The bytes.
    pub data: &'a [u8],
}

impl core::fmt::Debug for Write<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Write")
            .field("offset", &self.offset)
            .field("len", &self.data.len())
            .finish()
    }
}

/// How a successful session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The whole file went across.
    Transferred,
    /// The client took the OACK (with tsize) and answered ERROR 8: a size probe, as UEFI
    /// firmware does before the real download (R-OPT-10).
    SizeProbe,
}

/// The record of a finished transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// How it ended.
    pub completion: Completion,
    /// File bytes read (sender) or written (receiver).
    pub bytes: u64,
    /// DATA blocks acknowledged (sender) or received in order (receiver).
    pub blocks: u64,
    /// The options the transfer ran with.
    pub options: TransferOptions,
    /// Retransmissions over the whole transfer.
    pub retransmits: u32,
}

/// Something the caller must do or know.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Event {
    /// The sender needs file bytes: read up to `len` bytes at `offset` into
    /// [`Session::read_buffer`], then call [`Session::read_done`]; a short read means end of
    /// file. Repeated until served. Offsets can go backwards: a lost block no longer held
    /// is read again, and must read back the same (else the transfer fails).
    Read {
        /// File offset.
        offset: u64,
        /// Bytes wanted.
        len: usize,
    },
    /// The transfer succeeded. A receiver may keep answering for a while (dally, R-XFR-8):
    /// keep driving it until [`Session::is_closed`].
    Finished(Summary),
    /// The transfer failed.
    Failed(TransferError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Client: request sent, no answer yet.
    Requesting,
    /// Server read: OACK sent, waiting for ACK 0.
    OackSent,
    Transfer,
    /// Receiver: final ACK sent; answering a repeated final DATA until the deadline.
    Dally {
        until: Instant,
    },
    Closed,
}

#[derive(Clone, Debug)]
enum Control {
    Request,
    Oack,
    Ack(u16),
    Error(ErrorCode, Cow<'static, str>),
}

enum Machine {
    Idle,
    Sender(Sender),
    Receiver(Receiver),
}

/// A server's timed repeat of its first packet still to come.
#[derive(Clone, Copy, Debug)]
struct FirstRepeat {
    /// When.
    at: Instant,
    /// The wait that led to `at` (doubled for the next).
    wait: Duration,
    /// Repeats left, this one included.
    left: u8,
}

/// One TFTP transfer, in any of the four [`Role`]s. See the module docs for the driving order.
pub struct Session {
    role: Role,
    config: Config,
    mode: Mode,
    peer: SocketAddr,
    /// Client: the server's transfer ID is learned (from its first answer).
    peer_known: bool,
    /// Server: the peer sent something after its request (R-SRV-6).
    peer_answered: bool,
    /// Server: the timed repeats of the first packet still owed to a peer that has not
    /// answered (R-SRV-6's bound, [`Config::first_packet_repeats`]).
    first_repeat: Option<FirstRepeat>,
    phase: Phase,
    options: TransferOptions,
    asked: RequestOptions,
    filename: Vec<u8>,
    oack: OptionBuf,
    max_file_size: Option<u64>,
    machine: Machine,
    timer: RetransmitTimer,
    control: Option<Control>,
    /// Strangers owed an ERROR 5, at most [`STRANGER_REPLIES`] between two drains: the first
    /// `stranger_count` entries (the rest are stale). A count, not `Option`s, so that the
    /// common case (no stranger) costs one comparison per [`Session::poll_transmit`].
    strangers: [SocketAddr; STRANGER_REPLIES],
    stranger_count: u8,
    /// When the control packet now awaiting an answer (request, OACK, ACK) first went out:
    /// a round-trip sample when the answer comes (none after a retransmission, Karn's rule).
    probe: Option<Instant>,
    /// Receiver: when to report a gap that reordering has not filled (R-OPT-8).
    gap_deadline: Option<Instant>,
    outcome: Option<Result<Completion, TransferError>>,
    outcome_reported: bool,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("peer", &self.peer)
            .field("phase", &self.phase)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(now: Instant, role: Role, peer: SocketAddr, mode: Mode, config: &Config) -> Session {
        Session {
            role,
            config: config.clone(),
            mode,
            peer,
            peer_known: !role.is_client(),
            peer_answered: false,
            first_repeat: None,
            phase: Phase::Transfer,
            options: TransferOptions::default(),
            asked: RequestOptions::default(),
            filename: Vec::new(),
            oack: OptionBuf::new(),
            max_file_size: None,
            machine: Machine::Idle,
            timer: RetransmitTimer::new(now, config),
            control: None,
            strangers: [peer; STRANGER_REPLIES],
            stranger_count: 0,
            probe: None,
            gap_deadline: None,
            outcome: None,
            outcome_reported: false,
        }
    }

    fn client(
        now: Instant,
        role: Role,
        server: SocketAddr,
        request: &ClientRequest<'_>,
        config: &Config,
    ) -> Result<Session, SessionError> {
        if request.filename.is_empty() || request.filename.contains(&0) {
            return Err(SessionError::BadFilename);
        }
        if !request.options.is_valid() {
            return Err(SessionError::BadOption);
        }
        let mut s = Session::new(now, role, server, request.mode, config);
        s.asked = request.options;
        s.filename = request.filename.to_vec();
        s.max_file_size = request.max_file_size;
        if s.request_packet(&s.asked.to_buf()).encoded_len() > MAX_SENT_REQUEST {
            return Err(SessionError::RequestTooLong);
        }
        s.phase = Phase::Requesting;
        s.control = Some(Control::Request);
        Ok(s)
    }

    /// A client reading `request.filename` from `server` (its well-known port, usually 69).
    pub fn client_get(
        now: Instant,
        server: SocketAddr,
        request: &ClientRequest<'_>,
        config: &Config,
    ) -> Result<Session, SessionError> {
        Session::client(now, Role::ClientGet, server, request, config)
    }

    /// A client writing `request.filename` to `server`. Put the file's size in
    /// `request.options.tsize` to announce it (octet mode only).
    pub fn client_put(
        now: Instant,
        server: SocketAddr,
        request: &ClientRequest<'_>,
        config: &Config,
    ) -> Result<Session, SessionError> {
        Session::client(now, Role::ClientPut, server, request, config)
    }

    /// A server answering a read request from `peer`. `file_size` is announced for `tsize`
    /// in octet mode (in netascii the size on the wire is unknown, so tsize is left out).
    /// The first packet is an OACK when any option was accepted, else DATA 1.
    pub fn server_read(
        now: Instant,
        peer: SocketAddr,
        mode: Mode,
        options: &OptionList<'_>,
        file_size: Option<u64>,
        policy: &ServerPolicy,
        config: &Config,
    ) -> Result<Session, Refusal> {
        let size = if mode == Mode::Octet { file_size } else { None };
        let answer = negotiate(options, policy, true, size)?;
        let mut s = Session::new(now, Role::ServerRead, peer, mode, config);
        s.set_options(answer.options);
        s.oack = answer.oack;
        s.machine = Machine::Sender(Sender::new(
            s.options.blksize,
            s.options.windowsize,
            mode,
            config.send_buffer,
        ));
        if !s.oack.list().is_empty() {
            s.phase = Phase::OackSent;
            s.control = Some(Control::Oack);
        }
        s.schedule_first_repeat(now);
        Ok(s)
    }

    /// A server answering a write request from `peer`. The first packet is an OACK when any
    /// option was accepted, else ACK 0. A `tsize` above `policy.max_file_size` is refused with
    /// ERROR 3.
    pub fn server_write(
        now: Instant,
        peer: SocketAddr,
        mode: Mode,
        options: &OptionList<'_>,
        policy: &ServerPolicy,
        config: &Config,
    ) -> Result<Session, Refusal> {
        let answer = negotiate(options, policy, false, None)?;
        let mut s = Session::new(now, Role::ServerWrite, peer, mode, config);
        s.set_options(answer.options);
        s.oack = answer.oack;
        s.max_file_size = policy.max_file_size;
        s.machine = Machine::Receiver(Receiver::new(s.options.blksize, s.options.windowsize, mode));
        s.control = Some(if s.oack.list().is_empty() {
            Control::Ack(0)
        } else {
            Control::Oack
        });
        s.schedule_first_repeat(now);
        Ok(s)
    }

    /// A server's first packet goes out now: its first timed repeat is due after the
    /// retransmission interval, and not before [`Config::first_packet_wait`].
    fn schedule_first_repeat(&mut self, now: Instant) {
        let left = self.config.first_packet_repeats;
        let wait = self.config.first_packet_wait.max(self.timer.interval());
        self.first_repeat = (left > 0).then_some(FirstRepeat {
            at: now + wait,
            wait,
            left,
        });
    }

    fn set_options(&mut self, options: TransferOptions) {
        self.options = options;
        self.timer.set_fixed(options.timeout);
        self.timer.set_lock_step(options.windowsize == 1);
    }

    fn request_packet<'a>(&'a self, options: &'a OptionBuf) -> Packet<'a> {
        let request = Request {
            filename: &self.filename,
            mode: self.mode.name().as_bytes(),
            options: options.list(),
        };
        match self.role {
            Role::ClientPut => Packet::Wrq(request),
            _ => Packet::Rrq(request),
        }
    }

    /// The role this session plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The peer's address and transfer ID (for a client, the server's well-known port until
    /// the first answer).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// True for a server session whose peer has sent nothing since its request: a repeat of
    /// that request (same source address and port, arriving on the listening port) belongs to
    /// this session and should be fed to [`Session::handle_datagram`] rather than start a new
    /// one (R-SRV-6).
    pub fn is_awaiting_peer(&self) -> bool {
        !self.role.is_client() && !self.peer_answered && self.phase != Phase::Closed
    }

    /// The transfer mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The options in force: the defaults until negotiation is over.
    pub fn options(&self) -> TransferOptions {
        self.options
    }

    /// The largest datagram this session can emit; buffers given to
    /// [`Session::poll_transmit`] must be at least this long.
    pub fn max_datagram_len(&self) -> usize {
        usize::from(self.options.blksize).max(MAX_SENT_REQUEST) + HEADER_LEN
    }

    /// True when the session has nothing left to send, report or answer: drop it.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
            && self.control.is_none()
            && self.stranger_count == 0
            && (self.outcome.is_none() || self.outcome_reported)
    }

    fn finish(&mut self, completion: Completion) {
        self.outcome = Some(Ok(completion));
        self.timer.stop();
    }

    /// The record of the transfer so far.
    fn summary(&self, completion: Completion) -> Summary {
        let (bytes, blocks) = match &self.machine {
            Machine::Sender(s) => (s.file_bytes(), s.blocks_acked()),
            Machine::Receiver(r) => (r.written(), r.blocks()),
            Machine::Idle => (0, 0),
        };
        let (bytes, blocks) = match completion {
            Completion::Transferred => (bytes, blocks),
            Completion::SizeProbe => (0, 0),
        };
        Summary {
            completion,
            bytes,
            blocks,
            options: self.options,
            retransmits: self.timer.total_retransmits,
        }
    }

    /// Ends the transfer with `error`; `reply` goes to the peer as an ERROR packet.
    fn fail(&mut self, error: TransferError, reply: Option<&'static str>) {
        if self.outcome.is_none() {
            if let Some(message) = reply {
                self.control = Some(Control::Error(error.code(), Cow::Borrowed(message)));
            }
            self.outcome = Some(Err(error));
        }
        self.phase = Phase::Closed;
        self.timer.stop();
    }

    fn illegal(&mut self, why: &'static str) {
        self.fail(TransferError::Illegal(why), Some(why));
    }

    /// Ends the transfer from this side: sends ERROR `code` with `message` to the peer (a disk
    /// that filled up, a file that vanished, a user's Ctrl-C). Does nothing once closed.
    ///
    /// Also valid right after [`Event::Finished`] on a receiver, before the next
    /// [`Session::poll_transmit`]: the final ACK is still queued then, and the ERROR replaces
    /// it, so a driver that fails to store the file (fsync, rename) never acknowledges it. The
    /// outcome already reported stays as it was.
    pub fn abort(&mut self, code: ErrorCode, message: &str) {
        if self.phase == Phase::Closed {
            return;
        }
        self.control = Some(Control::Error(code, Cow::Owned(String::from(message))));
        if self.outcome.is_none() {
            self.outcome = Some(Err(TransferError::Aborted {
                code,
                message: String::from(message),
            }));
        }
        self.phase = Phase::Closed;
        self.timer.stop();
    }

    /// Feeds one datagram that arrived from `from` at `now`. Returns the file bytes to write,
    /// if the datagram brought new ones; write them before draining [`Session::poll_transmit`].
    pub fn handle_datagram<'a>(
        &'a mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &'a [u8],
    ) -> Option<Write<'a>> {
        let from_peer = if self.peer_known {
            from == self.peer
        } else {
            from.ip() == self.peer.ip()
        };
        if !from_peer {
            self.stranger_datagram(from, datagram);
            return None;
        }
        if matches!(self.phase, Phase::Closed) {
            return None;
        }
        if !self.peer_known {
            // R-XFR-3: the client talks to whichever port answered first.
            self.peer = from;
            self.peer_known = true;
        }
        let packet = match Packet::parse(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.fail(TransferError::Malformed(e), Some("malformed packet"));
                return None;
            }
        };
        let was_answered = self.peer_answered;
        if !matches!(packet, Packet::Rrq(_) | Packet::Wrq(_)) {
            self.peer_answered = true;
            self.first_repeat = None;
        }
        match packet {
            Packet::Error { code, message } => {
                self.peer_error(code, message);
                None
            }
            Packet::Rrq(_) | Packet::Wrq(_) => {
                self.repeated_request(now, was_answered);
                None
            }
            Packet::Oack(list) => {
                self.on_oack(now, &list);
                None
            }
            Packet::Ack { block } => {
                self.on_ack(now, block);
                None
            }
            Packet::Data { block, data } => self.on_data(now, block, data),
        }
    }

    fn stranger_datagram(&mut self, from: SocketAddr, datagram: &[u8]) {
        // R-XFR-4: ERROR 5 to the stranger; never answer an ERROR 5 (two sessions must not
        // bounce ERRORs between them forever).
        // Runts under 4 bytes get nothing either: the answer would outweigh them (reflection).
        let is_error5 = matches!(
            Packet::parse(datagram),
            Ok(Packet::Error {
                code: ErrorCode::UnknownTransferId,
                ..
            })
        );
        if is_error5 || datagram.len() < 4 {
            return;
        }
        if let Some(slot) = self.strangers.get_mut(usize::from(self.stranger_count)) {
            *slot = from;
            self.stranger_count += 1;
        }
    }

    fn peer_error(&mut self, code: ErrorCode, message: &[u8]) {
        if self.role == Role::ServerRead
            && self.phase == Phase::OackSent
            && code == ErrorCode::OptionRefused
        {
            // R-OPT-10: the size probe of UEFI firmware.
            self.finish(Completion::SizeProbe);
            self.phase = Phase::Closed;
            return;
        }
        let cut = &message[..message.len().min(MAX_PEER_MESSAGE)];
        let mut message = String::from_utf8_lossy(cut).into_owned();
        // Lossy decoding can triple the length; keep the bound in bytes.
        while message.len() > MAX_PEER_MESSAGE {
            message.pop();
        }
        self.fail(TransferError::Peer { code, message }, None);
    }

    /// A server got its request again: before the peer ever answered, the first packet was
    /// lost, so send it again (R-SRV-6, R-XFR-5). A client never gets requests.
    fn repeated_request(&mut self, now: Instant, was_answered: bool) {
        if self.role.is_client() {
            self.illegal("request sent to a client");
            return;
        }
        if was_answered {
            return;
        }
        // A client still repeating its request is alive: not a peer to give up on (under
        // heavy loss the handshake alone can outlast the idle limit).
        self.timer.peer_alive(now);
        // The first packet was lost: what answers the copy is no round-trip sample of the first.
        self.probe = None;
        self.resend_first();
    }

    /// Queues a server's first packet again (OACK, DATA 1 or ACK 0).
    fn resend_first(&mut self) {
        match (&mut self.machine, self.phase) {
            (_, Phase::OackSent) => self.control = Some(Control::Oack),
            (Machine::Sender(s), Phase::Transfer) => s.on_timeout(),
            (Machine::Receiver(_), Phase::Transfer) => {
                self.control = Some(if self.oack.list().is_empty() {
                    Control::Ack(0)
                } else {
                    Control::Oack
                });
            }
            _ => {}
        }
    }

    fn on_oack(&mut self, now: Instant, list: &OptionList<'_>) {
        match (self.role, self.phase) {
            (Role::ClientGet | Role::ClientPut, Phase::Requesting) => {}
            (Role::ClientGet, Phase::Transfer) => {
                // A repeated OACK: our ACK 0 was lost.
                if matches!(&self.machine, Machine::Receiver(r) if r.blocks() == 0) {
                    self.control = Some(Control::Ack(0));
                }
                return;
            }
            (Role::ClientPut, _) => return, // a repeat; DATA goes out on timeouts only
            _ => return self.illegal("OACK sent to a server"),
        }
        let options = match check_oack(&self.asked, list) {
            Ok(o) => o,
            Err(why) => return self.fail(TransferError::Negotiation(why), Some(why)),
        };
        if let (Some(size), Some(limit)) = (options.tsize, self.max_file_size) {
            if self.role == Role::ClientGet && size > limit {
                return self.fail(
                    TransferError::TooLarge { limit },
                    Some("file larger than the client accepts"),
                );
            }
        }
        self.start_transfer(now, options);
        if self.role == Role::ClientGet {
            self.control = Some(Control::Ack(0)); // R-OPT-4
        }
    }

    fn start_transfer(&mut self, now: Instant, options: TransferOptions) {
        self.set_options(options);
        self.phase = Phase::Transfer;
        let (b, w) = (options.blksize, options.windowsize);
        self.machine = if self.role.is_sender() {
            Machine::Sender(Sender::new(b, w, self.mode, self.config.send_buffer))
        } else {
            Machine::Receiver(Receiver::new(b, w, self.mode))
        };
        let rtt = self.probe.take().map(|t| now - t);
        self.timer.progress(now, rtt);
    }

    fn on_ack(&mut self, now: Instant, block: u16) {
        match (self.role, self.phase) {
            (Role::ClientPut, Phase::Requesting) => {
                if block != 0 {
                    return self.illegal("first ACK of a write is not block 0");
                }
                // R-OPT-2: no OACK, so the defaults.
                self.start_transfer(now, TransferOptions::default());
            }
            (Role::ServerRead, Phase::OackSent) => {
                if block != 0 {
                    return self.illegal("ACK before any DATA is not block 0");
                }
                self.phase = Phase::Transfer;
                let rtt = self.probe.take().map(|t| now - t);
                self.timer.progress(now, rtt);
            }
            (Role::ClientPut | Role::ServerRead, Phase::Transfer) => {
                let Machine::Sender(sender) = &mut self.machine else {
                    return;
                };
                let guard = self.timer.srtt().unwrap_or(Duration::ZERO);
                match sender.on_ack(block, now, guard) {
                    AckOutcome::Ignored => {}
                    AckOutcome::Progress { rtt } => self.timer.progress(now, rtt),
                    AckOutcome::Finished { rtt } => {
                        self.timer.progress(now, rtt);
                        self.finish(Completion::Transferred);
                        self.phase = Phase::Closed;
                    }
                    AckOutcome::Future => self.illegal("ACK for a block not sent"),
                }
            }
            (_, Phase::Dally { .. }) => {}
            _ => self.illegal("ACK sent to the receiving side"),
        }
    }

    fn on_data<'a>(&'a mut self, now: Instant, block: u16, data: &'a [u8]) -> Option<Write<'a>> {
        match (self.role, self.phase) {
            (Role::ClientGet, Phase::Requesting) => {
                // R-OPT-2: the server ignored our options.
                self.start_transfer(now, TransferOptions::default());
            }
            (Role::ClientGet | Role::ServerWrite, Phase::Transfer | Phase::Dally { .. }) => {}
            _ => {
                self.illegal("DATA sent to the sending side");
                return None;
            }
        }
        let Machine::Receiver(receiver) = &mut self.machine else {
            return None;
        };
        let outcome = receiver.on_data(block, data.len());
        match outcome {
            DataOutcome::Ignored { gap } | DataOutcome::Deliver { gap, .. } => {
                self.note_gap(now, gap)
            }
            _ => {}
        }
        match outcome {
            DataOutcome::Ignored { .. } => None,
            DataOutcome::Ack { ack } => {
                self.control = Some(Control::Ack(ack));
                None
            }
            DataOutcome::TooLong => {
                self.illegal("DATA longer than the block size");
                None
            }
            DataOutcome::Deliver {
                offset,
                len,
                ack,
                complete,
                final_payload,
                ..
            } => {
                if let Some(limit) = self.max_file_size {
                    if offset + len as u64 > limit {
                        self.fail(TransferError::TooLarge { limit }, Some("file too large"));
                        return None;
                    }
                }
                let rtt = self.probe.take().map(|t| now - t);
                self.timer.progress(now, rtt);
                if let Some(ack) = ack {
                    self.control = Some(Control::Ack(ack));
                }
                if complete {
                    self.gap_deadline = None;
                    self.finish(Completion::Transferred);
                    let dally = self.config.dally.max(Duration::from_secs(
                        2 * u64::from(self.options.timeout.unwrap_or(0)),
                    ));
                    self.phase = Phase::Dally { until: now + dally };
                }
                let Machine::Receiver(receiver) = &mut self.machine else {
                    return None;
                };
                Some(Write {
                    offset,
                    data: receiver.take(data, final_payload),
                })
            }
        }
    }

    /// Starts the reorder wait when blocks are missing below one that arrived, and cancels it
    /// once they are in: a reordered window costs no retransmission, a lost block costs a
    /// fraction of a round trip (R-OPT-8).
    fn note_gap(&mut self, now: Instant, gap: bool) {
        if !gap {
            self.gap_deadline = None;
        } else if self.gap_deadline.is_none() {
            let wait = match self.timer.srtt() {
                Some(srtt) => (srtt / 4).max(Duration::from_micros(100)),
                None => self.config.min_rto / 2,
            };
            self.gap_deadline = Some(now + wait);
        }
    }

    /// Tells the session that time has reached `now`. Harmless when called early.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.gap_deadline.is_some_and(|d| d <= now) {
            self.gap_deadline = None;
            if let (Machine::Receiver(r), Phase::Transfer) = (&mut self.machine, self.phase) {
                if let Some(ack) = r.gap_ack() {
                    self.control = Some(Control::Ack(ack));
                }
            }
        }
        if let Phase::Dally { until } = self.phase {
            if now >= until {
                self.phase = Phase::Closed;
            }
            return;
        }
        if self.phase == Phase::Closed {
            return;
        }
        self.repeat_first_if_due(now);
        match self.timer.expire(now) {
            Expiry::NotYet => {}
            Expiry::GiveUp { retries } => {
                // A server that never heard from its peer resent nothing (R-SRV-6).
                let silent = !self.role.is_client() && !self.peer_answered;
                let retries = if silent { 0 } else { retries };
                self.fail(TransferError::TimedOut { retries }, None)
            }
            Expiry::Retransmit => self.retransmit(),
        }
    }

    fn retransmit(&mut self) {
        // Karn: whatever answers now may answer an earlier copy; it is no round-trip sample
        // (a peer's own retransmission interval would pass for the round trip).
        self.probe = None;
        if let Machine::Sender(s) = &mut self.machine {
            s.forget_probe();
        }
        if !self.role.is_client() && !self.peer_answered {
            return; // R-SRV-6: never repeat the first packet to a silent peer.
        }
        match (&mut self.machine, self.phase) {
            (_, Phase::Requesting) => self.control = Some(Control::Request),
            (Machine::Sender(s), Phase::Transfer) => s.on_timeout(),
            (Machine::Receiver(r), Phase::Transfer) => {
                // RFC 7440: on a timeout the receiver acknowledges the last block in order. Only
                // a few times, though: some senders (tftp-hpa's client) restart their own
                // timer on every ACK, even a repeated one, and would never resend the DATA
                // our ACKs are waiting for. After that the receiver waits quietly. Not before
                // the first DATA, though: a server (ours included, R-SRV-6) does not repeat its
                // OACK, so a lost ACK 0 is only ever recovered from this side.
                if self.timer.retries() > RECEIVER_REACKS && r.blocks() > 0 {
                    return;
                }
                let ack = r.ack_now();
                self.control = Some(Control::Ack(ack));
            }
            _ => return,
        }
        self.timer.total_retransmits += 1;
    }

    /// R-SRV-6 with its bound: a server whose peer has not answered repeats its first packet
    /// [`Config::first_packet_repeats`] times, the first after the retransmission interval but
    /// not before [`Config::first_packet_wait`], each later one after twice the wait before.
    /// So a lost DATA 1, OACK or ACK 0 (or the client's lost answer to it) costs about a
    /// second instead of the client's own timer, and a spoofed request still gets at most
    /// `1 + first_packet_repeats` datagrams.
    fn repeat_first_if_due(&mut self, now: Instant) {
        let Some(due) = self.first_repeat.filter(|r| r.at <= now) else {
            return;
        };
        self.first_repeat = (due.left > 1).then(|| FirstRepeat {
            at: now + due.wait * 2,
            wait: due.wait * 2,
            left: due.left - 1,
        });
        // Karn: what answers now may answer either copy.
        self.probe = None;
        if let Machine::Sender(s) = &mut self.machine {
            s.forget_probe();
        }
        self.resend_first();
        self.timer.total_retransmits += 1;
    }

    /// The deadline at which [`Session::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.phase {
            Phase::Closed => None,
            Phase::Dally { until } => Some(until),
            _ => earliest(
                earliest(self.timer.deadline(), self.gap_deadline),
                self.first_repeat.map(|r| r.at),
            ),
        }
    }

    /// The next thing the caller must do or know.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let (Machine::Sender(s), Phase::Transfer | Phase::OackSent) =
            (&mut self.machine, self.phase)
        {
            if let Some((offset, len)) = s.read_request() {
                return Some(Event::Read { offset, len });
            }
        }
        if self.outcome_reported {
            return None;
        }
        let outcome = self.outcome.clone()?;
        self.outcome_reported = true;
        Some(match outcome {
            Ok(completion) => Event::Finished(self.summary(completion)),
            Err(error) => Event::Failed(error),
        })
    }

    /// Where the bytes of the pending [`Event::Read`] go (empty when none is pending).
    pub fn read_buffer(&mut self) -> &mut [u8] {
        match &mut self.machine {
            Machine::Sender(s) => s.read_buffer(),
            _ => &mut [],
        }
    }

    /// `n` bytes were put at the start of [`Session::read_buffer`]; fewer than the
    /// [`Event::Read`] asked for means end of file.
    pub fn read_done(&mut self, n: usize) {
        let Machine::Sender(s) = &mut self.machine else {
            return;
        };
        s.read_done(n);
        if s.file_changed() {
            self.abort(ErrorCode::NotDefined, "file changed while being sent");
        }
    }

    /// Writes the next datagram to send into `buf` (at least [`Session::max_datagram_len`]
    /// bytes) and says where it goes.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if self.stranger_count > 0 {
            self.stranger_count -= 1;
            let stranger = self.strangers[usize::from(self.stranger_count)];
            let len = encode_error(buf, ErrorCode::UnknownTransferId, "unknown transfer ID");
            return (len > 0).then_some(Transmit {
                destination: stranger,
                len,
            });
        }
        if let Some(control) = self.control.take() {
            let len = self.encode_control(now, &control, buf);
            return (len > 0).then_some(Transmit {
                destination: self.peer,
                len,
            });
        }
        if self.phase != Phase::Transfer {
            return None;
        }
        let Machine::Sender(sender) = &mut self.machine else {
            return None;
        };
        let (block, data) = sender.next_data(now)?;
        let len = Packet::Data { block, data }.encode(buf).unwrap_or(0);
        self.timer.arm_if_idle(now);
        (len > 0).then_some(Transmit {
            destination: self.peer,
            len,
        })
    }

    fn encode_control(&mut self, now: Instant, control: &Control, buf: &mut [u8]) -> usize {
        let encoded = match control {
            Control::Error(code, message) => return encode_error(buf, *code, message),
            Control::Request => self.request_packet(&self.asked.to_buf()).encode(buf),
            Control::Oack => Packet::Oack(self.oack.list()).encode(buf),
            Control::Ack(block) => Packet::Ack { block: *block }.encode(buf),
        };
        if !self.timer.retrying() && !matches!(self.phase, Phase::Dally { .. }) {
            self.probe = Some(now);
        }
        if matches!(
            self.phase,
            Phase::Requesting | Phase::OackSent | Phase::Transfer
        ) {
            self.timer.arm(now);
        }
        encoded.unwrap_or(0)
    }

    /// Bytes of file data a sender holds (at most [`Config::send_buffer`], rounded to blocks).
    pub fn buffered_bytes(&self) -> usize {
        match &self.machine {
            Machine::Sender(s) => s.buffer_len(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-SRV-3: a driver that cannot store the upload aborts right after Finished; the peer
    // gets the ERROR instead of the final ACK.
    #[test]
    fn abort_after_finished_replaces_the_final_ack() {
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut s = Session::server_write(
            Instant::ZERO,
            peer,
            Mode::Octet,
            &OptionList::EMPTY,
            &ServerPolicy::default(),
            &Config::default(),
        )
        .unwrap();
        let mut buf = [0u8; 600];
        let t = s.poll_transmit(Instant::ZERO, &mut buf).unwrap();
        assert_eq!(Packet::parse(&buf[..t.len]), Ok(Packet::Ack { block: 0 }));
        let write = s.handle_datagram(Instant::ZERO, peer, b"\x00\x03\x00\x01end");
        assert_eq!(write.map(|w| w.data.len()), Some(3));
        assert!(matches!(s.poll_event(), Some(Event::Finished(_))));
        s.abort(ErrorCode::DiskFull, "disk full");
        let t = s.poll_transmit(Instant::ZERO, &mut buf).unwrap();
        assert!(matches!(
            Packet::parse(&buf[..t.len]),
            Ok(Packet::Error {
                code: ErrorCode::DiskFull,
                ..
            })
        ));
        assert!(s.poll_transmit(Instant::ZERO, &mut buf).is_none());
        assert!(s.poll_event().is_none());
        assert!(s.is_closed());
    }
}
