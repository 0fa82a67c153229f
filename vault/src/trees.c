/*
 * trees — the folders of the history tree, read and changed as raw git
 * trees through a small memo of this process.
 *
 * Every event changes one path `nodes/AB/CD/NODEID` (or a few): the new
 * tree differs from its base in one entry per level. Reading each level
 * through libgit2 re-hashes it, and its tree builder copies every entry of
 * the 256-entry `nodes` level into a map and sorts it again, on every
 * event. Here a level is patched in place: the entries before the changed
 * one, the new entry, the entries after.
 *
 * The memo holds trees by id. An entry is either read through the object
 * database (whose strict hash check proves the content has that id) or
 * hashed by the write that made it, so its content is the id's content
 * whatever happened to the transaction that wrote it. It is used only
 * while LMDB still holds that very content (compared, not hashed): a tree
 * of an aborted event, or a record removed or changed behind the process's
 * back, is read through the object database again and fails there as it
 * would without the memo. Writes always go to the object database.
 */
#include <stdlib.h>
#include <string.h>

#include "history.h"

#define MODE_TREE 040000

typedef struct {
	const unsigned char *at;     /* the entry's bytes in the raw tree, or NULL */
	size_t len;                  /* of those bytes */
	const char *name;
	size_t nlen;
	unsigned int mode;
	const unsigned char *id;     /* 20 bytes in the raw tree */
	git_oid own;                 /* a changed entry's id (`at` is NULL) */
} tree_entry;

typedef struct {
	tree_entry *e;
	size_t n, cap;
} tree_list;

void vault_trees__init(vault *v)
{
	pthread_mutex_init(&v->memo_lock, NULL);
}

void vault_trees__dispose(vault *v)
{
	for (size_t i = 0; i < VAULT_TREE_MEMO; i++)
		free(v->memo[i].data);
	memset(v->memo, 0, sizeof v->memo);
	pthread_mutex_destroy(&v->memo_lock);
}

static size_t slot_of(const git_oid *id)
{
	return ((size_t)id->id[0] << 8 | id->id[1]) % VAULT_TREE_MEMO;
}

/*
 * The identity of tree `id`'s stored record (in this thread's transaction,
 * or a read of its own): its header (generation, nonce) and tag, and its
 * size. 0, or -1 if it is not there.
 */
static int stored_seal(unsigned char seal[VAULT_ODB_HEAD + 16], size_t *size, vault *v,
	const git_oid *id)
{
	MDB_txn *txn = vault_store__cur, *own = NULL;
	MDB_val val;
	int error;

	if (!txn) {
		if (vault_store__begin(&own, v->st, 0) < 0)
			return -1;
		txn = own;
	}
	if ((error = vault_odb__get(&val, txn, v->st, &v->hk, id->id)) == 0) {
		memcpy(seal, val.mv_data, VAULT_ODB_HEAD);
		memcpy(seal + VAULT_ODB_HEAD, (unsigned char *)val.mv_data + val.mv_size - 16, 16);
		*size = val.mv_size;
	}
	if (own)
		vault_store__abort(v->st, own);
	return error == 0 ? 0 : -1;
}

static void memo_put(vault *v, const git_oid *id, const void *data, size_t len)
{
	unsigned char *copy, seal[VAULT_ODB_HEAD + 16];
	vault_tree_memo *m;
	size_t stored;

	if (stored_seal(seal, &stored, v, id) < 0 || (copy = malloc(len ? len : 1)) == NULL)
		return;              /* a memo, not a store: nothing is lost */
	memcpy(copy, data, len);
	pthread_mutex_lock(&v->memo_lock);
	m = &v->memo[slot_of(id)];
	free(m->data);
	m->id = *id;
	m->data = copy;
	m->len = len;
	memcpy(m->seal, seal, sizeof seal);
	m->stored = stored;
	pthread_mutex_unlock(&v->memo_lock);
}

/*
 * Is tree `id` still stored in LMDB as the record the memo entry came from
 * (`seal`, `stored`)? A memo entry stands only as long as the record does:
 * one removed or changed since it was read fails as it would without the
 * memo. The record is sealed with a random nonce and authenticated: the
 * same header and tag are the same record, and a compare is far cheaper
 * than decrypting it again.
 */
static int still_stored(vault *v, const git_oid *id, const unsigned char *seal, size_t stored)
{
	unsigned char now[VAULT_ODB_HEAD + 16];
	size_t size;

	return stored_seal(now, &size, v, id) == 0 && size == stored &&
		memcmp(now, seal, sizeof now) == 0;
}

