#!/bin/sh
# The shared library exports exactly the functions include/heapprof.h
# declares with HP_API: nothing internal leaks into the ABI, and nothing
# declared is missing.   usage: tests/abi.sh build/libheapprof.so
set -eu
LIB=${1:-build/libheapprof.so}
T=$(mktemp -d /tmp/hp-abi-XXXXXX)
trap 'rm -rf "$T"' EXIT
sed -n 's/^HP_API .*[ *]\(hp_[a-z0-9_]*\)(.*/\1/p' include/heapprof.h | sort >"$T/declared"
nm -D --defined-only "$LIB" | awk '$2 == "T" || $2 == "D" || $2 == "B" {print $3}' | sort >"$T/exported"
if cmp -s "$T/declared" "$T/exported"; then
    echo "abi: $(wc -l <"$T/exported") functions exported, all declared in heapprof.h"
    echo "abi: 1 passed, 0 failed"
else
    echo "abi: exports differ from heapprof.h (< declared only, > exported only):"
    diff "$T/declared" "$T/exported" | grep '^[<>]'
    echo "abi: 0 passed, 1 failed"
    exit 1
fi
