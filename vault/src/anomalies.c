/*
 * anomalies — the rules of `audit report --anomalies`, one function each,
 * over the events of a report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "report.h"
#include "settings.h"

/* ---- anomalies ------------------------------------------------------------ */

typedef struct {
	const char *rule;
	char user[VAULT_NAME_MAX + 1];
	char case_code[VAULT_CODE_SIZE];
	int64_t from, to, window;
	uint64_t count, limit;
	char detail[160];
} flag;

typedef struct {
	flag *items;
	size_t n, cap;
} flag_list;

static int flag_add(flag_list *l, const flag *f)
{
	int error;

	if ((error = vault_array_grow(&l->items, &l->cap, l->n, sizeof *l->items, 32)) < 0)
		return error;
	l->items[l->n++] = *f;
	return 0;
}

static int flag_cmp(const void *a, const void *b)
{
	const flag *x = a, *y = b;
	int c;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if ((c = strcmp(x->rule, y->rule)) != 0)
		return c;
	return strcmp(x->user, y->user);
}

/* Events picked for a rule, sorted by who, then when. */
typedef struct {
	const char *who;
	int64_t time;
	size_t index;
} pick;

static int pick_cmp(const void *a, const void *b)
{
	const pick *x = a, *y = b;
	int c = strcmp(x->who, y->who);

	if (c)
		return c;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * More than `limit` events of one user within `window` seconds. Each burst
 * is told once: from its first event, as far as the window reaches; the
 * next burst starts after it.
 */
static int bursts(flag_list *out, const pick *p, size_t n, const char *rule, uint64_t limit,
	int64_t window)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j + 1 < n && !strcmp(p[j + 1].who, p[i].who) && p[j + 1].time - p[i].time <= window)
			j++;
		if (j - i + 1 > limit) {
			flag f;
			int error;

			memset(&f, 0, sizeof f);
			f.rule = rule;
			snprintf(f.user, sizeof f.user, "%s", p[i].who);
			f.from = p[i].time;
			f.to = p[j].time;
			f.window = window;
			f.count = j - i + 1;
			f.limit = limit;
			if ((error = flag_add(out, &f)) < 0)
				return error;
			i = j + 1;
		} else {
			i++;
		}
	}
	return 0;
}

/* ---- the vault's time zone ----------------------------------------------- */

/*
 * The C library converts to local time only in the process's zone (TZ), so
 * the off-hours rule sets TZ to the vault's zone around its run and puts
 * the caller's back: a report reads the same in every country. Not thread
 * safe; the audit commands that run the rules are single-threaded.
 */
typedef struct {
	char *tz;            /* the caller's TZ, NULL if unset */
	int set;
} zone_saved;

static int zone_enter(zone_saved *z, const char *zone)
{
	const char *old = getenv("TZ");
	char path[VAULT_ZONE_MAX + 256];

	memset(z, 0, sizeof *z);
	if (vault_settings__zone_file(path, sizeof path, zone) < 0)
		return vault_error_set(VAULT_ENOTFOUND, "the vault's time zone '%s' is not in this "
			"machine's tz database (no zone file %s): install tzdata", zone, path);
	if (old && (z->tz = strdup(old)) == NULL)
		return vault_error_set_oom();
	if (setenv("TZ", zone, 1) < 0) {
		free(z->tz);
		return vault_error_set_oom();
	}
	z->set = 1;
	tzset();
	return 0;
}

static void zone_leave(zone_saved *z)
{
	if (!z->set)
		return;
	if (z->tz)
		setenv("TZ", z->tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(z->tz);
	z->set = 0;
}

/* Is `t` outside the working hours, in the zone entered? An overnight
 * shift (start > end) belongs to the day it starts. */
static int off_hours(const vault_anomaly_settings *s, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int minute, today, yesterday;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	minute = tm.tm_hour * 60 + tm.tm_min;
	today = !!(s->work_days & (1u << tm.tm_wday));
	yesterday = !!(s->work_days & (1u << ((tm.tm_wday + 6) % 7)));
	if (s->work_start < s->work_end)
		return !today || minute < s->work_start || minute >= s->work_end;
	return !((today && minute >= s->work_start) || (yesterday && minute < s->work_end));
}

/* The day of `t` in the zone entered, as days since 1970-01-01 there. */
static int64_t local_day(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) != NULL)
		t += tm.tm_gmtoff;
	return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

