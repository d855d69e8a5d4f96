//! The lxc-console escape sequence: <prefix> q detaches.

/// Ctrl-a, LXC's default prefix.
pub const DEFAULT_ESCAPE: u8 = 0x01;

/// Parse `-e` the way LXC does: `^x` or `x` for Ctrl-x (letters, either
/// case), `-1` (or any negative number) to disable the escape. `None` in the
/// Ok value means disabled.
pub fn parse_escape(s: &str) -> Result<Option<u8>, String> {
    if s.starts_with('-') && s[1..].parse::<u32>().is_ok() {
        return Ok(None);
    }
    let letter = s.strip_prefix('^').unwrap_or(s);
    let mut chars = letter.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => {
            Ok(Some(c.to_ascii_lowercase() as u8 - b'a' + 1))
        }
        _ => Err(format!(
            "invalid escape character '{s}' (use ^LETTER, LETTER or -1 to disable)"
        )),
    }
}

/// Filters the user's keystrokes: <prefix> q requests a detach,
/// <prefix><prefix> sends one prefix, <prefix> followed by anything else sends
/// that other byte (the prefix is swallowed), exactly as LXC's console does.
/// State carries across reads, so a prefix at the end of one read and `q` at
/// the start of the next still detach.
#[derive(Debug, Clone)]
pub struct Escape {
    prefix: Option<u8>,
    saw_prefix: bool,
}

impl Escape {
    pub fn new(prefix: Option<u8>) -> Self {
        Self {
            prefix,
            saw_prefix: false,
        }
    }

    /// Append to `out` what must go to the peer; true when a detach was
    /// requested (bytes after the `q` are dropped).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(p) = self.prefix else {
            out.extend_from_slice(input);
            return false;
        };
        for &c in input {
            if self.saw_prefix {
                self.saw_prefix = false;
                if c == b'q' {
                    return true;
                }
                out.push(c);
            } else if c == p {
                self.saw_prefix = true;
            } else {
                out.push(c);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(e: &mut Escape, s: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let d = e.feed(s, &mut out);
        (out, d)
    }

    #[test]
    fn sequences() {
        let mut e = Escape::new(Some(1));
        assert_eq!(run(&mut e, b"ls\r"), (b"ls\r".to_vec(), false));
        assert_eq!(run(&mut e, b"a\x01\x01b"), (b"a\x01b".to_vec(), false));
        assert_eq!(run(&mut e, b"\x01x"), (b"x".to_vec(), false));
        assert_eq!(run(&mut e, b"z\x01qjunk"), (b"z".to_vec(), true));
        // split across reads
        let mut e = Escape::new(Some(1));
        assert_eq!(run(&mut e, b"\x01"), (vec![], false));
        assert_eq!(run(&mut e, b"q"), (vec![], true));
        // q alone is just q
        let mut e = Escape::new(Some(1));
        assert_eq!(run(&mut e, b"q"), (b"q".to_vec(), false));
        // disabled
        let mut e = Escape::new(None);
        assert_eq!(run(&mut e, b"\x01q"), (b"\x01q".to_vec(), false));
    }

    #[test]
    fn parse() {
        assert_eq!(parse_escape("^a"), Ok(Some(1)));
        assert_eq!(parse_escape("b"), Ok(Some(2)));
        assert_eq!(parse_escape("^B"), Ok(Some(2)));
        assert_eq!(parse_escape("-1"), Ok(None));
        assert!(parse_escape("^").is_err());
        assert!(parse_escape("ab").is_err());
        assert!(parse_escape("^1").is_err());
    }
}
