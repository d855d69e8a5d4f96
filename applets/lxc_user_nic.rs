//! lxc-user-nic: LXC's setuid helper that gives an ordinary user's
//! container a veth device on a bridge /etc/lxc/lxc-usernet allows. The
//! only applet that keeps the privileges of a setuid-root (or
//! file-capability) copy of lxcbox; see applets/main.rs and
//! docs/lxc-user-nic.md. Its arguments are positional, as LXC's (no
//! getopt front end).
//applet: lxc-user-nic main create or delete a veth device for an unprivileged container (setuid helper)

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    lxcbox::usernic::main(&args)
}
