/*
 * Tests for the auditor's views (report.c, show.c, anomalies.c): the log
 * and its filters (vault_audit_query), one event in full
 * (vault_audit_show), the reports about a case, a user and a removed
 * member, the anomaly rules (vault_audit_report), and what report.h
 * shares (the audit key, notes, events, the range).
 *
 * Two vaults are built. The first through the public API only: users, two
 * cases, files and versions, grants, reads with a note of purpose, a
 * revoke, a failed unlock, a setting. The second has events at chosen
 * moments, for the time filters and the anomaly rules: the library's own
 * writer (vault_event__commit: the action table's check, the actor's
 * signature) records them with the time it is given, as the event runner
 * does with the clock. Damage is done on copies, with rawdb.
 */
#define _GNU_SOURCE   /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "event.h"
#include "history.h"
#include "report.h"
#include "harness.h"
#include "rawdb.h"

static char base[512];           /* the vault of real events */
static char timed[512];          /* the vault with events at chosen moments */
static char work[512];           /* where copies go */
static int ncopies;
static char c1[VAULT_CODE_SIZE], c2[VAULT_CODE_SIZE];
static char anode[17], bnode[17], xnode[17];   /* C1/a.txt, C1/sub/b.txt, C2/x.txt */
static support_log hist;         /* the base vault's log */

/*
 * The base vault's events, in order; the tests below name them so. Their
 * actions are checked against the vault's log before any test runs: a
 * change in what the library records fails there, loudly.
 */
enum {
	E_INIT,
	E_ADD_ALICE, E_ENROL_ALICE, E_ADD_BOB, E_ENROL_BOB,
	E_ADD_CAROL, E_ENROL_CAROL, E_ADD_AUD, E_ENROL_AUD,
	E_C1, E_A1, E_A2, E_MKDIR, E_B1,     /* alice: C1, a.txt v1 and v2, sub/, sub/b.txt v1 */
	E_C2, E_X1,                          /* alice: C2, x.txt v1 */
	E_AUDIT_KEY,                         /* dpo seals the audit key to aud */
	E_GRANT_C1, E_GRANT_C2,              /* dpo: bob ro in C1, rw in C2 */
	E_REKEY_1, E_REKEY_2,                /* alice: for bob, in the order of the codes */
	E_READ_A, E_READ_B,                  /* bob: a.txt v2 (a note), sub/b.txt */
	E_REVOKE, E_REKEY_3, E_A3,           /* dpo revokes bob from C1; alice: a new epoch, a.txt v3 */
	E_FAILED, E_SETTING,                 /* carol's failed unlock; dpo's setting */
	NBASE
};

static const char *const base_actions[NBASE] = {
	[E_INIT] = "init",
	[E_ADD_ALICE] = "user-add", [E_ENROL_ALICE] = "enrol",
	[E_ADD_BOB] = "user-add", [E_ENROL_BOB] = "enrol",
	[E_ADD_CAROL] = "user-add", [E_ENROL_CAROL] = "enrol",
	[E_ADD_AUD] = "user-add", [E_ENROL_AUD] = "enrol",
	[E_C1] = "case-create", [E_A1] = "write", [E_A2] = "write", [E_MKDIR] = "mkdir", [E_B1] = "write",
	[E_C2] = "case-create", [E_X1] = "write",
	[E_AUDIT_KEY] = "audit-key",
	[E_GRANT_C1] = "grant", [E_GRANT_C2] = "grant",
	[E_REKEY_1] = "rekey", [E_REKEY_2] = "rekey",
	[E_READ_A] = "read", [E_READ_B] = "read",
	[E_REVOKE] = "revoke", [E_REKEY_3] = "rekey", [E_A3] = "write",
	[E_FAILED] = "unlock-failed", [E_SETTING] = "setting",
};

/* ---- helpers ------------------------------------------------------------- */

static vault *open_as(const char *dir, const char *user)
{
	return support_open_as(dir, user, user ? support_pass(user) : NULL);
}

/* A fresh copy of `from` (closed: rawdb may edit it). */
static const char *copy_of(const char *from)
{
	static char dir[600];

	snprintf(dir, sizeof dir, "%s/c%02d", work, ncopies++);
	CHECK(rawdb_copy_dir(from, dir) == 0);
	return dir;
}

