/* The HPM reader: fixtures and crafted files. */
#include "hpm_internal.h"
#include "testutil.h"

#include "scale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *fixture(const char *name) { return tu_path(tu_data_dir(), "%s", name); }

static void fixture_tiny(void **state)
{
    (void)state;
    char *fb = fixture("tiny");
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    uint64_t sec, nsec;
    hp_hpm_initial_timespec(hpm, &sec, &nsec);
    assert_true(sec == 1795576259ull && nsec == 103482858ull);
    assert_true(fabs(hp_hpm_initial_time(hpm) - 1795576259.103482858) < 1e-6);
    size_t n;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &n);
    assert_int_equal(n, 1);
    assert_true(r[0].max_bytes == 128 && r[0].raw_probability == 0);
    assert_true(hp_hpm_scale_factor(hpm, 100) == 0.0);
    assert_true(hp_hpm_scale_factor(hpm, -100) == 0.0);
    assert_true(hp_hpm_scale_factor(hpm, 128) == 1.0);
    uint32_t nt;
    assert_int_equal(hp_hpm_num_traces(hpm, &nt), HP_OK);
    assert_int_equal(nt, 179);
    const hp_frame *f;
    size_t depth;
    assert_int_equal(hp_hpm_raw_trace(hpm, 0, &f, &depth), HP_NO_TRACE);
    assert_int_equal(hp_hpm_raw_trace(hpm, 180, &f, &depth), HP_NO_TRACE);
    assert_int_equal(hp_hpm_raw_trace(hpm, 5, &f, &depth), HP_OK);
    assert_int_equal(depth, 3);
    /* outermost first: heapprof's __main__, then timeit, then the innermost */
    assert_non_null(strstr(hp_hpm_file_name(hpm, f[0].file_id), "heapprof/__main__.py"));
    assert_int_equal(f[0].lineno, 49);
    assert_non_null(strstr(hp_hpm_file_name(hpm, f[1].file_id), "timeit.py"));
    assert_int_equal(f[1].lineno, 52);
    assert_non_null(strstr(hp_hpm_file_name(hpm, f[2].file_id), "_distutils_hack/__init__.py"));
    assert_int_equal(hp_hpm_warm_raw_trace_cache(hpm), HP_OK);
    size_t maxdepth = 0;
    for (uint32_t i = 1; i <= nt; i++) {
        assert_int_equal(hp_hpm_raw_trace(hpm, i, &f, &depth), HP_OK);
        maxdepth = depth > maxdepth ? depth : maxdepth;
    }
    assert_int_equal(maxdepth, 22);
    hp_hpm_close(hpm);
    free(fb);
}

static void fixture_small_a(void **state)
{
    (void)state;
    char *fb = fixture("small-a");
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    size_t n;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &n);
    assert_int_equal(n, 2);
    assert_true(r[0].max_bytes == 128 && r[0].raw_probability == 429496);
    assert_true(r[1].max_bytes == 8192 && r[1].raw_probability == 429496729);
    assert_true(hp_hpm_is_sampled(hpm));
    assert_true(hp_hpm_scaled_size(hpm, 100) == llrint(100.0 * (1.0 / (429496 / 4294967295.0))));
    assert_true(hp_hpm_scaled_size(hpm, -8191) == -llrint(8191.0 * (1.0 / (429496729 / 4294967295.0))));
    assert_true(hp_hpm_scaled_size(hpm, 8192) == 8192);
    hp_hpm_override_sampling(hpm);
    assert_true(hp_hpm_scaled_size(hpm, 100) == 100);
    uint32_t nt;
    assert_int_equal(hp_hpm_num_traces(hpm, &nt), HP_OK);
    assert_int_equal(nt, 1720);
    hp_hpm_close(hpm);
    assert_int_equal(hp_count_traces(fb, &nt), HP_OK);
    assert_int_equal(nt, 1720);
    free(fb);
}

static void write_hpm(const char *dir, const tu_buf *b)
{
    char *p = tu_path(dir, "x.hpm");
    tu_write_file(p, b->p, b->len);
    free(p);
}

static void bad_version(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x");
    tu_buf b = {0};
    tu_be32(&b, 2);
    tu_be64(&b, 0);
    tu_be64(&b, 0);
    tu_varint(&b, 0);
    write_hpm(dir, &b);
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_EVERSION);
    assert_non_null(strstr(hp_last_error(), "x.hpm"));
    assert_non_null(strstr(hp_last_error(), "offset 0"));
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
}

