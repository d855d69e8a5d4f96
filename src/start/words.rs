//! Splitting lxc.init.cmd / lxc.execute.cmd into argv: whitespace separated,
//! with single and double quotes and backslash escapes, as LXC does.

use anyhow::{bail, Result};

pub fn split(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        bail!("unterminated quote in \"{s}\"");
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn words() {
        assert_eq!(split("/sbin/init").unwrap(), ["/sbin/init"]);
        assert_eq!(
            split("  sh -c 'echo a  b' \"x y\" z\\ w").unwrap(),
            ["sh", "-c", "echo a  b", "x y", "z w"]
        );
        assert_eq!(split("a ''").unwrap(), ["a", ""]);
        assert!(split("sh -c 'oops").is_err());
    }
}
