/*
 * namespace — the operations on a case's tree of files and folders:
 * mkdir, move, remove, restore, times and mode, stat, list, and a file's
 * versions. Each change is one document event (docs.c); content is
 * file.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"

/* ---- mkdir, move, remove, restore --------------------------------------- */

typedef struct op_ctx {
	vpath p, q;
	const char *path, *path2;
	uint32_t version;
	int64_t mtime, atime;        /* nanoseconds */
	uint32_t mode;
	int has_mtime, has_atime, has_mode;
	node_rec n;                  /* the node at `p`, for on_node */
	int (*on_node)(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, struct op_ctx *oc);
} op_ctx;

/* An operation on the node at `p`: found in the event's transaction. */
static int node_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	op_ctx *oc = payload;
	int error;

	if ((error = vault_docs__resolve(&oc->n, txn, v, cc, &oc->p, oc->p.n, oc->path)) < 0)
		return error;
	return oc->on_node(ev, v, txn, cc, oc);
}

static int mkdir_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	op_ctx *oc = payload;
	node_rec parent, n;
	unsigned char *key = NULL;
	const char *name = oc->p.name[oc->p.n - 1];
	size_t nlen = oc->p.len[oc->p.n - 1];
	int fresh, error;

	if ((error = vault_docs__new_in(&parent, txn, v, cc, &oc->p, oc->path)) < 0)
		return error;
	vault_node__init(&n, NODE_DIR, cc->c.code, parent.id);
	if ((error = vault_docs__node_key_for_write(&key, &fresh, txn, v, &cc->c, &n)) < 0)
		return error;
	vault_docs__name_seal(&n, name, nlen, key);
	error = vault_docs__nodekey_put(txn, v, &cc->c, n.id, n.generation, key);
	vault_vcrypto__key_free(key);
	if (error < 0 || (error = vault_node__put(txn, v, &n)) < 0 ||
	    (error = vault_docs__dirent_put(txn, v, cc, parent.id, name, nlen, n.id)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, parent.id, 1, 1)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, &n, 0);
}

static int op_start(op_ctx *oc, vault *v, const char *path, int need_name)
{
	int error;

	memset(oc, 0, sizeof *oc);
	oc->path = path;
	if ((error = vault_policy__require_unlocked(v)) < 0)
		return error;
	if ((error = vault_docs__path_parse(&oc->p, path)) < 0)
		return error;
	if (need_name && oc->p.n == 0)
		return vault_error_set(VAULT_EUSAGE, "'%s' names a case folder, which cannot be changed", path);
	return vault_docs__settle_before_write(v, oc->p.code);
}

/* An operation on one path that is not a case folder, as event `action`. */
static int op_run(vault *v, const char *path, const char *action, doc_fn fn,
	int (*on_node)(vault_event *, vault *, MDB_txn *, case_ctx *, op_ctx *))
{
	op_ctx oc;
	int error;

	if ((error = op_start(&oc, v, path, 1)) < 0)
		return error;
	oc.on_node = on_node;
	return vault_docs__event(v, action, oc.p.code, 1, fn, NULL, &oc);
}

int vault_mkdir(vault *v, const char *path)
{
	return op_run(v, path, "mkdir", mkdir_fn, NULL);
}

