//! The simulated peer: the file, and the datagrams a script asks for, resolved against the
//! harness's model of the transfer.

use tftp_pair::Source;
use tftp_proto::{RequestOptions, Role, Session};

use super::super::script::{Block, Datagram, FileSpec, Len, OptionPair};
use super::{encode_pairs, Harness};

/// The file a sender reads, or the one the simulated peer sends to a receiver: a synthetic
/// file is [`PATTERN`] repeated.
pub(super) fn source(spec: &FileSpec) -> Source<'static> {
    match spec {
        FileSpec::Synthetic { .. } => Source::repeating(&PATTERN[..], spec.len()),
        FileSpec::Bytes(b) => Source::new(b.clone()),
    }
}

/// The content of a synthetic file, repeated: text with CR, LF, NUL and a byte above 0x7f,
/// with a period (4093, a prime) that no block size divides.
static PATTERN: [u8; 4093] = {
    const TEXT: &[u8; 16] = b"ab\r\ncd\n\0ef\rgh\n\xffz";
    let mut p = [0u8; 4093];
    let mut i = 0;
    while i < p.len() {
        p[i] = TEXT[((i * 7) ^ (i >> 5)) % 16];
        i += 1;
    }
    p
};

impl Harness<'_> {
    /// The bytes of `datagram`, resolved against the harness's model of the transfer.
    pub(super) fn build(&mut self, s: &Session, datagram: &Datagram) -> Vec<u8> {
        let blksize = usize::from(s.options().blksize);
        match datagram {
            Datagram::Auto => self.auto(s),
            Datagram::Data { block, len, fill } => {
                let abs = match *block {
                    Block::Next => self.peer_next,
                    Block::Repeat => self.peer_next.saturating_sub(1),
                    Block::Skip(k) => self.peer_next + u64::from(k),
                    Block::Back(k) => self.peer_next.saturating_sub(1 + u64::from(k)),
                    Block::Wire(w) => u64::from(w),
                };
                if !matches!(block, Block::Wire(_)) {
                    self.peer_next = abs + 1;
                }
                let len = match *len {
                    Len::Full => blksize,
                    Len::Short(n) => usize::from(n) % blksize,
                    Len::Empty => 0,
                    Len::Over(n) => blksize + 1 + usize::from(n),
                    Len::Exact(n) => usize::from(n),
                };
                let mut out = vec![0, 3];
                out.extend_from_slice(&(abs as u16).to_be_bytes());
                out.extend((0..len).map(|i| pattern(*fill, i)));
                out
            }
            Datagram::Ack { block } => {
                let wire = match *block {
                    Block::Next => self.highest_data,
                    Block::Repeat => self.acked,
                    Block::Skip(k) => self.acked + 1 + u64::from(k),
                    Block::Back(k) => self.acked.wrapping_sub(1 + u64::from(k)),
                    Block::Wire(w) => u64::from(w),
                };
                ack(wire as u16)
            }
            Datagram::Oack { echo, extra } => {
                let mut out = vec![0, 6];
                if *echo {
                    out.extend_from_slice(&self.echo_options());
                }
                out.extend_from_slice(&encode_pairs(extra));
                out
            }
            Datagram::Error { code, len, fill } => {
                let mut out = vec![0, 5];
                out.extend_from_slice(&code.to_be_bytes());
                out.extend((0..usize::from(*len)).map(|i| match pattern(*fill, i) {
                    0 => b'0',
                    b if fill % 2 == 1 => b | 0x80,
                    b => b,
                }));
                out.push(0);
                out
            }
            Datagram::Request if !self.role.is_client() => self.request.clone(),
            Datagram::Request => b"\x00\x01f\x00octet\x00".to_vec(),
            Datagram::Raw(bytes) => bytes.clone(),
        }
    }

    /// The options a well-behaved server grants a client: all it asked for, tsize filled in.
    fn echo_options(&self) -> Vec<u8> {
        let a = self.asked;
        let mut out = Vec::new();
        let mut push = |name: &str, v: Option<u64>| {
            if let Some(v) = v {
                OptionPair::new(name, &v.to_string()).encode(&mut out);
            }
        };
        push("blksize", a.blksize.map(u64::from));
        push("timeout", a.timeout.map(u64::from));
        let tsize = match self.role {
            Role::ClientGet => a.tsize.map(|_| self.file.len()),
            _ => a.tsize,
        };
        push("tsize", tsize);
        push("windowsize", a.windowsize.map(u64::from));
        out
    }

    /// What a well-behaved peer sends next.
    fn auto(&mut self, s: &Session) -> Vec<u8> {
        let asked_options = self.asked != RequestOptions::default();
        if self.role.is_client() && !self.client_started && asked_options {
            let mut out = vec![0, 6];
            out.extend_from_slice(&self.echo_options());
            return out;
        }
        if self.role.is_sender() {
            return ack(self.highest_data as u16);
        }
        // DATA of the peer's file; past its end, the final block again.
        let blksize = u64::from(s.options().blksize);
        let last = self.file.len() / blksize + 1;
        let block = self.peer_next.min(last);
        self.peer_next = block + 1;
        let start = (block - 1) * blksize;
        let mut out = vec![0, 3];
        out.extend_from_slice(&(block as u16).to_be_bytes());
        out.resize(4 + blksize as usize, 0);
        let n = self.file.read(start, &mut out[4..]);
        out.truncate(4 + n);
        out
    }
}

fn ack(block: u16) -> Vec<u8> {
    let mut out = vec![0, 4];
    out.extend_from_slice(&block.to_be_bytes());
    out
}

/// Payload byte `i` of a fuzzed DATA or ERROR: `fill` picks text with line ends, a constant,
/// or a counter.
fn pattern(fill: u8, i: usize) -> u8 {
    match fill % 4 {
        0 => {
            const TEXT: &[u8] = b"line\r\nbare\rcr\0\n";
            TEXT[i % TEXT.len()]
        }
        1 => fill,
        2 => i as u8,
        _ => b'a' + (i % 26) as u8,
    }
}
