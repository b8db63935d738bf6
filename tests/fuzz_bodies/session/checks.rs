//! The invariants checked on everything a session puts out: datagrams, events, writes and
//! deadlines (listed in the module docs of [`super`]).

use std::net::SocketAddr;

use tftp_pair::Observer;
use tftp_proto::{
    Completion, ErrorCode, Event, Instant, Mode, Packet, Role, Session, Summary, TransferError,
};

use super::{describe, Drained, Driver, Harness, Input, PeerKind, MAX_OACK_LEN};

/// The checks on what a drain brings out, as it comes.
impl Observer for Harness<'_> {
    fn read(&mut self, _: &Session, offset: u64, len: usize, buffer: usize) {
        self.seen.events += 1;
        ensure!(self, self.role.is_sender(), "a receiver asked for a read");
        // Reads go on where the last one ended, or back to a block already read
        // (a lost block no longer held): never past a byte not yet read.
        ensure!(
            self,
            offset <= self.read_end,
            "read at {offset}, beyond the {} bytes read so far",
            self.read_end
        );
        ensure!(self, buffer >= len, "read buffer shorter than the read");
        // The pair serves the read from the same file next.
        let n = self.file.len().saturating_sub(offset).min(len as u64);
        self.read_end = self.read_end.max(offset + n);
        self.drain_step();
    }

    fn outcome(&mut self, _: &Session, outcome: &Event) {
        self.seen.events += 1;
        self.on_outcome(outcome.clone());
        self.drain_step();
    }

    fn sent(&mut self, s: &Session, to: SocketAddr, datagram: &[u8]) {
        self.sent_this_input += 1;
        if self.record {
            self.report.sent.push((to, datagram.to_vec()));
        }
        self.on_transmit(s, to, datagram);
        self.drain_step();
    }
}

