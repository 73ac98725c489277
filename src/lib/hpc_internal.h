/* hpc_internal.h - what the exporters need of an hp_hpc beyond the API. */
#ifndef HP_HPC_INTERNAL_H
#define HP_HPC_INTERNAL_H

#include "heapprof.h"
#include "hpc_format.h"

/* The path the digest was opened from, for messages. */
const char *hp_hpc_path(const hp_hpc *hpc);

/* A cursor on snapshot k's record (valid until the next call on hpc), for
 * readers that need part of it, or no copy of it. */
int hp_hpc_record(hp_hpc *hpc, size_t k, hp_record_cursor *c);

/* The error of a cursor on snapshot k that failed with `why`: the message
 * names the file, the record's offset and the snapshot. */
int hp_hpc_record_fail(const hp_hpc *hpc, size_t k, int rc, const char *why);

#endif
