//! Compile a [`Filter`] to a classic BPF seccomp program.
//!
//! ```text
//!   ld arch; jeq ARCH_1 → A1; jeq ARCH_2 → A2; ...; ret BAD_ARCH
//! A1: ld nr; [x86_64: nr ≥ X32 bit and nr ≠ -1 → x32 tree or BAD_ARCH]
//!     binary search over the syscall numbers → body or ret DEFAULT
//! body: unconditional → the shared `ret ACTION`;
//!       conditional → argument comparisons, first full match returns
//! ```
//!
//! The program is built backwards (last instruction first), so every jump
//! target already exists when the jump is emitted; a conditional jump that
//! would exceed classic BPF's 8-bit offsets goes through an inserted `ja`.
//! Arguments of 64-bit ABIs are compared on all 64 bits (high word, then
//! low word); 32-bit ABIs compare the low word only, as libseccomp does.

use std::collections::HashMap;

use super::arch::{Arch, X32_SYSCALL_BIT};
use super::filter::{ArchRules, Filter, SyscallRules};
use super::profile::{Action, ArgCmp, CmpOp};

/// One classic BPF instruction (struct sock_filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

pub const LD_W_ABS: u16 = 0x20;
pub const ALU_AND_K: u16 = 0x54;
pub const JMP_JA: u16 = 0x05;
pub const JMP_JEQ_K: u16 = 0x15;
pub const JMP_JGT_K: u16 = 0x25;
pub const JMP_JGE_K: u16 = 0x35;
pub const RET_K: u16 = 0x06;

/// The kernel's limit (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

// struct seccomp_data offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

/// A jump target: the instruction's index counted from the program's end.
type Label = usize;

#[derive(Default)]
struct Builder {
    /// The program, last instruction first.
    rev: Vec<Insn>,
    rets: HashMap<u32, Label>,
    /// The nearest stand-in for a far target: a copy of a `ret`, or a `ja`
    /// to it. Jumps emitted later (earlier in the program) reuse it.
    near: HashMap<Label, Label>,
}

impl Builder {
    fn push(&mut self, i: Insn) -> Label {
        self.rev.push(i);
        self.rev.len() - 1
    }

    /// Distance from the next instruction to be emitted to `l`.
    fn dist(&self, l: Label) -> usize {
        self.rev.len() - l - 1
    }

    fn ld(&mut self, off: u32) -> Label {
        self.push(Insn {
            code: LD_W_ABS,
            jt: 0,
            jf: 0,
            k: off,
        })
    }

    fn and(&mut self, mask: u32) -> Label {
        self.push(Insn {
            code: ALU_AND_K,
            jt: 0,
            jf: 0,
            k: mask,
        })
    }

    fn ja(&mut self, target: Label) -> Label {
        let k = self.dist(target) as u32;
        self.push(Insn {
            code: JMP_JA,
            jt: 0,
            jf: 0,
            k,
        })
    }

    /// `target`, or its nearest stand-in, made when none is in reach.
    fn reach(&mut self, target: Label) -> Label {
        if let Some(&n) = self.near.get(&target) {
            if self.dist(n) <= 255 {
                return n;
            }
        }
        if self.dist(target) <= 255 {
            return target;
        }
        let orig = self.rev[target];
        let n = if orig.code == RET_K {
            self.push(orig)
        } else {
            self.ja(target)
        };
        self.near.insert(target, n);
        n
    }

    /// `if A <op> k goto t else goto f`, through stand-ins when far.
    fn jmp(&mut self, code: u16, k: u32, t: Label, f: Label) -> Label {
        let (mut nt, mut nf) = (t, f);
        loop {
            if self.dist(nt) > 255 {
                nt = self.reach(t);
            } else if self.dist(nf) > 255 {
                nf = self.reach(f);
            } else {
                break;
            }
        }
        let (t, f) = (nt, nf);
        let (jt, jf) = (self.dist(t) as u8, self.dist(f) as u8);
        self.push(Insn { code, jt, jf, k })
    }

    /// The shared `ret ACTION`, emitted once at the program's end.
    fn ret(&self, a: Action) -> Label {
        self.rets[&a.ret()]
    }

