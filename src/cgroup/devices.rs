//! Device access rules on cgroup v2: `devices.allow` / `devices.deny`
//! lines compiled to a BPF_PROG_TYPE_CGROUP_DEVICE program, as LXC builds
//! it (src/lxc/cgroups/cgroup2_devices.c, cgfsng.c's
//! device_cgroup_rule_parse):
//!
//! - `a` alone sets the list type and forgets the rules so far: `deny a`
//!   blocks every device not allowed later ("allowlist"), `allow a` allows
//!   every device not denied later ("denylist"). The default is the
//!   allowlist.
//! - `TYPE MAJOR:MINOR ACCESS` with TYPE `a`, `b` or `c`, `*` for any
//!   number, ACCESS a subset of `rwm`; `devices.allow = /dev/PATH ACCESS`
//!   names the device by a path of the host.
//! - A rule equal to an earlier one (type, numbers, access) replaces it.
//! - An allowlist program only tests the allow rules, a denylist program
//!   only the deny rules: first match decides, else the list's default.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::sys::bpf::BpfInsn;

/// BPF_DEVCG_ACC_* (linux/bpf.h).
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
/// BPF_DEVCG_DEV_*.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// One devices.allow / devices.deny line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// `a`, `b` or `c`.
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// ACC_* bits; 0 for LXC's "empty access" (the global `a` rule).
    pub access: u32,
}

impl DeviceRule {
    fn is_global(&self) -> bool {
        self.kind == 'a' && self.major.is_none() && self.minor.is_none() && self.access == 0
    }
}

impl std::fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        write!(
            f,
            "devices.{} = {} {}:{} {}{}{}",
            if self.allow { "allow" } else { "deny" },
            self.kind,
            num(self.major),
            num(self.minor),
            if self.access & ACC_READ != 0 { "r" } else { "" },
            if self.access & ACC_WRITE != 0 {
                "w"
            } else {
                ""
            },
            if self.access & ACC_MKNOD != 0 {
                "m"
            } else {
                ""
            },
        )
    }
}

/// Parse `value` of `devices.allow` / `devices.deny` (`key` is the part
/// after `lxc.cgroup.` or `lxc.cgroup2.`).
pub fn parse_rule(key: &str, value: &str) -> Result<DeviceRule> {
    let allow = match key {
        "devices.allow" => true,
        "devices.deny" => false,
        _ => bail!("{key}: not a device rule (devices.allow or devices.deny)"),
    };
    let bad = || {
        anyhow::anyhow!("{key} = {value}: invalid device rule (expected a, or TYPE MAJOR:MINOR ACCESS with TYPE a, b or c)")
    };
    if allow && value.starts_with('/') {
        return parse_devpath(value);
    }
    let v = value.trim_end_matches('\n');
    if v == "a" {
        return Ok(DeviceRule {
            allow,
            kind: 'a',
            major: None,
            minor: None,
            access: 0,
        });
    }
    let mut it = v.splitn(3, char::is_whitespace);
    let kind = match it.next() {
        Some("a") => 'a',
        Some("b") => 'b',
        Some("c") => 'c',
        _ => return Err(bad()),
    };
    let (maj, min) = it.next().and_then(|n| n.split_once(':')).ok_or_else(bad)?;
    let num = |s: &str| -> Result<Option<u32>> {
        if s == "*" {
            return Ok(None);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map(Some).map_err(|_| bad())
    };
    let access = parse_access(it.next().unwrap_or("")).ok_or_else(bad)?;
    Ok(DeviceRule {
        allow,
        kind,
        major: num(maj)?,
        minor: num(min)?,
        access,
    })
}

/// `rwm` letters (at most three, as LXC reads them).
fn parse_access(s: &str) -> Option<u32> {
    let mut acc = 0;
    for (i, c) in s.chars().enumerate() {
        if i >= 3 {
            break;
        }
        acc |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            '\n' => break,
            _ => return None,
        };
    }
    Some(acc)
}

