//! The grammar of a session script: how the fuzzer's bytes become a session and a list of
//! operations ([`Script::read`]), and back ([`Script::to_bytes`], for tests and seed corpora).
//!
//! Every byte string is a script: reads past the end give zeros, and zeros mean the plain
//! choice (the side's first role, octet, no options, an empty file, "send what a
//! well-behaved peer sends next"). Values are read in the order of the fields below.

use tftp_proto::{Mode, RequestOptions};

/// Reads the fuzzer's bytes front to back; past the end every read gives zeros.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// `n` bytes, fewer at the end of the script; each NUL is replaced by `nul`.
    pub fn bytes(&mut self, n: usize, nul: u8) -> Vec<u8> {
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.pos = self.pos.saturating_add(n);
        let mut out = self.data[start..end].to_vec();
        out.iter_mut().filter(|b| **b == 0).for_each(|b| *b = nul);
        out
    }
}

/// Writes a script (the inverse of [`Reader`]).
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
}

/// Clock steps are below 2^20 µs (about a second).
pub const STEP_MASK: u32 = (1 << 20) - 1;
/// At most this many operations are read.
pub const MAX_OPS: usize = 256;

/// An option name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Name {
    /// blksize, timeout, tsize, windowsize (`index` 0..=3), maybe in upper case.
    Known { index: u8, upper: bool },
    /// Any other name (no NUL, under 64 bytes).
    Literal(Vec<u8>),
    /// A 200-byte unknown name (CVE-2021-41054).
    Long,
}

/// An option value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Number(u32),
    /// Any bytes but NUL (under 64).
    Literal(Vec<u8>),
    /// `count` times the digit `digit` (0..=500 digits, CVE-2011-2199).
    Digits {
        digit: u8,
        count: u16,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionPair {
    pub name: Name,
    pub value: Value,
}

pub const KNOWN: [&str; 4] = ["blksize", "timeout", "tsize", "windowsize"];

impl OptionPair {
    pub fn new(name: &str, value: &str) -> OptionPair {
        let name = match KNOWN.iter().position(|k| *k == name) {
            Some(i) => Name::Known {
                index: i as u8,
                upper: false,
            },
            None => Name::Literal(name.into()),
        };
        let value = match value.parse::<u32>() {
            Ok(n) if n.to_string() == value => Value::Number(n),
            _ => Value::Literal(value.into()),
        };
        OptionPair { name, value }
    }

    fn read(r: &mut Reader) -> OptionPair {
        let tag = r.u8();
        let name = match tag % 8 {
            i @ 0..=3 => Name::Known {
                index: i,
                upper: tag & 0x80 != 0,
            },
            4 | 5 => {
                let len = usize::from(r.u8() % 64);
                Name::Literal(r.bytes(len, b'_'))
            }
            6 => Name::Literal(b"multicast".to_vec()),
            _ => Name::Long,
        };
        let value = match r.u8() % 4 {
            0 => Value::Number(r.u32()),
            1 => {
                let len = usize::from(r.u8() % 64);
                Value::Literal(r.bytes(len, b'0'))
            }
            2 => Value::Digits {
                digit: r.u8() % 10,
                count: r.u16() % 501,
            },
            _ => Value::Number(u32::from(r.u8())),
        };
        OptionPair { name, value }
    }

    fn write(&self, w: &mut Writer) {
        match &self.name {
            Name::Known { index, upper } => w.u8(index | if *upper { 0x80 } else { 0 }),
            Name::Literal(n) => {
                w.u8(4);
                w.u8(n.len() as u8);
                w.bytes(n);
            }
            Name::Long => w.u8(7),
        }
        match &self.value {
            Value::Number(n) => {
                w.u8(0);
                w.u32(*n);
            }
            Value::Literal(v) => {
                w.u8(1);
                w.u8(v.len() as u8);
                w.bytes(v);
            }
            Value::Digits { digit, count } => {
                w.u8(2);
                w.u8(*digit);
                w.u16(*count);
            }
        }
    }

    /// The pair on the wire: `name NUL value NUL`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match &self.name {
            Name::Known { index, upper } => {
                let n = KNOWN[usize::from(*index)];
                out.extend(
                    n.bytes()
                        .map(|b| if *upper { b.to_ascii_uppercase() } else { b }),
                );
            }
            Name::Literal(n) => out.extend_from_slice(n),
            Name::Long => out.extend_from_slice(&[b'x'; 200]),
        }
        out.push(0);
        match &self.value {
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Literal(v) => out.extend_from_slice(v),
            Value::Digits { digit, count } => {
                out.extend(std::iter::repeat_n(b'0' + digit, usize::from(*count)))
            }
        }
        out.push(0);
    }
}

fn read_pairs(r: &mut Reader, max: u8) -> Vec<OptionPair> {
    (0..r.u8() % (max + 1))
        .map(|_| OptionPair::read(r))
        .collect()
}

