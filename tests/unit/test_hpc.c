/* The HPC reader: heapprof's own digests (v1), our v2, damaged files. */
#include "testutil.h"

#include "hpc_format.h"
#include "hpcwrite.h"
#include "seekable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void totals(hp_hpc *hpc, uint64_t *first, uint64_t *last)
{
    assert_int_equal(hp_hpc_total_usage(hpc, 0, first), HP_OK);
    assert_int_equal(hp_hpc_total_usage(hpc, hp_hpc_length(hpc) - 1, last), HP_OK);
}

/* The figures of the fixtures' README, read from heapprof's own files. */
static void heapprof_fixtures(void **state)
{
    (void)state;
    const struct {
        const char *file;
        size_t n;
        uint64_t first, last;
        double interval;
    } want[] = {
        {"tiny.heapprof.i100.p0.hpc", 33, 48025, 48025, 0.1},
        {"tiny.heapprof.i1000.p0.hpc", 3, 48025, 48025, 1},
        {"tiny.heapprof.i100.p0_01.hpc", 33, 892924718, 892924718, 0.1},
        {"small-a.heapprof.i100.p0.hpc", 22, 600524699, 2122715379, 0.1},
        {"small-a.heapprof.i1000.p0.hpc", 2, 2442243120, 2329569810, 1},
        {"small-a.heapprof.i100.p0_01.hpc", 22, 599994699, 2122153139, 0.1},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *p = tu_path(tu_data_dir(), "%s", want[i].file);
        hp_hpc *hpc;
        assert_int_equal(hp_hpc_open_path(&hpc, p), HP_OK);
        assert_int_equal(hp_hpc_format(hpc), 1);
        assert_int_equal(hp_hpc_length(hpc), want[i].n);
        assert_true(hp_hpc_time_interval(hpc) == want[i].interval);
        uint64_t first, last;
        totals(hpc, &first, &last);
        assert_int_equal(first, want[i].first);
        assert_int_equal(last, want[i].last);
        hp_snapshot s;
        assert_int_equal(hp_hpc_snapshot(hpc, 1, &s), HP_OK);
        assert_true(s.relative_time == want[i].interval);
        assert_int_equal(hp_hpc_snapshot(hpc, want[i].n, &s), HP_ERANGE);
        hp_hpc_close(hpc);
        free(p);
    }
}

/* heapprof's 32-bit counter wraps trace 1705 of small-a from 100 ms on. */
static void heapprof_wrapped_counter(void **state)
{
    (void)state;
    char *p = tu_path(tu_data_dir(), "small-a.heapprof.i100.p0.hpc");
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, p), HP_OK);
    hp_snapshot s;
    assert_int_equal(hp_hpc_snapshot(hpc, 2, &s), HP_OK);
    int found = 0;
    for (size_t i = 0; i < s.count; i++)
        if (s.entries[i].traceindex == 1705) {
            assert_int_equal(s.entries[i].bytes, 488166967);
            found = 1;
        }
    assert_true(found);
    hp_hpc_close(hpc);
    free(p);
}

static void make_digest(const char *dir, hp_format format, const char *name)
{
    char *fb = tu_path(tu_data_dir(), "small-a"), *out = tu_path(dir, "%s", name);
    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.format = format;
    o.output = out;
    o.frame_bytes = 2000; /* several frames even for a small digest */
    assert_int_equal(hp_hpc_make_ex(fb, 0.01, 0.0, &o), HP_OK);
    free(fb);
    free(out);
}

static void v2_random_access_equals_v1(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *p1 = tu_path(dir, "a.hpc"), *p2 = tu_path(dir, "b.hpc");
    make_digest(dir, HP_FORMAT_V1, "a.hpc");
    make_digest(dir, HP_FORMAT_V2, "b.hpc");
    hp_hpc *a, *b;
    assert_int_equal(hp_hpc_open_path(&a, p1), HP_OK);
    assert_int_equal(hp_hpc_open_path(&b, p2), HP_OK);
    assert_int_equal(hp_hpc_format(b), 2);
    assert_int_equal(hp_hpc_length(a), hp_hpc_length(b));
    assert_int_equal(hp_hpc_length(a), 223); /* ceil(2.216482 / 0.01) + 1 */
    uint64_t s1, n1, s2, n2;
    hp_hpc_initial_timespec(a, &s1, &n1);
    hp_hpc_initial_timespec(b, &s2, &n2);
    assert_true(s1 == 1795576262ull && n1 == 899456393ull && s2 == s1 && n2 == n1);
    size_t n = hp_hpc_length(a);
    for (size_t i = 0; i < n; i++) {
        size_t k = (i * 97) % n; /* out of order */
        hp_snapshot x, y;
        assert_int_equal(hp_hpc_snapshot(a, k, &x), HP_OK);
        hp_entry *copy = malloc((x.count + 1) * sizeof *copy);
        if (x.count)
            memcpy(copy, x.entries, x.count * sizeof *copy);
        assert_int_equal(hp_hpc_snapshot(b, k, &y), HP_OK);
        assert_int_equal(x.count, y.count);
        for (size_t e = 0; e < x.count; e++) {
            assert_int_equal(copy[e].traceindex, y.entries[e].traceindex);
            assert_int_equal(copy[e].bytes, y.entries[e].bytes);
        }
        free(copy);
    }
    uint64_t last;
    assert_int_equal(hp_hpc_total_usage(b, n - 1, &last), HP_OK);
    assert_int_equal(last, 1691386679);
    hp_hpc_close(a);
    hp_hpc_close(b);
    tu_rmdir(dir);
    free(dir);
    free(p1);
    free(p2);
}

