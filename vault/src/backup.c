/*
 * backup — a snapshot of the vault: LMDB's compacting copy, hashed on its
 * way to the file, its manifest signed by the user who made it, and the
 * `backup` event that names it; the check of a snapshot (the restore
 * drill); a working vault made from a snapshot, and what its first
 * session says. The public API is vault/backup.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blake2b.h"
#include "history.h"
#include "policy.h"
#include "sshsig.h"
#include "trust.h"
#include "witness.h"
#include "vault/backup.h"

#define MANIFEST_TAG   "casevault-backup 1\n"
#define MANIFEST_MAX   4096
#define SIG_BEGIN      "-----BEGIN SSH SIGNATURE-----"
#define COPY_CHUNK     (1u << 20)

/* ---- files and directories ----------------------------------------------- */

/* `dir` is missing (made, *made = 1) or an empty directory; `backup`: it
 * is a backup's directory, else a vault's. */
static int dir_make(const char *dir, int *made, int backup)
{
	struct stat sb;
	int n = 0;

	*made = 0;
	if (mkdir(dir, 0700) == 0) {
		*made = 1;
		return 0;
	}
	if (errno != EEXIST && backup)
		return vault_error_set(errno == ENOENT ? VAULT_ENOTFOUND : VAULT_ERROR,
			"cannot create the backup directory '%s': %s", dir, strerror(errno));
	if (errno != EEXIST)
		return vault_error_set(errno == ENOENT ? VAULT_ENOTFOUND : VAULT_ERROR,
			"cannot create the vault directory '%s': %s", dir, strerror(errno));
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return vault_error_set(VAULT_EEXISTS, "'%s' exists and is not a directory", dir);
	{
		char path[4200];
		static const char *names[] = { "data.mdb", "lock.mdb", "manifest", "restored", NULL };

		for (const char **p = names; *p; p++) {
			snprintf(path, sizeof path, "%s/%s", dir, *p);
			n += access(path, F_OK) == 0;
		}
	}
	if (n)
		return vault_error_set(VAULT_EEXISTS, "'%s' already holds a vault or a backup", dir);
	return 0;
}

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* Undo what a failed backup or restore made. */
static void undo(const char *dir, int made)
{
	static const char *names[] = { "data.mdb", "manifest", "manifest.tmp", "restored", NULL };
	char path[4200];

	for (const char **p = names; *p; p++) {
		path_of(path, sizeof path, dir, *p);
		unlink(path);
	}
	if (made)
		rmdir(dir);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = fsync(fd);
	close(fd);
	return ok;
}

static void hex_of(char out[65], const unsigned char h[32])
{
	sodium_bin2hex(out, 65, h, 32);
}


/*
 * Copy from `in` to `out` (-1: nowhere) to its end, hashing what passes:
 * BLAKE2b-256, as `b2sum -l 256` prints it.
 */