fn write_pairs(w: &mut Writer, pairs: &[OptionPair]) {
    w.u8(pairs.len() as u8);
    pairs.iter().for_each(|p| p.write(w));
}

/// The file: the sender's own, or the one the simulated peer sends to a receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSpec {
    /// `len << shift` bytes (`shift` 0..=15) of a fixed text-like pattern (CR, LF and NUL
    /// included).
    Synthetic { len: u16, shift: u8 },
    /// These bytes (up to 255).
    Bytes(Vec<u8>),
}

impl FileSpec {
    /// A synthetic file of `len` bytes (`len` must be a u16 shifted left by 0..=15).
    pub fn synthetic(len: u64) -> FileSpec {
        let shift = (0..=15).find(|&s| len >> s <= 0xFFFF && len >> s << s == len);
        let shift = shift.expect("a u16 shifted by 0..=15");
        FileSpec::Synthetic {
            len: (len >> shift) as u16,
            shift,
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            FileSpec::Synthetic { len, shift } => u64::from(*len) << (shift % 16),
            FileSpec::Bytes(b) => b.len() as u64,
        }
    }
}

/// The tsize a server read announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Announce {
    None,
    Actual,
    Other(u32),
}

/// How the session is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// False: the side's first role (server read, client get); true: the second (server
    /// write, client put).
    pub second_role: bool,
    pub mode: Mode,
    /// Server roles: the options of the client's request (at most 5).
    pub options: Vec<OptionPair>,
    /// Server policy: largest blksize (0: the default 65464; else clamped to 8..=65464).
    pub max_blksize: u16,
    /// Server policy: largest windowsize, 1..=64.
    pub max_windowsize: u8,
    /// The sender's buffer ([`tftp_proto::Config::send_buffer`]): 0 the default, 1 one
    /// block, 2 1500 bytes, 3 8 KiB (the top two bits of the `max_windowsize` byte).
    pub send_buffer: u8,
    /// Server policy, two bits per option (blksize, timeout, tsize, windowsize):
    /// 1 ignore, 2 refuse, else accept.
    pub handling: u8,
    /// Upload limit of a server write, download limit of a client get (0: none).
    pub size_limit: u32,
    /// Server read: the tsize announced.
    pub announce: Announce,
    /// Client roles: the options asked for (windowsize 1..=64).
    pub asked: RequestOptions,
    /// Client roles: the remote file name (no NUL; 1..=32 bytes, or a multiple of 32 up to
    /// 1024).
    pub filename: Vec<u8>,
    pub file: FileSpec,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            second_role: false,
            mode: Mode::Octet,
            options: Vec::new(),
            max_blksize: 0,
            max_windowsize: 1,
            send_buffer: 0,
            handling: 0,
            size_limit: 0,
            announce: Announce::None,
            asked: RequestOptions::default(),
            filename: b"f".to_vec(),
            file: FileSpec::Synthetic { len: 0, shift: 0 },
        }
    }
}

impl Header {
    fn read(r: &mut Reader) -> Header {
        let second_role = r.u8() & 1 == 1;
        let mode = if r.u8() & 1 == 1 {
            Mode::Netascii
        } else {
            Mode::Octet
        };
        let options = read_pairs(r, 5);
        let max_blksize = r.u16();
        let windows = r.u8();
        let max_windowsize = windows % 64 + 1;
        let send_buffer = windows >> 6;
        let handling = r.u8();
        let size_limit = r.u32();
        let announce = match r.u8() % 3 {
            0 => Announce::None,
            1 => Announce::Actual,
            _ => Announce::Other(r.u32()),
        };
        let bits = r.u8();
        let asked = RequestOptions {
            blksize: (bits & 1 != 0).then(|| r.u16()),
            windowsize: (bits & 2 != 0).then(|| u16::from(r.u8() % 64) + 1),
            timeout: (bits & 4 != 0).then(|| r.u8()),
            tsize: (bits & 8 != 0).then(|| u64::from(r.u32())),
        };
        let name_len = match r.u8() {
            n @ 0xE0.. => usize::from(n - 0xDF) * 32,
            n => usize::from(n % 32) + 1,
        };
        let mut filename = r.bytes(name_len, b'f');
        if filename.is_empty() {
            filename.push(b'f');
        }
        let file = match r.u8() {
            tag if tag & 1 == 0 => FileSpec::Synthetic {
                len: r.u16(),
                shift: tag / 2 % 16,
            },
            _ => {
                let len = usize::from(r.u8());
                FileSpec::Bytes(r.bytes(len, 0))
            }
        };
        Header {
            second_role,
            mode,
            options,
            max_blksize,
            max_windowsize,
            send_buffer,
            handling,
            size_limit,
            announce,
            asked,
            filename,
            file,
        }
    }

