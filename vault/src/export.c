/*
 * export — the history as a stock git repository (witness.c pushes it):
 * the walk of what the target lacks, its pack (pack.c writes it), the
 * branch, allowed_signers and the config.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hkeys.h"
#include "export.h"
#include "trust.h"
#include "event.h"
#include "history.h"
#include "pack.h"
#include "sha1.h"

/*
 * The export writes what the target lacks as ONE pack (and its v2 index)
 * per run, never loose objects: a history of a million events is a few
 * million objects, and one file each would take far too long.
 *
 * First a walk from our head back to the commit the target holds (or to
 * genesis) collects the ids of the objects it lacks: commits, then each
 * tree and blob not yet seen. A tree the target already has is there whole
 * (it came in a complete pack), so the walk stops at it. Nothing is written
 * during the walk, so a target that holds something else is refused before
 * anything changes. Then the objects go out in the order they lie in the
 * LMDB map, straight from it, each checked against its id again. The pack
 * is renamed into place when it is complete, its index after it, and only
 * then does the branch move: a crash leaves the old state usable.
 *
 * Memory: one 32-byte entry per exported object (its id and what the index
 * needs of it) and a 4-byte hash slot or two, about 40 bytes an object in
 * all; the map pages read are dropped as the walk goes. Nothing else grows
 * with the history.
 */

/* ---- the set of objects to export --------------------------------------- */

/*
 * Until the object is packed, an entry's `off` holds where the walk found
 * it in the map (0: not read yet) and its `crc` the stored size, so that
 * the pack need not look it up again; the pointer stays valid in the read
 * transaction. VAULT_PACK_SKIP: the target has it.
 */
typedef struct {
	vault_pack__entry *e;        /* in the order found: the pack's order */
	size_t n, cap;
	uint32_t *slot;              /* 1 + index into e, 0 empty */
	size_t nslots;               /* a power of two; n fills at most 70 % */
} oidset;

static size_t oidset_hash(const unsigned char *id, size_t mask)
{
	uint32_t h;

	memcpy(&h, id, sizeof h);
	return h & mask;
}

/* The entry for `id`, or NULL. */
static vault_pack__entry *oidset_get(oidset *s, const unsigned char *id)
{
	size_t mask = s->nslots - 1;

	if (!s->nslots)
		return NULL;
	for (size_t i = oidset_hash(id, mask); s->slot[i]; i = (i + 1) & mask)
		if (!memcmp(s->e[s->slot[i] - 1].id, id, 20))
			return &s->e[s->slot[i] - 1];
	return NULL;
}

static int oidset_grow(oidset *s)
{
	size_t nslots = s->nslots ? s->nslots * 2 : 4096, mask = nslots - 1;
	uint32_t *slot = calloc(nslots, sizeof *slot);

	if (!slot)
		return vault_error_set_oom();
	for (size_t k = 0; k < s->n; k++) {
		size_t i = oidset_hash(s->e[k].id, mask);
		while (slot[i])
			i = (i + 1) & mask;
		slot[i] = (uint32_t)(k + 1);
	}
	free(s->slot);
	s->slot = slot;
	s->nslots = nslots;
	return 0;
}

/* Add `id` (not yet in the set); `off` VAULT_PACK_SKIP if the target has it. */
static int oidset_add(oidset *s, const unsigned char *id, uint64_t off)
{
	size_t i, mask;

	if (s->n == UINT32_MAX - 1)
		return vault_error_set(VAULT_ERROR, "the history has too many objects to export at once");
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap + s->cap / 4 : 4096;
		void *p = realloc(s->e, cap * sizeof *s->e);
		if (!p)
			return vault_error_set_oom();
		s->e = p;
		s->cap = cap;
	}
	if ((s->n + 1) * 10 > s->nslots * 7 && oidset_grow(s) < 0)
		return VAULT_ERROR;
	mask = s->nslots - 1;
	for (i = oidset_hash(id, mask); s->slot[i]; i = (i + 1) & mask)
		;
	memcpy(s->e[s->n].id, id, 20);
	s->e[s->n].crc = 0;
	s->e[s->n].off = off;
	s->slot[i] = (uint32_t)++s->n;
	return 0;
}

