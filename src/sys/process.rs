//! Processes: fork, exec, signals, reaping, fd hygiene, credentials, the
//! process title. Children in new namespaces: [`super::spawn`].

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// fork(2). Returns `Some(pid)` in the parent, `None` in the child. The caller
/// must be single-threaded or only call async-signal-safe code in the child.
pub fn fork() -> io::Result<Option<i32>> {
    // SAFETY: lxcbox's runtime is single-threaded where it forks; the child
    // continues with a copy of our memory.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        p => Ok(Some(p)),
    }
}

/// Terminate the calling process at once, without running destructors or
/// atexit handlers (for forked children).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is always safe to call.
    unsafe { libc::_exit(code) }
}

/// Send any signal number (including real-time ones) to `pid`.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill(2) takes plain integers.
    if unsafe { libc::kill(pid, sig) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Send a signal through a pidfd (no pid-reuse race).
pub fn pidfd_kill(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: pidfd_send_signal with a valid fd, a signal number, no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    cvt(r).map(drop)
}

/// How a child ended, from waitpid(2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The shell convention: the code, or 128+N for signal N.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }

    /// What LXC's monitor reports in "exited with status [N]": the exit
    /// code (WEXITSTATUS), which is 0 when a signal ended the process.
    pub fn lxc_status(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(_) => 0,
        }
    }

    /// The signal that ended the process, if one did.
    pub fn signal(self) -> Option<i32> {
        match self {
            ExitStatus::Exited(_) => None,
            ExitStatus::Signaled(s) => Some(s),
        }
    }
}