static int pump(uint64_t *size, char hash[65], int in, int out, const char *what)
{
	vault_blake2b_ctx hs;
	unsigned char *buf = malloc(COPY_CHUNK), h[32];
	uint64_t total = 0;
	int error = 0;
	ssize_t n;

	if (!buf)
		return vault_error_set_oom();
	vault_blake2b__init(&hs, 32);
	while ((n = read(in, buf, COPY_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = vault_error_set(VAULT_ERROR, "cannot read %s: %s", what, strerror(errno));
			break;
		}
		vault_blake2b__update(&hs, buf, (size_t)n);
		total += (uint64_t)n;
		for (ssize_t off = 0, w; out >= 0 && off < n; off += w) {
			if ((w = write(out, buf + off, (size_t)(n - off))) < 0 && errno != EINTR) {
				error = vault_error_set(errno == ENOSPC ? VAULT_ENOSPC : VAULT_ERROR,
					"cannot write %s: %s", what, strerror(errno));
				goto done;
			}
			if (w < 0)
				w = 0;
		}
	}
	vault_blake2b__final(h, &hs);
	hex_of(hash, h);
	*size = total;
done:
	free(buf);
	return error;
}

/* ---- the copy ------------------------------------------------------------- */

#define SNAP_CHUNK   (4u << 20)   /* hashed, then written, at once */
#define SNAP_CHUNKS  4            /* chunks between the hash and the disk */
#define PIPE_SIZE    (1 << 20)

/*
 * LMDB's copy writes into a pipe. A thread reads it a chunk at a time and
 * hashes the chunk while it is fresh in the CPU's cache; another writes
 * the chunks to the snapshot in order, past the page cache (O_DIRECT)
 * where the file system allows it: no copy of every byte into the page
 * cache, no dirty pages that a mount's fsync waits behind, and the cached
 * pages of the live vault are not evicted for the snapshot's.
 */
typedef struct {
	vault_store *st;
	int in, out;                 /* the pipe's read end; the snapshot */
	unsigned char *buf[SNAP_CHUNKS];
	size_t len[SNAP_CHUNKS];
	pthread_mutex_t lock;        /* guards what follows */
	pthread_cond_t cond;
	uint64_t filled, written;    /* chunks hashed; chunks written */
	int end;                     /* no chunk follows the ones filled */
	int error;                   /* the first failure, its message in why */
	vault_error_kept why;
	uint64_t size;
	char hash[65];
} copier;

/* The first failure is kept, with the message this thread just set. */
static void copier_fail(copier *c, int error)
{
	pthread_mutex_lock(&c->lock);
	if (!c->error) {
		c->error = error;
		vault_error_keep(&c->why);
	}
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* A free chunk for the hasher (1), or a failure (0). */
static int chunk_free(copier *c)
{
	int ok;

	pthread_mutex_lock(&c->lock);
	while (!c->error && c->filled - c->written == SNAP_CHUNKS)
		pthread_cond_wait(&c->cond, &c->lock);
	ok = !c->error;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* A hashed chunk for the writer (1), or the end or a failure (0). */
static int chunk_filled(copier *c)
{
	int ok;

	pthread_mutex_lock(&c->lock);
	while (!c->error && !c->end && c->written == c->filled)
		pthread_cond_wait(&c->cond, &c->lock);
	ok = !c->error && c->written < c->filled;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* The chunk `*count` counts is done (the hasher's or the writer's). */
static void chunk_done(copier *c, uint64_t *count)
{
	pthread_mutex_lock(&c->lock);
	(*count)++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Up to SNAP_CHUNK bytes of the pipe, less only at its end. */
static int chunk_read(size_t *len, copier *c, unsigned char *buf)
{
	ssize_t n;

	for (*len = 0; *len < SNAP_CHUNK; *len += (size_t)n) {
		if ((n = read(c->in, buf + *len, SNAP_CHUNK - *len)) == 0)
			break;
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n < 0) {
			copier_fail(c, vault_error_set(VAULT_ERROR, "backup: cannot read the copy: %s",
				strerror(errno)));
			return -1;
		}
	}
	return 0;
}

/* Past the page cache where the file system allows it (on = 1). */
static int direct_set(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT);
}

/*
 * A chunk at `off`. Only whole blocks go past the page cache: a file
 * system that refuses (EINVAL), or a last chunk that ends within a block,
 * is written through it.
 */
static int chunk_write(copier *c, const unsigned char *buf, size_t len, uint64_t off)
{
	ssize_t w;

	if (len % 4096)
		direct_set(c->out, 0);
	for (size_t done = 0; done < len; done += (size_t)w) {
		if ((w = pwrite(c->out, buf + done, len - done, (off_t)(off + done))) >= 0)
			continue;
		w = 0;
		if (errno == EINVAL && direct_set(c->out, 0) == 0)
			continue;
		if (errno != EINTR) {
			copier_fail(c, vault_error_set(errno == ENOSPC ? VAULT_ENOSPC : VAULT_ERROR,
				"backup: cannot write the snapshot: %s", strerror(errno)));
			return -1;
		}
	}
	return 0;
}

/*
 * The pipe, chunk by chunk, hashed: BLAKE2b-256 of the whole snapshot, as
 * `b2sum -l 256` prints it. The copy's pages of the map are released
 * whenever VAULT_WALK_MAPPED_MAX bytes are mapped. On a failure (here or
 * the writer's) the pipe is closed, which ends LMDB's copy.
 */
static void *hash_run(void *payload)
{
	copier *c = payload;
	vault_blake2b_ctx hs;
	unsigned char h[32], *buf;
	size_t len = SNAP_CHUNK;

	vault_blake2b__init(&hs, 32);
	while (len == SNAP_CHUNK && chunk_free(c)) {
		unsigned i = (unsigned)(c->filled % SNAP_CHUNKS);

		buf = c->buf[i];
		if (chunk_read(&len, c, buf) < 0)
			break;
		vault_blake2b__update(&hs, buf, len);
		vault_store__copy_release(c->st, VAULT_WALK_MAPPED_MAX);
		c->size += len;
		c->len[i] = len;
		if (len)
			chunk_done(c, &c->filled);
	}
	pthread_mutex_lock(&c->lock);
	c->end = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	close(c->in);
	vault_blake2b__final(h, &hs);
	hex_of(c->hash, h);
	return NULL;
}

/* The hashed chunks, in order, to the snapshot. */
static void *write_run(void *payload)
{
	copier *c = payload;
	unsigned i;

	while (chunk_filled(c)) {
		i = (unsigned)(c->written % SNAP_CHUNKS);
		if (chunk_write(c, c->buf[i], c->len[i], c->written * (uint64_t)SNAP_CHUNK) < 0)
			break;
		chunk_done(c, &c->written);
	}
	return NULL;
}

/*
 * LMDB's copy into the pipe `p` (both ends closed here), hashed and
 * written by two threads. SIGPIPE is held while they run: a failed thread
 * closes the pipe's read end, and LMDB's next write is told EPIPE.
 */
static int copy_run(copier *c, vault *v, int p[2])
{
	const struct timespec none = { 0, 0 };
	sigset_t sig, old;
	pthread_t hasher, writer;
	int error;

	sigemptyset(&sig);
	sigaddset(&sig, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sig, &old);
	if (pthread_create(&writer, NULL, write_run, c) != 0) {
		close(p[0]);
		error = vault_error_set(VAULT_ERROR, "backup: cannot start a thread");
		goto done;
	}
	if (pthread_create(&hasher, NULL, hash_run, c) != 0) {
		close(p[0]);
		copier_fail(c, vault_error_set(VAULT_ERROR, "backup: cannot start a thread"));
		pthread_join(writer, NULL);
		error = vault_error_set(VAULT_ERROR, "backup: cannot start a thread");
		goto done;
	}
	error = vault_store__copy(v->st, p[1]);
	close(p[1]);
	p[1] = -1;
	pthread_join(hasher, NULL);
	pthread_join(writer, NULL);
	if (c->error)
		error = vault_error_put(c->error, &c->why);
	while (sigtimedwait(&sig, NULL, &none) == SIGPIPE)
		;
done:
	if (p[1] >= 0)
		close(p[1]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return error;
}

/* The vault file copied into `fd`, and hashed on its way. */
static int copy_hashed(uint64_t *size, char hash[65], vault *v, int fd)
{
	copier c;
	int p[2], error = 0;

	memset(&c, 0, sizeof c);
	c.st = v->st;
	c.out = fd;
	for (int i = 0; i < SNAP_CHUNKS && !error; i++)
		if (posix_memalign((void **)&c.buf[i], 4096, SNAP_CHUNK) != 0)
			error = vault_error_set_oom();
	if (!error && pipe2(p, O_CLOEXEC) < 0)
		error = vault_error_set(VAULT_ERROR, "backup: cannot make a pipe: %s", strerror(errno));
	if (!error) {
		fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
		c.in = p[0];
		direct_set(fd, 1);
		pthread_mutex_init(&c.lock, NULL);
		pthread_cond_init(&c.cond, NULL);
		error = copy_run(&c, v, p);
		pthread_cond_destroy(&c.cond);
		pthread_mutex_destroy(&c.lock);
	}
	for (int i = 0; i < SNAP_CHUNKS; i++)
		free(c.buf[i]);
	if (error == 0 && fsync(fd) < 0)
		error = vault_error_set(VAULT_ERROR, "backup: cannot flush the snapshot: %s", strerror(errno));
	*size = c.size;
	memcpy(hash, c.hash, 65);
	return error;
}

/* ---- the manifest ---------------------------------------------------------- */

static void manifest_body(vault_buf *b, const vault_backup_info *m)
{
	vault_buf_printf(b, MANIFEST_TAG "vault %s\nhead %s\nevents %" PRIu64 "\nsize %" PRIu64
		"\nblake2b %s\ntime %" PRId64 "\nevent %s\n", m->vault_id, m->head, m->events, m->size,
		m->blake2b, m->time, m->event);
}

static int manifest_write(const char *dest, const vault_backup_info *m, vault *v)
{
	vault_buf b = VAULT_BUF_INIT;
	char armor[VAULT_SSHSIG_ARMOR_MAX], tmp[4200], path[4200];
	int fd = -1, error;

	manifest_body(&b, m);
	if ((error = vault_sshsig__sign(armor, sizeof armor, (unsigned char *)b.ptr, b.size, v->sk)) < 0)
		goto done;
	vault_buf_printf(&b, "%s\n", armor);
	path_of(tmp, sizeof tmp, dest, "manifest.tmp");
	path_of(path, sizeof path, dest, "manifest");
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, b.ptr, b.size) != (ssize_t)b.size || fsync(fd) < 0 || rename(tmp, path) < 0 ||
	    sync_dir(dest) < 0)
		error = vault_error_set(errno == ENOSPC ? VAULT_ENOSPC : VAULT_ERROR,
			"backup: cannot write '%s': %s", path, strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	vault_buf_dispose(&b);
	return error;
}

/*
 * The manifest's fields, its signed text (*body_len bytes of `text`) and
 * its signature (what follows). `text` gets MANIFEST_MAX bytes.
 */
static int manifest_read(vault_backup_info *m, char *text, size_t *body_len, const char *dest)
{
	char path[4200];
	vault_buf b = VAULT_BUF_INIT;
	const char *sig;
	ssize_t n;
	int fd, error = 0;

	memset(m, 0, sizeof *m);
	path_of(path, sizeof path, dest, "manifest");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return vault_error_set(errno == ENOENT ? VAULT_ENOTFOUND : VAULT_ERROR,
			"'%s' is not a casevault backup: cannot read its manifest: %s", dest, strerror(errno));
	n = read(fd, text, MANIFEST_MAX - 1);
	close(fd);
	if (n < 0)
		return vault_error_set(VAULT_ERROR, "cannot read '%s': %s", path, strerror(errno));
	text[n] = '\0';
	if ((size_t)n == MANIFEST_MAX - 1 || strlen(text) != (size_t)n)
		return vault_error_set(VAULT_ECORRUPT,
			"the backup's manifest '%s/manifest' is damaged: it is not a manifest's text", dest);
	if ((sig = strstr(text, SIG_BEGIN)) == NULL)
		return vault_error_set(VAULT_ECORRUPT, "the backup's manifest '%s/manifest' is damaged: it is not signed",
			dest);
	*body_len = (size_t)(sig - text);
	if (sscanf(text, MANIFEST_TAG "vault %16[A-Za-z0-9]\nhead %40[0-9a-f]\nevents %" SCNu64
	    "\nsize %" SCNu64 "\nblake2b %64[0-9a-f]\ntime %" SCNd64 "\nevent %40[0-9a-f]\n",
	    m->vault_id, m->head, &m->events, &m->size, m->blake2b, &m->time, m->event) != 7)
		return vault_error_set(VAULT_ECORRUPT,
			"the backup's manifest '%s/manifest' is damaged: a field is missing or malformed", dest);
	/* Written back, the fields must give the signed text exactly. */
	manifest_body(&b, m);
	if (b.size != *body_len || memcmp(b.ptr, text, b.size) != 0)
		error = vault_error_set(VAULT_ECORRUPT,
			"the backup's manifest '%s/manifest' is damaged: its text is not in the form casevault writes",
			dest);
	vault_buf_dispose(&b);
	return error;
}

/* The snapshot's data file against the manifest's size and hash. */
static int data_check(const char *dest, const vault_backup_info *m)
{
	char path[4200], hash[65];
	uint64_t size;
	int fd, error;

	path_of(path, sizeof path, dest, "data.mdb");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return vault_error_set(errno == ENOENT ? VAULT_ECORRUPT : VAULT_ERROR,
			"cannot read the backup's data file '%s': %s", path, strerror(errno));
	error = pump(&size, hash, fd, -1, path);
	close(fd);
	if (error < 0)
		return error;
	if (size != m->size)
		return vault_error_set(VAULT_ECORRUPT,
			"the backup's data file '%s' is %" PRIu64 " bytes; its manifest says %" PRIu64,
			path, size, m->size);
	if (strcmp(hash, m->blake2b))
		return vault_error_set(VAULT_ECORRUPT,
			"the backup's data file '%s' does not match its manifest (BLAKE2b %.16s..., not %.16s...)",
			path, hash, m->blake2b);
	return 0;
}

/* ---- the backup event ----------------------------------------------------- */

typedef struct {
	vault_backup_info *m;
	git_oid head;
	char trailer[160];
} backup_args;

/*
 * The events up to the snapshot's head: the trusted point (the gate just
 * made it the head this event follows) less the events after it.
 */
static int backup_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	backup_args *a = payload;
	vault_trust_point t;
	git_commit *c = NULL;
	git_oid id;
	uint64_t after = 0;

	vault_trust__save(&t, v);
	for (id = t.head; !git_oid_equal(&id, &a->head); after++) {
		int has;

		if (after >= t.events || git_commit_lookup(&c, v->repo, &id) < 0)
			return vault_error_set(VAULT_ERROR, "backup: the snapshot's head %s is not an event "
				"of the vault's history", a->m->head);
		if ((has = git_commit_parentcount(c) > 0))
			id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
		if (!has)
			return vault_error_set(VAULT_ERROR, "backup: the snapshot's head %s is not an "
				"event of the vault's history", a->m->head);
	}
	a->m->events = t.events - after;
	snprintf(a->trailer, sizeof a->trailer, "%s %" PRIu64 " %" PRIu64 " %s", a->m->head,
		a->m->events, a->m->size, a->m->blake2b);
	ev->snapshot = a->trailer;
	return 0;
}

static int backup_post(vault *v, MDB_txn *txn, const git_oid *commit, void *payload)
{
	backup_args *a = payload;

	git_oid_tostr(a->m->event, sizeof a->m->event, commit);
	return 0;
}

/* The head the copy holds, read from the copy. */
static int snapshot_head(backup_args *a, const char *dest)
{
	vault *s = NULL;
	int error;

	if ((error = vault_open_snapshot(&s, dest)) == 0 && (error = vault_head(a->m->head, s)) == 0)
		git_oid_fromstr(&a->head, a->m->head);
	vault_close(s);
	return error;
}

int vault_backup(vault_backup_info *out, vault *v, const char *dest)
{
	vault_backup_info m;
	backup_args a;
	char path[4200];
	int fd = -1, made = 0, error;

	memset(&m, 0, sizeof m);
	memset(&a, 0, sizeof a);
	a.m = &m;
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if (v->role == VAULT_ROLE_CASEWORKER)
		return vault_error_set(VAULT_EACCES,
			"user '%s' is a caseworker: backups are made by admins and auditors", v->user);
	if ((error = dir_make(dest, &made, 1)) < 0)
		return error;
	path_of(path, sizeof path, dest, "data.mdb");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		error = vault_error_set(VAULT_ERROR, "backup: cannot create '%s': %s", path, strerror(errno));
		goto done;
	}
	snprintf(m.vault_id, sizeof m.vault_id, "%s", v->id);
	m.time = (int64_t)time(NULL);
	if ((error = copy_hashed(&m.size, m.blake2b, v, fd)) < 0)
		goto done;
	close(fd);
	fd = -1;
	if ((error = snapshot_head(&a, dest)) < 0)
		goto done;
	if ((error = vault_event__run(v, "backup", backup_fn, backup_post, &a, 0)) < 0)
		goto done;
	error = manifest_write(dest, &m, v);
done:
	if (fd >= 0)
		close(fd);
	if (error < 0)
		undo(dest, made);
	else
		*out = m;
	return error;
}

/* ---- the check of a snapshot --------------------------------------------- */

typedef struct {
	const char *armor;
	size_t armor_len;
	const char *body;
	size_t body_len;
	char *signer;
} signer_args;

static int signer_cb(const char *name, const user_rec *u, void *payload)
{
	signer_args *a = payload;

	if (u->status != USER_ACTIVE || u->role == VAULT_ROLE_CASEWORKER)
		return 0;
	if (vault_sshsig__verify(a->armor, a->armor_len, (const unsigned char *)a->body, a->body_len,
	    u->pk) < 0)
		return 0;
	snprintf(a->signer, VAULT_NAME_MAX + 1, "%s", name);
	return 1;
}

/* The manifest is signed by an admin or auditor active at the snapshot's
 * head (whose records verify has just checked against that head). */
static int signer_check(char *signer, vault *snap, const char *text, size_t body_len,
	const char *head)
{
	signer_args a = { text + body_len, strlen(text + body_len), text, body_len, signer };
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_store__begin(&txn, snap->st, 0)) < 0)
		return error;
	error = vault_user__each(txn, snap, signer_cb, &a);
	vault_store__abort(snap->st, txn);
	if (error < 0)
		return error;
	if (error == 0)
		return vault_error_set(VAULT_ECORRUPT, "the backup's manifest is not signed by an admin "
			"or auditor of the vault at its head %.12s", head);
	return 0;
}

