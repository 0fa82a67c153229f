/*
 * Audit benchmark: a long history made through the public API, then the
 * time and memory of `audit verify` over it, of a full `audit export` to a
 * fresh repository, and of an incremental export after 1,000 more events.
 *
 *   bench_audit [-g] DIR [SIZE[,SIZE...]]
 *
 * SIZE is a number of events in the history (default 1000000); with
 * several, the history grows to each in turn and is measured there (to
 * show how time and memory scale). DIR is the vault: made if missing,
 * resumed (grown) if it holds one from an earlier run. -g only grows the
 * history to the largest SIZE and measures nothing. Exports go to
 * DIR.export-SIZE (replaced if there). At each size: the full export to a
 * fresh repository, then `audit verify` over the whole history, each in a
 * fresh process, with its time and its peak resident set; at the last, 1,000 more events and
 * the incremental export, then an export that must write nothing.
 *
 * The mix, in blocks of 2,000 events: 70 % reads, 25 % writes of small
 * files (two in three a whole new version, one in three an edit through a
 * file handle) by one of four caseworkers, 5 % policy events by the admin
 * (grants and revocations, and the rekeys they cause). 300 cases of 10
 * files each. Every event is its own fsynced transaction, so growing a
 * history of a million events takes a while; CASEVAULT_KDF is set to test.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vault.h"
#include "support.h"

#define NCASES 300
#define NFILES 10                 /* per case */
#define NWORKERS 4
#define BLOCK 2000                /* events per block: reads, writes, policy */
#define BLOCK_READS 1400
#define BLOCK_WRITES 500
#define PASS "bench-pass"

static char codes[NCASES][VAULT_CODE_SIZE];
static size_t ncodes;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t events;           /* in the history */

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_audit: %s: %s\n", what, vault_error_last()->message);
	exit(1);
}

/* VmHWM or VmRSS of this process, in MiB. */
static double status_mib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, strlen(field)))
			kib = atof(line + strlen(field) + 1);
	fclose(f);
	return kib / 1024;
}

/* Start a new peak for VmHWM (Linux: "5" resets it to the current RSS). */
static void reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static void file_path(char *out, size_t n, size_t c, size_t f)
{
	snprintf(out, n, "%.10s/%sf%02zu.txt", codes[c], f % 2 ? "docs/" : "", f);
}

static void as_user(vault *v, const char *name)
{
	if (vault_user(v) && !strcmp(vault_user(v), name))
		return;
	if (vault_unlock(v, name, PASS, strlen(PASS)) < 0)
		die(name);
}

static void put_small(vault *v, const char *path)
{
	unsigned char data[3000];
	size_t len = 200 + rnd() % (sizeof data - 200);
	uint32_t ver;

	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)('a' + rnd() % 26);
	mem_src s = { data, len, 0 };
	if (vault_put(&ver, v, path, mem_src_read, &s) < 0)
		die(path);
}

static void edit_small(vault *v, const char *path)
{
	vault_file_options o = { VAULT_FILE_OPTIONS_VERSION, VAULT_FILE_WRITE, 0, NULL, NULL, 0, 0 };
	vault_file *f;
	char line[64];
	uint32_t ver;
	int n = snprintf(line, sizeof line, "note %llu\n", (unsigned long long)rnd());

	if (vault_file_open(&f, v, path, &o) < 0)
		die(path);
	if (vault_file_write(f, line, (size_t)n, rnd() % (vault_file_size(f) + 1)) < 0 ||
	    vault_file_commit(&ver, f) < 0)
		die(path);
	vault_file_close(f);
}

static int count_event(const vault_event_info *ev, const char *note, void *p)
{
	(void)ev;
	(*(uint64_t *)p)++;
	return 0;
}

static int collect_case(const vault_case_info *c, void *p)
{
	(void)p;
	if (ncodes < NCASES)
		memcpy(codes[ncodes++], c->code, VAULT_CODE_SIZE);
	return 0;
}

static uint64_t history_size(vault *v)
{
	uint64_t n = 0;

	if (vault_audit_query(v, NULL, count_event, &n) < 0)
		die("audit log");
	return n;
}

