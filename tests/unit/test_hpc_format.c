/* hpc_format.c: the v1 records, each encoded and decoded. */
#include "testutil.h"

#include "hpc_format.h"

#include <stdlib.h>
#include <string.h>

static void header_roundtrip(void **state)
{
    (void)state;
    const uint64_t intervals[] = {1, 127, 128, 60000, UINT64_MAX};
    for (size_t i = 0; i < sizeof intervals / sizeof *intervals; i++) {
        hp_hpc_header h = {1795576259, 103482858, intervals[i], 1u << 20}, back;
        uint8_t p[HP_HPC_HEADER_MAX];
        size_t n = hp_hpc_header_encode(p, &h), used;
        assert_int_equal(n, HP_HPC_HEADER_SIZE(intervals[i]));
        assert_int_equal(hp_hpc_header_decode(p, n, &back, &used), HP_OK);
        assert_int_equal(used, n);
        assert_memory_equal(&back, &h, sizeof h);
        for (size_t cut = 4; cut < n; cut++) /* truncated anywhere after the version */
            assert_int_equal(hp_hpc_header_decode(p, cut, &back, &used), HP_EFORMAT);
        p[3] = 2;
        assert_int_equal(hp_hpc_header_decode(p, n, &back, &used), HP_EVERSION);
    }
}

/* Encodes and decodes a record; returns the decoded entries (count in *n). */
static hp_entry *roundtrip(const hp_ranked *kept, size_t nk, uint64_t other, size_t *n)
{
    uint8_t *p = malloc(hp_snapshot_record_bound(nk + 1));
    size_t len = hp_snapshot_record_encode(p, kept, nk, other);
    assert_true(len <= hp_snapshot_record_bound(nk + 1));
    hp_entry *e = NULL;
    size_t cap = 0;
    const char *why;
    assert_int_equal(hp_snapshot_record_decode(p, p + len, &e, &cap, n, &why), HP_OK);
    free(p);
    return e;
}

/* "other" takes its place in rule 4's order: before the first entry it
 * does not follow, so before entries of equal size (trace 0 is lowest). */
static void snapshot_other_in_order(void **state)
{
    (void)state;
    const hp_ranked kept[] = {{900, 4}, {500, 2}, {500, 9}, {7, 3}};
    const struct {
        uint64_t other;
        size_t at; /* where trace 0 lands */
    } cases[] = {{1000, 0}, {900, 0}, {600, 1}, {500, 1}, {8, 3}, {7, 3}, {1, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n;
        hp_entry *e = roundtrip(kept, 4, cases[c].other, &n);
        assert_int_equal(n, 5);
        for (size_t i = 0, k = 0; i < n; i++) {
            if (i == cases[c].at) {
                assert_int_equal(e[i].traceindex, 0);
                assert_true(e[i].bytes == (int64_t)cases[c].other);
            } else {
                assert_int_equal(e[i].traceindex, kept[k].trace);
                assert_true(e[i].bytes == kept[k].bytes);
                k++;
            }
        }
        free(e);
    }
    /* no other: no trace 0 entry; trace 0 in `kept` is left out */
    const hp_ranked with_zero[] = {{900, 4}, {800, 0}, {7, 3}};
    size_t n;
    hp_entry *e = roundtrip(with_zero, 3, 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].traceindex, 4);
    assert_int_equal(e[1].traceindex, 3);
    free(e);
    e = roundtrip(NULL, 0, 0, &n); /* an empty snapshot */
    assert_int_equal(n, 0);
    free(e);
}

static void snapshot_decode_rejects(void **state)
{
    (void)state;
    const hp_ranked kept[] = {{900, 4}, {500, 2}};
    uint8_t p[64];
    size_t len = hp_snapshot_record_encode(p, kept, 2, 0);
    hp_entry *e = NULL;
    size_t cap = 0, n;
    const char *why;
    assert_int_equal(hp_snapshot_record_decode(p, p + len - 1, &e, &cap, &n, &why), HP_EFORMAT);
    assert_int_equal(hp_snapshot_record_decode(p, p + len + 1, &e, &cap, &n, &why), HP_EFORMAT);
    assert_string_equal(why, "trailing bytes after the last entry");
    p[0] ^= 1;
    assert_int_equal(hp_snapshot_record_decode(p, p + len, &e, &cap, &n, &why), HP_EFORMAT);
    assert_string_equal(why, "bad snapshot magic");
    p[0] ^= 1;
    p[4] = 100; /* more entries than bytes */
    assert_int_equal(hp_snapshot_record_decode(p, p + len, &e, &cap, &n, &why), HP_EFORMAT);
    free(e);
}

/* heapprof 1.0 stores a wrapped 32-bit counter as the 64-bit two's complement
 * (a 10-byte varint), first entry or later: read back as negative. */