impl Harness<'_> {
    /// R-XFR-4: a stranger gets at most ERROR 5 (none for a runt) and changes nothing.
    pub(super) fn stranger_drain(
        &mut self,
        d: &mut Driver,
        from: SocketAddr,
        len: usize,
        before: Option<Instant>,
        closed: bool,
    ) {
        let seen = self.drain(d, Input::Stranger(from), before);
        ensure!(
            self,
            seen.events == 0,
            "R-XFR-4: a stranger caused an event"
        );
        ensure!(
            self,
            len >= 4 || self.sent_this_input == 0,
            "R-SRV-6: answered a stranger's runt of {len} bytes"
        );
        ensure!(
            self,
            d.s().poll_timeout() == before,
            "R-XFR-4: a stranger moved the deadline"
        );
        ensure!(
            self,
            d.s().is_closed() == closed,
            "R-XFR-4: a stranger opened or closed the session"
        );
    }

    pub(super) fn check_write(&mut self, s: &Session, offset: u64, payload: Option<&[u8]>) {
        let len = self.scratch.len() as u64;
        ensure!(
            self,
            !self.role.is_sender(),
            "a sender returned bytes to write"
        );
        let Some(payload) = payload else {
            fail!(self, "a write without a DATA");
        };
        let Some(end) = offset.checked_add(len) else {
            fail!(self, "write offset {offset} + {len} overflows");
        };
        if let Some(limit) = self.write_limit {
            ensure!(
                self,
                end <= limit,
                "wrote up to {end} past the limit {limit}"
            );
        }
        let blksize = u64::from(s.options().blksize);
        match self.mode {
            Mode::Octet => {
                ensure!(
                    self,
                    self.scratch == payload && len <= blksize,
                    "R-MOD-1: an octet write is exactly the payload, at most blksize"
                );
                // R-XFR-7: no byte written twice.
                if len > 0 {
                    let before = self.ranges.range(..end).next_back();
                    ensure!(
                        self,
                        before.is_none_or(|(_, &e)| e <= offset),
                        "R-XFR-7: write {offset}..{end} overlaps {before:?}"
                    );
                    self.ranges.insert(offset, end);
                }
                if self.peer_file_only {
                    let mut want = vec![0; len as usize];
                    let n = self.file.read(offset, &mut want);
                    ensure!(
                        self,
                        n == want.len() && want == self.scratch,
                        "the write at {offset} is not the peer's file there"
                    );
                }
            }
            Mode::Netascii => {
                ensure!(
                    self,
                    offset == self.written && len <= blksize + 1,
                    "netascii writes follow each other: {offset} after {}",
                    self.written
                );
            }
        }
        self.written += len;
        ensure!(
            self,
            self.written <= self.received_payload,
            "wrote {} bytes of {} received",
            self.written,
            self.received_payload
        );
    }

    pub(super) fn after_drain(
        &mut self,
        d: &mut Driver,
        input: Input,
        before: Option<Instant>,
        seen: &Drained,
    ) {
        let now = d.now();
        let window = u64::from(d.s().options().windowsize);
        ensure!(
            self,
            seen.data <= window,
            "R-XFR-13: {} DATA for one input, window {window}",
            seen.data
        );
        if input == Input::Peer(PeerKind::DuplicateAck) {
            ensure!(self, seen.data == 0, "R-XFR-6: a duplicate ACK sent DATA");
        }
        if input == Input::Peer(PeerKind::Error) {
            ensure!(
                self,
                seen.to_peer_not_data == 0 && seen.data == 0,
                "R-XFR-9: answered an ERROR"
            );
        }
        if input == Input::Timeout
            && !self.role.is_client()
            && !self.peer_spoke
            && self.sent_this_input > 0
        {
            // R-SRV-6's bound: one datagram per repeat, Config::first_packet_repeats of them,
            // none before Config::first_packet_wait (the session started at Instant::ZERO).
            let config = tftp_proto::Config::default();
            self.first_repeats += 1;
            ensure!(
                self,
                self.sent_this_input == 1
                    && self.first_repeats <= config.first_packet_repeats
                    && now >= tftp_proto::Instant::ZERO + config.first_packet_wait,
                "R-SRV-6: a timeout resent to a peer that never answered beyond the bound"
            );
        }
        ensure!(
            self,
            seen.to_peer_not_data <= 1 && seen.to_strangers <= 1,
            "more than one control datagram for one input"
        );
        let after = d.s().poll_timeout();
        if input == Input::Timeout {
            ensure!(
                self,
                after.is_none_or(|t| t > now),
                "deadline {after:?} not after the timeout handled at {now:?}"
            );
        } else {
            ensure!(
                self,
                after.is_none_or(|t| t >= now || before.is_some_and(|b| t >= b)),
                "deadline {after:?} set before now {now:?} (was {before:?})"
            );
        }
        if d.s().is_closed() {
            ensure!(self, after.is_none(), "a closed session has a deadline");
            let Driver { pair, side, out } = d;
            let s = pair.endpoint_mut(*side).session_mut();
            ensure!(
                self,
                s.poll_event().is_none(),
                "a closed session has events"
            );
            let t = s.poll_transmit(now, out.buffer_mut());
            ensure!(self, t.is_none(), "a closed session has datagrams");
        } else {
            ensure!(self, after.is_some(), "an open session has no deadline");
        }
    }

    /// `Finished` or `Failed`.
    fn on_outcome(&mut self, event: Event) {
        match event {
            Event::Read { .. } => unreachable!("reads are checked apart"),
            Event::Finished(summary) => {
                self.note_outcome(Ok(summary));
                match summary.completion {
                    Completion::SizeProbe => ensure!(
                        self,
                        self.role == Role::ServerRead,
                        "a size probe outside a server read"
                    ),
                    Completion::Transferred if self.role.is_sender() => ensure!(
                        self,
                        summary.bytes == self.read_end && self.read_end == self.file.len(),
                        "finished after {} bytes of {} (read {})",
                        summary.bytes,
                        self.file.len(),
                        self.read_end
                    ),
                    Completion::Transferred => self.check_received(summary.bytes),
                }
            }
            Event::Failed(error) => {
                if let TransferError::Peer { message, .. } = &error {
                    ensure!(
                        self,
                        message.chars().count() <= 255,
                        "peer message of {} characters",
                        message.chars().count()
                    );
                }
                self.note_outcome(Err(error));
            }
        }
    }

    fn note_outcome(&mut self, outcome: Result<Summary, TransferError>) {
        ensure!(
            self,
            self.outcome.is_none(),
            "a second outcome {outcome:?} after {:?}",
            self.outcome
        );
        self.outcome = Some(outcome);
    }

    /// A receiver's `Finished`: it wrote `bytes`, and in octet mode exactly `[0, bytes)`.
    fn check_received(&self, bytes: u64) {
        ensure!(
            self,
            bytes == self.written,
            "finished with {bytes} bytes, wrote {}",
            self.written
        );
        if self.mode == Mode::Octet {
            let mut end = 0;
            for (&s, &e) in &self.ranges {
                ensure!(self, s == end, "finished with a hole at {end}..{s}");
                end = e;
            }
            ensure!(self, end == bytes, "finished with writes up to {end}");
            if self.peer_file_only {
                ensure!(
                    self,
                    bytes == self.file.len(),
                    "finished with {bytes} of the peer's {} bytes",
                    self.file.len()
                );
            }
        }
    }

    fn on_transmit(&mut self, s: &Session, to: SocketAddr, bytes: &[u8]) {
        let (len, input) = (bytes.len(), self.input);
        ensure!(
            self,
            len <= s.max_datagram_len(),
            "datagram of {len} bytes, max {}",
            s.max_datagram_len()
        );
        let packet = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => fail!(self, "R-PKT-5: sent a datagram that does not parse: {e}"),
        };
        if to != s.peer() {
            ensure!(
                self,
                matches!(
                    packet,
                    Packet::Error {
                        code: ErrorCode::UnknownTransferId,
                        ..
                    }
                ) && input == Input::Stranger(to),
                "R-XFR-4: {packet:?} sent to {to}, not the peer"
            );
            self.seen.to_strangers += 1;
        } else {
            match (&self.outcome, &packet) {
                (Some(Err(_)), Packet::Error { .. }) | (None, _) => {}
                (Some(Ok(_)), Packet::Ack { .. } | Packet::Error { .. })
                    if !self.role.is_sender() => {}
                (outcome, _) => fail!(self, "{packet:?} sent after the outcome {outcome:?}"),
            }
            if let Packet::Data { block, data } = packet {
                self.on_data_sent(s, block, data, input);
            } else {
                self.seen.to_peer_not_data += 1;
                self.on_control_sent(&packet, len);
            }
        }
    }

    fn on_control_sent(&mut self, packet: &Packet<'_>, len: usize) {
        match packet {
            Packet::Error { .. } => {
                self.errors_to_peer += 1;
                ensure!(
                    self,
                    self.errors_to_peer == 1,
                    "R-XFR-9: a second ERROR to the peer"
                );
            }
            Packet::Ack { block } => {
                ensure!(self, !self.role.is_sender(), "a sender sent an ACK");
                // The simulated peer goes on after the block acknowledged (R-OPT-8).
                let last = self.peer_next - 1;
                let diff = i64::from(block.wrapping_sub(last as u16) as i16);
                if let Some(acked) = last.checked_add_signed(diff) {
                    self.peer_next = acked + 1;
                }
            }
            Packet::Oack(list) => {
                ensure!(self, !self.role.is_client(), "a client sent an OACK");
                ensure!(self, len <= MAX_OACK_LEN, "R-OPT-1: an OACK of {len} bytes");
                let request = Packet::parse(&self.request).expect("the harness's request");
                let (Packet::Rrq(r) | Packet::Wrq(r)) = request else {
                    unreachable!("the harness builds requests")
                };
                for (name, _) in list.iter() {
                    let name = String::from_utf8_lossy(name);
                    ensure!(
                        self,
                        r.options.get(&name).is_some(),
                        "R-OPT-1: OACK grants {name} not asked for"
                    );
                }
            }
            Packet::Rrq(r) | Packet::Wrq(r) => {
                let want = if self.role == Role::ClientGet { 1 } else { 2 };
                ensure!(
                    self,
                    self.role.is_client()
                        && packet.opcode() as u16 == want
                        && r.filename == self.filename
                        && len <= 512,
                    "R-PKT-6: bad request {packet:?} of {len} bytes"
                );
            }
            Packet::Data { .. } => unreachable!("DATA is checked apart"),
        }
    }

    /// A sender's DATA: inside the window, in order, and (octet) the file's bytes.
    fn on_data_sent(&mut self, s: &Session, wire: u16, payload: &[u8], input: Input) {
        ensure!(self, self.role.is_sender(), "a receiver sent DATA");
        let window = u64::from(s.options().windowsize);
        let blksize = u64::from(s.options().blksize);
        let ahead = u64::from(wire.wrapping_sub(self.acked as u16));
        ensure!(
            self,
            (1..=window).contains(&ahead),
            "R-XFR-13: DATA {wire} outside the window: acked {}, window {window}",
            self.acked
        );
        let block = self.acked + ahead;
        match self.seen.last_data {
            Some(last) => ensure!(
                self,
                block == last + 1,
                "DATA {block} after {last} in one burst"
            ),
            None => ensure!(
                self,
                block == self.highest_data + 1 || (input.may_rewind() && block == self.acked + 1),
                "DATA {block} after {input:?}: highest sent {}, acked {}",
                self.highest_data,
                self.acked
            ),
        }
        ensure!(
            self,
            payload.len() as u64 <= blksize,
            "DATA of {} bytes, blksize {blksize}",
            payload.len()
        );
        if self.mode == Mode::Octet {
            let start = (block - 1) * blksize;
            let mut want = std::mem::take(&mut self.scratch);
            want.resize(blksize as usize, 0);
            let n = if start <= self.file.len() {
                self.file.read(start, &mut want)
            } else {
                usize::MAX
            };
            ensure!(
                self,
                n == payload.len() && want[..n] == *payload,
                "R-MOD-1: DATA {block} is not the file's bytes at {start}"
            );
            self.scratch = want;
        }
        self.highest_data = self.highest_data.max(block);
        self.seen.last_data = Some(block);
        self.seen.data += 1;
    }
}
