//! Where the container's console and tty nodes go, and the devpts options.

/// One tty the setup code must provide inside the container's /dev.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtyNode {
    /// 1..=lxc.tty.max.
    pub index: u32,
    /// Path relative to the container's /dev onto which the host's slave is
    /// bind-mounted: `ttyN`, or `DIR/ttyN` with lxc.tty.dir.
    pub bind_target: String,
    /// With lxc.tty.dir, LXC also makes `/dev/ttyN` a symlink to `DIR/ttyN`:
    /// (link path relative to /dev, link target).
    pub link: Option<(String, String)>,
}

/// The tty nodes for lxc.tty.max = `count` and lxc.tty.dir = `dir`.
/// (/dev/console is handled the same way: bind target `console`, or
/// `DIR/console` plus a `console` symlink.)
pub fn tty_nodes(count: u32, dir: Option<&str>) -> Vec<TtyNode> {
    let dir = dir.map(|d| d.trim_matches('/')).filter(|d| !d.is_empty());
    (1..=count)
        .map(|i| {
            let name = format!("tty{i}");
            match dir {
                Some(d) => TtyNode {
                    index: i,
                    bind_target: format!("{d}/{name}"),
                    link: Some((name.clone(), format!("{d}/{name}"))),
                },
                None => TtyNode {
                    index: i,
                    bind_target: name,
                    link: None,
                },
            }
        })
        .collect()
}

/// Mount options for the container's private devpts. lxc.pty.max becomes the
/// kernel's `max=` (how many ptys the container may open); LXC's other
/// options: a new instance, group tty (5), ptmx usable by everybody.
pub fn devpts_options(pty_max: Option<u32>) -> String {
    let mut o = String::from("newinstance,ptmxmode=0666,mode=0620,gid=5");
    if let Some(n) = pty_max.filter(|&n| n > 0) {
        o.push_str(&format!(",max={n}"));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes() {
        let plain = tty_nodes(2, None);
        assert_eq!(plain.len(), 2);
        assert_eq!(plain[1].bind_target, "tty2");
        assert_eq!(plain[1].link, None);
        let dir = tty_nodes(1, Some("/lxc/"));
        assert_eq!(dir[0].bind_target, "lxc/tty1");
        assert_eq!(dir[0].link, Some(("tty1".into(), "lxc/tty1".into())));
        assert!(tty_nodes(0, None).is_empty());
    }

    #[test]
    fn devpts() {
        assert_eq!(
            devpts_options(Some(1024)),
            "newinstance,ptmxmode=0666,mode=0620,gid=5,max=1024"
        );
        assert!(!devpts_options(None).contains("max="));
    }
}