static void snapshot_decode_twos_complement(void **state)
{
    (void)state;
    const int64_t want[][2] = {{9, -5}, {7, 1000}, {5, -100}, {3, INT64_MIN}, {2, INT64_MAX}};
    tu_buf b = {0};
    tu_be32(&b, HP_SNAPSHOT_MAGIC);
    tu_varint(&b, 5);
    uint64_t prev = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t v = (uint64_t)want[i][1];
        tu_varint(&b, (uint64_t)want[i][0]);
        tu_varint(&b, i == 0 ? v : prev - v);
        prev = v;
    }
    hp_entry *e = NULL;
    size_t cap = 0, n;
    const char *why;
    assert_int_equal(hp_snapshot_record_decode(b.p, b.p + b.len, &e, &cap, &n, &why), HP_OK);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(e[i].traceindex, want[i][0]);
        assert_true(e[i].bytes == want[i][1]);
    }
    free(e);
    tu_free(&b);
}

static void index_roundtrip(void **state)
{
    (void)state;
    const uint64_t offsets[] = {29, 40, 45, 45 + 300, 1u << 20};
    uint8_t p[HP_INDEX_HEAD_MAX + 5 * HP_VARINT_MAX];
    size_t len = hp_index_head_encode(p, 5);
    for (uint64_t k = 0; k < 5; k++)
        len += hp_index_offset_encode(p + len, k, k ? offsets[k - 1] : 0, offsets[k]);
    uint64_t *off;
    size_t n;
    const char *why;
    uint64_t index_off = (1u << 20) + 10;
    assert_int_equal(hp_index_decode(p, p + len, 29, index_off, &off, &n, &why), HP_OK);
    assert_int_equal(n, 5);
    for (size_t k = 0; k < 5; k++)
        assert_true(off[k] == offsets[k]);
    assert_true(off[5] == index_off);
    free(off);
    /* the first snapshot inside the header, or the last past the index */
    assert_int_equal(hp_index_decode(p, p + len, 30, index_off, &off, &n, &why), HP_EFORMAT);
    assert_int_equal(hp_index_decode(p, p + len, 29, 1u << 20, &off, &n, &why), HP_EFORMAT);
    /* a count the bytes cannot hold is refused before allocating */
    len = hp_index_head_encode(p, 1ull << 60);
    assert_int_equal(hp_index_decode(p, p + len, 29, index_off, &off, &n, &why), HP_ELIMIT);
}

/* The encoder, plainly: one varint at a time, "other" found by a scan. */
static size_t plain_encode(uint8_t *p, const hp_ranked *kept, size_t n, uint64_t other)
{
    uint8_t *start = p;
    size_t count = other > 0;
    for (size_t i = 0; i < n; i++)
        count += kept[i].trace != 0;
    hp_put_be32(p, HP_SNAPSHOT_MAGIC);
    p += 4;
    p += hp_varint_encode(p, count);
    uint64_t prev = 0;
    int first = 1, other_done = other == 0;
    for (size_t i = 0; i <= n; i++) {
        if (!other_done && (i == n || (uint64_t)kept[i].bytes <= other)) {
            p += hp_varint_encode(p, 0);
            p += hp_varint_encode(p, first ? other : prev - other);
            prev = other;
            first = 0;
            other_done = 1;
        }
        if (i == n)
            break;
        if (kept[i].trace == 0)
            continue;
        uint64_t b = (uint64_t)kept[i].bytes;
        p += hp_varint_encode(p, kept[i].trace);
        p += hp_varint_encode(p, first ? b : prev - b);
        prev = b;
        first = 0;
    }
    return (size_t)(p - start);
}

static int cmp_desc(const void *x, const void *y)
{
    const hp_ranked *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    return a->trace < b->trace ? -1 : a->trace > b->trace;
}

/* The encoder's bytes are the plain encoder's, for sizes of every varint
 * length, with and without "other", trace 0 anywhere. */
static void snapshot_encoder_matches_plain(void **state)
{
    (void)state;
    srand(11);
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rand() % 60);
        hp_ranked *kept = malloc((n + 1) * sizeof *kept);
        int bits = 1 + rand() % 63;
        for (size_t i = 0; i < n; i++) {
            uint64_t v = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
            v &= bits == 63 ? INT64_MAX : (1ull << bits) - 1;
            kept[i] = (hp_ranked){(int64_t)(v ? v : 1), (uint32_t)(i * 7 + (size_t)(rand() % 7))};
        }
        if (n && rand() % 4 == 0)
            kept[rand() % n].trace = 0;
        qsort(kept, n, sizeof *kept, cmp_desc);
        uint64_t other = rand() % 3 == 0 ? 0 : n ? (uint64_t)kept[rand() % n].bytes + (uint64_t)(rand() % 3) - 1 : 5;
        uint8_t *a = malloc(hp_snapshot_record_bound(n + 1)), *b = malloc(hp_snapshot_record_bound(n + 1));
        size_t la = hp_snapshot_record_encode(a, kept, n, other), lb = plain_encode(b, kept, n, other);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
        free(kept);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_roundtrip),
        cmocka_unit_test(snapshot_other_in_order),
        cmocka_unit_test(snapshot_encoder_matches_plain),
        cmocka_unit_test(snapshot_decode_rejects),
        cmocka_unit_test(snapshot_decode_twos_complement),
        cmocka_unit_test(index_roundtrip),
    };
    return cmocka_run_group_tests_name("hpc_format", tests, NULL, NULL);
}