/* A copy of the base vault, opened as `user`. */
static vault *open_copy(const char *user)
{
	return open_as(copy_of(base), user);
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static void node_of(char out[17], vault *v, const char *path)
{
	vault_stat_info st;

	out[0] = '\0';
	CHECK_RC(vault_stat(&st, v, path), 0);
	snprintf(out, 17, "%s", st.node);
}

/* The time of base event `i`. */
static int64_t t_of(size_t i)
{
	return i < hist.n ? hist.ev[i].time : -1;
}

/* Event `i` (from 0) as show names it by number: "#" and i + 1. */
static const char *nth(size_t i)
{
	static char buf[4][24];
	static unsigned k;
	char *b = buf[k++ % 4];

	snprintf(b, sizeof buf[0], "#%zu", i + 1);
	return b;
}

/* The base vault's log has the events the names above give, in order. */
static int base_is_as_named(void)
{
	int same = hist.n == NBASE;

	for (size_t i = 0; same && i < NBASE; i++)
		same = base_actions[i] && !strcmp(hist.ev[i].action, base_actions[i]);
	if (!same)
		for (size_t i = 0; i < hist.n || i < NBASE; i++)
			fprintf(stderr, "test_report: base event %zu is '%s', named '%s'\n", i,
				i < hist.n ? hist.ev[i].action : "(none)",
				i < NBASE && base_actions[i] ? base_actions[i] : "(none)");
	return same;
}

/* The events of `l` are base events `want` (indexes, -1 ended), in order. */
static int is_base_events(const support_log *l, const int *want)
{
	size_t n = 0;

	for (; want[n] >= 0; n++)
		if (n >= l->n || (size_t)want[n] >= hist.n || strcmp(l->ev[n].commit, hist.ev[want[n]].commit))
			break;
	if (want[n] >= 0 || n != l->n) {
		fprintf(stderr, "got %zu events:", l->n);
		for (size_t i = 0; i < l->n; i++)
			for (size_t k = 0; k < hist.n; k++)
				if (!strcmp(l->ev[i].commit, hist.ev[k].commit))
					fprintf(stderr, " %zu", k);
		fprintf(stderr, "\n");
		return 0;
	}
	return 1;
}

/* Write `text` at CODE/name; its node in `node` (if not NULL). */
static void put_text(vault *v, const char *code, const char *name, const char *text, char node[17])
{
	char p[96];

	snprintf(p, sizeof p, "%s/%s", code, name);
	CHECK_RC(support_put(v, p, text, strlen(text), NULL), 0);
	if (node)
		node_of(node, v, p);
}

/* A new case `code`, with one file `name` holding `text` (its node in `node`). */
static void case_with_file(char code[VAULT_CODE_SIZE], vault *v, const char *label,
	const char *name, const char *text, char node[17])
{
	CHECK_RC(vault_case_create(code, v, label), 0);
	put_text(v, code, name, text, node);
}

static void get_text(vault *v, const char *code, const char *name, const char *purpose,
	const char *note)
{
	char p[96];
	mem_sink sink = { 0 };

	snprintf(p, sizeof p, "%s/%s", code, name);
	CHECK_RC(support_get(v, p, purpose, note, &sink), 0);
	mem_sink_free(&sink);
}

/* An event recorded at `when` by the writer, as the user unlocked in `v`. */
typedef struct {
	const char *action;
	const char *code;            /* or NULL */
	const char *node;            /* hex, or NULL */
	uint32_t version;
	const char *target;          /* or NULL */
	const char *note;            /* the Purpose-Note's value as written, or NULL */
} placed;

static void record_at(vault *v, const placed *p, int64_t when)
{
	MDB_txn *txn = NULL;
	vault_event ev;
	git_oid id;
	int error;

	vault_event__init(&ev, p->action);
	if (p->code)
		snprintf(ev.case_code, sizeof ev.case_code, "%s", p->code);
	if (p->node)
		ev.node = strtoull(p->node, NULL, 16);
	ev.version = p->version;
	if (p->target)
		snprintf(ev.target, sizeof ev.target, "%s", p->target);
	if (p->note)
		ev.note = strdup(p->note);
	if ((error = vault_store__begin(&txn, v->st, 1)) == 0) {
		vault_store__cur = txn;
		if ((error = vault_event__commit(&id, &ev, v, txn, when)) == 0)
			error = vault_store__commit(v->st, txn);
		else
			vault_store__abort(v->st, txn);
	}
	CHECK_RC(error, 0);
	vault_event__dispose(&ev);
}

/* ---- the two vaults ------------------------------------------------------ */

static void build_base(void)
{
	vault *v;

	if ((v = support_vault_with_users(base)) == NULL)
		return;
	vault_close(v);
	if ((v = open_as(base, "alice")) != NULL) {
		char p[64];

		case_with_file(c1, v, "intake", "a.txt", "one", NULL);
		put_text(v, c1, "a.txt", "two", anode);
		snprintf(p, sizeof p, "%s/sub", c1);
		CHECK_RC(vault_mkdir(v, p), 0);
		put_text(v, c1, "sub/b.txt", "bee", bnode);
		case_with_file(c2, v, "other", "x.txt", "ex", xnode);
		vault_close(v);
	}
	if ((v = open_as(base, "dpo")) != NULL) {
		CHECK_RC(vault_case_grant(v, c1, "bob", 1), 0);
		CHECK_RC(vault_case_grant(v, c2, "bob", 0), 0);
		vault_close(v);
	}
	if ((v = open_as(base, "alice")) != NULL)     /* delivers the keys to bob */
		vault_close(v);
	if ((v = open_as(base, "bob")) != NULL) {
		get_text(v, c1, "a.txt", "legal", "second opinion");
		get_text(v, c1, "sub/b.txt", "care", NULL);
		vault_close(v);
	}
	if ((v = open_as(base, "dpo")) != NULL) {
		CHECK_RC(vault_case_revoke(v, c1, "bob"), 0);
		vault_close(v);
	}
	if ((v = open_as(base, "alice")) != NULL) {   /* a new epoch, then v3 */
		put_text(v, c1, "a.txt", "three", NULL);
		vault_close(v);
	}
	if ((v = open_as(base, NULL)) != NULL) {
		CHECK_RC(vault_unlock(v, "carol", "wrong", 5), VAULT_EAUTH);
		vault_close(v);
	}
	if ((v = open_as(base, "dpo")) != NULL) {
		CHECK_RC(vault_setting_set(v, "bulk-read-count", "5"), 0);
		CHECK_RC(support_log_read(&hist, v, NULL), 0);
		vault_close(v);
	}
}

/* The moments of the timed vault (all UTC; 2030-01-07 is a Monday). */
static int64_t grant_time;               /* G: bob's grant to C1, a real event */
static int64_t bob_added;                /* dpo's user-add of bob, moments before G */
#define TUE utc(2030, 1, 8, 0, 0, 0)
#define WED utc(2030, 1, 9, 0, 0, 0)
#define THU utc(2030, 1, 10, 0, 0, 0)
#define FRI utc(2030, 1, 11, 0, 0, 0)
#define SAT utc(2030, 1, 12, 0, 0, 0)
#define MON2 utc(2030, 1, 14, 0, 0, 0)
#define TUE2 utc(2030, 1, 15, 0, 0, 0)
#define HM(h, m, s) ((int64_t)(h) * 3600 + (m) * 60 + (s))
#define DAY 86400

static char tc1[VAULT_CODE_SIZE], tc2[VAULT_CODE_SIZE], tnode[17], tnode2[17];
static char grant_hex[VAULT_OID_SIZE];

/* `n` reads of C1/a.txt by the user of `v`, at `day` + each offset. */
static void reads_at(vault *v, int64_t day, const int64_t *offs, size_t n)
{
	placed rd = { "read", tc1, tnode, 1, NULL, NULL };

	for (size_t i = 0; i < n; i++)
		record_at(v, &rd, day + offs[i]);
}

static void build_timed(void)
{
	static const int64_t tue[] = {
		HM(10, 0, 0), HM(10, 20, 0), HM(10, 40, 0), HM(11, 0, 0),     /* 4 in 3600 s */
		HM(14, 0, 0), HM(14, 10, 0), HM(14, 20, 0), HM(14, 30, 0),    /* and 4 more */
	};
	static const int64_t wed[] = {                                        /* 3 in 3600 s */
		HM(10, 0, 0), HM(10, 20, 0), HM(10, 40, 0), HM(11, 0, 1),
	};
	static const int64_t thu[] = { HM(6, 59, 59), HM(7, 0, 0), HM(18, 59, 59), HM(19, 0, 0) };
	static const int64_t fri[] = { HM(7, 0, 0), HM(18, 59, 59) };
	static const int64_t sat[] = { HM(12, 0, 0), HM(12, 0, 1), HM(12, 0, 2), HM(12, 0, 3) };
	placed fail = { "unlock-failed", NULL, NULL, 0, "carol", NULL };
	support_log l;
	vault *v;
	long g;

	if ((v = support_vault_with_users(timed)) == NULL)
		return;
	CHECK_RC(vault_setting_set(v, "bulk-read-count", "3"), 0);
	CHECK_RC(vault_setting_set(v, "membership-read-window", "10m"), 0);
	CHECK_RC(vault_setting_set(v, "failed-unlock-count", "2"), 0);
	vault_close(v);
	if ((v = open_as(timed, "alice")) != NULL) {
		case_with_file(tc1, v, "one", "a.txt", "a", tnode);
		case_with_file(tc2, v, "two", "b.txt", "b", tnode2);
		vault_close(v);
	}
	if ((v = open_as(timed, "dpo")) != NULL) {
		CHECK_RC(vault_case_grant(v, tc1, "bob", 1), 0);
		CHECK_RC(support_log_read(&l, v, NULL), 0);
		g = support_log_find(&l, "grant", 0);
		CHECK(g >= 0);
		if (g >= 0) {
			grant_time = l.ev[g].time;
			memcpy(grant_hex, l.ev[g].commit, sizeof grant_hex);
		}
		for (long i = 0; (g = support_log_find(&l, "user-add", (int)i)) >= 0; i++)
			if (!strcmp(l.ev[g].target, "bob"))
				bob_added = l.ev[g].time;
		support_log_free(&l);
		vault_close(v);
	}
	if ((v = open_as(timed, "alice")) == NULL)   /* delivers the key to bob */
		return;
	/* alice reads C1 just before the grant and just after the window, C2 within it. */
	{
		placed rd2 = { "read", tc2, tnode2, 1, NULL, NULL };
		const int64_t offs[] = { -1, 601 };

		reads_at(v, grant_time, offs, 2);
		record_at(v, &rd2, grant_time + 10);
	}
	/* Failed unlocks: carol three times in 600 s; then twice, 601 s apart,
	 * with one of alice's between. */
	record_at(v, &fail, MON2 + HM(10, 0, 0));
	record_at(v, &fail, MON2 + HM(10, 5, 0));
	record_at(v, &fail, MON2 + HM(10, 10, 0));
	record_at(v, &fail, TUE2 + HM(10, 0, 0));
	record_at(v, &fail, TUE2 + HM(10, 10, 1));
	fail.target = "alice";
	record_at(v, &fail, TUE2 + HM(10, 5, 0));
	vault_close(v);

	if ((v = open_as(timed, "bob")) != NULL) {
		const int64_t offs[] = { 0, 600 };
		placed odd = { "read", tc1, "00000000000000a1", 1, NULL, NULL };

		reads_at(v, grant_time, offs, 2);
		reads_at(v, TUE, tue, 8);
		reads_at(v, WED, wed, 4);
		reads_at(v, THU, thu, 4);
		reads_at(v, FRI, fri, 2);
		reads_at(v, SAT, sat, 4);
		/* A read naming a node with leading zeros, for --node. */
		record_at(v, &odd, utc(2031, 1, 1, 12, 0, 0));
		vault_close(v);
	}
}

/* ---- vault_audit_query ---------------------------------------------------- */

/* The log of the base vault through `o`: base events `want`. */
static void expect_query(vault *v, const vault_log_options *o, const int *want)
{
	support_log l;

	CHECK_RC(support_log_read(&l, v, o), 0);
	CHECK(is_base_events(&l, want));
	support_log_free(&l);
}

/* The log of the base vault through `o` is refused with `rc`, and tells no event. */
static void expect_query_refused(vault *v, const vault_log_options *o, int rc, const char *msg)
{
	support_log l;

	CHECK_RC(support_log_read(&l, v, o), rc);
	CHECK(l.n == 0);
	if (msg && !strstr(vault_error_last()->message, msg))
		fprintf(stderr, "refused with '%s', want '%s'\n", vault_error_last()->message, msg);
	CHECK(!msg || strstr(vault_error_last()->message, msg));
	support_log_free(&l);
}

static void test_query_all(void)
{
	support_log l;
	vault *v;

	for (size_t i = 0; i < hist.n; i++) {
		CHECK(strlen(hist.ev[i].commit) == 40);
		CHECK(i == 0 || hist.ev[i].time >= hist.ev[i - 1].time);
		CHECK(!strcmp(hist.ev[i].via, "cli"));
		CHECK(hist.ev[i].note == NULL);
	}
	/* Who did what, about whom, in which case, with what access. */
	CHECK(!strcmp(hist.ev[E_INIT].actor, "dpo") && !strcmp(hist.ev[E_INIT].target, "dpo"));
	CHECK(!strcmp(hist.ev[E_ADD_BOB].target, "bob") && !strcmp(hist.ev[E_ADD_BOB].actor, "dpo"));
	CHECK(!strcmp(hist.ev[E_ENROL_BOB].actor, "bob"));
	CHECK(!strcmp(hist.ev[E_AUDIT_KEY].actor, "dpo") && !strcmp(hist.ev[E_AUDIT_KEY].target, "aud"));
	CHECK(!strcmp(hist.ev[E_A1].actor, "alice") && !strcmp(hist.ev[E_A1].case_code, c1));
	CHECK(!strcmp(hist.ev[E_A2].node, anode) && hist.ev[E_A2].version == 2);
	CHECK(!strcmp(hist.ev[E_B1].node, bnode) && hist.ev[E_B1].version == 1);
	CHECK(!strcmp(hist.ev[E_X1].node, xnode) && !strcmp(hist.ev[E_X1].case_code, c2));
	CHECK(!strcmp(hist.ev[E_GRANT_C1].access, "ro") && !strcmp(hist.ev[E_GRANT_C1].target, "bob"));
	CHECK(!strcmp(hist.ev[E_GRANT_C2].access, "rw") && !strcmp(hist.ev[E_GRANT_C2].case_code, c2));
	CHECK(!strcmp(hist.ev[E_READ_A].actor, "bob") && !strcmp(hist.ev[E_READ_A].purpose, "legal"));
	CHECK(!strcmp(hist.ev[E_READ_A].node, anode) && hist.ev[E_READ_A].version == 2);
	CHECK(!strcmp(hist.ev[E_READ_B].purpose, "care") && !strcmp(hist.ev[E_READ_B].node, bnode));
	CHECK(!strcmp(hist.ev[E_REVOKE].access, "ro") && !strcmp(hist.ev[E_REVOKE].actor, "dpo"));
	CHECK(!strcmp(hist.ev[E_A3].node, anode) && hist.ev[E_A3].version == 3);
	CHECK(!strcmp(hist.ev[E_FAILED].actor, "carol") && !strcmp(hist.ev[E_FAILED].target, "carol"));
	CHECK(!strcmp(hist.ev[E_SETTING].target, "bulk-read-count"));
	/* Only grants and revokes carry an access. */
	for (size_t i = 0; i < NBASE; i++)
		CHECK(!hist.ev[i].access[0] || i == E_GRANT_C1 || i == E_GRANT_C2 || i == E_REVOKE);

	/* The history is encrypted: no log without a user. */
	if ((v = open_as(base, NULL)) != NULL) {
		vault_log_options o = VAULT_LOG_OPTIONS_INIT;

		expect_query_refused(v, &o, VAULT_EAUTH, "no user is unlocked");
		vault_close(v);
	}
	/* Any user, a caseworker too; options at their defaults are no filter. */
	if ((v = open_as(base, "bob")) != NULL) {
		vault_log_options o = VAULT_LOG_OPTIONS_INIT;
		int all[NBASE + 1];

		for (int i = 0; i < NBASE; i++)
			all[i] = i;
		all[NBASE] = -1;
		CHECK_RC(support_log_read(&l, v, &o), 0);
		CHECK(is_base_events(&l, all));
		support_log_free(&l);
		vault_close(v);
	}
}

static void test_query_filters(void)
{
	static const char *const grants[] = { "grant", "revoke", NULL };
	static const char *const reads[] = { "read", NULL };
	static const char *const writes[] = { "write", NULL };
	static const char *const none[] = { NULL };
	static const char *const typo[] = { "read", "shred", NULL };
	/* The two rekeys after the grants come in the order of the codes. */
	const int k1 = !strcmp(hist.ev[E_REKEY_1].case_code, c1) ? E_REKEY_1 : E_REKEY_2;
	const int k2 = E_REKEY_1 + E_REKEY_2 - k1;
	const struct {
		const char *code, *user, *node;
		const char *const *actions;
		int want[16];
	} filters[] = {
		/* --case: the events of that case only. */
		{ c1, NULL, NULL, NULL, { E_C1, E_A1, E_A2, E_MKDIR, E_B1, E_GRANT_C1, k1,
			E_READ_A, E_READ_B, E_REVOKE, E_REKEY_3, E_A3, -1 } },
		{ c2, NULL, NULL, NULL, { E_C2, E_X1, E_GRANT_C2, k2, -1 } },
		/* --user: the actor, not the target of an event. */
		{ NULL, "alice", NULL, NULL, { E_ENROL_ALICE, E_C1, E_A1, E_A2, E_MKDIR, E_B1, E_C2, E_X1,
			E_REKEY_1, E_REKEY_2, E_REKEY_3, E_A3, -1 } },
		{ NULL, "bob", NULL, NULL, { E_ENROL_BOB, E_READ_A, E_READ_B, -1 } },
		{ NULL, "carol", NULL, NULL, { E_ENROL_CAROL, E_FAILED, -1 } },
		/* The target of the audit key's event, and actor of their enrol only. */
		{ NULL, "aud", NULL, NULL, { E_ENROL_AUD, -1 } },
		/* A known user with none of those actions: no events, no error. */
		{ NULL, "aud", NULL, reads, { -1 } },
		/* --action, one or several. */
		{ NULL, NULL, NULL, grants, { E_GRANT_C1, E_GRANT_C2, E_REVOKE, -1 } },
		{ c1, NULL, NULL, writes, { E_A1, E_A2, E_B1, E_A3, -1 } },
		/* An empty list of actions lets nothing through. */
		{ NULL, NULL, NULL, none, { -1 } },
		/* --node: the events that name it. */
		{ NULL, NULL, anode, NULL, { E_A1, E_A2, E_READ_A, E_A3, -1 } },
		{ NULL, NULL, bnode, NULL, { E_B1, E_READ_B, -1 } },
		/* All filters together. */
		{ c1, "bob", NULL, reads, { E_READ_A, E_READ_B, -1 } },
		{ c1, "bob", bnode, reads, { E_READ_B, -1 } },
		{ c2, "bob", NULL, reads, { -1 } },
	};
	/* Names the history never had, and malformed filters: refused. */
	const struct {
		const char *code, *user, *node;
		const char *const *actions;
		const char *msg;
	} refused[] = {
		{ "C-ZZZZZZZZ", NULL, NULL, NULL, "C-ZZZZZZZZ" },
		{ NULL, "zed", NULL, NULL, "'zed'" },
		/* A setting's key is the target of its event, but no user. */
		{ NULL, "bulk-read-count", NULL, NULL, "'bulk-read-count'" },
		{ NULL, NULL, NULL, typo, "'shred'" },
		{ NULL, NULL, "", NULL, "node" },
		{ NULL, NULL, "0123456789abcdef0", NULL, "node" },
		{ NULL, NULL, "ABC", NULL, "node" },
		{ NULL, NULL, "xyz", NULL, "node" },
	};
	vault_log_options o = VAULT_LOG_OPTIONS_INIT;
	vault *v = open_as(base, "dpo");

	if (!v)
		return;
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
		o.case_code = filters[i].code;
		o.user = filters[i].user;
		o.node = filters[i].node;
		o.actions = filters[i].actions;
		expect_query(v, &o, filters[i].want);
	}
	/* A suffix of a node id is not that id (leading zeros aside). */
	if (anode[0] != '0') {
		const int nothing[] = { -1 };

		o = (vault_log_options)VAULT_LOG_OPTIONS_INIT;
		o.node = anode + 1;
		expect_query(v, &o, nothing);
	}
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		o.case_code = refused[i].code;
		o.user = refused[i].user;
		o.node = refused[i].node;
		o.actions = refused[i].actions;
		expect_query_refused(v, &o, VAULT_EUSAGE, refused[i].msg);
	}
	o = (vault_log_options)VAULT_LOG_OPTIONS_INIT;
	o.version = VAULT_LOG_OPTIONS_VERSION + 1;
	expect_query_refused(v, &o, VAULT_EUSAGE, "version");
	vault_close(v);
}

