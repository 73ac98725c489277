/* Fault injection: truncated and bit-flipped files, and absurd header
 * values. Every case must end in a clear error (a negative code, a message
 * naming the file) or a valid result (for the .hpd: the reference digest of
 * what is left), never a crash, a hang or a huge allocation. */
#include "testutil.h"

#include "hpc_format.h"
#include "seekable.h"

#include <zstd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef tu_scratch fx;

static uint8_t *fixture(const char *name, size_t *n)
{
    char *p = tu_path(tu_data_dir(), "%s", name);
    uint8_t *d = tu_read_file(p, n);
    assert_non_null(d);
    free(p);
    return d;
}

/* An error names the file it is about. */
static void assert_clear_error(int rc, const char *file)
{
    assert_true(rc < 0);
    assert_non_null(strstr(hp_last_error(), file));
}

/* Opens a damaged .hpc and reads every snapshot: each step succeeds or
 * fails with a clear error. */
static void read_damaged_hpc(const char *path, const char *name)
{
    hp_hpc *h;
    int rc = hp_hpc_open_path(&h, path);
    if (rc < 0) {
        assert_clear_error(rc, name);
        return;
    }
    for (size_t k = 0; k < hp_hpc_length(h); k++) {
        hp_snapshot s;
        rc = hp_hpc_snapshot(h, k, &s);
        if (rc < 0)
            assert_clear_error(rc, name);
    }
    hp_hpc_close(h);
}

/* Digest of FB (v1, 0.1 s, p 0.01) equals the reference, or both fail with
 * the same code. */
static void digest_matches_reference(fx *f, int salvage)
{
    uint8_t *ref;
    size_t ref_len;
    int ref_rc = tu_ref_digest(f->fb, 100, 0.01, salvage, &ref, &ref_len);
    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.format = HP_FORMAT_V1;
    o.output = f->out;
    o.salvage = salvage;
    o.threads = 2;
    o.chunk_bytes = 512;
    remove(f->out);
    int rc = hp_hpc_make_ex(f->fb, 0.1, 0.01, &o);
    if (ref_rc == 0) {
        assert_int_equal(rc, HP_OK);
        size_t len;
        uint8_t *got = tu_read_file(f->out, &len);
        assert_int_equal(len, ref_len);
        assert_memory_equal(got, ref, len);
        free(got);
        free(ref);
    } else {
        assert_int_equal(rc, ref_rc);
        assert_clear_error(rc, "p.h");
        assert_null(tu_read_file(f->out, &(size_t){0})); /* nothing left */
    }
}

/* tiny.hpd cut at every byte: a partial final event is ignored, so every
 * prefix digests, exactly as the reference digests it. */
static void hpd_truncated_everywhere(void **state)
{
    fx *f = *state;
    size_t nm, nd;
    uint8_t *hpm = fixture("tiny.hpm", &nm), *hpd = fixture("tiny.hpd", &nd);
    char *pm = tu_path(f->dir, "p.hpm"), *pd = tu_path(f->dir, "p.hpd");
    tu_write_file(pm, hpm, nm);
    size_t step = tu_under_tsan() ? 7 : 1;
    for (size_t cut = 0; cut <= nd; cut += step) {
        tu_write_file(pd, hpd, cut);
        digest_matches_reference(f, 0);
    }
    free(hpm), free(hpd), free(pm), free(pd);
}

/* tiny.hpm cut at a dense sample of offsets (every byte of the header and
 * the first traces, then every 97th): opening, counting and warming end in
 * an error or in fewer traces, never in more. */
static void hpm_truncated(void **state)
{
    fx *f = *state;
    size_t nm;
    uint8_t *hpm = fixture("tiny.hpm", &nm);
    char *pm = tu_path(f->dir, "p.hpm");
    uint32_t last = 0;
    for (size_t cut = 0; cut <= nm; cut = cut < 2000 ? cut + 1 : cut + 97 > nm && cut < nm ? nm : cut + 97) {
        tu_write_file(pm, hpm, cut);
        hp_hpm *h;
        int rc = hp_hpm_open(&h, f->fb);
        if (rc < 0) {
            assert_clear_error(rc, "p.hpm");
            assert_true(cut < 64); /* only a cut header fails */
            continue;
        }
        uint32_t n;
        assert_int_equal(hp_hpm_num_traces(h, &n), HP_OK);
        assert_true(n >= last && n <= 179);
        last = n;
        assert_int_equal(hp_hpm_warm_raw_trace_cache(h), HP_OK);
        hp_hpm_close(h);
    }
    assert_int_equal(last, 179);
    free(hpm), free(pm);
}

