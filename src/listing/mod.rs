//! Observing containers: which are defined under an lxcpath, what the
//! monitor of each says, and LXC's text formats for lxc-info, lxc-ls,
//! lxc-list and lxc-ps.
//!
//! Statistics that belong to other subsystems (cgroup counters, in-container
//! addresses) enter as plain values ([`info::Stats`], `ips` fields): the
//! formatting here never invents a number it was not given.

pub mod info;
pub mod ls;
pub mod nested;
pub mod ps;
pub mod size;

use std::path::Path;

/// Names of the containers defined under `lxcpath` (a directory holding a
/// `config` file), sorted. One readdir plus one stat per entry; a missing
/// or unreadable lxcpath lists nothing, as LXC does.
pub fn defined_names(lxcpath: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(lxcpath) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .filter(|n| Path::new(lxcpath).join(n).join("config").is_file())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_dirs_with_config_sorted() {
        let d = std::env::temp_dir().join(format!("lxcbox-listing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for n in ["b", "a", "noconf", ".hidden"] {
            std::fs::create_dir_all(d.join(n)).unwrap();
        }
        for n in ["b", "a", ".hidden"] {
            std::fs::write(d.join(n).join("config"), "").unwrap();
        }
        std::fs::write(d.join("file"), "").unwrap();
        let got = defined_names(d.to_str().unwrap());
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(got, ["a", "b"]);
        assert!(defined_names("/nonexistent/lxcbox/path").is_empty());
    }
}
