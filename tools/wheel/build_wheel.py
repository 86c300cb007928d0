#!/usr/bin/python3
"""Builds a binary wheel (PEP 427) from files, with the standard library only.

Usage (from a Bazel genrule; every SRC lands at its path below the last `--package-root`
directory component, e.g. bazel-out/k8-opt/bin/pypkg/tapconv/_core.so -> tapconv/_core.so):

  build_wheel.py --out X.whl --name tapconv --version 0.1.0 --tag cp311-cp311-linux_x86_64 \
      --package-root pypkg [--extra-require 'torch:torch>=1.13'] \
      [--carry-libs-for tapconv/_core.so --libs-dir tapconv/.libs] SRC...

--carry-libs-for copies into --libs-dir every shared library the extension needs (its DT_NEEDED
closure) that a plain Linux Python installation does not provide (anything beyond glibc,
libstdc++ and libgcc_s), and writes their load order (dependencies first) to
<libs-dir>/load_order.txt. The extension finds them through its RUNPATH $ORIGIN/.libs, set at
link time; the build fails if that RUNPATH is missing or if it needs libtorch/libc10.
"""

import argparse
import base64
import hashlib
import os
import struct
import sys
import zipfile

# Provided by every glibc-based Linux with a C++ runtime (the manylinux policy's core set).
SYSTEM_LIBRARIES = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libutil.so.1",
    "libresolv.so.2", "libcrypt.so.1", "libnsl.so.1", "ld-linux-x86-64.so.2",
    "libstdc++.so.6", "libgcc_s.so.1",
}
FORBIDDEN_PREFIXES = ("libtorch", "libc10", "libpython")
LIBRARY_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                "/lib", "/usr/lib", "/usr/local/lib")

DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 14, 15, 29
PT_LOAD, PT_DYNAMIC = 1, 2


def read_dynamic(path):
    """{'needed': [...], 'runpath': str or None, 'soname': str or None} of an ELF64 LE file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("{}: not a 64-bit little-endian ELF file".format(path))
    e_phoff, = struct.unpack_from("<Q", data, 0x20)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 0x36)
    loads, dynamic = [], None
    for i in range(e_phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, e_phoff + i * e_phentsize)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    result = {"needed": [], "runpath": None, "soname": None}
    if dynamic is None:
        return result
    entries, strtab = [], None
    for off in range(dynamic[0], dynamic[0] + dynamic[1], 16):
        tag, val = struct.unpack_from("<qQ", data, off)
        if tag == DT_NULL:
            break
        if tag == DT_STRTAB:
            strtab = val
        entries.append((tag, val))
    if strtab is None:
        raise ValueError("{}: dynamic section without a string table".format(path))
    strtab_off = next(off + (strtab - vaddr) for vaddr, off, size in loads
                      if vaddr <= strtab < vaddr + size)

    def string(index):
        start = strtab_off + index
        return data[start:data.index(b"\0", start)].decode()

    for tag, val in entries:
        if tag == DT_NEEDED:
            result["needed"].append(string(val))
        elif tag in (DT_RUNPATH, DT_RPATH):
            result["runpath"] = string(val)
        elif tag == DT_SONAME:
            result["soname"] = string(val)
    return result


def find_library(name):
    for d in LIBRARY_DIRS:
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("shared library {} not found in {}".format(name, LIBRARY_DIRS))


def carried_libraries(extension):
    """[(soname, path)] of the libraries to carry, dependencies before their dependents."""
    info = read_dynamic(extension)
    for name in info["needed"]:
        if name.startswith(FORBIDDEN_PREFIXES):
            sys.exit("build_wheel: {} needs {}: the extension must not link torch or "
                     "libpython".format(extension, name))
    if "$ORIGIN/.libs" not in (info["runpath"] or "").split(":"):
        sys.exit("build_wheel: {} has RUNPATH {!r}, which lacks $ORIGIN/.libs".format(
            extension, info["runpath"]))
    order, state = [], {}

    def visit(name):
        if name in SYSTEM_LIBRARIES or state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            return  # a dependency cycle: load order within it does not matter
        state[name] = "visiting"
        path = find_library(name)
        for dep in read_dynamic(path)["needed"]:
            visit(dep)
        state[name] = "done"
        order.append((name, path))

    for name in info["needed"]:
        visit(name)
    return order


def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(
        b"=").decode()


def destination(path, package_root):
    parts = os.path.normpath(path).split(os.sep)
    if package_root not in parts:
        sys.exit("build_wheel: {} is not below a '{}' directory".format(path, package_root))
    index = len(parts) - 1 - parts[::-1].index(package_root)
    return "/".join(parts[index + 1:])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for a in ("--out", "--name", "--version", "--tag", "--package-root"):
        p.add_argument(a, required=True)
    p.add_argument("--summary", default="")
    p.add_argument("--requires-python", default=">=3.11,<3.12")
    p.add_argument("--extra-require", action="append", default=[],
                   help="EXTRA:REQUIREMENT, e.g. 'torch:torch>=1.13'")
    p.add_argument("--carry-libs-for", default=None)
    p.add_argument("--libs-dir", default=None)
    p.add_argument("srcs", nargs="+")
    a = p.parse_args()

    entries = {}
    for src in a.srcs:
        with open(src, "rb") as f:
            entries[destination(src, a.package_root)] = f.read()
    if a.carry_libs_for:
        if a.carry_libs_for not in entries or not a.libs_dir:
            sys.exit("build_wheel: --carry-libs-for must name a packaged file, with --libs-dir")
        srcs = {destination(s, a.package_root): s for s in a.srcs}
        libs = carried_libraries(srcs[a.carry_libs_for])
        for soname, path in libs:
            with open(path, "rb") as f:
                entries["{}/{}".format(a.libs_dir, soname)] = f.read()
        entries[a.libs_dir + "/load_order.txt"] = "".join(
            soname + "\n" for soname, _ in libs).encode()

    dist = "{}-{}.dist-info".format(a.name.replace("-", "_"), a.version)
    meta = ["Metadata-Version: 2.1", "Name: " + a.name, "Version: " + a.version,
            "Summary: " + a.summary, "Requires-Python: " + a.requires_python]
    for spec in a.extra_require:
        extra, requirement = spec.split(":", 1)
        meta += ["Provides-Extra: " + extra,
                 'Requires-Dist: {}; extra == "{}"'.format(requirement, extra)]
    wheel = ["Wheel-Version: 1.0", "Generator: tapconv tools/wheel/build_wheel.py",
             "Root-Is-Purelib: false", "Tag: " + a.tag]
    top_level = sorted({d.split("/")[0] for d in entries})
    entries[dist + "/METADATA"] = ("\n".join(meta) + "\n").encode()
    entries[dist + "/WHEEL"] = ("\n".join(wheel) + "\n").encode()
    entries[dist + "/top_level.txt"] = ("\n".join(top_level) + "\n").encode()
    record = "".join("{},{},{}\n".format(d, digest(b), len(b)) for d, b in sorted(
        entries.items())) + dist + "/RECORD,,\n"
    entries[dist + "/RECORD"] = record.encode()

    with zipfile.ZipFile(a.out, "w", zipfile.ZIP_DEFLATED) as z:
        # dist-info last, as the spec recommends; fixed timestamps make the wheel reproducible.
        for dest in sorted(entries, key=lambda d: (d.startswith(dist), d)):
            info = zipfile.ZipInfo(dest, date_time=(1980, 1, 1, 0, 0, 0))
            executable = ".so" in os.path.basename(dest)
            info.external_attr = (0o100000 | (0o755 if executable else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, entries[dest])


if __name__ == "__main__":
    main()
