/* The digester: contract semantics on crafted streams, and a property test
 * against the reference digester for many thread counts and chunk sizes. */
#include "testutil.h"

#include "digest_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef tu_scratch fx;

/* Writes p.hpm with 6 traces and ranges {64: p=0, 128: p=0.5}, and p.hpd. */
static void write_profile(fx *f, const tu_buf *events)
{
    uint64_t mb[2] = {64, 128};
    uint32_t rp[2] = {0, 2147483648u};
    tu_buf b = {0};
    tu_hpm(&b, 1700000000, 123, 2, mb, rp, 6, 1);
    char *p = tu_path(f->dir, "p.hpm");
    tu_write_file(p, b.p, b.len);
    free(p);
    p = tu_path(f->dir, "p.hpd");
    tu_write_file(p, events->p, events->len);
    free(p);
    tu_free(&b);
}

/* Chunk sizes to try: automatic, then a few bytes (a chunk boundary inside
 * nearly every event) and larger ones. Bigger profiles use less tiny chunks:
 * each chunk wave costs thread barriers. */
static const size_t tiny_chunks[] = {0, 16, 23, 1000};
static const size_t small_chunks[] = {0, 61, 997, 4099};
static const size_t *chunks = tiny_chunks;

/* Asserts that the digest at `path` (v2: decompressed first) is the
 * reference's v1 bytes. */
static void expect_reference(const char *path, int v2, const uint8_t *ref, size_t ref_len)
{
    size_t len;
    uint8_t *got = tu_read_file(path, &len);
    assert_non_null(got);
    if (v2) {
        uint8_t *plain = tu_zstd_decompress(got, len, &len);
        assert_non_null(plain);
        free(got);
        got = plain;
    }
    assert_int_equal(len, ref_len);
    assert_memory_equal(got, ref, len);
    free(got);
}

/* The options of a digest into the fixture's output: threads (0: the
 * default), chunk bytes (0: automatic), format and report (may be NULL). */
static hp_make_options digest_options(const fx *f, int threads, size_t chunk, int v2,
                                      hp_make_report *rep)
{
    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.threads = threads;
    o.chunk_bytes = chunk;
    o.format = v2 ? HP_FORMAT_V2 : HP_FORMAT_V1;
    o.output = f->out;
    o.report = rep;
    return o;
}

/* Digests with several thread counts and chunk sizes and the reference;
 * asserts all agree byte for byte; returns the v1 digest opened. */
static hp_hpc *digest_all_ways(fx *f, double interval, double precision, hp_make_report *rep)
{
    uint8_t *ref;
    size_t ref_len;
    assert_int_equal(tu_ref_digest(f->fb, (uint64_t)llround(interval * 1000), precision, 0, &ref, &ref_len), 0);
    const int threads[] = {1, 2, 3, 4};
    for (int t = 0; t < 4; t++) {
        for (int c = 0; c < 4; c++) {
            for (int v = 0; v < 2; v++) {
                hp_make_options o = digest_options(f, threads[t], chunks[c], v, rep);
                assert_int_equal(hp_hpc_make_ex(f->fb, interval, precision, &o), HP_OK);
                expect_reference(f->out, v, ref, ref_len);
            }
        }
    }
    free(ref);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, f->out), HP_OK);
    return hpc;
}

static void expect(hp_hpc *hpc, size_t k, size_t n, const uint32_t *traces, const uint64_t *bytes)
{
    hp_snapshot s;
    assert_int_equal(hp_hpc_snapshot(hpc, k, &s), HP_OK);
    assert_int_equal(s.count, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s.entries[i].traceindex, traces[i]);
        assert_int_equal(s.entries[i].bytes, bytes[i]);
    }
}