static int stop_third(const vault_event_info *e, const char *note, void *payload)
{
	return ++*(int *)payload == 3 ? 9 : 0;
}

static void test_query_notes(void)
{
	vault_log_options o = VAULT_LOG_OPTIONS_INIT;
	support_log l;
	vault *v;
	int calls = 0;

	/* The note opens for an auditor and an admin, on that event only. */
	o.notes = 1;
	if ((v = open_as(base, "aud")) != NULL) {
		CHECK_RC(support_log_read(&l, v, &o), 0);
		CHECK(l.n == NBASE);
		for (size_t i = 0; i < l.n; i++)
			CHECK(i == E_READ_A ? l.ev[i].note && !strcmp(l.ev[i].note, "second opinion") :
				l.ev[i].note == NULL);
		support_log_free(&l);
		vault_close(v);
	}
	if ((v = open_as(base, "dpo")) != NULL) {
		o.case_code = c1;
		o.user = "bob";
		CHECK_RC(support_log_read(&l, v, &o), 0);
		CHECK(l.n == 2 && l.ev[0].note && !strcmp(l.ev[0].note, "second opinion") && !l.ev[1].note);
		support_log_free(&l);
		o.case_code = NULL;
		o.user = NULL;
		vault_close(v);
	}
	/* Not without a user (the history is encrypted), nor for a caseworker. */
	if ((v = open_as(base, NULL)) != NULL) {
		expect_query_refused(v, &o, VAULT_EAUTH, "no user is unlocked");
		vault_close(v);
	}
	if ((v = open_as(base, "bob")) != NULL) {
		expect_query_refused(v, &o, VAULT_EACCES, "admins and auditors");
		/* Without notes, none is given. */
		o.notes = 0;
		CHECK_RC(support_log_read(&l, v, &o), 0);
		CHECK(l.n == NBASE && l.ev[E_READ_A].note == NULL);
		support_log_free(&l);
		/* The callback's answer stops the walk and is returned. */
		CHECK_RC(vault_audit_query(v, NULL, stop_third, &calls), 9);
		CHECK(calls == 3);
		vault_close(v);
	}
}

/* Time and node filters on the timed vault, where the moments are known. */
static void test_query_time(void)
{
	vault_log_options o = VAULT_LOG_OPTIONS_INIT;
	support_log l;
	vault *v = open_as(timed, "dpo");

	if (!v)
		return;
	/* A whole day: bob's eight reads of Tuesday, oldest first. */
	o.since = TUE;
	o.until = TUE + DAY - 1;
	CHECK_RC(support_log_read(&l, v, &o), 0);
	CHECK(l.n == 8);
	for (size_t i = 0; i < l.n; i++) {
		CHECK(!strcmp(l.ev[i].action, "read") && !strcmp(l.ev[i].actor, "bob"));
		CHECK(i == 0 || l.ev[i].time > l.ev[i - 1].time);
	}
	CHECK(l.n == 8 && l.ev[0].time == TUE + HM(10, 0, 0) && l.ev[7].time == TUE + HM(14, 30, 0));
	support_log_free(&l);
	/* Both ends are in. */
	o.since = TUE + HM(10, 0, 0);
	o.until = TUE + HM(10, 40, 0);
	CHECK_RC(support_log_read(&l, v, &o), 0);
	CHECK(l.n == 3);
	support_log_free(&l);
	o.since++;
	o.until--;
	CHECK_RC(support_log_read(&l, v, &o), 0);
	CHECK(l.n == 1 && l.ev[0].time == TUE + HM(10, 20, 0));
	support_log_free(&l);
	/* A known user with no events in the range: none, no error. */
	o.user = "alice";
	CHECK_RC(support_log_read(&l, v, &o), 0);
	CHECK(l.n == 0);
	support_log_free(&l);
	o.user = NULL;
	/* Only a start, or only an end. */
	o.since = utc(2031, 1, 1, 0, 0, 0);
	o.until = 0;
	CHECK_RC(support_log_read(&l, v, &o), 0);
	CHECK(l.n == 1 && !strcmp(l.ev[0].node, "00000000000000a1"));
	support_log_free(&l);
	o.since = 0;
	o.until = grant_time - 1;
	CHECK_RC(support_log_read(&l, v, &o), 0);
	CHECK(l.n >= 1 && support_log_find(&l, "grant", 0) < 0);
	for (size_t i = 0; i < l.n; i++)
		CHECK(l.ev[i].time <= grant_time - 1);
	support_log_free(&l);
	o.until = 0;

	/* Leading zeros of a node id may be left out; other digits may not. */
	{
		static const char *const match[] = { "a1", "0a1", "00000000000000a1", NULL };
		static const char *const miss[] = { "1", "a", "b1", "a10", NULL };

		for (size_t i = 0; match[i]; i++) {
			o.node = match[i];
			CHECK_RC(support_log_read(&l, v, &o), 0);
			CHECK(l.n == 1);
			support_log_free(&l);
		}
		for (size_t i = 0; miss[i]; i++) {
			o.node = miss[i];
			CHECK_RC(support_log_read(&l, v, &o), 0);
			CHECK(l.n == 0);
			support_log_free(&l);
		}
	}
	vault_close(v);
}

/* ---- vault_audit_show ---------------------------------------------------- */

#define MAXCH 16

typedef struct {
	int calls, ret;
	support_log ev;
	uint64_t index;
	char parent[VAULT_OID_SIZE], tree[VAULT_OID_SIZE], signer[VAULT_NAME_MAX + 1];
	vault_sig_t signature;
	int has_note, note_given;
	char note[64];
	size_t nchanges;
	char path[MAXCH][80];
	char change[MAXCH];
} shown;

static int show_cb(const vault_event_detail *d, void *payload)
{
	shown *s = payload;

	s->calls++;
	if (support_log_add(&s->ev, d->info, d->note) < 0)
		return -1;
	s->index = d->index;
	snprintf(s->parent, sizeof s->parent, "%s", d->parent);
	snprintf(s->tree, sizeof s->tree, "%s", d->tree);
	snprintf(s->signer, sizeof s->signer, "%s", d->signer);
	s->signature = d->signature;
	s->has_note = d->has_note;
	s->note_given = d->note != NULL;
	snprintf(s->note, sizeof s->note, "%s", d->note ? d->note : "");
	s->nchanges = d->nchanges;
	for (size_t i = 0; i < d->nchanges && i < MAXCH; i++) {
		snprintf(s->path[i], sizeof s->path[i], "%s", d->changes[i].path);
		s->change[i] = d->changes[i].change;
	}
	return s->ret;
}

static int show(shown *s, vault *v, const char *id, int notes)
{
	int rc;

	memset(s, 0, sizeof *s);
	rc = vault_audit_show(v, id, notes, show_cb, s);
	CHECK(rc < 0 ? s->calls == 0 : s->calls == 1);
	return rc;
}

static void shown_free(shown *s)
{
	support_log_free(&s->ev);
}

/* The changes shown are exactly `want` ("A path" ..., NULL-ended), in order. */
static int has_changes(const shown *s, const char *const *want)
{
	size_t n = 0;

	for (; want[n]; n++)
		if (n >= s->nchanges || s->change[n] != want[n][0] || strcmp(s->path[n], want[n] + 2))
			break;
	if (want[n] || n != s->nchanges) {
		for (size_t i = 0; i < s->nchanges && i < MAXCH; i++)
			fprintf(stderr, "  shown: %c %s\n", s->change[i], s->path[i]);
		return 0;
	}
	return 1;
}