/* .hpc files cut everywhere: heapprof's own v1 and our v2. */
static void hpc_truncated_everywhere(void **state)
{
    fx *f = *state;
    size_t n1;
    uint8_t *v1 = fixture("tiny.heapprof.i100.p0.hpc", &n1);
    /* our v2 of tiny, 1 s snapshots */
    char *tiny = tu_path(tu_data_dir(), "tiny");
    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.output = f->out;
    assert_int_equal(hp_hpc_make_ex(tiny, 1, 0.01, &o), HP_OK);
    size_t n2;
    uint8_t *v2 = tu_read_file(f->out, &n2);
    const struct {
        uint8_t *d;
        size_t n;
    } files[] = {{v1, n1}, {v2, n2}};
    char *path = tu_path(f->dir, "cut.hpc");
    size_t step = tu_under_tsan() ? 7 : 1;
    for (int i = 0; i < 2; i++) {
        for (size_t cut = 0; cut < files[i].n; cut += step) {
            tu_write_file(path, files[i].d, cut);
            read_damaged_hpc(path, "cut.hpc");
        }
    }
    free(v1), free(v2), free(tiny), free(path);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random bit flips in the .hpd (strict and salvage digests against the
 * reference), the .hpm (an error or a profile), and the .hpc (an error or
 * snapshots). */
static void bit_flips(void **state)
{
    fx *f = *state;
    size_t nm, nd, nc;
    uint8_t *hpm = fixture("tiny.hpm", &nm), *hpd = fixture("tiny.hpd", &nd);
    uint8_t *hpc = fixture("tiny.heapprof.i100.p0.hpc", &nc);
    char *pm = tu_path(f->dir, "p.hpm"), *pd = tu_path(f->dir, "p.hpd"), *pc = tu_path(f->dir, "p.hpc");
    int rounds = tu_under_tsan() ? 25 : 100;
    for (int round = 0; round < rounds; round++) {
        uint8_t *d = malloc(nd);
        memcpy(d, hpd, nd);
        int flips = 1 + (int)(next_rand() % 4);
        for (int i = 0; i < flips; i++)
            d[next_rand() % nd] ^= (uint8_t)(1u << (next_rand() % 8));
        tu_write_file(pm, hpm, nm);
        tu_write_file(pd, d, nd);
        digest_matches_reference(f, round & 1);
        free(d);

        uint8_t *m = malloc(nm);
        memcpy(m, hpm, nm);
        m[next_rand() % (round < rounds / 2 ? 64 : nm)] ^= (uint8_t)(1u << (next_rand() % 8));
        tu_write_file(pm, m, nm);
        hp_hpm *h;
        int rc = hp_hpm_open(&h, f->fb);
        if (rc == HP_OK) {
            rc = hp_hpm_warm_raw_trace_cache(h);
            if (rc < 0)
                assert_clear_error(rc, "p.hpm");
            hp_hpm_close(h);
        } else {
            assert_clear_error(rc, "p.hpm");
        }
        free(m);

        uint8_t *c = malloc(nc);
        memcpy(c, hpc, nc);
        c[next_rand() % nc] ^= (uint8_t)(1u << (next_rand() % 8));
        tu_write_file(pc, c, nc);
        read_damaged_hpc(pc, "p.hpc");
        free(c);
    }
    free(hpm), free(hpd), free(hpc), free(pm), free(pd), free(pc);
}

/* Absurd values in headers are refused before any large allocation: the
 * address space is capped at 1 GiB here, so trying would fail loudly. */
static void absurd_headers(void **state)
{
    fx *f = *state;
    struct rlimit old, cap = {1ull << 30, 1ull << 30};
    getrlimit(RLIMIT_AS, &old);
    int sanitized = getenv("HP_SANITIZED") != NULL; /* ASan reserves terabytes */
    if (!sanitized)
        assert_int_equal(setrlimit(RLIMIT_AS, &cap), 0);
    char *pc = tu_path(f->dir, "x.hpc"), *pm = tu_path(f->dir, "p.hpm");
    hp_hpc *h;

    /* a v1 index claiming 2^60 snapshots */
    tu_buf b = {0};
    tu_be32(&b, 1), tu_be64(&b, 0), tu_be64(&b, 0), tu_varint(&b, 1000), tu_be64(&b, 29);
    tu_be32(&b, 0xab935776u), tu_varint(&b, 1ull << 60);
    tu_write_file(pc, b.p, b.len);
    assert_clear_error(hp_hpc_open_path(&h, pc), "x.hpc");
    tu_free(&b);

    /* a snapshot claiming 2^40 entries */
    tu_be32(&b, 1), tu_be64(&b, 0), tu_be64(&b, 0), tu_varint(&b, 1000), tu_be64(&b, 36);
    tu_be32(&b, 0x5379a0bdu), tu_varint(&b, 1ull << 40);
    tu_be32(&b, 0xab935776u), tu_varint(&b, 1), tu_varint(&b, 29);
    tu_write_file(pc, b.p, b.len);
    if (hp_hpc_open_path(&h, pc) == HP_OK) {
        hp_snapshot s;
        assert_clear_error(hp_hpc_snapshot(h, 0, &s), "x.hpc");
        hp_hpc_close(h);
    }
    tu_free(&b);

    /* a trace whose file name claims to be 1 TB long, and one with 10^9
     * frames' worth of claimed line numbers (the file ends long before) */
    tu_hpm(&b, 1, 2, 0, NULL, NULL, 0, 0);
    tu_varint(&b, 2), tu_varint(&b, 1ull << 40), tu_put(&b, "abc", 3);
    tu_write_file(pm, b.p, b.len);
    hp_hpm *m;
    assert_int_equal(hp_hpm_open(&m, f->fb), HP_OK);
    uint32_t n = 99;
    assert_int_equal(hp_hpm_num_traces(m, &n), HP_OK);
    assert_int_equal(n, 0); /* a partial trailing trace is simply absent */
    hp_hpm_close(m);
    tu_free(&b);

    /* a v2 index frame that decompresses to 64 MiB of zeros (a bomb of a
     * few KB): refused at its first bytes, with nothing allocated for it */
    {
        size_t zlen = 64u << 20;
        uint8_t *zeros = calloc(1, zlen), *packed = malloc(ZSTD_compressBound(zlen));
        uint8_t header[29];
        hp_hpc_header hh = {1, 2, 100, 29}; /* a 1-byte interval: a 29-byte header */
        assert_int_equal(hp_hpc_header_encode(header, &hh), 29);
        uint8_t hframe[128];
        size_t hz = ZSTD_compress(hframe, sizeof hframe, header, 29, 1);
        size_t bz = ZSTD_compress(packed, ZSTD_compressBound(zlen), zeros, zlen, 1);
        assert_false(ZSTD_isError(hz) || ZSTD_isError(bz));
        hp_seek_entry e[2] = {{(uint32_t)hz, 29, 0}, {(uint32_t)bz, (uint32_t)zlen, 0}};
        e[0].checksum = hp_frame_checksum(header, 29);
        e[1].checksum = hp_frame_checksum(zeros, zlen);
        tu_put(&b, hframe, hz);
        tu_put(&b, packed, bz);
        uint8_t table[64];
        hp_seek_table_encode(table, e, 2);
        tu_put(&b, table, hp_seek_table_size(2));
        tu_write_file(pc, b.p, b.len);
        assert_true(b.len < 64 * 1024);
        assert_clear_error(hp_hpc_open_path(&h, pc), "x.hpc");
        assert_non_null(strstr(hp_last_error(), "bad index magic"));
        tu_free(&b);
        free(zeros);
        free(packed);
    }

    /* 2^24 + 1 traces of no frames (16 MiB of .hpm): refused by counting,
     * before a trace cache or a digest's live states are allocated */
    tu_hpm(&b, 1, 2, 0, NULL, NULL, 0, 0);
    for (uint32_t i = 0; i <= HP_MAX_TRACES; i++)
        tu_varint(&b, 0);
    tu_write_file(pm, b.p, b.len);
    tu_free(&b);
    assert_int_equal(hp_hpm_open(&m, f->fb), HP_OK);
    assert_int_equal(hp_hpm_num_traces(m, &n), HP_ELIMIT);
    assert_int_equal(hp_hpm_warm_raw_trace_cache(m), HP_ELIMIT);
    assert_non_null(strstr(hp_last_error(), "p.hpm: offset"));
    hp_hpm_close(m);
    char *pd = tu_path(f->dir, "p.hpd");
    tu_write_file(pd, "", 0);
    free(pd);
    assert_int_equal(hp_hpc_make(f->fb, 1, 0, 0), HP_ELIMIT);

    /* 2^60 sampling ranges */
    tu_be32(&b, 1), tu_be64(&b, 1), tu_be64(&b, 2), tu_varint(&b, 1ull << 60);
    tu_write_file(pm, b.p, b.len);
    assert_clear_error(hp_hpm_open(&m, f->fb), "p.hpm");
    tu_free(&b);

    if (!sanitized)
        setrlimit(RLIMIT_AS, &old);
    free(pc), free(pm);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, tu_scratch_setup, tu_scratch_teardown)
    const struct CMUnitTest tests[] = {
        T(hpd_truncated_everywhere), T(hpm_truncated), T(hpc_truncated_everywhere),
        T(bit_flips),                T(absurd_headers),
    };
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