static int move_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	op_ctx *oc = payload;
	node_rec n, to_parent, up;
	unsigned char *key = NULL;
	const char *name = oc->q.name[oc->q.n - 1];
	size_t nlen = oc->q.len[oc->q.n - 1];
	int fresh, error;

	if ((error = vault_docs__resolve(&n, txn, v, cc, &oc->p, oc->p.n, oc->path)) < 0)
		return error;
	if ((error = vault_docs__new_in(&to_parent, txn, v, cc, &oc->q, oc->path2)) < 0)
		return error;
	/* A folder cannot move into itself. Folders nest PATH_MAX_DEPTH deep at
	 * most: a longer way up is a loop that edited records made. */
	up = to_parent;
	for (int depth = 0; ; depth++) {
		if (up.id == n.id)
			return vault_error_set(VAULT_EUSAGE, "'%s' cannot move into itself", oc->path);
		if (!up.parent)
			break;
		if (depth > PATH_MAX_DEPTH)
			return vault_error_set(VAULT_ECORRUPT, "the folders above '%s' form a loop", oc->path2);
		if ((error = vault_docs__linked_node(&up, txn, v, up.parent)) < 0)
			return error;
	}
	if ((error = vault_docs__dirent_del(txn, v, cc, n.parent, oc->p.name[oc->p.n - 1],
	    oc->p.len[oc->p.n - 1])) < 0)
		return error;
	if ((error = vault_docs__node_key_for_write(&key, &fresh, txn, v, &cc->c, &n)) < 0)
		return error;
	vault_docs__name_seal(&n, name, nlen, key);
	if (fresh && (error = vault_docs__nodekey_put(txn, v, &cc->c, n.id, n.generation, key)) < 0) {
		vault_vcrypto__key_free(key);
		return error;
	}
	vault_vcrypto__key_free(key);
	if ((error = vault_docs__folder_changed(ev, v, txn, n.parent, -1, n.type == NODE_DIR ? -1 : 0)) < 0)
		return error;
	n.parent = to_parent.id;
	n.ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, &n)) < 0 ||
	    (error = vault_docs__dirent_put(txn, v, cc, to_parent.id, name, nlen, n.id)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, to_parent.id, 1, n.type == NODE_DIR)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, &n, 1);
}

int vault_move(vault *v, const char *from, const char *to)
{
	op_ctx oc;
	int error;

	if ((error = op_start(&oc, v, from, 1)) < 0)
		return error;
	oc.path2 = to;
	if ((error = vault_docs__path_parse(&oc.q, to)) < 0)
		return error;
	if (oc.q.n == 0)
		return vault_error_set(VAULT_EUSAGE, "'%s' names a case folder", to);
	if (strcmp(oc.p.code, oc.q.code))
		return vault_error_set(VAULT_EUSAGE, "'%s' and '%s' are in different cases", from, to);
	return vault_docs__event(v, "move", oc.p.code, 1, move_fn, NULL, &oc);
}

static int has_children(MDB_txn *txn, vault *v, uint64_t id)
{
	MDB_cursor *cur;
	MDB_val k, d;
	unsigned char prefix[8];
	int found = 0;

	be64_put(prefix, id);
	if (mdb_cursor_open(txn, v->st->dirents, &cur) != 0)
		return 1;
	k.mv_size = 8;
	k.mv_data = prefix;
	if (mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE) == 0 && k.mv_size >= 8 && !memcmp(k.mv_data, prefix, 8))
		found = 1;
	mdb_cursor_close(cur);
	return found;
}

static int remove_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, op_ctx *oc)
{
	node_rec *n = &oc->n;
	int error;

	if (n->type == NODE_DIR && has_children(txn, v, n->id))
		return vault_error_set(VAULT_ENOTEMPTY, "folder '%s' is not empty", oc->path);
	if ((error = vault_docs__dirent_del(txn, v, cc, n->parent, oc->p.name[oc->p.n - 1],
	    oc->p.len[oc->p.n - 1])) < 0)
		return error;
	n->state = NODE_DELETED;
	n->ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, n)) < 0 ||
	    (error = vault_docs__folder_changed(ev, v, txn, n->parent, -1, n->type == NODE_DIR ? -1 : 0)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, n, 1);
}

int vault_remove(vault *v, const char *path)
{
	return op_run(v, path, "delete", node_fn, remove_fn);
}