static void test_show(void)
{
	char npath[64], cpath[64], upath[80], id[80], nroot[64];
	const char *want[4];
	shown s;
	vault *cw, *v = open_as(base, "dpo");

	if (!v)
		goto done;
	vault_node__path(npath, strtoull(anode, NULL, 16));
	snprintf(cpath, sizeof cpath, "policy/cases/%s", c1);

	/* The genesis, by number: its whole tree added, signed by the admin. */
	CHECK_RC(show(&s, v, nth(E_INIT), 0), 0);
	CHECK(s.index == E_INIT + 1 && s.parent[0] == '\0' && strlen(s.tree) == 40);
	CHECK(s.ev.n == 1 && !strcmp(s.ev.ev[0].commit, hist.ev[E_INIT].commit));
	CHECK(s.signature == VAULT_SIG_GOOD && !strcmp(s.signer, "dpo"));
	want[0] = "A policy/settings";
	want[1] = "A policy/users/dpo";
	want[2] = NULL;
	CHECK(has_changes(&s, want));
	shown_free(&s);

	/* A second version, by its full id: the file's node changed. */
	CHECK_RC(show(&s, v, hist.ev[E_A2].commit, 0), 0);
	CHECK(s.index == E_A2 + 1 && !strcmp(s.parent, hist.ev[E_A2 - 1].commit));
	CHECK(s.ev.n == 1 && !strcmp(s.ev.ev[0].action, "write") && s.ev.ev[0].version == 2);
	CHECK(s.signature == VAULT_SIG_GOOD && !strcmp(s.signer, "alice"));
	CHECK(!s.has_note && !s.note_given);
	snprintf(upath, sizeof upath, "M %s", npath);
	want[0] = upath;
	want[1] = NULL;
	CHECK(has_changes(&s, want));
	shown_free(&s);

	/* A grant, by the log's 12 digits: the case file changed, access ro. */
	snprintf(id, 13, "%.12s", hist.ev[E_GRANT_C1].commit);
	CHECK_RC(show(&s, v, id, 0), 0);
	CHECK(s.index == E_GRANT_C1 + 1 && s.ev.n == 1 && !strcmp(s.ev.ev[0].target, "bob"));
	CHECK(!strcmp(s.ev.ev[0].access, "ro"));
	snprintf(upath, sizeof upath, "M %s", cpath);
	want[0] = upath;
	CHECK(has_changes(&s, want));
	shown_free(&s);

	/* A new user: its file added. A case: its file and its root added. */
	CHECK_RC(show(&s, v, nth(E_ADD_ALICE), 0), 0);
	want[0] = "A policy/users/alice";
	CHECK(has_changes(&s, want));
	shown_free(&s);
	CHECK_RC(show(&s, v, nth(E_C1), 0), 0);
	vault_node__path(nroot, strtoull(hist.ev[E_C1].node, NULL, 16));
	snprintf(upath, sizeof upath, "A %s", nroot);
	snprintf(id, sizeof id, "A %s", cpath);
	want[0] = upath;
	want[1] = id;
	want[2] = NULL;
	CHECK(has_changes(&s, want));
	shown_free(&s);

	/* A read, by an upper-case prefix: no change, a sealed note. */
	for (size_t i = 0; i < 10; i++)
		id[i] = (char)(hist.ev[E_READ_A].commit[i] >= 'a' ? hist.ev[E_READ_A].commit[i] - 'a' + 'A' :
			hist.ev[E_READ_A].commit[i]);
	id[10] = '\0';
	CHECK_RC(show(&s, v, id, 0), 0);
	CHECK(s.index == E_READ_A + 1 && s.nchanges == 0 && s.has_note && !s.note_given);
	CHECK(s.signature == VAULT_SIG_GOOD && !strcmp(s.signer, "bob"));
	shown_free(&s);
	/* Notes are for admins and auditors. */
	if ((cw = open_as(base, "bob")) != NULL) {
		CHECK_RC(show(&s, cw, id, 1), VAULT_EACCES);
		shown_free(&s);
		vault_close(cw);
	}

	/* The failed unlock: unsigned, no signer; the last event is the setting. */
	CHECK_RC(show(&s, v, nth(E_FAILED), 0), 0);
	CHECK(s.signature == VAULT_SIG_UNSIGNED && s.signer[0] == '\0' && s.nchanges == 0);
	CHECK(s.ev.n == 1 && !strcmp(s.ev.ev[0].actor, "carol"));
	shown_free(&s);
	CHECK_RC(show(&s, v, nth(E_SETTING), 0), 0);
	want[0] = "M policy/settings";
	want[1] = NULL;
	CHECK(has_changes(&s, want));
	shown_free(&s);

	/* What the callback returns is returned. */
	memset(&s, 0, sizeof s);
	s.ret = 5;
	CHECK_RC(vault_audit_show(v, nth(E_ADD_BOB), 0, show_cb, &s), 5);
	shown_free(&s);

	/* Not an id nor a number: EUSAGE; no such event: ENOTFOUND. */
	{
		static const char *const bad[] = {
			"", "#", "#0", "#-1", "#1a", "# 1", "#123456789012345678901", "abc",
			"abcdef", "xyz1234", "0123456789abcdef0123456789abcdef012345678", NULL
		};

		for (size_t i = 0; bad[i]; i++) {
			CHECK_RC(show(&s, v, bad[i], 0), VAULT_EUSAGE);
			shown_free(&s);
		}
	}
	CHECK_RC(show(&s, v, nth(NBASE), 0), VAULT_ENOTFOUND);
	snprintf(id, sizeof id, "it has %d", NBASE);
	CHECK(strstr(vault_error_last()->message, id) != NULL);
	snprintf(id, sizeof id, "%s", hist.ev[E_ADD_CAROL].commit);
	id[39] = id[39] == '0' ? '1' : '0';
	CHECK_RC(show(&s, v, id, 0), VAULT_ENOTFOUND);
	vault_close(v);
	v = NULL;

	/* With the audit key the note is opened. */
	if ((v = open_as(base, "aud")) != NULL) {
		CHECK_RC(show(&s, v, nth(E_READ_A), 1), 0);
		CHECK(s.has_note && s.note_given && !strcmp(s.note, "second opinion"));
		CHECK(s.ev.n == 1 && s.ev.ev[0].note && !strcmp(s.ev.ev[0].note, "second opinion"));
		shown_free(&s);
		CHECK_RC(show(&s, v, nth(E_A2), 1), 0);
		CHECK(!s.has_note && !s.note_given);
		shown_free(&s);
	}
done:
	vault_close(v);
}

/* Events whose signature is not the actor's: BAD. */
static void test_show_bad_signature(void)
{
	placed rd = { "read", c1, NULL, 0, NULL, NULL };
	shown s;
	vault *v;

	rd.node = anode;
	rd.version = 3;
	if ((v = open_copy("alice")) == NULL)
		return;
	/* Signed with alice's key, as bob; then as a user the policy never had. */
	snprintf(v->user, sizeof v->user, "%s", "bob");
	record_at(v, &rd, t_of(NBASE - 1));
	snprintf(v->user, sizeof v->user, "%s", "zed");
	record_at(v, &rd, t_of(NBASE - 1));
	snprintf(v->user, sizeof v->user, "%s", "alice");
	record_at(v, &rd, t_of(NBASE - 1));
	CHECK_RC(show(&s, v, nth(NBASE), 0), 0);
	CHECK(s.signature == VAULT_SIG_BAD && !strcmp(s.signer, "bob"));
	shown_free(&s);
	CHECK_RC(show(&s, v, nth(NBASE + 1), 0), 0);
	CHECK(s.signature == VAULT_SIG_BAD && !strcmp(s.signer, "zed"));
	shown_free(&s);
	CHECK_RC(show(&s, v, nth(NBASE + 2), 0), 0);
	CHECK(s.signature == VAULT_SIG_GOOD && !strcmp(s.signer, "alice"));
	shown_free(&s);
	vault_close(v);
}

/*
 * An event that installs a key and signs with it: bob's key signs as alice
 * an event that puts bob's key in alice's policy file. The signature is
 * checked against the policy before the event, where alice has her own.
 */
static void test_show_key_swap(void)
{
	MDB_txn *txn = NULL;
	vault_event ev;
	user_rec u;
	git_oid id;
	shown s;
	vault *v;

	if ((v = open_copy("bob")) == NULL)
		return;
	snprintf(v->user, sizeof v->user, "%s", "alice");
	vault_event__init(&ev, "passwd");
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	vault_store__cur = txn;
	CHECK_RC(vault_user__get(&u, txn, v, "alice"), 0);
	memcpy(u.pk, v->pk, 32);
	CHECK_RC(vault_user__put(txn, v, "alice", &u), 0);
	CHECK_RC(vault_event__touch_user(&ev, v, txn, "alice"), 0);
	CHECK_RC(vault_event__append(&id, &ev, v, txn, t_of(NBASE - 1)), 0);
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	vault_event__dispose(&ev);
	CHECK_RC(show(&s, v, nth(NBASE), 0), 0);
	CHECK(s.nchanges == 1 && !strcmp(s.path[0], "policy/users/alice") && s.change[0] == 'M');
	CHECK(s.signature == VAULT_SIG_BAD && !strcmp(s.signer, "alice"));
	shown_free(&s);
	vault_close(v);
}

/* A commit whose tree drops a file of its parent's: a removal, 'D'. */
static void test_show_removal(void)
{
	git_tree_update up;
	git_signature *sig = NULL;
	git_commit *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	git_buf raw = { NULL, 0, 0 };
	MDB_txn *txn = NULL;
	MDB_val val;
	git_oid head, tid, id;
	shown s;
	vault *v;

	if ((v = open_copy("dpo")) == NULL)
		return;
	memset(&up, 0, sizeof up);
	up.action = GIT_TREE_UPDATE_REMOVE;
	up.path = "policy/users/carol";
	CHECK_RC(vault_store__begin(&txn, v->st, 1), 0);
	vault_store__cur = txn;
	if (vault_meta__get(&val, txn, v, "head") == 0 && val.mv_size == 20) {
		git_oid_fromraw(&head, val.mv_data);
		CHECK(git_commit_lookup(&parent, v->repo, &head) == 0 && git_commit_tree(&ptree, parent) == 0 &&
			git_tree_create_updated(&tid, v->repo, ptree, 1, &up) == 0 &&
			git_tree_lookup(&tree, v->repo, &tid) == 0 &&
			git_signature_new(&sig, "dpo", "dpo@x", t_of(NBASE - 1), 0) == 0 &&
			git_commit_create_buffer(&raw, v->repo, sig, sig, NULL,
				"user-disable carol\n\nAction: user-disable\nActor: dpo\nTarget: carol\n",
				tree, 1, (const git_commit **)&parent) == 0 &&
			git_odb_write(&id, v->odb, raw.ptr, raw.size, GIT_OBJECT_COMMIT) == 0);
		CHECK_RC(vault_meta__put(txn, v, "head", id.id, 20), 0);
	}
	CHECK_RC(vault_store__commit(v->st, txn), 0);
	CHECK_RC(show(&s, v, nth(NBASE), 0), 0);
	CHECK(s.nchanges == 1 && !strcmp(s.path[0], "policy/users/carol") && s.change[0] == 'D');
	CHECK(s.signature == VAULT_SIG_UNSIGNED);
	shown_free(&s);
	git_buf_dispose(&raw);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	vault_close(v);
}

/* ---- vault_audit_report -------------------------------------------------- */

/* One line of a report, copied; its event (or an empty one) in `events`. */
typedef struct {
	vault_line_t kind;
	char relation[8], user[VAULT_NAME_MAX + 1], case_code[VAULT_CODE_SIZE], access[3];
	char rule[32], detail[160];
	int64_t from, to, window;
	uint32_t epoch;
	uint64_t count, limit;
	int has_event;
} rline;

typedef struct {
	rline *l;
	size_t n, cap, stop_at;
	support_log events;
} rlines;

static int line_cb(const vault_report_line *line, void *payload)
{
	static const vault_event_info none = { "", 0, "", "", "", "", 0, "", "", "", "", "" };
	rlines *r = payload;
	rline *x;

	if ((x = support_grow(r->l, &r->cap, r->n + 1, sizeof *r->l)) == NULL)
		return -1;
	r->l = x;
	x += r->n;
	memset(x, 0, sizeof *x);
	x->kind = line->kind;
	snprintf(x->relation, sizeof x->relation, "%s", line->relation ? line->relation : "");
	snprintf(x->user, sizeof x->user, "%s", line->user ? line->user : "");
	snprintf(x->case_code, sizeof x->case_code, "%s", line->case_code ? line->case_code : "");
	snprintf(x->access, sizeof x->access, "%s", line->access ? line->access : "");
	snprintf(x->rule, sizeof x->rule, "%s", line->rule ? line->rule : "");
	snprintf(x->detail, sizeof x->detail, "%s", line->detail ? line->detail : "");
	x->from = line->from;
	x->to = line->to;
	x->window = line->window;
	x->epoch = line->epoch;
	x->count = line->count;
	x->limit = line->limit;
	x->has_event = line->event != NULL;
	if (support_log_add(&r->events, line->event ? line->event : &none, line->note) < 0)
		return -1;
	r->n++;
	return r->stop_at && r->n == r->stop_at ? 3 : 0;
}

static void rlines_free(rlines *r)
{
	free(r->l);
	support_log_free(&r->events);
	memset(r, 0, sizeof *r);
}

static vault_report_options ask(vault_report_t kind, const char *code, const char *user)
{
	vault_report_options o = VAULT_REPORT_OPTIONS_INIT;

	o.report = kind;
	o.case_code = code;
	o.user = user;
	return o;
}

static int run_report(rlines *r, vault *v, const vault_report_options *o)
{
	memset(r, 0, sizeof *r);
	return vault_audit_report(v, o, line_cb, r);
}

/* A relation as the tests write it: a(bout), b(y), r(ead), w(rite). */
static const char *relation_of(char c)
{
	return c == 'a' ? "about" : c == 'b' ? "by" : c == 'r' ? "read" : c == 'w' ? "write" : "?";
}

/* Lines `from`.. of `r` are EVENT lines of base events `want`, one relation each. */
static void expect_event_lines(const rlines *r, size_t from, const int *want, const char *relation)
{
	size_t n = 0;

	for (; want[n] >= 0 && from + n < r->n && (size_t)want[n] < hist.n; n++) {
		const rline *x = &r->l[from + n];
		const support_event *e = &r->events.ev[from + n];
		const char *rel = relation_of(relation[n]);

		if (strcmp(e->commit, hist.ev[want[n]].commit) || strcmp(x->relation, rel))
			fprintf(stderr, "line %zu: '%s' %s, want event %d '%s'\n", from + n, x->relation,
				e->action, want[n], rel);
		CHECK(x->kind == VAULT_LINE_EVENT && x->has_event);
		CHECK(!strcmp(e->commit, hist.ev[want[n]].commit));
		CHECK(!strcmp(x->relation, rel));
		CHECK(!strcmp(x->user, e->actor) && !strcmp(x->case_code, e->case_code));
	}
	CHECK(want[n] < 0 && relation[n] == '\0');
}

