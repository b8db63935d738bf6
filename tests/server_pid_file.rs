//! `tftpd --pid-file PATH`: written once the port is bound (before `--user` gives up root),
//! locked while the server runs, removed on a clean exit; a path that cannot be written, a
//! symbolic link, or a file another running server holds stops the start.

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Runs a server that is expected to refuse to start; returns its output.
fn refused_start(root: &Path, pid_file: &Path) -> Output {
    let port = procs::free_udp_port().to_string();
    let out = procs::run_bounded(
        Command::new(procs::our_bin("tftpd"))
            .arg("--root")
            .arg(root)
            .args(["--bind", "127.0.0.1", "--port", &port, "--pid-file"])
            .arg(pid_file),
        Duration::from_secs(20),
    );
    assert!(
        !out.status.success(),
        "started: {}",
        procs::output_text(&out)
    );
    out
}

// The file holds the server's PID while it runs and is gone after SIGTERM's clean exit.
#[test]
fn pid_file_is_written_and_removed_on_a_clean_exit() {
    let root = procs::TempDir::new("pid-root");
    let run = procs::TempDir::new("pid-run");
    let pid_file = run.path().join("tftpd.pid");
    let pid_arg = pid_file.to_str().expect("path");
    let (mut server, _) = procs::start_our_server(root.path(), &["--pid-file", pid_arg]);
    let text = fs::read_to_string(&pid_file).expect("the pid file");
    assert_eq!(text, format!("{}\n", server.pid()));
    let status = server.signal_and_wait("TERM", Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(!pid_file.exists(), "the pid file is still there");
}

// A second server on the same pid file refuses to start and names the running one, whose
// file stays as it was; a server that died (SIGKILL) leaves a file the next one takes over.
#[test]
fn a_pid_file_held_by_a_running_server_stops_a_second_one() {
    let root = procs::TempDir::new("pid2-root");
    let run = procs::TempDir::new("pid2-run");
    let pid_file = run.path().join("tftpd.pid");
    let pid_arg = pid_file.to_str().expect("path");
    let (first, _) = procs::start_our_server(root.path(), &["--pid-file", pid_arg]);
    let out = refused_start(root.path(), &pid_file);
    let text = procs::output_text(&out);
    let expected = format!("held by a running server: pid {}", first.pid());
    assert!(text.contains(&expected), "{text}");
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", first.pid())
    );
    drop(first); // SIGKILL: no clean exit, the file stays behind unlocked
    assert!(pid_file.exists());
    let (second, _) = procs::start_our_server(root.path(), &["--pid-file", pid_arg]);
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", second.pid())
    );
}

// A folder that does not exist, or a symbolic link in the file's place, stops the start with
// the reason; the link's target is not touched.
#[test]
fn a_pid_file_that_cannot_be_written_stops_the_start() {
    let root = procs::TempDir::new("pid3-root");
    let run = procs::TempDir::new("pid3-run");
    let out = refused_start(root.path(), &run.path().join("missing/tftpd.pid"));
    assert!(
        procs::output_text(&out).contains("--pid-file"),
        "{}",
        procs::output_text(&out)
    );

    let target = run.path().join("precious");
    fs::write(&target, "keep me").expect("write");
    let link = run.path().join("link.pid");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = refused_start(root.path(), &link);
    assert!(
        procs::output_text(&out).contains("cannot open"),
        "{}",
        procs::output_text(&out)
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
}

// Written before root is given up: a folder only root may write still gets the file when the
// server then runs as nobody.
#[test]
fn the_pid_file_is_written_before_dropping_root() {
    if !procs::require_root("--user nobody") {
        return;
    }
    let root = procs::TempDir::new("pid4-root");
    let run = procs::TempDir::new("pid4-run");
    fs::set_permissions(run.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
    let pid_file = run.path().join("tftpd.pid");
    let pid_arg = pid_file.to_str().expect("path");
    let (server, _) =
        procs::start_our_server(root.path(), &["--pid-file", pid_arg, "--user", "nobody"]);
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap(),
        format!("{}\n", server.pid())
    );
    assert!(
        server.log_text().contains("running as nobody"),
        "{}",
        server.log_text()
    );
}
