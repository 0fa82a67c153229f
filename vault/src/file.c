/*
 * file — file handles: opening one (the node, the version the signed
 * history vouches for, the read or create event), its times, mode and
 * size, reads and writes at any offset, and the version event that
 * records its changes (`write`, or `touch` for times and mode alone).
 *
 * The content itself, block by block, and the staged chunks of large
 * writes are blocks.c; whole files as streams, stream.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hkeys.h"
#include "file.h"
#include "trust.h"
#include "history.h"

/* ---- reading and changing content --------------------------------------- */

static int check_writable(vault_file *f)
{
	if (!(f->flags & VAULT_FILE_WRITE))
		return vault_error_set(VAULT_EACCES, "'%s' was opened read-only", f->path);
	return 0;
}

/* Changed content: a new version at the next commit, with the time of
 * this change as its mtime (unless one is set later), as on a disk. */
static void mark_written(vault_file *f)
{
	f->modified = 1;
	f->set_mtime = vault_time__now_ns();
	f->has_mtime = 1;
}

int vault_file_read(size_t *nread, vault_file *f, void *buf, size_t len, uint64_t off)
{
	int error;

	*nread = 0;
	/* Every read is an event: a handle reads only once one is recorded
	 * (at open, or by vault_file_allow_read). */
	if (!(f->flags & VAULT_FILE_READ))
		return vault_error_set(VAULT_EUSAGE, "'%s' was not opened for reading", f->path);
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	if ((error = vault_blocks__read(f, buf, len, off)) < 0)
		return error;
	*nread = len;
	return 0;
}

int vault_file_write(vault_file *f, const void *buf, size_t len, uint64_t off)
{
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if (len == 0)
		return 0;
	if (off + len < off)
		return vault_error_set(VAULT_EUSAGE, "'%s': write beyond the largest offset", f->path);
	if (off + len > f->size && (error = vault_blocks__resize(f, off + len)) < 0)
		return error;
	if ((error = vault_blocks__write(f, buf, len, off)) < 0)
		return error;
	mark_written(f);
	return 0;
}

int vault_file_truncate(vault_file *f, uint64_t size)
{
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if (size == f->size)
		return 0;
	if ((error = vault_blocks__resize(f, size)) < 0)
		return error;
	mark_written(f);
	return 0;
}

/* ---- the version event -------------------------------------------------- */

/* The chunks stored ahead are the version's now: those it does not name
 * (blocks written again since) go, in its transaction. */
static int staged_done(vault_file *f, MDB_txn *txn)
{
	uint64_t *ids = malloc((f->nblocks ? f->nblocks : 1) * sizeof *ids);
	size_t n = 0;
	int error;

	if (!ids)
		return vault_error_set_oom();
	for (size_t i = 0; i < f->nblocks; i++)
		ids[n++] = f->blocks[i].id;
	error = vault_staged__done(txn, f->v->st, f->token, ids, n);
	free(ids);
	return error;
}

static int commit_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	vault_file *f = payload;
	version_rec r;
	node_rec cur;
	const char *name = f->p.name[f->p.n - 1];
	size_t nlen = f->p.len[f->p.n - 1];
	int64_t now;
	int error;

	if (cc->c.epoch != f->start_epoch || cc->c.retired)
		return vault_error_set(VAULT_EBUSY, "the keys of case '%s' changed during the write", f->p.code);
	if ((error = vault_blocks__store(f, txn)) < 0)
		return error;
	if (f->staged && (error = staged_done(f, txn)) < 0)
		return error;
	if (f->exists) {
		if ((error = vault_node__get(&cur, txn, v, f->node.id)) < 0)
			return error;
		if (cur.state != NODE_LIVE)
			return vault_error_set(VAULT_ENOTFOUND, "'%s' was removed while it was written", f->path);
		if (cur.generation + (uint32_t)f->fresh_gen != f->node.generation)
			return vault_error_set(VAULT_EBUSY, "'%s' changed while it was written", f->path);
		/* Another writer may have moved or renamed it meanwhile. */
		f->node.version = cur.version;
		f->node.parent = cur.parent;
		memcpy(f->node.name, cur.name, cur.name_len);
		f->node.name_len = cur.name_len;
		f->node.name_gen = cur.name_gen;
		if (cur.next_block > f->node.next_block)
			f->node.next_block = cur.next_block;
	} else {
		if ((error = vault_docs__name_free(txn, v, cc, f->parent, name, nlen, f->path, 1)) < 0)
			return error;
		vault_docs__name_seal(&f->node, name, nlen, f->wkey);
		if ((error = vault_docs__dirent_put(txn, v, cc, f->parent, name, nlen, f->node.id)) < 0 ||
		    (error = vault_docs__folder_changed(ev, v, txn, f->parent, 1, 0)) < 0)
			return error;
	}
	if (f->fresh_gen && !f->gen_stored) {
		if ((error = vault_docs__nodekey_put(txn, v, &cc->c, f->node.id, f->node.generation, f->wkey)) < 0)
			return error;
		f->gen_stored = 1;
	}
	memset(&r, 0, sizeof r);
	r.nblocks = f->nblocks;
	r.blocks = f->blocks;
	f->node.version++;
	f->node.size = f->size;
	now = vault_time__now_ns();
	f->node.mtime = f->has_mtime ? f->set_mtime : now;
	f->node.ctime = now;
	if (f->has_atime)
		f->node.atime = f->set_atime;
	else if (!f->exists)
		f->node.atime = now;
	f->node.mode = f->set_mode;
	vault_version__commitment(f->node.commitment, &r);
	if ((error = vault_node__put(txn, v, &f->node)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, &f->node, 1);
}

