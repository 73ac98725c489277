/* hpcwrite.c: the writer on its own: records in, v1 or v2 out. */
#include "testutil.h"

#include "hpc_format.h"
#include "hpcwrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A record of `n` entries (trace i + 1 with 1000 - i bytes). */
static size_t record(uint8_t *p, size_t n)
{
    hp_ranked kept[64];
    for (size_t i = 0; i < n; i++)
        kept[i] = (hp_ranked){(int64_t)(1000 - i), (uint32_t)i + 1};
    return hp_snapshot_record_encode(p, kept, n, 0);
}

/* Writes records of 1..12 entries, the fourth repeated 3 times, with
 * small frames; returns the report. */
static hp_make_report write_file(const char *path, hp_format format, int threads)
{
    hp_writer_params wp = {.path = path, .format = format, .level = 3, .frame_bytes = 40,
                           .threads = threads, .sec = 10, .nsec = 20, .interval_ms = 250,
                           .record = {.interval_ms = 250, .precision = 0.5, .salvage = 1,
                                      .has_inputs = 1, .hpd_size = 77}};
    hp_hpc_writer *w;
    assert_int_equal(hp_hpc_writer_open(&w, &wp), HP_OK);
    uint8_t rec[1024];
    for (size_t n = 1; n <= 12; n++)
        assert_int_equal(hp_hpc_writer_add(w, rec, record(rec, n), n == 4 ? 3 : 1), HP_OK);
    hp_make_report rep = {0};
    assert_int_equal(hp_hpc_writer_finish(w, &rep), HP_OK);
    return rep;
}

/* The v1 file reads back: header, index, every record (repeats too). */
static void v1_file(void **state)
{
    tu_scratch *s = *state;
    hp_make_report rep = write_file(s->out, HP_FORMAT_V1, 1);
    assert_int_equal(rep.snapshots, 14);
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, s->out), HP_OK);
    assert_int_equal(hp_hpc_format(hpc), 1);
    assert_int_equal(hp_hpc_length(hpc), 14);
    assert_true(hp_hpc_time_interval(hpc) == 0.25);
    uint64_t sec, nsec;
    hp_hpc_initial_timespec(hpc, &sec, &nsec);
    assert_true(sec == 10 && nsec == 20);
    const size_t want[] = {1, 2, 3, 4, 4, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    for (size_t k = 0; k < 14; k++) {
        hp_snapshot snap;
        assert_int_equal(hp_hpc_snapshot(hpc, k, &snap), HP_OK);
        assert_int_equal(snap.count, want[k]);
        assert_true(snap.entries[want[k] - 1].bytes == 1000 - (want[k] - 1));
    }
    hp_digest_params p;
    assert_int_equal(hp_hpc_recorded_params(hpc, &p), HP_NOT_RECORDED);
    hp_hpc_close(hpc);
    size_t len;
    uint8_t *bytes = tu_read_file(s->out, &len);
    assert_int_equal(len, rep.output_bytes);
    assert_int_equal(len, rep.v1_bytes);
    free(bytes);
}

/* v2 decompresses to the v1 file exactly, for any thread count; frames end
 * at record boundaries (every snapshot reads back); the parameters are
 * recorded. */
static void v2_file(void **state)
{
    tu_scratch *s = *state;
    char *v1 = tu_path(s->dir, "v1.hpc");
    write_file(v1, HP_FORMAT_V1, 1);
    size_t v1_len;
    uint8_t *v1_bytes = tu_read_file(v1, &v1_len);
    uint8_t *first = NULL;
    size_t first_len = 0;
    for (int threads = 1; threads <= 3; threads++) {
        hp_make_report rep = write_file(s->out, HP_FORMAT_V2, threads);
        assert_int_equal(rep.v1_bytes, v1_len);
        size_t len, dlen;
        uint8_t *bytes = tu_read_file(s->out, &len);
        uint8_t *plain = tu_zstd_decompress(bytes, len, &dlen);
        assert_int_equal(dlen, v1_len);
        assert_memory_equal(plain, v1_bytes, dlen);
        if (!first) {
            first = bytes;
            first_len = len;
        } else {
            assert_int_equal(len, first_len);
            assert_memory_equal(bytes, first, len);
            free(bytes);
        }
        free(plain);
    }
    hp_hpc *hpc;
    assert_int_equal(hp_hpc_open_path(&hpc, s->out), HP_OK);
    assert_int_equal(hp_hpc_format(hpc), 2);
    for (size_t k = 0; k < hp_hpc_length(hpc); k++) {
        hp_snapshot snap;
        assert_int_equal(hp_hpc_snapshot(hpc, k, &snap), HP_OK);
    }
    hp_digest_params p;
    assert_int_equal(hp_hpc_recorded_params(hpc, &p), HP_OK);
    assert_true(p.interval_ms == 250 && p.precision == 0.5 && p.salvage && p.hpd_size == 77);
    hp_hpc_close(hpc);
    free(first);
    free(v1_bytes);
    free(v1);
}

/* An aborted writer leaves nothing, and an existing file is untouched. */
static void abort_leaves_nothing(void **state)
{
    tu_scratch *s = *state;
    tu_write_file(s->out, "old", 3);
    hp_writer_params wp = {.path = s->out, .format = HP_FORMAT_V2, .level = 3,
                           .frame_bytes = 1 << 20, .threads = 2, .interval_ms = 1};
    hp_hpc_writer *w;
    assert_int_equal(hp_hpc_writer_open(&w, &wp), HP_OK);
    uint8_t rec[256];
    assert_int_equal(hp_hpc_writer_add(w, rec, record(rec, 5), 1000), HP_OK);
    hp_hpc_writer_abort(w);
    size_t len;
    uint8_t *bytes = tu_read_file(s->out, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(bytes, "old", 3);
    free(bytes);
    assert_int_equal(tu_count_entries(s->dir), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(v1_file, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(v2_file, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(abort_leaves_nothing, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("hpcwrite", tests, NULL, NULL);
}