static void oidset_free(oidset *s)
{
	free(s->e);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

/* ---- the walk ----------------------------------------------------------- */

typedef struct {
	vault *v;
	MDB_txn *txn;
	git_odb *to;                 /* the target's objects */
	int check_target;            /* the target holds a history already */
	oidset set;
	uint64_t wanted;             /* objects for the pack */
	unsigned int reads;          /* values read, for vault_store__bound */
	const unsigned char *where;  /* the stored (encrypted) value last read, */
	size_t where_len;            /* and its size */
	unsigned char *plain;        /* the object pack_source gave last (malloc'd) */
} exporter;

/* Only for a read transaction: a write transaction's new pages are not in the map. */
static void exporter_init(exporter *x, vault *v, MDB_txn *txn)
{
	memset(x, 0, sizeof *x);
	x->v = v;
	x->txn = txn;
}

/* A value was read from the map: keep the resident part of it bounded. */
static void map_touch(exporter *x, const void *data)
{
	if ((++x->reads & 15) == 0)
		vault_store__bound(x->v->st, x->txn, data);
}

/* Stored value `val` of object `id` decrypted into *buf (malloc'd, the
 * caller's to free): its type, and its content at *data. */
static int open_object(unsigned char **buf, const unsigned char **data, size_t *len, int *type,
	exporter *x, const unsigned char *id, const MDB_val *val)
{
	size_t plen;
	int error;

	if ((*buf = malloc(val->mv_size - VAULT_ODB_OVERHEAD)) == NULL)
		return vault_error_set_oom();
	error = vault_odb__open(*buf, &plen, &x->v->hk, x->v->id, id, val);
	/* Under a generation this session does not hold: one rotated since
	 * it unlocked, or one the vault has never had (damage). */
	if (error == VAULT_EAUTH && (error = vault_hkeys__refresh(x->v, x->txn)) == 0 &&
	    (error = vault_odb__open(*buf, &plen, &x->v->hk, x->v->id, id, val)) == VAULT_EAUTH &&
	    x->v->hk.index) {
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof hex, (const git_oid *)id);
		error = vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: history object %s "
			"names a generation of the history key that the vault does not have", hex);
	}
	if (error < 0) {
		free(*buf);
		*buf = NULL;
		return error;
	}
	*type = (*buf)[0];
	*data = *buf + 1;
	*len = plen - 1;
	map_touch(x, val->mv_data);
	return 0;
}

/* One object of the history, read from the map and decrypted into *buf. */
static int raw_object(unsigned char **buf, const unsigned char **data, size_t *len, int *type,
	exporter *x, const unsigned char *id)
{
	MDB_val val;
	int error = vault_odb__get(&val, x->txn, x->v->st, &x->v->hk, id);

	*buf = NULL;
	if (error == VAULT_ENOTFOUND) {
		char hex[VAULT_OID_SIZE];
		git_oid oid;

		git_oid_fromraw(&oid, id);
		git_oid_tostr(hex, sizeof hex, &oid);
		return vault_error_set(VAULT_ECORRUPT, "history object %s is missing", hex);
	}
	if (error < 0)
		return error;
	x->where = val.mv_data;
	x->where_len = val.mv_size;
	return open_object(buf, data, len, type, x, id, &val);
}

static int target_has(exporter *x, const unsigned char *id)
{
	git_oid oid;

	if (!x->check_target)
		return 0;
	git_oid_fromraw(&oid, id);
	return git_odb_exists_ext(x->to, &oid, GIT_ODB_LOOKUP_NO_REFRESH) == 1;
}

/* Note an object: 1 if it is new to the walk, 0 if seen or the target's. */
static int want(exporter *x, const unsigned char *id)
{
	int there, error;

	if (oidset_get(&x->set, id))
		return 0;
	there = target_has(x, id);
	if ((error = oidset_add(&x->set, id, there ? VAULT_PACK_SKIP : 0)) < 0)
		return error;
	if (there)
		return 0;
	x->wanted++;
	return 1;
}

/* Where the walk found the object `want` just added (the value last read). */
static void remember(exporter *x, size_t i)
{
	if (x->where_len < UINT32_MAX) {
		x->set.e[i].off = (uint64_t)(uintptr_t)x->where;
		x->set.e[i].crc = (uint32_t)x->where_len;
	}
}

/* What a history object failed to be: a sentence each. */
enum { BAD_OBJECT, BAD_COMMIT, BAD_TREE, BAD_DEEP_TREE };