/* The version names the commit of its own event: written once it exists. */
static int commit_post(vault *v, MDB_txn *txn, const git_oid *commit, void *payload)
{
	vault_file *f = payload;
	version_rec r;

	memset(&r, 0, sizeof r);
	r.size = f->size;
	r.mtime = vault_time__sec(f->node.mtime);   /* as the manifest's seconds */
	r.generation = f->node.generation;
	memcpy(r.commit, commit->id, 20);
	r.nblocks = f->nblocks;
	r.blocks = f->blocks;
	return vault_version__put(txn, v, f->node.id, f->node.version, &r);
}

/* The committed content becomes the base that later changes share. */
static int rebase(vault_file *f)
{
	block_ref *copy = NULL;

	if (f->nblocks && (copy = malloc(f->nblocks * sizeof *copy)) == NULL)
		return vault_error_set_oom();
	if (copy)
		memcpy(copy, f->blocks, f->nblocks * sizeof *copy);
	vault_version__dispose(&f->base);
	f->base.blocks = copy;
	f->base.nblocks = f->nblocks;
	f->base_size = f->size;
	return 0;
}

/* Time or mode alone: a `touch` event, no new version. */
static int touch_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	vault_file *f = payload;
	node_rec cur;
	int error;

	if ((error = vault_node__get(&cur, txn, v, f->node.id)) < 0)
		return error;
	if (cur.state != NODE_LIVE)
		return vault_error_set(VAULT_ENOTFOUND, "'%s' was removed meanwhile", f->path);
	if ((!f->has_mtime || cur.mtime == f->set_mtime) &&
	    (!f->has_atime || cur.atime == f->set_atime) && cur.mode == f->set_mode)
		return 1;        /* nothing changes: no event */
	if (f->has_mtime)
		cur.mtime = f->set_mtime;
	if (f->has_atime)
		cur.atime = f->set_atime;
	cur.mode = f->set_mode;
	cur.ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, &cur)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, &cur, 0);
}

int vault_file_commit(uint32_t *version_out, vault_file *f)
{
	node_rec saved;
	int error, gen_stored;

	if (version_out)
		*version_out = f->version;
	if (!(f->flags & VAULT_FILE_WRITE))
		return 0;
	if (!f->modified && f->meta_modified && f->exists) {
		if ((error = vault_docs__event(f->v, "touch", f->p.code, 1, touch_fn, NULL, f)) < 0)
			return error;
		f->meta_modified = 0;
		f->has_mtime = f->has_atime = 0;
		return 0;
	}
	if (!f->modified)
		return 0;
	if ((error = vault_blocks__flush(f)) < 0)
		return error;
	saved = f->node;
	gen_stored = f->gen_stored;
	error = vault_docs__event(f->v, "write", f->p.code, 1, commit_fn, commit_post, f);
	if (error < 0) {
		/* Nothing of it was recorded: the handle is as before. */
		f->node = saved;
		f->gen_stored = gen_stored;
		vault_blocks__restage(f);
		return error;
	}
	vault_blocks__committed(f);
	f->exists = 1;
	snprintf(f->node_hex, sizeof f->node_hex, "%016llx", (unsigned long long)f->node.id);
	f->lazy_create = 0;
	f->fresh_gen = 0;        /* the generation is now the node's own */
	f->modified = 0;
	f->meta_modified = 0;
	f->has_mtime = f->has_atime = 0;
	f->version = f->node.version;
	if (version_out)
		*version_out = f->version;
	return rebase(f);
}

