#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "profile.pb-c.h"

void tu_put(tu_buf *b, const void *src, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

void tu_be32(tu_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    tu_put(b, x, 4);
}

void tu_be64(tu_buf *b, uint64_t v)
{
    tu_be32(b, (uint32_t)(v >> 32));
    tu_be32(b, (uint32_t)v);
}

void tu_varint(tu_buf *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        tu_put(b, &c, 1);
    } while (v);
}

void tu_free(tu_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void tu_hpm(tu_buf *b, uint64_t sec, uint64_t nsec, size_t nranges, const uint64_t *max_bytes,
            const uint32_t *raw_p, uint32_t ntraces, uint32_t depth)
{
    tu_be32(b, 1);
    tu_be64(b, sec);
    tu_be64(b, nsec);
    tu_varint(b, nranges);
    for (size_t i = 0; i < nranges; i++) {
        tu_be64(b, max_bytes[i]);
        tu_be32(b, raw_p[i]);
    }
    for (uint32_t t = 1; t <= ntraces; t++) {
        for (uint32_t d = 0; d < depth; d++) {
            char name[64];
            int n = snprintf(name, sizeof name, "file%u_%u.py", t, d);
            tu_varint(b, (uint64_t)t * 10 + d + 1);
            tu_varint(b, (uint64_t)n);
            tu_put(b, name, (size_t)n);
        }
        tu_varint(b, 0);
    }
}

void tu_event(tu_buf *b, int negative, int is_free, uint32_t trace, uint64_t sec, uint64_t usec,
              uint64_t size)
{
    tu_be32(b, (negative ? 0x80000000u : 0) | (is_free ? 0x40000000u : 0) | trace);
    tu_varint(b, sec);
    tu_varint(b, usec);
    tu_varint(b, size);
}

char *tu_tmpdir(void)
{
    char *d = strdup("/tmp/hp-test-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

void tu_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = tu_path(dir, "%s", e->d_name);
        remove(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

char *tu_path(const char *dir, const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n > 0)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

uint8_t *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    tu_buf b = {0};
    uint8_t chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        tu_put(&b, chunk, r);
    fclose(f);
    tu_put(&b, "", 1); /* never NULL, even when empty */
    *n = b.len - 1;
    return b.p;
}

int tu_scratch_setup(void **state)
{
    tu_scratch *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->fb = tu_path(f->dir, "p");
    f->out = tu_path(f->dir, "out.hpc");
    *state = f;
    return 0;
}

int tu_scratch_teardown(void **state)
{
    tu_scratch *f = *state;
    if (getenv("KEEP"))
        fprintf(stderr, "kept %s\n", f->dir);
    else
        tu_rmdir(f->dir);
    free(f->dir);
    free(f->fb);
    free(f->out);
    free(f);
    return 0;
}

int tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

uint8_t *tu_zstd_decompress(const uint8_t *src, size_t n, size_t *out_len)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    tu_buf out = {0};
    ZSTD_inBuffer in = {src, n, 0};
    uint8_t chunk[1 << 16];
    while (in.pos < in.size) {
        ZSTD_outBuffer ob = {chunk, sizeof chunk, 0};
        size_t r = ZSTD_decompressStream(ds, &ob, &in);
        if (ZSTD_isError(r)) {
            ZSTD_freeDStream(ds);
            free(out.p);
            return NULL;
        }
        tu_put(&out, chunk, ob.pos);
    }
    ZSTD_freeDStream(ds);
    tu_put(&out, "", 1);
    *out_len = out.len - 1;
    return out.p;
}

const char *tu_data_dir(void)
{
    const char *d = getenv("HP_TEST_DATA");
    return d ? d : "tests/data";
}

int tu_under_tsan(void)
{
    const char *s = getenv("HP_SANITIZED");
    return s && strstr(s, "thread");
}

void tu_generate(const char *base, uint64_t events, uint32_t traces, double seconds, uint64_t seed,
                 const char *extra)
{
    const char *gen = getenv("HPGEN");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -e %llu -t %u -d %g -s %llu %s %s", gen ? gen : "build/hpgen",
             (unsigned long long)events, traces, seconds, (unsigned long long)seed,
             extra ? extra : "", base);
    assert_int_equal(system(cmd), 0);
}

/* ---- the reference digester ------------------------------------------------ */

typedef struct ref_event {
    uint64_t t;   /* relative time, microseconds */
    uint32_t trace;
    int64_t delta;
} ref_event;

typedef struct ref_entry {
    uint64_t bytes;
    uint32_t trace;
} ref_entry;

static int ref_cmp(const void *x, const void *y)
{
    const ref_entry *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    return a->trace < b->trace ? -1 : a->trace > b->trace;
}

static uint64_t ref_varint(const uint8_t **p)
{
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
}

int tu_raw_events(const char *filebase, hp_hpm *hpm, int salvage, tu_raw **out, size_t *count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.hpd", filebase);
    size_t hpd_len;
    uint8_t *hpd = tu_read_file(path, &hpd_len);

    /* which events count: the library's sequential reader decides (strict
     * errors, salvage skips); their fields are decoded here, independently */
    hp_read_options ro = {.version = HP_READ_OPTIONS_VERSION, .salvage = salvage};
    hp_hpd *it;
    int rc = hp_hpd_open(&it, filebase, hpm, &ro);
    tu_raw *ev = NULL;
    size_t n = 0, cap = 0;
    hp_event e;
    while (rc == 0 && (rc = hp_hpd_next(it, &e)) == HP_OK) {
        const uint8_t *p = hpd + e.offset;
        uint32_t word = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        p += 4;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            ev = realloc(ev, cap * sizeof *ev);
        }
        tu_raw *r = &ev[n++];
        r->word = word;
        r->sec = ref_varint(&p);
        r->usec = ref_varint(&p);
        r->size = ref_varint(&p);
        rc = 0;
    }
    hp_hpd_close(it);
    free(hpd);
    if (rc < 0) {
        free(ev);
        return rc;
    }
    *out = ev;
    *count = n;
    return 0;
}