static int bad_object(const unsigned char *id, int bad)
{
	git_oid oid;
	char hex[VAULT_OID_SIZE];

	git_oid_fromraw(&oid, id);
	git_oid_tostr(hex, sizeof hex, &oid);
	switch (bad) {
	case BAD_COMMIT:
		return vault_error_set(VAULT_ECORRUPT, "history object %s is not a well-formed commit", hex);
	case BAD_TREE:
		return vault_error_set(VAULT_ECORRUPT, "history object %s is not a well-formed tree", hex);
	case BAD_DEEP_TREE:
		return vault_error_set(VAULT_ECORRUPT, "history object %s is not a well-formed tree (too deep)",
			hex);
	default:
		return vault_error_set(VAULT_ECORRUPT, "history object %s is not a well-formed object", hex);
	}
}

/*
 * The content stored under `id` must be what the id says: stock git does
 * not hash a pack's objects again when it reads them, and a walk over
 * forged links could otherwise go round in circles.
 */
static int object_matches(const unsigned char *id, int type, const unsigned char *data, size_t len)
{
	static const char *const names[] = { "", "commit", "tree", "blob", "tag" };
	unsigned char sum[20];
	char head[32];
	vault_sha1_ctx c;
	int hlen;

	if (type < GIT_OBJECT_COMMIT || type > GIT_OBJECT_TAG)
		return bad_object(id, BAD_OBJECT);
	hlen = snprintf(head, sizeof head, "%s %zu", names[type], len);
	vault_sha1__init(&c);
	vault_sha1__update(&c, head, (size_t)hlen + 1);
	vault_sha1__update(&c, data, len);
	vault_sha1__final(sum, &c);
	if (memcmp(sum, id, 20) != 0) {
		git_oid oid;
		char hex[VAULT_OID_SIZE];
		git_oid_fromraw(&oid, id);
		git_oid_tostr(hex, sizeof hex, &oid);
		return vault_error_set(VAULT_ECORRUPT, "history object %s does not match its id", hex);
	}
	return 0;
}

static int hex_id(unsigned char out[20], const unsigned char *p, const unsigned char *end)
{
	git_oid oid;

	if (end - p < 40 || git_oid_fromstrn(&oid, (const char *)p, 40) < 0)
		return -1;
	memcpy(out, oid.id, 20);
	return 0;
}

/* The tree and the first parent of a commit; *has_parent 0 for genesis. */
static int commit_links(unsigned char tree[20], unsigned char parent[20], int *has_parent,
	exporter *x, const unsigned char *id)
{
	const unsigned char *p, *end;
	unsigned char *buf;
	size_t len;
	int type, error;

	if ((error = raw_object(&buf, &p, &len, &type, x, id)) < 0)
		return error;
	if ((error = object_matches(id, type, p, len)) < 0)
		goto done;
	end = p + len;
	error = bad_object(id, BAD_COMMIT);
	if (type != GIT_OBJECT_COMMIT || len < 46 || memcmp(p, "tree ", 5) ||
	    hex_id(tree, p + 5, end) < 0 || p[45] != '\n')
		goto done;
	p += 46;
	*has_parent = end - p >= 48 && !memcmp(p, "parent ", 7);
	if (*has_parent && hex_id(parent, p + 7, end) < 0)
		goto done;
	error = 0;
done:
	free(buf);
	return error;
}

/* A tree and, below it, every tree and blob not yet seen. */
static int walk_tree(exporter *x, const unsigned char *id, int depth)
{
	const unsigned char *p, *end;
	unsigned char *buf;
	size_t len;
	int type, error;

	if ((error = want(x, id)) <= 0)
		return error;
	if (depth > 64)
		return bad_object(id, BAD_DEEP_TREE);
	if ((error = raw_object(&buf, &p, &len, &type, x, id)) < 0)
		return error;
	if (type != GIT_OBJECT_TREE) {
		free(buf);
		return bad_object(id, BAD_TREE);
	}
	remember(x, x->set.n - 1);
	error = 0;
	end = p + len;
	while (p < end && error == 0) {
		const unsigned char *name = memchr(p, ' ', (size_t)(end - p)), *nul;
		int is_tree = end - p > 5 && !memcmp(p, "40000 ", 6);
		unsigned char child[20];

		if (!name || (nul = memchr(name, '\0', (size_t)(end - name))) == NULL ||
		    end - nul < 21) {
			error = bad_object(id, BAD_TREE);
			break;
		}
		memcpy(child, nul + 1, 20);
		p = nul + 21;
		if (is_tree)
			error = walk_tree(x, child, depth + 1);
		else if ((error = want(x, child)) > 0)
			error = 0;
	}
	free(buf);
	return error;
}

