//! The remap rules against the manual page's semantics, bounds and bad files.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 169));
const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));

fn rules(text: &str) -> RemapRules {
    RemapRules::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn read(r: &RemapRules, name: &str) -> Remapped {
    r.apply(name, RequestKind::Read, V4)
}

fn named(s: &str) -> Remapped {
    Remapped::Name(s.to_owned())
}

fn err_line(text: &str) -> (usize, String) {
    match RemapRules::parse(text) {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => (e.line, e.message),
    }
}

#[test]
fn comments_blank_lines_and_trailing_comments() {
    let r = rules("# header\n\n   \t\nr ^a b # trailing comment\n#r ^b c\n");
    assert_eq!(r.len(), 1);
    assert!(!r.is_empty());
    assert_eq!(read(&r, "abc"), named("bbc"));
    let empty = rules("# nothing\n\n");
    assert!(empty.is_empty());
    assert_eq!(read(&empty, "x/y"), named("x/y"));
}

#[test]
fn crlf_lines_work() {
    let r = rules("r ^a b\r\nr c$ d\r\n");
    assert_eq!(read(&r, "abc"), named("bbd"));
}

#[test]
fn r_replaces_first_match_only() {
    let r = rules("r o 0");
    assert_eq!(read(&r, "foo/boot"), named("f0o/boot"));
}

#[test]
fn r_without_replacement_deletes_the_match() {
    let r = rules("r ^/");
    assert_eq!(read(&r, "/boot.img"), named("boot.img"));
    assert_eq!(read(&r, "boot.img"), named("boot.img"));
}

#[test]
fn g_repeats_until_no_match_from_the_start_each_time() {
    assert_eq!(read(&rules(r"rg \\ /"), r"a\b\c"), named("a/b/c"));
    // Repeating from the start (tftpd-hpa) is not sed's s///g: "aaaa"
    // shrinks to "a", where sed would give "aa".
    assert_eq!(read(&rules("rg aa a"), "aaaa"), named("a"));
}

#[test]
fn i_matches_case_insensitively() {
    let r = rules(r"ri ^BOOT\.IMG$ boot.img");
    assert_eq!(read(&r, "boot.IMG"), named("boot.img"));
    assert_eq!(read(&r, "BOOT.IMG"), named("boot.img"));
    assert_eq!(read(&r, "BOOTXIMG"), named("BOOTXIMG"));
    assert_eq!(
        read(&rules(r"r ^BOOT\.IMG$ x"), "boot.img"),
        named("boot.img")
    );
}

#[test]
fn rules_apply_in_order_to_the_rewritten_name() {
    let r = rules("r ^a b\nr ^b c\nr ^c d\n");
    assert_eq!(read(&r, "a"), named("d"));
    let r = rules("r ^c d\nr ^b c\nr ^a b\n");
    assert_eq!(read(&r, "a"), named("b"));
}

#[test]
fn e_ends_processing_when_it_matches() {
    let r = rules("e ^ok/\nr ^ x/\n");
    assert_eq!(read(&r, "ok/file"), named("ok/file"));
    assert_eq!(read(&r, "other"), named("x/other"));
    let r = rules("re ^a b\nr ^b c\n");
    assert_eq!(read(&r, "a"), named("b"));
    assert_eq!(read(&r, "b"), named("c"));
}

#[test]
fn s_starts_over_after_a_match() {
    // Without the restart the second rule's output never reaches the first.
    let r = rules("r ^b$ c\nrs ^a$ b\n");
    assert_eq!(read(&r, "a"), named("c"));
    let r = rules("r ^b$ c\nr ^a$ b\n");
    assert_eq!(read(&r, "a"), named("b"));
}

#[test]
fn a_refuses_when_it_matches() {
    let r = rules(r"a \.pvt$");
    assert_eq!(read(&r, "keys.pvt"), Remapped::Refused);
    assert_eq!(read(&r, "keys.pub"), named("keys.pub"));
    // A rule before the abort can rescue a name; one after it cannot.
    let r = rules("r ^secret public\na ^secret\n");
    assert_eq!(read(&r, "secret"), named("public"));
}

#[test]
fn tilde_inverts_the_match() {
    let r = rules("~a ^/tftpboot/");
    assert_eq!(read(&r, "/etc/passwd"), Remapped::Refused);
    assert_eq!(read(&r, "/tftpboot/x"), named("/tftpboot/x"));
    let r = rules("~e ^/\nr ^ /pub/\n");
    assert_eq!(read(&r, "rel"), named("rel"));
    assert_eq!(read(&r, "/abs"), named("/pub//abs"));
}

#[test]
fn g_and_p_limit_rules_to_reads_or_writes() {
    let r = rules("rG ^ get/\nrP ^ put/\n");
    assert_eq!(r.apply("f", RequestKind::Read, V4), named("get/f"));
    assert_eq!(r.apply("f", RequestKind::Write, V4), named("put/f"));
    let r = rules("aP ^");
    assert_eq!(r.apply("f", RequestKind::Write, V4), Remapped::Refused);
    assert_eq!(r.apply("f", RequestKind::Read, V4), named("f"));
}

#[test]
fn four_and_six_limit_rules_to_address_families() {
    let r = rules("r4 ^ v4/\nr6 ^ v6/\n");
    assert_eq!(r.apply("f", RequestKind::Read, V4), named("v4/f"));
    assert_eq!(r.apply("f", RequestKind::Read, V6), named("v6/f"));
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped());
    assert_eq!(r.apply("f", RequestKind::Read, mapped), named("v4/f"));
}

