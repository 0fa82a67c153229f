/*
 * settings — the admin's settings (anomaly thresholds), and the text of
 * policy/settings in the history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"
#include "settings.h"

/* ---- settings ----------------------------------------------------------- */

/*
 * Stored in `meta/settings` as "KEY VALUE" lines, only the keys that were
 * set, in their normal form; the history's policy/settings carries them as
 * "setting KEY VALUE" lines. Unset keys take the defaults below.
 */
typedef enum {
	SET_COUNT, SET_SECONDS, SET_HOURS, SET_DAYS, SET_ZONE, SET_URL, SET_MEBIBYTES, SET_PASSES
} setting_type;

#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct {
	const char *key;
	setting_type type;
	const char *def;
	const char *help;
} setting_spec;

static const setting_spec settings[] = {
	{ "bulk-read-count", SET_COUNT, "20",
	  "bulk reads: more than this many document reads by one user ..." },
	{ "bulk-read-window", SET_SECONDS, "3600",
	  "... within this many seconds" },
	{ "work-hours", SET_HOURS, "07:00-19:00",
	  "reads outside these hours (HH:MM-HH:MM, 22:00-06:00 overnight) are flagged" },
	{ "work-days", SET_DAYS, "mon,tue,wed,thu,fri",
	  "reads on other days are flagged (an overnight shift counts on its first day)" },
	{ "time-zone", SET_ZONE, "UTC",
	  "the zone of work-hours and work-days: a tz database name (Asia/Vientiane)" },
	{ "membership-read-window", SET_SECONDS, "3600",
	  "reads of a case this many seconds after a grant or revoke in it are flagged" },
	{ "failed-unlock-count", SET_COUNT, "5",
	  "failed unlocks: more than this many for one user ..." },
	{ "failed-unlock-window", SET_SECONDS, "600",
	  "... within this many seconds" },
	{ "grant-after-add-window", SET_SECONDS, "86400",
	  "a grant by the admin who added the user this many seconds before is flagged" },
	{ "witness", SET_URL, "",
	  "a git remote or directory the history is pushed to by itself ('' : none)" },
	{ "witness-every", SET_COUNT, "100",
	  "... after this many events, and at every unmount" },
	{ "enrol-code-ttl", SET_SECONDS, "604800",
	  "an enrolment code of 'user add' expires after this many seconds" },
	{ "kdf-min-memory", SET_MEBIBYTES, STR(VCRYPTO_KDF_MEBIBYTES) "M",
	  "new passphrases hash over at least this much memory (Argon2id); less is warned of at unlock" },
	{ "kdf-min-passes", SET_PASSES, STR(VCRYPTO_KDF_PASSES),
	  "... and with at least this many passes" },
};
#define NSETTINGS (sizeof settings / sizeof settings[0])
#define KDF_PASSES_MAX 64            /* Argon2id passes: a minute or so over 256 MiB */
#define SETTING_VALUE_MAX (VAULT_WITNESS_URL_MAX + 1)

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const setting_spec *setting_find(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (!strcmp(settings[i].key, key))
			return &settings[i];
	return NULL;
}

static int parse_uint(uint64_t *out, const char *s, const char **end)
{
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > 100000000000ull)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*out = n;
	*end = s;
	return 0;
}

/* "HH:MM" as minutes, 00:00 to 24:00. */
static int parse_clock(int *out, const char *s, const char **end)
{
	if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
	      s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
		return -1;
	*out = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
	*end = s + 5;
	return *out <= 24 * 60 ? 0 : -1;
}

static int day_index(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++)
		if (len == 3 && !strncmp(s, day_names[i], 3))
			return i;
	return -1;
}

/*
 * A tz database name as the normal form wants it: "UTC", "Asia/Vientiane",
 * "America/Argentina/Buenos_Aires", "Etc/GMT+7"; no empty or dot-led part,
 * so that it names a file under the zoneinfo directory and nothing else.
 */
static int zone_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > VAULT_ZONE_MAX || *s == '/')
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '/' || p == s) {
			const char *part = *p == '/' ? p + 1 : p;

			if (*part == '\0' || *part == '/' || *part == '.' || *part == '-')
				return 0;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_+-.", *p)))
			return 0;
	}
	return 1;
}

