//! The architectures a seccomp filter can name, their audit tokens, and the
//! syscall name → number tables (generated data, see
//! tools/gen-syscall-tables.sh).
//!
//! A filter covers the host's native architecture and the compat ABIs its
//! kernel runs, as LXC's does: x86_64 also filters i386 and x32 processes,
//! aarch64 also filters 32-bit ARM ones. Only the tables of the build's
//! architecture family are compiled in (tests get all of them).

use std::collections::HashMap;

use once_cell::sync::Lazy;

/// The x32 ABI shares x86_64's audit token; its syscall numbers carry this bit.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI a filter section can apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    I386,
    X32,
    Aarch64,
    Arm,
    Riscv64,
}

impl Arch {
    /// Every architecture lxcbox has a syscall table for.
    pub const ALL: [Arch; 6] = [
        Arch::X86_64,
        Arch::I386,
        Arch::X32,
        Arch::Aarch64,
        Arch::Arm,
        Arch::Riscv64,
    ];

    /// The name used in messages (LXC's section names).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::I386 => "x86",
            Arch::X32 => "x32",
            Arch::Aarch64 => "arm64",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
        }
    }

    /// AUDIT_ARCH_* (linux/audit.h): what seccomp_data.arch holds.
    pub fn audit(self) -> u32 {
        const LE: u32 = 0x4000_0000; // __AUDIT_ARCH_LE
        const B64: u32 = 0x8000_0000; // __AUDIT_ARCH_64BIT
        match self {
            Arch::X86_64 | Arch::X32 => B64 | LE | 62, // EM_X86_64
            Arch::I386 => LE | 3,                      // EM_386
            Arch::Aarch64 => B64 | LE | 183,           // EM_AARCH64
            Arch::Arm => LE | 40,                      // EM_ARM
            Arch::Riscv64 => B64 | LE | 243,           // EM_RISCV
        }
    }

    /// The host's native architecture, from uname(2) as LXC does (a 32-bit
    /// lxcbox on a 64-bit kernel still filters the kernel's native ABI).
    /// `None` for a kernel architecture lxcbox has no table for.
    pub fn native() -> Option<Arch> {
        let uts = rustix::system::uname();
        Arch::from_machine(&uts.machine().to_string_lossy())
    }

    /// uname's machine string to an architecture (LXC's get_hostarch).
    pub fn from_machine(m: &str) -> Option<Arch> {
        match m {
            "x86_64" => Some(Arch::X86_64),
            "i386" | "i486" | "i586" | "i686" => Some(Arch::I386),
            _ if m.starts_with("aarch64") || m.starts_with("arm64") => Some(Arch::Aarch64),
            _ if m.starts_with("armv7") || m.starts_with("armv8l") => Some(Arch::Arm),
            "riscv64" => Some(Arch::Riscv64),
            _ => None,
        }
    }

    /// The ABIs a filter for a `self` host covers, native first (LXC's
    /// compat contexts).
    pub fn filtered(self) -> &'static [Arch] {
        match self {
            Arch::X86_64 => &[Arch::X86_64, Arch::I386, Arch::X32],
            Arch::Aarch64 => &[Arch::Aarch64, Arch::Arm],
            Arch::I386 => &[Arch::I386],
            Arch::X32 => &[Arch::X32],
            Arch::Arm => &[Arch::Arm],
            Arch::Riscv64 => &[Arch::Riscv64],
        }
    }

    /// The syscall number of `name` on this ABI, if it has that syscall.
    pub fn syscall(self, name: &str) -> Option<u32> {
        TABLES.get(&self)?.get(name).copied()
    }

    /// The name of syscall `nr` (for the TRACE dump of a filter).
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        TABLES
            .get(&self)?
            .iter()
            .find_map(|(n, &v)| (v == nr).then_some(*n))
    }

    /// Whether this build has the table (a profile cannot be compiled for
    /// an ABI without one).
    pub fn has_table(self) -> bool {
        TABLES.contains_key(&self)
    }
}

/// The generated tables, one `name number` line per syscall, of the build's
/// architecture family: x86_64, i386 and x32 on x86; arm64 and arm on arm.
#[cfg(any(test, target_arch = "x86_64", target_arch = "x86"))]
const X86_FAMILY: [Option<&str>; 3] = [
    Some(include_str!("tables/x86_64.tbl")),
    Some(include_str!("tables/i386.tbl")),
    Some(include_str!("tables/x32.tbl")),
];
#[cfg(not(any(test, target_arch = "x86_64", target_arch = "x86")))]
const X86_FAMILY: [Option<&str>; 3] = [None; 3];
#[cfg(any(test, target_arch = "aarch64", target_arch = "arm"))]
const ARM_FAMILY: [Option<&str>; 2] = [
    Some(include_str!("tables/arm64.tbl")),
    Some(include_str!("tables/arm.tbl")),
];
#[cfg(not(any(test, target_arch = "aarch64", target_arch = "arm")))]
const ARM_FAMILY: [Option<&str>; 2] = [None; 2];
#[cfg(any(test, target_arch = "riscv64"))]
const RISCV: Option<&str> = Some(include_str!("tables/riscv64.tbl"));
#[cfg(not(any(test, target_arch = "riscv64")))]
const RISCV: Option<&str> = None;

