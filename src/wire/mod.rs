//! The wire floor: TFTP packets as bytes, and nothing above them.
//!
//! Packet views with their parse and encode ([`packet`]), the option list codec
//! ([`option_list`]), the errors of both ([`error`]) and the NUL-terminated field helpers
//! ([`cstr`]). Negotiation ([`crate::options`]), the sessions and the server's intake import
//! from here; files in `src/wire/` import only each other, so the floor can be read, tested and
//! changed without the layers above (`tests/module_layers.rs` checks it).
//!
//! The module is private: its public items are reachable where they always were,
//! [`crate::packet`] (this [`packet`] module, re-exported), [`crate::options`] (the option list
//! types) and the crate root ([`crate::ParseError`], [`crate::ErrorCode`], ...).

mod cstr;
pub(crate) mod error;
pub(crate) mod option_list;
pub mod packet;
