/* libFuzzer target: the whole digest of an arbitrary .hpm/.hpd pair (the
 * input split by fuzz_split), with 1, 2 and 3 threads and tiny chunks
 * (one thread twice: one chunk, and chunks of 29 bytes, whose every chunk
 * after the first applies its events as it decodes them), against the sequential reference digester of the unit tests: every
 * outcome must be the reference's, byte for byte, or the same error. */
#include "fuzz.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *hpm, *hpd;
    size_t nm, nd;
    fuzz_split(data, n, &hpm, &nm, &hpd, &nd);
    fuzz_write(".hpm", hpm, nm);
    fuzz_write(".hpd", hpd, nd);
    int salvage = n > 2 && (data[n - 1] & 1);
    /* The reference costs snapshots x traces: keep that under about 2
     * million (a delta of years is one varint away, and the .hpm can list
     * thousands of traces) by choosing the interval, 10 ms at the least. */
    uint64_t interval_ms = 10;
    uint32_t ntraces = 0;
    hp_hpd *it;
    hp_read_options ro = {.version = HP_READ_OPTIONS_VERSION, .salvage = 1};
    if (hp_count_traces(fuzz_base(), &ntraces) == HP_OK &&
        hp_hpd_open(&it, fuzz_base(), NULL, &ro) == HP_OK) {
        hp_event ev;
        while (hp_hpd_next(it, &ev) == HP_OK)
            ;
        hp_hpd_stats st;
        hp_hpd_get_stats(it, &st);
        hp_hpd_close(it);
        if (st.duration > 1e12)
            return 0; /* beyond any interval the API takes */
        double max_snapshots = 2e6 / ((double)ntraces + 1);
        double ms = st.duration * 1000.0 / (max_snapshots > 10 ? max_snapshots : 10);
        if (ms > (double)interval_ms)
            interval_ms = (uint64_t)ms + 1;
    }
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    int ref_rc = tu_ref_digest(fuzz_base(), interval_ms, 0.01, salvage, &ref, &ref_len);
    char out[300];
    snprintf(out, sizeof out, "%s.out", fuzz_base());
    static const struct {
        int threads;
        size_t chunk;
    } runs[] = {{1, 0}, {1, 29}, {2, 17}, {3, 64}};
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        hp_make_options o;
        hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
        o.threads = runs[r].threads;
        o.format = HP_FORMAT_V1;
        o.output = out;
        o.salvage = salvage;
        o.chunk_bytes = runs[r].chunk;
        remove(out);
        int rc = hp_hpc_make_ex(fuzz_base(), (double)interval_ms / 1000, 0.01, &o);
        if (ref_rc == 0 && rc == HP_OK) {
            size_t len;
            uint8_t *got = tu_read_file(out, &len);
            if (!got || len != ref_len || memcmp(got, ref, len) != 0)
                abort(); /* a wrong digest */
            free(got);
        } else if (ref_rc == HP_EFORMAT && rc != HP_EFORMAT) {
            abort(); /* the reference found an invalid event, we did not */
        } else if (ref_rc == 0 && rc != HP_ELIMIT) {
            abort(); /* only the snapshot limit may refuse a valid stream */
        }
        if (rc != HP_OK && access(out, F_OK) == 0)
            abort(); /* a failure left a file */
    }
    free(ref);
    return 0;
}