int64_t tu_exact_scale(const hp_hpm *hpm, uint64_t size)
{
    /* sizes that scale past 2^63 (only damaged data has them) saturate, as
     * docs/DESIGN.md decides */
    size_t nr;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &nr);
    for (size_t i = 0; i < nr; i++) {
        if (size < r[i].max_bytes) {
            double p = r[i].raw_probability / 4294967295.0, v = (double)size * (1.0 / p);
            return p == 0 ? 0 : v >= 9.2e18 ? INT64_MAX : (int64_t)llrint(v);
        }
    }
    return size > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)size;
}

int tu_ref_digest(const char *filebase, uint64_t interval_ms, double precision, int salvage,
                  uint8_t **out, size_t *len)
{
    hp_hpm *hpm;
    int rc = hp_hpm_open(&hpm, filebase);
    if (rc < 0)
        return rc;
    uint32_t ntraces;
    hp_hpm_num_traces(hpm, &ntraces);
    tu_raw *raw;
    size_t n;
    rc = tu_raw_events(filebase, hpm, salvage, &raw, &n);
    if (rc < 0) {
        hp_hpm_close(hpm);
        return rc;
    }
    ref_event *ev = malloc((n + 1) * sizeof *ev);
    uint64_t now = 0;
    for (size_t i = 0; i < n; i++) {
        /* the clock saturates at 2^62 us, as docs/DESIGN.md decides */
        if (!(raw[i].word & TU_NEGATIVE)) {
            const uint64_t limit = 1ull << 62;
            uint64_t adv = raw[i].sec > limit / 1000000 ? limit : raw[i].sec * 1000000 + raw[i].usec;
            now = adv > limit - now ? limit : now + adv;
        }
        int64_t s = tu_exact_scale(hpm, raw[i].size);
        ev[i] = (ref_event){now, raw[i].word & TU_TRACE_MASK, (raw[i].word & TU_FREE) ? -s : s};
    }
    free(raw);

    uint64_t I = interval_ms * 1000, R = n ? ev[n - 1].t : 0;
    uint64_t nsnap = (R + I - 1) / I + 1;
    int64_t *live = calloc((size_t)ntraces + 1, sizeof *live);
    ref_entry *ent = malloc(((size_t)ntraces + 2) * sizeof *ent);
    tu_buf f = {0}, index = {0};
    uint64_t sec, nsec;
    hp_hpm_initial_timespec(hpm, &sec, &nsec);
    tu_be32(&f, 1);
    tu_be64(&f, sec);
    tu_be64(&f, nsec);
    tu_varint(&f, interval_ms);
    size_t index_at = f.len;
    tu_be64(&f, 0);
    uint64_t prev_off = 0;
    size_t next = 0;
    for (uint64_t k = 0; k < nsnap; k++) {
        while (next < n && ev[next].t <= k * I) {
            /* wrapping: damaged data can sum past 2^63 */
            live[ev[next].trace] = (int64_t)((uint64_t)live[ev[next].trace] + (uint64_t)ev[next].delta);
            next++;
        }
        size_t m = 0;
        uint64_t total = 0;
        for (uint32_t t = 0; t <= ntraces; t++)
            if (live[t] > 0) {
                ent[m++] = (ref_entry){(uint64_t)live[t], t};
                total += (uint64_t)live[t];
            }
        qsort(ent, m, sizeof *ent, ref_cmp);
        uint64_t other = live[0] > 0 ? (uint64_t)live[0] : 0;
        size_t keep = m;
        if (precision > 0) {
            uint64_t slop = (uint64_t)((double)total * precision), dropped = 0;
            for (size_t i = m; i-- > 0;) {
                if (ent[i].trace == 0)
                    continue;
                if (dropped + ent[i].bytes > slop)
                    break;
                dropped += ent[i].bytes;
                ent[i].bytes = 0; /* mark dropped */
            }
            other += dropped;
        }
        /* rebuild: kept entries (not trace 0, not dropped) plus "other" */
        size_t w = 0;
        for (size_t i = 0; i < keep; i++)
            if (ent[i].trace != 0 && ent[i].bytes > 0)
                ent[w++] = ent[i];
        if (other > 0)
            ent[w++] = (ref_entry){other, 0};
        qsort(ent, w, sizeof *ent, ref_cmp);
        tu_varint(&index, k == 0 ? f.len : f.len - prev_off);
        prev_off = f.len;
        tu_be32(&f, 0x5379a0bdu);
        tu_varint(&f, w);
        for (size_t i = 0; i < w; i++) {
            tu_varint(&f, ent[i].trace);
            tu_varint(&f, i == 0 ? ent[i].bytes : ent[i - 1].bytes - ent[i].bytes);
        }
    }
    uint64_t index_off = f.len;
    tu_be32(&f, 0xab935776u);
    tu_varint(&f, nsnap);
    tu_put(&f, index.p, index.len);
    for (int i = 0; i < 8; i++)
        f.p[index_at + (size_t)i] = (uint8_t)(index_off >> (56 - 8 * i));
    tu_free(&index);
    free(live);
    free(ent);
    free(ev);
    hp_hpm_close(hpm);
    *out = f.p;
    *len = f.len;
    return 0;
}