    fn write(&self, w: &mut Writer) {
        w.u8(self.second_role.into());
        w.u8((self.mode == Mode::Netascii).into());
        write_pairs(w, &self.options);
        w.u16(self.max_blksize);
        w.u8((self.max_windowsize.clamp(1, 64) - 1) | (self.send_buffer.min(3) << 6));
        w.u8(self.handling);
        w.u32(self.size_limit);
        match self.announce {
            Announce::None => w.u8(0),
            Announce::Actual => w.u8(1),
            Announce::Other(v) => {
                w.u8(2);
                w.u32(v);
            }
        }
        let a = &self.asked;
        let bits = u8::from(a.blksize.is_some())
            | u8::from(a.windowsize.is_some()) << 1
            | u8::from(a.timeout.is_some()) << 2
            | u8::from(a.tsize.is_some()) << 3;
        w.u8(bits);
        a.blksize.inspect(|&v| w.u16(v));
        a.windowsize.inspect(|&v| w.u8((v.clamp(1, 64) - 1) as u8));
        a.timeout.inspect(|&v| w.u8(v));
        a.tsize.inspect(|&v| w.u32(v as u32));
        let len = self.filename.len();
        w.u8(if len <= 32 { len - 1 } else { len / 32 + 0xDF } as u8);
        w.bytes(&self.filename);
        match &self.file {
            FileSpec::Synthetic { len, shift } => {
                w.u8(shift * 2);
                w.u16(*len);
            }
            FileSpec::Bytes(b) => {
                w.u8(1);
                w.u8(b.len() as u8);
                w.bytes(b);
            }
        }
    }
}

/// Which block a DATA or ACK names, relative to the harness's model of the transfer: for a
/// DATA, the block the simulated peer sends next; for an ACK, the highest DATA the session
/// sent (`Next`) or the block it last had acknowledged (`Repeat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Next,
    Repeat,
    /// `Next` plus this many.
    Skip(u8),
    /// `Repeat` minus this many.
    Back(u8),
    /// This number on the wire.
    Wire(u16),
}

impl Block {
    fn read(r: &mut Reader) -> Block {
        match r.u8() % 5 {
            0 => Block::Next,
            1 => Block::Repeat,
            2 => Block::Skip(r.u8()),
            3 => Block::Back(r.u8()),
            _ => Block::Wire(r.u16()),
        }
    }

    fn write(self, w: &mut Writer) {
        match self {
            Block::Next => w.u8(0),
            Block::Repeat => w.u8(1),
            Block::Skip(k) => {
                w.u8(2);
                w.u8(k);
            }
            Block::Back(k) => {
                w.u8(3);
                w.u8(k);
            }
            Block::Wire(v) => {
                w.u8(4);
                w.u16(v);
            }
        }
    }
}

/// A DATA payload length, relative to the session's blksize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    Full,
    /// This many modulo blksize: a final block.
    Short(u16),
    Empty,
    /// blksize + 1 + this: too long.
    Over(u8),
    Exact(u16),
}

impl Len {
    fn read(r: &mut Reader) -> Len {
        match r.u8() % 5 {
            0 => Len::Full,
            1 => Len::Short(r.u16()),
            2 => Len::Empty,
            3 => Len::Over(r.u8()),
            _ => Len::Exact(r.u16()),
        }
    }

    fn write(self, w: &mut Writer) {
        match self {
            Len::Full => w.u8(0),
            Len::Short(v) => {
                w.u8(1);
                w.u16(v);
            }
            Len::Empty => w.u8(2),
            Len::Over(v) => {
                w.u8(3);
                w.u8(v);
            }
            Len::Exact(v) => {
                w.u8(4);
                w.u16(v);
            }
        }
    }
}

/// A datagram to feed the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datagram {
    /// What a well-behaved peer sends next: the OACK that echoes a client's options, ACK 0,
    /// DATA of the file, the ACK of the highest DATA sent.
    Auto,
    /// DATA with a pattern payload (`fill` picks it).
    Data {
        block: Block,
        len: Len,
        fill: u8,
    },
    Ack {
        block: Block,
    },
    /// An OACK: the client's options echoed (when `echo`), then up to 3 more pairs.
    Oack {
        echo: bool,
        extra: Vec<OptionPair>,
    },
    /// An ERROR with a message of `len` (0..=1023) bytes, never NUL; an odd `fill` puts
    /// bytes that are not UTF-8 in it.
    Error {
        code: u16,
        len: u16,
        fill: u8,
    },
    /// The request again (server roles), or an RRQ (client roles).
    Request,
    /// These bytes (up to 255; runts of 0..=3 bytes have their own tag).
    Raw(Vec<u8>),
}