    fn add_ret(&mut self, a: Action) {
        let v = a.ret();
        if !self.rets.contains_key(&v) {
            let l = self.push(Insn {
                code: RET_K,
                jt: 0,
                jf: 0,
                k: v,
            });
            self.rets.insert(v, l);
        }
    }
}

/// Compile `f`. Fails only when the program exceeds the kernel's size limit.
pub fn compile(f: &Filter) -> Result<Vec<Insn>, String> {
    let mut b = Builder::default();
    // Every return value, once, at the end.
    b.add_ret(f.bad_arch);
    b.add_ret(f.default);
    for ar in &f.arches {
        for sc in ar.syscalls.values() {
            sc.uncond.into_iter().for_each(|a| b.add_ret(a));
            sc.cond.iter().for_each(|c| b.add_ret(c.action));
        }
    }
    let bad = b.ret(f.bad_arch);
    // x32 shares x86_64's audit token: one block for both.
    let x32 = f.arch_rules(Arch::X32);
    let mut entries: Vec<(u32, Label)> = Vec::new();
    for ar in f.arches.iter().rev() {
        match ar.arch {
            Arch::X32 if f.arch_rules(Arch::X86_64).is_some() => continue,
            Arch::X86_64 => {
                let x32_tree = x32.map(|x| tree(&mut b, x, f.default));
                let tree64 = tree(&mut b, ar, f.default);
                // libseccomp: -1 (a tracer skipping the call) goes through
                // the x86_64 rules; other numbers with the x32 bit are x32
                // calls, or a bad architecture when x32 is not filtered.
                let neg = b.jmp(JMP_JEQ_K, u32::MAX, tree64, x32_tree.unwrap_or(bad));
                b.jmp(JMP_JGE_K, X32_SYSCALL_BIT, neg, tree64);
            }
            _ => {
                let t = tree(&mut b, ar, f.default);
                // `ld nr` falls through to the next instruction.
                if t != b.rev.len() - 1 {
                    b.ja(t);
                }
            }
        }
        // The block starts by loading the syscall number.
        let entry = b.ld(OFF_NR);
        entries.push((ar.arch.audit(), entry));
    }
    // Dispatch on the architecture: the first block checked is the native one.
    let mut next = bad;
    for (audit, entry) in entries.iter() {
        next = b.jmp(JMP_JEQ_K, *audit, *entry, next);
    }
    b.ld(OFF_ARCH);
    let n = b.rev.len();
    if n > MAX_INSNS {
        return Err(format!(
            "the compiled filter has {n} instructions, more than the kernel's limit of {MAX_INSNS}"
        ));
    }
    b.rev.reverse();
    Ok(b.rev)
}

/// The search over one ABI's syscalls; expects the number in A. Returns
/// its entry label.
fn tree(b: &mut Builder, ar: &ArchRules, default: Action) -> Label {
    let def = b.ret(default);
    let bodies: Vec<(u32, Label)> = ar
        .syscalls
        .iter()
        .map(|(&nr, sc)| (nr, body(b, sc, def, is_64(ar.arch))))
        .collect();
    search(b, &bodies, def)
}

/// Binary search over sorted (number, target) pairs.
fn search(b: &mut Builder, items: &[(u32, Label)], miss: Label) -> Label {
    if items.len() <= 4 {
        // A short chain of equality tests, ending in `miss`.
        let mut next = miss;
        for &(nr, target) in items.iter().rev() {
            next = b.jmp(JMP_JEQ_K, nr, target, next);
        }
        return next;
    }
    let mid = items.len() / 2;
    let right = search(b, &items[mid..], miss);
    let left = search(b, &items[..mid], miss);
    b.jmp(JMP_JGE_K, items[mid].0, right, left)
}

/// One syscall's decision: the shared return of an unconditional action,
/// or the chain of conditional rules falling back to the default.
fn body(b: &mut Builder, sc: &SyscallRules, def: Label, wide: bool) -> Label {
    if let Some(a) = sc.uncond {
        return b.ret(a);
    }
    let mut next = def;
    for rule in sc.cond.iter().rev() {
        let mut ok = b.ret(rule.action);
        for cmp in rule.args.iter().rev() {
            ok = compare(b, cmp, ok, next, wide);
        }
        next = ok;
    }
    next
}

fn is_64(a: Arch) -> bool {
    matches!(a, Arch::X86_64 | Arch::Aarch64 | Arch::Riscv64)
}

