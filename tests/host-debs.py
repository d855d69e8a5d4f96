#!/usr/bin/env python3
"""Install Debian packages into a root filesystem from the HOST's installed
copies of them: tests/fresh-machine.sh --offline uses it where apt cannot
download (no network). For each package (and every dependency the target
lacks, recursively) the files dpkg lists for it on the host are copied into
the target and its status stanza and info files are added to the target's
dpkg database, as unpacked; the caller runs `dpkg --configure -a` in the target, which
runs the packages' maintainer scripts as an apt install would.

    host-debs.py ROOT PACKAGE...

Prints the packages it installed, one per line.
"""

import os
import re
import shutil
import sys


def parse_status(path):
    pkgs = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for stanza in f.read().split("\n\n"):
            fields = {}
            key = None
            for line in stanza.splitlines():
                if line.startswith((" ", "\t")) and key:
                    fields[key] += "\n" + line
                elif ":" in line:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
            if "Package" in fields and fields.get("Status", "").endswith(" installed"):
                pkgs[fields["Package"]] = (fields, stanza.strip("\n"))
    return pkgs


def provides(pkgs):
    out = {}
    for name, (fields, _) in pkgs.items():
        for p in fields.get("Provides", "").split(","):
            p = re.sub(r"\(.*\)", "", p).strip()
            if p:
                out.setdefault(p, name)
    return out


def dep_names(fields):
    for key in ("Pre-Depends", "Depends"):
        for clause in fields.get(key, "").split(","):
            alts = [re.sub(r"\(.*\)|\[.*\]", "", a).strip().split(":")[0] for a in clause.split("|")]
            alts = [a for a in alts if a]
            if alts:
                yield alts


def info_files(info_dir, name, arch):
    for base in (name, f"{name}:{arch}"):
        for entry in os.listdir(info_dir):
            if entry.startswith(base + ".") and entry[len(base) + 1 :].isidentifier():
                yield entry


def copy_path(src, root):
    dst = os.path.join(root, src.lstrip("/"))
    if os.path.islink(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.readlink(src), dst)
    elif os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
        shutil.copystat(src, dst)
    elif os.path.isfile(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)


def main():
    root, wanted = sys.argv[1], sys.argv[2:]
    host = parse_status("/var/lib/dpkg/status")
    target = parse_status(os.path.join(root, "var/lib/dpkg/status"))
    host_prov, target_prov = provides(host), provides(target)
    todo, chosen = list(wanted), []
    while todo:
        name = todo.pop()
        if name in target or name in target_prov or name in chosen:
            continue
        real = name if name in host else host_prov.get(name)
        if real is None:
            sys.exit(f"host-debs: {name} is not installed on this host")
        if real in target or real in chosen:
            continue
        chosen.append(real)
        for alts in dep_names(host[real][0]):
            if any(a in target or a in target_prov or a in chosen for a in alts):
                continue
            todo.append(next((a for a in alts if a in host or a in host_prov), alts[0]))
    info_dir = "/var/lib/dpkg/info"
    status_path = os.path.join(root, "var/lib/dpkg/status")
    for name in chosen:
        fields, stanza = host[name]
        arch = fields.get("Architecture", "amd64")
        for entry in info_files(info_dir, name, arch):
            shutil.copy2(os.path.join(info_dir, entry), os.path.join(root, "var/lib/dpkg/info", entry))
            if entry.endswith(".list"):
                with open(os.path.join(info_dir, entry), encoding="utf-8", errors="replace") as f:
                    for path in f.read().splitlines():
                        if path and path != "/.":
                            copy_path(path, root)
        # Unpacked, not configured: `dpkg --configure -a` in the target then
        # runs the maintainer scripts (alternatives such as cc -> gcc, ...).
        stanza = re.sub(r"(?m)^Status: .*$", "Status: install ok unpacked", stanza)
        with open(status_path, "a", encoding="utf-8") as f:
            f.write("\n" + stanza + "\n")
        print(name)


if __name__ == "__main__":
    main()