static void duplicate_ranges(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x");
    uint64_t mb[2] = {128, 128};
    uint32_t rp[2] = {1, 2};
    tu_buf b = {0};
    tu_hpm(&b, 1, 2, 2, mb, rp, 3, 2);
    write_hpm(dir, &b);
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_EFORMAT);
    assert_non_null(strstr(hp_last_error(), "duplicate"));
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
}

static void ranges_any_order(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x");
    uint64_t mb[2] = {8192, 128};
    uint32_t rp[2] = {UINT32_MAX / 2, 0};
    tu_buf b = {0};
    tu_hpm(&b, 1, 2, 2, mb, rp, 3, 2);
    write_hpm(dir, &b);
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    assert_true(hp_hpm_scale_factor(hpm, 127) == 0.0);
    assert_true(fabs(hp_hpm_scale_factor(hpm, 128) - 2.0) < 1e-9);
    assert_true(hp_hpm_scale_factor(hpm, 8192) == 1.0);
    hp_hpm_close(hpm);
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
}

static void truncated_last_trace(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x");
    tu_buf b = {0};
    tu_hpm(&b, 1, 2, 0, NULL, NULL, 5, 3);
    size_t full = b.len;
    /* cut inside the last trace at every byte: always 4 complete traces */
    size_t last_start = full;
    {
        tu_buf one = {0};
        tu_hpm(&one, 1, 2, 0, NULL, NULL, 4, 3);
        last_start = one.len;
        tu_free(&one);
    }
    for (size_t cut = last_start; cut < full; cut++) {
        tu_buf c = {0};
        tu_put(&c, b.p, cut);
        write_hpm(dir, &c);
        hp_hpm *hpm;
        assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
        uint32_t nt;
        assert_int_equal(hp_hpm_num_traces(hpm, &nt), HP_OK);
        assert_int_equal(nt, 4);
        const hp_frame *f;
        size_t depth;
        assert_int_equal(hp_hpm_raw_trace(hpm, 5, &f, &depth), HP_NO_TRACE);
        assert_int_equal(hp_hpm_raw_trace(hpm, 4, &f, &depth), HP_OK);
        assert_int_equal(depth, 3);
        /* stored innermost first (file4_0), returned outermost first */
        assert_string_equal(hp_hpm_file_name(hpm, f[0].file_id), "file4_2.py");
        assert_int_equal(f[0].lineno, 42);
        assert_string_equal(hp_hpm_file_name(hpm, f[2].file_id), "file4_0.py");
        hp_hpm_close(hpm);
        tu_free(&c);
    }
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
}

static void truncated_header(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x");
    uint64_t mb[1] = {128};
    uint32_t rp[1] = {7};
    tu_buf b = {0};
    tu_hpm(&b, 1, 2, 1, mb, rp, 0, 0);
    for (size_t cut = 0; cut < b.len; cut++) {
        tu_buf c = {0};
        tu_put(&c, b.p, cut);
        write_hpm(dir, &c);
        hp_hpm *hpm;
        assert_int_equal(hp_hpm_open(&hpm, fb), HP_EFORMAT);
        assert_non_null(strstr(hp_last_error(), "offset"));
        tu_free(&c);
    }
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
}

static void empty_trace_list(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x");
    tu_buf b = {0};
    tu_hpm(&b, 1, 2, 0, NULL, NULL, 0, 0);
    write_hpm(dir, &b);
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    uint32_t nt = 99;
    assert_int_equal(hp_hpm_num_traces(hpm, &nt), HP_OK);
    assert_int_equal(nt, 0);
    const hp_frame *f;
    size_t depth;
    assert_int_equal(hp_hpm_raw_trace(hpm, 1, &f, &depth), HP_NO_TRACE);
    hp_hpm_close(hpm);
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
}

