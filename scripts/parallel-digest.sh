#!/bin/bash
# Digest every profile under a directory on several machines with GNU
# parallel: one `heapprof digest --shard K/N` per host, each with all of
# that host's cores. The shards are computed from the same directory
# listing on every host, so they need a shared file system and nothing else.
#
#   scripts/parallel-digest.sh DIRECTORY host1 host2 ...
#
# With no hosts, the shards run on this machine, one after another (a dry run
# of the same split). Each shard writes reports/digest-K.json.
set -euo pipefail
DIR=${1:?usage: scripts/parallel-digest.sh DIRECTORY [HOST...]}
shift
HEAPPROF=${HEAPPROF:-heapprof}
mkdir -p reports
N=$(($# > 0 ? $# : 1))
if [ $# -gt 0 ]; then
    # one shard per host: {#} is 1-based, shards are 0-based
    seq 0 $((N - 1)) | parallel --jobs 1 --sshlogin "$(IFS=,; echo "$*")" --workdir . \
        "$HEAPPROF" digest -q -r --keep-going --skip-up-to-date --shard "{}/$N" \
        --report "reports/digest-{}.json" "$DIR"
else
    "$HEAPPROF" digest -q -r --keep-going --skip-up-to-date --shard "0/1" \
        --report reports/digest-0.json "$DIR"
fi
