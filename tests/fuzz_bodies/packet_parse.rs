//! `Packet::parse` never panics, and whatever it accepts encodes back to the same bytes
//! (R-PKT-5, R-PKT-4).

use tftp_proto::Packet;

/// Large enough for any datagram (65535 bytes) and then some.
const BUF_LEN: usize = 70_000;

/// Parses `data`; an accepted packet encodes to `encoded_len()` bytes that parse back to an
/// equal packet, and those bytes are the input itself, except that NUL padding after a
/// request's mode (old PXE ROMs) is dropped.
pub fn packet_parse(data: &[u8]) {
    let Ok(packet) = Packet::parse(data) else {
        return;
    };
    let mut buf = vec![0u8; BUF_LEN.max(data.len())];
    let n = packet
        .encode(&mut buf)
        .unwrap_or_else(|e| panic!("accepted {packet:?} but cannot encode it: {e}"));
    assert_eq!(n, packet.encoded_len(), "encoded_len of {packet:?}");
    let again = Packet::parse(&buf[..n]).expect("an encoded packet parses");
    assert_eq!(again, packet, "round trip");
    let padded = matches!(packet, Packet::Rrq(r) | Packet::Wrq(r) if r.options.is_empty());
    if !padded {
        assert_eq!(&buf[..n], data, "parse keeps every byte of {packet:?}");
    } else {
        assert!(data.starts_with(&buf[..n]) && data[n..].iter().all(|&b| b == 0));
    }
}
