//! `server::accept` never panics and answers only what it should (R-PKT-5, R-MOD-3, R-SRV-1,
//! R-SRV-6).

use tftp_proto::path::safe_path;
use tftp_proto::server::{accept as intake, Direction, Intake};
use tftp_proto::{Mode, Packet};

/// A refusal encodes to an ERROR that parses, bounded; a runt (under 4 bytes) and an ERROR are
/// dropped, never answered; a request is served only with the path `safe_path` gives.
pub fn accept(data: &[u8]) {
    let packet = Packet::parse(data);
    match intake(data) {
        Intake::Refuse(refusal) => {
            assert!(
                data.len() >= 4,
                "R-SRV-6: answered a runt of {} bytes",
                data.len()
            );
            let mut buf = [0u8; 600];
            let n = refusal.encode(&mut buf);
            assert!((5..=4 + 255 + 1).contains(&n), "ERROR of {n} bytes");
            match Packet::parse(&buf[..n]) {
                Ok(Packet::Error { code, .. }) => assert_eq!(code, refusal.code),
                other => panic!("refusal encodes as {other:?}"),
            }
        }
        Intake::Ignore => assert!(
            data.len() < 4 || matches!(packet, Ok(Packet::Error { .. })),
            "dropped {packet:?} silently"
        ),
        Intake::Serve(incoming) => {
            let (direction, request) = match packet {
                Ok(Packet::Rrq(r)) => (Direction::Read, r),
                Ok(Packet::Wrq(r)) => (Direction::Write, r),
                other => panic!("served {other:?}"),
            };
            assert_eq!(incoming.direction, direction);
            assert_eq!(incoming.raw_filename, request.filename);
            assert_eq!(Ok(incoming.path), safe_path(request.filename));
            assert_eq!(Some(incoming.mode), Mode::from_bytes(request.mode));
            assert_eq!(incoming.options, request.options);
        }
    }
}
