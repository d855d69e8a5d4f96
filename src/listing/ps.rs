//! lxc-ps: the processes of containers, from /proc. A process belongs to
//! a container when its pid namespace (/proc/PID/ns/pid) is the one of the
//! container's init.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

/// One process inside a container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proc {
    pub container: String,
    pub pid: i32,
    pub cmd: String,
}

/// The pid namespace of `pid` as (device, inode), the identity nsfs gives it.
pub fn pid_ns(pid: i32) -> Option<(u64, u64)> {
    let st = rustix::fs::stat(format!("/proc/{pid}/ns/pid")).ok()?;
    Some((st.st_dev, st.st_ino))
}

/// The command line of `pid` (NULs as spaces), or "[comm]" for kernel
/// threads and zombies with an empty cmdline.
pub fn command(pid: i32) -> String {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b)
            .trim_end_matches('\0')
            .replace('\0', " "),
        _ => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| format!("[{}]", c.trim_end()))
            .unwrap_or_default(),
    }
}

/// Processes of the given containers (name, init pid), by pid.
pub fn processes(containers: &[(String, i32)]) -> Vec<Proc> {
    let ns: HashMap<(u64, u64), &str> = containers
        .iter()
        .filter_map(|(n, p)| Some((pid_ns(*p)?, n.as_str())))
        .collect();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<Proc> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let name = ns.get(&pid_ns(pid)?)?;
            Some(Proc {
                container: name.to_string(),
                pid,
                cmd: command(pid),
            })
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// "CONTAINER" column (at least its header wide), then PID and CMD.
pub fn render(procs: &[Proc]) -> String {
    let w = procs
        .iter()
        .map(|p| p.container.chars().count())
        .fold("CONTAINER".len(), usize::max);
    let mut out = format!("{:<w$} {:>7} CMD\n", "CONTAINER", "PID");
    for p in procs {
        let _ = writeln!(out, "{:<w$} {:>7} {}", p.container, p.pid, p.cmd);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_processes_sharing_a_pid_namespace() {
        // Our own pid namespace: this very process must be listed.
        let me = std::process::id() as i32;
        let ps = processes(&[("host".into(), me)]);
        assert!(ps.iter().any(|p| p.pid == me && p.container == "host"));
        assert!(processes(&[("gone".into(), i32::MAX)]).is_empty());
    }

    #[test]
    fn layout() {
        let p = Proc {
            container: "c1".into(),
            pid: 42,
            cmd: "/bin/sleep 100".into(),
        };
        assert_eq!(
            render(&[p]),
            "CONTAINER     PID CMD\nc1             42 /bin/sleep 100\n"
        );
    }
}
