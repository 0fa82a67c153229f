/*
 * trust — the session's verified point of the history, its checkpoints in
 * the vault and in the user's state directory, and the gate (trust.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"
#include "verify.h"

/* The state file is rewritten at least this often by a long session. */
#define FILE_EVERY 1000

#define CKPT_SIZE (GIT_OID_RAWSZ + 8 + 32)
#define CKPT_CTX "cv-ckpt_"

/* ---- the checkpoint and its MAC ------------------------------------------ */

/* Under the user's own key: the vault, the user, the event and the count. */
static void ckpt_mac(unsigned char mac[32], const vault *v, const vault_trust_point *p)
{
	crypto_generichash_state st;
	unsigned char n[8];
	static const char tag[] = "casevault checkpoint 1";

	be64_put(n, p->events);
	crypto_generichash_init(&st, v->ckpt_key, 32, 32);
	crypto_generichash_update(&st, (const unsigned char *)tag, sizeof tag);
	crypto_generichash_update(&st, (const unsigned char *)v->id, strlen(v->id) + 1);
	crypto_generichash_update(&st, (const unsigned char *)v->user, strlen(v->user) + 1);
	crypto_generichash_update(&st, p->head.id, GIT_OID_RAWSZ);
	crypto_generichash_update(&st, n, sizeof n);
	crypto_generichash_final(&st, mac, 32);
}

static void ckpt_record_key(char *out, size_t n, const vault *v)
{
	snprintf(out, n, "checkpoint/%s", v->user);
}

static void ckpt_encode(unsigned char out[CKPT_SIZE], const vault *v, const vault_trust_point *p)
{
	memcpy(out, p->head.id, GIT_OID_RAWSZ);
	be64_put(out + GIT_OID_RAWSZ, p->events);
	ckpt_mac(out + GIT_OID_RAWSZ + 8, v, p);
}

/* 0, or -1 when the bytes are no checkpoint of this user in this vault. */
static int ckpt_decode(vault_trust_point *p, const vault *v, const unsigned char *b, size_t len)
{
	unsigned char mac[32];

	memset(p, 0, sizeof *p);
	if (len != CKPT_SIZE)
		return -1;
	git_oid_fromraw(&p->head, b);
	p->events = be64_get(b + GIT_OID_RAWSZ);
	ckpt_mac(mac, v, p);
	if (p->events == 0 || sodium_memcmp(mac, b + GIT_OID_RAWSZ + 8, 32) != 0)
		return -1;
	p->set = 1;
	return 0;
}

/*
 * The checkpoint the vault holds for the user; unset when there is none,
 * and when the record is damaged or not the user's: anyone who writes the
 * file can delete it, so a record that fails its MAC vouches for nothing
 * and stops nothing either. The checkpoint file and the witness remain;
 * the user's next event writes the record again.
 */
