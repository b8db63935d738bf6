//! One client transfer driven by the shared mio driver: a socket, a session, its file, the
//! deadline heap, and the progress line.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use tftp_proto::{
    ClientRequest, Config, ErrorCode, Instant, Mode, RequestOptions, Session, Summary,
    TransferError,
};

use super::args::{Args, ModeArg, Verb};
use super::progress::Progress;
use crate::alarm::Alarm;
use crate::clock::Clock;
use crate::deadlines::Deadlines;
use crate::file_end::FileEnd;
use crate::inbox::Inbox;
use crate::net::{any_for, bind_udp};
use crate::outbox::Outbox;
use crate::signals::Signals;
use crate::transfer::{Ended, Input, Transfer};
use crate::upload::Upload;

const SOCKET: Token = Token(0);
const SIGNALS: Token = Token(1);
const ALARM: Token = Token(2);
/// How long a download keeps answering a repeated final DATA after it is complete
/// (R-XFR-8); short, as the person at the terminal waits for it.
const CLIENT_DALLY: Duration = Duration::from_secs(1);
/// How long the client waits without progress before giving up (the core's default, 12 s,
/// suits a server freeing the sessions of vanished clients).
const CLIENT_PATIENCE: Duration = Duration::from_secs(30);

/// Why the client did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Before any packet: a bad argument, a local file, a socket.
    Setup(String),
    /// The transfer failed.
    Transfer(TransferError),
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// A successful transfer.
#[derive(Debug)]
pub struct Done {
    /// What went across.
    pub summary: Summary,
    /// How long it took.
    pub elapsed: Duration,
    /// Where the local file is.
    pub local: PathBuf,
}

/// Runs the transfer the command line asks for.
pub fn run(args: &Args, server: SocketAddr) -> Result<Done, Failure> {
    let mode = match args.mode {
        ModeArg::Octet => Mode::Octet,
        ModeArg::Netascii => Mode::Netascii,
    };
    let mut options = RequestOptions {
        blksize: args.blksize,
        windowsize: args.windowsize,
        timeout: args.timeout,
        tsize: None,
    };
    let (local, file, size) = open_local(args)?;
    if args.tsize {
        options.tsize = match (args.verb, size) {
            (Verb::Get, _) => Some(0),
            // In netascii the size on the wire is not the file's: announce nothing.
            (Verb::Put, Some(size)) if mode == Mode::Octet => Some(size),
            (Verb::Put, _) => None,
        };
    }
    let request = ClientRequest {
        filename: args.remote.as_bytes(),
        mode,
        options,
        max_file_size: None,
    };
    let mut config = Config::default();
    config.dally = CLIENT_DALLY;
    // A client waits out a server's backoff: tftpd-hpa doubles its 1 s timeout after each
    // loss, so three lost DATA in a row already mean 15 s without a packet.
    config.idle_timeout = CLIENT_PATIENCE;

    let setup = |what: &str, e: io::Error| Failure::Setup(format!("{what}: {e}"));
    let poll = Poll::new().map_err(|e| setup("cannot poll", e))?;
    let mut socket = bind_udp(any_for(server)).map_err(|e| setup("cannot open a socket", e))?;
    poll.registry()
        .register(&mut socket, SOCKET, Interest::READABLE)
        .map_err(|e| setup("cannot poll the socket", e))?;
    let mut signals =
        Signals::install(poll.registry(), SIGNALS).map_err(|e| setup("cannot catch Ctrl-C", e))?;

    let clock = Clock::new();
    let started = std::time::Instant::now();
    let session = match args.verb {
        Verb::Get => Session::client_get(clock.now(), server, &request, &config),
        Verb::Put => Session::client_put(clock.now(), server, &request, &config),
    }
    .map_err(|e| Failure::Setup(format!("bad request: {e}")))?;
    let mut transfer = Transfer::new(session, Some(socket), file);
    let label = match args.verb {
        Verb::Get => format!("get {}", args.remote),
        Verb::Put => format!("put {}", args.remote),
    };
    let mut progress = Progress::new(&label);
    let outcome = drive(
        &mut transfer,
        poll,
        &clock,
        &mut signals,
        &mut progress,
        size,
    );
    progress.clear();
    match outcome? {
        Ended::Done(summary) => Ok(Done {
            summary,
            elapsed: started.elapsed(),
            local,
        }),
        Ended::Failed(error) => Err(Failure::Transfer(error)),
    }
}

