//! Reading a remap file: a line into fields, fields into a [`Rule`] (flags, the pattern
//! compiled through [`super::ere`], the replacement into pieces).

use regex::RegexBuilder;

use super::ere::translate_ere;
use super::{Flags, Piece, Rule};

/// Splits a line into its whitespace-separated fields, dropping a `#` comment.
/// A backslash keeps itself and the next character in the field.
pub(super) fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(next) = chars.next() else {
                return Err("the line ends with a lone backslash".to_owned());
            };
            field.push(c);
            field.push(next);
        } else if c == '#' {
            break;
        } else if c.is_whitespace() {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    Ok(fields)
}

pub(super) fn parse_rule(fields: &[String]) -> Result<Rule, String> {
    let ops = &fields[0];
    if ops.starts_with(':') {
        return Err(format!(
            "labels ({ops}) belong to newer tftpd-hpa versions and are not supported"
        ));
    }
    let flags = parse_flags(ops)?;
    let Some(pattern) = fields.get(1) else {
        return Err(format!("rule '{ops}' has no pattern"));
    };
    if let Some(extra) = fields.get(3) {
        return Err(format!(
            "unexpected text '{extra}' after the replacement (escape spaces as '\\ ')"
        ));
    }
    let translated = translate_ere(pattern).map_err(|e| format!("bad pattern '{pattern}': {e}"))?;
    let regex = RegexBuilder::new(&translated)
        .case_insensitive(flags.icase)
        .dot_matches_new_line(true)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let detail = detail.lines().last().unwrap_or("").trim();
            let detail = detail.strip_prefix("error: ").unwrap_or(detail);
            format!("bad pattern '{pattern}': {detail}")
        })?;
    let groups = regex.captures_len() - 1;
    let replacement = match (flags.replace, fields.get(2)) {
        (true, Some(text)) => {
            parse_replacement(text, groups).map_err(|e| format!("bad replacement '{text}': {e}"))?
        }
        // Without `r` a replacement has no use; tftpd-hpa accepts and ignores it.
        _ => Vec::new(),
    };
    Ok(Rule {
        regex,
        flags,
        replacement,
    })
}

fn parse_flags(ops: &str) -> Result<Flags, String> {
    let mut f = Flags::default();
    let mut seen = String::new();
    for c in ops.chars() {
        if seen.contains(c) {
            return Err(if c == 'g' {
                "flag 'gg' (sed-style global replace of newer tftpd-hpa versions) is not supported"
                    .to_owned()
            } else {
                format!("flag '{c}' given twice in '{ops}'")
            });
        }
        seen.push(c);
        let slot = match c {
            'r' => &mut f.replace,
            'g' => &mut f.global,
            'i' => &mut f.icase,
            'e' => &mut f.end,
            's' => &mut f.restart,
            'a' => &mut f.abort,
            'G' => &mut f.read_only,
            'P' => &mut f.write_only,
            '4' => &mut f.v4_only,
            '6' => &mut f.v6_only,
            '~' => &mut f.invert,
            'E' | 'j' => {
                return Err(format!(
                    "flag '{c}' belongs to newer tftpd-hpa versions and is not supported"
                ))
            }
            _ => return Err(format!("unknown flag '{c}' in '{ops}'")),
        };
        *slot = true;
    }
    let conflict = if f.global && !f.replace {
        Some("'g' needs 'r'")
    } else if f.invert && f.replace {
        Some("'~' cannot be used with 'r'")
    } else if f.end && f.restart {
        Some("'e' cannot be used with 's'")
    } else if f.abort && (f.replace || f.end || f.restart) {
        Some("'a' cannot be used with 'r', 'e' or 's'")
    } else if f.read_only && f.write_only {
        Some("'G' and 'P' together match no request")
    } else if f.v4_only && f.v6_only {
        Some("'4' and '6' together match no client")
    } else {
        None
    };
    match conflict {
        Some(why) => Err(format!("flags '{ops}': {why}")),
        None => Ok(f),
    }
}

fn parse_replacement(text: &str, groups: usize) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            literal.push(c);
            continue;
        }
        // The field splitter never leaves a lone trailing backslash.
        let Some(next) = chars.next() else {
            return Err("trailing backslash".to_owned());
        };
        let piece = match next {
            '0'..='9' => {
                let n = next as usize - '0' as usize;
                if n > groups {
                    return Err(format!(
                        "\\{n} refers to a group the pattern does not have (it has {groups})"
                    ));
                }
                Piece::Group(n)
            }
            'i' => Piece::Ip,
            'x' => Piece::IpHex,
            'U' => Piece::Upper,
            'L' => Piece::Lower,
            'E' => Piece::EndCase,
            c if c.is_ascii_alphanumeric() => return Err(format!("unknown escape \\{c}")),
            c => {
                literal.push(c);
                continue;
            }
        };
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        pieces.push(piece);
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}
