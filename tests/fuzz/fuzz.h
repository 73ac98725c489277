/* fuzz.h - what the libFuzzer targets share: the input becomes files in a
 * private scratch directory (the library reads files by name). */
#ifndef HP_FUZZ_H
#define HP_FUZZ_H

#include "heapprof.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libFuzzer's entry point, defined by each target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

/* The scratch directory's filebase "p", made once per process. */
static inline const char *fuzz_base(void)
{
    static char base[256];
    if (!base[0]) {
        char dir[] = "/tmp/hp-fuzz-XXXXXX";
        if (!mkdtemp(dir))
            abort();
        snprintf(base, sizeof base, "%s/p", dir);
    }
    return base;
}

/* Writes base + ext with the given bytes. */
static inline void fuzz_write(const char *ext, const uint8_t *data, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "%s%s", fuzz_base(), ext);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

/* Splits an input into two files: a 2-byte big-endian length, that many
 * bytes for the first file, the rest for the second. */
static inline void fuzz_split(const uint8_t *data, size_t n, const uint8_t **a, size_t *na,
                       const uint8_t **b, size_t *nb)
{
    size_t len = n >= 2 ? (size_t)data[0] << 8 | data[1] : 0;
    data += n >= 2 ? 2 : n;
    n -= n >= 2 ? 2 : n;
    if (len > n)
        len = n;
    *a = data;
    *na = len;
    *b = data + len;
    *nb = n - len;
}

/* A fixed .hpm: start time, heapprof's default ranges, `traces` traces. */
static inline void fuzz_default_hpm(uint32_t traces)
{
    uint8_t h[4096];
    size_t n = 0;
    const uint8_t head[] = {0, 0, 0, 1, 0, 0, 0, 0, 0x6a, 0xfd, 0x6c, 0x00, 0, 0, 0, 0, 0, 0, 0, 7,
                            2, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0x06, 0x8d, 0xb8,
                            0, 0, 0, 0, 0, 0, 0x20, 0, 0x19, 0x99, 0x99, 0x99};
    memcpy(h, head, sizeof head);
    n = sizeof head;
    for (uint32_t t = 0; t < traces && n + 16 < sizeof h; t++) {
        const char name[] = "m.py";
        h[n++] = (uint8_t)(2 + t % 100); /* lineno + 1 */
        h[n++] = sizeof name - 1;
        memcpy(h + n, name, sizeof name - 1);
        n += sizeof name - 1;
        h[n++] = 0;
    }
    fuzz_write(".hpm", h, n);
}

#endif