/* (a) bulk reads: more than the limit within the window, per reader. */
static int rule_bulk_reads(flag_list *flags, const pick *reads, size_t n,
	const vault_anomaly_settings *s)
{
	return bursts(flags, reads, n, "bulk-reads", s->bulk_count, s->bulk_window);
}

/* (b) reads outside working hours: one flag per user and day, in the
 * vault's zone. */
static int off_hours_flags(flag_list *flags, const pick *reads, size_t n,
	const vault_anomaly_settings *s)
{
	for (size_t i = 0; i < n; ) {
		size_t j = i;
		flag f;
		int error;

		if (!off_hours(s, reads[i].time)) {
			i++;
			continue;
		}
		memset(&f, 0, sizeof f);
		f.rule = "off-hours";
		snprintf(f.user, sizeof f.user, "%s", reads[i].who);
		snprintf(f.detail, sizeof f.detail, "outside %s", s->work_text);
		f.from = f.to = reads[i].time;
		f.window = 86400;
		for (; j < n && !strcmp(reads[j].who, reads[i].who) &&
		       local_day(reads[j].time) == local_day(reads[i].time); j++) {
			if (off_hours(s, reads[j].time)) {
				f.count++;
				f.to = reads[j].time;
			}
		}
		if ((error = flag_add(flags, &f)) < 0)
			return error;
		i = j;
	}
	return 0;
}

static int rule_off_hours(flag_list *flags, const pick *reads, size_t n,
	const vault_anomaly_settings *s)
{
	zone_saved z;
	int error;

	if ((error = zone_enter(&z, s->zone)) < 0)
		return error;
	error = off_hours_flags(flags, reads, n, s);
	zone_leave(&z);
	return error;
}

/* (c) reads of a case soon after a grant or revoke in it: per change and reader. */
static int rule_after_membership_change(flag_list *flags, const report *r, const pick *reads,
	size_t n, const vault_anomaly_settings *s)
{
	for (size_t g = 0; g < r->n; g++) {
		const rep_event *ge = &r->ev[g];

		if ((strcmp(ge->t.action, "grant") && strcmp(ge->t.action, "revoke")) || !ge->t.case_code[0])
			continue;
		for (size_t i = 0; i < n; ) {
			const rep_event *e = &r->ev[reads[i].index];
			size_t j = i;
			flag f;
			int error;

			memset(&f, 0, sizeof f);
			for (; j < n && !strcmp(reads[j].who, reads[i].who); j++) {
				const rep_event *x = &r->ev[reads[j].index];

				if (strcmp(x->t.case_code, ge->t.case_code) || x->time < ge->time ||
				    x->time - ge->time > s->membership_window || reads[j].index < g)
					continue;
				if (!f.count)
					f.from = x->time;
				f.to = x->time;
				f.count++;
			}
			if (f.count) {
				f.rule = "after-membership-change";
				snprintf(f.user, sizeof f.user, "%s", e->t.actor);
				snprintf(f.case_code, sizeof f.case_code, "%s", ge->t.case_code);
				snprintf(f.detail, sizeof f.detail, "%s of %s by %s at event %.12s", ge->t.action,
					ge->t.target, ge->t.actor, ge->hex);
				f.window = s->membership_window;
				if ((error = flag_add(flags, &f)) < 0)
					return error;
			}
			i = j;
		}
	}
	return 0;
}

/* (d) bursts of failed unlocks, per user tried. */
static int rule_failed_unlocks(flag_list *flags, const pick *fails, size_t n,
	const vault_anomaly_settings *s)
{
	return bursts(flags, fails, n, "failed-unlocks", s->unlock_count, s->unlock_window);
}

/*
 * (e) a grant to a user whom the same admin added shortly before. Only
 * admins add users and grant them cases, so one admin can make a user
 * whose passphrase they chose and give it a case: the way around "admins
 * hold no case keys". A grant by another admin is the four-eyes way, and
 * is not flagged. The user-add may lie before the report's range.
 */
