//! How a [`crate::Pair`] starts: what the client asks for, how the server answers, and the
//! files of the two sides.

use tftp_proto::server::Direction;
use tftp_proto::{ClientRequest, Config, Mode, RequestOptions, ServerPolicy};

use crate::File;

/// Everything a pair needs to start. [`Setup::new`] fills in the defaults; the fields are
/// public to change them.
#[derive(Debug)]
pub struct Setup<'f> {
    /// A download ([`Direction::Read`]) or an upload.
    pub direction: Direction,
    /// The client's request.
    pub request: ClientRequest<'f>,
    /// The client session's settings.
    pub client_config: Config,
    /// The server sessions' settings.
    pub server_config: Config,
    /// What the server grants.
    pub policy: ServerPolicy,
    /// The file size a server read announces (`tsize`); `None` for a size it does not know.
    pub announce: Option<u64>,
    /// The client's file: what an upload sends, where a download writes.
    pub client_file: File<'f>,
    /// The server's file: what a download sends, where an upload writes. The first server
    /// session gets it; any later one (a repeated request that no session was waiting for)
    /// gets [`File::fresh`] of it.
    pub server_file: File<'f>,
}

impl<'f> Setup<'f> {
    /// A transfer of `file.bin` in `direction` and `mode` with `options`, on default settings
    /// and policy; a server read announces the length of the server file's source.
    pub fn new(
        direction: Direction,
        mode: Mode,
        options: RequestOptions,
        client_file: File<'f>,
        server_file: File<'f>,
    ) -> Setup<'f> {
        Setup {
            direction,
            request: ClientRequest {
                filename: b"file.bin",
                mode,
                options,
                max_file_size: None,
            },
            client_config: Config::default(),
            server_config: Config::default(),
            policy: ServerPolicy::default(),
            announce: Some(server_file.source().len()),
            client_file,
            server_file,
        }
    }

    /// A download in `mode` asking for `blksize`, `windowsize` (not asked for when 1) and the
    /// file size, from a server whose policy grants that window: the transfer of the
    /// benchmarks.
    pub fn download(
        mode: Mode,
        blksize: u16,
        windowsize: u16,
        client_file: File<'f>,
        server_file: File<'f>,
    ) -> Setup<'f> {
        let options = RequestOptions {
            blksize: Some(blksize),
            windowsize: (windowsize > 1).then_some(windowsize),
            timeout: None,
            tsize: Some(0),
        };
        let mut setup = Setup::new(Direction::Read, mode, options, client_file, server_file);
        setup.policy.max_windowsize = setup.policy.max_windowsize.max(windowsize);
        setup
    }
}