static int touch_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, op_ctx *oc)
{
	node_rec *n = &oc->n;
	int error;

	if ((!oc->has_mtime || n->mtime == oc->mtime) && (!oc->has_atime || n->atime == oc->atime) &&
	    (!oc->has_mode || n->mode == oc->mode))
		return 1;        /* nothing changes: no event */
	if (oc->has_mtime)
		n->mtime = oc->mtime;
	if (oc->has_atime)
		n->atime = oc->atime;
	if (oc->has_mode)
		n->mode = oc->mode;
	n->ctime = vault_time__now_ns();
	if ((error = vault_node__put(txn, v, n)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, n, 0);
}

/* A change of time or mode: a `touch` event, none if nothing changes. */
static int set_attr(vault *v, const char *path, const vault_time *atime, const vault_time *mtime,
	const uint32_t *mode)
{
	op_ctx oc;
	int error;

	if (mode && *mode > 07777)
		return vault_error_set(VAULT_EUSAGE, "mode %o of '%s' is out of range", *mode, path);
	if ((error = op_start(&oc, v, path, 0)) < 0)
		return error;
	if ((oc.has_mtime = mtime != NULL))
		vault_time__to_ns(&oc.mtime, mtime);     /* checked by the caller */
	if ((oc.has_atime = atime != NULL))
		vault_time__to_ns(&oc.atime, atime);
	if ((oc.has_mode = mode != NULL))
		oc.mode = *mode;
	oc.on_node = touch_fn;
	error = vault_docs__event(v, "touch", oc.p.code, 1, node_fn, NULL, &oc);
	return error > 0 ? 0 : error;
}

int vault_set_times(vault *v, const char *path, const vault_time *atime, const vault_time *mtime)
{
	int64_t ns;

	if ((atime && vault_time__to_ns(&ns, atime) < 0) || (mtime && vault_time__to_ns(&ns, mtime) < 0))
		return vault_error_set(VAULT_EUSAGE,
			"a time of '%s' has more than a second of nanoseconds, or is more than %lld seconds from 1970",
			path, VAULT_TIME_SEC_MAX);
	return set_attr(v, path, atime, mtime, NULL);
}

int vault_chmod(vault *v, const char *path, uint32_t mode)
{
	return set_attr(v, path, NULL, NULL, &mode);
}

int vault_stat(vault_stat_info *out, vault *v, const char *path)
{
	MDB_txn *txn = NULL;
	case_ctx cc;
	node_rec n;
	int error;

	memset(out, 0, sizeof *out);
	if ((error = vault_docs__read_begin(&n, &txn, &cc, v, path, 0)) < 0)
		return error;
	vault_docs__entry_of(out, &n, NULL, cc.access == 2);
	vault_docs__read_end(txn, &cc, v);
	return 0;
}

typedef struct {
	op_ctx oc;
	version_rec r;
	node_rec n;
} restore_ctx;

static int restore_fn(vault_event *ev, vault *v, MDB_txn *txn, case_ctx *cc, void *payload)
{
	restore_ctx *rc = payload;
	int error;

	if ((error = vault_docs__resolve(&rc->n, txn, v, cc, &rc->oc.p, rc->oc.p.n, rc->oc.path)) < 0)
		return error;
	if (rc->n.type != NODE_FILE)
		return vault_error_set(VAULT_EUSAGE, "'%s' is a folder", rc->oc.path);
	if (rc->oc.version == 0 || rc->oc.version > rc->n.version)
		return vault_error_set(VAULT_ENOTFOUND, "'%s' has no version %u (it has %u)",
			rc->oc.path, rc->oc.version, rc->n.version);
	if ((error = vault_version__get(&rc->r, txn, v, rc->n.id, rc->oc.version)) < 0)
		return error;
	/* The new version shares every block of the old one. */
	rc->n.version++;
	rc->n.size = rc->r.size;
	rc->n.mtime = rc->n.ctime = vault_time__now_ns();
	rc->r.mtime = vault_time__sec(rc->n.mtime);
	vault_version__commitment(rc->n.commitment, &rc->r);
	if ((error = vault_node__put(txn, v, &rc->n)) < 0)
		return error;
	return vault_docs__about(ev, v, txn, &rc->n, 1);
}

static int restore_post(vault *v, MDB_txn *txn, const git_oid *commit, void *payload)
{
	restore_ctx *rc = payload;

	memcpy(rc->r.commit, commit->id, 20);
	return vault_version__put(txn, v, rc->n.id, rc->n.version, &rc->r);
}

int vault_restore(uint32_t *version_out, vault *v, const char *path, uint32_t version)
{
	restore_ctx rc;
	int error;

	if (version_out)
		*version_out = 0;
	memset(&rc, 0, sizeof rc);
	if ((error = op_start(&rc.oc, v, path, 1)) < 0)
		return error;
	rc.oc.version = version;
	error = vault_docs__event(v, "restore", rc.oc.p.code, 1, restore_fn, restore_post, &rc);
	vault_version__dispose(&rc.r);
	if (error == 0 && version_out)
		*version_out = rc.n.version;
	return error;
}

/* ---- list and history --------------------------------------------------- */

void vault_docs__entry_of(vault_stat_info *e, const node_rec *n, const char *name, int writable)
{
	e->name = name;
	e->is_dir = n->type == NODE_DIR;
	e->size = n->size;
	vault_time__from_ns(&e->mtime, n->mtime);
	vault_time__from_ns(&e->ctime, n->ctime);
	vault_time__from_ns(&e->atime, n->atime);
	e->folders = n->folders;
	e->version = n->version;
	snprintf(e->node, sizeof e->node, "%016llx", (unsigned long long)n->id);
	e->mode = n->mode;
	e->writable = writable;
}

typedef struct {
	char name[VAULT_FILENAME_MAX + 1];
	node_rec n;
} list_item;

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const list_item *)a)->name, ((const list_item *)b)->name);
}