/* ---- opening ------------------------------------------------------------ */

typedef struct {
	vault_file *f;
	const vault_file_options *o;
} open_args;

/*
 * The version about to be served is the one the history vouches for: the
 * manifest of its node in a signed tree (the head's for the current
 * version, its own event's for an older one) names this version, its size
 * and the commitment to its block list. A reader does not verify the chain
 * (`audit verify` does); this keeps an edit of the vault's records from
 * serving other content than the history holds. `txn` is the current
 * transaction (an event's, or a walk's), which the history reads through.
 */
static int version_vouched(vault_file *f, MDB_txn *txn)
{
	unsigned char got[32], want[32];
	vault_buf b = VAULT_BUF_INIT;
	MDB_val val;
	git_oid oid;
	char path[64];
	const char *s;
	size_t len;
	int error = 0;

	vault_version__commitment(got, &f->base);
	if ((error = vault_hkeys__refresh(f->v, txn)) < 0)
		return error;
	if (vault_meta__get(&val, txn, f->v, "head") < 0 || val.mv_size != GIT_OID_RAWSZ)
		return vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
	git_oid_fromraw(&oid, val.mv_data);
	if (f->version != f->node.version) {
		/* An older version: the event named in its record vouches for
		 * it only if it is one of the chain this session verified. */
		git_oid head = oid;
		git_oid_fromraw(&oid, f->base.commit);
		if ((error = vault_trust__holds(f->v, &head, &oid)) < 0)
			return error;
		if (error == 0)
			return vault_error_set(VAULT_ECORRUPT,
				"version %u of '%s' names an event that is not in the verified history (node %016llx)",
				f->version, f->path, (unsigned long long)f->node.id);
	}
	vault_node__path(path, f->node.id);
	if (vault_trees__blob(&b, f->v, &oid, path) < 0 ||
	    (s = vault_history__field(b.ptr, "commitment", &len)) == NULL || len != 64 ||
	    sodium_hex2bin(want, sizeof want, s, len, NULL, NULL, NULL) != 0)
		error = vault_error_set(VAULT_ECORRUPT, "the event of '%s' version %u cannot be read",
			f->path, f->version);
	if (error == 0 && (sodium_memcmp(got, want, sizeof got) != 0 ||
	    !(s = vault_history__field(b.ptr, "version", &len)) || strtoul(s, NULL, 10) != f->version ||
	    !(s = vault_history__field(b.ptr, "size", &len)) || strtoull(s, NULL, 10) != f->base.size))
		error = vault_error_set(VAULT_ECORRUPT,
			"version %u of '%s' does not match the signed history (node %016llx)",
			f->version, f->path, (unsigned long long)f->node.id);
	vault_buf_dispose(&b);
	return error;
}

/* The folder entry must lead to a live file of this folder with this very
 * name: a swapped entry never serves another file's content. */
static int entry_is_node(vault_file *f, MDB_txn *txn, const node_rec *parent)
{
	const unsigned char *key;
	int error;

	if (f->node.state != NODE_LIVE || f->node.parent != parent->id || strcmp(f->node.code, parent->code))
		return vault_error_set(VAULT_ECORRUPT, "the folder entry of '%s' points to a node that is not there", f->path);
	if ((error = vault_blocks__key(&key, f, txn, f->node.name_gen)) < 0)
		return error;
	if (!vault_docs__name_is(&f->node, key, f->p.name[f->p.n - 1], f->p.len[f->p.n - 1]))
		return vault_error_set(VAULT_ECORRUPT, "the folder entry of '%s' points to another file", f->path);
	return 0;
}

/* Everything an open needs, in its transaction (a read event's, or a
 * read transaction for writers that serve no content). */