static int ckpt_load_record(vault_trust_point *p, vault *v, MDB_txn *txn)
{
	char key[VAULT_NAME_MAX + 16];
	MDB_val val;
	int error;

	memset(p, 0, sizeof *p);
	ckpt_record_key(key, sizeof key, v);
	if ((error = vault_meta__get(&val, txn, v, key)) == VAULT_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	if (ckpt_decode(p, v, val.mv_data, val.mv_size) < 0)
		memset(p, 0, sizeof *p);
	return 0;
}

static int ckpt_store_record(vault *v, MDB_txn *txn, const vault_trust_point *p)
{
	unsigned char b[CKPT_SIZE];
	char key[VAULT_NAME_MAX + 16];

	ckpt_record_key(key, sizeof key, v);
	ckpt_encode(b, v, p);
	return vault_meta__put(txn, v, key, b, sizeof b);
}

/* ---- the checkpoint file in the user's state directory -------------------- */

/*
 * The checkpoints are kept per vault directory: a drill restores a backup
 * of the same vault (its id) elsewhere and accepts it with --restored,
 * which must not lower the checkpoint of the live vault. The directory is
 * named by a hash of its real path, taken once per handle (a mount's
 * daemon changes its working directory later).
 */
static void dir_key_set(vault *v)
{
	char *real = realpath(v->dir, NULL);
	const char *name = real ? real : v->dir;
	unsigned char h[16];

	crypto_generichash(h, sizeof h, (const unsigned char *)name, strlen(name), NULL, 0);
	sodium_bin2hex(v->dir_key, sizeof v->dir_key, h, sizeof h);
	free(real);
}

/*
 * STATE/casevault/VAULT-ID (FILE_VAULT), STATE/casevault/VAULT-ID/DIR-KEY
 * (FILE_DIR) or STATE/casevault/VAULT-ID/DIR-KEY/USER (FILE_USER); 0, or
 * -1 when there is no state directory.
 */
enum { FILE_VAULT, FILE_DIR, FILE_USER };

static int file_path(char *out, size_t n, const vault *v, int which)
{
	int len;

	if (!v->state_dir[0] || !v->dir_key[0])
		return -1;
	if (which == FILE_VAULT)
		len = snprintf(out, n, "%s/casevault/%s", v->state_dir, v->id);
	else if (which == FILE_DIR)
		len = snprintf(out, n, "%s/casevault/%s/%s", v->state_dir, v->id, v->dir_key);
	else
		len = snprintf(out, n, "%s/casevault/%s/%s/%s", v->state_dir, v->id, v->dir_key, v->user);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/*
 * The checkpoint at `path`. A file that is missing or cannot be read as
 * one counts as none: whoever can change the user's own files can do
 * anything the user can.
 */
static void file_read(vault_trust_point *p, vault *v, const char *path)
{
	char hex[GIT_OID_HEXSZ + 1], machex[65];
	unsigned char b[CKPT_SIZE];
	unsigned long long events;
	FILE *f;
	int ok;

	memset(p, 0, sizeof *p);
	if ((f = fopen(path, "re")) == NULL)
		return;
	ok = fscanf(f, "casevault-checkpoint 1\nhead %40[0-9a-f]\nevents %llu\nmac %64[0-9a-f]\n",
		hex, &events, machex) == 3;
	fclose(f);
	if (!ok || git_oid_fromstr(&p->head, hex) < 0 ||
	    sodium_hex2bin(b + GIT_OID_RAWSZ + 8, 32, machex, 64, NULL, NULL, NULL) != 0)
		return;
	memcpy(b, p->head.id, GIT_OID_RAWSZ);
	be64_put(b + GIT_OID_RAWSZ, events);
	ckpt_decode(p, v, b, sizeof b);
}

/* The checkpoint this user left for this vault directory. */
static void file_load(vault_trust_point *p, vault *v)
{
	char path[4400];

	memset(p, 0, sizeof *p);
	if (file_path(path, sizeof path, v, FILE_USER) == 0)
		file_read(p, v, path);
}

static void keep_highest(vault_trust_point *best, const vault_trust_point *p)
{
	if (p->set && (!best->set || p->events > best->events))
		*best = *p;
}

/*
 * For a directory this user never opened the vault from: the highest
 * checkpoint the user left for this vault id, from any directory (and the
 * file of format 7's layout, one per vault id): an older copy moved to a
 * new path is still refused unless the user gives --restored.
 */
static void file_load_highest(vault_trust_point *best, vault *v)
{
	char base[4400], path[4800];
	vault_trust_point p;
	struct dirent *e;
	DIR *d;

	memset(best, 0, sizeof *best);
	if (file_path(base, sizeof base, v, FILE_VAULT) < 0)
		return;
	snprintf(path, sizeof path, "%s/%s", base, v->user);
	file_read(best, v, path);
	if ((d = opendir(base)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strlen(e->d_name) != sizeof v->dir_key - 1 ||
		    (size_t)snprintf(path, sizeof path, "%s/%s/%s", base, e->d_name, v->user) >= sizeof path)
			continue;
		file_read(&p, v, path);
		keep_highest(best, &p);
	}
	closedir(d);
}

/* mkdir -p of the state directory's casevault part, mode 0700. */
static int file_dirs(const vault *v)
{
	char path[4400];
	size_t base = strlen(v->state_dir);

	if (file_path(path, sizeof path, v, FILE_DIR) < 0)
		return -1;
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, (size_t)(s - path) > base ? 0700 : 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

void vault_trust__save_file(vault *v)
{
	vault_trust_point p;
	unsigned char b[CKPT_SIZE];
	char path[4400], tmp[4420], hex[GIT_OID_HEXSZ + 1], machex[65];
	FILE *f;
	int fd, ok;

	vault_trust_point there;

	pthread_mutex_lock(&v->trust_lock);
	p = v->committed;
	pthread_mutex_unlock(&v->trust_lock);
	if (!p.set || !v->ckpt_key || p.events == v->file_events || file_dirs(v) < 0 ||
	    file_path(path, sizeof path, v, FILE_USER) < 0)
		return;
	/* Another session of this user (a mount beside the CLI) may have
	 * written a newer one; and the file must never be ahead of the disk,
	 * or a crash would look like a rollback. */
	file_load(&there, v);
	if ((there.set && there.events > p.events && !v->ckpt_reset) || vault_store__sync(v->st) < 0)
		return;
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return;
	}
	ckpt_encode(b, v, &p);
	git_oid_tostr(hex, sizeof hex, &p.head);
	sodium_bin2hex(machex, sizeof machex, b + GIT_OID_RAWSZ + 8, 32);
	fprintf(f, "casevault-checkpoint 1\nhead %s\nevents %" PRIu64 "\nmac %s\n", hex, p.events, machex);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return;
	}
	v->file_events = p.events;
}

/* ---- the session's trusted point ----------------------------------------- */

void vault_trust__save(vault_trust_point *out, vault *v)
{
	pthread_mutex_lock(&v->trust_lock);
	*out = v->trusted;
	pthread_mutex_unlock(&v->trust_lock);
}

void vault_trust__restore(vault *v, const vault_trust_point *p)
{
	pthread_mutex_lock(&v->trust_lock);
	v->trusted = *p;
	pthread_mutex_unlock(&v->trust_lock);
}

static void memo_clear(vault_chain_memo *m)
{
	free(m->slot);
	memset(m, 0, sizeof *m);
}

void vault_trust__end(vault *v)
{
	vault_vcrypto__key_free(v->ckpt_key);
	v->ckpt_key = NULL;
	memset(&v->trusted, 0, sizeof v->trusted);
	memset(&v->committed, 0, sizeof v->committed);
	v->file_events = 0;
	v->ckpt_reset = 0;
	v->ckpt_seen = 0;
	pthread_mutex_lock(&v->chain_lock);
	memo_clear(&v->chain);
	pthread_mutex_unlock(&v->chain_lock);
}

int vault_trust__begin(vault *v)
{
	vault_trust__end(v);
	if (!v->dir_key[0])
		dir_key_set(v);
	/* The seed half of the Ed25519 secret key: only this user derives it. */
	return vault_vcrypto__subkey(&v->ckpt_key, v->sk, 1, CKPT_CTX);
}

int vault_trust__rekey(vault *v, const unsigned char *sk, unsigned char **prev)
{
	unsigned char *key = NULL;
	int error;

	*prev = NULL;
	if (!v->ckpt_key)
		return 0;
	if ((error = vault_vcrypto__subkey(&key, sk, 1, CKPT_CTX)) < 0)
		return error;
	*prev = v->ckpt_key;
	v->ckpt_key = key;
	return 0;
}

void vault_trust__unrekey(vault *v, unsigned char *prev)
{
	if (!prev)
		return;
	vault_vcrypto__key_free(v->ckpt_key);
	v->ckpt_key = prev;
}

void vault_trust__rekeyed(vault *v, unsigned char *prev)
{
	if (!prev)
		return;
	vault_vcrypto__key_free(prev);
	/* The state file's checkpoint is under the old key: write it anew. */
	v->file_events = 0;
	vault_trust__save_file(v);
}

/* ---- the note of a restore ------------------------------------------------ */

#define NOTE_NAME "restored"

int vault_trust__note_write(const char *dir, const vault_trust_note *n)
{
	char path[4200], hex[GIT_OID_HEXSZ + 1];
	FILE *f;
	int fd, ok;

	snprintf(path, sizeof path, "%s/" NOTE_NAME, dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return vault_error_set(VAULT_ERROR, "cannot write '%s': %s", path, strerror(errno));
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return vault_error_set_oom();
	}
	git_oid_tostr(hex, sizeof hex, &n->head);
	fprintf(f, "casevault-restored 1\nhead %s\nevents %" PRIu64 "\ntime %" PRId64 "\n",
		hex, n->events, n->time);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	if (fclose(f) != 0 || !ok)
		return vault_error_set(VAULT_ERROR, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

int vault_trust__note_read(vault_trust_note *n, const char *dir)
{
	char path[4200], hex[GIT_OID_HEXSZ + 1];
	unsigned long long events;
	long long when;
	FILE *f;
	int ok;

	memset(n, 0, sizeof *n);
	snprintf(path, sizeof path, "%s/" NOTE_NAME, dir);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	ok = fscanf(f, "casevault-restored 1\nhead %40[0-9a-f]\nevents %llu\ntime %lld\n",
		hex, &events, &when) == 3;
	fclose(f);
	if (!ok || git_oid_fromstr(&n->head, hex) < 0)
		return 0;
	n->events = events;
	n->time = when;
	return 1;
}

int vault_trust__note_remove(const char *dir)
{
	char path[4200];

	snprintf(path, sizeof path, "%s/" NOTE_NAME, dir);
	if (unlink(path) < 0 && errno != ENOENT)
		return vault_error_set(VAULT_ERROR, "cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

static int rolled_back(vault *v, const vault_trust_point *saw, uint64_t held)
{
	char hex[GIT_OID_HEXSZ + 1];
	vault_trust_note n;

	git_oid_tostr(hex, sizeof hex, &saw->head);
	if (vault_trust__note_read(&n, v->dir))
		return vault_error_set(VAULT_ECORRUPT,
			"the history was rolled back: user '%s' saw event %" PRIu64 " (%.12s), and the vault's "
			"history of %" PRIu64 " events does not hold it; this vault was made by 'casevault restore' "
			"from a backup at event %" PRIu64, v->user, saw->events, hex, held, n.events);
	return vault_error_set(VAULT_ECORRUPT,
		"the history was rolled back: user '%s' saw event %" PRIu64 " (%.12s), and the vault's "
		"history of %" PRIu64 " events does not hold it", v->user, saw->events, hex, held);
}

/* Verify from the trusted point (none: from the genesis) up to `head`.
 * *rolled: the head does not descend from the trusted point. */
static int verify_to(vault *v, MDB_txn *txn, const git_oid *head, int *rolled)
{
	vault_trust_point t;
	vault_verify_since r;
	git_oid genesis;
	int error;

	*rolled = 0;
	vault_trust__save(&t, v);
	if (t.set && git_oid_equal(&t.head, head))
		return 0;
	/* The genesis the user's wrapped key is bound to, read at open. */
	git_oid_fromraw(&genesis, v->genesis);
	if ((error = vault_verify__since(&r, v, txn, head, t.set ? &t.head : NULL, &genesis)) < 0)
		return error;
	if (r.failed) {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof hex, &r.bad);
		if (t.set && !r.reached) {
			*rolled = 1;
			return rolled_back(v, &t, r.events);
		}
		vault_error_put(VAULT_ECORRUPT, &r.why);
		return vault_error_wrap(VAULT_ECORRUPT, "event %" PRIu64 " (%.12s) of the history does not verify",
			t.events + r.events - r.bad_depth, hex);
	}
	if (t.set && !r.reached) {
		*rolled = 1;
		return rolled_back(v, &t, r.events);
	}
	t.set = 1;
	t.head = *head;
	t.events += r.events;
	/* Another thread may have verified or appended further meanwhile. */
	pthread_mutex_lock(&v->trust_lock);
	if (!v->trusted.set || v->trusted.events <= t.events)
		v->trusted = t;
	pthread_mutex_unlock(&v->trust_lock);
	return 0;
}

static int head_of(git_oid *out, vault *v, MDB_txn *txn)
{
	MDB_val val;
	int error;

	if ((error = vault_meta__get(&val, txn, v, "head")) < 0 || val.mv_size != GIT_OID_RAWSZ)
		return error < 0 && error != VAULT_ENOTFOUND ? error :
			vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	git_oid_fromraw(out, val.mv_data);
	return 0;
}

int vault_trust__gate(vault *v, MDB_txn *txn)
{
	git_oid head;
	int error, rolled;

	if (!v->unlocked || !v->ckpt_key)
		return 0;
	if ((error = head_of(&head, v, txn)) < 0)
		return error;
	return verify_to(v, txn, &head, &rolled);
}

int vault_trust__advance(vault *v, MDB_txn *txn, const git_oid *head)
{
	vault_trust_point t;

	if (!v->ckpt_key)
		return 0;
	vault_trust__save(&t, v);
	t.events = t.set ? t.events + 1 : 1;
	t.head = *head;
	t.set = 1;
	vault_trust__restore(v, &t);
	return ckpt_store_record(v, txn, &t);
}

void vault_trust__committed(vault *v, const vault_trust_point *done)
{
	int due;

	pthread_mutex_lock(&v->trust_lock);
	if (done->set && (!v->committed.set || v->committed.events < done->events))
		v->committed = *done;
	due = v->committed.set && v->committed.events >= v->file_events + FILE_EVERY;
	pthread_mutex_unlock(&v->trust_lock);
	if (due)
		vault_trust__save_file(v);
}

int vault_trust__start(vault *v, int accept, int *accepted)
{
	vault_trust_point rec, file, none = { 0 };
	MDB_txn *txn = NULL;
	git_oid head;
	int error, rolled = 0;

	*accepted = 0;
	if ((error = vault_trust__begin(v)) < 0)
		return error;
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	if ((error = ckpt_load_record(&rec, v, txn)) < 0)
		goto done;
	file_load(&file, v);
	v->file_events = file.events;
	if (!file.set)
		file_load_highest(&file, v);
	/* The newer of the two: an older copy of the vault holds an older
	 * checkpoint, which the file outside it betrays. */
	vault_trust__restore(v, file.set && (!rec.set || file.events > rec.events) ? &file : &rec);
	if ((error = head_of(&head, v, txn)) == 0)
		error = verify_to(v, txn, &head, &rolled);
	if (error == VAULT_ECORRUPT && rolled && accept) {
		/* Restored from an older copy on purpose: what is there now must
		 * verify from the genesis; the caller records the acceptance. */
		vault_trust__restore(v, &none);
		if ((error = verify_to(v, txn, &head, &rolled)) == 0) {
			*accepted = v->ckpt_reset = 1;
			v->ckpt_seen = file.events > rec.events ? file.events : rec.events;
		}
	}
done:
	vault_store__abort(v->st, txn);
	if (error == 0 && (!rec.set || !git_oid_equal(&rec.head, &v->trusted.head))) {
		/* Keep what was verified, so the next session starts here;
		 * unless another session of this user stored a newer one since. */
		if ((error = vault_store__begin(&txn, v->st, 1)) == 0 &&
		    (error = ckpt_load_record(&rec, v, txn)) == 0 &&
		    (!rec.set || rec.events < v->trusted.events) &&
		    (error = ckpt_store_record(v, txn, &v->trusted)) == 0)
			error = vault_store__commit(v->st, txn);
		else
			vault_store__abort(v->st, txn);
	}
	if (error == 0) {
		v->committed = v->trusted;
		vault_trust__save_file(v);
	}
	return error;
}

/* ---- the verified chain, for older versions ------------------------------ */

static int memo_has(const vault_chain_memo *m, const git_oid *id)
{
	size_t i;

	if (!m->cap)
		return 0;
	for (i = (size_t)be64_get(id->id) & (m->cap - 1); !git_oid_is_zero(&m->slot[i]);
	     i = (i + 1) & (m->cap - 1))
		if (git_oid_equal(&m->slot[i], id))
			return 1;
	return 0;
}

static int memo_add(vault_chain_memo *m, const git_oid *id)
{
	if ((m->n + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		git_oid *old = m->slot, *slot = calloc(cap, sizeof *slot);

		if (!slot)
			return vault_error_set_oom();
		m->slot = slot;
		m->cap = cap;
		m->n = 0;
		for (size_t i = 0; old && i < cap / 2; i++)
			if (!git_oid_is_zero(&old[i]))
				memo_add(m, &old[i]);
		free(old);
	}
	if (!memo_has(m, id)) {
		size_t i = (size_t)be64_get(id->id) & (m->cap - 1);
		while (!git_oid_is_zero(&m->slot[i]))
			i = (i + 1) & (m->cap - 1);
		m->slot[i] = *id;
		m->n++;
	}
	return 0;
}

/* Step `id` to its parent: 1, or 0 at the genesis. */
static int parent_of(vault *v, git_oid *id)
{
	git_commit *c = NULL;
	int has;

	if (git_commit_lookup(&c, v->repo, id) < 0)
		return vault_error_set(VAULT_ECORRUPT, "event %s of the history is missing or damaged",
			git_oid_tostr_s(id));
	if ((has = git_commit_parentcount(c) > 0))
		*id = *git_commit_parent_id(c, 0);
	git_commit_free(c);
	return has;
}

/*
 * Walk parents from `from`, adding each event, until `stop` (found: 1),
 * `want` (found: 2) or the genesis (0). *last: the oldest event added.
 */
static int memo_walk(vault_chain_memo *m, vault *v, const git_oid *from, const git_oid *stop,
	const git_oid *want, git_oid *last)
{
	git_oid id = *from;
	int error;

	for (;;) {
		if (stop && git_oid_equal(&id, stop))
			return 1;
		if ((error = memo_add(m, &id)) < 0)
			return error;
		*last = id;
		if (want && git_oid_equal(&id, want))
			return 2;
		if ((error = parent_of(v, &id)) <= 0)
			return error;
	}
}

/* Is `commit` at or below the trusted event? Through the memo, so that a
 * session walks each part of the chain once. */
static int memo_holds(vault *v, const vault_trust_point *t, const git_oid *commit)
{
	vault_chain_memo *m = &v->chain;
	git_oid last;
	int error;

	if (!m->set) {
		memo_clear(m);
		m->set = 1;
		m->top = m->bottom = t->head;
		if ((error = memo_add(m, &t->head)) < 0)
			return error;
	}
	if (!git_oid_equal(&m->top, &t->head)) {
		/* The trusted point moved on: add what lies between. */
		if ((error = memo_walk(m, v, &t->head, &m->top, NULL, &last)) < 0)
			return error;
		if (error == 0) {               /* the old top is not below it */
			memo_clear(m);
			return memo_holds(v, t, commit);
		}
		m->top = t->head;
	}
	if (memo_has(m, commit))
		return 1;
	if (m->complete)
		return 0;
	if ((error = memo_walk(m, v, &m->bottom, NULL, commit, &last)) < 0)
		return error;
	m->bottom = last;
	m->complete = error == 0;
	return error == 2;
}

int vault_trust__holds(vault *v, const git_oid *head, const git_oid *commit)
{
	vault_trust_point t;
	git_oid id = *head;
	int seen, error;

	vault_trust__save(&t, v);
	if (!t.set)
		return 0;
	if (git_oid_equal(&t.head, head)) {
		/* In an event (the gate made the head the trusted one). */
		pthread_mutex_lock(&v->chain_lock);
		error = memo_holds(v, &t, commit);
		pthread_mutex_unlock(&v->chain_lock);
		return error;
	}
	/* A snapshot whose head is not the trusted one: the event must be
	 * met at or below the trusted event, walking from this head. */
	seen = 0;
	for (;;) {
		if (git_oid_equal(&id, &t.head))
			seen = 1;
		if (git_oid_equal(&id, commit))
			return seen;
		if ((error = parent_of(v, &id)) <= 0)
			return error;
	}
}
