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

/* v2 records the parameters; v1 cannot; up-to-date follows them. */
static void recorded_params(void **state)
{
    fx *f = *state;
    char *fb = tu_path(f->dir, "p3"), *v1 = tu_path(f->dir, "v1.hpc");
    assert_int_equal(hp_hpc_make(fb, 0.25, 0.03, 0), HP_OK);
    hp_hpc *h;
    assert_int_equal(hp_hpc_open(&h, fb), HP_OK);
    uint64_t ms = 0;
    double p = 0;
    assert_int_equal(hp_hpc_recorded_params(h, &ms, &p), 0);
    assert_int_equal(ms, 250);
    assert_true(p == 0.03);
    hp_hpc_close(h);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.25, 0.03, HP_FORMAT_V2), 1);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.5, 0.03, HP_FORMAT_V2), 0);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.25, 0.01, HP_FORMAT_V2), 0);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.25, 0.03, HP_FORMAT_V1), 0);

    hp_make_options o;
    hp_make_options_init(&o);
    o.format = HP_FORMAT_V1;
    o.output = v1;
    assert_int_equal(hp_hpc_make_ex(fb, 0.25, 0.03, &o), HP_OK);
    assert_int_equal(hp_hpc_open_path(&h, v1), HP_OK);
    assert_int_equal(hp_hpc_recorded_params(h, &ms, &p), 1);
    hp_hpc_close(h);
    free(fb);
    free(v1);
}

/* limit_bytes digests exactly the events that start before the limit. */
static void slice(void **state)
{
    fx *f = *state;
    char *fb = tu_path(f->dir, "p5"), *out = tu_path(f->dir, "slice.hpc");
    hp_make_options o;
    hp_make_report r;
    hp_make_options_init(&o);
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
    while (hp_hpd_next(it, &e) == 1)
        before += e.offset < 5000;
    hp_hpd_close(it);
    assert_int_equal(r.events, before);
    assert_true(r.events > 0);
    size_t npts;
    int best;
    hp_tune_point pts[4];
    assert_int_equal(hp_tune(fb, 1, 0.01, 3, 0, pts, 4, &npts, &best), HP_OK);
    assert_int_equal(npts, 3); /* 1, 2, then the limit itself: 3 */
    assert_int_equal(pts[0].threads, 1);
    assert_int_equal(pts[2].threads, 3);
    assert_true(best >= 1 && best <= 3);
    free(fb);
    free(out);
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
    if (r->status == 0)
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
    hp_batch_options o = {0};
    o.interval = 0.2;
    o.precision = 0.01;
    hp_make_options_init(&o.make);
    o.make.threads = 4;
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
        hp_make_options_init(&m);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(plan, setup, teardown),
        cmocka_unit_test_setup_teardown(shards, setup, teardown),
        cmocka_unit_test_setup_teardown(recorded_params, setup, teardown),
        cmocka_unit_test_setup_teardown(slice, setup, teardown),
        cmocka_unit_test_setup_teardown(run_batch, setup, teardown),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
