/* libFuzzer target: the .hpm parser (header, ranges, traces, counting). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    fuzz_write(".hpm", data, n);
    hp_hpm *hpm;
    uint32_t count = 0, again = 0;
    if (hp_count_traces(fuzz_base(), &count) == HP_OK && hp_hpm_open(&hpm, fuzz_base()) == HP_OK) {
        size_t nr;
        hp_hpm_sampling_ranges(hpm, &nr);
        hp_hpm_scaled_size(hpm, 100);
        hp_hpm_scaled_size(hpm, -(int64_t)5000);
        if (hp_hpm_num_traces(hpm, &again) == HP_OK && again != count)
            abort(); /* two ways of counting must agree */
        if (hp_hpm_warm_raw_trace_cache(hpm) == HP_OK) {
            for (uint32_t t = 0; t <= count + 1 && t < 64; t++) {
                const hp_frame *f;
                size_t depth;
                int rc = hp_hpm_raw_trace(hpm, t, &f, &depth);
                if ((t == 0 || t > count) != (rc == HP_NO_TRACE))
                    abort();
                for (size_t i = 0; rc == HP_OK && i < depth; i++)
                    if (!hp_hpm_file_name(hpm, f[i].file_id))
                        abort();
            }
        }
        hp_hpm_close(hpm);
    }
    return 0;
}
