/* libFuzzer target: the .hpc reader, v1 and v2 (told apart by the first
 * bytes, so one target covers both; the seed corpus has both). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fuzz_write(".hpc", data, n);
    hp_hpc *hpc;
    char path[300];
    snprintf(path, sizeof path, "%s.hpc", fuzz_base());
    if (hp_hpc_open_path(&hpc, path) != HP_OK)
        return 0;
    size_t len = hp_hpc_length(hpc);
    hp_digest_params p;
    hp_hpc_recorded_params(hpc, &p);
    for (size_t k = 0; k < len && k < 256; k++) {
        hp_snapshot s;
        uint64_t total;
        if (hp_hpc_snapshot(hpc, k, &s) == HP_OK)
            for (size_t i = 0; i < s.count; i++)
                (void)s.entries[i].bytes;
        hp_hpc_total_usage(hpc, k, &total);
    }
    hp_snapshot s;
    if (hp_hpc_snapshot(hpc, len, &s) != HP_ERANGE)
        abort();
    hp_hpc_close(hpc);
    return 0;
}
