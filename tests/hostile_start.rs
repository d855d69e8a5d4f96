//! lxc-stop -k while the container is STARTING (issue 19): the kill must
//! always win. Twenty starts, each killed at a different moment (before
//! the command socket exists, during the container's setup, or after it
//! came up): lxc-stop -k succeeds, and afterwards the container is
//! STOPPED with no monitor, no init and no payload cgroup left.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use env::{payload_dirs, state, stderr, Env};

#[test]
fn kill_during_start_always_wins() {
    let e = Env::new("hkill");
    let name = format!("hkill-{}", std::process::id());
    // A start hook that takes a while keeps the container in STARTING
    // (the hook runs inside, in the container's setup, after the monitor
    // began answering requests).
    let r = e.busybox(&name, "lxc.net.0.type = empty\nlxc.hook.start = /hook.sh\n");
    std::fs::write(r.join("hook.sh"), "#!/bin/sh\nsleep 0.3\n").unwrap();
    std::fs::set_permissions(r.join("hook.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut in_starting = 0;
    for i in 0..20u64 {
        let start = e.spawn(
            "lxc-start",
            &["-n", &name, "-d", "--", "/bin/sleep", "1000"],
        );
        // 0, 20, ..., 380 ms: some kills land before the socket exists,
        // most while starting, the last ones maybe after RUNNING.
        std::thread::sleep(Duration::from_millis(i * 20));
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let was = state(&e, &name);
            let o = e.run("lxc-stop", &["-n", &name, "-k"]);
            match o.status.code() {
                Some(0) => {
                    if was == "STARTING" {
                        in_starting += 1;
                    }
                    break;
                }
                // Not running (yet): the monitor has not bound its socket.
                Some(2) => {}
                _ => panic!(
                    "try {i}: lxc-stop -k failed (state was {was}): {}",
                    stderr(&o)
                ),
            }
            assert!(
                Instant::now() < end,
                "try {i}: the container never answered"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = start.wait_with_output().unwrap();
        assert_eq!(
            state(&e, &name),
            "STOPPED",
            "try {i}: lxc-start said: {}",
            stderr(&out)
        );
        assert!(e.monitors().is_empty(), "try {i}: a monitor is left");
        e.wait_until("the payload cgroup to go", || {
            payload_dirs(&name).is_empty()
        });
    }
    // The point of the test: kills that landed while STARTING.
    assert!(
        in_starting >= 5,
        "only {in_starting} of 20 kills landed in STARTING"
    );
}
