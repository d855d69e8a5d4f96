//! lxc-update-config's core: rewrite legacy keys to modern ones in place,
//! keeping comments, blank lines, order and spacing.

use anyhow::{anyhow, Result};

use super::legacy::{self, NetTarget};
use super::lexer::{self, Line};
use super::special::ROOTFS_BACKENDS;

/// Rewrite the legacy keys of config `text` (`origin` names it in errors).
/// Unindexed `lxc.network.*` blocks get consecutive indices after the
/// highest one already used; `lxc.rootfs.backend = T` is folded into the
/// rootfs path as `T:` and, like lxc.pivotdir and lxc.kmsg, removed.
/// Commented-out lines are left alone.
pub fn update_legacy(text: &str, origin: &str) -> Result<String> {
    let backend = find_backend(text);
    let mut out = String::with_capacity(text.len() + 64);
    let mut max: Option<u32> = None;
    let mut cur: Option<u32> = None;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let at = |msg: String| anyhow!("{origin}:{}: {msg}", i + 1);
        let Line::Pair { key, value } = lexer::line(raw).map_err(at)? else {
            out.push_str(raw);
            continue;
        };
        if legacy::DROPPED.contains(&key) {
            continue;
        }
        // Track interface indices used by indexed keys of either spelling.
        if let Some(n) = indexed_net(key) {
            max = Some(max.map_or(n, |m| m.max(n)));
        }
        let new_key = if matches!(key, "lxc.network" | "lxc.net") && value.is_empty() {
            (max, cur) = (None, None);
            (key == "lxc.network").then(|| "lxc.net".to_string())
        } else if let Some((None, sub)) = legacy::network_key(key) {
            let idx = match legacy::net_target(&sub) {
                NetTarget::New => {
                    let n = match max {
                        None => 0,
                        Some(m) => m.checked_add(1).ok_or_else(|| {
                            at(format!("{key}: no interface index left after {m}"))
                        })?,
                    };
                    (max, cur) = (Some(n), Some(n));
                    n
                }
                NetTarget::Last => cur.or(max).ok_or_else(|| {
                    at(format!(
                        "{key}: no interface to apply this to (an lxc.network.type line must come first)"
                    ))
                })?,
            };
            Some(format!("lxc.net.{idx}.{sub}"))
        } else {
            // Indexed network keys and plain renames need no state.
            legacy::modernize(&Default::default(), key, &mut Default::default()).map_err(at)?
        };
        let start = raw.len() - raw.trim_start().len();
        let (head, tail) = raw.split_at(start);
        let after_key = &tail[key.len()..];
        out.push_str(head);
        out.push_str(new_key.as_deref().unwrap_or(key));
        let is_rootfs = matches!(key, "lxc.rootfs" | "lxc.rootfs.path");
        // LXC's script writes a legacy `lxc.rootfs = PATH` as
        // `lxc.rootfs.path = dir:PATH` when no lxc.rootfs.backend says
        // otherwise (unlike the script, a value that already has its
        // `type:` prefix is left alone, not made `dir:dir:...`).
        let prefix = backend
            .clone()
            .or_else(|| (key == "lxc.rootfs").then(|| "dir".to_string()));
        match (
            &prefix,
            is_rootfs && !value.is_empty() && !has_backend(value),
        ) {
            (Some(b), true) => {
                // Insert "T:" in front of the value, inside its quotes if any.
                let eq = after_key.find('=').unwrap_or(0) + 1;
                let v_off = eq + (after_key[eq..].len() - after_key[eq..].trim_start().len());
                let q = after_key[v_off..].starts_with(['"', '\'']) as usize;
                out.push_str(&after_key[..v_off + q]);
                out.push_str(b);
                out.push(':');
                out.push_str(&after_key[v_off + q..]);
            }
            _ => out.push_str(after_key),
        }
    }
    Ok(out)
}

/// The last active `lxc.rootfs.backend` value, if any.
fn find_backend(text: &str) -> Option<String> {
    text.lines().rev().find_map(|l| match lexer::line(l) {
        Ok(Line::Pair {
            key: "lxc.rootfs.backend",
            value,
        }) if !value.is_empty() => Some(value.to_string()),
        _ => None,
    })
}

fn has_backend(v: &str) -> bool {
    v.split_once(':')
        .is_some_and(|(t, _)| ROOTFS_BACKENDS.contains(&t))
}

/// N of `lxc.net.N...` or `lxc.network.N...`.
fn indexed_net(key: &str) -> Option<u32> {
    let rest = key
        .strip_prefix("lxc.net.")
        .or_else(|| key.strip_prefix("lxc.network."))?;
    rest.split('.').next()?.parse().ok()
}

/// Update `path`: convert with [`update_legacy`] (nothing is touched if
/// that fails), save the original as `PATH.backup`, then replace the file
/// by the new text with the same mode and owner. Both go through
/// write-then-rename ([`crate::fsutil::rewrite`]): on a full disk the
/// config is left as it was, never truncated. Comments that are not valid
/// UTF-8 are kept byte for byte.
pub fn update_file(path: &std::path::Path) -> Result<()> {
    use anyhow::Context;
    let bytes = crate::fsutil::read_capped(path, crate::fsutil::CONFIG_MAX)?;
    let origin = path.display().to_string();
    let (text, raw) = shield_raw_lines(&bytes, &origin)?;
    let new = unshield(&update_legacy(&text, &origin)?, &raw);
    let mode = std::fs::metadata(path)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
        .unwrap_or(0o640);
    let mut backup = path.as_os_str().to_owned();
    backup.push(".backup");
    let backup = std::path::PathBuf::from(backup);
    crate::fsutil::rewrite(&backup, &bytes, mode)
        .with_context(|| format!("saving {} to {}", path.display(), backup.display()))?;
    crate::fsutil::rewrite(path, &new, mode)
}

/// The comment line standing in for raw line `i` while the text is updated.
fn placeholder(i: usize) -> String {
    format!("#\u{1}lxcbox-raw-{i}\u{1}")
}

/// `bytes` as text with every line that is not UTF-8 replaced by a
/// placeholder comment (which [`update_legacy`] leaves alone), and those
/// lines. Only lines LXC ignores may be such: anywhere else it is an error.
fn shield_raw_lines<'a>(bytes: &'a [u8], origin: &str) -> Result<(String, Vec<&'a [u8]>)> {
    let mut text = String::with_capacity(bytes.len());
    let mut raw = Vec::new();
    for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        match std::str::from_utf8(line) {
            Ok(s) => text.push_str(s),
            Err(_) => {
                super::load::tolerated(line, origin, i + 1)?;
                text.push_str(&placeholder(raw.len()));
                if line.ends_with(b"\n") {
                    text.push('\n');
                }
                raw.push(line);
            }
        }
    }
    Ok((text, raw))
}

fn unshield(text: &str, raw: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut next = 0;
    for line in text.split_inclusive('\n') {
        if next < raw.len() && line.trim_end_matches('\n') == placeholder(next) {
            out.extend_from_slice(raw[next]);
            next += 1;
        } else {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out
}
