//! Netascii translation (R-MOD-2): encoding then decoding is the identity whatever the chunk
//! sizes, and decoding arbitrary bytes stays within `Decoder::max_output`.

use tftp_proto::netascii::{Decoder, Encoder};

use super::script::Reader;

/// Bytes 0..4 choose chunk sizes (encoder input and output, decoder input, a short decoder
/// buffer); the rest is the text.
pub fn netascii(data: &[u8]) {
    let mut r = Reader::new(data);
    let mut size = || usize::from(r.u8() % 64) + 1;
    let (enc_in, enc_out, dec_in, short) = (size(), size(), size(), size());
    let text = data.get(4..).unwrap_or_default();
    let wire = encode(text, enc_in, enc_out);
    assert!(wire.len() <= 2 * text.len(), "expansion at most twice");
    assert_eq!(decode(&wire, dec_in), text, "decode(encode(x)) == x");
    // Arbitrary bytes: never more than max_output per call, nothing past what was returned,
    // never more in total than went in.
    let decoded = decode(text, dec_in);
    assert!(decoded.len() <= text.len());
    // A buffer too short for the output drops bytes but writes nothing past its end.
    let mut d = Decoder::new();
    let mut out = vec![0u8; short];
    for piece in text.chunks(dec_in) {
        let n = d.decode(piece, &mut out);
        assert!(n <= out.len());
    }
}

/// Encodes `text` feeding `chunk_in` bytes at a time into `chunk_out`-byte outputs.
fn encode(text: &[u8], chunk_in: usize, chunk_out: usize) -> Vec<u8> {
    let mut e = Encoder::new();
    let mut wire = Vec::new();
    let mut out = vec![0u8; chunk_out];
    let mut rest = text;
    // Each call produces at least one byte, and the wire is at most twice the text.
    for _ in 0..=2 * text.len() + 1 {
        let piece = &rest[..rest.len().min(chunk_in)];
        let (used, made) = e.encode(piece, &mut out);
        assert!(used <= piece.len() && made <= out.len());
        wire.extend_from_slice(&out[..made]);
        rest = &rest[used..];
        if rest.is_empty() && !e.has_pending() {
            return wire;
        }
    }
    panic!("the encoder did not finish");
}

/// Decodes `wire` in `chunk`-byte pieces into buffers of `max_output` bytes, checking that
/// nothing lands past the count returned.
fn decode(wire: &[u8], chunk: usize) -> Vec<u8> {
    const SENTINEL: u8 = 0xA5;
    let mut d = Decoder::new();
    let mut text = Vec::new();
    for piece in wire.chunks(chunk) {
        let room = Decoder::max_output(piece.len());
        let mut out = vec![SENTINEL; room + 8];
        let n = d.decode(piece, &mut out);
        assert!(n <= room, "{n} bytes from {} in", piece.len());
        assert!(
            out[room..].iter().all(|&b| b == SENTINEL),
            "wrote past max_output"
        );
        text.extend_from_slice(&out[..n]);
    }
    let mut out = [SENTINEL; 2];
    let n = d.finish(&mut out);
    assert!(n <= 1 && out[1] == SENTINEL);
    text.extend_from_slice(&out[..n]);
    text
}
