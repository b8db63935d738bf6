//! Single-port mode (`--single-port`, as dnsmasq's `--tftp-single-port`): every transfer is
//! answered from the listening socket, so a NAT, a firewall or a container that forwards one
//! UDP port carries whole transfers. Sessions are told apart by the client's address and
//! port (two clients behind one NAT address differ by port), and the listening socket's
//! datagrams are routed here before they are taken as requests:
//!
//! - a datagram from a client with a session goes to that session, which checks it as it
//!   would on a socket of its own (R-XFR-4 to R-XFR-10);
//! - a request from such a client: the same request again goes to a session that has not
//!   heard from the client yet (it answers the repeat, R-SRV-6), is dropped as a late
//!   duplicate by a running one, and starts over once that session ended; a different
//!   request replaces the session (the client moved on: nothing is sent to it for the old
//!   one, an unfinished upload is discarded);
//! - DATA, ACK or OACK from an address with no session is a stranger's, answered with
//!   ERROR 5 as RFC 1350 says for an unknown transfer ID (within the request rate limit, so a
//!   flood of spoofed ACKs is not answered in full); an ERROR is never answered.

use std::net::SocketAddr;

use tftp_proto::{ErrorCode, Instant, Refusal, TransferError};

use super::event_loop::Server;
use super::log;
use crate::transfer::{Ended, Input};

const UNKNOWN_TID: Refusal = Refusal::new(ErrorCode::UnknownTransferId, "unknown transfer ID");
const REPLACED: &str = "replaced by a new request from the same address and port";

/// True for an RRQ or a WRQ (by opcode only).
pub(crate) fn is_request(datagram: &[u8]) -> bool {
    matches!(datagram, [0, 1 | 2, ..])
}

/// True for what only a running transfer sends: DATA, ACK, OACK.
fn is_transfer_packet(datagram: &[u8]) -> bool {
    matches!(datagram, [0, 3 | 4 | 6, ..])
}

impl Server {
    /// Routes a datagram of the listening socket in single-port mode. True when it was
    /// dealt with; false when it is to be taken as a new request.
    pub(crate) fn route_single_port(
        &mut self,
        datagram: &[u8],
        from: SocketAddr,
        now: Instant,
    ) -> bool {
        let Some(&key) = self.by_peer.get(&from) else {
            if is_transfer_packet(datagram) {
                if self.shared.allow(from.ip(), now) {
                    self.send_error(from, &UNKNOWN_TID);
                }
                return true;
            }
            return false;
        };
        let Some(served) = self.transfers.get_mut(key) else {
            return false;
        };
        if is_request(datagram) {
            let same = *served.request == *datagram;
            if same && served.transfer.session.is_awaiting_peer() {
                // The repeat of a request whose answer was lost: the session answers it.
            } else if same && !served.ended {
                return true; // a late duplicate of the request of a running transfer
            } else {
                self.replace(key);
                return false;
            }
        }
        let input = Input::Datagram {
            from,
            bytes: datagram,
        };
        let ended = served
            .transfer
            .step(now, input, &mut self.out, Some(&self.listener));
        self.after_step(key, ended);
        true
    }

    /// Drops the session `key` for a new request of its client, logging it if it had not
    /// ended; nothing is sent (the client is already elsewhere).
    fn replace(&mut self, key: usize) {
        if let Some(served) = self.transfers.get_mut(key) {
            if !served.ended {
                served.ended = true;
                served.transfer.file.discard();
                let failed = Ended::Failed(TransferError::Aborted {
                    code: ErrorCode::NotDefined,
                    message: REPLACED.to_owned(),
                });
                log::transfer(&served.record, &served.transfer, &failed);
            }
        }
        self.remove(key);
    }
}