/// Emit one argument comparison: to `succ` when it holds, else `fail`.
fn compare(b: &mut Builder, c: &ArgCmp, succ: Label, fail: Label, wide: bool) -> Label {
    // NE, LT and LE are the negations of EQ, GE and GT.
    let (op, succ, fail) = match c.op {
        CmpOp::Ne => (CmpOp::Eq, fail, succ),
        CmpOp::Lt => (CmpOp::Ge, fail, succ),
        CmpOp::Le => (CmpOp::Gt, fail, succ),
        op => (op, succ, fail),
    };
    let mask = if op == CmpOp::MaskedEq {
        c.mask
    } else {
        u64::MAX
    };
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let (mhi, mlo) = ((mask >> 32) as u32, mask as u32);
    let lo_off = OFF_ARGS + 8 * u32::from(c.index);
    let hi_off = lo_off + 4;
    // The low word's test.
    let lo_code = match op {
        CmpOp::Gt => JMP_JGT_K,
        CmpOp::Ge => JMP_JGE_K,
        _ => JMP_JEQ_K,
    };
    let emit_lo = |b: &mut Builder| {
        b.jmp(lo_code, vlo, succ, fail);
        if mlo != u32::MAX {
            b.and(mlo);
        }
        b.ld(lo_off)
    };
    if !wide {
        // A 32-bit ABI's argument has a zero high word.
        // A 32-bit ABI's argument has a zero high word: a value with high
        // bits can never be equal, greater or equal.
        let never = match op {
            CmpOp::Gt | CmpOp::Ge => vhi > 0,
            _ => vhi & mhi != 0 || (op == CmpOp::MaskedEq && vhi != 0),
        };
        return if never { fail } else { emit_lo(b) };
    }
    let lo = emit_lo(b);
    match op {
        CmpOp::Gt | CmpOp::Ge => {
            // hi > v → succ; hi == v → low word; else fail.
            let eq = b.jmp(JMP_JEQ_K, vhi, lo, fail);
            b.jmp(JMP_JGT_K, vhi, succ, eq);
        }
        _ if mhi == 0 => {
            // (hi & 0) == v: decided without looking.
            return if vhi == 0 { lo } else { fail };
        }
        _ => {
            b.jmp(JMP_JEQ_K, vhi, lo, fail);
            if mhi != u32::MAX {
                b.and(mhi);
            }
        }
    }
    b.ld(hi_off)
}