#[test]
fn group_substitutions() {
    let r = rules(r"r ^([a-z]+)/([0-9]+)\.(cfg)$ \3-\2-\1[\0]");
    assert_eq!(read(&r, "pxe/42.cfg"), named("cfg-42-pxe[pxe/42.cfg]"));
    // A group that takes no part in the match expands to nothing.
    let r = rules("r ^(a)|(b)$ <\\1\\2>");
    assert_eq!(read(&r, "b"), named("<b>"));
    // \10 is group 1 followed by a literal 0.
    let r = rules(r"r ^(x)(x)(x)(x)(x)(x)(x)(x)(y)$ \9\10");
    assert_eq!(read(&r, "xxxxxxxxy"), named("yx0"));
}

#[test]
fn ip_substitutions() {
    let r = rules(r"r ^ \i/\x/");
    assert_eq!(read(&r, "f"), named("192.0.2.169/C00002A9/f"));
    assert_eq!(
        r.apply("f", RequestKind::Read, V6),
        named("2001:db8::1/20010DB8000000000000000000000001/f")
    );
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 169).to_ipv6_mapped());
    assert_eq!(
        r.apply("f", RequestKind::Read, mapped),
        named("192.0.2.169/C00002A9/f")
    );
    // pxelinux-style per-host file: zero-padded hex.
    let r = rules(r"r ^pxelinux\.cfg/default$ pxelinux.cfg/\x");
    let host = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
    assert_eq!(
        r.apply("pxelinux.cfg/default", RequestKind::Read, host),
        named("pxelinux.cfg/0A000005")
    );
}

#[test]
fn literal_escapes_in_replacement() {
    assert_eq!(read(&rules(r"r ^ a\\b"), "f"), named(r"a\bf"));
    assert_eq!(read(&rules(r"r ^ a\#b"), "f"), named("a#bf"));
    assert_eq!(read(&rules(r"r ^ a\ b"), "f"), named("a bf"));
    assert_eq!(read(&rules("r ^ a\\\tb"), "f"), named("a\tbf"));
    assert_eq!(read(&rules(r"r ^ a\.b"), "f"), named("a.bf"));
}

#[test]
fn case_escapes_in_replacement() {
    let r = rules(r"r .* \L\0");
    assert_eq!(read(&r, "PXE/Boot.IMG"), named("pxe/boot.img"));
    let r = rules(r"r ^([a-z]+)/(.*)$ \U\1\E/\2-x\Lq\UY");
    assert_eq!(read(&r, "abc/dEf"), named("ABC/dEf-xqY"));
    // \x is upper case already; \L lowers it.
    let r = rules(r"r ^ \L\x/");
    assert_eq!(read(&r, "f"), named("c00002a9/f"));
}