/* Every truncation of a v1 and a v2 file fails cleanly at open or read. */
static void truncated_files(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    make_digest(dir, HP_FORMAT_V1, "a.hpc");
    make_digest(dir, HP_FORMAT_V2, "b.hpc");
    const char *names[] = {"a.hpc", "b.hpc"};
    for (int f = 0; f < 2; f++) {
        char *p = tu_path(dir, "%s", names[f]), *t = tu_path(dir, "t.hpc");
        size_t len;
        uint8_t *data = tu_read_file(p, &len);
        size_t step = len / 600 + 1;
        for (size_t cut = 0; cut < len; cut += step) {
            tu_write_file(t, data, cut);
            hp_hpc *hpc;
            int rc = hp_hpc_open_path(&hpc, t);
            if (rc == HP_OK) { /* a v1 cut inside the last snapshots' bytes */
                int bad = 0;
                for (size_t k = 0; k < hp_hpc_length(hpc); k++) {
                    hp_snapshot s;
                    bad |= hp_hpc_snapshot(hpc, k, &s) < 0;
                }
                hp_hpc_close(hpc);
                assert_true(bad);
            } else {
                assert_true(rc == HP_EFORMAT || rc == HP_ELIMIT);
                assert_non_null(strstr(hp_last_error(), "t.hpc"));
            }
        }
        free(data);
        free(p);
        free(t);
    }
    tu_rmdir(dir);
    free(dir);
}

static void bad_version_and_corrupt_frame(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *p = tu_path(dir, "b.hpc"), *t = tu_path(dir, "t.hpc");
    tu_buf v = {0};
    tu_be32(&v, 7);
    tu_be64(&v, 0);
    tu_be64(&v, 0);
    tu_varint(&v, 100);
    tu_be64(&v, 0);
    tu_write_file(t, v.p, v.len);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, t), HP_EVERSION);
    assert_non_null(strstr(hp_last_error(), "t.hpc: offset 0: unsupported .hpc version 7"));

    make_digest(dir, HP_FORMAT_V2, "b.hpc");
    size_t len;
    uint8_t *data = tu_read_file(p, &len);
    data[len / 2] ^= 0x55; /* inside a data frame: its checksum fails */
    tu_write_file(t, data, len);
    assert_int_equal(hp_hpc_open_path(&hpc, t), HP_OK);
    int bad = 0;
    for (size_t k = 0; k < hp_hpc_length(hpc); k++) {
        hp_snapshot s;
        int rc = hp_hpc_snapshot(hpc, k, &s);
        if (rc < 0) {
            assert_int_equal(rc, HP_EFORMAT);
            assert_non_null(strstr(hp_last_error(), "zstd frame"));
            bad = 1;
        }
    }
    assert_true(bad);
    hp_hpc_close(hpc);
    free(data);
    tu_free(&v);
    tu_rmdir(dir);
    free(dir);
    free(p);
    free(t);
}

/* Two valid frames of the same sizes stored in each other's place: zstd's
 * checksums pass, the seek table's catch it. */
static void swapped_frames(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *path = tu_path(dir, "s.hpc");
    hp_writer_params wp = {.path = path, .format = HP_FORMAT_V2, .level = 3, .frame_bytes = 8,
                           .threads = 1, .interval_ms = 1000};
    hp_hpc_writer *w;
    assert_int_equal(hp_hpc_writer_open(&w, &wp), HP_OK);
    for (uint32_t trace = 1; trace <= 2; trace++) { /* two records of one entry: one frame each */
        hp_ranked e = {1000, trace};
        uint8_t rec[64];
        assert_int_equal(hp_hpc_writer_add(w, rec, hp_snapshot_record_encode(rec, &e, 1, 0), 1), HP_OK);
    }
    assert_int_equal(hp_hpc_writer_finish(w, NULL), HP_OK);
    size_t len;
    uint8_t *bytes = tu_read_file(path, &len);
    hp_frame_map m;
    const char *why;
    size_t where;
    assert_int_equal(hp_seek_table_decode(bytes, len, &m, &why, &where), HP_OK);
    /* frames 1 and 2 hold the records, equal in size compressed and not */
    size_t a = (size_t)m.c_off[1], b = (size_t)m.c_off[2], n = (size_t)(m.c_off[2] - m.c_off[1]);
    assert_true(m.c_off[3] - m.c_off[2] == n && m.d_off[2] - m.d_off[1] == m.d_off[3] - m.d_off[2]);
    uint8_t *tmp = malloc(n);
    memcpy(tmp, bytes + a, n);
    memcpy(bytes + a, bytes + b, n);
    memcpy(bytes + b, tmp, n);
    tu_write_file(path, bytes, len);
    size_t dlen;
    free(tu_zstd_decompress(bytes, len, &dlen)); /* zstd itself sees nothing wrong */
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, path), HP_OK);
    hp_snapshot s;
    assert_int_equal(hp_hpc_snapshot(hpc, 0, &s), HP_EFORMAT);
    assert_non_null(strstr(hp_last_error(), "checksum"));
    assert_non_null(strstr(hp_last_error(), "s.hpc: offset "));
    hp_hpc_close(hpc);
    free(m.c_off), free(m.d_off), free(m.checksum), free(tmp), free(bytes);
    tu_rmdir(dir);
    free(dir), free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heapprof_fixtures),
        cmocka_unit_test(heapprof_wrapped_counter),
        cmocka_unit_test(v2_random_access_equals_v1),
        cmocka_unit_test(truncated_files),
        cmocka_unit_test(bad_version_and_corrupt_frame),
        cmocka_unit_test(swapped_frames),
    };
    return cmocka_run_group_tests_name("hpc", tests, NULL, NULL);
}