/// A classic BPF interpreter for the subset the compiler emits: the tests
/// run compiled filters against synthetic seccomp_data.
#[cfg(test)]
pub fn run(prog: &[Insn], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&nr.to_le_bytes());
    data.extend_from_slice(&arch.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    for a in args {
        data.extend_from_slice(&a.to_le_bytes());
    }
    let (mut pc, mut acc) = (0usize, 0u32);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            LD_W_ABS => {
                let o = i.k as usize;
                acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
            }
            ALU_AND_K => acc &= i.k,
            JMP_JA => pc += i.k as usize,
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K => {
                let t = match i.code {
                    JMP_JEQ_K => acc == i.k,
                    JMP_JGT_K => acc > i.k,
                    _ => acc >= i.k,
                };
                pc += usize::from(if t { i.jt } else { i.jf });
            }
            RET_K => return i.k,
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::{parse, Section};
    use super::*;

    fn prog(text: &str, native: Arch) -> Vec<Insn> {
        let active = |s: Section| super::super::section_active(s, native);
        let f = super::super::filter::build(&parse(text, active).unwrap(), native).unwrap();
        compile(&f).unwrap()
    }

    const DEBIAN: &str = "2\ndenylist\nreject_force_umount  # c\n[all]\nkexec_load errno 1\nopen_by_handle_at errno 1\ninit_module errno 1\nfinit_module errno 1\ndelete_module errno 1\n";
    const X64: u32 = 0xc000_003e;
    const X86: u32 = 0x4000_0003;
    const ALLOW: u32 = 0x7fff_0000;
    const EPERM: u32 = 0x0005_0001;
    const EACCES: u32 = 0x0005_000d;

    #[test]
    fn debian_profile_decisions() {
        let p = prog(DEBIAN, Arch::X86_64);
        assert_eq!(run(&p, 246, X64, [0; 6]), EPERM); // kexec_load
        assert_eq!(run(&p, 304, X64, [0; 6]), EPERM); // open_by_handle_at
        assert_eq!(run(&p, 175, X64, [0; 6]), EPERM); // init_module
        assert_eq!(run(&p, 0, X64, [0; 6]), ALLOW); // read
        assert_eq!(run(&p, 83, X64, [0; 6]), ALLOW); // mkdir
                                                     // umount2(path, MNT_FORCE | MNT_DETACH) vs umount2(path, MNT_DETACH)
        assert_eq!(run(&p, 166, X64, [0, 3, 0, 0, 0, 0]), EACCES);
        assert_eq!(run(&p, 166, X64, [0, 2, 0, 0, 0, 0]), ALLOW);
        // i386 and x32 processes are filtered too.
        assert_eq!(run(&p, 283, X86, [0; 6]), EPERM);
        assert_eq!(run(&p, 52, X86, [0, 1, 0, 0, 0, 0]), EACCES);
        assert_eq!(run(&p, 246, X86, [0; 6]), ALLOW); // 246 is not kexec_load there
        assert_eq!(run(&p, X32_SYSCALL_BIT + 528, X64, [0; 6]), EPERM);
        assert_eq!(run(&p, X32_SYSCALL_BIT + 83, X64, [0; 6]), ALLOW);
        // An ABI the filter does not cover is killed; -1 is let through.
        assert_eq!(run(&p, 0, 0xc000_00b7, [0; 6]), 0);
        assert_eq!(run(&p, u32::MAX, X64, [0; 6]), ALLOW);
    }

    #[test]
    fn allowlist_and_x32_rejection() {
        let p = prog("1\nallowlist\n0\n1\n60\n231\n", Arch::X86_64);
        assert_eq!(run(&p, 0, X64, [0; 6]), ALLOW);
        assert_eq!(run(&p, 60, X64, [0; 6]), ALLOW);
        assert_eq!(run(&p, 2, X64, [0; 6]), 0);
        // v1 filters only the native ABI: x32 and i386 are bad arches.
        assert_eq!(run(&p, X32_SYSCALL_BIT, X64, [0; 6]), 0);
        assert_eq!(run(&p, 0, X86, [0; 6]), 0);
    }

    #[test]
    fn argument_comparisons_64_bit() {
        let text = "2\ndenylist\nioctl errno 1 [1,0x5412,==]\nmmap errno 2 [2,4,&=,4]\nread errno 3 [0,0x100000000,>]\nwrite errno 4 [2,10,<]\npread64 errno 5 [3,0x100000000,>=]\npwrite64 errno 6 [3,7,<=]\nopenat errno 7 [2,0,!=]\n";
        let p = prog(text, Arch::X86_64);
        let e = |n: u32| 0x0005_0000 | n;
        assert_eq!(run(&p, 16, X64, [0, 0x5412, 0, 0, 0, 0]), e(1));
        assert_eq!(run(&p, 16, X64, [0, 0x1_0000_5412, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, 9, X64, [0, 0, 7, 0, 0, 0]), e(2));
        assert_eq!(run(&p, 9, X64, [0, 0, 3, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, 0, X64, [0x1_0000_0001, 0, 0, 0, 0, 0]), e(3));
        assert_eq!(run(&p, 0, X64, [0x1_0000_0000, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, 0, X64, [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, 1, X64, [0, 0, 9, 0, 0, 0]), e(4));
        assert_eq!(run(&p, 1, X64, [0, 0, 10, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, 1, X64, [0, 0, 0x1_0000_0000, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, 17, X64, [0, 0, 0, 0x1_0000_0000, 0, 0]), e(5));
        assert_eq!(run(&p, 17, X64, [0, 0, 0, 0xffff_ffff, 0, 0]), ALLOW);
        assert_eq!(run(&p, 18, X64, [0, 0, 0, 7, 0, 0]), e(6));
        assert_eq!(run(&p, 18, X64, [0, 0, 0, 8, 0, 0]), ALLOW);
        assert_eq!(run(&p, 257, X64, [0, 0, 1, 0, 0, 0]), e(7));
        assert_eq!(run(&p, 257, X64, [0, 0, 0, 0, 0, 0]), ALLOW);
        // The same rules for i386 compare the low word only.
        assert_eq!(run(&p, 54, X86, [0, 0x5412, 0, 0, 0, 0]), e(1));
        assert_eq!(run(&p, 3, X86, [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
    }

    #[test]
    fn i386_socketcall_cannot_go_around_a_socket_rule() {
        let p = prog("2\ndenylist\nsocket errno 97\n", Arch::X86_64);
        assert_eq!(run(&p, 41, X64, [0; 6]), 0x0005_0061);
        assert_eq!(run(&p, 359, X86, [0; 6]), 0x0005_0061);
        assert_eq!(run(&p, 102, X86, [1, 0, 0, 0, 0, 0]), 0x0005_0061);
        assert_eq!(run(&p, 102, X86, [3, 0, 0, 0, 0, 0]), ALLOW, "connect");
    }

    #[test]
    fn rules_in_order_and_and_semantics() {
        let text = "2\ndenylist\nclone errno 1 [0,1,==][1,2,==]\nclone errno 2 [1,2,==]\n";
        let p = prog(text, Arch::X86_64);
        assert_eq!(run(&p, 56, X64, [1, 2, 0, 0, 0, 0]), 0x0005_0001);
        assert_eq!(run(&p, 56, X64, [0, 2, 0, 0, 0, 0]), 0x0005_0002);
        assert_eq!(run(&p, 56, X64, [1, 3, 0, 0, 0, 0]), ALLOW);
    }

    #[test]
    fn large_allowlists_stay_under_the_limit_and_jump_far() {
        // Every x86_64 syscall allowed except a few: the allowlist LXC users
        // write for locked-down containers, the worst case for jump offsets.
        let mut text = String::from("2\nallowlist errno 38\n");
        let mut names: Vec<&str> = Vec::new();
        for nr in 0..500 {
            if let Some(n) = Arch::X86_64.syscall_name(nr) {
                if n != "mkdir" && n != "reboot" {
                    names.push(n);
                }
            }
        }
        for n in &names {
            text.push_str(n);
            text.push_str(" allow [0,0,!=]\n");
            text.push_str(n);
            text.push('\n');
        }
        let p = prog(&text, Arch::X86_64);
        assert!(p.len() < 3000, "{}", p.len());
        assert_eq!(run(&p, 0, X64, [0; 6]), ALLOW);
        assert_eq!(run(&p, 435, X64, [0; 6]), ALLOW); // clone3
        assert_eq!(run(&p, 83, X64, [0; 6]), 0x0005_0026);
        assert_eq!(run(&p, 169, X64, [0; 6]), 0x0005_0026);
        assert_eq!(run(&p, 83, X86, [0; 6]), ALLOW); // i386 rename
        assert_eq!(run(&p, 39, X86, [0; 6]), 0x0005_0026); // i386 mkdir
                                                           // Conditional chains far from their returns still work.
        let mut text = String::from("2\ndenylist\n");
        for n in names.iter().step_by(6) {
            text.push_str(&format!("{n} errno 1 [0,1,==][1,2,>][2,3,&=,3]\n"));
        }
        let p = prog(&text, Arch::X86_64);
        assert!(p.len() > 1000, "{}", p.len());
        assert!(p.len() <= MAX_INSNS, "{}", p.len());
        assert_eq!(run(&p, 0, X64, [1, 3, 7, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, 0, X64, [1, 2, 7, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, 1, X64, [1, 3, 7, 0, 0, 0]), ALLOW); // not every 6th
        let last = Arch::X86_64
            .syscall(names[(names.len() - 1) / 6 * 6])
            .unwrap();
        assert_eq!(run(&p, last, X64, [1, 3, 3, 0, 0, 0]), EPERM);
        assert_eq!(run(&p, last, X64, [1, 3, 2, 0, 0, 0]), ALLOW);
        // Too big for the kernel: a clear error, not a broken program.
        let mut text = String::from("2\ndenylist\n");
        for n in &names {
            text.push_str(&format!("{n} errno 1 [0,1,==][1,2,>][2,3,&=,3][3,4,<]\n"));
        }
        let active = |s: Section| super::super::section_active(s, Arch::X86_64);
        let f = super::super::filter::build(&parse(&text, active).unwrap(), Arch::X86_64).unwrap();
        assert!(compile(&f).unwrap_err().contains("limit of 4096"));
    }
}
