//! Datagrams on the listening port: repeats routed to their session (R-SRV-6), the rate
//! limit (R-SRV-4), [`accept`], the file system and the session limit; every refusal is
//! answered with its ERROR from the listening socket, never dropped silently.

use std::io;
use std::net::{IpAddr, SocketAddr};

use mio::{Interest, Token};
use tftp_proto::server::{accept, accept_renamed, Direction, Incoming, Intake};
use tftp_proto::{ErrorCode, Instant, Packet, Refusal, Session};

use super::event_loop::{Served, Server};
use super::log::{self, Record};
use super::remap::{RemapRules, Remapped, RequestKind};
use super::single_port::is_request;
use crate::backend::FileRequest;
use crate::file_end::FileEnd;
use crate::transfer::{Input, Transfer};

/// Requests taken from the listening socket per loop turn, so that running transfers get
/// their turn between batches during a flood.
const REQUESTS_PER_TURN: usize = 32;

/// Consecutive receive errors tolerated in one readiness event.
const MAX_RECV_ERRORS: usize = 16;

const SHUTTING_DOWN: Refusal = Refusal::new(ErrorCode::NotDefined, "server shutting down");
const BUSY: Refusal = Refusal::new(ErrorCode::NotDefined, "server busy, try again later");
const RATE_LIMITED: Refusal = Refusal::new(ErrorCode::NotDefined, "too many requests");
const REMAP_REFUSED: Refusal = Refusal::new(ErrorCode::AccessViolation, "access denied");
const READ_ONLY: Refusal = Refusal::new(ErrorCode::AccessViolation, "this server is read-only");

/// The direction and file name of a request that [`accept`] refused, for the log.
fn named(datagram: &[u8]) -> Option<(Direction, &[u8])> {
    match Packet::parse(datagram) {
        Ok(Packet::Rrq(r)) => Some((Direction::Read, r.filename)),
        Ok(Packet::Wrq(r)) => Some((Direction::Write, r.filename)),
        _ => None,
    }
}

/// The remap rules' answer for `name` from `client`: the name to serve instead (`None`: the
/// same), or ERROR 2 when a rule refuses it (as tftpd-hpa). A name that is not UTF-8 is
/// left alone: the path check refuses it anyway.
fn remap(
    rules: &RemapRules,
    direction: Direction,
    name: &[u8],
    client: IpAddr,
) -> Result<Option<Vec<u8>>, Refusal> {
    let Ok(text) = std::str::from_utf8(name) else {
        return Ok(None);
    };
    let kind = match direction {
        Direction::Read => RequestKind::Read,
        Direction::Write => RequestKind::Write,
    };
    match rules.apply(text, kind, client) {
        Remapped::Name(new) if new == text => Ok(None),
        Remapped::Name(new) => Ok(Some(new.into_bytes())),
        Remapped::Refused => Err(REMAP_REFUSED),
    }
}

