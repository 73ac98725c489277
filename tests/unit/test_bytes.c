/* bytes.h: varints and fixed-width integers. */
#include "testutil.h"

#include "bytes.h"

#include <string.h>

static void varint_roundtrip_edges(void **state)
{
    (void)state;
    const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, (1ull << 32) - 1, 1ull << 32,
                               (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        uint8_t b[HP_VARINT_MAX];
        size_t n = hp_varint_encode(b, values[i]);
        assert_int_equal(n, hp_varint_size(values[i]));
        uint64_t v;
        assert_int_equal(hp_varint_decode(b, b + n, &v), (int)n);
        assert_true(v == values[i]);
    }
}

static void varint_ten_bytes(void **state)
{
    (void)state;
    uint8_t max[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    uint64_t v;
    assert_int_equal(hp_varint_decode(max, max + 10, &v), 10);
    assert_true(v == UINT64_MAX);
}

static void varint_overlong(void **state)
{
    (void)state;
    uint8_t b[12];
    memset(b, 0x80, sizeof b);
    uint64_t v;
    assert_int_equal(hp_varint_decode(b, b + 12, &v), HP_VARINT_OVERLONG);
    b[10] = 0x01; /* an 11-byte varint is still over-long */
    assert_int_equal(hp_varint_decode(b, b + 12, &v), HP_VARINT_OVERLONG);
}

static void varint_truncated_at_every_byte(void **state)
{
    (void)state;
    uint8_t b[HP_VARINT_MAX];
    size_t n = hp_varint_encode(b, UINT64_MAX);
    for (size_t cut = 0; cut < n; cut++) {
        uint64_t v;
        assert_int_equal(hp_varint_decode(b, b + cut, &v), HP_VARINT_TRUNCATED);
    }
}

static void fixed_width_big_endian(void **state)
{
    (void)state;
    uint8_t b[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    assert_int_equal(hp_be32(b), 0x01020304u);
    assert_true(hp_be64(b) == 0x0102030405060708ull);
    uint8_t o[8];
    hp_put_be64(o, 0x0102030405060708ull);
    assert_memory_equal(o, b, 8);
}

static void fixed_width_little_endian(void **state)
{
    (void)state;
    uint8_t b[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    assert_int_equal(hp_le32(b), 0x05060708u);
    assert_true(hp_le64(b) == 0x0102030405060708ull);
    uint8_t o[8];
    hp_put_le64(o, 0x0102030405060708ull);
    assert_memory_equal(o, b, 8);
    hp_put_le32(o, 0x05060708u);
    assert_memory_equal(o, b, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varint_roundtrip_edges), cmocka_unit_test(varint_ten_bytes),
        cmocka_unit_test(varint_overlong),        cmocka_unit_test(varint_truncated_at_every_byte),
        cmocka_unit_test(fixed_width_big_endian), cmocka_unit_test(fixed_width_little_endian),
    };
    return cmocka_run_group_tests_name("bytes", tests, NULL, NULL);
}