fn decode(status: libc::c_int) -> Option<ExitStatus> {
    if libc::WIFEXITED(status) {
        Some(ExitStatus::Exited(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Some(ExitStatus::Signaled(libc::WTERMSIG(status)))
    } else {
        None
    }
}

/// waitpid(2) for `pid` (-1: any child). `nohang`: return `Ok(None)` if
/// nothing has exited. ECHILD is returned as an error.
pub fn waitpid(pid: i32, nohang: bool) -> io::Result<Option<(i32, ExitStatus)>> {
    loop {
        let mut status: libc::c_int = 0;
        let flags = if nohang { libc::WNOHANG } else { 0 };
        // SAFETY: waitpid writes only into `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            return Ok(None);
        }
        match decode(status) {
            Some(s) => return Ok(Some((r, s))),
            None if nohang => return Ok(None),
            None => continue,
        }
    }
}

/// execve(2), searching PATH (from `envp`, else a default) when `argv[0]`
/// has no slash, as execvp does. Returns only on failure.
pub fn exec(argv: &[CString], envp: &[CString]) -> io::Error {
    if argv.is_empty() {
        return io::Error::from_raw_os_error(libc::ENOENT);
    }
    let argv_p = nul_terminated(argv);
    let envp_p = nul_terminated(envp);
    let prog = argv[0].as_bytes();
    if prog.contains(&b'/') {
        return execve(&argv[0], &argv_p, &envp_p);
    }
    let path = envp
        .iter()
        .find_map(|e| e.as_bytes().strip_prefix(b"PATH="))
        .unwrap_or(b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    let mut last = io::Error::from_raw_os_error(libc::ENOENT);
    for dir in path.split(|&b| b == b':') {
        let mut full = Vec::with_capacity(dir.len() + prog.len() + 1);
        full.extend_from_slice(if dir.is_empty() { b"." } else { dir });
        full.push(b'/');
        full.extend_from_slice(prog);
        let Ok(c) = CString::new(full) else { continue };
        let e = execve(&c, &argv_p, &envp_p);
        // Keep looking on "not here"; report a real failure (EACCES etc.) otherwise.
        if e.raw_os_error() != Some(libc::ENOENT) && e.raw_os_error() != Some(libc::ENOTDIR) {
            last = e;
        }
    }
    last
}

fn nul_terminated(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

fn execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> io::Error {
    // SAFETY: argv and envp are NULL-terminated arrays of pointers into
    // CStrings that outlive the call; execve only returns on failure.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// Execute the file behind `fd` (execveat with AT_EMPTY_PATH), e.g. a sealed
/// memfd copy of ourselves. Returns only on failure.
pub fn fexec(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> io::Error {
    let argv_p = nul_terminated(argv);
    let envp_p = nul_terminated(envp);
    // SAFETY: as for execve; the empty path with AT_EMPTY_PATH names `fd` itself.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_p.as_ptr(),
            envp_p.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOSYS) {
        return e;
    }
    // qemu-user (7.2) does not emulate execveat: the fd's magic link in
    // /proc does the same where a /proc is mounted.
    let Ok(path) = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
        return e;
    };
    match execve(&path, &argv_p, &envp_p) {
        n if n.raw_os_error() == Some(libc::ENOENT) => io::Error::new(
            n.kind(),
            "execveat is not available (qemu-user) and there is no /proc to exec /proc/self/fd/N through",
        ),
        n => n,
    }
}

/// Close every fd >= `from` except those in `keep`: close_range(2) over
/// the gaps (5.9), else the fds /proc/self/fd lists, else every number
/// up to the fd limit.
pub fn close_fds_from(from: RawFd, keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&k| k >= from).collect();
    keep.sort_unstable();
    if !super::kernel::has(super::kernel::Feature::CloseRange) {
        return close_fds_swept(from, &keep);
    }
    let mut lo = from as libc::c_uint;
    for k in keep {
        if (k as libc::c_uint) > lo {
            close_range(lo, k as libc::c_uint - 1)?;
        }
        lo = k as libc::c_uint + 1;
    }
    close_range(lo, libc::c_uint::MAX)
}

/// close_range's fallback. The list is read completely before anything is
/// closed (closing while reading the directory would close its own fd).
fn close_fds_swept(from: RawFd, keep: &[RawFd]) -> io::Result<()> {
    let open = match open_fds() {
        Ok(fds) => fds,
        // No /proc (e.g. after pivot_root into a root without one):
        // every number below the soft limit (capped: a limit of 2^30 would
        // take minutes and nothing opens that many).
        Err(_) => {
            let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile)
                .current
                .unwrap_or(1 << 20)
                .min(1 << 20) as RawFd;
            (from..lim).collect()
        }
    };
    for fd in open {
        if fd >= from && keep.binary_search(&fd).is_err() {
            // SAFETY: closing a descriptor number; like close_range, the
            // caller owns every fd it did not list in `keep` (it is about to
            // exec). EBADF for a number not open is harmless.
            unsafe { libc::close(fd) };
        }
    }
    Ok(())
}

/// The fds open in this process, from /proc/self/fd (without the one used
/// to read it).
fn open_fds() -> io::Result<Vec<RawFd>> {
    let dir = rustix::fs::open(
        "/proc/self/fd",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let own = dir.as_raw_fd();
    let mut fds = Vec::new();
    for e in rustix::fs::Dir::read_from(&dir)? {
        let e = e?;
        if let Some(fd) = e
            .file_name()
            .to_str()
            .ok()
            .and_then(|n| n.parse::<RawFd>().ok())
        {
            if fd != own {
                fds.push(fd);
            }
        }
    }
    Ok(fds)
}

fn close_range(lo: libc::c_uint, hi: libc::c_uint) -> io::Result<()> {
    // SAFETY: close_range only closes descriptors; callers own every fd in
    // the range by construction (they are about to exec).
    let r = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) };
    cvt(r).map(drop)
}