impl Server {
    /// Reads up to [`REQUESTS_PER_TURN`] waiting datagrams on the listening socket; when more
    /// may wait, [`Server::listener_backlog`] asks the loop for another turn at once.
    pub(crate) fn on_listener(&mut self) {
        let mut rx = std::mem::take(&mut self.rx);
        let mut errors = 0;
        let mut taken = 0;
        self.listener_backlog = false;
        loop {
            if taken == REQUESTS_PER_TURN {
                self.listener_backlog = true;
                break;
            }
            match self.listener.recv_from(&mut rx) {
                Ok((n, from)) => {
                    taken += 1;
                    self.on_request(&rx[..n], from);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A pending socket error is reported once; then the next datagram.
                Err(_) if errors < MAX_RECV_ERRORS => errors += 1,
                Err(_) => break,
            }
        }
        self.rx = rx;
    }

    fn on_request(&mut self, datagram: &[u8], from: SocketAddr) {
        let now = self.clock.now();
        if self.settings.single_port {
            if self.route_single_port(datagram, from, now) {
                return;
            }
        } else if is_request(datagram) && self.repeat(datagram, from, now) {
            return;
        }
        let intake = match &self.settings.remap {
            None => accept(datagram),
            Some(rules) => accept_renamed(datagram, |direction, name| {
                remap(rules, direction, name, from.ip())
            }),
        };
        if matches!(intake, Intake::Ignore) {
            return;
        }
        if !self.shared.allow(from.ip(), now) {
            // Not logged: a flood would flood the log too.
            self.send_error(from, &RATE_LIMITED);
            return;
        }
        match intake {
            Intake::Ignore => {}
            Intake::Refuse(refusal) => self.refuse(from, named(datagram), &refusal),
            Intake::Serve(incoming) => {
                let what = (incoming.direction, incoming.raw_filename);
                if let Err(refusal) = self.serve(now, from, datagram, &incoming) {
                    self.refuse(from, Some(what), &refusal);
                }
            }
        }
    }

    /// A repeated request from a peer whose session has not heard from it since: fed to
    /// that session, which answers it from its own port (R-SRV-6, R-XFR-5).
    fn repeat(&mut self, datagram: &[u8], from: SocketAddr, now: Instant) -> bool {
        let Some(&key) = self.by_peer.get(&from) else {
            return false;
        };
        let Some(served) = self.transfers.get_mut(key) else {
            return false;
        };
        if !served.transfer.session.is_awaiting_peer() || *served.request != *datagram {
            return false;
        }
        let input = Input::Datagram {
            from,
            bytes: datagram,
        };
        let ended = served.transfer.step(now, input, &mut self.out, None);
        self.after_step(key, ended);
        true
    }

    /// Opens the file, starts the session on a fresh socket, sends its first packet.
    fn serve(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        incoming: &Incoming<'_>,
    ) -> Result<(), Refusal> {
        if self.draining() {
            return Err(SHUTTING_DOWN);
        }
        let slot = self.shared.open_session().ok_or(BUSY)?;
        let s = &self.settings;
        let request = FileRequest {
            path: &incoming.path,
            peer: from,
            mode: incoming.mode,
        };
        let (session, file) = match incoming.direction {
            Direction::Read => {
                let opened = s.backend.open_read(&request)?;
                let session = Session::server_read(
                    now,
                    from,
                    incoming.mode,
                    &incoming.options,
                    opened.size,
                    &s.policy,
                    &s.config,
                )?;
                (session, FileEnd::Source(opened.source))
            }
            Direction::Write => {
                if !s.backend.accepts_uploads() {
                    return Err(READ_ONLY);
                }
                let session = Session::server_write(
                    now,
                    from,
                    incoming.mode,
                    &incoming.options,
                    &s.policy,
                    &s.config,
                )?;
                let sink = s.backend.create(&request)?;
                (session, FileEnd::Sink(sink))
            }
        };
        let entry = self.transfers.vacant_entry();
        let key = entry.key();
        let socket = if self.settings.single_port {
            None
        } else {
            let no_socket = |_| Refusal::new(ErrorCode::NotDefined, "server out of sockets");
            let mut socket = self.ports.bind(self.local_ip).map_err(no_socket)?;
            self.poll
                .registry()
                .register(&mut socket, Token(key), Interest::READABLE)
                .map_err(no_socket)?;
            Some(socket)
        };
        let mut record = Record::new(
            from,
            incoming.direction,
            incoming.raw_filename,
            incoming.mode,
        );
        if self.settings.remap.is_some()
            && incoming.path.as_str().as_bytes() != incoming.raw_filename
        {
            record.renamed = Some(incoming.path.as_str().to_owned());
        }
        entry.insert(Served {
            transfer: Transfer::new(session, socket, file),
            record,
            request: datagram.into(),
            _slot: slot,
            ended: false,
        });
        self.by_peer.insert(from, key);
        let served = &mut self.transfers[key];
        if log::receipts_wanted() {
            served.transfer.keep_receipt();
        }
        let ended = served
            .transfer
            .step(now, Input::Drain, &mut self.out, Some(&self.listener));
        self.after_step(key, ended);
        Ok(())
    }

    fn refuse(&mut self, to: SocketAddr, what: Option<(Direction, &[u8])>, refusal: &Refusal) {
        log::refused(to, what, refusal);
        self.send_error(to, refusal);
    }

    /// Sends `refusal` as an ERROR from the listening socket.
    pub(crate) fn send_error(&mut self, to: SocketAddr, refusal: &Refusal) {
        let buf = self.out.scratch();
        let len = refusal.encode(buf);
        if len > 0 {
            // A full socket buffer loses it, as the network might; the client retries.
            let _ = self.listener.send_to(&buf[..len], to);
        }
    }
}