static void interned_names_and_source(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x"), *src = tu_path(dir, "mod.py");
    char *crlf = tu_path(dir, "crlf.py"), *empty = tu_path(dir, "empty.py");
    tu_write_file(src, "import os\n    x = [1] * 10   \ny = 2", 35); /* no last newline */
    tu_write_file(crlf, "a\r\n\r\nb\r\n", 9);                         /* a last newline */
    tu_write_file(empty, "", 0);
    tu_buf b = {0};
    tu_hpm(&b, 1, 2, 0, NULL, NULL, 0, 0);
    for (int t = 0; t < 3; t++) { /* three traces, all frames in mod.py */
        tu_varint(&b, 2 + 1);
        tu_varint(&b, strlen(src));
        tu_put(&b, src, strlen(src));
        tu_varint(&b, 1 + 1);
        tu_varint(&b, strlen(src));
        tu_put(&b, src, strlen(src));
        tu_varint(&b, 0);
    }
    const char *more[] = {crlf, empty}; /* a fourth: a frame in each of the others */
    for (int i = 0; i < 2; i++) {
        tu_varint(&b, 1 + 1);
        tu_varint(&b, strlen(more[i]));
        tu_put(&b, more[i], strlen(more[i]));
    }
    tu_varint(&b, 0);
    write_hpm(dir, &b);
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    const hp_frame *f1, *f3;
    size_t d1, d3;
    assert_int_equal(hp_hpm_raw_trace(hpm, 1, &f1, &d1), HP_OK);
    assert_int_equal(hp_hpm_raw_trace(hpm, 3, &f3, &d3), HP_OK);
    assert_int_equal(f1[0].file_id, f3[1].file_id); /* one interned name */
    const hp_source_frame *sf;
    size_t depth;
    assert_int_equal(hp_hpm_trace(hpm, 2, &sf, &depth), HP_OK);
    assert_int_equal(depth, 2);
    assert_int_equal(sf[0].lineno, 1);
    assert_string_equal(sf[0].line, "import os");
    assert_string_equal(sf[1].line, "x = [1] * 10"); /* stripped */
    const hp_source_frame *again;
    assert_int_equal(hp_hpm_trace(hpm, 2, &again, &depth), HP_OK);
    assert_ptr_equal(again, sf); /* cached */
    const hp_frame *raw;
    assert_int_equal(hp_hpm_raw_trace(hpm, 2, &raw, &depth), HP_OK);
    const char *line = NULL;
    assert_int_equal(hp_hpm_source_line(hpm, raw[1].file_id, 2, &line), HP_OK);
    assert_string_equal(line, "x = [1] * 10");
    assert_int_equal(hp_hpm_source_line(hpm, raw[1].file_id, 3, &line), HP_OK);
    assert_string_equal(line, "y = 2");
    assert_int_equal(hp_hpm_source_line(hpm, raw[1].file_id, 4, &line), HP_OK);
    assert_string_equal(line, "");
    assert_int_equal(hp_hpm_source_line(hpm, raw[1].file_id, 99, &line), HP_OK);
    assert_string_equal(line, "");
    assert_int_equal(hp_hpm_source_line(hpm, 12345, 1, &line), HP_OK);
    assert_string_equal(line, "");
    assert_int_equal(hp_hpm_raw_trace(hpm, 4, &raw, &depth), HP_OK);
    assert_int_equal(depth, 2);
    /* outermost first: empty.py, then crlf.py */
    const char *want_crlf[] = {"a", "", "b", ""}; /* lines 1-4: stripped of their \r */
    for (uint32_t k = 0; k < 4; k++) {
        assert_int_equal(hp_hpm_source_line(hpm, raw[1].file_id, k + 1, &line), HP_OK);
        assert_string_equal(line, want_crlf[k]);
    }
    assert_int_equal(hp_hpm_source_line(hpm, raw[0].file_id, 1, &line), HP_OK);
    assert_string_equal(line, ""); /* an empty file */
    hp_hpm_close(hpm);
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
    free(src);
    free(crlf);
    free(empty);
}

static void missing_file(void **state)
{
    (void)state;
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, "/nonexistent/profile"), HP_EIO);
    assert_non_null(strstr(hp_last_error(), "/nonexistent/profile.hpm"));
}

/* A trace may name anything as its source: a FIFO (whose open would block),
 * /dev/zero (endless), a directory. None is read; their lines are "". */
static void source_not_a_regular_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *fb = tu_path(dir, "x"), *fifo = tu_path(dir, "pipe.py");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *names[] = {fifo, "/dev/zero", dir};
    tu_buf b = {0};
    tu_hpm(&b, 1, 2, 0, NULL, NULL, 0, 0);
    for (int i = 0; i < 3; i++) {
        tu_varint(&b, 5 + 1);
        tu_varint(&b, strlen(names[i]));
        tu_put(&b, names[i], strlen(names[i]));
    }
    tu_varint(&b, 0);
    write_hpm(dir, &b);
    hp_hpm *hpm;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    const hp_source_frame *sf;
    size_t depth;
    assert_int_equal(hp_hpm_trace(hpm, 1, &sf, &depth), HP_OK);
    assert_int_equal(depth, 3);
    for (size_t i = 0; i < depth; i++)
        assert_string_equal(sf[i].line, "");
    hp_hpm_close(hpm);
    tu_free(&b);
    tu_rmdir(dir);
    free(dir);
    free(fb);
    free(fifo);
}

/* hp_hpm_visit_traces: one pass keeping only the traces asked for, the same
 * frames as the trace cache, and where the file ends. */
