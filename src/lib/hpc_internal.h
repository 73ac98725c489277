/* hpc_internal.h - what other library files need of an hp_hpc. */
#ifndef HP_HPC_INTERNAL_H
#define HP_HPC_INTERNAL_H

#include "heapprof.h"
#include "mapfile.h"

/* The mapped .hpc: its path and identity. */
const hp_map *hp_hpc_map(const hp_hpc *hpc);

#endif