/// Give SIGPIPE back its default action, which the Rust runtime sets to
/// "ignore" before main: a write to a closed pipe then ends the process by
/// SIGPIPE, quietly and without a core, as it ends LXC's tools (exit
/// status 141 in a shell), instead of an EPIPE error that println! turns
/// into a panic. Long-lived processes are unaffected where it matters: the
/// monitor and lxc-init block every signal (a blocked SIGPIPE only leaves
/// the write failing with EPIPE), and sockets are written with
/// MSG_NOSIGNAL.
pub fn default_sigpipe() {
    // SAFETY: setting a disposition to SIG_DFL is always valid.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// Block every blockable signal in this thread; returns the previous mask.
pub fn block_all_signals() -> io::Result<libc::sigset_t> {
    let mut all = empty_sigset();
    let mut old = empty_sigset();
    // SAFETY: sigfillset/pthread_sigmask write only into the given sets.
    unsafe {
        libc::sigfillset(&mut all);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(old)
}

/// Unblock every signal and reset every handler to its default: what a
/// child must do before exec, since the mask and ignored dispositions are
/// inherited across execve.
pub fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: setting a disposition to SIG_DFL is always valid; errors
        // (signals reserved by libc) are harmless and ignored.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    let set = empty_sigset();
    // SAFETY: an empty set; pthread_sigmask with SIG_SETMASK only reads it.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
}

/// In a child of a process whose dispositions are all default except
/// SIGPIPE (which Rust's runtime ignores at start-up) and whose signals
/// are blocked — lxc-init — restore exactly that, with two syscalls
/// instead of [`reset_signals`]' sixty-odd.
pub fn reset_signals_of_init_child() {
    // SAFETY: setting SIGPIPE's disposition to SIG_DFL is always valid.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let set = empty_sigset();
    // SAFETY: an empty set; pthread_sigmask with SIG_SETMASK only reads it.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
}

fn empty_sigset() -> libc::sigset_t {
    // SAFETY: sigset_t is a plain bit array; sigemptyset initialises it.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        s
    }
}