/* A copy of tree `id` (malloc'd), from the memo or read with its hash checked. */
static int tree_read(unsigned char **out, size_t *len, vault *v, const git_oid *id)
{
	vault_tree_memo *m;
	git_odb_object *obj = NULL;
	unsigned char *copy = NULL, seal[VAULT_ODB_HEAD + 16];
	size_t stored = 0;

	pthread_mutex_lock(&v->memo_lock);
	m = &v->memo[slot_of(id)];
	if (m->data && git_oid_equal(&m->id, id) && (copy = malloc(m->len ? m->len : 1)) != NULL) {
		memcpy(copy, m->data, m->len);
		*len = m->len;
		memcpy(seal, m->seal, sizeof seal);
		stored = m->stored;
	}
	pthread_mutex_unlock(&v->memo_lock);
	if (copy) {
		if (still_stored(v, id, seal, stored)) {
			*out = copy;
			return 0;
		}
		free(copy);
	}

	if (git_odb_read(&obj, v->odb, id) < 0 || git_odb_object_type(obj) != GIT_OBJECT_TREE) {
		char hex[GIT_OID_HEXSZ + 1];
		git_odb_object_free(obj);
		git_oid_tostr(hex, sizeof hex, id);
		return vault_error_set(VAULT_ECORRUPT, "history folder %s is missing or damaged", hex);
	}
	*len = git_odb_object_size(obj);
	if ((copy = malloc(*len ? *len : 1)) == NULL) {
		git_odb_object_free(obj);
		return vault_error_set_oom();
	}
	memcpy(copy, git_odb_object_data(obj), *len);
	git_odb_object_free(obj);
	memo_put(v, id, copy, *len);
	*out = copy;
	return 0;
}

static int tree_corrupt(const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof hex, id);
	return vault_error_set(VAULT_ECORRUPT, "history folder %s is damaged", hex);
}

static int list_grow(tree_list *l)
{
	size_t cap = l->cap ? l->cap * 2 : 64;
	tree_entry *e = realloc(l->e, cap * sizeof *e);

	if (!e)
		return -1;
	l->e = e;
	l->cap = cap;
	return 0;
}

/* Split a raw tree into its entries, in their order. */
static int tree_parse(tree_list *l, const unsigned char *raw, size_t len, const git_oid *id)
{
	const unsigned char *p = raw, *end = raw + len;

	l->n = 0;
	while (p < end) {
		const unsigned char *sp = memchr(p, ' ', (size_t)(end - p)), *nul;
		unsigned int mode = 0;
		tree_entry *e;

		if (!sp || sp == p || !(nul = memchr(sp + 1, '\0', (size_t)(end - sp - 1))) ||
		    nul == sp + 1 || (size_t)(end - nul - 1) < GIT_OID_RAWSZ)
			return tree_corrupt(id);
		if (sp - p > 6)
			return tree_corrupt(id);
		for (const unsigned char *d = p; d < sp; d++) {
			if (*d < '0' || *d > '7')
				return tree_corrupt(id);
			mode = mode << 3 | (unsigned int)(*d - '0');
		}
		/* The modes git writes: folder, file, executable, link, submodule. */
		if (mode != MODE_TREE && mode != 0100644 && mode != 0100755 &&
		    mode != 0120000 && mode != 0160000)
			return tree_corrupt(id);
		if (l->n == l->cap && list_grow(l) < 0)
			return vault_error_set_oom();
		e = &l->e[l->n++];
		e->at = p;
		e->name = (const char *)sp + 1;
		e->nlen = (size_t)(nul - sp - 1);
		e->mode = mode;
		e->id = nul + 1;
		p = nul + 1 + GIT_OID_RAWSZ;
		e->len = (size_t)(p - e->at);
	}
	return 0;
}

/* git's order of tree entries: a folder's name sorts as if it ended in '/'. */
static int entry_cmp(const char *a, size_t alen, int adir, const char *b, size_t blen, int bdir)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = alen > n ? (unsigned char)a[n] : adir ? '/' : '\0';
	cb = blen > n ? (unsigned char)b[n] : bdir ? '/' : '\0';
	return (int)ca - (int)cb;
}

static size_t entry_find(const tree_list *l, const char *name, size_t nlen)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].nlen == nlen && !memcmp(l->e[i].name, name, nlen))
			return i;
	return l->n;
}

/* An entry's id: entries move in the array, so a changed one's is read from it. */
static const unsigned char *entry_id(const tree_entry *e)
{
	return e->at ? e->id : e->own.id;
}

static void entry_remove(tree_list *l, size_t i)
{
	memmove(&l->e[i], &l->e[i + 1], (l->n - i - 1) * sizeof *l->e);
	l->n--;
}

