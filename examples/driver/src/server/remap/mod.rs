//! Filename remapping in the style of tftpd-hpa's `--map-file` (`-m`) option.
//!
//! A remap file rewrites (or refuses) the file name a client asks for, before
//! the server resolves it against its root directory. The format and the
//! semantics follow the "FILENAME REMAPPING" section of tftpd-hpa's `tftpd(8)`.
//! This is a fresh implementation written from that manual page, not a port of
//! tftpd-hpa's code.
//!
//! # Format
//!
//! The file is read line by line. On each line, an unescaped `#` starts a
//! comment that runs to the end of the line, so a comment may follow a rule
//! on the same line. Blank and comment-only lines are ignored. Every other
//! line is one rule made of two or three fields separated by whitespace:
//!
//! ```text
//! operation  regex  [replacement]
//! ```
//!
//! A backslash takes the next character into the current field, so `\ `
//! (backslash, space) and `\#` are a literal space and a literal hash mark
//! rather than a field separator or a comment. The backslash stays in the field
//! and is interpreted by the pattern or the replacement (see below). A line
//! that ends in a lone backslash is an error, as is a fourth field.
//!
//! ## Operation
//!
//! The first field is a combination of these letters, each used at most once:
//!
//! | flag | meaning |
//! |------|---------|
//! | `r`  | replace the part of the name the regex matched by the replacement |
//! | `g`  | repeat this rule (search from the start of the rewritten name again) until it no longer matches; needs `r` |
//! | `i`  | match the regex case-insensitively |
//! | `e`  | if this rule matches, stop processing after executing it |
//! | `s`  | if this rule matches, start over at the first rule after executing it |
//! | `a`  | if this rule matches, refuse the request ([`Remapped::Refused`]) |
//! | `G`  | the rule applies to read requests (GET, RRQ) only |
//! | `P`  | the rule applies to write requests (PUT, WRQ) only |
//! | `4`  | the rule applies to IPv4 clients only |
//! | `6`  | the rule applies to IPv6 clients only |
//! | `~`  | invert the rule: execute it only if the regex does *not* match; not with `r` |
//!
//! Combinations that cannot mean anything are refused when the file is parsed:
//! `g` without `r`, `~` with `r`, `e` with `s`, `a` with `r`, `e` or `s`, `G`
//! with `P`, and `4` with `6`. The `E` and `j` flags, `gg` and `:label` lines
//! of newer tftpd-hpa development versions are not supported and are refused
//! with a message saying so.
//!
//! Rules are processed from the top down and, by default, every rule is
//! tried even after one matched: each rule sees the name as rewritten by the
//! rules before it. A rule that does not apply to the request (`G`, `P`, `4`,
//! `6`) is skipped as if it had not matched.
//!
//! ## Pattern
//!
//! The second field is a POSIX extended regular expression (ERE, as in
//! `egrep`), searched for anywhere in the name: use `^` and `$` to anchor it.
//! `^` alone is a rule that always matches. It is translated to the syntax of
//! the [`regex`] crate before it is compiled, so that ERE meanings hold where the
//! two differ:
//!
//! * A backslash followed by a character that is not a letter or digit stands
//!   for that character: `\.` is a dot, `\\` a backslash, `\#` a hash mark,
//!   `\ ` a space.
//! * Inside a bracket expression a backslash is an ordinary character (ERE), so
//!   `[\]` matches a backslash, and `]` first in the list is literal (`[]a]`).
//!   `[`, `&`, `~` and `-` have no special meaning there either, as in ERE
//!   (the regex crate would read nested classes and set operations).
//!   Character classes such as `[[:digit:]]` work; an equivalence class
//!   `[=c=]` or collating symbol `[.c.]` of one character is that character.
//! * The GNU escapes `\w \W \s \S \b \B` keep their meaning (Unicode-aware
//!   here); `\<` and `\>` are the start and end of a word, `` \` `` and `\'` the
//!   start and end of the name.
//! * `{,n}` means `{0,n}`.
//! * `.` matches any character, a newline included.
//! * `^` and `$` match only at the start and the end of the name (there is no
//!   multi-line mode), as in an ERE compiled without `REG_NEWLINE`.
//!
//! What cannot be translated faithfully is refused when the file is parsed:
//! back-references (`\1` in the pattern; ERE as standardised has none) and any
//! other backslash-letter or backslash-digit escape, such as `\d` (which GNU
//! ERE reads as a literal `d`, while the regex crate reads a digit class: refused
//! rather than silently different). Syntax that only the regex crate has, such
//! as `(?i)`, is refused too, as ERE would.
//!
//! One difference remains: POSIX asks for the *leftmost-longest* match, while
//! the regex crate finds the *leftmost-first* match (alternatives are tried in
//! the order written). They agree whenever the alternatives of a `|` cannot
//! match at the same place with different lengths; write the longer
//! alternative first (`ab|a`, not `a|ab`) to get the POSIX result anywhere.
//! Case-insensitive matching uses Unicode simple case folding, which agrees
//! with the C locale on ASCII names.
//!
//! ## Replacement
//!
//! The third field is used by `r` rules (and ignored by others); it may be
//! absent, which replaces the match by nothing (`r ^/` strips a leading slash;
//! there is no quoting, so `''` would be two apostrophes). In it:
//!
//! | escape | becomes |
//! |--------|---------|
//! | `\0` | the whole match |
//! | `\1` … `\9` | the text matched by the first nine parenthesised groups (empty if the group did not take part in the match) |
//! | `\i` | the client's IP address: dotted quad for IPv4, the usual colon form for IPv6 |
//! | `\x` | the client's IP address in hexadecimal, upper case and zero-padded: 8 digits for IPv4, 32 for IPv6 |
//! | `\U` | turn the letters that follow to upper case |
//! | `\L` | turn the letters that follow to lower case |
//! | `\E` | cancel `\U` or `\L` |
//! | `\\`, `\#`, `\` + whitespace | a literal backslash, hash mark or whitespace |
//!
//! A backslash before any other character that is not a letter or digit stands
//! for that character; any other backslash-letter escape is refused, and so is
//! `\N` for a group the pattern does not have. The case changes affect ASCII
//! letters only, of literal text and substituted text alike, up to the end of
//! the replacement. So lower-casing *is* possible: `r .* \L\0` lower-cases the
//! whole name; an `ri` rule per name (`ri ^BOOT\.IMG$ boot.img`) handles a few
//! known names.
//!
//! An IPv4 client seen on a dual-stack socket as an IPv4-mapped IPv6 address
//! (`::ffff:192.0.2.1`) counts as the IPv4 address, for `\i`, `\x`, `4` and
//! `6` alike.
//!
//! # Bounds
//!
//! Rules with `s` or `g` can loop forever in tftpd-hpa (a rule that keeps
//! matching). Here [`RemapRules::apply`] executes at most [`MAX_STEPS`] rules
//! per name (each repetition of a `g` rule counts as one) and refuses the name
//! when that is exceeded, and it refuses any name, given or rewritten, longer
//! than [`MAX_NAME_LEN`] bytes, so that a rule cannot grow it without bound.
//!
//! # Names are text here
//!
//! TFTP file names are bytes. This module takes `&str`: the caller refuses
//! names that are not UTF-8 before remapping, or converts them with
//! [`String::from_utf8_lossy`] (a U+FFFD replacement character then matches
//! only itself and `.`).

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use regex::{Captures, Regex};