/* A new vault: users, cases, folders and a first version of every file. */
static vault *setup(const char *dir)
{
	char name[16], path[128];
	vault *v;

	if (vault_init(&v, dir, "dpo", PASS, strlen(PASS), 0) < 0)
		die("init");
	for (int i = 1; i <= NWORKERS + 1; i++) {
		snprintf(name, sizeof name, "cw%d", i);
		if (support_user_add(v, name, VAULT_ROLE_CASEWORKER, PASS, strlen(PASS)) < 0)
			die("user add");
	}
	if (support_user_add(v, "aud", VAULT_ROLE_AUDITOR, PASS, strlen(PASS)) < 0)
		die("user add");
	as_user(v, "cw1");
	for (size_t c = 0; c < NCASES; c++) {
		char label[32];

		snprintf(label, sizeof label, "bench case %zu", c);
		if (vault_case_create(codes[c], v, label) < 0)
			die("case create");
		snprintf(path, sizeof path, "%.10s/docs", codes[c]);
		if (vault_mkdir(v, path) < 0)
			die(path);
		for (size_t f = 0; f < NFILES; f++) {
			file_path(path, sizeof path, c, f);
			put_small(v, path);
		}
	}
	ncodes = NCASES;
	as_user(v, "dpo");
	for (int i = 2; i <= NWORKERS; i++) {
		snprintf(name, sizeof name, "cw%d", i);
		for (size_t c = 0; c < NCASES; c++)
			if (vault_case_grant(v, codes[c], name, 0) < 0)
				die("grant");
	}
	as_user(v, "cw1");        /* delivers the case keys to cw2..cw4 */
	return v;
}

static vault *open_or_setup(const char *dir)
{
	struct stat st;
	vault *v;

	if (stat(dir, &st) != 0)
		v = setup(dir);
	else {
		if (vault_open(&v, dir) < 0)
			die("open");
		as_user(v, "cw1");
		if (vault_case_foreach(v, &support_list, collect_case, NULL) < 0)
			die("case list");
		if (ncodes < NCASES) {
			fprintf(stderr, "bench_audit: %s is not a vault this benchmark made\n", dir);
			exit(1);
		}
	}
	events = history_size(v);
	rng ^= events * 0x2545f4914f6cdd1dULL;
	return v;
}

/* One policy event by the admin: cw5 joins or leaves a case. */
static void policy_event(vault *v)
{
	size_t c = rnd() % NCASES;

	if (vault_case_grant(v, codes[c], "cw5", rnd() % 2) < 0 &&
	    vault_case_revoke(v, codes[c], "cw5") < 0)
		die("grant or revoke");
}

