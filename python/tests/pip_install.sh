#!/bin/sh
# `pip install --no-build-isolation ./python` works offline (make python-pip-test):
# installs into a scratch folder, imports the package from there (away from the
# source tree) and digests, reads and plots the bundled profile with it.
set -e
PYTHON=${1:-/usr/bin/python3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/hp-pip-XXXXXX)
trap 'rm -rf "$T"' EXIT
"$PYTHON" -m pip install -q --no-build-isolation --no-deps --no-index --target "$T/site" \
    "$ROOT/python" >"$T/log" 2>&1 || { cat "$T/log"; echo "python-pip-test: pip install failed"; exit 1; }
cp "$ROOT/tests/data/tiny.hpm" "$ROOT/tests/data/tiny.hpd" "$T/"
cd "$T"
PYTHONPATH="$T/site" "$PYTHON" - 2>"$T/err" <<'PY' || { cat "$T/err"; exit 1; }
import io, os, heapprof_c
assert os.path.dirname(heapprof_c.__file__).startswith(os.environ["PYTHONPATH"]), heapprof_c.__file__
r = heapprof_c.read("tiny", timeInterval=1)
tp = r.timePlot()
assert len(tp.times) == 5 and tp.totalUsage[-1] == 47379, tp
out = io.StringIO()
r.flameGraph(r.snapshotAt(4), out)
assert out.getvalue().endswith(" 152\nOTHER 456\n"), out.getvalue()[-100:]
r.close()
print(f"python-pip-test: heapprof_c {heapprof_c.__version__} installed with pip and working "
      f"({os.path.basename(heapprof_c._heapprof_c.__file__)})")
PY
