/* libFuzzer target: the .hpd decoder, strict and salvage, against a fixed
 * .hpm with 40 traces. */
#include "fuzz.h"

static void read_all(int salvage)
{
    hp_hpd *hpd;
    hp_read_options o = {.version = HP_READ_OPTIONS_VERSION, .salvage = salvage};
    if (hp_hpd_open(&hpd, fuzz_base(), NULL, &o) != HP_OK)
        return;
    hp_event ev;
    uint64_t n = 0;
    int rc;
    while ((rc = hp_hpd_next(hpd, &ev)) == HP_OK) {
        if (ev.traceindex > 40)
            abort(); /* validated */
        n++;
    }
    hp_hpd_stats st;
    hp_hpd_get_stats(hpd, &st);
    if (rc == HP_END && st.events != n)
        abort();
    if (salvage && rc < 0)
        abort(); /* salvage never fails on content */
    hp_hpd_close(hpd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static int ready;
    if (!ready) {
        fuzz_default_hpm(40);
        ready = 1;
    }
    fuzz_write(".hpd", data, n);
    read_all(0);
    read_all(1);
    return 0;
}