#[test]
fn infinite_restart_loop_is_bounded() {
    let r = rules("s ^");
    assert_eq!(read(&r, "f"), Remapped::Refused);
    let r = rules("rs a a");
    assert_eq!(read(&r, "a"), Remapped::Refused);
    // Two rules that undo each other.
    let r = rules("rs ^a$ b\nrs ^b$ a\n");
    assert_eq!(read(&r, "a"), Remapped::Refused);
}

#[test]
fn infinite_global_loop_is_bounded() {
    assert_eq!(read(&rules("rg a a"), "a"), Remapped::Refused);
    assert_eq!(read(&rules("rg x* y"), "abc"), Remapped::Refused);
    assert_eq!(read(&rules("rg a aa"), "a"), Remapped::Refused);
}

#[test]
fn steps_below_the_bound_succeed() {
    // 100 restarts, one step each, then the name no longer matches.
    let start = "a".repeat(100);
    let r = rules("rs ^a \n");
    assert_eq!(read(&r, &start), named(""));
    // A `g` rule running MAX_STEPS times exactly is fine, once more is not.
    let r = rules("rg a ");
    assert_eq!(read(&r, &"a".repeat(MAX_STEPS)), named(""));
    let r = rules("r ^ \nrg a ");
    assert_eq!(read(&r, &"a".repeat(MAX_STEPS)), Remapped::Refused);
}

#[test]
fn output_length_is_bounded() {
    let r = rules(r"r .* \0\0\0\0\0\0\0\0\0\0");
    assert_eq!(read(&r, &"x".repeat(400)), named(&"x".repeat(4000)));
    assert_eq!(read(&r, &"x".repeat(500)), Remapped::Refused);
    assert_eq!(
        read(&rules("# none"), &"x".repeat(MAX_NAME_LEN + 1)),
        Remapped::Refused
    );
    assert_eq!(
        read(&rules("# none"), &"x".repeat(MAX_NAME_LEN)),
        named(&"x".repeat(MAX_NAME_LEN))
    );
}

#[test]
fn ere_escapes_in_the_pattern() {
    assert_eq!(read(&rules(r"r \. _"), "a.b"), named("a_b"));
    assert_eq!(read(&rules(r"r . _"), "a.b"), named("_.b"));
    assert_eq!(read(&rules(r"r \\ /"), r"a\b"), named("a/b"));
    assert_eq!(read(&rules(r"rg \# @"), "a#b#c"), named("a@b@c"));
    assert_eq!(read(&rules(r"r a\ b x"), "a b"), named("x"));
    assert_eq!(read(&rules(r"r \/ x"), "a/b"), named("axb"));
    assert_eq!(read(&rules("r . x"), "\n"), named("x"));
}

#[test]
fn ere_bracket_expressions() {
    // Backslash is literal inside brackets, as is a leading ].
    assert_eq!(read(&rules(r"rg [\] /"), r"a\b\c"), named("a/b/c"));
    assert_eq!(read(&rules(r"rg []x] _"), "a]x"), named("a__"));
    // (`g` searches the rewritten name again, so the replacement must not match.)
    assert_eq!(read(&rules(r"rg [^]x] ]"), "a]x"), named("]]x"));
    assert_eq!(read(&rules(r"rg [[] _"), "a[b"), named("a_b"));
    assert_eq!(read(&rules(r"rg [a&&b] _"), "&x"), named("_x"));
    assert_eq!(read(&rules(r"rg [~-] _"), "a~-b"), named("a__b"));
    assert_eq!(read(&rules(r"rg [a-c] _"), "abcd"), named("___d"));
    assert_eq!(read(&rules(r"rg [[:digit:]] _"), "a1b22"), named("a_b__"));
    assert_eq!(read(&rules(r"rg [^[:alpha:]/] z"), "a1/b."), named("az/bz"));
    assert_eq!(read(&rules(r"rg [[.-.]x] _"), "a-x"), named("a__"));
    assert_eq!(read(&rules(r"rg [[=a=]] _"), "bab"), named("b_b"));
}