impl Datagram {
    fn read(r: &mut Reader) -> Datagram {
        match r.u8() % 8 {
            0 => Datagram::Auto,
            1 => Datagram::Data {
                block: Block::read(r),
                len: Len::read(r),
                fill: r.u8(),
            },
            2 => Datagram::Ack {
                block: Block::read(r),
            },
            3 => Datagram::Oack {
                echo: r.u8() & 1 == 0,
                extra: read_pairs(r, 3),
            },
            4 => Datagram::Error {
                code: r.u16(),
                len: r.u16() % 1024,
                fill: r.u8(),
            },
            5 => Datagram::Request,
            6 => {
                let len = usize::from(r.u8());
                Datagram::Raw(r.bytes(len, 0))
            }
            _ => {
                let len = usize::from(r.u8() % 4);
                Datagram::Raw(r.bytes(len, 0))
            }
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Datagram::Auto => w.u8(0),
            Datagram::Data { block, len, fill } => {
                w.u8(1);
                block.write(w);
                len.write(w);
                w.u8(*fill);
            }
            Datagram::Ack { block } => {
                w.u8(2);
                block.write(w);
            }
            Datagram::Oack { echo, extra } => {
                w.u8(3);
                w.u8(u8::from(!echo));
                write_pairs(w, extra);
            }
            Datagram::Error { code, len, fill } => {
                w.u8(4);
                w.u16(*code);
                w.u16(*len);
                w.u8(*fill);
            }
            Datagram::Request => w.u8(5),
            Datagram::Raw(bytes) => {
                w.u8(6);
                w.u8(bytes.len() as u8);
                w.bytes(bytes);
            }
        }
    }
}

/// One operation on the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A datagram from the peer, `step` µs after the previous input (timeouts that fell due
    /// meanwhile are *not* handled first: a late datagram).
    Peer { step: u32, datagram: Datagram },
    /// A well-behaved peer for `rounds` (1..=4096) rounds, `step` µs apart; timeouts are
    /// handled as they fall due, as a driver would.
    Run { rounds: u16, step: u16 },
    /// `handle_timeout` `step` µs later.
    Wait { step: u32 },
    /// `handle_timeout` at the session's deadline.
    Deadline,
    /// A datagram from a stranger (another host).
    Stranger { step: u32, datagram: Datagram },
    /// A datagram from the peer's host but another port (a second transfer ID).
    OtherPort { step: u32, datagram: Datagram },
    /// The caller aborts with ERROR `code` and a message of these bytes (under 64).
    Abort { code: u16, message: Vec<u8> },
}

impl Op {
    fn read(r: &mut Reader) -> Op {
        let step = |r: &mut Reader| r.u32() & STEP_MASK;
        match r.u8() % 8 {
            1 => Op::Run {
                rounds: r.u16() % 4096 + 1,
                step: r.u16(),
            },
            2 => Op::Wait { step: step(r) },
            3 => Op::Deadline,
            4 => Op::Stranger {
                step: step(r),
                datagram: Datagram::read(r),
            },
            5 => Op::OtherPort {
                step: step(r),
                datagram: Datagram::read(r),
            },
            6 => {
                let code = r.u16();
                let len = usize::from(r.u8() % 64);
                Op::Abort {
                    code,
                    message: r.bytes(len, 0),
                }
            }
            _ => Op::Peer {
                step: step(r),
                datagram: Datagram::read(r),
            },
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            Op::Peer { step, datagram } => {
                w.u8(0);
                w.u32(*step);
                datagram.write(w);
            }
            Op::Run { rounds, step } => {
                w.u8(1);
                w.u16(rounds.clamp(&1, &4096) - 1);
                w.u16(*step);
            }
            Op::Wait { step } => {
                w.u8(2);
                w.u32(*step);
            }
            Op::Deadline => w.u8(3),
            Op::Stranger { step, datagram } => {
                w.u8(4);
                w.u32(*step);
                datagram.write(w);
            }
            Op::OtherPort { step, datagram } => {
                w.u8(5);
                w.u32(*step);
                datagram.write(w);
            }
            Op::Abort { code, message } => {
                w.u8(6);
                w.u16(*code);
                w.u8(message.len() as u8);
                w.bytes(message);
            }
        }
    }
}

/// A whole script: the session to make and what to do with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub header: Header,
    pub ops: Vec<Op>,
}

impl Script {
    /// Decodes any byte string (at most [`MAX_OPS`] operations).
    pub fn read(data: &[u8]) -> Script {
        let mut r = Reader::new(data);
        let header = Header::read(&mut r);
        let mut ops = Vec::new();
        while !r.is_empty() && ops.len() < MAX_OPS {
            ops.push(Op::read(&mut r));
        }
        Script { header, ops }
    }

    /// Encodes the script so that [`Script::read`] gives it back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.header.write(&mut w);
        self.ops.iter().for_each(|op| op.write(&mut w));
        w.0
    }
}
