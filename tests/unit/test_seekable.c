/* seekable.c: the v2 container's parameter record, header slot and seek
 * table. */
#include "testutil.h"

#include "seekable.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static void params_roundtrip(void **state)
{
    (void)state;
    hp_params in = {.interval_ms = 60000, .precision = 0.01}, out;
    uint8_t p[HP_PARAMS_SIZE];
    hp_params_encode(p, &in);
    assert_int_equal(hp_params_decode(p, sizeof p, &out), 0);
    assert_true(out.interval_ms == in.interval_ms && out.precision == in.precision);
    assert_int_equal(hp_params_decode(p, sizeof p - 1, &out), 1); /* too short */
    p[8] = 2;
    assert_int_equal(hp_params_decode(p, sizeof p, &out), 1); /* another version */
    p[8] = 1;
    p[0] = 'x';
    assert_int_equal(hp_params_decode(p, sizeof p, &out), 1); /* another tag */
}

/* The slot holds the header frame and a skippable frame with the record;
 * zstd reads the slot as the header alone. */
static void header_slot(void **state)
{
    (void)state;
    const uint8_t header[29] = {0, 0, 0, 1, 7};
    size_t slot_size = hp_header_slot_size(sizeof header);
    uint8_t *frame = malloc(ZSTD_compressBound(sizeof header)), *slot = malloc(slot_size);
    size_t z = ZSTD_compress(frame, ZSTD_compressBound(sizeof header), header, sizeof header, 5);
    assert_false(ZSTD_isError(z));
    hp_params in = {.interval_ms = 100, .precision = 0}, out;
    assert_int_equal(hp_header_slot_encode(slot, slot_size, frame, z, &in), 0);
    assert_int_equal(hp_header_slot_params(slot, slot_size, &out), 0);
    assert_true(out.interval_ms == 100 && out.precision == 0);
    uint8_t back[64];
    size_t d = ZSTD_decompress(back, sizeof back, slot, slot_size);
    assert_int_equal(d, sizeof header);
    assert_memory_equal(back, header, sizeof header);
    /* no room for the record: refused */
    assert_int_equal(hp_header_slot_encode(slot, z + 8, frame, z, &in), -1);
    /* another writer's slot (no padding frame): nothing recorded */
    assert_int_equal(hp_header_slot_params(frame, z, &out), 1);
    free(frame);
    free(slot);
}

static void seek_table_roundtrip(void **state)
{
    (void)state;
    const hp_seek_entry e[] = {{40, 29}, {1000, 1u << 20}, {7, 12}};
    size_t data = 40 + 1000 + 7, len = data + hp_seek_table_size(3);
    uint8_t *file = calloc(1, len);
    hp_seek_table_encode(file + data, e, 3);
    hp_frame_map m;
    const char *why;
    size_t where;
    assert_int_equal(hp_seek_table_decode(file, len, &m, &why, &where), HP_OK);
    assert_int_equal(m.nframes, 3);
    assert_true(m.c_off[1] == 40 && m.c_off[3] == data);
    assert_true(m.d_off[1] == 29 && m.d_off[3] == 29 + (1u << 20) + 12);
    free(m.c_off);
    free(m.d_off);
    /* frames that do not add up to the file */
    assert_int_equal(hp_seek_table_decode(file + 1, len - 1, &m, &why, &where), HP_EFORMAT);
    free(m.c_off);
    free(m.d_off);
    /* a frame claiming over 1 GiB */
    const hp_seek_entry big[] = {{40, HP_MAX_FRAME_CONTENT + 1}};
    hp_seek_table_encode(file + 40, big, 1);
    assert_int_equal(hp_seek_table_decode(file, 40 + hp_seek_table_size(1), &m, &why, &where),
                     HP_ELIMIT);
    free(m.c_off);
    free(m.d_off);
    /* no footer magic */
    memset(file, 0, len);
    assert_int_equal(hp_seek_table_decode(file, len, &m, &why, &where), HP_EFORMAT);
    assert_int_equal(where, len - 4);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_roundtrip),
        cmocka_unit_test(header_slot),
        cmocka_unit_test(seek_table_roundtrip),
    };
    return cmocka_run_group_tests_name("seekable", tests, NULL, NULL);
}
