//! /etc/subuid and /etc/subgid: `USER:START:COUNT` lines (USER a name or a
//! numeric uid), read as shadow's newuidmap reads them (subordinateio.c:
//! a line matches by name or by uid; malformed lines are skipped).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::config::IdMap;

/// One file's entries.
#[derive(Debug, Clone, Default)]
pub struct SubIds {
    pub file: PathBuf,
    entries: Vec<(String, u32, u32)>,
}

/// The ranges one user may map (their own id besides).
#[derive(Debug, Clone)]
pub struct Delegation {
    pub file: PathBuf,
    pub user: String,
    pub ranges: Vec<(u32, u32)>,
}

impl SubIds {
    /// /etc/subuid (`kind` 'u') or /etc/subgid ('g'); a missing file is
    /// an empty one. `LXCBOX_SUBID_DIR` points elsewhere (tests).
    pub fn load(kind: char) -> Result<SubIds> {
        let dir = std::env::var_os("LXCBOX_SUBID_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc"));
        let file = dir.join(if kind == 'u' { "subuid" } else { "subgid" });
        let text = match std::fs::read(&file) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => bail!("reading {}: {e}", file.display()),
        };
        Ok(SubIds::parse(&file, &text))
    }

    pub fn parse(file: &Path, text: &str) -> SubIds {
        let entries = text
            .lines()
            .filter_map(|l| {
                let mut f = l.trim().split(':');
                let (who, start, count) = (f.next()?, f.next()?, f.next()?);
                if who.is_empty() || f.next().is_some() {
                    return None;
                }
                let (start, count) = (start.parse().ok()?, count.parse::<u32>().ok()?);
                (count > 0).then(|| (who.to_string(), start, count))
            })
            .collect();
        SubIds {
            file: file.to_path_buf(),
            entries,
        }
    }

    /// The ranges delegated to the user called `name` (or with uid `uid`).
    pub fn delegated(&self, name: Option<&str>, uid: u32) -> Delegation {
        let uid_s = uid.to_string();
        Delegation {
            file: self.file.clone(),
            user: name.map(str::to_string).unwrap_or_else(|| uid_s.clone()),
            ranges: self
                .entries
                .iter()
                .filter(|(w, _, _)| Some(w.as_str()) == name || *w == uid_s)
                .map(|(_, s, c)| (*s, *c))
                .collect(),
        }
    }
}

impl Delegation {
    /// Is host ids `start..start+count` inside one delegated range (or
    /// exactly the caller's own id)?
    pub fn covers(&self, start: u32, count: u32, own: u32) -> bool {
        let end = start as u64 + count as u64;
        (count == 1 && start == own)
            || self
                .ranges
                .iter()
                .any(|(s, c)| start >= *s && end <= *s as u64 + *c as u64)
    }

    /// Refuse `map` unless the host delegated its host ids to the user.
    pub fn check(&self, map: &IdMap, own: u32) -> Result<()> {
        let line = format!(
            "lxc.idmap = {} {} {} {}",
            map.kind, map.ns_id, map.host_id, map.range
        );
        self.check_labelled(map, own, &line)
    }

    /// [`Delegation::check`], the error naming the map as `line`.
    pub fn check_labelled(&self, map: &IdMap, own: u32, line: &str) -> Result<()> {
        if self.covers(map.host_id, map.range, own) {
            return Ok(());
        }
        if self.ranges.is_empty() {
            bail!(
                "{line}: {} has no range for user {} (add one, e.g. `{}:100000:65536`, \
                 with usermod --add-subuids/--add-subgids)",
                self.file.display(),
                self.user,
                self.user
            );
        }
        let have: Vec<String> = self
            .ranges
            .iter()
            .map(|(s, c)| format!("{s}-{}", *s as u64 + *c as u64 - 1))
            .collect();
        bail!(
            "{line}: host ids {}-{} are not delegated to user {} in {} (it has {})",
            map.host_id,
            map.host_id as u64 + map.range as u64 - 1,
            self.user,
            self.file.display(),
            have.join(", ")
        )
    }

    /// The first delegated range, as LXC's default map uses it.
    pub fn first(&self) -> Option<(u32, u32)> {
        self.ranges.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(h: u32, r: u32) -> IdMap {
        IdMap {
            kind: 'u',
            ns_id: 0,
            host_id: h,
            range: r,
        }
    }

    #[test]
    fn parses_by_name_and_uid() {
        let s = SubIds::parse(
            Path::new("/etc/subuid"),
            "alice:100000:65536\n# x\nbad line\n1001:200000:10\nbob:1:0\nalice:300000:5\n",
        );
        let a = s.delegated(Some("alice"), 1000);
        assert_eq!(a.ranges, vec![(100000, 65536), (300000, 5)]);
        let b = s.delegated(Some("carol"), 1001);
        assert_eq!(b.ranges, vec![(200000, 10)]);
        assert!(s.delegated(Some("bob"), 7).ranges.is_empty());
    }

    #[test]
    fn checks_ranges() {
        let s = SubIds::parse(Path::new("/etc/subuid"), "alice:100000:65536\n");
        let a = s.delegated(Some("alice"), 1000);
        assert!(a.check(&map(100000, 65536), 1000).is_ok());
        assert!(a.check(&map(1000, 1), 1000).is_ok());
        let e = a.check(&map(100000, 65537), 1000).unwrap_err().to_string();
        assert!(e.contains("not delegated to user alice"), "{e}");
        assert!(e.contains("100000-165535"), "{e}");
        let none = s.delegated(Some("bob"), 1001);
        let e = none.check(&map(100000, 1), 1001).unwrap_err().to_string();
        assert!(e.contains("has no range for user bob"), "{e}");
        assert!(a.check(&map(u32::MAX, 2), 1000).is_err());
    }
}
