/*
 * casevault CLI — parsing values the user types, formatting times and
 * names for output. Times are stored in UTC; people read and type them in
 * their local time zone (TZ, else /etc/localtime), with its offset shown;
 * --json gives UTC ("Z").
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

/* Digits only, no sign, no spaces, no overflow. */
static int parse_u64(uint64_t *out, const char *s, const char **end)
{
	uint64_t n = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int) (*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	if (p == s)
		return -1;
	*out = n;
	*end = p;
	return 0;
}

int cli_parse_version(uint32_t *out, const char *option, const char *s)
{
	const char *end;
	uint64_t n;

	if ((s[0] == 'v' || s[0] == 'V') && s[1] != '\0')
		s++;
	if (parse_u64(&n, s, &end) < 0 || *end != '\0' || n == 0 || n > UINT32_MAX)
		return cli_usage_error("option '--%s' needs a version number (1, 2, ...)", option);
	*out = (uint32_t) n;
	return 0;
}

int cli_parse_threads(unsigned int *out, const char *s)
{
	const char *end;
	uint64_t n;

	if (parse_u64(&n, s, &end) < 0 || *end != '\0' || n == 0 || n > 64)
		return cli_usage_error("option '--threads' needs a number from 1 to 64, not '%s'", s);
	*out = (unsigned int) n;
	return 0;
}

int cli_parse_size(uint64_t *out, const char *s)
{
	const char *end;
	uint64_t n, unit = 1;

	if (parse_u64(&n, s, &end) < 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'K': case 'k':
		unit = UINT64_C(1) << 10;
		break;
	case 'M': case 'm':
		unit = UINT64_C(1) << 20;
		break;
	case 'G': case 'g':
		unit = UINT64_C(1) << 30;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (n > UINT64_MAX / unit)
		return -1;
	*out = n * unit;
	return 0;
}

/* Exactly `width` digits. */
static int digits(int *out, const char **p, int width)
{
	int n = 0, i;

	for (i = 0; i < width; i++) {
		if (!isdigit((unsigned char) (*p)[i]))
			return -1;
		n = n * 10 + ((*p)[i] - '0');
	}
	*p += width;
	*out = n;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "+HH:MM", "-HH:MM", "Z": seconds east of UTC. */
static int parse_offset(int *out, const char **p)
{
	int sign, oh, om;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*out = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (digits(&oh, p, 2) < 0 || expect(p, ':') < 0 || digits(&om, p, 2) < 0 ||
	    oh > 23 || om > 59)
		return -1;
	*out = sign * (oh * 3600 + om * 60);
	return 0;
}

/* A wall-clock time of the local zone. Where a DST change repeats an hour
 * mktime() picks one of the two; a skipped hour moves forward. */
static int local_seconds(int64_t *out, int y, int mo, int d, int h, int mi, int sec)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = sec, .tm_isdst = -1 };
	time_t t;

	if ((t = mktime(&tm)) == (time_t) -1)
		return -1;
	*out = (int64_t) t;
	return 0;
}

/*
 * "YYYY-MM-DD" then nothing, or [Tt ]"HH:MM"[":SS"[.fraction]] then
 * "Z", "+HH:MM", "-HH:MM" or nothing. Without a zone (a date alone too)
 * the time is the local zone's: what a person at this machine means.
 */
static int parse_rfc3339(int64_t *out, const char *s)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0, zoned = 0;

	if (digits(&y, &p, 4) < 0 || expect(&p, '-') < 0 || digits(&mo, &p, 2) < 0 ||
	    expect(&p, '-') < 0 || digits(&d, &p, 2) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (*p != '\0') {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -1;
		p++;
		if (digits(&h, &p, 2) < 0 || expect(&p, ':') < 0 || digits(&mi, &p, 2) < 0)
			return -1;
		if (*p == ':' && (p++, digits(&sec, &p, 2) < 0))
			return -1;
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (*p == '.') {
			/* Fractions of a second: events carry whole seconds. */
			if (!isdigit((unsigned char) *++p))
				return -1;
			while (isdigit((unsigned char) *p))
				p++;
		}
		if (*p != '\0') {
			if (parse_offset(&off, &p) < 0)
				return -1;
			zoned = 1;
		}
		if (*p != '\0')
			return -1;
	}
	if (!zoned)
		return local_seconds(out, y, mo, d, h, mi, sec);
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	return 0;
}

int cli_parse_time(int64_t *out, const char *s)
{
	const char *end;
	uint64_t n;

	if (parse_u64(&n, s, &end) == 0 && *end == '\0') {
		if (n > INT64_MAX)
			return -1;
		*out = (int64_t) n;
		return 0;
	}
	return parse_rfc3339(out, s);
}

/* Broken down in UTC or the local zone; NULL (and "@SECONDS" in buf) when
 * out of range. */
static struct tm *broken_down(struct tm *tm, char buf[CLI_TIME_SIZE], int64_t t, int local)
{
	time_t tt = (time_t) t;

	if ((local ? localtime_r(&tt, tm) : gmtime_r(&tt, tm)) != NULL)
		return tm;
	snprintf(buf, CLI_TIME_SIZE, "@%" PRId64, t);
	return NULL;
}

