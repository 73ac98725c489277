/* seekable.c: the v2 container's parameter record, header slot and seek
 * table. */
#include "testutil.h"

#include "bytes.h"
#include "seekable.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static void params_roundtrip(void **state)
{
    (void)state;
    hp_digest_params in = {.interval_ms = 60000, .precision = 0.01, .salvage = 1, .has_inputs = 1,
                           .hpm_size = 5, .hpd_size = 1ull << 40, .hpm_mtime_ns = -7,
                           .hpd_mtime_ns = 1795576259103482858},
                     out;
    uint8_t p[HP_PARAMS_SIZE];
    hp_params_encode(p, &in);
    assert_int_equal(hp_params_decode(p, sizeof p, &out), 0);
    assert_memory_equal(&out, &in, sizeof in);
    /* heapprof-c 0.2's record (version 1): the interval and precision only */
    p[8] = 1;
    assert_int_equal(hp_params_decode(p, HP_PARAMS_V1_SIZE, &out), 0);
    assert_true(out.interval_ms == 60000 && out.precision == 0.01 && !out.has_inputs && !out.salvage);
    p[8] = 2;
    assert_int_equal(hp_params_decode(p, sizeof p - 1, &out), 1); /* too short */
    p[8] = 3;
    assert_int_equal(hp_params_decode(p, sizeof p, &out), 1); /* another version */
    p[8] = 2;
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
    hp_digest_params in = {.interval_ms = 100, .precision = 0, .has_inputs = 1}, out;
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
    const hp_seek_entry e[] = {{40, 29, 0xdeadbeef}, {1000, 1u << 20, 1}, {7, 12, 0}};
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
    assert_non_null(m.checksum);
    assert_true(m.checksum[0] == 0xdeadbeef && m.checksum[1] == 1 && m.checksum[2] == 0);
    free(m.c_off);
    free(m.d_off);
    free(m.checksum);
    /* frames that do not add up to the file */
    assert_int_equal(hp_seek_table_decode(file + 1, len - 1, &m, &why, &where), HP_EFORMAT);
    free(m.c_off);
    free(m.d_off);
    /* a frame claiming over 1 GiB */
    const hp_seek_entry big[] = {{40, HP_MAX_FRAME_CONTENT + 1, 0}};
    hp_seek_table_encode(file + 40, big, 1);
    assert_int_equal(hp_seek_table_decode(file, 40 + hp_seek_table_size(1), &m, &why, &where),
                     HP_ELIMIT);
    free(m.c_off);
    free(m.d_off);
    /* a table without checksums (another writer's): read, none kept */
    uint8_t plain[8 + 8 + HP_SEEK_FOOTER] = {0};
    memcpy(file, "\0\0\0\0", 4);
    hp_put_le32(plain, HP_SKIPPABLE_SEEK_MAGIC);
    hp_put_le32(plain + 4, 8 + HP_SEEK_FOOTER);
    hp_put_le32(plain + 8, 4);
    hp_put_le32(plain + 12, 3);
    hp_put_le32(plain + 16, 1);
    hp_put_le32(plain + 21, HP_SEEKABLE_MAGIC);
    memcpy(file + 4, plain, sizeof plain);
    assert_int_equal(hp_seek_table_decode(file, 4 + sizeof plain, &m, &why, &where), HP_OK);
    assert_null(m.checksum);
    assert_true(m.d_off[1] == 3);
    free(m.c_off);
    free(m.d_off);
    assert_true(hp_frame_checksum("abc", 3) == 0xad770999u); /* XXH64("abc") = 0x44bc2cf5ad770999 */
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
