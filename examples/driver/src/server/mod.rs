//! The `tftpd` server: one mio event loop serving a folder, meant to replace tftpd-hpa.
//!
//! - [`event_loop`]: the loop, the listening socket, one socket per transfer;
//! - [`intake`]: datagrams on the listening port (repeats, limits, new sessions);
//! - [`lifecycle`]: SIGHUP (reload), SIGTERM (graceful stop), SIGINT (stop at once);
//! - [`listen`]: the listening socket;
//! - [`activation`]: the listening socket when systemd passes it (socket activation);
//! - [`pid_file`]: the process ID in a file (`--pid-file`);
//! - [`ports`]: the ports transfer sockets may take (`--port-range`);
//! - [`ratelimit`]: requests per second per source address;
//! - [`shared`]: what the workers of one server share (clock, session count, rate limit);
//! - [`remap`]: tftpd-hpa's filename remap rules (`--map-file`);
//! - [`single_port`]: every transfer on the listening port (`--single-port`);
//! - [`workers`]: several event loops on one address (`--workers`);
//! - [`privilege`]: giving up root once the port is bound (`--user`);
//! - [`log`]: one record per transfer, to stderr, [`syslog`] or as JSON ([`log_json`]);
//! - [`args`] and [`cli`]: the command line and the program's `main`.

pub mod activation;
pub mod args;
pub mod cli;
pub mod event_loop;
pub mod intake;
pub mod lifecycle;
pub mod listen;
pub mod log;
pub mod log_json;
pub mod pid_file;
pub mod ports;
pub mod privilege;
pub mod ratelimit;
pub mod remap;
pub mod shared;
pub mod single_port;
pub mod syslog;
pub mod workers;

pub use event_loop::{Server, Settings};
pub use shared::Shared;