/* Report `a` is exactly EVENT lines of base events `want`; notes NULL but on `noted`. */
static void expect_report(vault *v, const vault_report_options *a, const int *want,
	const char *relation, int noted)
{
	size_t n = 0;
	rlines r;

	while (want[n] >= 0)
		n++;
	CHECK_RC(run_report(&r, v, a), 0);
	CHECK(r.n == n);
	expect_event_lines(&r, 0, want, relation);
	for (size_t i = 0; i < r.n && i < r.events.n; i++)
		CHECK(want[i] == noted ? r.events.ev[i].note && !strcmp(r.events.ev[i].note, "second opinion") :
			r.events.ev[i].note == NULL);
	rlines_free(&r);
}

/* Report `a` is refused with `rc`, before any line. */
static void expect_report_refused(vault *v, const vault_report_options *a, int rc)
{
	rlines r;

	CHECK_RC(run_report(&r, v, a), rc);
	CHECK(r.n == 0);
	rlines_free(&r);
}

static void test_report_case(void)
{
	static const int c1_lines[] = { E_A1, E_A2, E_MKDIR, E_B1, E_READ_A, E_READ_B, E_A3, -1 };
	static const int c2_lines[] = { E_X1, -1 };
	static const int none[] = { -1 };
	vault_report_options a = ask(VAULT_REPORT_CASE, c1, NULL);
	vault *v = open_as(base, "aud");

	if (!v)
		return;
	/* Every document event of the case, as read or write, in chain order:
	 * not its creation, its grants or its key work. */
	expect_report(v, &a, c1_lines, "wwwwrrw", -1);
	a.case_code = c2;
	expect_report(v, &a, c2_lines, "w", -1);
	/* With notes: on the read that has one. */
	a.case_code = c1;
	a.notes = 1;
	expect_report(v, &a, c1_lines, "wwwwrrw", E_READ_A);
	/* A range after every event, or before: nothing; the case is still known. */
	a.notes = 0;
	a.since = t_of(NBASE - 1) + 1;
	expect_report(v, &a, none, "", -1);
	a.since = 0;
	a.until = t_of(E_INIT) - 1;
	expect_report(v, &a, none, "", -1);
	vault_close(v);
}

static void test_report_user(void)
{
	static const struct {
		const char *user;
		int lines[16];
		const char *relation;
	} users[] = {
		/* What they did (by), what was done about them (about), in chain order. */
		{ "bob", { E_ADD_BOB, E_ENROL_BOB, E_GRANT_C1, E_GRANT_C2, E_READ_A, E_READ_B, E_REVOKE, -1 },
			"abaabba" },
		{ "carol", { E_ADD_CAROL, E_ENROL_CAROL, E_FAILED, -1 }, "abb" },
		{ "alice", { E_ADD_ALICE, E_ENROL_ALICE, E_C1, E_A1, E_A2, E_MKDIR, E_B1, E_C2, E_X1,
			E_REKEY_1, E_REKEY_2, E_REKEY_3, E_A3, -1 }, "abbbbbbbbbbbb" },
		/* The audit key sealed to the auditor is about them. */
		{ "aud", { E_ADD_AUD, E_ENROL_AUD, E_AUDIT_KEY, -1 }, "aba" },
		/* The admin's init, whose target is the admin, is theirs: "by". */
		{ "dpo", { E_INIT, E_ADD_ALICE, E_ADD_BOB, E_ADD_CAROL, E_ADD_AUD, E_AUDIT_KEY,
			E_GRANT_C1, E_GRANT_C2, E_REVOKE, E_SETTING, -1 }, "bbbbbbbbbb" },
	};
	vault_report_options a = ask(VAULT_REPORT_USER, NULL, NULL);
	vault *v = open_as(base, "dpo");

	if (!v)
		return;
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
		a.user = users[i].user;
		expect_report(v, &a, users[i].lines, users[i].relation, -1);
	}
	/* A setting's key is no user; nor is a name the history never had. */
	a.user = "bulk-read-count";
	expect_report_refused(v, &a, VAULT_EUSAGE);
	a.user = "zed";
	expect_report_refused(v, &a, VAULT_EUSAGE);
	vault_close(v);
}

/* The log of `v`, a copy of the base vault with `more` events after them. */
static void read_more(support_log *l, vault *v, size_t more)
{
	CHECK_RC(support_log_read(l, v, NULL), 0);
	CHECK(l->n == NBASE + more);
}

/* A user named like a setting key: the setting events are not about them. */
static void test_report_user_named_like_setting(void)
{
	vault_report_options a = ask(VAULT_REPORT_USER, NULL, "bulk-read-count");
	support_log l;
	rlines r;
	vault *v;

	if ((v = open_copy("dpo")) == NULL)
		return;
	CHECK_RC(support_user_add(v, "bulk-read-count", VAULT_ROLE_CASEWORKER, "pw", 2), 0);
	read_more(&l, v, 2);
	/* Only its user-add and its enrol, the events after the base ones:
	 * the one about it, the other by it. */
	CHECK_RC(run_report(&r, v, &a), 0);
	CHECK(r.n == 2 && l.n == NBASE + 2);
	CHECK(r.n < 2 || (!strcmp(r.l[0].relation, "about") &&
		!strcmp(r.events.ev[0].commit, l.ev[NBASE].commit) &&
		!strcmp(r.events.ev[0].action, "user-add") && !strcmp(r.l[1].relation, "by") &&
		!strcmp(r.events.ev[1].commit, l.ev[NBASE + 1].commit) &&
		!strcmp(r.events.ev[1].action, "enrol")));
	rlines_free(&r);
	support_log_free(&l);
	vault_close(v);
}

/* A MEMBERSHIP line: `access`, from `from` to `to` (0: still), epoch `epoch`. */
static void expect_span(const rline *x, const char *user, const char *code, const char *access,
	int64_t from, int64_t to, uint32_t epoch)
{
	if (x->kind != VAULT_LINE_MEMBERSHIP || strcmp(x->access, access) || x->from != from ||
	    x->to != to || x->epoch != epoch)
		fprintf(stderr, "span: kind %d %s %s from %lld to %lld epoch %u\n", x->kind, x->user,
			x->access, (long long)x->from, (long long)x->to, x->epoch);
	CHECK(x->kind == VAULT_LINE_MEMBERSHIP && !x->has_event);
	CHECK(!strcmp(x->user, user) && !strcmp(x->case_code, code));
	CHECK(!strcmp(x->access, access));
	CHECK(x->from == from && x->to == to && x->epoch == epoch);
}

/* EXPOSED lines from `from`: the versions written by base events `want`, each at `epochs`. */
static void expect_exposed(const rlines *r, size_t from, const int *want, const uint32_t *epochs,
	const char *user)
{
	size_t n = 0;

	for (; want[n] >= 0 && from + n < r->n; n++) {
		const rline *x = &r->l[from + n];
		const support_event *e = &r->events.ev[from + n];

		CHECK(x->kind == VAULT_LINE_EXPOSED && x->has_event);
		CHECK(!strcmp(e->commit, hist.ev[want[n]].commit));
		CHECK(x->epoch == epochs[n]);
		CHECK(!strcmp(x->user, user) && !strcmp(x->case_code, e->case_code));
	}
	CHECK(want[n] < 0 && from + n == r->n);
}

static void test_report_revoked(void)
{
	static const int bob_reads[] = { E_READ_A, E_READ_B, -1 };
	static const int before_revoke[] = { E_A1, E_A2, E_B1, -1 };
	static const uint32_t epoch1[] = { 1, 1, 1 };
	static const int every_write[] = { E_A1, E_A2, E_B1, E_A3, -1 };
	static const uint32_t epochs12[] = { 1, 1, 1, 2 };
	static const int c2_writes[] = { E_X1, -1 };
	vault_report_options a = ask(VAULT_REPORT_REVOKED, c1, "bob");
	rlines r;
	vault *v = open_as(base, "aud");

	if (!v)
		return;
	/* bob: member ro from the grant to the revoke, at epoch 1; his two
	 * reads; the versions of epoch 1, not the one written after. */
	CHECK_RC(run_report(&r, v, &a), 0);
	CHECK(r.n == 6);
	if (r.n == 6) {
		expect_span(&r.l[0], "bob", c1, "ro", t_of(E_GRANT_C1), t_of(E_REVOKE), 1);
		expect_event_lines(&r, 1, bob_reads, "rr");
		expect_exposed(&r, 3, before_revoke, epoch1, "bob");
	}
	rlines_free(&r);
	/* The range limits the reads and versions, never the spans. */
	a.since = t_of(NBASE - 1) + 1;
	CHECK_RC(run_report(&r, v, &a), 0);
	CHECK(r.n == 1 && r.l[0].kind == VAULT_LINE_MEMBERSHIP && r.l[0].to == t_of(E_REVOKE));
	rlines_free(&r);
	a.since = 0;
	/* Still a member (rw) of C2: no end. */
	a.case_code = c2;
	CHECK_RC(run_report(&r, v, &a), 0);
	CHECK(r.n == 2);
	if (r.n == 2) {
		expect_span(&r.l[0], "bob", c2, "rw", t_of(E_GRANT_C2), 0, 1);
		expect_exposed(&r, 1, c2_writes, epoch1, "bob");
	}
	rlines_free(&r);
	/* The creator: from the case-create, still, up to epoch 2; every version. */
	a.case_code = c1;
	a.user = "alice";
	CHECK_RC(run_report(&r, v, &a), 0);
	CHECK(r.n == 5);
	if (r.n == 5) {
		expect_span(&r.l[0], "alice", c1, "rw", t_of(E_C1), 0, 2);
		expect_exposed(&r, 1, every_write, epochs12, "alice");
	}
	rlines_free(&r);
	/* Never a member: ENOTFOUND; names the history never had: EUSAGE. */
	a.user = "carol";
	expect_report_refused(v, &a, VAULT_ENOTFOUND);
	CHECK(strstr(vault_error_last()->message, "never a member") != NULL);
	a.user = "zed";
	expect_report_refused(v, &a, VAULT_EUSAGE);
	a.user = "bob";
	a.case_code = "C-ZZZZZZZZ";
	expect_report_refused(v, &a, VAULT_EUSAGE);
	vault_close(v);
}

/* Granted again after the revoke: two spans; now every version is exposed. */
static void test_report_regrant(void)
{
	static const int every_write[] = { E_A1, E_A2, E_B1, E_A3, -1 };
	static const uint32_t epochs12[] = { 1, 1, 1, 2 };
	vault_report_options a = ask(VAULT_REPORT_REVOKED, c1, "bob");
	support_log l;
	rlines r;
	vault *v;

	if ((v = open_copy("dpo")) == NULL)
		return;
	CHECK_RC(vault_case_grant(v, c1, "bob", 0), 0);
	read_more(&l, v, 1);
	CHECK_RC(run_report(&r, v, &a), 0);
	CHECK(r.n == 8);
	if (r.n == 8 && l.n == NBASE + 1) {
		expect_span(&r.l[0], "bob", c1, "ro", t_of(E_GRANT_C1), t_of(E_REVOKE), 1);
		expect_span(&r.l[1], "bob", c1, "rw", l.ev[NBASE].time, 0, 2);
		CHECK(!strcmp(r.events.ev[2].action, "read") && !strcmp(r.events.ev[3].action, "read"));
		expect_exposed(&r, 4, every_write, epochs12, "bob");
	}
	rlines_free(&r);
	support_log_free(&l);
	vault_close(v);
}