static int open_load(vault_file *f, MDB_txn *txn, case_ctx *cc, const vault_file_options *o)
{
	node_rec parent;
	uint64_t id;
	int error;

	if ((error = vault_case__get(&f->c, txn, f->v, f->p.code)) < 0)
		return error;
	f->start_epoch = cc->c.epoch;
	if ((error = vault_docs__resolve(&parent, txn, f->v, cc, &f->p, f->p.n - 1, f->path)) < 0)
		return error;
	if (parent.type != NODE_DIR)
		return vault_error_set(VAULT_ENOTFOUND, "'%s': its folder is a file", f->path);
	f->parent = parent.id;
	error = vault_docs__child_lookup(&id, txn, f->v, cc, parent.id, f->p.name[f->p.n - 1], f->p.len[f->p.n - 1]);
	if (error == 0) {
		if ((o->flags & VAULT_FILE_CREATE) && (o->flags & VAULT_FILE_EXCL))
			return vault_error_set(VAULT_EEXISTS, "'%s' already exists", f->path);
		/* The entry links the node: a missing record is damage. */
		if ((error = vault_docs__linked_node(&f->node, txn, f->v, id)) < 0)
			return error;
		if (f->node.type != NODE_FILE)
			return vault_error_set(VAULT_EUSAGE, "'%s' is a folder", f->path);
		if ((error = entry_is_node(f, txn, &parent)) < 0)
			return error;
		f->exists = 1;
		f->version = o->doc_version ? o->doc_version : f->node.version;
		if (f->version > f->node.version)
			return vault_error_set(VAULT_ENOTFOUND, "'%s' has no version %u (it has %u)",
				f->path, f->version, f->node.version);
		if (f->version) {
			error = vault_version__get(&f->base, txn, f->v, id, f->version);
			if (error == VAULT_ENOTFOUND)
				error = vault_error_set(VAULT_ECORRUPT, "the record of '%s' version %u is missing",
					f->path, f->version);
			if (error < 0)
				return error;
			if ((error = version_vouched(f, txn)) < 0)
				return error;
			f->base_size = f->base.size;
		}
	} else if (error == VAULT_ENOTFOUND) {
		/* A miss on a read is checked against the folder's entries (a
		 * lost one is damage); a create's is what it expects. */
		if (!(o->flags & VAULT_FILE_CREATE) &&
		    (error = vault_docs__entries_whole(txn, f->v, cc, &parent, &f->p, f->p.n - 1)) < 0)
			return error;
		if (!(o->flags & VAULT_FILE_CREATE))
			return vault_error_set(VAULT_ENOTFOUND, "'%s' does not exist", f->path);
		vault_node__init(&f->node, NODE_FILE, cc->c.code, parent.id);
		if (o->mode || (o->flags & VAULT_FILE_MODE))
			f->node.mode = o->mode & 07777;
		f->lazy_create = 1;
	} else {
		return error;
	}
	if (o->flags & VAULT_FILE_WRITE)
		return vault_docs__node_key_for_write(&f->wkey, &f->fresh_gen, txn, f->v, &cc->c, &f->node);
	return 0;
}

static int read_event_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	open_args *a = payload;
	int error;

	if ((error = vault_purposes__check(txn, v, a->o->purpose)) < 0)
		return error;
	if ((error = open_load(a->f, txn, cc, a->o)) < 0)
		return error;
	if (!a->f->exists)
		return 1;    /* nothing to read: no read event (see vault_file_open) */
	ev->node = a->f->node.id;
	ev->version = a->f->version;
	ev->purpose = a->o->purpose;
	if (a->o->note && *a->o->note)
		return vault_event__seal_note(ev, v, txn, a->o->note);
	return 0;
}

/* The new, empty file as a `create` event (the mount's way). */
static int create_event_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	vault_file *f = payload;
	const char *name = f->p.name[f->p.n - 1];
	size_t nlen = f->p.len[f->p.n - 1];
	version_rec r;
	int error;

	if ((error = vault_docs__name_free(txn, v, cc, f->parent, name, nlen, f->path, 0)) < 0)
		return error;
	vault_docs__name_seal(&f->node, name, nlen, f->wkey);
	f->node.mtime = f->has_mtime ? f->set_mtime : vault_time__now_ns();
	f->node.ctime = vault_time__now_ns();
	f->node.atime = f->has_atime ? f->set_atime : f->node.ctime;
	f->node.mode = f->set_mode;          /* a chmod before the first write */
	memset(&r, 0, sizeof r);
	vault_version__commitment(f->node.commitment, &r);
	if ((error = vault_docs__nodekey_put(txn, v, &cc->c, f->node.id, f->node.generation, f->wkey)) < 0)
		return error;
	f->gen_stored = 1;
	if ((error = vault_node__put(txn, v, &f->node)) < 0 ||
	    (error = vault_docs__dirent_put(txn, v, cc, f->parent, name, nlen, f->node.id)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, f->parent, 1, 0)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, &f->node, 0);
}