static void event_on_boundary(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 1, 0, 100000, 1000); /* exactly at 100 ms */
    tu_event(&b, 0, 0, 2, 0, 1, 2000);      /* 100.001 ms */
    write_profile(f, &b);
    hp_hpc *hpc = digest_all_ways(f, 0.1, 0, NULL);
    assert_int_equal(hp_hpc_length(hpc), 3); /* ceil(100001/100000) + 1 */
    expect(hpc, 0, 0, NULL, NULL);
    expect(hpc, 1, 1, (uint32_t[]){1}, (uint64_t[]){1000});
    expect(hpc, 2, 2, (uint32_t[]){2, 1}, (uint64_t[]){2000, 1000});
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void empty_intervals(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 3, 0, 50000, 500);
    tu_event(&b, 0, 1, 3, 0, 500000, 500); /* at 550 ms: freed */
    write_profile(f, &b);
    hp_hpc *hpc = digest_all_ways(f, 0.1, 0, NULL);
    assert_int_equal(hp_hpc_length(hpc), 7);
    for (size_t k = 1; k <= 5; k++)
        expect(hpc, k, 1, (uint32_t[]){3}, (uint64_t[]){500});
    expect(hpc, 6, 0, NULL, NULL); /* a trace back at 0 bytes disappears */
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void negative_delta_advances_nothing(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 1, 1, 0, 100);      /* 1.0 s; p = 0.5: 200 bytes */
    tu_event(&b, 1, 0, 2, 1, 700000, 200); /* -0.3 s: still 1.0 s */
    tu_event(&b, 0, 0, 3, 0, 100000, 300); /* 1.1 s */
    write_profile(f, &b);
    hp_hpc *hpc = digest_all_ways(f, 1, 0, NULL);
    assert_int_equal(hp_hpc_length(hpc), 3);
    expect(hpc, 1, 2, (uint32_t[]){1, 2}, (uint64_t[]){200, 200});
    expect(hpc, 2, 3, (uint32_t[]){3, 1, 2}, (uint64_t[]){300, 200, 200});
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void ties_by_trace_index(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 5, 0, 0, 500);
    tu_event(&b, 0, 0, 2, 0, 0, 500);
    tu_event(&b, 0, 0, 0, 0, 0, 500); /* trace 0 too */
    tu_event(&b, 0, 0, 4, 0, 0, 700);
    write_profile(f, &b);
    hp_hpc *hpc = digest_all_ways(f, 1, 0, NULL);
    assert_int_equal(hp_hpc_length(hpc), 1); /* a single instant at time 0 */
    expect(hpc, 0, 4, (uint32_t[]){4, 0, 2, 5}, (uint64_t[]){700, 500, 500, 500});
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void precision_walk(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 1, 0, 0, 1000);
    tu_event(&b, 0, 0, 2, 0, 0, 150); /* 150 B, beyond the ranges: 150 */
    tu_event(&b, 0, 0, 3, 0, 0, 130);
    tu_event(&b, 0, 0, 4, 0, 0, 129);
    tu_event(&b, 0, 0, 6, 0, 0, 129);
    tu_event(&b, 0, 0, 0, 0, 0, 140); /* trace 0's own bytes */
    write_profile(f, &b);
    /* total 1678, P 0.2: slop 335. Walk up: trace 6 (129), trace 4 (129,
     * 258), trace 3 (130, 388 > 335): stop. other = 258 + 140 = 398 */
    hp_hpc *hpc = digest_all_ways(f, 1, 0.2, NULL);
    expect(hpc, 0, 4, (uint32_t[]){1, 0, 2, 3}, (uint64_t[]){1000, 398, 150, 130});
    hp_hpc_close(hpc);
    /* P = 0: nothing folded, trace 0 keeps its own entry */
    hpc = digest_all_ways(f, 1, 0, NULL);
    expect(hpc, 0, 6, (uint32_t[]){1, 2, 0, 3, 4, 6}, (uint64_t[]){1000, 150, 140, 130, 129, 129});
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void empty_hpd(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    write_profile(f, &b);
    hp_hpc *hpc = digest_all_ways(f, 60, 0.01, NULL);
    assert_int_equal(hp_hpc_length(hpc), 1);
    expect(hpc, 0, 0, NULL, NULL);
    hp_hpc_close(hpc);
}

