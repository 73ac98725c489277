/* hpc_internal.h - what other library files need of an hp_hpc. */
#ifndef HP_HPC_INTERNAL_H
#define HP_HPC_INTERNAL_H

#include "heapprof.h"
#include "hpc_format.h"
#include "mapfile.h"

/* The mapped .hpc: its path and identity. */
const hp_map *hp_hpc_map(const hp_hpc *hpc);

/* A cursor on snapshot k's record (valid until the next call on hpc), for
 * readers that need part of it, or no copy of it (the exporters). */
int hp_hpc_record(hp_hpc *hpc, size_t k, hp_record_cursor *c);

/* The error of a cursor on snapshot k that failed with `why`: the message
 * names the file, the record's offset and the snapshot. */
int hp_hpc_record_fail(const hp_hpc *hpc, size_t k, int rc, const char *why);

#endif