/* Local time, to the second or the minute, then the zone's offset. */
static const char *local_time(char buf[CLI_TIME_SIZE], int64_t t, int seconds)
{
	struct tm tm;
	long off;
	size_t n;

	if (broken_down(&tm, buf, t, 1) == NULL)
		return buf;
	off = tm.tm_gmtoff;
	n = seconds ? strftime(buf, CLI_TIME_SIZE, "%Y-%m-%dT%H:%M:%S", &tm) :
		strftime(buf, CLI_TIME_SIZE, "%Y-%m-%dT%H:%M", &tm);
	snprintf(buf + n, CLI_TIME_SIZE - n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
		labs(off) / 3600, labs(off) / 60 % 60);
	return buf;
}

const char *cli_time_rfc3339(char buf[CLI_TIME_SIZE], int64_t t)
{
	return local_time(buf, t, 1);
}

const char *cli_time_short(char buf[CLI_TIME_SIZE], int64_t t)
{
	return local_time(buf, t, 0);
}

const char *cli_time_utc(char buf[CLI_TIME_SIZE], int64_t t)
{
	struct tm tm;

	if (broken_down(&tm, buf, t, 0) != NULL)
		strftime(buf, CLI_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

void cli_print_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t n;

	/*
	 * A decrypted name, or a local one, is data: it must not drive the
	 * terminal. Control characters (C0, DEL, and C1 in UTF-8) and bytes
	 * that are not UTF-8 (0x9b is an 8-bit terminal's CSI) show as '?'.
	 */
	while (*p != '\0') {
		n = cli_utf8_len(p);
		if (n == 0 || *p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0)) {
			fputc('?', out);
			p += n ? n : 1;
		} else {
			fwrite(p, 1, n, out);
			p += n;
		}
	}
}

char *cli_path(char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	return path;
}

/* ---- --purpose and --at (get, ls) ---------------------------------------- */

/*
 * "P:NOTE" → purpose P, note NOTE (NULL if empty); `*copy` is to be freed
 * with cli_purpose_free().
 */
int cli_purpose_split(const char **purpose, const char **note, char **copy, const char *arg)
{
	char *colon;

	if ((*copy = strdup(arg)) == NULL)
		return cli_error(CLI_EXIT_ERROR, "free some memory and try again", "out of memory");
	if ((colon = strchr(*copy, ':')) != NULL) {
		*colon = '\0';
		*note = colon[1] != '\0' ? colon + 1 : NULL;
	}
	if (**copy == '\0')
		return cli_usage_error("option '--purpose' needs a purpose code before ':'");
	*purpose = *copy;
	return 0;
}

/* Wipe and free what cli_purpose_split() copied from `arg` (the ':' in it
 * is now a NUL): the note may say more than anyone but an auditor should
 * read. NULL-safe. */
void cli_purpose_free(char *copy, const char *arg)
{
	if (copy != NULL) {
		explicit_bzero(copy, strlen(arg));
		free(copy);
	}
}

/* The moment of `--at TIME`: a usage error (exit 2) if it is not a time or
 * is still to come. */
int cli_parse_at(int64_t *out, const char *arg)
{
	char now[CLI_TIME_SIZE];

	if (cli_parse_time(out, arg) < 0)
		return cli_usage_error("'%s' is not a time for --at: give a local time "
			"(2026-11-28T10:00), one with its zone (2026-11-28T10:00:00Z, ...+07:00), "
			"a date (2026-11-28) or seconds since 1970", arg);
	if (*out > (int64_t) time(NULL))
		return cli_usage_error("--at %s is in the future (it is %s now)", arg,
			cli_time_rfc3339(now, (int64_t) time(NULL)));
	return 0;
}

/*
 * Would the read event of a look into the past take this purpose? Checked
 * first so that its hint is about purposes; later failures are about the
 * path and the moment.
 */
int cli_check_at_purpose(vault *v, const char *purpose, int list, const char *path)
{
	cli_error_on(CLI_ON_READ, path);
	if (vault_purpose_check(v, purpose) < 0)
		return list ? cli_fail_vault("cannot list '%s'", path) : cli_fail_vault("cannot read '%s'", path);
	return 0;
}

/*
 * Report a failed look into the past. Not found: something that did not
 * exist then, or a moment before the vault's first event. A usage error:
 * a file where a folder was asked for, or the other way round. The hints
 * say where to see what was there and when.
 */
int cli_fail_at(int list, const char *path, const char *at_arg)
{
	const vault_error *err = vault_error_last();
	const char *slash = strchr(path, '/');
	const char *why = err->text ? err->text : _("not found");
	int clen = slash ? (int) (slash - path) : (int) strlen(path);
	int code = err->code == VAULT_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
	char hint[1024];

	if (err->code != VAULT_ENOTFOUND && err->code != VAULT_EUSAGE)
		return list ? cli_fail_vault("cannot list '%s' as of %s", path, at_arg) :
			cli_fail_vault("cannot read '%s' as of %s", path, at_arg);
	snprintf(hint, sizeof hint, _("'casevault audit log --case %.*s' shows when things happened, "
		"'casevault ls %.*s --at TIME' what was there then"), clen, path, clen, path);
	return list ? cli_error(code, hint, "cannot list '%s' as of %s: %s", path, at_arg, why) :
		cli_error(code, hint, "cannot read '%s' as of %s: %s", path, at_arg, why);
}