use parse::{parse_rule, split_fields};

mod ere;
mod parse;
#[cfg(test)]
mod tests;

/// The most rules [`RemapRules::apply`] executes for one name before it refuses
/// it; each repetition of a `g` rule counts as one execution. A rule that is
/// tried but does not match does not count. This is the default of the
/// `--map-steps` option of current tftpd-hpa.
pub const MAX_STEPS: usize = 4096;

/// The longest name, in bytes, that [`RemapRules::apply`] accepts or produces;
/// a longer one, given or rewritten at any step, is refused.
pub const MAX_NAME_LEN: usize = 4096;

/// A parsed remap file: its rules, in file order, ready to be applied.
#[derive(Debug, Clone)]
pub struct RemapRules {
    rules: Vec<Rule>,
}

/// Why a rule file was refused: its line number (1-based) and what is wrong.
#[derive(Debug)]
pub struct RemapError {
    /// The 1-based number of the offending line.
    pub line: usize,
    /// What is wrong with that line.
    pub message: String,
}

impl fmt::Display for RemapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for RemapError {}

/// The request kind a rule may be limited to (`G` and `P` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// A read request (RRQ, "GET"): the `G` flag limits a rule to these.
    Read,
    /// A write request (WRQ, "PUT"): the `P` flag limits a rule to these.
    Write,
}

/// What the rules did to a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remapped {
    /// The name to serve, rewritten or not.
    Name(String),
    /// Refuse the request: an `a` rule matched, or a bound ([`MAX_STEPS`],
    /// [`MAX_NAME_LEN`]) was exceeded.
    Refused,
}

/// One rule of the file.
#[derive(Debug, Clone)]
struct Rule {
    regex: Regex,
    flags: Flags,
    replacement: Vec<Piece>,
}

/// The operation letters of a rule.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    replace: bool,
    global: bool,
    icase: bool,
    end: bool,
    restart: bool,
    abort: bool,
    read_only: bool,
    write_only: bool,
    v4_only: bool,
    v6_only: bool,
    invert: bool,
}

/// A piece of a parsed replacement pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
    Ip,
    IpHex,
    Upper,
    Lower,
    EndCase,
}

/// Letter-case conversion in force while a replacement is expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Keep,
    Upper,
    Lower,
}