/* Set entry `name` to (mode, id): in place, or inserted in git's order. */
static int entry_set(tree_list *l, const char *name, size_t nlen, unsigned int mode, const git_oid *id)
{
	size_t i = entry_find(l, name, nlen);
	tree_entry *e;

	/* A file that becomes a folder (or back) moves in the order. */
	if (i < l->n && (l->e[i].mode == MODE_TREE) != (mode == MODE_TREE)) {
		entry_remove(l, i);
		i = l->n;
	}
	if (i == l->n) {
		int dir = mode == MODE_TREE;
		if (l->n == l->cap && list_grow(l) < 0)
			return vault_error_set_oom();
		for (i = 0; i < l->n; i++)
			if (entry_cmp(l->e[i].name, l->e[i].nlen, l->e[i].mode == MODE_TREE,
					name, nlen, dir) > 0)
				break;
		memmove(&l->e[i + 1], &l->e[i], (l->n - i) * sizeof *l->e);
		l->n++;
	}
	e = &l->e[i];
	e->at = NULL;
	e->name = name;
	e->nlen = nlen;
	e->mode = mode;
	e->own = *id;
	e->id = NULL;
	return 0;
}

/* Write the entries as a tree; `out` gets its id. */
static int tree_write(git_oid *out, vault *v, const tree_list *l)
{
	vault_buf b = VAULT_BUF_INIT;
	int error = 0;

	for (size_t i = 0; i < l->n; i++) {
		const tree_entry *e = &l->e[i];
		if (e->at) {
			vault_buf_put(&b, e->at, e->len);
			continue;
		}
		vault_buf_printf(&b, "%o %.*s", e->mode, (int)e->nlen, e->name);
		vault_buf_put(&b, "", 1);
		vault_buf_put(&b, entry_id(e), GIT_OID_RAWSZ);
	}
	if (b.oom)
		error = vault_error_set_oom();
	else if (git_odb_write(out, v->odb, b.ptr ? b.ptr : "", b.size, GIT_OBJECT_TREE) < 0)
		error = vault_error_git("write history");
	else
		memo_put(v, out, b.ptr ? b.ptr : "", b.size);
	vault_buf_dispose(&b);
	return error;
}

/*
 * Apply updates u[0..n) (paths relative to this folder, each at `off` into
 * its path) to tree `base` (NULL: empty). `out` is NULL when the folder ends
 * up empty: git keeps no empty folders.
 */
static int update(git_oid *out, int *empty, vault *v, const git_oid *base,
	const git_tree_update *u, size_t n, const size_t *off, int depth)
{
	tree_list l = { NULL, 0, 0 };
	unsigned char *raw = NULL;
	size_t len = 0, *sub = NULL;
	const git_tree_update **group = NULL;
	char *done = NULL;
	int error = 0;

	if (depth > 8)
		return vault_error_set(VAULT_ERROR, "history path is too deep");
	if (base && ((error = tree_read(&raw, &len, v, base)) < 0 ||
	    (error = tree_parse(&l, raw, len, base)) < 0))
		goto out;
	if (!(sub = calloc(n, sizeof *sub)) || !(group = calloc(n, sizeof *group)) ||
	    !(done = calloc(n, 1))) {
		error = vault_error_set_oom();
		goto out;
	}
	/* One group per first path component, in the order they come. */
	for (size_t i = 0; i < n && error == 0; i++) {
		const char *name = u[i].path + off[i], *slash;
		size_t nlen, k = 0, at;
		int leaf = 0, inner = 0;

		if (done[i])
			continue;
		slash = strchr(name, '/');
		nlen = slash ? (size_t)(slash - name) : strlen(name);
		if (nlen == 0) {
			error = vault_error_set(VAULT_ERROR, "history path '%s' is not valid", u[i].path);
			break;
		}
		for (size_t j = i; j < n; j++) {
			const char *o = u[j].path + off[j];
			if (done[j] || strncmp(o, name, nlen) || (o[nlen] != '/' && o[nlen] != '\0'))
				continue;
			done[j] = 1;
			group[k] = &u[j];
			sub[k] = off[j] + nlen + (o[nlen] == '/');
			if (o[nlen] == '/')
				inner = 1;
			else
				leaf = 1;
			k++;
		}
		if (leaf && (inner || k > 1)) {
			error = vault_error_set(VAULT_ERROR, "history path '%s' is changed twice", u[i].path);
			break;
		}
		at = entry_find(&l, name, nlen);
		if (leaf) {
			if (group[0]->action != GIT_TREE_UPDATE_UPSERT) {
				error = vault_error_set(VAULT_ERROR, "history change of '%s' is not supported", u[i].path);
				break;
			}
			error = entry_set(&l, name, nlen, (unsigned int)group[0]->filemode, &group[0]->id);
		} else {
			git_tree_update *gu = malloc(k * sizeof *gu);
			const git_oid *child = at < l.n && l.e[at].mode == MODE_TREE ?
				(const git_oid *)entry_id(&l.e[at]) : NULL;
			git_oid child_id, new_id;
			int child_empty;

			if (!gu) {
				error = vault_error_set_oom();
				break;
			}
			for (size_t j = 0; j < k; j++)
				gu[j] = *group[j];
			if (child) {
				git_oid_cpy(&child_id, child);
				child = &child_id;
			}
			error = update(&new_id, &child_empty, v, child, gu, k, sub, depth + 1);
			free(gu);
			if (error == 0 && child_empty) {
				if (at < l.n)
					entry_remove(&l, at);
			} else if (error == 0) {
				error = entry_set(&l, name, nlen, MODE_TREE, &new_id);
			}
		}
		/* entry_set copied `name`'s pointer: it points into u[i].path, which
		 * outlives this call. */
	}
	if (error == 0) {
		*empty = l.n == 0;
		if (!*empty)
			error = tree_write(out, v, &l);
	}
out:
	free(done);
	free(group);
	free(sub);
	free(l.e);
	free(raw);
	return error;
}