/*
 * From `head` back to `stop` (NULL: to genesis), each commit and what it
 * lacks. *found: `stop` was met. *commits: commits added.
 */
static int walk_history(uint64_t *commits, int *found, exporter *x,
	const unsigned char *head, const unsigned char *stop)
{
	unsigned char cur[20], tree[20], parent[20];
	int has_parent = 1, error;

	*commits = 0;
	*found = 0;
	memcpy(cur, head, 20);
	while (has_parent) {
		if (stop && !memcmp(cur, stop, 20)) {
			*found = 1;
			break;
		}
		if ((error = commit_links(tree, parent, &has_parent, x, cur)) < 0)
			return error;
		if (!oidset_get(&x->set, cur)) {
			if ((error = oidset_add(&x->set, cur, 0)) < 0)
				return error;
			remember(x, x->set.n - 1);
			x->wanted++;
		}
		if ((error = walk_tree(x, tree, 0)) < 0)
			return error;
		(*commits)++;
		memcpy(cur, parent, 20);
	}
	return 0;
}

/* ---- the pack ----------------------------------------------------------- */

/*
 * An object for the pack, as the walk found it in the map or read now,
 * its content checked against its id.
 */
static int pack_source(const unsigned char **data, size_t *len, int *type,
	const vault_pack__entry *e, void *payload)
{
	exporter *x = payload;
	int error;

	free(x->plain);
	x->plain = NULL;
	if (e->off) {
		MDB_val val = { e->crc, (void *)(uintptr_t)e->off };

		if ((error = open_object(&x->plain, data, len, type, x, e->id, &val)) < 0)
			return error;
	} else if ((error = raw_object(&x->plain, data, len, type, x, e->id)) < 0) {
		return error;
	}
	return object_matches(e->id, *type, *data, *len);
}

/* By where the walk found them in the map; those it did not read last. */
static int entry_where_cmp(const void *a, const void *b)
{
	uint64_t x = ((const vault_pack__entry *)a)->off, y = ((const vault_pack__entry *)b)->off;

	x = x ? x : UINT64_MAX - 1;
	y = y ? y : UINT64_MAX - 1;
	return x < y ? -1 : x > y;
}

/*
 * The objects found by the walk as one pack in `gitdir`, packed in the
 * order they lie in the map, so that reading them goes through the file
 * once, front to back, rather than all over it (git takes objects in any
 * order; the index sorts them by id). The set's lookup is done with.
 */
static int write_pack(exporter *x, const char *gitdir)
{
	free(x->set.slot);
	x->set.slot = NULL;
	x->set.nslots = 0;
	qsort(x->set.e, x->set.n, sizeof *x->set.e, entry_where_cmp);
	int error = vault_pack__write(gitdir, x->set.e, x->set.n, x->wanted, pack_source, x);

	free(x->plain);
	x->plain = NULL;
	return error;
}

/* ---- the refs and the config -------------------------------------------- */

/* allowed_signers for stock git: every user's key, as NAME@VAULT-ID. */
static int signers_text(vault_buf *out, vault *v, git_tree *head)
{
	git_tree_entry *users = NULL;
	git_tree *t = NULL;
	vault_buf blob = VAULT_BUF_INIT;
	int error = 0;

	if (git_tree_entry_bypath(&users, head, "policy/users") < 0 ||
	    git_tree_lookup(&t, v->repo, git_tree_entry_id(users)) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the head event lists no users");
		goto done;
	}
	for (size_t i = 0; i < git_tree_entrycount(t) && error == 0; i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(t, i));
		char path[80];
		const char *key;
		size_t len;

		vault_user__path(path, name);
		if ((error = vault_history__blob(&blob, head, path, v)) < 0)
			break;
		if ((key = vault_history__field(blob.ptr, "key", &len)) == NULL) {
			vault_policy_user pu;

			/* One who never enrolled signed nothing: no line. The
			 * parse refuses an active user without a key. */
			memset(&pu, 0, sizeof pu);
			error = vault_history__user_parse(&pu, blob.ptr, name);
			continue;
		}
		vault_buf_printf(out, "%s@%s namespaces=\"git\" %.*s\n", name, v->id, (int)len, key);
	}
	if (error == 0 && out->oom)
		error = vault_error_set_oom();