fn table_text(a: Arch) -> Option<&'static str> {
    match a {
        Arch::X86_64 => X86_FAMILY[0],
        Arch::I386 => X86_FAMILY[1],
        Arch::X32 => X86_FAMILY[2],
        Arch::Aarch64 => ARM_FAMILY[0],
        Arch::Arm => ARM_FAMILY[1],
        Arch::Riscv64 => RISCV,
    }
}

type Table = HashMap<&'static str, u32>;

/// Parsed on first use only: starting a container without a profile costs nothing.
static TABLES: Lazy<HashMap<Arch, Table>> = Lazy::new(|| {
    Arch::ALL
        .iter()
        .filter_map(|&a| Some((a, parse_table(table_text(a)?))))
        .collect()
});

fn parse_table(text: &'static str) -> Table {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, nr) = l.split_once(' ')?;
            Some((name, nr.parse().ok()?))
        })
        .collect()
}

/// Whether any compiled-in table knows `name` (LXC only skips names
/// libseccomp has never heard of with a message; we warn).
pub fn known_anywhere(name: &str) -> bool {
    TABLES.values().any(|t| t.contains_key(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_numbers_lxc_uses() {
        // The numbers LXC 5.0.2 logs for Debian's common.seccomp on x86_64.
        assert_eq!(Arch::X86_64.syscall("kexec_load"), Some(246));
        assert_eq!(Arch::X86_64.syscall("open_by_handle_at"), Some(304));
        assert_eq!(Arch::X86_64.syscall("init_module"), Some(175));
        assert_eq!(Arch::X86_64.syscall("finit_module"), Some(313));
        assert_eq!(Arch::X86_64.syscall("delete_module"), Some(176));
        assert_eq!(Arch::X86_64.syscall("umount2"), Some(166));
        assert_eq!(Arch::X86_64.syscall("mkdir"), Some(83));
        assert_eq!(Arch::I386.syscall("kexec_load"), Some(283));
        assert_eq!(Arch::I386.syscall("umount2"), Some(52));
        assert_eq!(Arch::I386.syscall("socketcall"), Some(102));
        assert_eq!(Arch::X32.syscall("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(Arch::X32.syscall("kexec_load"), Some(X32_SYSCALL_BIT + 528));
        assert_eq!(Arch::Aarch64.syscall("mkdirat"), Some(34));
        assert_eq!(Arch::Aarch64.syscall("mkdir"), None);
        assert_eq!(Arch::Arm.syscall("mkdir"), Some(39));
        assert_eq!(Arch::Arm.syscall("set_tls"), Some(0x0f0005));
        assert_eq!(Arch::Riscv64.syscall("riscv_flush_icache"), Some(259));
        assert_eq!(Arch::X86_64.syscall("socketcall"), None);
        assert!(known_anywhere("socketcall"));
        assert!(!known_anywhere("no_such_syscall"));
        assert_eq!(Arch::X86_64.syscall_name(83), Some("mkdir"));
        for a in Arch::ALL {
            assert!(TABLES[&a].len() > 300, "{a:?}");
        }
    }

    #[test]
    fn audit_tokens() {
        assert_eq!(Arch::X86_64.audit(), 0xc000_003e);
        assert_eq!(Arch::I386.audit(), 0x4000_0003);
        assert_eq!(Arch::Aarch64.audit(), 0xc000_00b7);
        assert_eq!(Arch::Arm.audit(), 0x4000_0028);
        assert_eq!(Arch::Riscv64.audit(), 0xc000_00f3);
    }

    #[test]
    fn machines() {
        assert_eq!(Arch::from_machine("x86_64"), Some(Arch::X86_64));
        assert_eq!(Arch::from_machine("i686"), Some(Arch::I386));
        assert_eq!(Arch::from_machine("armv7l"), Some(Arch::Arm));
        assert_eq!(Arch::from_machine("aarch64"), Some(Arch::Aarch64));
        assert_eq!(Arch::from_machine("riscv64"), Some(Arch::Riscv64));
        assert_eq!(Arch::from_machine("s390x"), None);
        assert_eq!(
            Arch::X86_64.filtered(),
            [Arch::X86_64, Arch::I386, Arch::X32]
        );
    }
}