/* The manifest's `backup` event, met in the live vault's history (`t`, its
 * trailers): by the signer, naming this snapshot. */
static int backup_event_check(const vault_backup_check *res, const vault_trailers *t, const vault *live)
{
	const vault_backup_info *m = &res->manifest;
	char want[sizeof t->snapshot];

	snprintf(want, sizeof want, "%s %" PRIu64 " %" PRIu64 " %s", m->head, m->events, m->size, m->blake2b);
	if (strcmp(t->action, "backup") || strcmp(t->actor, res->signer) || strcmp(t->snapshot, want))
		return vault_error_set(VAULT_ECORRUPT, "event %.12s of the history of '%s' is not the "
			"backup event of this snapshot by '%s' that its manifest names", m->event, live->dir,
			res->signer);
	return 0;
}

/*
 * How many events the live vault holds after `head`, which it must hold,
 * and the manifest's `backup` event among them: a snapshot made from a
 * copy of the vault, or signed outside it, has none there. Only a vault
 * that accepted a rollback since (one restored from this snapshot) may
 * lack it.
 */
static int live_behind(vault_backup_check *res, vault *live, const git_oid *head, const git_oid *event)
{
	MDB_txn *txn = NULL;
	git_commit *c = NULL;
	vault_trailers t;
	git_oid id;
	int error, has = 1, rolled = 0;

	res->live = 1;
	if (strcmp(live->id, res->manifest.vault_id))
		return vault_error_set(VAULT_ECORRUPT, "the backup is of vault %s, not of '%s' (vault %s)",
			res->manifest.vault_id, live->dir, live->id);
	if ((error = vault_head(res->live_head, live)) < 0)
		return error;
	if ((error = vault_store__begin_walk(&txn, live->st)) < 0)
		return error;
	git_oid_fromstr(&id, res->live_head);
	while (!git_oid_equal(&id, head) && has) {
		if (git_commit_lookup(&c, live->repo, &id) < 0) {
			error = vault_error_set(VAULT_ECORRUPT, "event %s of the vault's history is missing "
				"or damaged", git_oid_tostr_s(&id));
			goto done;
		}
		vault_history__trailers(&t, git_commit_message(c));
		rolled |= !strcmp(t.action, "rollback-accepted");
		if (git_oid_equal(&id, event)) {
			res->event_found = 1;
			error = backup_event_check(res, &t, live);
		}
		if ((has = git_commit_parentcount(c) > 0))
			id = *git_commit_parent_id(c, 0);
		git_commit_free(c);
		if (error < 0)
			goto done;
		res->behind++;
	}
	if (!has)
		error = vault_error_set(VAULT_ECORRUPT, "the backup's head %s is not an event of the "
			"history of '%s': the vault was rolled back or rewritten since, or the backup was "
			"forged", res->manifest.head, live->dir);
	else if (!res->event_found && res->behind && !rolled)
		error = vault_error_set(VAULT_ECORRUPT, "the backup event %.12s its manifest names is not "
			"an event of the history of '%s' after the snapshot's head: the snapshot was made "
			"from a copy of the vault, or its manifest signed outside it, or the vault was "
			"rolled back since", res->manifest.event, live->dir);
done:
	vault_store__abort(live->st, txn);
	return error;
}

