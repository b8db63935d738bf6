//! Reading TFTP DATA out of captured UDP payloads, shared by the capture checks
//! (`tests/capture_tshark.rs`, `tests/support/firmware.rs`).
//!
//! A capture taken on the sending host taps a UDP GSO batch before the kernel splits it: one
//! frame whose payload is several datagrams of `4 + blksize` bytes back to back (the receiver
//! gets them separately). tshark decodes only the first header, so the checks read every
//! datagram's header from the payload themselves.
#![allow(dead_code)] // each test binary uses a part of this

/// TFTP's DATA opcode.
const DATA: u16 = 3;

/// Bytes from tshark's hex (`0a1b...`, maybe with `:` separators); stops at anything else.
pub fn from_hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b':')
        .map_while(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect()
}

/// The block number on the wire of each DATA datagram in one captured UDP `payload` (one, or
/// a GSO batch of `4 + blksize`-byte datagrams). A datagram in it that is not DATA is an error.
pub fn data_blocks(payload: &[u8], blksize: usize) -> Result<Vec<u16>, String> {
    payload
        .chunks(4 + blksize)
        .map(|d| match d {
            [0, op, hi, lo, ..] if u16::from(*op) == DATA => Ok(u16::from_be_bytes([*hi, *lo])),
            _ => Err(format!(
                "a datagram of {} bytes in the payload is not DATA",
                d.len()
            )),
        })
        .collect()
}

/// The block number nearest to `last` (counted across rollovers) whose low 16 bits are
/// `wire`: how a receiver follows a block counter through its rollover to 0.
pub fn unwrap_block(wire: u16, last: u32) -> u32 {
    let candidate = (last & !0xFFFF) | u32::from(wire);
    if candidate + 0x8000 < last {
        candidate + 0x1_0000
    } else if candidate > last + 0x8000 && candidate >= 0x1_0000 {
        candidate - 0x1_0000
    } else {
        candidate
    }
}