typedef struct {
	vault_file *f;
	const char *purpose, *note;
} allow_args;

static int allow_read_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	allow_args *a = payload;
	int error;

	if ((error = vault_purposes__check(txn, v, a->purpose)) < 0)
		return error;
	ev->node = a->f->node.id;
	ev->version = a->f->version;
	ev->purpose = a->purpose;
	if (a->note && *a->note)
		return vault_event__seal_note(ev, v, txn, a->note);
	return 0;
}

int vault_file_allow_read(vault_file *f, const char *purpose, const char *note)
{
	allow_args a = { f, purpose, note };
	int error;

	/* A file not yet in the vault holds only what this handle wrote. */
	if (f->exists &&
	    (error = vault_docs__event(f->v, "read", f->p.code, 0, allow_read_fn, NULL, &a)) < 0)
		return error;
	f->flags |= VAULT_FILE_READ;
	return 0;
}

int vault_file_create(vault_file *f)
{
	int error;

	if (f->exists)
		return 0;
	if ((error = vault_blocks__wait(f)) < 0 ||
	    (error = vault_docs__event(f->v, "create", f->p.code, 1, create_event_fn, NULL, f)) < 0)
		return error;
	f->exists = 1;
	f->lazy_create = 0;
	f->fresh_gen = 0;
	f->modified = f->size != 0 || f->nblocks != 0;
	snprintf(f->node_hex, sizeof f->node_hex, "%016llx", (unsigned long long)f->node.id);
	return 0;
}

int vault_file_open(vault_file **out, vault *v, const char *path, const vault_file_options *o)
{
	vault_file *f;
	MDB_txn *txn = NULL;
	case_ctx cc;
	open_args a;
	int error, need_rw;

	*out = NULL;
	if (!o || o->version != VAULT_FILE_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "'%s': file options of an unknown version", path);
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((o->flags & VAULT_FILE_WRITE) && o->doc_version)
		return vault_error_set(VAULT_EUSAGE, "'%s': an old version cannot be written", path);
	if ((o->flags & (VAULT_FILE_CREATE | VAULT_FILE_TRUNC)) && !(o->flags & VAULT_FILE_WRITE))
		return vault_error_set(VAULT_EUSAGE, "'%s': creating or truncating needs write access", path);
	if ((f = calloc(1, sizeof *f)) == NULL)
		return vault_error_set_oom();
	f->v = v;
	f->flags = o->flags;
	randombytes_buf(f->token, sizeof f->token);
	pthread_mutex_init(&f->rlock, NULL);
	if (strlen(path) >= sizeof f->path) {
		error = vault_error_set(VAULT_EUSAGE, "path is too long");
		goto done;
	}
	strcpy(f->path, path);
	if ((error = vault_docs__path_parse(&f->p, f->path)) < 0)
		goto done;
	if (f->p.n == 0) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' names a case, not a file", path);
		goto done;
	}
	if ((f->plain = malloc(VAULT_BLOCK_SIZE)) == NULL) {
		error = vault_error_set_oom();
		goto done;
	}
	need_rw = (o->flags & VAULT_FILE_WRITE) != 0;
	if (need_rw && (error = vault_docs__settle_before_write(v, f->p.code)) < 0)
		goto done;

	if ((o->flags & VAULT_FILE_READ) && !(o->flags & FILE_QUIET)) {
		/* The read event commits before any content is served. */
		a.f = f;
		a.o = o;
		error = vault_docs__event(v, "read", f->p.code, need_rw, read_event_fn, NULL, &a);
		if (error == 1)
			error = 0;
	} else {
		/* A walk: the check of the version reads the history through it. */
		if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
			goto done;
		if ((error = vault_docs__case_load(&cc, txn, v, f->p.code, need_rw ? VAULT_CASE_RW : 0)) == 0) {
			error = open_load(f, txn, &cc, o);
			vault_docs__case_dispose(&cc);
		}
		vault_store__abort(v->st, txn);
	}
	if (error < 0)
		goto done;

	/* The content starts as the opened version, or empty. */
	f->size = f->base_size;
	if (!(o->flags & VAULT_FILE_TRUNC) && f->base.nblocks) {
		f->cap = f->base.nblocks;
		if ((f->blocks = malloc(f->cap * sizeof *f->blocks)) == NULL) {
			error = vault_error_set_oom();
			goto done;
		}
		memcpy(f->blocks, f->base.blocks, f->cap * sizeof *f->blocks);
		f->nblocks = f->cap;
	} else if (o->flags & VAULT_FILE_TRUNC) {
		f->size = 0;
		f->modified = f->base_size != 0 || !f->exists;
	}
	if (f->lazy_create && o->create_now) {
		if ((error = vault_file_create(f)) < 0)
			goto done;
	} else if (f->lazy_create) {
		f->modified = 1;   /* put of a new file: even an empty one is a version */
	}
	f->has_mtime = f->has_atime = 0;
	f->set_mode = f->node.mode;
	if (f->exists)
		snprintf(f->node_hex, sizeof f->node_hex, "%016llx", (unsigned long long)f->node.id);
	*out = f;
	f = NULL;