int vault_backup_verify(vault_backup_check *res, vault *snap, vault *live,
	const vault_verify_options *vo)
{
	char text[MANIFEST_MAX], head[VAULT_OID_SIZE];
	size_t body_len;
	git_oid h, ev;
	int error;

	memset(res, 0, sizeof *res);
	if ((error = manifest_read(&res->manifest, text, &body_len, snap->dir)) < 0)
		return error;
	if (strcmp(res->manifest.vault_id, snap->id))
		return vault_error_set(VAULT_ECORRUPT, "the backup's manifest names vault %s; its data "
			"file is of vault %s", res->manifest.vault_id, snap->id);
	/* The signature first: an edited manifest is named so. The records
	 * it is checked against are then checked against the head. */
	if ((error = signer_check(res->signer, snap, text, body_len, res->manifest.head)) < 0 ||
	    (error = data_check(snap->dir, &res->manifest)) < 0 ||
	    (error = vault_head(head, snap)) < 0)
		return error;
	if (strcmp(head, res->manifest.head))
		return vault_error_set(VAULT_ECORRUPT, "the backup's data file holds head %s; its manifest "
			"says %s", head, res->manifest.head);
	if ((error = vault_audit_verify(&res->verify, snap, vo)) < 0)
		return error;
	if (res->verify.events != res->manifest.events)
		return vault_error_set(VAULT_ECORRUPT, "the backup holds %" PRIu64 " events; its manifest "
			"says %" PRIu64, res->verify.events, res->manifest.events);
	if (!live)
		return 0;
	git_oid_fromstr(&h, res->manifest.head);
	git_oid_fromstr(&ev, res->manifest.event);
	return live_behind(res, live, &h, &ev);
}

