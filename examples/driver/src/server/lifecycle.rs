//! The server's life after start: the signals (see [`crate::signals`]) turned into a reload
//! of the remap file, a graceful stop, or a stop at once.
//!
//! - SIGHUP: the remap file is read again; new requests follow the new rules, running
//!   transfers go on untouched; a file that no longer parses leaves the old rules in force
//!   (and says why on the log).
//! - SIGTERM: new requests are refused (ERROR 0 "server shutting down"); running transfers
//!   go on until they end or the grace period (`--grace`) is over, and the server exits when
//!   none is left; what still runs then is stopped as by SIGINT.
//! - SIGINT, or a second SIGTERM: every running transfer gets ERROR 0, unfinished uploads are
//!   removed (the file they would replace stays as it was), and the server exits.

use tftp_proto::ErrorCode;

use super::event_loop::Server;
use super::log;
use super::remap::RemapRules;

impl Server {
    /// Acts on the signals received; true when the server is to return from its loop now.
    pub(crate) fn on_signals(&mut self) -> bool {
        if self.signals.take_reload() {
            self.reload();
        }
        let requests = self.signals.requests();
        if requests.stop {
            self.stop();
            return true;
        }
        if requests.drain {
            let now = self.clock.now();
            let until = match self.drain_until {
                Some(until) => until,
                None => {
                    let running = self.transfers.iter().filter(|(_, s)| !s.ended).count();
                    eprintln!(
                        "tftpd: stopping: new requests refused, {running} running transfers have \
                         {} s to finish",
                        self.settings.grace.as_secs_f64()
                    );
                    let until = now + self.settings.grace;
                    self.drain_until = Some(until);
                    until
                }
            };
            if self.transfers.iter().all(|(_, s)| s.ended) || now >= until {
                self.stop();
                return true;
            }
        }
        false
    }

    /// True after SIGTERM: new requests are refused.
    pub(crate) fn draining(&self) -> bool {
        self.drain_until.is_some()
    }

    /// Reads the remap file again; on an error the rules in force stay.
    fn reload(&mut self) {
        let Some(path) = &self.settings.remap_file else {
            eprintln!("tftpd: SIGHUP: nothing to reload (no --map-file)");
            return;
        };
        match RemapRules::load(path) {
            Ok(rules) => {
                eprintln!("tftpd: reloaded {} ({} rules)", path.display(), rules.len());
                self.settings.remap = Some(rules);
            }
            Err(e) => eprintln!("tftpd: reload refused, the old rules stay: {e}"),
        }
    }

    /// Every running transfer gets ERROR 0 and is dropped.
    fn stop(&mut self) {
        let keys: Vec<usize> = self.transfers.iter().map(|(k, _)| k).collect();
        for key in keys {
            if let Some(served) = self.transfers.get_mut(key) {
                if !served.ended {
                    let now = self.clock.now();
                    let ended = served.transfer.abort(
                        now,
                        ErrorCode::NotDefined,
                        "server shutting down",
                        &mut self.out,
                        Some(&self.listener),
                    );
                    if let Some(ended) = ended {
                        log::transfer(&served.record, &served.transfer, &ended);
                    }
                }
            }
            self.remove(key);
        }
    }
}