done:
	vault_buf_dispose(&blob);
	git_tree_free(t);
	git_tree_entry_free(users);
	return error;
}

/* Write `text` to DIR/NAME unless it already holds exactly that. */
static int write_if_changed(const char *dir, const char *name, const vault_buf *text, int *changed)
{
	char path[4200], tmp[4300], *old = NULL;
	FILE *f;
	long n = -1;
	int error = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (size_t)n == text->size &&
		    (old = malloc((size_t)n + 1)) != NULL) {
			rewind(f);
			if (fread(old, 1, (size_t)n, f) != (size_t)n)
				n = -1;
		}
		fclose(f);
		if (old && n >= 0 && (size_t)n == text->size && !memcmp(old, text->ptr, text->size)) {
			free(old);
			return 0;
		}
		free(old);
	}
	/* A new file beside it, renamed over: never half-written. */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "wb")) == NULL || fwrite(text->ptr, 1, text->size, f) != text->size ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0)
		error = vault_error_set(VAULT_ERROR, "cannot write '%s'", path);
	if (f && fclose(f) != 0 && error == 0)
		error = vault_error_set(VAULT_ERROR, "cannot write '%s'", path);
	if (error == 0 && rename(tmp, path) != 0)
		error = vault_error_set(VAULT_ERROR, "cannot write '%s': %s", path, strerror(errno));
	if (error < 0)
		unlink(tmp);
	*changed = 1;
	return error;
}

static int dir_missing_or_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return errno == ENOENT;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Set a config value unless it is already so (an unchanged export writes nothing). */
static int config_ensure(git_config *cfg, const char *name, const char *value, int *changed)
{
	git_buf have = { NULL, 0, 0 };
	int same = git_config_get_string_buf(&have, cfg, name) == 0 && !strcmp(have.ptr, value);

	git_buf_dispose(&have);
	if (same)
		return 0;
	*changed = 1;
	return git_config_set_string(cfg, name, value);
}

/*
 * The target: an existing repository, or a new bare one in a missing or
 * empty directory (never in one that holds anything else); `abs` gets its
 * resolved path.
 */
static int target_open(git_repository **repo, char abs[4096], int *changed, const char *dir)
{
	if (git_repository_open_bare(repo, dir) < 0) {
		if (!dir_missing_or_empty(dir))
			return vault_error_set(VAULT_EEXISTS,
				"'%s' is not a git repository and is not empty", dir);
		if (git_repository_init(repo, dir, 1) < 0)
			return vault_error_set(VAULT_ERROR, "'%s' is not a git repository and cannot become one: %s",
				dir, git_error_last() ? git_error_last()->message : "unknown error");
		*changed = 1;
	}
	if (realpath(git_repository_path(*repo), abs) == NULL)
		return vault_error_set(VAULT_ERROR, "cannot resolve '%s'", dir);
	return 0;
}

/* allowed_signers beside the target, and the config that points stock git at it. */
static int target_signers(git_repository *repo, const char *abs, int *changed, vault *v,
	const git_oid *head_id)
{
	vault_buf signers = VAULT_BUF_INIT;
	git_commit *head = NULL;
	git_tree *head_tree = NULL;
	git_config *cfg = NULL;
	char path[4200];
	int error;

	if (git_commit_lookup(&head, v->repo, head_id) < 0 || git_commit_tree(&head_tree, head) < 0) {
		error = vault_error_set(VAULT_ECORRUPT, "the head event cannot be read");
		goto done;
	}
	if ((error = signers_text(&signers, v, head_tree)) < 0 ||
	    (error = write_if_changed(abs, "allowed_signers", &signers, changed)) < 0)
		goto done;
	snprintf(path, sizeof path, "%s/allowed_signers", abs);
	if (git_repository_config(&cfg, repo) < 0 ||
	    config_ensure(cfg, "gpg.format", "ssh", changed) < 0 ||
	    config_ensure(cfg, "gpg.ssh.allowedSignersFile", path, changed) < 0)
		error = vault_error_git("export");
done:
	git_config_free(cfg);
	vault_buf_dispose(&signers);
	git_tree_free(head_tree);
	git_commit_free(head);
	return error;
}