static void single_event_at_zero(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 1, 0, 0, 4096);
    write_profile(f, &b);
    hp_hpc *hpc = digest_all_ways(f, 0.001, 0, NULL);
    assert_int_equal(hp_hpc_length(hpc), 1);
    expect(hpc, 0, 1, (uint32_t[]){1}, (uint64_t[]){4096});
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void huge_sizes_and_sampling(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 0, 1, 0, 10, 3ull << 32); /* 12 GiB in one trace */
    tu_event(&b, 0, 0, 1, 0, 10, 3ull << 32);
    tu_event(&b, 0, 0, 2, 0, 10, 63); /* p = 0: scaled to nothing */
    tu_event(&b, 0, 0, 3, 0, 10, 65); /* p = 0.5: 130 */
    tu_event(&b, 0, 0, 3, 0, 10, 100); /* 200 */
    write_profile(f, &b);
    hp_hpc *hpc = digest_all_ways(f, 1, 0, NULL);
    expect(hpc, 1, 2, (uint32_t[]){1, 3}, (uint64_t[]){6ull << 32, 330});
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void negative_traces_left_out(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    tu_event(&b, 0, 1, 2, 0, 10, 500); /* a free whose allocation was never seen */
    tu_event(&b, 0, 0, 1, 0, 10, 300);
    tu_event(&b, 0, 0, 2, 2, 0, 800); /* trace 2 back to +300 at 2.00002 s */
    write_profile(f, &b);
    hp_make_report rep;
    hp_hpc *hpc = digest_all_ways(f, 1, 0.5, &rep);
    assert_int_equal(hp_hpc_length(hpc), 4);
    /* total counts only positive traces: 300, slop 150: nothing folds */
    expect(hpc, 1, 1, (uint32_t[]){1}, (uint64_t[]){300});
    /* total 600, slop 300: trace 2 (the higher index of the tie) folds
     * exactly into "other", which goes first among equal sizes */
    expect(hpc, 3, 2, (uint32_t[]){0, 1}, (uint64_t[]){300, 300});
    assert_int_equal(rep.negative_snapshots, 2); /* snapshots 1 and 2 */
    hp_hpc_close(hpc);
    tu_free(&b);
}

static void bad_parameters(void **state)
{
    fx *f = *state;
    tu_buf b = {0};
    write_profile(f, &b);
    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.output = f->out;
    assert_int_equal(hp_hpc_make_ex(f->fb, 0.0009, 0, &o), HP_EINVAL);
    assert_int_equal(hp_hpc_make_ex(f->fb, NAN, 0, &o), HP_EINVAL);
    assert_int_equal(hp_hpc_make_ex(f->fb, INFINITY, 0, &o), HP_EINVAL);
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 1.0, &o), HP_EINVAL);
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, -0.1, &o), HP_EINVAL);
    o.level = 99;
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0, &o), HP_EINVAL);
    assert_int_equal(tu_count_entries(f->dir), 2); /* nothing written */
}

/* Random profiles, many ways, against the reference. */
static void property_random_profiles(void **state)
{
    fx *f = *state;
    const struct {
        double interval, precision;
    } params[] = {{0.01, 0}, {0.1, 0.01}, {1, 0.2}, {0.003, 0.05}};
    chunks = small_chunks;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        tu_generate(f->fb, 3000 + seed * 1500, (uint32_t)(20 + seed * 40), 2.0, seed, NULL);
        for (size_t p = 0; p < sizeof params / sizeof *params; p++) {
            hp_hpc *hpc = digest_all_ways(f, params[p].interval, params[p].precision, NULL);
            hp_hpc_close(hpc);
        }
    }
    chunks = tiny_chunks;
}

/* Damaged streams: salvage digests the kept events exactly as the reference
 * (sequential salvage reading) does; strict digests fail and write nothing. */
static void property_salvage(void **state)
{
    fx *f = *state;
    for (uint64_t seed = 11; seed <= 13; seed++) {
        tu_generate(f->fb, 20000, 50, 3.0, seed, "--damage 6");
        uint8_t *ref;
        size_t ref_len;
        assert_int_equal(tu_ref_digest(f->fb, 10, 0.01, 0, &ref, &ref_len), HP_EFORMAT);
        assert_int_equal(tu_ref_digest(f->fb, 10, 0.01, 1, &ref, &ref_len), 0);
        const size_t salvage_chunks[] = {0, 64, 777, 5000};
        for (int t = 1; t <= 4; t++) {
            for (int c = 0; c < 4; c++) {
                hp_make_report rep;
                hp_make_options o = digest_options(f, t, salvage_chunks[c], 0, &rep);
                remove(f->out);
                assert_int_equal(hp_hpc_make_ex(f->fb, 0.01, 0.01, &o), HP_EFORMAT);
                assert_non_null(strstr(hp_last_error(), "invalid event"));
                assert_int_equal(tu_count_entries(f->dir), 2);
                o.salvage = 1;
                assert_int_equal(hp_hpc_make_ex(f->fb, 0.01, 0.01, &o), HP_OK);
                assert_int_equal(rep.skips, 6);
                size_t len;
                uint8_t *got = tu_read_file(f->out, &len);
                assert_int_equal(len, ref_len);
                assert_memory_equal(got, ref, len);
                free(got);
            }
        }
        free(ref);
    }
}

