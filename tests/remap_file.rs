//! `tftpd --map-file FILE` (tftpd-hpa's `-m`): a remap file written for tftpd-hpa works
//! unchanged with real clients (tftp-hpa, curl, atftp): Windows backslashes become slashes,
//! a prefix is rewritten, a name is matched without regard to case, uploads are steered into
//! a folder; a rule can refuse a request; a rewritten name is still confined to the root
//! (R-SRV-1); a bad rule file stops the server at start, naming the line.

#[path = "support/procs.rs"]
mod procs;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use procs::{
    content, our_bin, output_text, require_peer, run_bounded, start_our_server, ChildGuard, TempDir,
};

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// A remap file as tftpd-hpa admins write them (comments, trailing comments, escapes).
const RULES: &str = r"# Windows PXE clients send backslashes
rg \\ /              # every backslash to a slash
# old paths from the tftpboot days
r ^/?tftpboot/
# pxelinux looks for its config under another name here
r ^pxelinux\.cfg/(.*) pxe/\1
# some firmware shouts
ri ^BOOT\.IMG$ boot.img
# uploads go into their own folder
rP ^(.*)$ uploads/\1
# never serve these, whatever the file system says
a ^secret
# a rule cannot lead outside the root
r ^escape$ ../outside.txt
";

struct Fixture {
    top: TempDir,
    server: ChildGuard,
    port: String,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let top = TempDir::new(tag);
        let root = top.path().join("root");
        for dir in ["pxe", "dir/sub", "uploads"] {
            fs::create_dir_all(root.join(dir)).expect("mkdir");
        }
        fs::write(root.join("boot.img"), content(70_000, 1)).expect("boot.img");
        fs::write(root.join("pxe/default"), content(1500, 2)).expect("pxe/default");
        fs::write(root.join("dir/sub/file.bin"), content(5000, 3)).expect("file.bin");
        fs::write(root.join("secret.key"), b"not for clients").expect("secret");
        fs::write(top.path().join("outside.txt"), b"outside the root").expect("outside");
        let rules = top.path().join("rules");
        fs::write(&rules, RULES).expect("rules");
        let rules = rules.to_str().expect("UTF-8 temp path").to_owned();
        let (server, addr) = start_our_server(
            &root,
            &["--map-file", &rules, "--allow-create", "--allow-write"],
        );
        Fixture {
            top,
            server,
            port: addr.port().to_string(),
        }
    }

    fn root(&self) -> std::path::PathBuf {
        self.top.path().join("root")
    }

    fn local(&self, name: &str) -> std::path::PathBuf {
        self.top.path().join(name)
    }
}

fn tftp_hpa(f: &Fixture, verb: &str, remote: &str, local: &Path) -> Output {
    let tftp = require_peer("tftp").expect("tftp-hpa");
    run_bounded(
        Command::new(tftp)
            .args(["127.0.0.1", &f.port, "-m", "binary", "-c", verb])
            .args(if verb == "get" {
                [remote.as_ref(), local.as_os_str()]
            } else {
                [local.as_os_str(), remote.as_ref()]
            }),
        RUN_TIMEOUT,
    )
}

fn curl_get(f: &Fixture, remote: &str, local: &Path) -> Output {
    let curl = require_peer("curl").expect("curl");
    run_bounded(
        Command::new(curl)
            .args(["-sS", "--connect-timeout", "10", "-m", "30", "-o"])
            .arg(local)
            .arg(format!("tftp://127.0.0.1:{}/{remote}", f.port)),
        RUN_TIMEOUT,
    )
}

fn assert_same(got: &Path, want: &Path, out: &Output) {
    let got = fs::read(got).unwrap_or_else(|e| panic!("{e}: {}", output_text(out)));
    assert_eq!(
        got,
        fs::read(want).expect("served file"),
        "{}",
        output_text(out)
    );
}

// R-SRV-1, R-INT-1: the rules rewrite what tftp-hpa, curl and atftp ask for.
#[test]
fn r_srv_1_tftpd_hpa_rules_rewrite_names_for_real_clients() {
    let (Some(_), Some(_), Some(atftp)) = (
        require_peer("tftp"),
        require_peer("curl"),
        require_peer("atftp"),
    ) else {
        return;
    };
    let f = Fixture::new("remap-names");
    let root = f.root();

    let local = f.local("file.bin");
    let out = tftp_hpa(&f, "get", r"\dir\sub\file.bin", &local);
    assert_same(&local, &root.join("dir/sub/file.bin"), &out);

    let local = f.local("boot-curl.img");
    let out = curl_get(&f, "BOOT.IMG", &local);
    assert!(out.status.success(), "{}", output_text(&out));
    assert_same(&local, &root.join("boot.img"), &out);

    let local = f.local("boot-prefix.img");
    let out = tftp_hpa(&f, "get", "/tftpboot/Boot.Img", &local);
    assert_same(&local, &root.join("boot.img"), &out);

    let local = f.local("pxe-default");
    let out = run_bounded(
        Command::new(atftp)
            .args([
                "--option",
                "blksize 1024",
                "-g",
                "-r",
                "pxelinux.cfg/default",
                "-l",
            ])
            .arg(&local)
            .args(["127.0.0.1", &f.port]),
        RUN_TIMEOUT,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    assert_same(&local, &root.join("pxe/default"), &out);

    // The log names the path served beside the name asked for.
    let log = f.server.log_text();
    assert!(
        log.contains(r#"read "\\dir\\sub\\file.bin" as "dir/sub/file.bin""#),
        "{log}"
    );
}

// R-SRV-2, R-SRV-3: an upload lands where a P rule sends it, through the atomic upload.
#[test]
fn r_srv_3_uploads_follow_put_rules() {
    if require_peer("tftp").is_none() {
        return;
    }
    let f = Fixture::new("remap-put");
    let local = f.local("report.txt");
    fs::write(&local, content(3000, 9)).expect("local file");
    let out = tftp_hpa(&f, "put", "report.txt", &local);
    assert!(out.status.success(), "{}", output_text(&out));
    let stored = f.root().join("uploads/report.txt");
    assert_same(&stored, &local, &out);
    assert!(!f.root().join("report.txt").exists());
}

// R-SRV-1: an `a` rule refuses with ERROR 2 even though the file exists, and a rule that
// leads outside the root is refused by the same path check as a client's name.
#[test]
fn r_srv_1_rules_refuse_and_cannot_leave_the_root() {
    if require_peer("curl").is_none() {
        return;
    }
    let f = Fixture::new("remap-refuse");
    for name in ["secret.key", "escape"] {
        let local = f.local(name);
        let out = curl_get(&f, name, &local);
        // curl: exit 69 is TFTP "permission problem" (ERROR 2).
        assert_eq!(out.status.code(), Some(69), "{name}: {}", output_text(&out));
        assert!(!local.exists(), "{name} was served");
    }
    let log = f.server.log_text();
    assert!(log.contains("access denied"), "{log}");
}

// A bad rule file is one clear error at start, with its line number, and no server.
#[test]
fn a_bad_rule_file_stops_the_server_naming_the_line() {
    let top = TempDir::new("remap-bad");
    let rules = top.path().join("rules");
    fs::write(&rules, "# fine\nr ^a b\nrz ^x y\n").expect("rules");
    let out = run_bounded(
        Command::new(our_bin("tftpd"))
            .arg("--root")
            .arg(top.path())
            .args(["--port", "0", "--map-file"])
            .arg(&rules),
        RUN_TIMEOUT,
    );
    assert!(!out.status.success(), "started: {}", output_text(&out));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("line 3"), "{text}");
    assert!(!text.contains("serving"), "{text}");
}