int vault_audit_export(vault_export_result *res, vault *v, const char *dir)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	git_repository *repo = NULL;
	git_reference *ref = NULL, *out_ref = NULL;
	exporter x;
	git_oid head_id, there;
	char abs[4096];
	uint64_t saved_max = v->st->mapped_max;
	int error, changed = 0, found, has_there = 0;

	memset(res, 0, sizeof *res);
	memset(&x, 0, sizeof x);
	if ((error = vault_hkeys__require(v)) < 0)
		return error;
	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	/* A session exports (and pushes to a witness) only a verified head. */
	if ((error = vault_trust__gate(v, txn)) < 0) {
		vault_store__abort(v->st, txn);
		return error;
	}
	v->st->mapped_max = VAULT_WALK_MAPPED_MAX;
	exporter_init(&x, v, txn);
	if ((error = vault_meta__get(&val, txn, v, "head")) < 0 || val.mv_size != 20) {
		if (error == 0 || error == VAULT_ENOTFOUND)
			error = vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
		goto done;
	}
	git_oid_fromraw(&head_id, val.mv_data);
	if ((error = target_open(&repo, abs, &changed, dir)) < 0)
		goto done;
	if (git_repository_odb(&x.to, repo) < 0) {
		error = vault_error_git("export");
		goto done;
	}
	if (git_reference_lookup(&ref, repo, "refs/heads/audit") == 0) {
		if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
			error = vault_error_set(VAULT_ECORRUPT,
				"'%s' has an 'audit' branch that names no commit", dir);
			goto done;
		}
		there = *git_reference_target(ref);
		has_there = x.check_target = 1;
	}
	/* Everything the target lacks, and whether what it holds is ours:
	 * found before anything is written. */
	if ((error = walk_history(&res->commits, &found, &x, head_id.id,
			has_there ? there.id : NULL)) < 0)
		goto done;
	if (has_there && !found) {
		git_oid_tostr(res->diverged, sizeof res->diverged, &there);
		res->commits = 0;
		error = vault_error_set(VAULT_ECORRUPT,
			"'%s' holds a history (audit at %s) that is not a beginning of this vault's",
			dir, res->diverged);
		goto done;
	}
	if (x.wanted && (error = write_pack(&x, abs)) < 0)
		goto done;
	res->objects = x.wanted;
	oidset_free(&x.set);
	if (res->commits) {
		if (git_reference_create(&out_ref, repo, "refs/heads/audit", &head_id, 1,
				"casevault audit export") < 0 ||
		    git_repository_set_head(repo, "refs/heads/audit") < 0) {
			error = vault_error_git("export");
			goto done;
		}
		changed = 1;
	}
	if ((error = target_signers(repo, abs, &changed, v, &head_id)) < 0)
		goto done;
	res->changed = changed || res->objects;
	git_oid_tostr(res->head, sizeof res->head, &head_id);
done:
	oidset_free(&x.set);
	git_reference_free(out_ref);
	git_reference_free(ref);
	git_odb_free(x.to);
	git_repository_free(repo);
	vault_store__abort(v->st, txn);
	v->st->mapped_max = saved_max;
	return error;
}

/*
 * How many events of ours come after `there`: 0 when it is our head.
 * VAULT_ECORRUPT naming it when it is not in the chain at all.
 */
int vault_export__behind(uint64_t *behind, vault *v, const git_oid *there, const char *url)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	exporter x;
	unsigned char cur[20], tree[20], parent[20];
	int has_parent = 1, error;

	*behind = 0;
	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	exporter_init(&x, v, txn);
	if ((error = vault_meta__get(&val, txn, v, "head")) < 0 || val.mv_size != 20) {
		if (error == 0 || error == VAULT_ENOTFOUND)
			error = vault_error_set(VAULT_ECORRUPT, "the vault has no valid head record");
		goto done;
	}
	memcpy(cur, val.mv_data, 20);
	for (;;) {
		if (!memcmp(cur, there->id, 20))
			goto done;
		if (!has_parent)
			break;
		if ((error = commit_links(tree, parent, &has_parent, &x, cur)) < 0)
			goto done;
		memcpy(cur, parent, 20);
		(*behind)++;
	}
	*behind = 0;
	error = vault_error_set(VAULT_ECORRUPT,
		"the witness '%s' holds %s, which is not in this vault's history: "
		"one of them was rolled back or rewritten", url, git_oid_tostr_s(there));
done:
	vault_store__abort(v->st, txn);
	return error;
}
