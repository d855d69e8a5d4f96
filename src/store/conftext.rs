//! A container config as text, edited the way LXC edits its "unexpanded"
//! config when it creates, clones and snapshots containers: lines are kept
//! verbatim (comments and unknown lines included, includes not expanded),
//! blank lines are dropped (LXC 5.0.2 does not keep them), a key is
//! cleared by removing its lines and set by appending `key = value`.

use std::path::Path;

use anyhow::Result;

use crate::config::{lex_line, LexLine};

/// Config text as a list of lines (without their newlines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfText {
    lines: Vec<String>,
}

impl ConfText {
    /// Take config text as LXC reads it: blank lines dropped, and every
    /// network hwaddr template (`00:16:3e:xx:xx:xx`) given random hex
    /// digits, so the address saved with the container stays fixed.
    pub fn parse(text: &str) -> ConfText {
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(complete_hwaddr_line)
            .collect();
        ConfText { lines }
    }

    pub fn read(path: &Path) -> Result<ConfText> {
        Ok(ConfText::parse(&crate::config::read_text(path)?))
    }

    /// The text, one `\n` after every line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The key of a line, when it is a `lxc.*` assignment.
    fn key_of(line: &str) -> Option<&str> {
        match lex_line(line) {
            Ok(LexLine::Pair { key, .. }) => Some(key),
            _ => None,
        }
    }

    /// The value of a line, when it is an assignment of `key`.
    fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
        match lex_line(line) {
            Ok(LexLine::Pair { key: k, value }) if k == key => Some(value),
            _ => None,
        }
    }

    /// Values of every line assigning `key`, in order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines
            .iter()
            .filter_map(move |l| Self::value_of(l, key))
    }

    /// True when some line assigns one of `keys`.
    pub fn sets(&self, keys: &[&str]) -> bool {
        self.lines
            .iter()
            .any(|l| Self::key_of(l).is_some_and(|k| keys.contains(&k)))
    }

    /// Remove the lines assigning `key` (LXC's clear_unexp_config_line:
    /// the line must start with the key, followed by blanks or `=`).
    pub fn clear(&mut self, key: &str) {
        self.lines.retain(|l| {
            !(l.starts_with(key)
                && l[key.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c == '=' || c.is_whitespace()))
        });
    }

    /// Append `key = value` (`key =` for an empty value).
    pub fn append(&mut self, key: &str, value: &str) {
        if value.is_empty() {
            self.lines.push(format!("{key} ="));
        } else {
            self.lines.push(format!("{key} = {value}"));
        }
    }

    /// Append a raw line.
    pub fn push_line(&mut self, line: &str) {
        self.lines.push(line.to_string());
    }

    /// Prepend lines (the template header).
    pub fn prepend(&mut self, lines: &[String]) {
        let mut v = lines.to_vec();
        v.append(&mut self.lines);
        self.lines = v;
    }

    /// Give every hwaddr line a fresh random address (a clone must not
    /// share MACs with its origin). Returns (old, new) pairs.
    pub fn renew_hwaddrs(&mut self) -> Vec<(String, String)> {
        let mut changed = Vec::new();
        for l in &mut self.lines {
            if !is_hwaddr_key(l) {
                continue;
            }
            let Some(eq) = l.find('=') else { continue };
            let v_start = eq + 1 + (l[eq + 1..].len() - l[eq + 1..].trim_start().len());
            let v_end = v_start
                + l[v_start..]
                    .find(|c: char| c.is_whitespace())
                    .unwrap_or(l.len() - v_start);
            if v_end - v_start != 17 {
                log::warn!("not renewing malformed hwaddr line \"{l}\"");
                continue;
            }
            let new = new_hwaddr();
            changed.push((l[v_start..v_end].to_string(), new.clone()));
            l.replace_range(v_start..v_end, &new);
        }
        changed
    }

    /// Rewrite, in the values of the lines assigning any key for which
    /// `select(key)` holds, every occurrence of `old` that starts a path
    /// (at the value's start or after a blank, `=`, `,` or `:`) and ends a
    /// path component. Returns the number of replacements.
    pub fn rewrite_paths(&mut self, select: impl Fn(&str) -> bool, old: &str, new: &str) -> usize {
        let mut n = 0;
        for l in &mut self.lines {
            let Some(key) = Self::key_of(l) else { continue };
            if !select(key) {
                continue;
            }
            let Some(eq) = l.find('=') else { continue };
            let (head, tail) = l.split_at(eq + 1);
            let (t, k) = replace_path_prefix(tail, old, new);
            if k > 0 {
                *l = format!("{head}{t}");
                n += k;
            }
        }
        n
    }
}

/// Replace `old` where it begins a path inside `s`.
pub fn replace_path_prefix(s: &str, old: &str, new: &str) -> (String, usize) {
    let mut out = String::with_capacity(s.len());
    let mut n = 0;
    let mut rest = s;
    let mut prev: Option<char> = None;
    while let Some(i) = rest.find(old) {
        let before = rest[..i].chars().next_back().or(prev);
        let after = rest[i + old.len()..].chars().next();
        let starts = before.is_none_or(|c| c.is_whitespace() || "=,:\"'".contains(c));
        let ends = after.is_none_or(|c| c == '/' || c.is_whitespace() || ",:\"'".contains(c));
        out.push_str(&rest[..i]);
        if starts && ends {
            out.push_str(new);
            n += 1;
        } else {
            out.push_str(old);
        }
        prev = old.chars().next_back();
        rest = &rest[i + old.len()..];
    }
    out.push_str(rest);
    (out, n)
}

