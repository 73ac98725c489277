/* hpc_internal.h - what the exporters need of an hp_hpc beyond the API. */
#ifndef HP_HPC_INTERNAL_H
#define HP_HPC_INTERNAL_H

#include "heapprof.h"

/* The path the digest was opened from, for messages. */
const char *hp_hpc_path(const hp_hpc *hpc);

#endif
