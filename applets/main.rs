//! lxcbox: one binary, many applets. argv[0]'s basename picks the applet;
//! `lxcbox APPLET ARGS...` works too.

mod common;
mod install;
mod launch;
mod lxc_attach;
mod lxc_autostart;
mod lxc_cgroup;
mod lxc_config;
mod lxc_console;
mod lxc_create;
mod lxc_destroy;
mod lxc_device;
mod lxc_execute;
mod lxc_freeze;
mod lxc_info;
mod lxc_init;
mod lxc_kill;
mod lxc_list;
mod lxc_ls;
mod lxc_monitor;
mod lxc_net;
mod lxc_netstat;
mod lxc_priority;
mod lxc_ps;
mod lxc_shutdown;
mod lxc_start;
mod lxc_stop;
mod lxc_top;
mod lxc_update_config;
mod lxc_version;
mod lxc_wait;

use std::ffi::OsString;

/// An applet's entry point: it gets its arguments (without argv[0]) and
/// returns the process exit status.
pub type Entry = fn(Vec<OsString>) -> i32;

/// One row of the applet table.
pub struct Applet {
    pub name: &'static str,
    pub main: Entry,
    pub about: &'static str,
}

/// Every applet, sorted by name (a unit test checks order and uniqueness).
pub static APPLETS: &[Applet] = &[
    Applet {
        name: "init.lxc",
        main: lxc_init::main,
        about: "minimal init for application containers (alias of lxc-init)",
    },
    Applet {
        name: "init.lxc.static",
        main: lxc_init::main,
        about: "minimal init for application containers (alias of lxc-init)",
    },
    Applet {
        name: "lxc-attach",
        main: lxc_attach::main,
        about: "start a process inside a running container",
    },
    Applet {
        name: "lxc-autostart",
        main: lxc_autostart::main,
        about: "start, stop, kill or reboot the auto-started containers",
    },
    Applet {
        name: "lxc-cgroup",
        main: lxc_cgroup::main,
        about: "read or write a container's cgroup values",
    },
    Applet {
        name: "lxc-config",
        main: lxc_config::main,
        about: "query LXC system configuration",
    },
    Applet {
        name: "lxc-console",
        main: lxc_console::main,
        about: "attach to a container's console or tty",
    },
    Applet {
        name: "lxc-create",
        main: lxc_create::main,
        about: "create a container",
    },
    Applet {
        name: "lxc-destroy",
        main: lxc_destroy::main,
        about: "destroy a container",
    },
    Applet {
        name: "lxc-device",
        main: lxc_device::main,
        about: "add or remove network interfaces of a running container",
    },
    Applet {
        name: "lxc-execute",
        main: lxc_execute::main,
        about: "run an application inside a container",
    },
    Applet {
        name: "lxc-freeze",
        main: lxc_freeze::main,
        about: "freeze all the processes of a container",
    },
    Applet {
        name: "lxc-info",
        main: lxc_info::main,
        about: "query information about a container",
    },
    Applet {
        name: "lxc-init",
        main: lxc_init::main,
        about: "minimal init for application containers",
    },
    Applet {
        name: "lxc-kill",
        main: lxc_kill::main,
        about: "send a signal to a container's init (classic tool)",
    },
    Applet {
        name: "lxc-list",
        main: lxc_list::main,
        about: "list containers grouped by state (classic tool)",
    },
    Applet {
        name: "lxc-ls",
        main: lxc_ls::main,
        about: "list the containers existing on the system",
    },
    Applet {
        name: "lxc-monitor",
        main: lxc_monitor::main,
        about: "monitor the state of containers",
    },
    Applet {
        name: "lxc-net",
        main: lxc_net::main,
        about: "set up the container bridge with NAT and DHCP (LXC's lxc-net)",
    },
    Applet {
        name: "lxc-netstat",
        main: lxc_netstat::main,
        about: "show the network sockets of a running container (classic)",
    },
    Applet {
        name: "lxc-priority",
        main: lxc_priority::main,
        about: "show or set a container's CPU share (classic tool)",
    },
    Applet {
        name: "lxc-ps",
        main: lxc_ps::main,
        about: "list the processes of containers (classic tool)",
    },
    Applet {
        name: "lxc-shutdown",
        main: lxc_shutdown::main,
        about: "shut a container down gracefully (classic tool)",
    },
    Applet {
        name: "lxc-start",
        main: lxc_start::main,
        about: "start a container",
    },
    Applet {
        name: "lxc-stop",
        main: lxc_stop::main,
        about: "stop a container",
    },
    Applet {
        name: "lxc-top",
        main: lxc_top::main,
        about: "monitor container statistics",
    },
    Applet {
        name: "lxc-unfreeze",
        main: lxc_freeze::unfreeze,
        about: "thaw all the processes of a container",
    },
    Applet {
        name: "lxc-update-config",
        main: lxc_update_config::main,
        about: "update a container configuration to the current key names",
    },
    Applet {
        name: "lxc-version",
        main: lxc_version::main,
        about: "print the version (classic tool)",
    },
    Applet {
        name: "lxc-wait",
        main: lxc_wait::main,
        about: "wait for a container to reach a state",
    },
];