/// LXC's lxc_config_net_is_hwaddr: `lxc.net.hwaddr`, `lxc.network.hwaddr`,
/// `lxc.net.N.hwaddr`, `lxc.network.N.hwaddr` at the start of the line.
fn is_hwaddr_key(line: &str) -> bool {
    for prefix in ["lxc.net.", "lxc.network."] {
        if let Some(r) = line.strip_prefix(prefix) {
            if r.starts_with("hwaddr") {
                return true;
            }
            let digits = r.chars().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 && r[digits..].starts_with(".hwaddr") {
                return true;
            }
        }
    }
    false
}

/// Random bytes from the kernel.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        match rustix::rand::getrandom(&mut b[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(k) => filled += k,
            Err(rustix::io::Errno::INTR) => {}
            // getrandom cannot fail on Linux >= 3.17 except for EINTR;
            // fall back to the clock rather than panic.
            Err(_) => {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                for (i, x) in b[filled..].iter_mut().enumerate() {
                    *x = (t >> ((i % 16) * 8)) as u8 ^ (i as u8);
                }
                filled = n;
            }
        }
    }
    b
}

/// A new address as LXC 5.0.2 makes them for clones: 00:16:3e:XX:XX:XX.
pub fn new_hwaddr() -> String {
    let r = random_bytes(3);
    // LXC takes rand() % 255: never ff.
    let b = |x: u8| x % 255;
    format!("00:16:3e:{:02x}:{:02x}:{:02x}", b(r[0]), b(r[1]), b(r[2]))
}

/// Fill the `x`/`X` digits of an hwaddr line with random hex digits (the
/// second digit of the first octet keeps the address unicast), as LXC's
/// update_hwaddr does when it reads a config file.
fn complete_hwaddr_line(line: &str) -> String {
    let t = line.trim_start();
    if t.starts_with('#') || !is_hwaddr_key(t) {
        return line.to_string();
    }
    let Some(eq) = line.find('=') else {
        return line.to_string();
    };
    let (head, tail) = line.split_at(eq + 1);
    if !tail.contains(['x', 'X']) {
        return line.to_string();
    }
    let v_off = tail.len() - tail.trim_start().len();
    let rnd = random_bytes(tail.len());
    let hex = b"0123456789abcdef";
    let mut out = String::from(head);
    for (i, c) in tail.chars().enumerate() {
        if (c == 'x' || c == 'X') && i >= v_off {
            let mask = if i - v_off == 1 { 0x0e } else { 0x0f };
            out.push(hex[(rnd[i] & mask) as usize] as char);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_lines_drops_blanks_and_fills_macs() {
        let c =
            ConfText::parse("# c\n\nlxc.a = 1\n  lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\nfoo = 2\n");
        assert_eq!(c.lines()[0], "# c");
        assert_eq!(c.lines()[1], "lxc.a = 1");
        let mac = c.lines()[2]
            .trim_start()
            .strip_prefix("lxc.net.0.hwaddr = ")
            .unwrap();
        assert!(mac.starts_with("00:16:3e:"));
        assert!(!mac.contains('x'));
        assert_eq!(c.lines()[3], "foo = 2");
        let first = ConfText::parse("lxc.net.0.hwaddr = xx:xx:xx:xx:xx:xx\n");
        let m = first.lines()[0]
            .strip_prefix("lxc.net.0.hwaddr = ")
            .unwrap();
        let b0 = u8::from_str_radix(&m[..2], 16).unwrap();
        assert_eq!(b0 & 1, 0, "unicast: {m}");
    }

    #[test]
    fn clear_and_append() {
        let mut c =
            ConfText::parse("lxc.uts.name = a\nlxc.uts.namex = b\nlxc.rootfs.path=dir:/x\n");
        c.clear("lxc.uts.name");
        c.clear("lxc.rootfs.path");
        c.append("lxc.rootfs.path", "dir:/y");
        c.append("lxc.x", "");
        assert_eq!(
            c.text(),
            "lxc.uts.namex = b\nlxc.rootfs.path = dir:/y\nlxc.x =\n"
        );
    }

    #[test]
    fn renews_every_mac() {
        let mut c = ConfText::parse(
            "lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:11:22:33\nlxc.network.hwaddr = 00:16:3e:44:55:66\n",
        );
        let ch = c.renew_hwaddrs();
        assert_eq!(ch.len(), 2);
        assert_eq!(ch[0].0, "00:16:3e:11:22:33");
        assert_ne!(ch[0].0, ch[0].1);
        assert!(c.text().contains(&ch[1].1));
    }

    #[test]
    fn path_rewrites_only_whole_components() {
        let mut c = ConfText::parse(
            "lxc.hook.start = /l/c1/x1 arg\nlxc.mount.entry = /l/c1/data data none bind 0 0\nlxc.mount.entry = /l/c10/d d none bind 0 0\nlxc.mount.entry = tmpfs t overlay upperdir=/l/c1/up,workdir=/l/c1/wk 0 0\nlxc.log.file = /l/c1\n",
        );
        let n = c.rewrite_paths(|_| true, "/l/c1", "/m/c2");
        assert_eq!(n, 5);
        let t = c.text();
        assert!(t.contains("/m/c2/x1 arg"));
        assert!(t.contains("/l/c10/d"));
        assert!(t.contains("upperdir=/m/c2/up,workdir=/m/c2/wk"));
        assert!(t.contains("lxc.log.file = /m/c2\n"));
    }
}