/* Grow the history by at least `n` events, in the mix described above. */
static void grow(vault *v, uint64_t n)
{
	uint64_t target = events + n, start = events;
	double t0 = now(), last = t0;
	vault_get_options o = VAULT_GET_OPTIONS_INIT;
	size_t got = 0;
	char path[128];

	o.purpose = "bench";     /* a new vault requires one */
	while (events < target) {
		int w = (int)(rnd() % NWORKERS) + 1;
		char name[16];

		snprintf(name, sizeof name, "cw%d", w);
		as_user(v, name);
		for (int i = 0; i < BLOCK - BLOCK / 20 && events < target; i++) {
			uint64_t r = rnd() % (BLOCK_READS + BLOCK_WRITES);
			size_t c = rnd() % NCASES, f = rnd() % NFILES;

			file_path(path, sizeof path, c, f);
			if (r < BLOCK_READS) {
				if (vault_get(v, path, &o, count_sink_write, &got) < 0)
					die(path);
			} else if (r % 3) {
				put_small(v, path);
			} else {
				edit_small(v, path);
			}
			events++;
		}
		as_user(v, "dpo");
		for (int i = 0; i < BLOCK / 20 && events < target; i++) {
			policy_event(v);
			events++;
		}
		if (now() - last > 30) {
			last = now();
			fprintf(stderr, "bench_audit: %llu events (%.0f /s)\n",
				(unsigned long long)events, (events - start) / (last - t0));
		}
	}
	as_user(v, "cw1");
	events = history_size(v);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static off_t dir_bytes;
static int add_size(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p; (void)ftw;
	if (flag == FTW_F)
		dir_bytes += st->st_size;
	return 0;
}


/*
 * One measured step in a fresh process (this program again, with --step),
 * so that its peak resident set is its own and not what growing the
 * history left behind. It prints seconds, a count, and the resident set
 * at the start and at the peak, in MiB.
 */
static int step_main(int argc, char **argv)
{
	vault_verify_options vo = VAULT_VERIFY_OPTIONS_INIT;
	vault_verify_result vr;
	vault_export_result er;
	unsigned long long count;
	double t0, t, rss;
	vault *v;

	if (argc < 4 || vault_global_init() < 0 || vault_open(&v, argv[3]) < 0)
		die("step");
	/* The history is encrypted: verify opens the auditor's keys of it (as
	 * `audit verify` does), the export unlocks the auditor's session. */
	if ((!strcmp(argv[2], "verify") ? vault_open_history : vault_unlock)(v, "aud", PASS, strlen(PASS)) < 0)
		die("unlock");
	malloc_trim(0);
	reset_peak();
	rss = status_mib("VmRSS:");
	t0 = now();
	if (!strcmp(argv[2], "verify")) {
		if (vault_audit_verify(&vr, v, &vo) < 0)
			die("verify");
		count = vr.events;
	} else {
		if (argc < 5 || vault_audit_export(&er, v, argv[4]) < 0)
			die("export");
		count = er.changed ? er.objects : 0;
	}
	t = now() - t0;
	printf("%.3f %llu %.1f %.1f\n", t, count, rss, status_mib("VmHWM:"));
	vault_close(v);
	return 0;
}

typedef struct {
	double s, rss, hwm;
	unsigned long long count;
} step_result;

static void step(step_result *r, const char *what, const char *dir, const char *out)
{
	char exe[4096], cmd[12800];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	FILE *p;

	if (n < 0)
		die("readlink");
	exe[n] = '\0';
	snprintf(cmd, sizeof cmd, "'%s' --step %s '%s' '%s'", exe, what, dir, out ? out : "");
	if ((p = popen(cmd, "r")) == NULL ||
	    fscanf(p, "%lf %llu %lf %lf", &r->s, &r->count, &r->rss, &r->hwm) != 4 ||
	    pclose(p) != 0) {
		fprintf(stderr, "bench_audit: the %s step failed\n", what);
		exit(1);
	}
}

typedef struct {
	step_result exp, ver;
	double export_mib;
} row;

static void measure(row *r, const char *dir, const char *out)
{
	nftw(out, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	step(&r->exp, "export", dir, out);
	dir_bytes = 0;
	nftw(out, add_size, 16, FTW_PHYS);
	r->export_mib = dir_bytes / 1048576.0;
	step(&r->ver, "verify", dir, NULL);
	fprintf(stderr, "bench_audit: %llu events: export %.1f s, verify %.1f s\n",
		r->ver.count, r->exp.s, r->ver.s);
}

int main(int argc, char **argv)
{
	int grow_only = argc > 1 && !strcmp(argv[1], "-g");
	const char *dir = argc > 1 + grow_only ? argv[1 + grow_only] : NULL;
	const char *sizes = argc > 2 + grow_only ? argv[2 + grow_only] : "1000000";
	uint64_t want[16];
	row rows[16];
	size_t nwant = 0;
	char out[4200];
	step_result inc, same;
	vault *v;
	double t0, grow_s;
	uint64_t inc_events;

	if (argc > 1 && !strcmp(argv[1], "--step"))
		return step_main(argc, argv);
	if (!dir) {
		fprintf(stderr, "usage: bench_audit [-g] DIR [SIZE[,SIZE...]]\n");
		return 2;
	}
	for (const char *p = sizes; *p && nwant < 16; ) {
		char *end;
		want[nwant++] = strtoull(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
		if (end == p && *p)
			break;
	}
	setenv("CASEVAULT_KDF", "test", 1);
	if (vault_global_init() < 0)
		die("init");
	v = open_or_setup(dir);
	for (size_t i = 0; i < nwant; i++) {
		if (grow_only && i + 1 < nwant)
			continue;
		if (events < want[i]) {
			uint64_t before = events;

			t0 = now();
			grow(v, want[i] - events);
			grow_s = now() - t0;
			fprintf(stderr, "bench_audit: grew to %llu events in %.0f s (%.0f events/s)\n",
				(unsigned long long)events, grow_s, (events - before) / grow_s);
		}
		if (grow_only)
			break;
		snprintf(out, sizeof out, "%s.export-%llu", dir, (unsigned long long)want[i]);
		measure(&rows[i], dir, out);
	}
	if (grow_only) {
		vault_close(v);
		return 0;
	}

	/* 1,000 more events, then the same export again, then once more. */
	inc_events = events;
	grow(v, 1000);
	inc_events = events - inc_events;
	step(&inc, "export", dir, out);
	step(&same, "export", dir, out);
	if (same.count) {
		fprintf(stderr, "bench_audit: an unchanged export wrote something\n");
		return 1;
	}

	printf("| events | export s | objects | pack MiB | export RSS MiB (start → peak) |"
		" verify s | verify events/s | verify RSS MiB (start → peak) |\n");
	printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (size_t i = 0; i < nwant; i++)
		printf("| %llu | %.1f | %llu | %.0f | %.0f → %.0f | %.1f | %.0f | %.0f → %.0f |\n",
			rows[i].ver.count, rows[i].exp.s, rows[i].exp.count, rows[i].export_mib,
			rows[i].exp.rss, rows[i].exp.hwm, rows[i].ver.s,
			rows[i].ver.count / rows[i].ver.s, rows[i].ver.rss, rows[i].ver.hwm);
	printf("\nincremental export of %llu more events (%llu objects): %.2f s, RSS %.0f → %.0f MiB\n",
		(unsigned long long)inc_events, inc.count, inc.s, inc.rss, inc.hwm);
	printf("unchanged export (writes nothing): %.2f s\n", same.s);
	vault_close(v);
	return 0;
}