static void test_report_refused(void)
{
	vault_report_options a = ask(VAULT_REPORT_CASE, c1, NULL);
	rlines r;
	vault *v;

	/* Reports are for an unlocked admin or auditor. */
	if ((v = open_as(base, NULL)) != NULL) {
		expect_report_refused(v, &a, VAULT_EACCES);
		vault_close(v);
	}
	if ((v = open_as(base, "alice")) != NULL) {
		expect_report_refused(v, &a, VAULT_EACCES);
		CHECK(strstr(vault_error_last()->message, "'alice' is a caseworker") != NULL);
		vault_close(v);
	}
	if ((v = open_as(base, "dpo")) == NULL)
		return;
	/* Options: none, of another version, an unknown report. */
	CHECK_RC(vault_audit_report(v, NULL, line_cb, &r), VAULT_EUSAGE);
	a.version = VAULT_REPORT_OPTIONS_VERSION + 1;
	expect_report_refused(v, &a, VAULT_EUSAGE);
	a.version = VAULT_REPORT_OPTIONS_VERSION;
	a.report = (vault_report_t)99;
	expect_report_refused(v, &a, VAULT_EUSAGE);
	/* What each report needs: a case, a user, both. */
	a = ask(VAULT_REPORT_CASE, NULL, "bob");
	expect_report_refused(v, &a, VAULT_EUSAGE);
	a = ask(VAULT_REPORT_USER, c1, NULL);
	expect_report_refused(v, &a, VAULT_EUSAGE);
	a = ask(VAULT_REPORT_REVOKED, NULL, "bob");
	expect_report_refused(v, &a, VAULT_EUSAGE);
	a = ask(VAULT_REPORT_REVOKED, c1, NULL);
	expect_report_refused(v, &a, VAULT_EUSAGE);
	/* A case the history never had, whatever the range. */
	a = ask(VAULT_REPORT_CASE, "C-ZZZZZZZZ", NULL);
	a.since = 1;
	expect_report_refused(v, &a, VAULT_EUSAGE);
	/* A callback's answer stops the report and is returned. */
	a = ask(VAULT_REPORT_CASE, c1, NULL);
	memset(&r, 0, sizeof r);
	r.stop_at = 2;
	CHECK_RC(vault_audit_report(v, &a, line_cb, &r), 3);
	CHECK(r.n == 2);
	rlines_free(&r);
	vault_close(v);
}

/* ---- --anomalies ---------------------------------------------------------- */

/* A flag as a rule should give it. */
typedef struct {
	const char *rule, *user;
	int64_t from, to;
	uint64_t count, limit;
	int64_t window;
} flag_want;

/*
 * The anomalies between `since` and `until` are exactly `want`, in that
 * order; the lines are left in `r` for more checks (free with rlines_free).
 */
static void expect_flags(rlines *r, vault *v, int64_t since, int64_t until,
	const flag_want *want, size_t n)
{
	vault_report_options a = ask(VAULT_REPORT_ANOMALIES, NULL, NULL);

	a.since = since;
	a.until = until;
	CHECK_RC(run_report(r, v, &a), 0);
	if (r->n != n)
		fprintf(stderr, "%zu flags from %lld to %lld, want %zu\n", r->n, (long long)since,
			(long long)until, n);
	CHECK(r->n == n);
	for (size_t i = 0; i < n && i < r->n; i++) {
		const rline *x = &r->l[i];
		const flag_want *w = &want[i];

		if (strcmp(x->rule, w->rule) || strcmp(x->user, w->user) || x->from != w->from ||
		    x->to != w->to || x->count != w->count)
			fprintf(stderr, "flag %s %s from %lld to %lld count %llu, want %s %s %lld %lld %llu\n",
				x->rule, x->user, (long long)x->from, (long long)x->to,
				(unsigned long long)x->count, w->rule, w->user, (long long)w->from,
				(long long)w->to, (unsigned long long)w->count);
		CHECK(x->kind == VAULT_LINE_FLAG && !x->has_event);
		CHECK(!strcmp(x->rule, w->rule) && !strcmp(x->user, w->user));
		CHECK(x->from == w->from && x->to == w->to && x->count == w->count);
		CHECK(x->limit == w->limit && x->window == w->window);
	}
}

/* The anomalies between `since` and `until` are exactly `want`. */
static void expect_only_flags(vault *v, int64_t since, int64_t until, const flag_want *want, size_t n)
{
	rlines r;

	expect_flags(&r, v, since, until, want, n);
	rlines_free(&r);
}

static void test_anomalies(void)
{
	/* bulk-reads: 4 reads in 3600 s (the last at exactly 3600 s) is more
	 * than 3; the next burst starts after it and is flagged on its own. */
	const flag_want tue[] = {
		{ "bulk-reads", "bob", TUE + HM(10, 0, 0), TUE + HM(11, 0, 0), 4, 3, 3600 },
		{ "bulk-reads", "bob", TUE + HM(14, 0, 0), TUE + HM(14, 30, 0), 4, 3, 3600 },
	};
	/* off-hours: 06:59:59 and 19:00:00 are outside 07:00-19:00; one flag a day. */
	const flag_want thu[] = {
		{ "off-hours", "bob", THU + HM(6, 59, 59), THU + HM(19, 0, 0), 2, 0, 86400 },
	};
	/* A Saturday is off the working days; four reads in 3 s are a burst
	 * too. Flags of the same moment come by rule. */
	const flag_want sat[] = {
		{ "bulk-reads", "bob", SAT + HM(12, 0, 0), SAT + HM(12, 0, 3), 4, 3, 3600 },
		{ "off-hours", "bob", SAT + HM(12, 0, 0), SAT + HM(12, 0, 3), 4, 0, 86400 },
	};
	/* failed-unlocks: 3 of carol's in 600 s is more than 2. */
	const flag_want mon2[] = {
		{ "failed-unlocks", "carol", MON2 + HM(10, 0, 0), MON2 + HM(10, 10, 0), 3, 2, 600 },
	};
	rlines r;
	vault *v = open_as(timed, "aud");

	if (!v)
		return;
	expect_flags(&r, v, TUE, TUE + DAY - 1, tue, 2);
	CHECK(r.n < 1 || (r.l[0].case_code[0] == '\0' && r.l[0].detail[0] == '\0'));
	rlines_free(&r);
	/* Just under: 3 reads in 3600 s, the 4th one second late. */
	expect_only_flags(v, WED, WED + DAY - 1, NULL, 0);
	expect_flags(&r, v, THU, THU + DAY - 1, thu, 1);
	CHECK(r.n < 1 || !strcmp(r.l[0].detail, "outside mon,tue,wed,thu,fri 07:00-19:00 UTC"));
	rlines_free(&r);
	/* Just inside: 07:00:00 and 18:59:59 of a Friday. */
	expect_only_flags(v, FRI, FRI + DAY - 1, NULL, 0);
	expect_only_flags(v, SAT, SAT + DAY - 1, sat, 2);
	/* Thursday to Saturday: the flags of each day, by time. */
	{
		const flag_want days[] = { thu[0], sat[0], sat[1] };

		expect_only_flags(v, THU, SAT + DAY - 1, days, 3);
	}
	expect_only_flags(v, MON2, MON2 + DAY - 1, mon2, 1);
	/* Just under: carol's two 601 s apart; alice's between them is hers. */
	expect_only_flags(v, TUE2, TUE2 + DAY - 1, NULL, 0);
	vault_close(v);
}

/* after-membership-change, with the working hours all day long. */
static void test_anomalies_membership(void)
{
	/* bob's reads at G and G + 600 s; not alice's at G - 1 and G + 601 s,
	 * nor her read of the other case. */
	const flag_want change[] = {
		{ "after-membership-change", "bob", grant_time, grant_time + 600, 2, 0, 600 },
	};
	/* dpo added bob, then granted him C1 (by the default one-day window).
	 * The add may fall in the grant's second: flags of one moment come
	 * by rule. */
	const flag_want added = { "grant-after-add", "dpo", bob_added, grant_time, 1, 0, 86400 };
	int added_first = bob_added < grant_time;
	const flag_want near[] = {
		added_first ? added : change[0], added_first ? change[0] : added,
	};
	/* The whole history: every flag but the off-hours ones, by time. */
	const flag_want all[] = {
		near[0], near[1],
		{ "bulk-reads", "bob", TUE + HM(10, 0, 0), TUE + HM(11, 0, 0), 4, 3, 3600 },
		{ "bulk-reads", "bob", TUE + HM(14, 0, 0), TUE + HM(14, 30, 0), 4, 3, 3600 },
		{ "bulk-reads", "bob", SAT + HM(12, 0, 0), SAT + HM(12, 0, 3), 4, 3, 3600 },
		{ "failed-unlocks", "carol", MON2 + HM(10, 0, 0), MON2 + HM(10, 10, 0), 3, 2, 600 },
	};
	char detail[160];
	rlines r;
	vault *v;

	if ((v = open_as(timed, "dpo")) == NULL)
		return;
	CHECK_RC(vault_setting_set(v, "work-days", "mon-sun"), 0);
	CHECK_RC(vault_setting_set(v, "work-hours", "00:00-24:00"), 0);
	expect_flags(&r, v, grant_time - 5, grant_time + 700, near, 2);
	snprintf(detail, sizeof detail, "grant of bob by dpo at event %.12s", grant_hex);
	CHECK(r.n < 2 || (!strcmp(r.l[added_first].case_code, tc1) &&
		!strcmp(r.l[added_first].detail, detail)));
	rlines_free(&r);
	expect_only_flags(v, 0, 0, all, 6);
	vault_close(v);
}

/* Set the working hours of the vault at `dir` (as dpo). */
static void set_hours(const char *dir, const char *hours, const char *days, const char *zone)
{
	vault *v = open_as(dir, "dpo");

	if (!v)
		return;
	CHECK_RC(vault_setting_set(v, "work-hours", hours), 0);
	CHECK_RC(vault_setting_set(v, "work-days", days), 0);
	CHECK_RC(vault_setting_set(v, "time-zone", zone), 0);
	vault_close(v);
}

/*
 * off-hours in the vault's time zone, whatever the process's TZ is: an
 * auditor abroad gets the flags of the office's clock. Overnight hours
 * belong to the day they start; a DST change moves the hours with it.
 */