int vault_trees__update(git_oid *out, vault *v, const git_oid *base,
	const git_tree_update *u, size_t n)
{
	size_t *off = calloc(n ? n : 1, sizeof *off);
	int empty = 0, error;

	if (!off)
		return vault_error_set_oom();
	error = update(out, &empty, v, base, u, n, off, 0);
	free(off);
	if (error == 0 && empty) {
		/* Every file removed: the empty tree. */
		if (git_odb_write(out, v->odb, "", 0, GIT_OBJECT_TREE) < 0)
			error = vault_error_git("write history");
	}
	return error;
}

int vault_trees__entry(git_oid *out, unsigned int *mode, vault *v, const git_oid *tree,
	const char *path)
{
	git_oid cur = *tree;
	tree_list l = { NULL, 0, 0 };
	int error = 0;

	for (const char *name = path; ; ) {
		const char *slash = strchr(name, '/');
		size_t nlen = slash ? (size_t)(slash - name) : strlen(name), i, len;
		unsigned char *raw;

		if ((error = tree_read(&raw, &len, v, &cur)) < 0)
			break;
		if ((error = tree_parse(&l, raw, len, &cur)) == 0) {
			i = entry_find(&l, name, nlen);
			if (i == l.n || (slash && l.e[i].mode != MODE_TREE)) {
				error = VAULT_ENOTFOUND;
			} else {
				git_oid_fromraw(&cur, entry_id(&l.e[i]));
				*mode = l.e[i].mode;
			}
		}
		free(raw);
		if (error < 0 || !slash)
			break;
		name = slash + 1;
	}
	free(l.e);
	if (error == 0)
		*out = cur;
	return error;
}

int vault_trees__commit_tree(git_oid *out, vault *v, const git_oid *commit)
{
	git_odb_object *obj = NULL;
	const char *s;

	/* A commit starts "tree HEX\n". */
	if (git_odb_read(&obj, v->odb, commit) < 0 || git_odb_object_type(obj) != GIT_OBJECT_COMMIT ||
	    git_odb_object_size(obj) < 5 + GIT_OID_HEXSZ + 1 ||
	    memcmp((s = git_odb_object_data(obj)), "tree ", 5) || s[5 + GIT_OID_HEXSZ] != '\n' ||
	    git_oid_fromstrn(out, s + 5, GIT_OID_HEXSZ) < 0) {
		char hex[GIT_OID_HEXSZ + 1];
		git_odb_object_free(obj);
		git_oid_tostr(hex, sizeof hex, commit);
		return vault_error_set(VAULT_ECORRUPT, "event %s is missing or damaged in the history", hex);
	}
	git_odb_object_free(obj);
	return 0;
}

int vault_trees__blob(vault_buf *out, vault *v, const git_oid *commit, const char *path)
{
	git_odb_object *obj = NULL;
	git_oid tree, id;
	unsigned int mode;
	int error;

	vault_buf_clear(out);
	if ((error = vault_trees__commit_tree(&tree, v, commit)) < 0 ||
	    (error = vault_trees__entry(&id, &mode, v, &tree, path)) < 0)
		return error;
	if (mode == MODE_TREE || git_odb_read(&obj, v->odb, &id) < 0 ||
	    git_odb_object_type(obj) != GIT_OBJECT_BLOB) {
		git_odb_object_free(obj);
		return vault_error_set(VAULT_ECORRUPT, "history object '%s' cannot be read", path);
	}
	vault_buf_put(out, git_odb_object_data(obj), git_odb_object_size(obj));
	vault_buf_put(out, "", 0);
	git_odb_object_free(obj);
	return out->oom ? vault_error_set_oom() : 0;
}
