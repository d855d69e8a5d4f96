//! /etc/lxc/lxc-usernet (man lxc-usernet): `USER TYPE BRIDGE COUNT` and
//! `@GROUP TYPE BRIDGE COUNT` lines, read as LXC 5.0.2's get_alloted reads
//! them (`sscanf("%99[^ \t] %99[^ \t] %99[^ \t] %d")`).

use anyhow::Result;

/// One line that lets the caller attach devices of the type to the bridge:
/// its owner as written (`user` or `@group`) and its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allot {
    pub owner: String,
    pub allowed: i64,
}

/// The leading integer of a field as `%d` reads it: optional sign, digits;
/// anything after them is ignored.
fn leading_int(s: &str) -> Option<i64> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '+' || c == '-'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

/// Splits a line as LXC's sscanf does: no leading blank (the first
/// conversion would match nothing), fields separated by runs of spaces
/// and tabs; `None` for a line that does not give four conversions.
fn fields(line: &str) -> Option<(&str, &str, &str, i64)> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let mut f = line.split([' ', '\t']).filter(|w| !w.is_empty());
    let (name, ty, br) = (f.next()?, f.next()?, f.next()?);
    // %99[^ \t] stops at 99 bytes: a longer word is not a match for anything
    // LXC compares it with, so such a line is dropped.
    if [name, ty, br].iter().any(|w| w.len() > 99) {
        return None;
    }
    Some((name, ty, br, leading_int(f.next()?)?))
}

/// The lines of `text` that apply to user `me` (or one of `groups`) for
/// devices of `ty` on `bridge`, in file order (LXC fills their quotas in
/// that order).
pub fn allots(text: &str, me: &str, groups: &[String], ty: &str, bridge: &str) -> Vec<Allot> {
    text.lines()
        .filter_map(fields)
        .filter(|(name, t, b, _)| {
            let who = *name == me
                || name
                    .strip_prefix('@')
                    .is_some_and(|g| groups.iter().any(|x| x == g));
            who && *t == ty && *b == bridge
        })
        .map(|(name, _, _, n)| Allot {
            owner: name.to_string(),
            allowed: n,
        })
        .collect()
}

/// The names of the groups of `gids` from /etc/group (unknown ones are
/// skipped, as LXC skips them).
pub fn group_names(gids: &[u32]) -> Vec<String> {
    let text = std::fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let gid: u32 = f.nth(1)?.parse().ok()?;
            gids.contains(&gid).then(|| name.to_string())
        })
        .collect()
}

/// Reads the usernet file at `path`.
pub fn read(path: &std::path::Path) -> Result<String> {
    let data = crate::fsutil::read_capped(path, 1 << 20).map_err(|e| {
        anyhow::anyhow!("Failed to open \"{}\": {}", path.display(), e.root_cause())
    })?;
    Ok(String::from_utf8_lossy(&data).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_for_user_and_groups_in_order() {
        let text = "\
# comment veth br0 9
alice veth br0 2
 alice veth br0 7
@staff veth br0 1
@other veth br0 5
alice veth br1 3
alice macvlan br0 4
alice\tveth\t\tbr0  3junk and more
bob veth br0 2
alice veth br0
";
        let g = vec!["staff".to_string()];
        let a = allots(text, "alice", &g, "veth", "br0");
        let got: Vec<(&str, i64)> = a.iter().map(|x| (x.owner.as_str(), x.allowed)).collect();
        assert_eq!(got, vec![("alice", 2), ("@staff", 1), ("alice", 3)]);
        assert!(allots(text, "carol", &[], "veth", "br0").is_empty());
    }

    #[test]
    fn counts_read_as_percent_d() {
        assert_eq!(leading_int("12x"), Some(12));
        assert_eq!(leading_int("-3"), Some(-3));
        assert_eq!(leading_int("x"), None);
        assert_eq!(fields("a b c\n"), None);
    }
}