/* ---- restore --------------------------------------------------------------- */

static int copy_checked(const char *dest, const char *dir, const vault_backup_info *m)
{
	char from[4200], to[4200], hash[65];
	uint64_t size;
	int in, out, error;

	path_of(from, sizeof from, dest, "data.mdb");
	path_of(to, sizeof to, dir, "data.mdb");
	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return vault_error_set(errno == ENOENT ? VAULT_ECORRUPT : VAULT_ERROR,
			"cannot read the backup's data file '%s': %s", from, strerror(errno));
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		close(in);
		return vault_error_set(VAULT_ERROR, "restore: cannot create '%s': %s", to, strerror(errno));
	}
	error = pump(&size, hash, in, out, from);
	if (error == 0 && fsync(out) < 0)
		error = vault_error_set(VAULT_ERROR, "restore: cannot flush '%s': %s", to, strerror(errno));
	close(in);
	close(out);
	if (error == 0 && (size != m->size || strcmp(hash, m->blake2b)))
		error = vault_error_set(VAULT_ECORRUPT, "the backup's data file '%s' does not match its "
			"manifest (%" PRIu64 " bytes, BLAKE2b %.16s...)", from, size, hash);
	return error;
}

int vault_restore_snapshot(vault_backup_info *out, const char *dest, const char *dir)
{
	char text[MANIFEST_MAX], head[VAULT_OID_SIZE];
	vault_backup_info m;
	vault_trust_note n;
	vault *v = NULL;
	size_t body_len;
	int made = 0, error;

	if ((error = vault_global_init()) < 0)
		return error;
	if ((error = manifest_read(&m, text, &body_len, dest)) < 0)
		return error;
	if ((error = dir_make(dir, &made, 0)) < 0)
		return error;
	if ((error = copy_checked(dest, dir, &m)) < 0)
		goto done;
	/* It opens as a vault, of the id and head its manifest says. */
	if ((error = vault_open(&v, dir)) < 0 || (error = vault_head(head, v)) < 0)
		goto done;
	if (strcmp(v->id, m.vault_id) || strcmp(head, m.head)) {
		error = vault_error_set(VAULT_ECORRUPT, "the backup's data file is vault %s at %s; its "
			"manifest says vault %s at %s", v->id, head, m.vault_id, m.head);
		goto done;
	}
	git_oid_fromstr(&n.head, m.head);
	n.events = m.events;
	n.time = m.time;
	if ((error = vault_trust__note_write(dir, &n)) == 0 && sync_dir(dir) < 0)
		error = vault_error_set(VAULT_ERROR, "restore: cannot flush '%s': %s", dir, strerror(errno));
done:
	vault_close(v);
	if (error < 0) {
		char lock[4200];

		path_of(lock, sizeof lock, dir, "lock.mdb");
		unlink(lock);
		undo(dir, made);
	} else {
		*out = m;
	}
	return error;
}

