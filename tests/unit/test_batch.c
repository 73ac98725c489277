/* Batches: the plan, shards, recorded parameters, digest slices. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx {
    char *dir;
    hp_batch *b;
} fx;

/* Six profiles of different sizes. */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    for (int i = 0; i < 6; i++) {
        char *fb = tu_path(f->dir, "p%d", i);
        tu_generate(fb, 1000 + 700 * (uint64_t)i, 20, 2, (uint64_t)i + 1, NULL);
        free(fb);
    }
    assert_int_equal(hp_batch_new(&f->b), HP_OK);
    assert_int_equal(hp_batch_add(f->b, f->dir, 0), HP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hp_batch_free(f->b);
    tu_rmdir(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void plan(void **state)
{
    fx *f = *state;
    int jobs, per;
    /* small profiles: side by side, one thread each */
    hp_batch_plan(f->b, 8, 0, &jobs, &per);
    assert_int_equal(jobs, 6);
    assert_int_equal(per, 1);
    hp_batch_plan(f->b, 4, 0, &jobs, &per);
    assert_int_equal(jobs, 4);
    assert_int_equal(per, 1);
    /* an explicit --jobs divides the threads */
    hp_batch_plan(f->b, 8, 2, &jobs, &per);
    assert_int_equal(jobs, 2);
    assert_int_equal(per, 4);
    hp_batch_plan(f->b, 2, 5, &jobs, &per);
    assert_int_equal(jobs, 2);
    assert_int_equal(per, 1);
}

/* Shards cover every profile once, largest first, balanced within the
 * largest profile. */
static void shards(void **state)
{
    fx *f = *state;
    size_t total = hp_batch_count(f->b);
    assert_int_equal(total, 6);
    uint64_t largest = 0;
    for (size_t i = 0; i < total; i++)
        largest = hp_batch_input_bytes(f->b, i) > largest ? hp_batch_input_bytes(f->b, i) : largest;
    for (unsigned n = 1; n <= 7; n++) {
        int seen[6] = {0};
        uint64_t lo = UINT64_MAX, hi = 0;
        for (unsigned k = 0; k < n; k++) {
            hp_batch *b;
            assert_int_equal(hp_batch_new(&b), HP_OK);
            assert_int_equal(hp_batch_add(b, f->dir, 0), HP_OK);
            assert_int_equal(hp_batch_shard(b, k, n), HP_OK);
            uint64_t bytes = 0;
            for (size_t i = 0; i < hp_batch_count(b); i++) {
                const char *fb = hp_batch_filebase(b, i);
                seen[fb[strlen(fb) - 1] - '0']++;
                bytes += hp_batch_input_bytes(b, i);
                if (i > 0)
                    assert_true(hp_batch_input_bytes(b, i - 1) >= hp_batch_input_bytes(b, i));
            }
            lo = bytes < lo ? bytes : lo;
            hi = bytes > hi ? bytes : hi;
            hp_batch_free(b);
        }
        for (int i = 0; i < 6; i++)
            assert_int_equal(seen[i], 1);
        if (n <= 6)
            assert_true(hi - lo <= largest);
    }
    assert_int_equal(hp_batch_shard(f->b, 3, 3), HP_EINVAL);
}

typedef struct seen {
    size_t calls, ok, failed;
    int last_done_ok; /* `done` counts up by one per call */
} seen;

static void on_result(void *ctx, const hp_batch_result *r, size_t done, size_t total)
{
    seen *s = ctx;
    s->calls++;
    s->last_done_ok &= done == s->calls && total == 7;
    if (r->status == HP_OK)
        s->ok++;
    else if (r->status < 0 && strstr(r->error, "bad.hpd: offset"))
        s->failed++;
}

/* Two digests at a time, a damaged profile among them: with keep_going the
 * others complete, each equal to a digest of its own; without it, the
 * batch reports the failure. (Under TSan this is the runner's race check.) */
static void run_batch(void **state)
{
    fx *f = *state;
    char *bad = tu_path(f->dir, "bad");
    tu_generate(bad, 3000, 20, 2, 9, "--damage 2");
    assert_int_equal(hp_batch_add(f->b, bad, 0), HP_OK);
    hp_make_options make = HP_MAKE_OPTIONS_INIT;
    make.threads = 4;
    hp_batch_options o = HP_BATCH_OPTIONS_INIT;
    o.interval = 0.2;
    o.make = &make;
    o.jobs = 2;
    o.keep_going = 1;
    seen s = {0, 0, 0, 1};
    o.on_result = on_result;
    o.ctx = &s;
    hp_batch_summary sum;
    assert_int_equal(hp_batch_run(f->b, &o, &sum), HP_EFORMAT);
    assert_int_equal(s.calls, 7);
    assert_true(s.last_done_ok);
    assert_int_equal(s.ok, 6);
    assert_int_equal(s.failed, 1);
    assert_int_equal(sum.digested, 6);
    assert_int_equal(sum.failed, 1);
    assert_int_equal(sum.jobs, 2);
    assert_int_equal(sum.threads_per_job, 2);
    for (int i = 0; i < 6; i++) {
        char *fb = tu_path(f->dir, "p%d", i), *hpc = tu_path(f->dir, "p%d.hpc", i);
        char *single = tu_path(f->dir, "single.hpc");
        hp_make_options m;
        hp_make_options_init(&m, HP_MAKE_OPTIONS_VERSION);
        m.output = single;
        m.threads = 1;
        assert_int_equal(hp_hpc_make_ex(fb, 0.2, 0.01, &m), HP_OK);
        size_t a, b;
        uint8_t *x = tu_read_file(hpc, &a), *y = tu_read_file(single, &b);
        assert_int_equal(a, b);
        assert_memory_equal(x, y, a);
        free(x), free(y), free(fb), free(hpc), free(single);
    }
    /* up to date now: a second run skips all six */
    o.skip_up_to_date = 1;
    memset(&s, 0, sizeof s);
    s.last_done_ok = 1;
    assert_int_equal(hp_batch_run(f->b, &o, &sum), HP_EFORMAT);
    assert_int_equal(sum.skipped, 6);
    assert_int_equal(s.ok, 0);
    free(bad);
}

/* A batch of one with an output path: the runner serves a lone profile as
 * the CLI's `-o` uses it, with per-profile progress, and skips it once it is
 * up to date; an output path with two profiles is refused. */
typedef struct progress_seen {
    size_t calls, bad;
    uint64_t last;
} progress_seen;

static void on_progress(void *ctx, size_t index, uint64_t done, uint64_t total)
{
    progress_seen *p = ctx;
    p->calls++;
    p->bad += index != 0 || done < p->last || done > total;
    p->last = done;
}

static void keep_status(void *ctx, const hp_batch_result *r, size_t done, size_t total)
{
    (void)done;
    (void)total;
    *(int *)ctx = r->status;
}

static void batch_of_one(void **state)
{
    fx *f = *state;
    char *fb = tu_path(f->dir, "p4"), *out = tu_path(f->dir, "out.hpc"),
         *ref = tu_path(f->dir, "ref.hpc");
    hp_batch *b;
    assert_int_equal(hp_batch_new(&b), HP_OK);
    assert_int_equal(hp_batch_add(b, fb, 0), HP_OK);
    hp_make_options m = HP_MAKE_OPTIONS_INIT;
    m.output = out;
    m.threads = 2;
    m.chunk_bytes = 256;
    hp_batch_options o = HP_BATCH_OPTIONS_INIT;
    o.interval = 0.1;
    o.make = &m;
    o.skip_up_to_date = 1;
    progress_seen ps = {0};
    o.on_progress = on_progress;
    o.ctx = &ps;
    hp_batch_summary sum;
    assert_int_equal(hp_batch_run(b, &o, &sum), HP_OK);
    assert_int_equal(sum.digested, 1);
    assert_true(ps.calls > 1 && ps.bad == 0);
    m.output = ref;
    assert_int_equal(hp_hpc_make_ex(fb, 0.1, 0.01, &m), HP_OK);
    size_t a, c;
    uint8_t *x = tu_read_file(out, &a), *y = tu_read_file(ref, &c);
    assert_int_equal(a, c);
    assert_memory_equal(x, y, a);
    free(x), free(y);
    /* up to date now: skipped, and told so */
    int status = 0;
    m.output = out;
    o.on_progress = NULL;
    o.on_result = keep_status;
    o.ctx = &status;
    assert_int_equal(hp_batch_run(b, &o, &sum), HP_OK);
    assert_int_equal(sum.skipped, 1);
    assert_int_equal(status, HP_SKIPPED);
    /* an output path takes one profile */
    assert_int_equal(hp_batch_run(f->b, &o, &sum), HP_EINVAL);
    hp_batch_free(b);
    free(fb), free(out), free(ref);
}

/* Options structs carry a version; the library refuses one it does not
 * know, and the INIT macros equal the init functions. */
static void options_versions(void **state)
{
    fx *f = *state;
    hp_make_options m, mi = HP_MAKE_OPTIONS_INIT;
    assert_int_equal(hp_make_options_init(&m, HP_MAKE_OPTIONS_VERSION), HP_OK);
    assert_memory_equal(&m, &mi, sizeof m);
    assert_int_equal(m.format, HP_FORMAT_V2);
    assert_int_equal(m.level, HP_DEFAULT_LEVEL);
    assert_int_equal(hp_make_options_init(&m, HP_MAKE_OPTIONS_VERSION + 1), HP_EINVAL);
    hp_batch_options b, bi = HP_BATCH_OPTIONS_INIT;
    assert_int_equal(hp_batch_options_init(&b, HP_BATCH_OPTIONS_VERSION), HP_OK);
    assert_memory_equal(&b, &bi, sizeof b);
    assert_true(b.interval == 60 && b.precision == 0.01);
    assert_int_equal(hp_batch_options_init(&b, 0), HP_EINVAL);
    hp_read_options r, ri = HP_READ_OPTIONS_INIT;
    assert_int_equal(hp_read_options_init(&r, HP_READ_OPTIONS_VERSION), HP_OK);
    assert_memory_equal(&r, &ri, sizeof r);
    assert_int_equal(hp_read_options_init(&r, 7), HP_EINVAL);

    char *fb = tu_path(f->dir, "p0");
    m.version = 99;
    assert_int_equal(hp_hpc_make_ex(fb, 1, 0, &m), HP_EINVAL);
    assert_non_null(strstr(hp_last_error(), "version 99"));
    m.version = HP_MAKE_OPTIONS_VERSION;
    b.version = 0;
    assert_int_equal(hp_batch_run(f->b, &b, NULL), HP_EINVAL);
    r.version = 2;
    hp_hpd *hpd;
    assert_int_equal(hp_hpd_open(&hpd, fb, NULL, &r), HP_EINVAL);
    free(fb);

    assert_int_equal(hp_version_number(), HP_VERSION_NUMBER);
    char v[32];
    snprintf(v, sizeof v, "%u.%u.%u", hp_version_number() / 10000, hp_version_number() / 100 % 100,
             hp_version_number() % 100);
    assert_string_equal(v, hp_version());
}

/* Without --jobs the scheduler shares the threads: the big profile gets
 * several, the small ones one each, every digest equals a digest of its
 * own. */
typedef struct threads_seen {
    int big, small_max;
    size_t calls;
} threads_seen;

static void on_threads(void *ctx, const hp_batch_result *r, size_t done, size_t total)
{
    threads_seen *s = ctx;
    (void)done;
    (void)total;
    s->calls++;
    assert_int_equal(r->status, HP_OK);
    if (strstr(r->filebase, "big"))
        s->big = r->threads;
    else
        s->small_max = r->threads > s->small_max ? r->threads : s->small_max;
}

static void scheduled_batch(void **state)
{
    fx *f = *state;
    char *big = tu_path(f->dir, "big");
    tu_generate(big, 1500000, 200, 30, 3, NULL); /* about 10 MB: several chunks */
    hp_batch *b;
    assert_int_equal(hp_batch_new(&b), HP_OK);
    assert_int_equal(hp_batch_add(b, f->dir, 0), HP_OK);
    hp_make_options make = HP_MAKE_OPTIONS_INIT;
    make.threads = 4;
    hp_batch_options o = HP_BATCH_OPTIONS_INIT;
    o.interval = 1;
    o.make = &make;
    threads_seen s = {0};
    o.on_result = on_threads;
    o.ctx = &s;
    hp_batch_summary sum;
    assert_int_equal(hp_batch_run(b, &o, &sum), HP_OK);
    assert_int_equal(s.calls, 7);
    assert_true(s.big >= 2);
    assert_int_equal(s.small_max, 1);
    assert_int_equal(sum.threads_per_job, 0); /* shared as they ran */
    assert_true(sum.jobs >= 2 && sum.jobs <= 4);
    char *hpc = tu_path(f->dir, "big.hpc"), *single = tu_path(f->dir, "single.hpc");
    hp_make_options one = HP_MAKE_OPTIONS_INIT;
    one.threads = 1;
    one.output = single;
    assert_int_equal(hp_hpc_make_ex(big, 1, 0.01, &one), HP_OK);
    size_t x, y;
    uint8_t *p = tu_read_file(hpc, &x), *q = tu_read_file(single, &y);
    assert_int_equal(x, y);
    assert_memory_equal(p, q, x);
    free(p), free(q), free(hpc), free(single), free(big);
    hp_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(plan, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_of_one, setup, teardown),
        cmocka_unit_test_setup_teardown(options_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(shards, setup, teardown),
        cmocka_unit_test_setup_teardown(run_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(scheduled_batch, setup, teardown),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
