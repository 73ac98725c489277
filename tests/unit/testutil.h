/* testutil.h - helpers shared by the unit tests: crafted files, temporary
 * folders, and the reference digester. */
#ifndef HP_TESTUTIL_H
#define HP_TESTUTIL_H

#include "heapprof.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs these before its header */
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

typedef struct tu_buf {
    uint8_t *p;
    size_t len, cap;
} tu_buf;

void tu_put(tu_buf *b, const void *src, size_t n);
void tu_be32(tu_buf *b, uint32_t v);
void tu_be64(tu_buf *b, uint64_t v);
void tu_varint(tu_buf *b, uint64_t v);
void tu_free(tu_buf *b);

/* An .hpm: version 1, start (sec, nsec), ranges (max_bytes, raw p) pairs,
 * then `ntraces` traces of `depth` frames ("file<t>_<d>.py", line t*10+d). */
void tu_hpm(tu_buf *b, uint64_t sec, uint64_t nsec, size_t nranges, const uint64_t *max_bytes,
            const uint32_t *raw_p, uint32_t ntraces, uint32_t depth);

/* One .hpd event. */
void tu_event(tu_buf *b, int negative, int is_free, uint32_t trace, uint64_t sec, uint64_t usec,
              uint64_t size);

/* A fresh temporary folder (removed by tu_rmdir); returns a static-lifetime
 * string the caller frees. */
char *tu_tmpdir(void);
void tu_rmdir(const char *dir);

/* dir + "/" + name, formatted; caller frees. */
char *tu_path(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void tu_write_file(const char *path, const void *data, size_t n);
uint8_t *tu_read_file(const char *path, size_t *n); /* NULL if missing */

/* A fresh scratch folder per test, with the paths most tests use: a
 * filebase DIR/p and an output DIR/out.hpc. As cmocka setup and teardown
 * functions; with KEEP set in the environment the folder is kept. */
typedef struct tu_scratch {
    char *dir, *fb, *out;
} tu_scratch;
int tu_scratch_setup(void **state);
int tu_scratch_teardown(void **state);

/* The number of entries in a folder (without . and ..). */
int tu_count_entries(const char *dir);

/* Decompresses a whole zstd file (frames and skippable frames). */
uint8_t *tu_zstd_decompress(const uint8_t *src, size_t n, size_t *out_len);

/* One event's fields as stored in the .hpd. */
#define TU_NEGATIVE 0x80000000u
#define TU_FREE 0x40000000u
#define TU_TRACE_MASK 0x3fffffffu
typedef struct tu_raw {
    uint32_t word;
    uint64_t sec, usec, size;
} tu_raw;

/* The stored fields of every event of FILEBASE.hpd that the library's
 * sequential reader accepts (strict, or salvage), decoded independently.
 * *out is malloc'ed. Returns 0 or a negative hp_error. */
int tu_raw_events(const char *filebase, hp_hpm *hpm, int salvage, tu_raw **out, size_t *count);

/* The contract's scaled size of an event of `size` bytes (unsigned). */
int64_t tu_exact_scale(const hp_hpm *hpm, uint64_t size);

/* The reference digester: a plain sequential implementation of the contract,
 * kept small so it is obviously right. Produces v1 bytes. Returns 0 or a
 * negative hp_error. */
int tu_ref_digest(const char *filebase, uint64_t interval_ms, double precision, int salvage,
                  uint8_t **out, size_t *len);

/* Where the bundled fixtures are (HP_TEST_DATA, default tests/data). */
const char *tu_data_dir(void);

/* The sanitizer the suite runs under (make passes HP_SANITIZED=$(SANITIZE)):
 * whether it is ThreadSanitizer, whose runs are 5-15 times slower. A test
 * whose loop repeats one threaded path over many inputs samples them there;
 * the plain and ASan runs cover every input. */
int tu_under_tsan(void);

/* Runs the generator: HPGEN -e events -t traces -d seconds -s seed [extra]. */
void tu_generate(const char *base, uint64_t events, uint32_t traces, double seconds, uint64_t seed,
                 const char *extra);

/* ---- crafted profiles for the exporters' tests ------------------------------ */

/* One event of a crafted profile: at `ms` milliseconds, `size` bytes of
 * `trace` allocated (size > 0) or freed (size < 0). */
typedef struct tu_ev {
    uint32_t ms;
    uint32_t trace;
    int64_t size;
} tu_ev;

/* Writes FILEBASE.hpm (start 1795000000.5 s, every allocation recorded,
 * trace i+1 = stacks[i], a NULL-terminated list of "file:line" frames,
 * outermost first) and FILEBASE.hpd (the events, in time order). */
void tu_craft(const char *fb, const char *const *const *stacks, size_t nstacks, const tu_ev *ev,
              size_t nev);

/* tu_craft, then a v2 digest with `interval_ms` and precision 0. */
void tu_craft_digest(const char *fb, const char *const *const *stacks, size_t nstacks,
                     const tu_ev *ev, size_t nev, uint32_t interval_ms);

/* A whole file as a NUL-terminated string (NULL if missing); caller frees. */
char *tu_read_text(const char *path);

/* Inflates a whole gzip file (one member, nothing after it). */
uint8_t *tu_gunzip(const uint8_t *src, size_t n, size_t *out_len);

/* Reads a gzip-compressed pprof profile back with the generated code,
 * checking the gzip header's time is 0; free it with
 * perftools__profiles__profile__free_unpacked(p, NULL). */
struct Perftools__Profiles__Profile;
struct Perftools__Profiles__Profile *tu_read_pprof(const char *path);

#endif
