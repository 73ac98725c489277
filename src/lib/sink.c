/* sink.c - buffered output to an atomic file or a stream (see sink.h). */
#include "sink.h"

#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SINK_BUF (256u << 10)

int hp_sink_open(hp_sink *s, const char *path, FILE *stream, const hp_map *const *inputs, size_t n)
{
    memset(s, 0, sizeof *s);
    s->file.fd = -1;
    s->stream = stream;
    s->name = strdup(stream ? (stream == stdout ? "standard output" : "the output stream") : path);
    s->buf = malloc(SINK_BUF);
    if (!s->name || !s->buf) {
        free(s->name);
        free(s->buf);
        return hp_fail(HP_ENOMEM, "out of memory");
    }
    s->cap = SINK_BUF;
    if (!stream) {
        int rc = hp_outfile_open(&s->file, path, inputs, n);
        if (rc < 0) {
            free(s->name);
            free(s->buf);
            return rc;
        }
        s->file_open = 1;
    }
    return HP_OK;
}

static void flush(hp_sink *s)
{
    if (s->rc < 0 || s->len == 0)
        return;
    if (s->stream) {
        errno = 0;
        if (fwrite(s->buf, 1, s->len, s->stream) != s->len) {
            if (!errno)
                errno = EIO;
            s->rc = hp_fail_errno(HP_EIO, "%s: write failed", s->name);
        }
    } else {
        s->rc = hp_outfile_append(&s->file, s->buf, s->len);
    }
    s->len = 0;
}

void hp_sink_put(hp_sink *s, const void *p, size_t n)
{
    if (s->rc < 0)
        return;
    s->written += n;
    if (s->len + n > s->cap) {
        flush(s);
        if (n >= s->cap) {
            if (s->rc < 0)
                return;
            if (s->stream) {
                errno = 0;
                if (fwrite(p, 1, n, s->stream) != n) {
                    if (!errno)
                        errno = EIO;
                    s->rc = hp_fail_errno(HP_EIO, "%s: write failed", s->name);
                }
            } else {
                s->rc = hp_outfile_append(&s->file, p, n);
            }
            return;
        }
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

void hp_sink_str(hp_sink *s, const char *str) { hp_sink_put(s, str, strlen(str)); }

void hp_sink_printf(hp_sink *s, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        hp_sink_put(s, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        if (s->rc == HP_OK)
            s->rc = hp_fail(HP_ENOMEM, "out of memory");
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    hp_sink_put(s, big, (size_t)n);
    free(big);
}

/* Decimal digits of v ending at end; returns where they start. Numbers are
 * most of what exports write: this is several times faster than printf. */
static char *digits(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

void hp_sink_i64(hp_sink *s, int64_t v)
{
    char b[24], *end = b + sizeof b;
    char *p = digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    hp_sink_put(s, p, (size_t)(end - p));
}

void hp_sink_u64(hp_sink *s, uint64_t v)
{
    char b[24], *end = b + sizeof b;
    char *p = digits(end, v);
    hp_sink_put(s, p, (size_t)(end - p));
}

char *hp_format_ms(char *buf, uint64_t ms)
{
    int n = snprintf(buf, HP_MS_BUF, "%" PRIu64, ms / 1000);
    unsigned frac = (unsigned)(ms % 1000);
    if (frac) {
        n += snprintf(buf + n, HP_MS_BUF - (size_t)n, ".%03u", frac);
        while (buf[n - 1] == '0')
            buf[--n] = '\0';
    }
    return buf;
}

void hp_sink_ms(hp_sink *s, uint64_t ms)
{
    char b[HP_MS_BUF];
    hp_sink_str(s, hp_format_ms(b, ms));
}

/* The length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if ((c & 0xe0) == 0xc0) {
        n = 2;
        min = 0x80;
        c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        min = 0x800;
        c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return n;
}

void hp_sink_json(hp_sink *s, const char *str)
{
    const unsigned char *p = (const unsigned char *)str;
    hp_sink_put(s, "\"", 1);
    while (*p) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        hp_sink_put(s, run, (size_t)(p - run));
        if (!*p)
            break;
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            hp_sink_put(s, esc, 2);
            p++;
        } else if (*p < 0x20) {
            const char *named = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r" : NULL;
            if (named)
                hp_sink_put(s, named, 2);
            else
                hp_sink_printf(s, "\\u%04x", *p);
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n) {
                hp_sink_put(s, p, n);
                p += n;
            } else {
                hp_sink_put(s, "\xef\xbf\xbd", 3); /* U+FFFD */
                p++;
            }
        }
    }
    hp_sink_put(s, "\"", 1);
}

void hp_sink_csv(hp_sink *s, const char *str)
{
    size_t n = strlen(str);
    int quote = n > 0 && (str[0] == ' ' || str[n - 1] == ' ' || strpbrk(str, ",\"\r\n"));
    if (!quote) {
        hp_sink_put(s, str, n);
        return;
    }
    hp_sink_put(s, "\"", 1);
    for (const char *p = str; *p;) {
        const char *q = strchr(p, '"');
        if (!q) {
            hp_sink_str(s, p);
            break;
        }
        hp_sink_put(s, p, (size_t)(q - p + 1));
        hp_sink_put(s, "\"", 1);
        p = q + 1;
    }
    hp_sink_put(s, "\"", 1);
}

int hp_sink_close(hp_sink *s)
{
    flush(s);
    int rc = s->rc;
    if (s->stream) {
        errno = 0;
        if ((fflush(s->stream) != 0 || ferror(s->stream)) && rc == HP_OK) {
            if (!errno)
                errno = EIO;
            rc = hp_fail_errno(HP_EIO, "%s: write failed", s->name);
        }
    } else if (s->file_open) {
        if (rc == HP_OK)
            rc = hp_outfile_commit(&s->file);
        hp_outfile_abort(&s->file);
    }
    free(s->buf);
    free(s->name);
    memset(s, 0, sizeof *s);
    s->file.fd = -1;
    return rc;
}

void hp_sink_abort(hp_sink *s)
{
    if (s->file_open)
        hp_outfile_abort(&s->file);
    free(s->buf);
    free(s->name);
    memset(s, 0, sizeof *s);
    s->file.fd = -1;
}