#[test]
fn ere_anchors_intervals_and_gnu_escapes() {
    assert_eq!(read(&rules("r ^a$ x"), "a"), named("x"));
    assert_eq!(read(&rules("r ^a$ x"), "ab"), named("ab"));
    assert_eq!(read(&rules("r a{,2} x"), "aaa"), named("xa"));
    assert_eq!(read(&rules("r a{2} x"), "aaa"), named("xa"));
    assert_eq!(read(&rules(r"r \<b x"), "ab b"), named("ab x"));
    assert_eq!(read(&rules(r"r b\> x"), "ba b"), named("ba x"));
    assert_eq!(read(&rules(r"r \`a x"), "aa"), named("xa"));
    assert_eq!(read(&rules(r"r a\' x"), "aa"), named("ax"));
    assert_eq!(read(&rules(r"r \S+$ x"), "a bc"), named("a x"));
    assert_eq!(read(&rules(r"r (ab|cd)+ x"), "zabcdz"), named("zxz"));
}

#[test]
fn leftmost_first_alternation_is_documented() {
    // POSIX would match "ab" (longest); the regex crate takes the first
    // alternative that matches. Writing the longer one first agrees.
    assert_eq!(read(&rules("r a|ab x"), "ab"), named("xb"));
    assert_eq!(read(&rules("r ab|a x"), "ab"), named("x"));
}

#[test]
fn bad_files_report_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("# ok\nr ^a b\nr ([ x\n", 3, "bad pattern"),
        ("r ^a b\n\nrq ^a b\n", 3, "unknown flag 'q'"),
        ("r ^a b\nri\n", 2, "no pattern"),
        ("\n\nr ^(a)(b) \\3\n", 3, "\\3 refers to a group"),
        ("r ^a \\1\n", 1, "\\1 refers to a group"),
        ("# c\ng ^a\n", 2, "'g' needs 'r'"),
        ("~r ^a b\n", 1, "'~' cannot be used with 'r'"),
        ("es ^a\n", 1, "'e' cannot be used with 's'"),
        ("ra ^a b\n", 1, "'a' cannot be used"),
        ("GPa ^a\n", 1, "'G' and 'P'"),
        ("46a ^a\n", 1, "'4' and '6'"),
        ("rr ^a b\n", 1, "given twice"),
        ("rgg ^a b\n", 1, "'gg'"),
        ("rE ^a b\n", 1, "newer tftpd-hpa"),
        (":label\n", 1, "labels"),
        ("r ^a b c\n", 1, "unexpected text 'c'"),
        ("r ^a b\\", 1, "lone backslash"),
        ("\nr (a)\\1 b\n", 2, "back-reference"),
        ("r \\d b\n", 1, "not an ERE escape"),
        ("r (?i)a b\n", 1, "'(?'"),
        ("r [a b\n", 1, "unterminated bracket"),
        ("r [[:word:]] b\n", 1, "unknown character class"),
        ("r [z-a] b\n", 1, "invalid range"),
        ("r ^a \\q\n", 1, "unknown escape \\q"),
    ];
    for &(text, line, needle) in cases {
        let (got_line, message) = err_line(text);
        assert_eq!(got_line, line, "{text:?}: {message}");
        assert!(message.contains(needle), "{text:?}: {message}");
    }
    let e = RemapRules::parse("\nx ^a\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: unknown flag 'x' in 'x'");
}

#[test]
fn replacement_on_a_rule_without_r_is_ignored() {
    let r = rules(r"e ^ok/ \9");
    assert_eq!(read(&r, "ok/x"), named("ok/x"));
}

