//! Splitting one config line into key and value (nom), the way LXC's
//! parse_line does it.

use nom::bytes::complete::take_till1;
use nom::character::complete::char;
use nom::combinator::rest;
use nom::sequence::separated_pair;
use nom::{IResult, Parser};

/// What one line of a config file holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Blank, a comment, or a line that does not start with `lxc.` (LXC
    /// silently ignores those "martian" lines; so do we).
    Skip,
    Pair {
        key: &'a str,
        value: &'a str,
    },
}

fn pair(i: &str) -> IResult<&str, (&str, &str)> {
    separated_pair(take_till1(|c| c == '='), char('='), rest).parse(i)
}

/// Strip one pair of matching surrounding quotes (`"bb1"` and `'bb1'` mean bb1).
pub fn strip_quotes(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Parse one line (without its newline). `Err` holds the message part of
/// `FILE:LINE: message`.
pub fn line(raw: &str) -> Result<Line<'_>, String> {
    let l = raw.trim();
    if l.is_empty() || l.starts_with('#') || !l.starts_with("lxc.") {
        return Ok(Line::Skip);
    }
    match pair(l) {
        Ok((_, (k, v))) => Ok(Line::Pair {
            key: k.trim_end(),
            value: strip_quotes(v.trim()),
        }),
        Err(_) => Err(format!("expected \"key = value\", got \"{l}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(line("  # c"), Ok(Line::Skip));
        assert_eq!(line(""), Ok(Line::Skip));
        assert_eq!(line("foo = bar"), Ok(Line::Skip));
        assert_eq!(
            line("  lxc.uts.name = \"bb1\"  \r"),
            Ok(Line::Pair {
                key: "lxc.uts.name",
                value: "bb1"
            })
        );
        assert_eq!(
            line("lxc.a='x'"),
            Ok(Line::Pair {
                key: "lxc.a",
                value: "x"
            })
        );
        assert_eq!(
            line("lxc.a = \"x'"),
            Ok(Line::Pair {
                key: "lxc.a",
                value: "\"x'"
            })
        );
        assert_eq!(
            line("lxc.a = b = c"),
            Ok(Line::Pair {
                key: "lxc.a",
                value: "b = c"
            })
        );
        assert_eq!(
            line("lxc.a ="),
            Ok(Line::Pair {
                key: "lxc.a",
                value: ""
            })
        );
        assert!(line("lxc.a").is_err());
    }
}
