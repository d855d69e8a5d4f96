//! lxc-checkconfig: check the running kernel's (or $CONFIG's) configuration
//! for what containers need, as LXC's script does.
//applet: lxc-checkconfig main check the kernel configuration for container support

use std::io::Write;

/// Like LXC's script, which reads no options: every argument is ignored.
pub fn main(_args: Vec<std::ffi::OsString>) -> i32 {
    // The script's $0: how we were invoked, when that was as lxc-checkconfig.
    let argv0 = std::env::args()
        .next()
        .filter(|a| a.rsplit('/').next() == Some("lxc-checkconfig"))
        .unwrap_or_else(|| "lxc-checkconfig".into());
    let color = rustix::termios::isatty(rustix::stdio::stdout());
    let r = lxcbox::checkconfig::run(&lxcbox::checkconfig::SystemHost, &argv0, color);
    // A closed stdout (| head) is not an error worth a message.
    let _ = std::io::stdout().write_all(r.stdout.as_bytes());
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(r.stderr.as_bytes());
    r.code
}
