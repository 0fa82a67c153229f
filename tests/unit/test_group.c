/*
 * Group commit (event.c): threads of one process sharing a vault handle, as
 * the mount's do, have their events committed together. Each event must
 * still stand or fall alone, report its own error to its own thread, and
 * the history must verify, event by event, afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "harness.h"
#include "rawdb.h"

#define THREADS 4
#define EACH    60              /* events a thread records */

static vault *v;
static char code[VAULT_CODE_SIZE];
static pthread_barrier_t start;

typedef struct {
	int id;
	int made, refused, wrong;   /* refused: EEXISTS, as it should */
	char message[512];
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	char path[128], data[64];

	pthread_barrier_wait(&start);
	for (int i = 0; i < EACH; i++) {
		uint32_t version;
		int rc;

		if (i % 3 == 0) {
			mem_src s = { (const unsigned char *)data, 0, 0 };

			snprintf(path, sizeof path, "%s/f%d-%d.txt", code, w->id, i);
			s.len = (size_t)snprintf(data, sizeof data, "thread %d, event %d", w->id, i);
			rc = vault_put(&version, v, path, mem_src_read, &s);
		} else {
			snprintf(path, sizeof path, "%s/d%d-%d", code, w->id, i);
			rc = vault_mkdir(v, path);
		}
		if (rc == 0)
			w->made++;
		else
			w->wrong++;
		/* A failing event among the others: it must fail alone, and
		 * this thread must see its own message. */
		if (i % 10 == 5) {
			rc = vault_mkdir(v, path);
			if (rc == VAULT_EEXISTS && strstr(vault_error_last()->message, path))
				w->refused++;
			else
				snprintf(w->message, sizeof w->message, "%d: %s", rc,
					vault_error_last()->message);
		}
	}
	return NULL;
}

static int count_entry(const vault_stat_info *e, void *payload)
{
	(void)e;
	(*(int *)payload)++;
	return 0;
}

static size_t last_txnid(void)
{
	MDB_envinfo info;

	mdb_env_info(v->st->env, &info);
	return info.me_last_txnid;
}

int main(void)
{
	char dir[512];
	pthread_t t[THREADS];
	worker w[THREADS];
	vault_verify_result res;
	size_t before, txns;
	int entries = 0, made = 0;

	snprintf(dir, sizeof dir, "%s/v", harness_tmpdir());
	CHECK_RC(vault_init(&v, dir, "dpo", "dpo-pass", 8, 0), 0);
	if (!v)
		return harness_done("test_group");
	CHECK_RC(support_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	vault_close(v);
	v = NULL;
	CHECK_RC(vault_open(&v, dir), 0);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_case_create(code, v, "group"), 0);

	before = last_txnid();
	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].id = i;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].wrong == 0);
		CHECK(w[i].refused == EACH / 10);
		if (w[i].message[0])
			fprintf(stderr, "thread %d: %s\n", i, w[i].message);
		made += w[i].made;
	}
	pthread_barrier_destroy(&start);
	txns = last_txnid() - before;
	printf("%d events in %zu transactions\n", made, txns);
	CHECK(made == THREADS * EACH);
	/* Shared fsyncs: fewer transactions than events. */
	CHECK(txns < (size_t)made);

	CHECK_RC(vault_list(v, code, &support_list, count_entry, &entries), 0);
	CHECK(entries == THREADS * EACH);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	/* init, user-add, enrol, case-create, every event of the threads and
	 * the listing; the refused ones left nothing. */
	CHECK(res.events == 5 + (uint64_t)(THREADS * EACH));
	vault_close(v);
	return harness_done("test_group");
}
