//! lxc.prlimit.<resource> = soft[:hard] | unlimited

use anyhow::{bail, Context, Result};
use rustix::process::{setrlimit, Resource, Rlimit};

const RESOURCES: &[(&str, Resource)] = &[
    ("as", Resource::As),
    ("core", Resource::Core),
    ("cpu", Resource::Cpu),
    ("data", Resource::Data),
    ("fsize", Resource::Fsize),
    ("locks", Resource::Locks),
    ("memlock", Resource::Memlock),
    ("msgqueue", Resource::Msgqueue),
    ("nice", Resource::Nice),
    ("nofile", Resource::Nofile),
    ("nproc", Resource::Nproc),
    ("rss", Resource::Rss),
    ("rtprio", Resource::Rtprio),
    ("rttime", Resource::Rttime),
    ("sigpending", Resource::Sigpending),
    ("stack", Resource::Stack),
];

fn value(v: &str) -> Result<Option<u64>> {
    if v == "unlimited" {
        return Ok(None);
    }
    Ok(Some(v.parse().with_context(|| {
        format!("expected a number or \"unlimited\", got \"{v}\"")
    })?))
}

/// Parse "soft[:hard]" (hard defaults to soft).
pub fn parse(v: &str) -> Result<Rlimit> {
    let (s, h) = match v.split_once(':') {
        Some((s, h)) => (value(s.trim())?, value(h.trim())?),
        None => {
            let x = value(v.trim())?;
            (x, x)
        }
    };
    Ok(Rlimit {
        current: s,
        maximum: h,
    })
}

pub fn apply(resource: &str, v: &str) -> Result<()> {
    let r = resource.to_ascii_lowercase();
    let Some((_, res)) = RESOURCES.iter().find(|(n, _)| *n == r) else {
        bail!("lxc.prlimit.{resource}: unknown resource");
    };
    let lim = parse(v).with_context(|| format!("lxc.prlimit.{resource}"))?;
    setrlimit(*res, lim).with_context(|| format!("lxc.prlimit.{resource}: setting {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let l = parse("1024:4096").unwrap();
        assert_eq!((l.current, l.maximum), (Some(1024), Some(4096)));
        let l = parse("unlimited").unwrap();
        assert_eq!((l.current, l.maximum), (None, None));
        assert!(parse("lots").is_err());
    }
}
