//! lxc.seccomp.profile: LXC's profile language compiled to a classic BPF
//! seccomp filter in Rust, loaded as the last confinement step before exec.
//!
//! - [`profile`]: the text format, parsed as LXC 5 parses it;
//! - [`filter`]: which rule applies to which ABI (native + compat), with
//!   LXC's and libseccomp's semantics;
//! - [`bpf`]: the compiler;
//! - [`arch`]: ABIs and the generated syscall tables.
//!
//! Why not a crate: seccompiler (firecracker) filters one ABI per program,
//! covers x86_64 and aarch64 only and has no user-notification action,
//! while LXC profiles filter the compat ABIs (i386 and x32 on x86_64, arm
//! on arm64) in the same program and lxcbox builds for armv7, i686 and
//! riscv64 too. libseccomp itself is C. The compiler here is ~300 lines,
//! tested against a BPF interpreter and the kernel.

pub mod arch;
pub mod bpf;
pub mod filter;
pub mod profile;

use anyhow::{anyhow, bail, Context, Result};

pub use arch::Arch;
use profile::Section;

/// Whether the rules of `s` are read on a host whose native ABI is
/// `native` (LXC's section switch in parse_config_v2).
pub fn section_active(s: Section, native: Arch) -> bool {
    match s {
        Section::Initial | Section::All => true,
        Section::Arch(name) => match name {
            "x86" => matches!(native, Arch::I386 | Arch::X86_64),
            "x32" | "x86_64" => native == Arch::X86_64,
            "arm" => matches!(native, Arch::Arm | Arch::Aarch64),
            "arm64" => native == Arch::Aarch64,
            "riscv64" => native == Arch::Riscv64,
            _ => false,
        },
    }
}

/// A compiled profile, ready to be loaded.
#[derive(Debug, Clone)]
pub struct Program {
    /// The profile it came from (for messages).
    pub path: String,
    pub insns: Vec<bpf::Insn>,
}

impl Program {
    /// Install the filter on the calling thread (inherited across fork and
    /// exec). Without no_new_privs this needs CAP_SYS_ADMIN, which is why
    /// it runs before the uid switch, as in LXC.
    pub fn load(&self) -> Result<()> {
        crate::sys::seccomp::install(&self.insns)
            .with_context(|| format!("loading the seccomp filter of {}", self.path))
    }
}

/// Parse and compile profile `text` (named `path` in messages) for the
/// host's ABIs.
pub fn compile_text(text: &str, path: &str, native: Arch) -> Result<Program> {
    if !native.has_table() {
        bail!(
            "{path}: lxcbox was built without the syscall table of this host's architecture ({})",
            native.name()
        );
    }
    let prof = profile::parse(text, |s| section_active(s, native))
        .map_err(|e| anyhow!("{path}:{}: {}", e.line, e.msg))?;
    let f = filter::build(&prof, native).map_err(|e| anyhow!("{path}:{}: {}", e.line, e.msg))?;
    trace_filter(&f);
    let insns = bpf::compile(&f).map_err(|e| anyhow!("{path}: {e}"))?;
    log::debug!(
        "seccomp: {path}: {} instructions for {}",
        insns.len(),
        f.arches
            .iter()
            .map(|a| a.arch.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Program {
        path: path.to_string(),
        insns,
    })
}

/// Read, parse and compile the profile at `path`.
pub fn compile_file(path: &str) -> Result<Program> {
    let native = Arch::native().ok_or_else(|| {
        anyhow!(
            "lxc.seccomp.profile: seccomp filters are not supported on this architecture ({})",
            rustix::system::uname().machine().to_string_lossy()
        )
    })?;
    let text = std::fs::read(path).with_context(|| {
        format!("lxc.seccomp.profile: failed to open seccomp policy file {path}")
    })?;
    compile_text(&String::from_utf8_lossy(&text), path, native)
}

/// LXC's use_seccomp(): a profile is loaded unless the kernel has no
/// seccomp or we are already confined (then only with
/// lxc.seccomp.allow_nesting). Reads /proc/self/status.
pub fn wanted(allow_nesting: bool) -> bool {
    if allow_nesting {
        return true;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match status_mode(&status) {
        // Unreadable: try, and let the load report what is wrong.
        None if status.is_empty() => true,
        None => {
            log::warn!("lxc.seccomp.profile: seccomp is not enabled in the kernel; not loading the profile (as LXC)");
            false
        }
        Some(0) => true,
        Some(_) => {
            log::warn!(
                "lxc.seccomp.profile: already seccomp-confined, not loading the profile (as LXC; set lxc.seccomp.allow_nesting = 1 to stack it)"
            );
            false
        }
    }
}

/// The `Seccomp:` mode of a /proc/PID/status text.
pub fn status_mode(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .and_then(|v| v.trim().parse().ok())
}

/// At TRACE, the rules of every ABI (LXC dumps libseccomp's PFC there).
fn trace_filter(f: &filter::Filter) {
    if !log::log_enabled!(log::Level::Trace) {
        return;
    }
    log::trace!(
        "seccomp: default action {}, bad architecture {}",
        f.default,
        f.bad_arch
    );
    for ar in &f.arches {
        for (nr, sc) in &ar.syscalls {
            let name = ar.arch.syscall_name(*nr).unwrap_or("?");
            if let Some(a) = sc.uncond {
                log::trace!("seccomp: {} {name}({nr}): {a}", ar.arch.name());
            }
            for c in &sc.cond {
                log::trace!(
                    "seccomp: {} {name}({nr}) {:?}: {}",
                    ar.arch.name(),
                    c.args,
                    c.action
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_path_and_line() {
        let e = compile_text("2\ndenylist\nmkdir errno x\n", "/p/prof", Arch::X86_64).unwrap_err();
        assert_eq!(e.to_string().split(": ").next(), Some("/p/prof:3"), "{e}");
        let e = compile_file("/nonexistent/profile").unwrap_err();
        assert!(format!("{e:#}").contains("/nonexistent/profile"), "{e:#}");
    }

    #[test]
    fn a_loaded_filter_changes_what_syscalls_return() {
        // Filters are per thread: load one in a thread of its own (with
        // no_new_privs, so no privilege is needed) and call through it.
        let prog = compile_text(
            "2\ndenylist\nmkdir errno 13\nmkdirat errno 13\n",
            "test",
            Arch::native().unwrap(),
        )
        .unwrap();
        let r = std::thread::spawn(move || {
            let before = rustix::fs::mkdir("/nonexistent-lxcbox/x", rustix::fs::Mode::empty());
            rustix::thread::set_no_new_privs(true).unwrap();
            prog.load().unwrap();
            let after = rustix::fs::mkdir("/nonexistent-lxcbox/x", rustix::fs::Mode::empty());
            let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
            (before, after, status_mode(&status))
        })
        .join()
        .unwrap();
        assert_eq!(r.0, Err(rustix::io::Errno::NOENT));
        assert_eq!(r.1, Err(rustix::io::Errno::ACCESS));
        assert_eq!(r.2, Some(2));
        // This thread is untouched.
        assert_eq!(
            rustix::fs::mkdir("/nonexistent-lxcbox/x", rustix::fs::Mode::empty()),
            Err(rustix::io::Errno::NOENT)
        );
    }

    #[test]
    fn status_modes() {
        assert_eq!(
            status_mode("Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t1\n"),
            Some(2)
        );
        assert_eq!(status_mode("Seccomp:\t0\n"), Some(0));
        assert_eq!(status_mode("Name:\tx\n"), None);
    }
}
