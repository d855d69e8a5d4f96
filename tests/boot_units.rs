//! `lxcbox --install DIR --systemd UNITDIR --sysvinit INITDIR` writes the
//! boot units and the init script pointing at DIR, never over a file it
//! did not write; the script is valid sh.

#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use rootfs::TempDir;

fn install(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lxcbox"))
        .arg("--install")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn units_and_init_script_only_when_asked() {
    let t = TempDir::new("units");
    let bin = t.path().join("bin");
    let (units, init) = (t.path().join("units"), t.path().join("init.d"));
    let b = bin.to_str().unwrap();
    let o = install(&["-s", b]);
    assert!(o.status.success());
    assert!(!units.exists() && !init.exists(), "no units unless asked");

    let o = install(&[
        "-s",
        b,
        "--systemd",
        units.to_str().unwrap(),
        "--sysvinit",
        init.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let real = std::fs::canonicalize(&bin).unwrap();
    let svc = std::fs::read_to_string(units.join("lxc.service")).unwrap();
    assert!(
        svc.contains(&format!(
            "ExecStart={}/lxc-autostart $OPTIONS -g ${{BOOTGROUPS}}",
            real.display()
        )),
        "{svc}"
    );
    assert!(svc.contains(&format!(
        "ExecStop={}/lxc-autostart $STOPOPTS -t ${{SHUTDOWNDELAY}}",
        real.display()
    )));
    let net = std::fs::read_to_string(units.join("lxc-net.service")).unwrap();
    assert!(net.contains(&format!("ExecStart={}/lxc-net start", real.display())));
    assert!(net.contains("Before=lxc.service"));
    let script = init.join("lxc");
    assert_eq!(
        std::fs::metadata(&script).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let s = std::fs::read_to_string(&script).unwrap();
    assert!(!s.contains("@BINDIR@") && s.contains(&format!("bindir=\"{}\"", real.display())));
    let o = Command::new("sh").arg("-n").arg(&script).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new("sh")
        .arg(&script)
        .arg("bogus")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));

    // Again: ours are replaced; someone else's file is not.
    assert!(install(&["-s", b, "--systemd", units.to_str().unwrap()])
        .status
        .success());
    std::fs::write(units.join("lxc.service"), "[Unit]\nDescription=LXC's own\n").unwrap();
    let o = install(&["-s", b, "--systemd", units.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("was not written by lxcbox"));
    assert_eq!(
        std::fs::read_to_string(units.join("lxc.service")).unwrap(),
        "[Unit]\nDescription=LXC's own\n"
    );
}
