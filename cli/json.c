/*
 * casevault CLI — JSON output: one object per line, for scripts.
 *
 * Only what we print: objects, arrays, strings, unsigned numbers, booleans
 * and null. Strings are escaped (quote, backslash, control characters as
 * \uXXXX); bytes that are not UTF-8 become U+FFFD, so every line parses.
 */
#include <inttypes.h>

#include "cmd.h"

size_t cli_utf8_len(const unsigned char *s)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)   /* also stops at the NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void cli_json_escape(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t n;

	fputc('"', out);
	while (*s != '\0') {
		if (*s == '"' || *s == '\\') {
			fputc('\\', out);
			fputc(*s++, out);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(out, "\\u%04x", *s++);
		} else if ((n = cli_utf8_len(s)) == 0) {
			fputs("\\ufffd", out);
			s++;
		} else {
			fwrite(s, 1, n, out);
			s += n;
		}
	}
	fputc('"', out);
}

/* The comma before a member or element, and its key. */
static void member(cli_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = 0;
	if (key != NULL) {
		cli_json_escape(j->out, key);
		fputc(':', j->out);
	}
}

static void open_level(cli_json *j, int c)
{
	fputc(c, j->out);
	if (j->depth + 1 < CLI_JSON_DEPTH)
		j->depth++;
	j->first[j->depth] = 1;
}

static void close_level(cli_json *j, int c)
{
	fputc(c, j->out);
	if (j->depth > 0)
		j->depth--;
}

void cli_json_begin(cli_json *j, FILE *out)
{
	j->out = out;
	j->depth = -1;
	open_level(j, '{');
}

void cli_json_end(cli_json *j)
{
	fputs("}\n", j->out);
	j->depth = 0;
}

void cli_json_object_begin(cli_json *j, const char *key)
{
	member(j, key);
	open_level(j, '{');
}

void cli_json_object_end(cli_json *j)
{
	close_level(j, '}');
}

void cli_json_array_begin(cli_json *j, const char *key)
{
	member(j, key);
	open_level(j, '[');
}

void cli_json_array_end(cli_json *j)
{
	close_level(j, ']');
}

void cli_json_str(cli_json *j, const char *key, const char *s)
{
	member(j, key);
	if (s == NULL)
		fputs("null", j->out);
	else
		cli_json_escape(j->out, s);
}

void cli_json_str_or_null(cli_json *j, const char *key, const char *s)
{
	cli_json_str(j, key, s != NULL && *s != '\0' ? s : NULL);
}

void cli_json_uint(cli_json *j, const char *key, uint64_t n)
{
	member(j, key);
	fprintf(j->out, "%" PRIu64, n);
}

void cli_json_uint_or_null(cli_json *j, const char *key, uint64_t n)
{
	if (n == 0) {
		member(j, key);
		fputs("null", j->out);
	} else {
		cli_json_uint(j, key, n);
	}
}

void cli_json_bool(cli_json *j, const char *key, int b)
{
	member(j, key);
	fputs(b ? "true" : "false", j->out);
}

void cli_json_time(cli_json *j, const char *key, int64_t t)
{
	char buf[CLI_TIME_SIZE];

	cli_json_str(j, key, cli_time_utc(buf, t));
}