static int rule_grant_after_add(flag_list *flags, const report *r, const vault_anomaly_settings *s)
{
	int error;

	for (size_t g = 0; g < r->n; g++) {
		const rep_event *ge = &r->ev[g];

		if (strcmp(ge->t.action, "grant") || !vault_report__in_range(r, ge))
			continue;
		/* The latest add of the grantee before the grant. */
		for (size_t i = g; i-- > 0; ) {
			const rep_event *ae = &r->ev[i];
			flag f;

			if (strcmp(ae->t.action, "user-add") || strcmp(ae->t.target, ge->t.target))
				continue;
			if (strcmp(ae->t.actor, ge->t.actor) || ge->time - ae->time > s->grant_add_window)
				break;
			memset(&f, 0, sizeof f);
			f.rule = "grant-after-add";
			snprintf(f.user, sizeof f.user, "%s", ge->t.actor);
			snprintf(f.case_code, sizeof f.case_code, "%s", ge->t.case_code);
			snprintf(f.detail, sizeof f.detail, "granted %s, whom they added at event %.12s",
				ge->t.target, ae->hex);
			f.from = ae->time;
			f.to = ge->time;
			f.count = 1;
			f.window = s->grant_add_window;
			if ((error = flag_add(flags, &f)) < 0)
				return error;
			break;
		}
	}
	return 0;
}

/* The flags, oldest first, as report lines. */
static int emit_flags(report *r, flag_list *flags)
{
	int error = 0;

	if (flags->n)           /* no flag: no list to sort */
		qsort(flags->items, flags->n, sizeof *flags->items, flag_cmp);
	for (size_t i = 0; i < flags->n && !error; i++) {
		const flag *f = &flags->items[i];
		vault_report_line line;

		memset(&line, 0, sizeof line);
		line.kind = VAULT_LINE_FLAG;
		line.rule = f->rule;
		line.user = f->user;
		line.case_code = f->case_code;
		line.from = f->from;
		line.to = f->to;
		line.count = f->count;
		line.limit = f->limit;
		line.window = f->window;
		line.detail = f->detail;
		error = r->cb(&line, r->payload);
	}
	return error;
}

int vault_report__anomalies(report *r)
{
	vault_anomaly_settings s;
	flag_list flags = { NULL, 0, 0 };
	pick *reads = NULL, *fails = NULL;
	size_t nreads = 0, nfails = 0;
	int error;

	if ((error = vault_settings__anomaly(&s, r->txn, r->v)) < 0)
		return error;
	reads = calloc(r->n ? r->n : 1, sizeof *reads);
	fails = calloc(r->n ? r->n : 1, sizeof *fails);
	if (!reads || !fails) {
		error = vault_error_set_oom();
		goto done;
	}
	/* The reads and failed unlocks of the range, by who, then when. */
	for (size_t i = 0; i < r->n; i++) {
		const rep_event *e = &r->ev[i];

		if (!vault_report__in_range(r, e))
			continue;
		if (!strcmp(e->t.action, "read"))
			reads[nreads++] = (pick){ e->t.actor, e->time, i };
		else if (!strcmp(e->t.action, "unlock-failed"))
			fails[nfails++] = (pick){ e->t.target[0] ? e->t.target : e->t.actor, e->time, i };
	}
	qsort(reads, nreads, sizeof *reads, pick_cmp);
	qsort(fails, nfails, sizeof *fails, pick_cmp);
	if ((error = rule_bulk_reads(&flags, reads, nreads, &s)) == 0 &&
	    (error = rule_off_hours(&flags, reads, nreads, &s)) == 0 &&
	    (error = rule_after_membership_change(&flags, r, reads, nreads, &s)) == 0 &&
	    (error = rule_failed_unlocks(&flags, fails, nfails, &s)) == 0 &&
	    (error = rule_grant_after_add(&flags, r, &s)) == 0)
		error = emit_flags(r, &flags);
done:
	free(flags.items);
	free(reads);
	free(fails);
	return error;
}