/*
 * The head the vault had when this session found it: the snapshot's, or,
 * when this session accepted a rollback (its event is the head now), the
 * event before that.
 */
static int head_found(git_oid *out, vault *v, const vault_trust_note *n)
{
	vault_trust_point t;
	git_commit *c = NULL;
	MDB_txn *txn = NULL;
	int error;

	if (n->events) {
		*out = n->head;
		return 0;
	}
	vault_trust__save(&t, v);
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	if (git_commit_lookup(&c, v->repo, &t.head) < 0 || git_commit_parentcount(c) != 1)
		error = vault_error_set(VAULT_ECORRUPT, "the event that accepted the rollback is "
			"missing or damaged");
	else
		*out = *git_commit_parent_id(c, 0);
	git_commit_free(c);
	vault_store__abort(v->st, txn);
	return error;
}

/* What the witness holds after the head the vault had. */
static void witness_check(vault_restored_info *out, vault *v, const vault_trust_note *n)
{
	char url[VAULT_WITNESS_URL_MAX + 1];
	git_oid head;

	if (head_found(&head, v, n) < 0 ||
	    vault_witness__later(&out->witness_later, &out->witness_found, url, v, &head) < 0) {
		out->witness = -1;
		snprintf(out->witness_why, sizeof out->witness_why, "%s", vault_error_last()->message);
	} else
		out->witness = url[0] != '\0';
}

