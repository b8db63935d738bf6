//! Fuzz bodies: pure functions of the fuzzer's bytes that drive the core and `assert!` its
//! invariants (STYLE.md habit 11: parser round trip, structured operation sequences, whole
//! sessions fed chosen datagrams and time steps through a bounded drain loop).
//!
//! Shared by the cargo-fuzz targets in `fuzz/fuzz_targets/` and by `tests/fuzz_properties.rs`,
//! which runs them on quickcheck inputs, on the seed corpora and on the regression inputs of
//! `bad-inputs.md`. Every body accepts every byte string; a failed `assert!` is a finding.

pub mod accept;
pub mod netascii;
pub mod packet_parse;
pub mod path;
pub mod script;
pub mod session;

pub use accept::accept;
pub use netascii::netascii;
pub use packet_parse::packet_parse;
pub use path::path;
pub use session::{client_session, server_session};