#[test]
fn load_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("remap-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.map");
    std::fs::write(&good, "r ^/tftpboot/\n").unwrap();
    let r = RemapRules::load(&good).unwrap();
    assert_eq!(read(&r, "/tftpboot/a"), named("a"));
    let bad = dir.join("bad.map");
    std::fs::write(&bad, "# x\nr ^a b\nz ^a\n").unwrap();
    let e = RemapRules::load(&bad).unwrap_err();
    assert!(e.contains("bad.map") && e.contains("line 3"), "{e}");
    let missing = dir.join("missing.map");
    let e = RemapRules::load(&missing).unwrap_err();
    assert!(e.contains("missing.map"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A remap file as an admin would write one for PXE and Windows clients.
const ADMIN_FILE: &str = r"# /etc/tftpd.map -- in.tftpd --map-file /etc/tftpd.map
#
# Windows-style backslashes to slashes
rg	\\			/
# Drop a client-side absolute prefix, then any leading slash
r	^/srv/tftp/(.*)		\1
r	^/tftpboot/		# (empty replacement: strip it)
r	^/
# Buggy PXE ROMs send garbage after the name
r	^pxelinux\.bin\S*	pxelinux.bin
# pxelinux.cfg lives under pxe/
r	^pxelinux.cfg/(.*)	pxe/\1
# Old firmware asks in upper case
ri	^BOOT\.IMG$		boot.img
# Uploads go to a per-host directory
rP	^.*			incoming/\i/\0
# Nobody gets private keys
a	\.pvt$
";

#[test]
fn realistic_admin_file() {
    let r = rules(ADMIN_FILE);
    assert_eq!(r.len(), 9);
    let get = |n: &str| r.apply(n, RequestKind::Read, V4);
    assert_eq!(get(r"\pxe\pxelinux.0"), named("pxe/pxelinux.0"));
    assert_eq!(get("/srv/tftp/images/x.img"), named("images/x.img"));
    assert_eq!(get("/tftpboot/kernel"), named("kernel"));
    assert_eq!(get("/kernel"), named("kernel"));
    assert_eq!(get("pxelinux.biny\u{1}o"), named("pxelinux.bin"));
    assert_eq!(
        get("pxelinux.cfg/01-aa-bb-cc-dd-ee-ff"),
        named("pxe/01-aa-bb-cc-dd-ee-ff")
    );
    assert_eq!(get("BOOT.IMG"), named("boot.img"));
    assert_eq!(get("Boot.Img"), named("boot.img"));
    assert_eq!(get("host.pvt"), Remapped::Refused);
    assert_eq!(
        r.apply(r"\logs\run.txt", RequestKind::Write, V4),
        named("incoming/192.0.2.169/logs/run.txt")
    );
}

/// The rule lines of the sample rule file shipped with tftp-hpa
/// (tftpd/sample.rules), with their trailing comments, unchanged.
const SAMPLE_RULES: &str = "\
ri\t^[a-z]:\t\t\t\t# Remove \"drive letters\"
rg\t\\\\\t\t/\t\t# Convert backslashes to slashes
rg\t\\#\t\t@\t\t# Convert hash marks to @ signs
rg\t/../\t\t/..no../\t# Convert /../ to /..no../
e\t^ok/\t\t\t\t# These are always ok
r\t^[^/]\t\t/tftpboot/\\0\t# Convert non-absolute files
a\t\\.pvt$\t\t\t\t# Reject requests for private files
";

#[test]
fn tftp_hpa_sample_rules() {
    let r = rules(SAMPLE_RULES);
    assert_eq!(r.len(), 7);
    assert_eq!(read(&r, r"C:\boot\pxe.0"), named("/boot/pxe.0"));
    assert_eq!(read(&r, "a#b"), named("/tftpboot/a@b"));
    assert_eq!(read(&r, "/x/../etc"), named("/x/..no../etc"));
    assert_eq!(read(&r, "ok/key.pvt"), named("ok/key.pvt"));
    assert_eq!(read(&r, "key.pvt"), Remapped::Refused);
    assert_eq!(read(&r, "pxelinux.0"), named("/tftpboot/pxelinux.0"));
    assert_eq!(read(&r, "/abs/file"), named("/abs/file"));
}
