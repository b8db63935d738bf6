//! POSIX extended regular expressions (tftpd-hpa's pattern syntax) translated to the syntax
//! of the `regex` crate, refusing what cannot be translated faithfully.

/// Characters the regex crate treats as special somewhere, escaped when they
/// are meant literally.
fn is_regex_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
}

fn push_literal(out: &mut String, c: char) {
    if is_regex_meta(c) {
        out.push('\\');
    }
    out.push(c);
}

/// Translates a POSIX extended regular expression into regex-crate syntax.
pub(super) fn translate_ere(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => {
                let Some(&next) = chars.get(i) else {
                    return Err("trailing backslash".to_owned());
                };
                i += 1;
                match next {
                    '1'..='9' => {
                        return Err(format!("back-reference \\{next} is not supported"));
                    }
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(next);
                    }
                    '<' => out.push_str(r"\b{start}"),
                    '>' => out.push_str(r"\b{end}"),
                    '`' => out.push_str(r"\A"),
                    '\'' => out.push_str(r"\z"),
                    c if c.is_ascii_alphanumeric() => {
                        return Err(format!("\\{c} is not an ERE escape"));
                    }
                    c => push_literal(&mut out, c),
                }
            }
            '[' => i = translate_bracket(&chars, i, &mut out)?,
            '(' if chars.get(i) == Some(&'?') => {
                return Err("'(?' is not ERE syntax".to_owned());
            }
            '{' if chars.get(i) == Some(&',') => out.push_str("{0"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Translates the bracket expression whose `[` is just before `chars[start]`;
/// returns the index after its closing `]`.
fn translate_bracket(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    const CLASSES: [&str; 12] = [
        "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
        "upper", "xdigit",
    ];
    let unterminated = || "unterminated bracket expression".to_owned();
    let mut i = start;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(unterminated());
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        // `[:name:]`, `[=c=]`, `[.c.]`
        if c == '[' && matches!(chars.get(i + 1), Some(':' | '=' | '.')) {
            let kind = chars[i + 1];
            let body_start = i + 2;
            let end = (body_start..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == kind && chars[j + 1] == ']')
                .ok_or_else(unterminated)?;
            let body: String = chars[body_start..end].iter().collect();
            i = end + 2;
            if kind == ':' {
                if !CLASSES.contains(&body.as_str()) {
                    return Err(format!("unknown character class [:{body}:]"));
                }
                out.push_str(&format!("[:{body}:]"));
                continue;
            }
            let mut it = body.chars();
            let (Some(single), None) = (it.next(), it.next()) else {
                return Err(format!(
                    "[{kind}{body}{kind}] must name exactly one character"
                ));
            };
            i = range_or_single(chars, i, single, out)?;
            continue;
        }
        i = range_or_single(chars, i + 1, c, out)?;
    }
}

/// Emits `low` alone, or the range `low-high` if `chars[i]` is `-` followed by
/// something other than the closing `]`; returns the index after what it used.
fn range_or_single(chars: &[char], i: usize, low: char, out: &mut String) -> Result<usize, String> {
    if chars.get(i) == Some(&'-') && !matches!(chars.get(i + 1), Some(']') | None) {
        let mut high = chars[i + 1];
        let mut next = i + 2;
        if high == '[' && matches!(chars.get(i + 2), Some('.' | '=')) {
            let kind = chars[i + 2];
            match (chars.get(i + 3), chars.get(i + 4), chars.get(i + 5)) {
                (Some(&h), Some(&k), Some(']')) if k == kind => {
                    high = h;
                    next = i + 6;
                }
                _ => return Err("bad range end in bracket expression".to_owned()),
            }
        }
        if high < low {
            return Err(format!("invalid range {low}-{high} in bracket expression"));
        }
        push_literal(out, low);
        out.push('-');
        push_literal(out, high);
        Ok(next)
    } else {
        push_literal(out, low);
        Ok(i)
    }
}