/// `devices.allow = /dev/PATH ACCESS`: the host's device node's numbers.
fn parse_devpath(value: &str) -> Result<DeviceRule> {
    let mut it = value.split(' ').filter(|s| !s.is_empty());
    let path = it.next().unwrap_or_default();
    let Some(mode) = it.next() else {
        bail!("devices.allow = {value}: a device path needs an access mode (e.g. rwm)");
    };
    let access = parse_access(mode)
        .with_context(|| format!("devices.allow = {value}: invalid access mode \"{mode}\""))?;
    let st =
        rustix::fs::stat(Path::new(path)).with_context(|| format!("devices.allow: stat {path}"))?;
    let kind = match rustix::fs::FileType::from_raw_mode(st.st_mode) {
        rustix::fs::FileType::BlockDevice => 'b',
        rustix::fs::FileType::CharacterDevice => 'c',
        _ => bail!("devices.allow: {path} is not a device"),
    };
    Ok(DeviceRule {
        allow: true,
        kind,
        major: Some(rustix::fs::major(st.st_rdev)),
        minor: Some(rustix::fs::minor(st.st_rdev)),
        access,
    })
}

/// The device list of a container, LXC's struct bpf_devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    /// Every device is allowed unless denied (set by `allow a`).
    pub default_allow: bool,
    /// Newest first, as LXC keeps them.
    pub rules: Vec<DeviceRule>,
}

impl Default for DeviceList {
    /// LXC's default: an allowlist (devices blocked unless allowed).
    fn default() -> Self {
        DeviceList {
            default_allow: false,
            rules: Vec::new(),
        }
    }
}

impl DeviceList {
    /// LXC's bpf_list_add_device.
    pub fn add(&mut self, r: DeviceRule) {
        if r.is_global() {
            self.default_allow = r.allow;
            self.rules.clear();
            return;
        }
        let same = |d: &DeviceRule| {
            d.kind == r.kind && d.major == r.major && d.minor == r.minor && d.access == r.access
        };
        if let Some(d) = self.rules.iter_mut().find(|d| same(d)) {
            d.allow = r.allow;
            return;
        }
        self.rules.insert(0, r);
    }

    /// The program: load the context, test the rules that differ from the
    /// default, return the default.
    pub fn program(&self) -> Vec<BpfInsn> {
        let mut p = vec![
            // r2 = device type, r3 = access, r4 = major, r5 = minor
            ldxw(2, 1, 0),
            alu32_imm(ALU_AND, 2, 0xffff),
            ldxw(3, 1, 0),
            alu32_imm(ALU_RSH, 3, 16),
            ldxw(4, 1, 4),
            ldxw(5, 1, 8),
        ];
        for r in self.rules.iter().filter(|r| r.allow != self.default_allow) {
            let all = r.access == ACC_MKNOD | ACC_READ | ACC_WRITE;
            let dev_type = match r.kind {
                'b' => DEV_BLOCK,
                'c' => DEV_CHAR,
                _ => 0,
            };
            // Jumps skip the rest of this rule: its tests and its 2-insn verdict.
            let mut left = 2
                + (!all) as i16
                + (dev_type != 0) as i16
                + r.major.is_some() as i16
                + r.minor.is_some() as i16;
            let mut skip = || {
                left -= 1;
                left
            };
            if !all {
                // The requested access must be within the rule's.
                p.push(mov32_reg(1, 3));
                p.push(alu32_imm(ALU_AND, 1, r.access as i32));
                p.push(jne_reg(1, 3, skip()));
            }
            if dev_type != 0 {
                p.push(jne_imm(2, dev_type, skip()));
            }
            if let Some(m) = r.major {
                p.push(jne_imm(4, m as i32, skip()));
            }
            if let Some(m) = r.minor {
                p.push(jne_imm(5, m as i32, skip()));
            }
            p.push(mov64_imm(0, r.allow as i32));
            p.push(exit());
        }
        p.push(mov64_imm(0, self.default_allow as i32));
        p.push(exit());
        p
    }