typedef struct visit_log {
    hp_hpm *hpm, *ref;
    uint32_t seen[8];
    size_t n;
} visit_log;

static int on_visit(void *ctx, uint32_t index, const hp_frame *frames, size_t depth)
{
    visit_log *v = ctx;
    const hp_frame *want;
    size_t wdepth;
    assert_int_equal(hp_hpm_raw_trace(v->ref, index, &want, &wdepth), HP_OK);
    assert_int_equal(depth, wdepth);
    for (size_t i = 0; i < depth; i++) { /* ids differ between handles: compare names */
        assert_string_equal(hp_hpm_file_name(v->hpm, frames[i].file_id),
                            hp_hpm_file_name(v->ref, want[i].file_id));
        assert_int_equal(frames[i].lineno, want[i].lineno);
    }
    v->seen[v->n++] = index;
    return HP_OK;
}

static void visit_selected_traces(void **state)
{
    (void)state;
    char *fb = fixture("small-a");
    hp_hpm *hpm, *ref;
    assert_int_equal(hp_hpm_open(&hpm, fb), HP_OK);
    assert_int_equal(hp_hpm_open(&ref, fb), HP_OK);
    uint32_t n, last;
    assert_int_equal(hp_hpm_num_traces(ref, &n), HP_OK);
    const uint32_t wanted[] = {0, 1, 1705, 1705, n, n + 1, n + 50};
    for (int pass = 0; pass < 2; pass++) { /* a scan, then the warm cache */
        visit_log v = {.hpm = hpm, .ref = ref};
        assert_int_equal(hp_hpm_visit_traces(hpm, wanted, 7, on_visit, &v, &last), HP_OK);
        assert_int_equal(v.n, 3);
        assert_int_equal(v.seen[0], 1);
        assert_int_equal(v.seen[1], 1705);
        assert_int_equal(v.seen[2], n);
        assert_int_equal(last, n); /* n + 1 is past the end: the file has n */
        assert_int_equal(hp_hpm_warm_raw_trace_cache(hpm), HP_OK);
    }
    hp_hpm_close(hpm);
    hp_hpm_close(ref);
    free(fb);
}

/* The digest's branch-free scaling equals the plain one for every size
 * class: table sizes, each range, beyond every range, p = 0, saturation,
 * sizes past 2^53 and more ranges than it handles. */
static void scale_fast_equals_plain(void **state)
{
    (void)state;
    const struct {
        size_t n;
        uint64_t max[6];
        double factor[6];
    } cases[] = {
        {2, {128, 8192}, {10000.0166, 10.0000000023}},
        {0, {0}, {0}},
        {1, {64}, {0.0}},
        {3, {100, 1000, 100000}, {4294967295.0, 3.0, 1.5}},
        {6, {8, 16, 32, 64, 128, 256}, {2, 3, 4, 5, 6, 7}},
    };
    srand(5);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        hp_scale s = {0};
        s.n = cases[c].n;
        for (size_t i = 0; i < s.n; i++) {
            s.max_bytes[i] = cases[c].max[i];
            s.factor[i] = cases[c].factor[i];
        }
        hp_scale_build_table(&s);
        for (int k = 0; k < 200000; k++) {
            int bits = rand() % 65;
            uint64_t size = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
            size = bits == 64 ? size : size & ((1ull << bits) - 1);
            if (k < 300)
                size = (uint64_t)k; /* every small size, and the bounds near them */
            assert_true(hp_scale_fast(&s, size) == hp_scale_compute(&s, size));
            assert_true(hp_scale_apply(&s, size) == hp_scale_compute(&s, size));
        }
        for (size_t i = 0; i < s.n; i++)
            for (uint64_t d = 0; d < 3; d++)
                assert_true(hp_scale_fast(&s, s.max_bytes[i] + d - 1) ==
                            hp_scale_compute(&s, s.max_bytes[i] + d - 1));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scale_fast_equals_plain),
        cmocka_unit_test(fixture_tiny),         cmocka_unit_test(fixture_small_a),
        cmocka_unit_test(bad_version),          cmocka_unit_test(duplicate_ranges),
        cmocka_unit_test(ranges_any_order),     cmocka_unit_test(truncated_last_trace),
        cmocka_unit_test(truncated_header),     cmocka_unit_test(empty_trace_list),
        cmocka_unit_test(interned_names_and_source), cmocka_unit_test(missing_file),
        cmocka_unit_test(source_not_a_regular_file), cmocka_unit_test(visit_selected_traces),
    };
    return cmocka_run_group_tests_name("hpm", tests, NULL, NULL);
}
