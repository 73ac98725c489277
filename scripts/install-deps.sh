#!/bin/sh
# Installs the build and test dependencies that are missing, with apt-get.
# Run by `make deps`, `make test` and `make demo`; safe to run again.
set -e
need=""
have_pc() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; }
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
have_pc libzstd || need="$need libzstd-dev"
have_pc libxxhash || need="$need libxxhash-dev" # the seek table's frame checksums
have_pc cmocka || need="$need libcmocka-dev"
# pprof export: protobuf-c (protoc-c generates C from src/lib/profile.proto at
# build time) and zlib
command -v protoc-c >/dev/null 2>&1 || need="$need protobuf-c-compiler"
have_pc libprotobuf-c || need="$need libprotobuf-c-dev"
have_pc zlib || need="$need zlib1g-dev"
# the tests read pprof exports back with `go tool pprof` (about 80 MB to
# download; HEAPPROF_NO_GO=1 skips it, and those checks then say so)
[ -n "${HEAPPROF_NO_GO:-}" ] || command -v go >/dev/null 2>&1 || need="$need golang-go"
command -v zstd >/dev/null 2>&1 || need="$need zstd"
command -v python3 >/dev/null 2>&1 || need="$need python3" # the CLI tests check JSON reports
# the Python package (python/): Debian's python3 builds, tests and pip-installs it
PY=/usr/bin/python3
[ -x $PY ] || need="$need python3"
[ -x $PY ] && [ -f "$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)/Python.h" ] \
    || need="$need python3-dev"
for m in setuptools:python3-setuptools pytest:python3-pytest pip:python3-pip wheel:python3-wheel; do
    [ -x $PY ] && $PY -c "import ${m%%:*}" 2>/dev/null || need="$need ${m#*:}"
done
[ -x /usr/bin/time ] || need="$need time" # make bench: peak RSS
# heapprof-mpi is built and tested where Open MPI is installed
command -v mpicc >/dev/null 2>&1 || need="$need libopenmpi-dev"
command -v mpirun >/dev/null 2>&1 || need="$need openmpi-bin"
# libgomp ships with gcc; check that OpenMP links.
if command -v cc >/dev/null 2>&1; then
    echo 'int main(void){return 0;}' > /tmp/hp-omp-$$.c
    cc -fopenmp /tmp/hp-omp-$$.c -o /tmp/hp-omp-$$ 2>/dev/null || need="$need libgomp1 gcc"
    rm -f /tmp/hp-omp-$$.c /tmp/hp-omp-$$
fi
[ -z "$need" ] && exit 0
echo "install-deps: installing:$need"
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends $need >/dev/null 2>&1 || {
    $SUDO apt-get update >/dev/null
    $SUDO apt-get install -y --no-install-recommends $need
}