int vault_settings__zone_file(char *out, size_t size, const char *zone)
{
	const char *dir = getenv("TZDIR");
	char magic[4];
	FILE *f;
	int ok;

	snprintf(out, size, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
	if (!zone_name_ok(zone) || (f = fopen(out, "rb")) == NULL)
		return -1;
	ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
	fclose(f);
	return ok ? 0 : -1;
}

/* "mon-fri", "sat,sun", "mon,wed-thu": a set of tm_wday bits. */
static int parse_days(unsigned int *out, const char *s)
{
	unsigned int set = 0;

	while (*s) {
		size_t len = strcspn(s, ",");
		const char *dash = memchr(s, '-', len);
		int a, b;

		if (dash) {
			a = day_index(s, (size_t)(dash - s));
			b = day_index(dash + 1, len - (size_t)(dash - s) - 1);
		} else {
			a = b = day_index(s, len);
		}
		if (a < 0 || b < 0)
			return -1;
		for (int d = a; ; d = (d + 1) % 7) {
			set |= 1u << d;
			if (d == b)
				break;
		}
		s += len;
		if (*s == ',' && *++s == '\0')
			return -1;
	}
	*out = set;
	return set ? 0 : -1;
}

/* Check `value` against its spec and write its normal form. */
static int setting_normalize(char out[SETTING_VALUE_MAX], const setting_spec *sp, const char *value)
{
	const char *end = NULL;
	uint64_t n = 0, mult = 1;
	int a, b;
	unsigned int days;

	switch (sp->type) {
	case SET_COUNT:
		if (parse_uint(&n, value, &end) < 0 || *end || n < 1 || n > 1000000)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs a whole number from 1 to 1000000, not '%s'", sp->key, value);
		snprintf(out, SETTING_VALUE_MAX, "%llu", (unsigned long long)n);
		return 0;
	case SET_SECONDS:
		if (parse_uint(&n, value, &end) == 0) {
			if (!strcmp(end, "m"))
				mult = 60;
			else if (!strcmp(end, "h"))
				mult = 3600;
			else if (!strcmp(end, "d"))
				mult = 86400;
			else if (*end && strcmp(end, "s"))
				end = NULL;
		}
		if (end == NULL || n < 1 || n > 31536000 / mult)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs seconds from 1 to 31536000 (or with m, h, d: 10m, 2h), not '%s'",
				sp->key, value);
		snprintf(out, SETTING_VALUE_MAX, "%llu", (unsigned long long)(n * mult));
		return 0;
	case SET_HOURS:
		/* start > end: overnight, 22:00-06:00. */
		if (parse_clock(&a, value, &end) < 0 || *end != '-' ||
		    parse_clock(&b, end + 1, &end) < 0 || *end || a == b || a == 24 * 60)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs hours HH:MM-HH:MM, start and end apart "
				"(07:00-19:00, 22:00-06:00 overnight, 00:00-24:00 all day), not '%s'",
				sp->key, value);
		snprintf(out, SETTING_VALUE_MAX, "%02d:%02d-%02d:%02d", a / 60, a % 60, b / 60, b % 60);
		return 0;
	case SET_DAYS:
		if (strlen(value) > 64 || parse_days(&days, value) < 0)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs days such as mon-fri or sat,sun, not '%s'", sp->key, value);
		out[0] = '\0';
		for (int i = 1; i <= 7; i++)
			if (days & (1u << (i % 7)))
				snprintf(out + strlen(out), SETTING_VALUE_MAX - strlen(out), "%s%s",
					out[0] ? "," : "", day_names[i % 7]);
		return 0;
	case SET_ZONE:
		if (!zone_name_ok(value))
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs a time zone of the tz database (Asia/Vientiane, UTC), not '%.*s'",
				sp->key, VAULT_ZONE_MAX, value);
		snprintf(out, SETTING_VALUE_MAX, "%s", value);
		return 0;
	case SET_MEBIBYTES:
		if (parse_uint(&n, value, &end) == 0) {
			if (!strcmp(end, "G"))
				mult = 1024;
			else if (strcmp(end, "M"))
				end = NULL;
		}
		if (end == NULL || n < 1 || n > (VCRYPTO_KDF_MEMORY_MAX >> 20) / mult)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs mebibytes from 1M to 4096M (or 1G to 4G), not '%s'", sp->key, value);
		snprintf(out, SETTING_VALUE_MAX, "%lluM", (unsigned long long)(n * mult));
		return 0;
	case SET_PASSES:
		if (parse_uint(&n, value, &end) < 0 || *end || n < 1 || n > KDF_PASSES_MAX)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs a whole number from 1 to %d, not '%s'", sp->key, KDF_PASSES_MAX, value);
		snprintf(out, SETTING_VALUE_MAX, "%llu", (unsigned long long)n);
		return 0;
	case SET_URL:
		/* One word of printable ASCII: it goes into the history's text. */
		for (const char *c = value; *c; c++)
			if (*c <= ' ' || *c > '~')
				end = c;
		if (strlen(value) > VAULT_WITNESS_URL_MAX || end)
			return vault_error_set(VAULT_EUSAGE,
				"setting '%s' needs a git URL or a directory: up to %d printable characters, no spaces",
				sp->key, VAULT_WITNESS_URL_MAX);
		snprintf(out, SETTING_VALUE_MAX, "%s", value);
		return 0;
	}
	return vault_error_set(VAULT_ERROR, "setting '%s' has an unknown type", sp->key);
}