/* limit_bytes digests exactly the events that start before the limit. */
static void slice(void **state)
{
    fx *f = *state;
    tu_generate(f->fb, 4500, 20, 2, 6, NULL);
    const char *fb = f->fb, *out = f->out;
    hp_make_options o;
    hp_make_report r;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.output = out;
    o.report = &r;
    o.limit_bytes = 5000;
    o.threads = 2;
    o.chunk_bytes = 1000;
    assert_int_equal(hp_hpc_make_ex(fb, 0.1, 0, &o), HP_OK);
    hp_hpd *it;
    assert_int_equal(hp_hpd_open(&it, fb, NULL, NULL), HP_OK);
    hp_event e;
    uint64_t before = 0;
    while (hp_hpd_next(it, &e) == HP_OK)
        before += e.offset < 5000;
    hp_hpd_close(it);
    assert_int_equal(r.events, before);
    assert_true(r.events > 0);
}

/* A batch's grants: the thread count changes at wave after wave, into and
 * out of one thread (fused chunks), two (the pipeline) and more (chunks on
 * copies), each way; the bytes are the reference's all the same, and each
 * grant is asked with the .hpd left, less every time. */
typedef struct grants {
    int calls, next;
    uint64_t last_remaining;
    int decreasing;
} grants;

static int rotating_grant(void *ctx, uint64_t remaining, int current)
{
    grants *g = ctx;
    static const int seq[] = {3, 1, 4, 2, 2, 1, 2, 4};
    if (g->calls > 0 && (remaining >= g->last_remaining || current < 1))
        g->decreasing = 0;
    g->last_remaining = remaining;
    g->calls++;
    return seq[g->next++ % 8] + (g->calls % 5 == 0 ? 100 : 0); /* and above the most */
}

static void grants_per_wave(void **state)
{
    fx *f = *state;
    tu_generate(f->fb, 20000, 40, 3.0, 9, NULL);
    uint8_t *ref;
    size_t ref_len;
    assert_int_equal(tu_ref_digest(f->fb, 10, 0.01, 0, &ref, &ref_len), 0);
    const size_t chunk_sizes[] = {997, 4099, 0};
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 2; v++) {
            grants g = {.decreasing = 1};
            hp_make_options o = digest_options(f, 0, chunk_sizes[c], v, NULL);
            hp_digest_hooks hooks = {.max_threads = 4, .grant = rotating_grant, .grant_ctx = &g};
            assert_int_equal(hp_digest_run(f->fb, 0.01, 0.01, &o, &hooks), HP_OK);
            assert_true(g.calls >= (c < 2 ? 3 : 1));
            assert_true(g.decreasing);
            expect_reference(f->out, v, ref, ref_len);
        }
    free(ref);
}

/* One thread applies a chunk's events as it decodes them (a fused chunk)
 * until its records pass 32 MiB; the rest of the chunk then goes through
 * the arrays and the emission task, which pauses. A 1 MiB chunk here holds
 * about 45 MB of records (10,000 snapshots of up to 3,000 entries in all,
 * 95 MB over 2.2 MB of .hpd), so the second chunk, the first to fuse,
 * switches; the bytes are the reference's all the same. With two threads
 * the second chunk is piped, and its emission pauses likewise. */
static void records_fill_a_fused_chunk(void **state)
{
    fx *f = *state;
    tu_generate(f->fb, 300000, 3000, 30, 5, NULL);
    uint8_t *ref;
    size_t ref_len;
    assert_int_equal(tu_ref_digest(f->fb, 3, 0, 0, &ref, &ref_len), 0);
    assert_true(ref_len > (80u << 20));
    for (int threads = 1; threads <= 2; threads++) {
        hp_make_report rep;
        hp_make_options o = digest_options(f, threads, 1u << 20, 0, &rep);
        assert_int_equal(hp_hpc_make_ex(f->fb, 0.003, 0, &o), HP_OK);
        assert_int_equal(rep.events, 300000);
        expect_reference(f->out, 0, ref, ref_len);
    }
    free(ref);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, tu_scratch_setup, tu_scratch_teardown)
    const struct CMUnitTest tests[] = {
        T(event_on_boundary),       T(empty_intervals),     T(negative_delta_advances_nothing),
        T(ties_by_trace_index),     T(precision_walk),      T(empty_hpd),
        T(single_event_at_zero),    T(huge_sizes_and_sampling), T(negative_traces_left_out),
        T(bad_parameters),          T(property_random_profiles), T(property_salvage),
        T(slice),                   T(grants_per_wave),     T(records_fill_a_fused_chunk),
    };
    return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
