//! Streaming netascii translation (RFC 1350, RFC 764; R-MOD-2).
//!
//! On the wire every line ends CR LF and a bare CR is sent as CR NUL; locally a line ends LF.
//! Both directions carry their state across calls, so a CR at the end of one block and its LF
//! at the start of the next translate correctly.

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const NUL: u8 = 0;

/// Local text to netascii.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Encoder {
    /// The second byte of a CR LF or CR NUL pair whose CR filled the previous output.
    pending: Option<u8>,
}

impl Encoder {
    /// A fresh encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Translates from `input` into `output` until either runs out; returns
    /// `(consumed, produced)`. Call again with an empty `input` at end of file to flush a
    /// byte still pending ([`Encoder::has_pending`]).
    pub fn encode(&mut self, input: &[u8], output: &mut [u8]) -> (usize, usize) {
        let mut produced = 0;
        if let Some(b) = self.pending {
            let Some(slot) = output.first_mut() else {
                return (0, 0);
            };
            *slot = b;
            produced = 1;
            self.pending = None;
        }
        let mut consumed = 0;
        while consumed < input.len() && produced < output.len() {
            let b = input[consumed];
            consumed += 1;
            let second = match b {
                LF => LF,
                CR => NUL,
                _ => {
                    output[produced] = b;
                    produced += 1;
                    continue;
                }
            };
            output[produced] = CR;
            produced += 1;
            if produced < output.len() {
                output[produced] = second;
                produced += 1;
            } else {
                self.pending = Some(second);
            }
        }
        (consumed, produced)
    }

    /// True when a byte is waiting for room in the next output.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }
}

/// Netascii to local text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoder {
    /// The last input byte was a CR whose meaning depends on the next byte.
    cr: bool,
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// The output room [`Decoder::decode`] needs for `input_len` input bytes.
    pub const fn max_output(input_len: usize) -> usize {
        input_len + 1
    }

    /// Translates all of `input` into `output` and returns the bytes produced.
    /// CR LF becomes LF, CR NUL becomes CR, and a CR before anything else is kept as it is.
    /// Writes nothing past `output`: input that does not fit is dropped, so give it
    /// [`Decoder::max_output`] bytes.
    pub fn decode(&mut self, input: &[u8], output: &mut [u8]) -> usize {
        let mut out = 0;
        let mut push = |b: u8, out: &mut usize| {
            if let Some(slot) = output.get_mut(*out) {
                *slot = b;
                *out += 1;
            }
        };
        for &b in input {
            if self.cr {
                self.cr = false;
                match b {
                    LF => push(LF, &mut out),
                    NUL => push(CR, &mut out),
                    CR => {
                        push(CR, &mut out);
                        self.cr = true;
                    }
                    other => {
                        push(CR, &mut out);
                        push(other, &mut out);
                    }
                }
            } else if b == CR {
                self.cr = true;
            } else {
                push(b, &mut out);
            }
        }
        out
    }

    /// Ends the stream: a CR still waiting is written out as itself. Returns the bytes produced.
    pub fn finish(&mut self, output: &mut [u8]) -> usize {
        if core::mem::take(&mut self.cr) {
            if let Some(slot) = output.first_mut() {
                *slot = CR;
                return 1;
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn encode_all(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut e = Encoder::new();
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        let mut rest = input;
        loop {
            let (c, p) = e.encode(rest, &mut buf);
            out.extend_from_slice(&buf[..p]);
            rest = &rest[c..];
            if rest.is_empty() && !e.has_pending() {
                return out;
            }
        }
    }

    fn decode_all(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        let mut buf = vec![0u8; Decoder::max_output(chunk)];
        for piece in input.chunks(chunk) {
            let n = d.decode(piece, &mut buf);
            out.extend_from_slice(&buf[..n]);
        }
        let n = d.finish(&mut buf);
        out.extend_from_slice(&buf[..n]);
        out
    }

    // R-MOD-2
    #[test]
    fn r_mod_2_line_ends_and_bare_cr() {
        assert_eq!(encode_all(b"a\nb\rc", 64), b"a\r\nb\r\0c");
        assert_eq!(decode_all(b"a\r\nb\r\0c", 64), b"a\nb\rc");
    }

    // R-MOD-2: a CR at the end of one block, its LF at the start of the next.
    #[test]
    fn r_mod_2_pairs_split_across_blocks() {
        let text = b"line one\nline two\r\n\r\rend\n";
        for chunk in 1..8 {
            let wire = encode_all(text, chunk);
            assert_eq!(wire, encode_all(text, 4096), "chunk {chunk}");
            for dchunk in 1..8 {
                assert_eq!(decode_all(&wire, dchunk), text, "chunks {chunk}/{dchunk}");
            }
        }
    }

    #[test]
    fn decoder_keeps_a_stray_cr_and_a_trailing_cr() {
        assert_eq!(decode_all(b"a\rb", 1), b"a\rb");
        assert_eq!(decode_all(b"a\r", 2), b"a\r");
        assert_eq!(decode_all(b"\r\r\n", 1), b"\r\n");
    }

    #[test]
    fn quickcheck_round_trip() {
        fn prop(data: Vec<u8>, chunk: u8) -> bool {
            let chunk = usize::from(chunk % 16) + 1;
            decode_all(&encode_all(&data, chunk), chunk) == data
        }
        quickcheck::quickcheck(prop as fn(Vec<u8>, u8) -> bool);
    }
}