/*
 * Is the note's head an event of the history this session verified? Anyone
 * who writes the vault's directory can write a note: one naming an event
 * this history lacks is of no restore of this vault. 1, 0, or an error.
 */
static int note_of_vault(vault *v, const vault_trust_note *n)
{
	vault_trust_point t;
	MDB_txn *txn = NULL;
	int error;

	vault_trust__save(&t, v);
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	error = vault_trust__holds(v, &t.head, &n->head);
	vault_store__abort(v->st, txn);
	return error;
}

/* The first session on a restored vault. */
static int accepted_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	(void)ev, (void)v, (void)txn, (void)payload;
	return 0;
}

int vault_restored_note(vault_restored_info *out, vault *v)
{
	vault_trust_note n;
	int error;

	memset(out, 0, sizeof *out);
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	out->seen = v->ckpt_seen;
	if (vault_trust__note_read(&n, v->dir) && (error = note_of_vault(v, &n)) != 1) {
		if (error < 0)
			return error;
		memset(&n, 0, sizeof n);          /* planted: it says nothing */
		if ((error = vault_trust__note_remove(v->dir)) < 0)
			return error;
	}
	if (!n.events && !v->ckpt_reset)
		return 0;
	witness_check(out, v, &n);
	if (!out->events && v->ckpt_reset) {
		vault_trust_point t;

		vault_trust__save(&t, v);
		out->events = t.events;
		git_oid_tostr(out->head, sizeof out->head, &t.head);
	}
	if (!n.events)
		return 0;
	out->restored = 1;
	out->events = n.events;
	out->time = n.time;
	git_oid_tostr(out->head, sizeof out->head, &n.head);
	/* A rollback this session accepted is recorded already. */
	if (!v->ckpt_reset &&
	    (error = vault_policy__run(v, "rollback-accepted", accepted_fn, NULL)) < 0)
		return error;
	return vault_trust__note_remove(v->dir);
}
