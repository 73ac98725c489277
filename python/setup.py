"""Builds heapprof_c's C extension against libheapprof.

    python3 -m pip install --no-build-isolation ./python   (from the repository root)
    make python                                              (in place, for the tests)

Inside the repository the extension links build/libheapprof.a (made with
`make` when missing) and includes include/heapprof.h; HEAPPROF_BUILD names
another build folder of the Makefile (the ASan build of `make test`).
Outside it, libheapprof is found through pkg-config (after `make install`).
"""
import os
import re
import shlex
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HEADER = os.path.join(ROOT, "include", "heapprof.h")


def in_repository():
    return os.path.exists(HEADER) and os.path.exists(os.path.join(ROOT, "Makefile"))


def version():
    header = HEADER if in_repository() else None
    if header is None:
        out = subprocess.run(["pkg-config", "--modversion", "heapprof"], capture_output=True,
                             text=True)
        return out.stdout.strip() or "0"
    with open(header) as f:
        return re.search(r'#define HP_VERSION_STRING "([^"]+)"', f.read()).group(1)


def library():
    """include_dirs, extra_objects, libraries, extra link arguments."""
    if in_repository():
        build = os.environ.get("HEAPPROF_BUILD") or os.path.join(ROOT, "build")
        if not os.path.isabs(build):
            build = os.path.join(ROOT, build)
        lib = os.path.join(build, "libheapprof.a")
        if not os.path.exists(lib):
            if os.environ.get("HEAPPROF_BUILD"):
                sys.exit(f"{lib} is missing: build it with make first")
            subprocess.run(["make", "-C", ROOT, "--no-print-directory", "build/libheapprof.a"],
                           check=True)
        return [os.path.join(ROOT, "include")], [lib], ["zstd", "xxhash", "m"], ["-fopenmp"]
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "--static", "heapprof"],
                           capture_output=True, text=True)
    if flags.returncode != 0:
        sys.exit("libheapprof not found: build this from the heapprof-c repository, or "
                 "`make install` it first (pkg-config heapprof)")
    words = shlex.split(flags.stdout)
    incs = [w[2:] for w in words if w.startswith("-I")]
    libs = [w[2:] for w in words if w.startswith("-l")]
    other = [w for w in words if not w.startswith(("-I", "-l"))]
    # the static archive where installed, so that the extension needs no
    # libheapprof.so at run time
    libdir = subprocess.run(["pkg-config", "--variable=libdir", "heapprof"],
                            capture_output=True, text=True).stdout.strip()
    archive = os.path.join(libdir, "libheapprof.a")
    if os.path.exists(archive):
        return incs, [archive], [l for l in libs if l != "heapprof"], other
    return incs, [], libs, other


includes, objects, libraries, link_args = library()
os.chdir(HERE)  # sources are named relative to python/

setup(
    version=version(),
    ext_modules=[
        Extension(
            "heapprof_c._heapprof_c",
            sources=["src/_heapprof_c.c"],
            include_dirs=includes,
            extra_objects=objects,
            libraries=libraries,
            # one build for every CPython >= 3.9 (Py_LIMITED_API is set in the source)
            py_limited_api=True,
            extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Wshadow",
                                "-Wstrict-prototypes", "-Wmissing-prototypes"],
            # libheapprof's symbols stay inside the extension
            extra_link_args=link_args + ["-Wl,--exclude-libs,ALL"],
            depends=objects + ([HEADER] if in_repository() else []),
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