    /// Load the program and attach it to the cgroup v2 directory `dir`.
    pub fn attach(&self, dir: &Path) -> Result<()> {
        let prog = crate::sys::bpf::load_device_program(&self.program())
            .context("loading the cgroup device program (bpf)")?;
        let d = rustix::fs::open(
            dir,
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .with_context(|| format!("opening {}", dir.display()))?;
        crate::sys::bpf::attach_device_program(d.as_fd(), prog.as_fd())
            .with_context(|| format!("attaching the device program to {}", dir.display()))?;
        log::debug!(
            "device program attached to {}: {} by default, {} rules",
            dir.display(),
            if self.default_allow { "allow" } else { "deny" },
            self.rules.len()
        );
        Ok(())
    }
}

const ALU_AND: u8 = 0x50;
const ALU_RSH: u8 = 0x70;

fn ldxw(dst: u8, src: u8, off: i16) -> BpfInsn {
    BpfInsn {
        code: 0x61, // BPF_LDX | BPF_W | BPF_MEM
        regs: dst | (src << 4),
        off,
        imm: 0,
    }
}

fn alu32_imm(op: u8, dst: u8, imm: i32) -> BpfInsn {
    BpfInsn {
        code: 0x04 | op, // BPF_ALU | BPF_K | op
        regs: dst,
        off: 0,
        imm,
    }
}

fn mov32_reg(dst: u8, src: u8) -> BpfInsn {
    BpfInsn {
        code: 0xbc, // BPF_ALU | BPF_MOV | BPF_X
        regs: dst | (src << 4),
        off: 0,
        imm: 0,
    }
}

fn mov64_imm(dst: u8, imm: i32) -> BpfInsn {
    BpfInsn {
        code: 0xb7, // BPF_ALU64 | BPF_MOV | BPF_K
        regs: dst,
        off: 0,
        imm,
    }
}

fn jne_imm(dst: u8, imm: i32, off: i16) -> BpfInsn {
    BpfInsn {
        code: 0x55, // BPF_JMP | BPF_JNE | BPF_K
        regs: dst,
        off,
        imm,
    }
}

fn jne_reg(dst: u8, src: u8, off: i16) -> BpfInsn {
    BpfInsn {
        code: 0x5d, // BPF_JMP | BPF_JNE | BPF_X
        regs: dst | (src << 4),
        off,
        imm: 0,
    }
}

fn exit() -> BpfInsn {
    BpfInsn {
        code: 0x95, // BPF_JMP | BPF_EXIT
        regs: 0,
        off: 0,
        imm: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run the program for one access (an interpreter of what it emits).
    fn run(p: &[BpfInsn], dev_type: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [dev_type | (access << 16), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                0x61 => r[dst] = u64::from(ctx[(i.off / 4) as usize]),
                0x54 => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                0x74 => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                0xbc => r[dst] = r[src] as u32 as u64,
                0xb7 => r[dst] = i.imm as i64 as u64,
                0x55 if r[dst] != i.imm as i64 as u64 => {
                    pc = (pc as i64 + i64::from(i.off)) as usize
                }
                0x5d if r[dst] != r[src] => pc = (pc as i64 + i64::from(i.off)) as usize,
                0x55 | 0x5d => {}
                0x95 => return r[0],
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    fn list(lines: &[(&str, &str)]) -> DeviceList {
        let mut l = DeviceList::default();
        for (k, v) in lines {
            l.add(parse_rule(k, v).unwrap());
        }
        l
    }

    const C: u32 = DEV_CHAR as u32;
    const B: u32 = DEV_BLOCK as u32;
    const RW: u32 = ACC_READ | ACC_WRITE;

    #[test]
    fn lxc_common_conf_rules() {
        let l = list(&[
            ("devices.deny", "a"),
            ("devices.allow", "c *:* m"),
            ("devices.allow", "b *:* m"),
            ("devices.allow", "c 1:3 rwm"),
            ("devices.allow", "c 1:5 rwm"),
            ("devices.allow", "c 5:0 rwm"),
            ("devices.allow", "c 136:* rwm"),
            ("devices.allow", "c 10:229 rwm"),
        ]);
        assert!(!l.default_allow);
        assert_eq!(l.rules.len(), 7);
        let p = l.program();
        assert_eq!(run(&p, C, ACC_READ, 1, 3), 1, "/dev/null");
        assert_eq!(run(&p, C, RW, 136, 7), 1, "/dev/pts/7");
        assert_eq!(run(&p, C, ACC_MKNOD, 4, 64), 1, "mknod of any char device");
        assert_eq!(run(&p, B, ACC_MKNOD, 8, 0), 1, "mknod of any block device");
        assert_eq!(run(&p, C, ACC_READ, 1, 1), 0, "/dev/mem");
        assert_eq!(run(&p, B, ACC_READ, 8, 0), 0, "/dev/sda");
        assert_eq!(run(&p, C, ACC_READ | ACC_MKNOD, 4, 64), 0);
    }

    #[test]
    fn denylist_and_resets() {
        let l = list(&[
            ("devices.allow", "c 1:3 rwm"),
            ("devices.allow", "a"),
            ("devices.deny", "c 1:1 rw"),
            ("devices.deny", "b 8:* rwm"),
        ]);
        assert!(l.default_allow);
        assert_eq!(l.rules.len(), 2, "allow a forgot the allow rule");
        let p = l.program();
        assert_eq!(run(&p, C, ACC_READ, 1, 1), 0);
        assert_eq!(run(&p, C, ACC_MKNOD, 1, 1), 1, "mknod is not in rw");
        assert_eq!(run(&p, B, ACC_WRITE, 8, 16), 0);
        assert_eq!(run(&p, C, ACC_READ, 1, 3), 1);
        // An empty list is an allowlist that blocks everything.
        let p = DeviceList::default().program();
        assert_eq!(run(&p, C, ACC_READ, 1, 3), 0);
    }

    #[test]
    fn same_rule_flips() {
        let l = list(&[
            ("devices.deny", "a"),
            ("devices.allow", "c 1:3 rwm"),
            ("devices.deny", "c 1:3 rwm"),
        ]);
        assert_eq!(l.rules.len(), 1);
        assert_eq!(run(&l.program(), C, ACC_READ, 1, 3), 0);
        // The type-only rule matches any numbers of that type.
        let l = list(&[("devices.deny", "a"), ("devices.allow", "a *:* r")]);
        let p = l.program();
        assert_eq!(run(&p, B, ACC_READ, 8, 1), 1);
        assert_eq!(run(&p, B, ACC_WRITE, 8, 1), 0);
    }

    #[test]
    fn parsing() {
        let r = parse_rule("devices.allow", "c 136:* rwm").unwrap();
        assert_eq!(
            (r.kind, r.major, r.minor, r.access),
            ('c', Some(136), None, 7)
        );
        assert_eq!(r.to_string(), "devices.allow = c 136:* rwm");
        let r = parse_rule("devices.allow", "/dev/null rw").unwrap();
        assert_eq!(
            (r.kind, r.major, r.minor, r.access),
            ('c', Some(1), Some(3), RW)
        );
        assert!(parse_rule("devices.allow", "x 1:3 rwm").is_err());
        assert!(parse_rule("devices.allow", "c 1:3 rwx").is_err());
        assert!(parse_rule("devices.allow", "c 1-3 rwm").is_err());
        assert!(parse_rule("devices.allow", "c :3 rwm").is_err());
        assert!(parse_rule("devices.allow", "/dev/null").is_err());
        assert!(parse_rule("devices.allow", "/etc/passwd rw").is_err());
        assert!(parse_rule("devices.list", "a").is_err());
        let a = parse_rule("devices.deny", "a").unwrap();
        assert!(a.is_global() && !a.allow);
        let r = parse_rule("devices.deny", "a *:* rwm").unwrap();
        assert!(!r.is_global());
    }

    #[test]
    fn the_kernel_takes_the_program() {
        // Root only (CAP_BPF / CAP_SYS_ADMIN): the verifier accepts LXC's shape.
        if !rustix::process::geteuid().is_root() {
            return;
        }
        let l = list(&[
            ("devices.deny", "a"),
            ("devices.allow", "c 1:3 rw"),
            ("devices.allow", "c *:* m"),
        ]);
        crate::sys::bpf::load_device_program(&l.program()).unwrap();
    }
}