impl RemapRules {
    /// Parses the text of a remap file (see the module documentation for the
    /// format). The first bad line is reported with its 1-based number.
    pub fn parse(text: &str) -> Result<RemapRules, RemapError> {
        let mut rules = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let fields = split_fields(line).map_err(|message| RemapError {
                line: line_no,
                message,
            })?;
            if fields.is_empty() {
                continue;
            }
            let rule = parse_rule(&fields).map_err(|message| RemapError {
                line: line_no,
                message,
            })?;
            rules.push(rule);
        }
        Ok(RemapRules { rules })
    }

    /// Reads and parses the remap file at `path`. The error text names the
    /// file and, for a bad rule, the line (`FILE: line N: what`).
    pub fn load(path: &Path) -> Result<RemapRules, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("remap file {}: {}", path.display(), e))?;
        RemapRules::parse(&text).map_err(|e| format!("remap file {}: {}", path.display(), e))
    }

    /// Runs the rules over `name`, for a request of `kind` from `client`, and
    /// returns the name to use or [`Remapped::Refused`]. Refuses when an `a`
    /// rule matches, after more than [`MAX_STEPS`] rule executions, or when
    /// the name is or becomes longer than [`MAX_NAME_LEN`] bytes.
    pub fn apply(&self, name: &str, kind: RequestKind, client: IpAddr) -> Remapped {
        let client = canonical_ip(client);
        if name.len() > MAX_NAME_LEN {
            return Remapped::Refused;
        }
        let mut name = name.to_owned();
        let mut steps = 0usize;
        let mut index = 0usize;
        while let Some(rule) = self.rules.get(index) {
            index += 1;
            if !rule.applies_to(kind, client) {
                continue;
            }
            let caps = rule.regex.captures(&name);
            if caps.is_some() == rule.flags.invert {
                continue;
            }
            steps += 1;
            if steps > MAX_STEPS || rule.flags.abort {
                return Remapped::Refused;
            }
            if let (Some(caps), true) = (caps, rule.flags.replace) {
                let Some(mut rewritten) = rule.substitute(&name, &caps, client) else {
                    return Remapped::Refused;
                };
                if rule.flags.global {
                    while let Some(caps) = rule.regex.captures(&rewritten) {
                        steps += 1;
                        if steps > MAX_STEPS {
                            return Remapped::Refused;
                        }
                        let Some(next) = rule.substitute(&rewritten, &caps, client) else {
                            return Remapped::Refused;
                        };
                        rewritten = next;
                    }
                }
                name = rewritten;
            }
            if rule.flags.end {
                break;
            }
            if rule.flags.restart {
                index = 0;
            }
        }
        Remapped::Name(name)
    }

    /// The number of rules in the file (comment and blank lines excluded).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True if the file holds no rules: every name is then left as it is.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl Rule {
    fn applies_to(&self, kind: RequestKind, client: IpAddr) -> bool {
        let f = &self.flags;
        !(f.read_only && kind != RequestKind::Read
            || f.write_only && kind != RequestKind::Write
            || f.v4_only && !client.is_ipv4()
            || f.v6_only && !client.is_ipv6())
    }

    /// `name` with the match in `caps` replaced by the expanded replacement,
    /// or `None` if the result would be longer than [`MAX_NAME_LEN`].
    fn substitute(&self, name: &str, caps: &Captures<'_>, client: IpAddr) -> Option<String> {
        let whole = caps.get(0).expect("group 0 always takes part in a match");
        let mut out = String::with_capacity(name.len());
        out.push_str(&name[..whole.start()]);
        let mut case = Case::Keep;
        for piece in &self.replacement {
            match piece {
                Piece::Literal(text) => push_cased(&mut out, text, case),
                Piece::Group(n) => {
                    if let Some(m) = caps.get(*n) {
                        push_cased(&mut out, m.as_str(), case);
                    }
                }
                Piece::Ip => push_cased(&mut out, &client.to_string(), case),
                Piece::IpHex => push_cased(&mut out, &ip_hex(client), case),
                Piece::Upper => case = Case::Upper,
                Piece::Lower => case = Case::Lower,
                Piece::EndCase => case = Case::Keep,
            }
            if out.len() > MAX_NAME_LEN {
                return None;
            }
        }
        out.push_str(&name[whole.end()..]);
        (out.len() <= MAX_NAME_LEN).then_some(out)
    }
}

fn push_cased(out: &mut String, text: &str, case: Case) {
    match case {
        Case::Keep => out.push_str(text),
        Case::Upper => out.extend(text.chars().map(|c| c.to_ascii_uppercase())),
        Case::Lower => out.extend(text.chars().map(|c| c.to_ascii_lowercase())),
    }
}

/// An IPv4 client seen through an IPv4-mapped IPv6 address is an IPv4 client.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn ip_hex(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{:08X}", u32::from(v4)),
        IpAddr::V6(v6) => format!("{:032X}", u128::from(v6)),
    }
}