/* The stored lines, sealed under the index key (a witness's address and
 * the working hours say who the vault belongs to); "" when none was ever
 * set. */
static int settings_get(vault_buf *out, MDB_txn *txn, vault *v)
{
	return vault_meta__sealed_text(out, txn, v, "settings");
}

/* The stored value of `key`, or its default; a stored value is checked again. */
static int setting_value(char out[SETTING_VALUE_MAX], int *is_default, const char *list,
	const setting_spec *sp)
{
	size_t klen = strlen(sp->key);

	*is_default = 1;
	for (const char *s = list; s && *s; ) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len > klen && !strncmp(s, sp->key, klen) && s[klen] == ' ') {
			char raw[SETTING_VALUE_MAX];

			/* Only casevault writes these, in normal form: anything
			 * else was changed behind its back. */
			if (len - klen - 1 >= sizeof raw)
				return vault_error_set(VAULT_ECORRUPT, "setting '%s' of the vault is damaged", sp->key);
			memcpy(raw, s + klen + 1, len - klen - 1);
			raw[len - klen - 1] = '\0';
			if (setting_normalize(out, sp, raw) < 0)
				return vault_error_set(VAULT_ECORRUPT, "setting '%s' of the vault is damaged", sp->key);
			*is_default = 0;
			return 0;
		}
		s = e ? e + 1 : NULL;
	}
	return setting_normalize(out, sp, sp->def);
}

typedef struct {
	const setting_spec *sp;
	const char *value;           /* normal form, or NULL to unset */
} setting_args;

static int setting_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	setting_args *a = payload;
	vault_buf old = VAULT_BUF_INIT, list = VAULT_BUF_INIT;
	char value[SETTING_VALUE_MAX];
	int error, dflt;

	/* Changed only from what the signed history holds. */
	if ((error = vault_event__settings_trusted(v, txn)) < 0 ||
	    (error = settings_get(&old, txn, v)) < 0)
		goto done;
	/* Rewritten in the table's order, so the text depends only on the values. */
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting_spec *sp = &settings[i];

		if (sp == a->sp) {
			if (a->value)
				vault_buf_printf(&list, "%s %s\n", sp->key, a->value);
			continue;
		}
		if ((error = setting_value(value, &dflt, old.ptr, sp)) < 0)
			goto done;
		if (!dflt)
			vault_buf_printf(&list, "%s %s\n", sp->key, value);
	}
	if (list.oom) {
		error = vault_error_set_oom();
		goto done;
	}
	if ((error = vault_meta__sealed_put(txn, v, "settings", list.size ? list.ptr : "", list.size)) < 0)
		goto done;
	snprintf(ev->target, sizeof ev->target, "%s", a->sp->key);
	error = vault_event__touch_settings(ev, v, txn);
done:
	vault_buf_dispose(&old);
	vault_buf_dispose(&list);
	return error;
}

/* A zone this machine's tz database has: one the reports can use. */
static int setting_zone_check(const char *zone)
{
	char path[VAULT_ZONE_MAX + 256];

	if (vault_settings__zone_file(path, sizeof path, zone) < 0)
		return vault_error_set(VAULT_EUSAGE,
			"'%s' is not a time zone of the tz database (no zone file %s)", zone, path);
	return 0;
}

int vault_setting_set(vault *v, const char *key, const char *value)
{
	char norm[SETTING_VALUE_MAX];
	setting_args a;
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((a.sp = setting_find(key)) == NULL)
		return vault_error_set(VAULT_EUSAGE, "'%s' is not a setting of casevault", key);
	if (value && (error = setting_normalize(norm, a.sp, value)) < 0)
		return error;
	if (value && a.sp->type == SET_ZONE && (error = setting_zone_check(norm)) < 0)
		return error;
	a.value = value ? norm : NULL;
	return vault_policy__run(v, "setting", setting_fn, &a);
}