static void test_anomalies_zone(void)
{
	/* Vientiane is UTC+7: THU 18:59:59Z is Friday 01:59:59 there; FRI
	 * 18:59:59Z and the Saturday reads are all on Saturday there. */
	const flag_want vte[] = {
		{ "off-hours", "bob", THU + HM(18, 59, 59), THU + HM(19, 0, 0), 2, 0, 86400 },
		{ "off-hours", "bob", FRI + HM(18, 59, 59), SAT + HM(12, 0, 3), 5, 0, 86400 },
		{ "bulk-reads", "bob", SAT + HM(12, 0, 0), SAT + HM(12, 0, 3), 4, 3, 3600 },
	};
	/* 18:30-07:00 UTC, Monday to Friday: THU 06:59:59 is Wednesday's shift. */
	const flag_want night[] = {
		{ "off-hours", "bob", THU + HM(7, 0, 0), THU + HM(7, 0, 0), 1, 0, 86400 },
		{ "off-hours", "bob", FRI + HM(7, 0, 0), FRI + HM(7, 0, 0), 1, 0, 86400 },
		{ "bulk-reads", "bob", SAT + HM(12, 0, 0), SAT + HM(12, 0, 3), 4, 3, 3600 },
		{ "off-hours", "bob", SAT + HM(12, 0, 0), SAT + HM(12, 0, 3), 4, 0, 86400 },
	};
	/* Berlin moves from UTC+1 to UTC+2 on Sunday 2031-03-30. */
	const int64_t fri = utc(2031, 3, 28, 0, 0, 0), mon = utc(2031, 3, 31, 0, 0, 0);
	const flag_want ber[] = {
		{ "off-hours", "bob", fri + HM(5, 30, 0), fri + HM(5, 30, 0), 1, 0, 86400 },
		{ "off-hours", "bob", mon + HM(17, 30, 0), mon + HM(17, 30, 0), 1, 0, 86400 },
	};
	/* 06:30 CET off, 07:30 CET in; 07:30 CEST in, 19:30 CEST off. */
	const int64_t dst[] = { fri + HM(5, 30, 0), fri + HM(6, 30, 0), mon + HM(5, 30, 0), mon + HM(17, 30, 0) };
	char dir[600];
	placed rd = { "read", tc1, tnode, 1, NULL, NULL };
	const char *tz = getenv("TZ");
	char *saved = tz ? strdup(tz) : NULL;
	rlines r;
	vault *v;

	rawdb db;
	MDB_val val;
	unsigned char *utc_rec = NULL;
	size_t utc_len = 0;

	snprintf(dir, sizeof dir, "%s", copy_of(timed));   /* copy_of's buffer is reused */
	/* The settings record as stored while the zone is UTC. */
	if (rawdb_open(&db, dir) == 0) {
		if (rawdb_get(&db, "meta", "settings", 8, &val) == 0 && (utc_rec = malloc(val.mv_size)) != NULL) {
			memcpy(utc_rec, val.mv_data, val.mv_size);
			utc_len = val.mv_size;
		}
		rawdb_close(&db, 0);
	}
	CHECK(utc_rec != NULL);
	setenv("TZ", "America/New_York", 1);
	tzset();
	set_hours(dir, "07:00-19:00", "mon-fri", "Asia/Vientiane");
	if ((v = open_as(dir, "aud")) != NULL) {
		expect_flags(&r, v, THU, SAT + DAY - 1, vte, 3);
		CHECK(r.n < 1 || !strcmp(r.l[0].detail,
			"outside mon,tue,wed,thu,fri 07:00-19:00 Asia/Vientiane"));
		rlines_free(&r);
		vault_close(v);
	}
	/* An insider puts back the record of before (the office's hours in
	 * UTC, to hide night reads): the report refuses, it flags nothing in
	 * the wrong zone. */
	if (utc_rec) {
		const char *forged = copy_of(dir);

		CHECK(rawdb_set(forged, "meta", "settings", 8, utc_rec, utc_len) == 0);
		if ((v = open_as(forged, "aud")) != NULL) {
			vault_report_options a = ask(VAULT_REPORT_ANOMALIES, NULL, NULL);

			CHECK_RC(run_report(&r, v, &a), VAULT_ECORRUPT);
			CHECK(r.n == 0);
			rlines_free(&r);
			vault_close(v);
		}
		free(utc_rec);
	}
	CHECK(getenv("TZ") && !strcmp(getenv("TZ"), "America/New_York"));
	set_hours(dir, "18:30-07:00", "mon-fri", "UTC");
	if ((v = open_as(dir, "aud")) != NULL) {
		expect_only_flags(v, THU, SAT + DAY - 1, night, 4);
		vault_close(v);
	}
	set_hours(dir, "07:00-19:00", "mon-sun", "Europe/Berlin");
	if ((v = open_as(dir, "bob")) != NULL) {
		for (size_t i = 0; i < 4; i++)
			record_at(v, &rd, dst[i]);
		vault_close(v);
	}
	if ((v = open_as(dir, "aud")) != NULL) {
		expect_only_flags(v, fri, mon + DAY - 1, ber, 2);
		vault_close(v);
	}
	/* A zone the machine does not have (the tz database differs): the
	 * report says so, and names no flag in another zone. */
	setenv("TZDIR", "/nonexistent", 1);
	if ((v = open_as(dir, "aud")) != NULL) {
		vault_report_options a = ask(VAULT_REPORT_ANOMALIES, NULL, NULL);

		CHECK_RC(run_report(&r, v, &a), VAULT_ENOTFOUND);
		CHECK(strstr(vault_error_last()->message, "Europe/Berlin") != NULL);
		rlines_free(&r);
		vault_close(v);
	}
	unsetenv("TZDIR");
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

/*
 * grant-after-add: dpo adds dan and grants him at once (flagged); adds eve
 * and grants her after the window (not); adds fay, whom a second admin
 * grants (not: four eyes). Real events, so the window is two seconds.
 */
static void test_anomalies_grant_after_add(void)
{
	char dir[600], code[VAULT_CODE_SIZE], detail[160];
	vault *v;
	rlines r;
	support_log l;
	flag_want want = { "grant-after-add", "dpo", 0, 0, 1, 0, 2 };
	long add, grant;

	snprintf(dir, sizeof dir, "%s/granted", harness_tmpdir());
	if ((v = support_vault_with_users(dir)) == NULL)
		return;
	CHECK_RC(vault_setting_set(v, "grant-after-add-window", "2"), 0);
	CHECK_RC(support_user_add(v, "adm2", VAULT_ROLE_ADMIN, "adm2-pass", 9), 0);
	vault_close(v);
	if ((v = open_as(dir, "alice")) == NULL)
		return;
	CHECK_RC(vault_case_create(code, v, "granted"), 0);
	vault_close(v);
	if ((v = open_as(dir, "dpo")) == NULL)
		return;
	CHECK_RC(support_user_add(v, "dan", VAULT_ROLE_CASEWORKER, "dan-pass", 8), 0);
	CHECK_RC(vault_case_grant(v, code, "dan", 0), 0);
	CHECK_RC(support_user_add(v, "eve", VAULT_ROLE_CASEWORKER, "eve-pass", 8), 0);
	CHECK_RC(support_user_add(v, "fay", VAULT_ROLE_CASEWORKER, "fay-pass", 8), 0);
	sleep(3);
	CHECK_RC(vault_case_grant(v, code, "eve", 0), 0);
	vault_close(v);
	if ((v = support_open_as(dir, "adm2", "adm2-pass")) == NULL)
		return;
	CHECK_RC(vault_case_grant(v, code, "fay", 0), 0);
	CHECK_RC(support_log_read(&l, v, NULL), 0);
	add = support_log_find(&l, "user-add", 5);      /* dan's: after 4 users and adm2 */
	grant = support_log_find(&l, "grant", 0);       /* dan's, after his enrol */
	CHECK(add >= 0 && grant == add + 2 && !strcmp(l.ev[add].target, "dan") &&
		!strcmp(l.ev[grant].target, "dan"));
	if (add >= 0 && grant == add + 2) {
		want.from = l.ev[add].time;
		want.to = l.ev[grant].time;
		snprintf(detail, sizeof detail, "granted dan, whom they added at event %.12s",
			l.ev[add].commit);
	}
	support_log_free(&l);
	/* dan's grant came within the window (seconds after his user-add):
	 * a slower run shows, instead of leaving the rule untested. */
	CHECK(want.to - want.from <= 2);
	if (add >= 0 && grant == add + 2) {
		expect_flags(&r, v, 0, 0, &want, 1);
		CHECK(r.n < 1 || (!strcmp(r.l[0].case_code, code) && !strcmp(r.l[0].detail, detail)));
		rlines_free(&r);
	}
	vault_close(v);
}

/* The case report over a day of the timed vault: the range selects. */
static void test_report_range(void)
{
	vault_report_options a = ask(VAULT_REPORT_CASE, NULL, NULL);
	rlines r;
	vault *v = open_as(timed, "aud");

	if (!v)
		return;
	a.case_code = tc1;
	a.since = TUE + HM(10, 0, 0);
	a.until = TUE + HM(14, 0, 0);
	CHECK_RC(run_report(&r, v, &a), 0);
	CHECK(r.n == 5);
	for (size_t i = 0; i < r.n; i++) {
		CHECK(!strcmp(r.l[i].relation, "read") && !strcmp(r.events.ev[i].actor, "bob"));
		CHECK(r.events.ev[i].time >= a.since && r.events.ev[i].time <= a.until);
	}
	rlines_free(&r);
	vault_close(v);
}

/* ---- report.h: the audit key, notes, events, the range -------------------- */

static void test_key(void)
{
	audit_key k;
	MDB_txn *txn = NULL;
	vault *v;

	/* Only admins and auditors hold it. */
	if ((v = open_as(base, NULL)) != NULL) {
		k.sk = (unsigned char *)1;
		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		CHECK_RC(vault_report__key_open(&k, v, txn), VAULT_EACCES);
		CHECK(k.sk == NULL);
		vault_store__abort(v->st, txn);
		vault_close(v);
	}
	if ((v = open_as(base, "bob")) != NULL) {
		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		CHECK_RC(vault_report__key_open(&k, v, txn), VAULT_EACCES);
		CHECK(k.sk == NULL);
		vault_store__abort(v->st, txn);
		vault_close(v);
	}
	if ((v = open_as(base, "aud")) != NULL) {
		unsigned char pk[32];

		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		CHECK_RC(vault_report__key_open(&k, v, txn), 0);
		CHECK(k.sk != NULL);
		/* The pair: the public half is the vault's audit key. */
		if (k.sk) {
			crypto_scalarmult_base(pk, k.sk);
			CHECK(!memcmp(pk, k.pk, 32));
		}
		vault_report__key_close(&k);
		CHECK(k.sk == NULL);
		vault_report__key_close(&k);
		vault_store__abort(v->st, txn);
		vault_close(v);
	}
}

static void test_key_damaged(void)
{
	const char *dir;
	audit_key k;
	MDB_txn *txn = NULL;
	vault *v;

	/* The sealed copy of the auditor's key: damaged, or gone (its record
	 * lies at a locator of the index key, which an insider holds). */
	dir = copy_of(base);
	CHECK(rawdb_names(dir, "aud", NULL) == 0);
	CHECK(rawdb_flip(dir, "sealed", "@audit/aud", 10, -1, 0x01) == 0);
	if ((v = open_as(dir, "aud")) != NULL) {
		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		CHECK_RC(vault_report__key_open(&k, v, txn), VAULT_ECORRUPT);
		CHECK(k.sk == NULL && strstr(vault_error_last()->message, "'aud'"));
		vault_store__abort(v->st, txn);
		vault_close(v);
	}
	dir = copy_of(base);
	CHECK(rawdb_remove(dir, "sealed", "@audit/aud", 10) == 0);
	if ((v = open_as(dir, "aud")) != NULL) {
		rlines r;
		vault_report_options a = ask(VAULT_REPORT_CASE, NULL, NULL);

		a.notes = 1;
		CHECK_RC(vault_store__begin(&txn, v->st, 0), 0);
		CHECK_RC(vault_report__key_open(&k, v, txn), VAULT_EACCES);
		CHECK(strstr(vault_error_last()->message, "holds no audit key") != NULL);
		vault_store__abort(v->st, txn);
		/* A report with notes needs it; without, it does not. */
		a.case_code = c1;
		CHECK_RC(run_report(&r, v, &a), VAULT_EACCES);
		rlines_free(&r);
		a.notes = 0;
		CHECK_RC(run_report(&r, v, &a), 0);
		CHECK(r.n == 7);
		rlines_free(&r);
		vault_close(v);
	}
}

/* A message whose Purpose-Note is `len` bytes sealed to `pk`, base64. */
static void note_msg(char *out, size_t n, const unsigned char *plain, size_t len, const unsigned char pk[32])
{
	unsigned char sealed[256];
	char b64[400];

	crypto_box_seal(sealed, plain, len, pk);
	sodium_bin2base64(b64, sizeof b64, sealed, len + crypto_box_SEALBYTES, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, n, "read\n\nAction: read\nPurpose-Note: %s\nVia: cli\n", b64);
}

static void test_note_open(void)
{
	unsigned char other_pk[32], other_sk[32];
	char msg[600], *note = (char *)1;
	git_commit *c = NULL;
	audit_key k;
	MDB_txn *txn = NULL;
	git_oid id;
	vault *v = open_as(base, "aud");

	if (!v)
		return;
	if (vault_store__begin_walk(&txn, v->st) < 0 || vault_report__key_open(&k, v, txn) < 0) {
		CHECK(!"cannot open the audit key");
		goto done;
	}
	/* A real note, from the read that carries it. */
	if (git_oid_fromstr(&id, hist.ev[E_READ_A].commit) == 0 && git_commit_lookup(&c, v->repo, &id) == 0) {
		CHECK_RC(vault_report__note_open(&note, &k, git_commit_message(c), "x"), 0);
		CHECK(note && !strcmp(note, "second opinion"));
		vault_report__note_free(note);
		git_commit_free(c);
	} else {
		CHECK(!"cannot read the read event");
	}
	/* No note: NULL, no error. */
	CHECK_RC(vault_report__note_open(&note, &k, "read\n\nAction: read\nVia: cli\n", "x"), 0);
	CHECK(note == NULL);
	/* Notes of every size, the empty one included. */
	note_msg(msg, sizeof msg, (const unsigned char *)"", 0, k.pk);
	CHECK_RC(vault_report__note_open(&note, &k, msg, "x"), 0);
	CHECK(note && note[0] == '\0');
	vault_report__note_free(note);
	note_msg(msg, sizeof msg, (const unsigned char *)"why: a court order", 18, k.pk);
	CHECK_RC(vault_report__note_open(&note, &k, msg, "x"), 0);
	CHECK(note && !strcmp(note, "why: a court order"));
	vault_report__note_free(note);
	vault_report__note_free(NULL);

	/* Damaged: not base64, too short, sealed to another key, a NUL inside. */
	CHECK_RC(vault_report__note_open(&note, &k, "r\n\nPurpose-Note: !!!!\n", "deadbeef"), VAULT_ECORRUPT);
	CHECK(note == NULL && strstr(vault_error_last()->message, "deadbeef is damaged"));
	CHECK_RC(vault_report__note_open(&note, &k, "r\n\nPurpose-Note: AAAA\n", "deadbeef"), VAULT_ECORRUPT);
	CHECK(note == NULL);
	CHECK_RC(vault_report__note_open(&note, &k, "r\n\nPurpose-Note: \n", "deadbeef"), VAULT_ECORRUPT);
	crypto_box_keypair(other_pk, other_sk);
	note_msg(msg, sizeof msg, (const unsigned char *)"hello", 5, other_pk);
	CHECK_RC(vault_report__note_open(&note, &k, msg, "deadbeef"), VAULT_ECORRUPT);
	CHECK(note == NULL && strstr(vault_error_last()->message, "does not open"));
	note_msg(msg, sizeof msg, (const unsigned char *)"hid\0den", 7, k.pk);
	CHECK_RC(vault_report__note_open(&note, &k, msg, "deadbeef"), VAULT_ECORRUPT);
	CHECK(note == NULL);
	sodium_memzero(other_sk, sizeof other_sk);
	vault_report__key_close(&k);
done:
	vault_store__abort(v->st, txn);
	vault_close(v);
}

static void test_event_read(void)
{
	static const struct { int i; const char *access; } cases[] = {
		{ E_GRANT_C1, "ro" }, { E_GRANT_C2, "rw" }, { E_REVOKE, "ro" }, { E_READ_A, "" },
		{ E_FAILED, "" }, { E_INIT, "" }, { E_ENROL_BOB, "" }, { E_AUDIT_KEY, "" },
	};
	MDB_txn *txn = NULL;
	vault *v = open_as(base, "dpo");

	if (!v)
		return;
	CHECK_RC(vault_store__begin_walk(&txn, v->st), 0);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const support_event *h = &hist.ev[cases[k].i];
		git_commit *c = NULL;
		vault_event_info info;
		rep_event e;
		git_oid id;

		if (git_oid_fromstr(&id, h->commit) < 0)
			continue;
		CHECK_RC(vault_report__event_read(&e, &c, v, &id), 0);
		CHECK(c && git_oid_equal(git_commit_id(c), &id));
		git_commit_free(c);
		CHECK(!strcmp(e.hex, h->commit) && git_oid_equal(&e.id, &id));
		CHECK(e.time == h->time && !strcmp(e.t.action, h->action) && !strcmp(e.t.actor, h->actor));
		CHECK(!strcmp(e.access, cases[k].access));
		CHECK(!strcmp(e.subject, h->subject));
		/* As the views give it. */
		vault_report__event_info(&info, &e);
		CHECK(info.commit == e.hex && info.time == e.time && info.actor == e.t.actor);
		CHECK(info.action == e.t.action && info.case_code == e.t.case_code);
		CHECK(info.node == e.t.node && info.version == e.t.version);
		CHECK(info.purpose == e.t.purpose && info.via == e.t.via && info.subject == e.subject);
		CHECK(info.target == e.t.target && info.access == e.access);
		/* Without `keep`. */
		CHECK_RC(vault_report__event_read(&e, NULL, v, &id), 0);
	}
	/* The subject: the first line of the message. */
	{
		char want[80];

		snprintf(want, sizeof want, "grant %s bob", c1);
		CHECK(!strcmp(hist.ev[E_GRANT_C1].subject, want));
		snprintf(want, sizeof want, "read %s/%s v2", c1, anode);
		CHECK(!strcmp(hist.ev[E_READ_A].subject, want));
		CHECK(!strcmp(hist.ev[E_FAILED].subject, "unlock-failed"));
	}
	/* An id the history does not hold: VAULT_ECORRUPT naming it. */
	{
		git_commit *c = (git_commit *)1;
		rep_event e;
		git_oid id;

		memset(&id, 0xcd, sizeof id);
		CHECK_RC(vault_report__event_read(&e, &c, v, &id), VAULT_ECORRUPT);
		CHECK(c == NULL && strstr(vault_error_last()->message, "cdcdcdcd"));
	}
	vault_store__abort(v->st, txn);
	vault_close(v);
}