/// Look an applet up by exact name (binary search over the sorted table).
pub fn find(name: &str) -> Option<&'static Applet> {
    APPLETS
        .binary_search_by(|a| a.name.cmp(name))
        .ok()
        .map(|i| &APPLETS[i])
}

/// Look up what the user typed after `lxcbox`: `start` or `lxc-start`.
fn find_loose(name: &str) -> Option<&'static Applet> {
    find(name).or_else(|| find(&format!("lxc-{name}")))
}

fn basename(p: &OsString) -> String {
    let s = p.to_string_lossy();
    s.rsplit('/').next().unwrap_or(&s).to_string()
}

const USAGE: &str = "\
Usage: lxcbox [--list | --install [-s] DIR | --help | --version]
       lxcbox APPLET [ARGS...]   (APPLET as 'start' or 'lxc-start')
       APPLET [ARGS...]          (through a link named after the applet)

lxcbox is the LXC toolset as one static binary.";

fn multicall(mut args: Vec<OsString>) -> i32 {
    if args.is_empty() {
        println!("{USAGE}\n\nApplets:");
        for a in APPLETS {
            println!("  {:<24}{}", a.name, a.about);
        }
        return 0;
    }
    let first = args.remove(0);
    let first_s = first.to_string_lossy().into_owned();
    match first_s.as_str() {
        "--list" | "-l" => {
            for a in APPLETS {
                println!("{}", a.name);
            }
            0
        }
        "--install" => install::main(args),
        "--help" | "-h" => {
            println!("{USAGE}\n\nApplets:");
            for a in APPLETS {
                println!("  {:<24}{}", a.name, a.about);
            }
            0
        }
        "--version" | "-V" => {
            println!(
                "lxcbox {} (LXC {} compatible)",
                lxcbox::VERSION,
                lxcbox::LXC_COMPAT_VERSION
            );
            0
        }
        name => match find_loose(name) {
            Some(a) => (a.main)(args),
            None => {
                eprintln!("lxcbox: applet '{name}' not found");
                127
            }
        },
    }
}

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = if args.is_empty() {
        OsString::from("lxcbox")
    } else {
        args.remove(0)
    };
    let name = basename(&argv0);
    let code = match find(&name) {
        Some(a) => (a.main)(args),
        None if name.starts_with("lxcbox") => multicall(args),
        None => {
            eprintln!("lxcbox: applet '{name}' not found");
            127
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sorted_and_unique() {
        for w in APPLETS.windows(2) {
            assert!(
                w[0].name < w[1].name,
                "APPLETS out of order or duplicated: {} then {}",
                w[0].name,
                w[1].name
            );
        }
    }

    #[test]
    fn lookup_forms() {
        assert_eq!(find_loose("version").map(|a| a.name), Some("lxc-version"));
        assert_eq!(find_loose("lxc-config").map(|a| a.name), Some("lxc-config"));
        assert!(find_loose("nope").is_none());
        for a in APPLETS {
            assert!(!a.about.is_empty(), "{} has no description", a.name);
        }
    }
}