typedef struct {
	list_item *items;
	size_t n, cap;
} list_items;

static int item_add(const node_rec *n, const char *name, void *payload)
{
	list_items *l = payload;
	int error;

	if ((error = vault_array_grow(&l->items, &l->cap, l->n, sizeof *l->items, 32)) < 0)
		return error;
	l->items[l->n].n = *n;
	snprintf(l->items[l->n].name, sizeof l->items[l->n].name, "%s", name);
	l->n++;
	return 0;
}

int vault_list(vault *v, const char *path, const vault_list_options *o,
	int (*cb)(const vault_stat_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	case_ctx cc;
	node_rec dir;
	vpath p;
	list_items l = { NULL, 0, 0 };
	int error;

	if (!o || o->version != VAULT_LIST_OPTIONS_VERSION)
		return vault_error_set(VAULT_EUSAGE, "'%s': list options of an unknown version", path);
	if ((error = vault_policy__require_unlocked(v)) < 0 ||
	    (error = vault_docs__path_parse(&p, path)) < 0)
		return error;
	/* The event commits before any entry is served, as a read's does. */
	if ((error = vault_docs__list_event(v, p.code, &p, path, o)) < 0)
		return error;
	if ((error = vault_docs__read_begin(&dir, &txn, &cc, v, path, 0)) < 0)
		return error;
	if (dir.type != NODE_DIR) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' is a file; use 'history' or 'get'", path);
		goto done;
	}
	if ((error = vault_docs__entries_each(txn, v, &cc, &dir, path, item_add, &l)) < 0)
		goto done;
	vault_store__abort(v->st, txn);
	txn = NULL;
	if (l.n)
		qsort(l.items, l.n, sizeof *l.items, item_cmp);
	for (size_t i = 0; i < l.n; i++) {
		vault_stat_info e;
		vault_docs__entry_of(&e, &l.items[i].n, l.items[i].name, cc.access == 2);
		if ((error = cb(&e, payload)) != 0)
			goto done;
	}
	error = 0;
done:
	if (l.items) {
		sodium_memzero(l.items, l.cap * sizeof *l.items);
		free(l.items);
	}
	vault_docs__read_end(txn, &cc, v);
	return error;
}

int vault_history(vault *v, const char *path, int (*cb)(const vault_version_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	case_ctx cc;
	node_rec n;
	int error;

	if ((error = vault_docs__read_begin(&n, &txn, &cc, v, path, 1)) < 0)
		return error;
	if (n.type != NODE_FILE) {
		error = vault_error_set(VAULT_EUSAGE, "'%s' is a folder", path);
		goto done;
	}
	for (uint32_t ver = 1; ver <= n.version; ver++) {
		vault_version_info info;
		version_rec r;
		git_commit *c = NULL;
		git_oid oid;
		char hex[VAULT_OID_SIZE], actor[VAULT_NAME_MAX + 1] = "";

		if ((error = vault_version__get(&r, txn, v, n.id, ver)) < 0)
			goto done;
		git_oid_fromraw(&oid, r.commit);
		git_oid_tostr(hex, sizeof hex, &oid);
		if (git_commit_lookup(&c, v->repo, &oid) == 0) {
			snprintf(actor, sizeof actor, "%s", git_commit_author(c)->name);
			git_commit_free(c);
		}
		info.version = ver;
		info.time = r.mtime;
		info.actor = actor;
		info.size = r.size;
		info.commit = hex;
		vault_version__dispose(&r);
		if ((error = cb(&info, payload)) != 0)
			goto done;
	}
done:
	vault_docs__read_end(txn, &cc, v);
	return error;
}