/* ---- crafted profiles ------------------------------------------------------- */

void tu_craft(const char *fb, const char *const *const *stacks, size_t nstacks, const tu_ev *ev,
              size_t nev)
{
    tu_buf m = {0}, d = {0};
    tu_be32(&m, 1);
    tu_be64(&m, 1795000000);
    tu_be64(&m, 500000000);
    tu_varint(&m, 0); /* no ranges: every allocation recorded */
    for (size_t t = 0; t < nstacks; t++) {
        size_t depth = 0;
        while (stacks[t][depth])
            depth++;
        for (size_t j = depth; j-- > 0;) { /* stored innermost first */
            const char *f = stacks[t][j], *colon = strrchr(f, ':');
            assert_non_null(colon);
            tu_varint(&m, strtoull(colon + 1, NULL, 10) + 1);
            tu_varint(&m, (uint64_t)(colon - f));
            tu_put(&m, f, (size_t)(colon - f));
        }
        tu_varint(&m, 0);
    }
    uint64_t prev = 0;
    for (size_t i = 0; i < nev; i++) {
        uint64_t us = (uint64_t)ev[i].ms * 1000 - prev;
        prev = (uint64_t)ev[i].ms * 1000;
        tu_event(&d, 0, ev[i].size < 0, ev[i].trace, us / 1000000, us % 1000000,
                 (uint64_t)(ev[i].size < 0 ? -ev[i].size : ev[i].size));
    }
    char path[1024];
    snprintf(path, sizeof path, "%s.hpm", fb);
    tu_write_file(path, m.p, m.len);
    snprintf(path, sizeof path, "%s.hpd", fb);
    tu_write_file(path, d.p, d.len);
    tu_free(&m);
    tu_free(&d);
}

void tu_craft_digest(const char *fb, const char *const *const *stacks, size_t nstacks,
                     const tu_ev *ev, size_t nev, uint32_t interval_ms)
{
    tu_craft(fb, stacks, nstacks, ev, nev);
    assert_int_equal(hp_hpc_make(fb, interval_ms / 1000.0, 0.0, 0), HP_OK);
}

char *tu_read_text(const char *path)
{
    size_t n;
    return (char *)tu_read_file(path, &n); /* it ends the data with a NUL */
}

/* ---- gzip and pprof, read back -------------------------------------------- */

/* Inflates a whole gzip file. */
uint8_t *tu_gunzip(const uint8_t *src, size_t n, size_t *out_len)
{
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    size_t cap = 1 << 16, len = 0;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (len == cap)
            out = realloc(out, cap *= 2);
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        len = cap - z.avail_out;
    } while (rc != Z_STREAM_END);
    assert_int_equal(z.avail_in, 0); /* one gzip member, nothing after it */
    inflateEnd(&z);
    *out_len = len;
    return out;
}

Perftools__Profiles__Profile *tu_read_pprof(const char *path)
{
    size_t n, len;
    uint8_t *gz = tu_read_file(path, &n);
    assert_non_null(gz);
    assert_true(n > 18);
    assert_int_equal(gz[0], 0x1f);
    assert_int_equal(gz[1], 0x8b);
    assert_int_equal(gz[4] | gz[5] | gz[6] | gz[7], 0); /* mtime 0: reproducible */
    uint8_t *raw = tu_gunzip(gz, n, &len);
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, len, raw);
    assert_non_null(p);
    free(gz);
    free(raw);
    return p;
}