static void test_in_range(void)
{
	vault_report_options o = VAULT_REPORT_OPTIONS_INIT;
	report r;
	rep_event e;

	memset(&r, 0, sizeof r);
	memset(&e, 0, sizeof e);
	r.o = &o;
	e.time = 1;
	CHECK(vault_report__in_range(&r, &e));      /* unbounded */
	o.since = 100;
	o.until = 200;
	e.time = 99;
	CHECK(!vault_report__in_range(&r, &e));
	e.time = 100;
	CHECK(vault_report__in_range(&r, &e));
	e.time = 200;
	CHECK(vault_report__in_range(&r, &e));
	e.time = 201;
	CHECK(!vault_report__in_range(&r, &e));
	o.since = 0;
	e.time = -5;
	CHECK(vault_report__in_range(&r, &e));
	o.until = 0;
	o.since = 100;
	e.time = 1LL << 40;
	CHECK(vault_report__in_range(&r, &e));
}

/* ---- damage --------------------------------------------------------------- */

/* The id of the entry at `path` in the tree of base event `i`. */
static void entry_of(char out[VAULT_OID_SIZE], size_t i, const char *path)
{
	MDB_txn *txn = NULL;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_oid id;
	vault *v = open_as(base, "dpo");

	out[0] = '\0';
	if (v && vault_store__begin_walk(&txn, v->st) == 0 && git_oid_fromstr(&id, hist.ev[i].commit) == 0 &&
	    git_commit_lookup(&c, v->repo, &id) == 0 && git_commit_tree(&t, c) == 0 &&
	    git_tree_entry_bypath(&e, t, path) == 0)
		git_oid_tostr(out, VAULT_OID_SIZE, git_tree_entry_id(e));
	CHECK(out[0] != '\0');
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	if (v)
		vault_store__abort(v->st, txn);
	vault_close(v);
}

/* A copy of the base vault without history object `hex`, opened as `user`. */
static vault *open_without(const char *hex, const char *user)
{
	const char *dir = copy_of(base);

	CHECK(rawdb_remove_object(dir, base, "dpo", hex) == 0);
	return open_as(dir, user);
}

static void test_damaged(void)
{
	char id[VAULT_OID_SIZE];
	vault_report_options a = ask(VAULT_REPORT_REVOKED, c1, "bob");
	const char *dir;
	support_log l;
	rlines r;
	shown s;
	vault *v;

	/* An event missing from the middle of the chain: every view fails. */
	if ((v = open_without(hist.ev[E_GRANT_C1].commit, "aud")) != NULL) {
		CHECK_RC(support_log_read(&l, v, NULL), VAULT_ECORRUPT);
		CHECK(l.n == 0);
		support_log_free(&l);
		CHECK_RC(show(&s, v, nth(E_INIT), 0), VAULT_ECORRUPT);
		shown_free(&s);
		expect_report_refused(v, &a, VAULT_ECORRUPT);
		vault_close(v);
	}

	/* The grant's case folder cannot be read: what it gave is not known,
	 * which is damage, not "no access". */
	entry_of(id, E_GRANT_C1, "policy/cases");
	if ((v = open_without(id, "aud")) != NULL) {
		CHECK_RC(support_log_read(&l, v, NULL), VAULT_ECORRUPT);
		CHECK(l.n == E_GRANT_C1);   /* the events before the grant */
		support_log_free(&l);
		vault_close(v);
	}

	/* The case folder of the events after the revoke's rekey cannot be
	 * read: the epoch of the last write is not known, and the revoked
	 * member's report must not guess it. */
	entry_of(id, E_REKEY_3, "policy/cases");
	if ((v = open_without(id, "aud")) != NULL) {
		expect_report_refused(v, &a, VAULT_ECORRUPT);
		/* show reads it too, for the rekey's changes; the revoke's
		 * tree is another. */
		CHECK_RC(show(&s, v, nth(E_REKEY_3), 0), VAULT_ECORRUPT);
		shown_free(&s);
		CHECK_RC(show(&s, v, nth(E_REVOKE), 0), 0);
		shown_free(&s);
		vault_close(v);
	}

	/* A note that does not open: an error with notes, nothing without. */
	dir = copy_of(base);
	if ((v = open_as(dir, "alice")) != NULL) {
		placed rd = { "read", c1, NULL, 3, NULL, "bm90IGEgc2VhbGVkIG5vdGU=" };

		rd.node = anode;
		record_at(v, &rd, t_of(NBASE - 1));
		vault_close(v);
	}
	if ((v = open_as(dir, "aud")) != NULL) {
		vault_log_options o = VAULT_LOG_OPTIONS_INIT;

		CHECK_RC(support_log_read(&l, v, &o), 0);
		CHECK(l.n == NBASE + 1);
		support_log_free(&l);
		o.notes = 1;
		CHECK_RC(support_log_read(&l, v, &o), VAULT_ECORRUPT);
		CHECK(strstr(vault_error_last()->message, "note of event") != NULL);
		CHECK(l.n == NBASE);        /* every event before it, with its note */
		support_log_free(&l);
		CHECK_RC(show(&s, v, nth(NBASE), 1), VAULT_ECORRUPT);
		shown_free(&s);
		CHECK_RC(show(&s, v, nth(NBASE), 0), 0);
		CHECK(s.has_note && !s.note_given);
		shown_free(&s);
		a.report = VAULT_REPORT_CASE;
		a.notes = 1;
		CHECK_RC(run_report(&r, v, &a), VAULT_ECORRUPT);
		rlines_free(&r);
		vault_close(v);
	}
}

int main(void)
{
	umask(022);
	CHECK_RC(vault_global_init(), 0);
	snprintf(base, sizeof base, "%s/base", harness_tmpdir());
	snprintf(timed, sizeof timed, "%s/timed", harness_tmpdir());
	snprintf(work, sizeof work, "%s", harness_tmpdir());
	build_base();
	build_timed();
	CHECK(base_is_as_named());
	if (harness_failures == 0) {
		test_query_all();
		test_query_filters();
		test_query_notes();
		test_query_time();
		test_show();
		test_show_bad_signature();
		test_show_key_swap();
		test_show_removal();
		test_report_case();
		test_report_user();
		test_report_user_named_like_setting();
		test_report_revoked();
		test_report_regrant();
		test_report_refused();
		test_report_range();
		test_anomalies();
		test_anomalies_membership();
		test_anomalies_grant_after_add();
		test_key();
		test_key_damaged();
		test_note_open();
		test_event_read();
		test_in_range();
		test_damaged();
	}
	/* On the timed vault only. */
	if (harness_failures == 0)
		test_anomalies_zone();
	support_log_free(&hist);
	return harness_done("test_report");
}