/// A signalfd for the given signals (which the caller has blocked).
pub fn signalfd(signals: &[i32]) -> io::Result<OwnedFd> {
    let mut set = empty_sigset();
    for &s in signals {
        // SAFETY: adds a valid signal number to a set we own.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    // SAFETY: creates a new fd; `set` is read during the call only.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Read one pending signal number from a signalfd (`None` if none pending).
pub fn read_signalfd(fd: BorrowedFd<'_>) -> io::Result<Option<i32>> {
    let mut info: libc::signalfd_siginfo = {
        // SAFETY: plain C struct of integers; zero is a valid value.
        unsafe { std::mem::zeroed() }
    };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: reading at most `size` bytes into `info`.
    let r = unsafe {
        libc::read(
            fd.as_raw_fd(),
            &mut info as *mut _ as *mut libc::c_void,
            size,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Ok(None);
        }
        return Err(e);
    }
    if r as usize != size {
        return Ok(None);
    }
    Ok(Some(info.ssi_signo as i32))
}

/// Wait for any signal (all must be blocked). Used by the PID-1 loop.
pub fn wait_any_signal() -> io::Result<i32> {
    let mut all = empty_sigset();
    // SAFETY: sigfillset fills our own set; sigwaitinfo reads it and may
    // write siginfo (we pass null).
    unsafe {
        libc::sigfillset(&mut all);
        loop {
            let r = libc::sigwaitinfo(&all, std::ptr::null_mut());
            if r >= 0 {
                return Ok(r);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// The current environment as exec(2) wants it (`KEY=VALUE` strings;
/// entries holding a NUL byte, which exec could not pass, are left out).
pub fn environ_cstrings() -> Vec<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut b = k.as_bytes().to_vec();
            b.push(b'=');
            b.extend_from_slice(v.as_bytes());
            std::ffi::CString::new(b).ok()
        })
        .collect()
}

/// Set real, effective and saved ids, and the supplementary groups, in the
/// order that works: groups and gid while still privileged, uid last.
pub fn set_ids(uid: Option<u32>, gid: Option<u32>, groups: Option<&[u32]>) -> io::Result<()> {
    // SAFETY: plain syscalls on integers / a slice that outlives the call.
    unsafe {
        if let Some(gs) = groups {
            if libc::setgroups(gs.len(), gs.as_ptr()) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(g) = gid {
            if libc::setresgid(g, g, g) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(u) = uid {
            if libc::setresuid(u, u, u) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Become a subreaper, so orphaned descendants are reparented to us.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Is this process a child subreaper (PR_GET_CHILD_SUBREAPER)?
pub fn is_child_subreaper() -> io::Result<bool> {
    let mut v: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through the pointer.
    if unsafe { libc::prctl(libc::PR_GET_CHILD_SUBREAPER, &mut v as *mut libc::c_int) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v != 0)
}

/// Stop being a child subreaper.
pub fn clear_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Replace what `ps` shows for this process (/proc/self/cmdline) with
/// `title`, as LXC does for "[lxc monitor] LXCPATH NAME". Uses
/// PR_SET_MM_MAP (needs CAP_SYS_RESOURCE) with a leaked buffer.
pub fn set_proctitle(title: &str) -> io::Result<()> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the ")" of comm; field numbers per proc(5), 1-based.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(1) // state (field 3)
        .map(|s| s.parse().unwrap_or(0))
        .collect();
    // f[0] is field 4 (ppid): field N is f[N - 4].
    let field = |n: usize| f.get(n - 4).copied().unwrap_or(0);
    let buf: &'static mut [u8] = Box::leak(format!("{title}\0").into_bytes().into_boxed_slice());
    let start = buf.as_ptr() as u64;
    let words = [
        field(26), // start_code
        field(27), // end_code
        field(45), // start_data
        field(46), // end_data
        field(47), // start_brk
        brk_now(),
        field(28), // start_stack
        start,     // arg_start
        start + buf.len() as u64,
        field(50), // env_start
        field(51), // env_end
    ];
    let size = mm_map_size();
    // A 32-bit process cannot tell a 64-bit kernel's layout from a 32-bit
    // ARM kernel's (both 104 bytes): try the 8-byte pointer, then the
    // 4-byte one. A wrong layout reads exe_fd as 0 and fails before the
    // kernel changes anything (prctl_set_mm_map sets the exe file first).
    let widths: &[usize] = if cfg!(target_pointer_width = "64") {
        &[8]
    } else {
        &[8, 4]
    };
    let mut r = -1;
    for &ptr in widths {
        let map = mm_map_bytes(&words, size, ptr);
        // SAFETY: PR_SET_MM_MAP reads `map.len()` bytes of `map`, laid out
        // as the kernel's struct prctl_mm_map (mm_map_bytes); the new
        // argument area is a leaked, never-freed buffer, valid for the
        // process' life.
        r = unsafe {
            libc::prctl(
                libc::PR_SET_MM,
                libc::PR_SET_MM_MAP,
                map.as_ptr(),
                map.len(),
                0,
            )
        };
        if r == 0 {
            break;
        }
    }
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The size of struct prctl_mm_map the kernel expects (PR_SET_MM_MAP_SIZE):
/// eleven u64 addresses, the `auxv` pointer, two u32. The pointer is the
/// kernel's: 8 bytes on a 64-bit kernel even for a 32-bit process (i686 on
/// x86_64, armv7 on aarch64 — the kernel has no compat layout for it), 4 on
/// a 32-bit kernel; 104 bytes is the 64-bit answer.
fn mm_map_size() -> usize {
    let mut size: libc::c_uint = 0;
    // SAFETY: PR_SET_MM_MAP_SIZE writes one unsigned int to the address.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_MM,
            libc::PR_SET_MM_MAP_SIZE,
            &mut size as *mut libc::c_uint,
            0,
            0,
        )
    };
    if r < 0 || size == 0 {
        104
    } else {
        size as usize
    }
}

/// struct prctl_mm_map as bytes for a kernel whose struct is `size` bytes
/// and whose pointers are `ptr` bytes: `words` (start_code .. env_end), a
/// NULL auxv, auxv_size 0, and exe_fd -1 (keep /proc/self/exe), then any
/// tail padding the kernel counts in its size.
fn mm_map_bytes(words: &[u64; 11], size: usize, ptr: usize) -> Vec<u8> {
    let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    b.extend(std::iter::repeat_n(0u8, ptr));
    b.extend(0u32.to_ne_bytes()); // auxv_size
    b.extend(u32::MAX.to_ne_bytes()); // exe_fd = -1
    b.resize(size.max(b.len()), 0);
    b
}

fn brk_now() -> u64 {
    // SAFETY: sbrk(0) only queries the current break.
    unsafe { libc::sbrk(0) as u64 }
}

/// Drop capability number `cap` from the bounding set.
pub fn capbset_drop(cap: u32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Clear the ambient capability set.
pub fn clear_ambient_caps() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// setns(2) into the namespace behind `fd` (`nstype` 0: any type).
pub fn setns(fd: BorrowedFd<'_>, nstype: i32) -> io::Result<()> {
    // SAFETY: setns with a valid fd and a flag value.
    if unsafe { libc::setns(fd.as_raw_fd(), nstype) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// unshare(2) with raw CLONE_* flags. The caller is single-threaded.
pub fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: unshare with flag bits; lxcbox's callers are single-threaded
    // (the container child), so no other thread sees the change of fs/files.
    if unsafe { libc::unshare(flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::CLONE_NEWNS != 0 {
        super::mount::note_own_mount_ns();
    }
    Ok(())
}

/// Signal to receive when the parent thread dies (PR_SET_PDEATHSIG).
pub fn set_pdeathsig(sig: i32) -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Borrow an fd that this process inherited across clone/fork and keeps
/// open until it execs (the console slave in the container's child).
pub fn borrow_inherited(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: callers pass an fd that was open in the parent at clone time
    // and is never closed in the child before it execs, after which no Rust
    // code of ours runs.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Unblock one signal in this thread (e.g. SIGWINCH, which the console's
/// signal-hook handler takes while everything else goes to a signalfd).
pub fn unblock_signal(sig: i32) -> io::Result<()> {
    let mut set = empty_sigset();
    // SAFETY: sigaddset on our own set; pthread_sigmask only reads it.
    unsafe {
        libc::sigaddset(&mut set, sig);
        if libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Drop the resident pages of every read-only mapping of our executable
/// (text, read-only data, relocation tables) that holds no private copy
/// (smaps "Anonymous: 0 kB", so nothing written is lost): a long-lived
/// process that ran its set-up code once (lxc-init as PID 1) keeps
/// resident only what it touches again. The pages stay in the page cache.
pub fn trim_exe_rss() -> io::Result<()> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy();
    let exe = exe.trim_end_matches(" (deleted)");
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((lo, hi)) = first.split_once('-') {
            // A mapping header: "lo-hi perms offset dev inode path".
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            current = match (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)) {
                (Ok(lo), Ok(hi)) if path == exe && !perms.contains('w') => Some((lo, hi)),
                _ => None,
            };
            continue;
        }
        if first != "Anonymous:" {
            continue;
        }
        let Some((lo, hi)) = current.take() else {
            continue;
        };
        if f.next() != Some("0") {
            continue; // written before it turned read-only (RELRO): keep
        }
        // SAFETY: a read-only, private, file-backed mapping of our own
        // executable without private (anonymous) pages: MADV_DONTNEED only
        // unmaps resident page-cache pages, which fault back in unchanged.
        let r = unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// personality(2): set the execution domain (PER_LINUX32 makes `uname -m`
/// report the 32-bit machine, as `linux32` does).
pub fn set_personality(persona: libc::c_ulong) -> io::Result<()> {
    // SAFETY: personality takes an integer and only changes this process.
    if unsafe { libc::personality(persona) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod mm_map_tests {
    use super::mm_map_bytes;

    /// exe_fd (-1) where each kernel reads it: after an 8-byte auxv on a
    /// 64-bit kernel, after a 4-byte one on 32-bit kernels (x86: 100
    /// bytes; ARM EABI: 104 with tail padding).
    #[test]
    fn layouts_per_kernel() {
        let w = [7u64; 11];
        for (size, ptr, exe_at) in [(104, 8, 100), (100, 4, 96), (104, 4, 96)] {
            let b = mm_map_bytes(&w, size, ptr);
            assert_eq!(b.len(), size, "{size}/{ptr}");
            assert_eq!(&b[88..88 + ptr], &vec![0u8; ptr][..], "auxv NULL");
            assert_eq!(&b[exe_at..exe_at + 4], &[0xff; 4], "{size}/{ptr}: exe_fd");
            assert_eq!(&b[exe_at - 4..exe_at], &[0; 4], "{size}/{ptr}: auxv_size");
        }
        assert_eq!(&mm_map_bytes(&w, 104, 4)[100..], &[0; 4], "padding");
    }
}