int vault_setting_foreach(vault *v, int (*cb)(const vault_setting_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	vault_buf list = VAULT_BUF_INIT;
	char value[SETTING_VALUE_MAX];
	vault_setting_info info;
	int error;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	if ((error = settings_get(&list, txn, v)) < 0)
		goto done;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if ((error = setting_value(value, &info.is_default, list.ptr, &settings[i])) < 0)
			goto done;
		info.key = settings[i].key;
		info.value = value;
		info.help = settings[i].help;
		if ((error = cb(&info, payload)) != 0)
			goto done;
	}
done:
	vault_buf_dispose(&list);
	vault_store__abort(v->st, txn);
	return error;
}

int vault_settings__anomaly(vault_anomaly_settings *out, MDB_txn *txn, vault *v)
{
	vault_buf list = VAULT_BUF_INIT;
	char val[NSETTINGS][SETTING_VALUE_MAX];
	const char *end;
	uint64_t n = 0;
	int error, dflt;

	memset(out, 0, sizeof *out);
	if ((error = vault_event__settings_trusted(v, txn)) < 0 ||
	    (error = settings_get(&list, txn, v)) < 0)
		goto done;
	for (size_t i = 0; i < NSETTINGS; i++)
		if ((error = setting_value(val[i], &dflt, list.ptr, &settings[i])) < 0)
			goto done;
	/* Normal forms: these parse. */
	parse_uint(&out->bulk_count, val[0], &end);
	parse_uint(&n, val[1], &end);
	out->bulk_window = (int64_t)n;
	parse_clock(&out->work_start, val[2], &end);
	parse_clock(&out->work_end, end + 1, &end);
	parse_days(&out->work_days, val[3]);
	snprintf(out->zone, sizeof out->zone, "%.*s", VAULT_ZONE_MAX, val[4]);
	parse_uint(&n, val[5], &end);
	out->membership_window = (int64_t)n;
	parse_uint(&out->unlock_count, val[6], &end);
	parse_uint(&n, val[7], &end);
	out->unlock_window = (int64_t)n;
	parse_uint(&n, val[8], &end);
	out->grant_add_window = (int64_t)n;
	snprintf(out->work_text, sizeof out->work_text, "%.64s %.16s %s", val[3], val[2], out->zone);
done:
	vault_buf_dispose(&list);
	return error;
}

int vault_settings__witness(char url[VAULT_WITNESS_URL_MAX + 1], uint64_t *every, MDB_txn *txn, vault *v)
{
	vault_buf list = VAULT_BUF_INIT;
	char val[SETTING_VALUE_MAX];
	const char *end;
	int error, dflt;

	if ((error = vault_event__settings_trusted(v, txn)) == 0 &&
	    (error = settings_get(&list, txn, v)) == 0 &&
	    (error = setting_value(url, &dflt, list.ptr, setting_find("witness"))) == 0 &&
	    (error = setting_value(val, &dflt, list.ptr, setting_find("witness-every"))) == 0)
		parse_uint(every, val, &end);
	vault_buf_dispose(&list);
	return error;
}

int vault_settings__enrol_ttl(int64_t *out, MDB_txn *txn, vault *v)
{
	vault_buf list = VAULT_BUF_INIT;
	char val[SETTING_VALUE_MAX];
	const char *end;
	uint64_t n = 0;
	int error, dflt;

	if ((error = vault_event__settings_trusted(v, txn)) == 0 &&
	    (error = settings_get(&list, txn, v)) == 0 &&
	    (error = setting_value(val, &dflt, list.ptr, setting_find("enrol-code-ttl"))) == 0)
		parse_uint(&n, val, &end);   /* a normal form: it parses */
	vault_buf_dispose(&list);
	*out = (int64_t)n;
	return error;
}

int vault_settings__kdf_min(vault_kdf_min *out, MDB_txn *txn, vault *v)
{
	vault_buf list = VAULT_BUF_INIT;
	char mem[SETTING_VALUE_MAX], passes[SETTING_VALUE_MAX];
	const char *end;
	int error, mem_dflt = 1, passes_dflt = 1;

	out->passes = out->memory = 0;
	if ((error = vault_event__settings_trusted(v, txn)) == 0 &&
	    (error = settings_get(&list, txn, v)) == 0 &&
	    (error = setting_value(mem, &mem_dflt, list.ptr, setting_find("kdf-min-memory"))) == 0 &&
	    (error = setting_value(passes, &passes_dflt, list.ptr, setting_find("kdf-min-passes"))) == 0) {
		/* Normal forms: they parse. */
		if (!mem_dflt && parse_uint(&out->memory, mem, &end) == 0)
			out->memory <<= 20;
		if (!passes_dflt)
			parse_uint(&out->passes, passes, &end);
	}
	vault_buf_dispose(&list);
	return error;
}