/// The local side: a download's temporary file, or the file to upload and its size.
fn open_local(args: &Args) -> Result<(PathBuf, FileEnd, Option<u64>), Failure> {
    match args.verb {
        Verb::Get => {
            let local = args.local.clone().unwrap_or_else(|| {
                let last = args.remote.rsplit(['/', '\\']).next().unwrap_or("");
                PathBuf::from(if last.is_empty() { "download" } else { last })
            });
            let upload = Upload::beside(&local).map_err(|e| {
                Failure::Setup(format!("cannot write beside {}: {e}", local.display()))
            })?;
            Ok((local, FileEnd::Sink(Box::new(upload)), None))
        }
        Verb::Put => {
            let local = args
                .local
                .clone()
                .unwrap_or_else(|| PathBuf::from(&args.remote));
            let fail =
                |e: io::Error| Failure::Setup(format!("cannot read {}: {e}", local.display()));
            let file = File::open(&local).map_err(fail)?;
            let meta = file.metadata().map_err(fail)?;
            if !meta.is_file() {
                return Err(Failure::Setup(format!(
                    "{} is not a regular file",
                    local.display()
                )));
            }
            Ok((local, FileEnd::source(file), Some(meta.len())))
        }
    }
}

/// The mio loop for one transfer, until the session is closed; returns how it ended.
fn drive(
    transfer: &mut Transfer,
    mut poll: Poll,
    clock: &Clock,
    signals: &mut Signals,
    progress: &mut Progress,
    size: Option<u64>,
) -> Result<Ended, Failure> {
    let mut inbox = Inbox::new();
    let mut out = Outbox::new();
    let mut events = Events::with_capacity(16);
    let mut deadlines = Deadlines::new();
    let mut alarm = Alarm::new(poll.registry(), ALARM);
    let mut outcome = transfer.step(clock.now(), Input::Drain, &mut out, None);
    // Once the outcome is known, the session only dallies (answers a repeated final DATA); a
    // command-line client keeps that up for CLIENT_DALLY at most, whatever timeout was
    // negotiated, and a Ctrl-C then ends it quietly: the transfer is already complete.
    let mut dally_until: Option<Instant> = None;
    while !transfer.is_closed() {
        if outcome.is_some() {
            let until = *dally_until.get_or_insert_with(|| clock.now() + CLIENT_DALLY);
            if signals.interrupted() || clock.now() >= until {
                break;
            }
        }
        deadlines.arm(SOCKET, transfer.deadline(), clock.now());
        let wake = match (deadlines.earliest(), dally_until) {
            (Some(next), Some(until)) => Some(next.min(until)),
            (next, until) => next.or(until),
        };
        let timeout = alarm.timeout(clock, wake);
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                transfer.abort(
                    clock.now(),
                    ErrorCode::NotDefined,
                    "client error",
                    &mut out,
                    None,
                );
                return Err(Failure::Setup(format!("poll failed: {e}")));
            }
        }
        if events.iter().any(|e| e.token() == SIGNALS) {
            signals.on_ready();
        }
        if signals.interrupted() && outcome.is_none() {
            transfer.abort(
                clock.now(),
                ErrorCode::NotDefined,
                "interrupted",
                &mut out,
                None,
            );
            return Err(Failure::Interrupted);
        }
        if events.iter().any(|e| e.token() == ALARM) {
            alarm.fired();
        }
        if events.iter().any(|e| e.token() == SOCKET) {
            let ended = transfer.on_readable(clock, &mut inbox, &mut out);
            outcome = outcome.or(ended);
        }
        let now = clock.now();
        while deadlines.pop_expired(now).is_some() {
            let ended = transfer.step(now, Input::Timeout, &mut out, None);
            outcome = outcome.or(ended);
        }
        if outcome.is_some() {
            // Complete (a download may still dally a moment): the line has done its job.
            progress.clear();
        } else {
            let total = size.or(transfer.session.options().tsize);
            progress.update(transfer.moved(), total);
        }
    }
    outcome.ok_or_else(|| Failure::Setup("the session closed without an outcome".to_string()))
}
