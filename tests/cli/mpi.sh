#!/usr/bin/env bash
# heapprof-mpi under Open MPI: a batch of synthetic profiles digested by 3
# ranks (rank 0 hands out, 2 digest) must give every .hpc byte-identical to
# the single-process `heapprof digest`, and a complete JSON report.
# Environment: HEAPPROF, HEAPPROF_MPI, HPGEN.
set -u
NAME=mpi
. "$(dirname "$0")/lib.sh"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np 3)
export OMPI_MCA_btl=self,vader OMPI_MCA_plm=isolated OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1
# Open MPI leaks at exit (its own components, not ours): leak checks of the
# library are the unit tests' job, so sanitizer builds skip them here
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

mkdir -p "$T/mpi/sub" "$T/single/sub"
for s in 1 2 3 4 5; do "$HPGEN" -e $((s * 4000)) -t 40 -d 5 -s "$s" "$T/mpi/p$s" || bad hpgen; done
"$HPGEN" -e 3000 -t 20 -d 3 -s 6 "$T/mpi/sub/q" || bad hpgen
# -p: a v2 digest records its inputs' modification times
cp -p "$T"/mpi/*.hp? "$T/single/" && cp -p "$T"/mpi/sub/*.hp? "$T/single/sub/"

"${MPIRUN[@]}" "$HEAPPROF_MPI" -i 0.5 -r --report "$T/r.json" "$T/mpi" >"$T/out" 2>&1 \
    && ok || { bad "heapprof-mpi failed"; cat "$T/out" >&2; }
"$HEAPPROF" digest -q -i 0.5 -r "$T/single" || bad "heapprof digest failed"
for f in p1 p2 p3 p4 p5 sub/q; do
    cmp -s "$T/mpi/$f.hpc" "$T/single/$f.hpc" && ok || bad "$f.hpc differs from the single-process digest"
done
[ "$(grep -c '"status": "ok"' "$T/r.json")" -eq 6 ] && ok || bad "report: want 6 ok lines"
tail -1 "$T/r.json" | grep -q '"summary": true, "profiles": 6, "digested": 6, "skipped": 0, "failed": 0, "not_run": 0' \
    && ok || bad "report summary"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/r.json" && ok || bad "report is not JSON lines"

# a damaged profile with --keep-going: reported, the rest done, exit 1
"$HPGEN" -e 2000 -t 20 -d 2 -s 7 --damage 2 "$T/mpi/bad" || bad hpgen
"${MPIRUN[@]}" "$HEAPPROF_MPI" -i 0.5 --keep-going --skip-up-to-date --report "$T/r2.json" "$T/mpi" >"$T/out" 2>&1
[ $? -eq 1 ] && ok || bad "a failed profile must give exit status 1"
grep '"status": "failed"' "$T/r2.json" | grep -q 'bad.hpd: offset' && ok || bad "report lacks the failure"
[ "$(grep -c '"status": "skipped"' "$T/r2.json")" -eq 5 ] && ok || bad "skip-up-to-date under MPI"

# the options are digest's, parsed by the same code: digest's alone are refused
"${MPIRUN[@]}" "$HEAPPROF_MPI" -o "$T/x.hpc" "$T/mpi/p1" >"$T/out" 2>&1
[ $? -eq 2 ] && grep -q "heapprof-mpi: option '--output' is not taken here" "$T/out" && ok || bad "-o must be refused"
"${MPIRUN[@]}" "$HEAPPROF_MPI" -i 0 "$T/mpi/p1" >"$T/out" 2>&1
[ $? -eq 2 ] && grep -q "invalid interval '0'" "$T/out" && ok || bad "a bad interval must be a usage error"
# --shard under MPI: the shards together are the whole batch
rm -f "$T"/mpi/*.hpc
for k in 0 1; do
    "${MPIRUN[@]}" "$HEAPPROF_MPI" -i 0.5 --keep-going --shard $k/2 --report "$T/s$k.json" "$T/mpi" >/dev/null 2>&1
done
[ "$(cat "$T/s0.json" "$T/s1.json" | grep -c '"filebase"')" -eq 6 ] && ok || bad "--shard under MPI"

summary mpi
