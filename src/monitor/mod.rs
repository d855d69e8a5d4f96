//! The per-container monitor: its states, its command socket protocol, and
//! the state-change events that lxc-monitor and lxc-wait subscribe to.
//!
//! There is no daemon. Each running container's monitor process (lxc-start
//! or lxc-execute) serves an abstract unix command socket and, on every
//! state change, sends a datagram to each subscriber socket registered in
//! the run directory for its lxcpath.

pub mod client;
pub mod events;
pub mod proto;
pub mod server;

use std::fmt;

use serde::{Deserialize, Serialize};

/// The container life-cycle states, as LXC names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Stopped,
    Starting,
    Running,
    Stopping,
    Aborting,
    Freezing,
    Frozen,
    Thawed,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Stopped,
        State::Starting,
        State::Running,
        State::Stopping,
        State::Aborting,
        State::Freezing,
        State::Frozen,
        State::Thawed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Stopping => "STOPPING",
            State::Aborting => "ABORTING",
            State::Freezing => "FREEZING",
            State::Frozen => "FROZEN",
            State::Thawed => "THAWED",
        }
    }

    /// Parse a state name (case-insensitive, as lxc-wait accepts).
    pub fn parse(s: &str) -> Option<State> {
        let up = s.trim().to_ascii_uppercase();
        State::ALL.into_iter().find(|st| st.as_str() == up)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Canonical form of an lxcpath, so "/var/lib/lxc/" and "/var/lib/lxc"
/// (and symlinked spellings) name the same containers.
pub fn canonical_lxcpath(p: &str) -> String {
    // One process asks for the same few paths many times (socket names,
    // locks, subscriber directories): resolve each once.
    static SEEN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = seen.iter().find(|(k, _)| k == p) {
        return c.clone();
    }
    match std::fs::canonicalize(p) {
        Ok(c) => {
            // Only what exists: a path made later may resolve differently.
            let c = c.to_string_lossy().into_owned();
            seen.push((p.to_string(), c.clone()));
            c
        }
        Err(_) => {
            let t = p.trim_end_matches('/');
            if t.is_empty() {
                "/".into()
            } else {
                t.into()
            }
        }
    }
}

/// 64-bit FNV-1a, for short stable names derived from long paths.
pub fn fnv64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert_eq!(State::parse(&s.as_str().to_lowercase()), Some(s));
            let j = serde_json::to_string(&s).unwrap();
            assert_eq!(j, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(State::parse("RUNNIN"), None);
    }
}