done:
	vault_file_close(f);
	return error;
}

void vault_file_close(vault_file *f)
{
	if (!f)
		return;
	/* First: a chunk still being stored uses the write key and the case. */
	vault_blocks__dispose(f);
	vault_vcrypto__key_free(f->wkey);
	pthread_mutex_destroy(&f->rlock);
	vault_version__dispose(&f->base);
	vault_case__dispose(&f->c);
	free(f->blocks);
	sodium_memzero(f, sizeof *f);
	free(f);
}

/* ---- times, mode and size ----------------------------------------------- */

int vault_file_set_times(vault_file *f, const vault_time *atime, const vault_time *mtime)
{
	int64_t a = 0, m = 0;
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if ((atime && vault_time__to_ns(&a, atime) < 0) || (mtime && vault_time__to_ns(&m, mtime) < 0))
		return vault_error_set(VAULT_EUSAGE,
			"'%s': a time with more than a second of nanoseconds, or more than %lld seconds from 1970",
			f->path, VAULT_TIME_SEC_MAX);
	if (mtime) {
		f->set_mtime = m;
		f->has_mtime = 1;
	}
	if (atime) {
		f->set_atime = a;
		f->has_atime = 1;
	}
	f->meta_modified |= atime || mtime;
	return 0;
}

int vault_file_set_mode(vault_file *f, uint32_t mode)
{
	int error;

	if ((error = check_writable(f)) < 0)
		return error;
	if (mode > 07777)
		return vault_error_set(VAULT_EUSAGE, "mode %o of '%s' is out of range", mode, f->path);
	f->set_mode = mode;
	f->meta_modified = 1;
	return 0;
}

uint64_t vault_file_size(const vault_file *f)
{
	return f->size;
}

void vault_file_times(const vault_file *f, vault_time *mtime, vault_time *ctime, vault_time *atime)
{
	int64_t now = f->exists && !f->modified && !f->meta_modified ? f->node.ctime : vault_time__now_ns();

	vault_time__from_ns(mtime, f->has_mtime ? f->set_mtime : f->exists ? f->node.mtime : now);
	vault_time__from_ns(ctime, f->exists ? (f->modified || f->meta_modified ? now : f->node.ctime) : now);
	vault_time__from_ns(atime, f->has_atime ? f->set_atime : f->exists ? f->node.atime : now);
}

uint32_t vault_file_mode(const vault_file *f)
{
	return f->set_mode;
}

uint32_t vault_file_version(const vault_file *f)
{
	return f->version;
}

int vault_file_can_read(const vault_file *f)
{
	return (f->flags & VAULT_FILE_READ) != 0;
}

int vault_file_is_new(const vault_file *f)
{
	return !f->exists;
}

const char *vault_file_node(const vault_file *f)
{
	return f->node_hex;
}

int vault_file_dirty(const vault_file *f)
{
	return f->modified || f->meta_modified;
}
