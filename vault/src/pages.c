/*
 * pages — every page of the vault file is used once.
 *
 * LMDB keeps a list of the pages no snapshot still needs and hands them
 * to the next write. A damaged list that names a page in use lets that
 * write overwrite a page some table still points to: the harm shows
 * later, as a record that cannot be read. So `audit verify` accounts for
 * every page of its snapshot, as LMDB's own debug audit does: each page
 * from 2 to the last is either in exactly one table's tree (a branch, a
 * leaf, or one of a large value's overflow pages) or listed free, never
 * both, never twice, never neither.
 *
 * The trees are walked from their roots in the map, page by page (the
 * public API shows leaves and values, not branch pages): LMDB 0.9's page
 * layout, fixed by its file format, with every offset and page number
 * checked before it is followed. The free lists are read through LMDB.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "store.h"

/* LMDB 0.9's page: a 16-byte header, then 2-byte node offsets. */
#define PAGE_HEADER   16
#define PAGE_BRANCH   0x01
#define PAGE_LEAF     0x02
#define PAGE_KINDS    0x2f   /* branch, leaf, overflow, meta, fixed-size leaf */
#define NODE_HEADER   8      /* lo, hi, flags, key size: 2 bytes each */
#define NODE_BIG      0x01   /* the value lies in overflow pages */
#define NODE_TABLE    0x02   /* the value is a table's record (MDB_db) */
#define TABLE_RECORD  48     /* MDB_db: its root is its last 8 bytes */
#define TABLE_ROOT    40
#define NO_PAGE       UINT64_MAX
#define MAX_DEPTH     32

/* The meta page's two table records (free pages, then the table of
 * tables), its last page and its transaction id. */
#define META_FREE_ROOT (PAGE_HEADER + 24 + TABLE_ROOT)
#define META_MAIN_ROOT (PAGE_HEADER + 24 + TABLE_RECORD + TABLE_ROOT)
#define META_LAST_PAGE (PAGE_HEADER + 24 + 2 * TABLE_RECORD)
#define META_TXNID     (META_LAST_PAGE + 8)

typedef struct {
	const unsigned char *map;
	unsigned int psize;
	uint64_t last;                   /* the snapshot's last page */
	unsigned char *seen;             /* a bit per page */
} page_walk;

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* The page number in a message. */
#define PAGE(pgno) ((unsigned long long)(pgno))

/* Page `pgno` is used once more: by a tree (or listed free); 1 if it was
 * used already (the caller says by what). */
static int mark(page_walk *w, uint64_t pgno)
{
	if (pgno < 2 || pgno > w->last)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu lies outside the file's pages", PAGE(pgno));
	if (w->seen[pgno / 8] & (1u << (pgno % 8)))
		return 1;
	w->seen[pgno / 8] |= (unsigned char)(1u << (pgno % 8));
	return 0;
}

/* A large value's pages: LMDB's count of them, from the value's size. */
static int mark_big(page_walk *w, uint64_t first, uint64_t size)
{
	uint64_t n = (PAGE_HEADER - 1 + size) / w->psize + 1;

	if (first > w->last || n > w->last - first + 1)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"starts a value that runs past the file's pages", PAGE(first));
	for (uint64_t i = 0; i < n; i++) {
		int error = mark(w, first + i);

		if (error > 0)
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu "
				"is used twice (a value's page)", PAGE(first + i));
		if (error < 0)
			return error;
	}
	return 0;
}

static int walk_tree(page_walk *w, uint64_t pgno, int depth);

/* One node of a leaf, `at` bytes into it: its value's overflow pages, or a
 * table's tree. */
static int walk_leaf_node(page_walk *w, uint64_t pgno, const unsigned char *page, size_t at,
	int depth)
{
	const unsigned char *node = page + at;
	uint64_t size = get16(node) | (uint64_t)get16(node + 2) << 16;
	uint16_t flags = get16(node + 4);
	size_t data = at + NODE_HEADER + get16(node + 6);

	if (flags & ~(NODE_BIG | NODE_TABLE))
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu holds a record of an unknown kind", PAGE(pgno));
	if (flags & NODE_BIG) {
		if (data + 8 > w->psize)
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu "
				"holds a record that runs past its end", PAGE(pgno));
		return mark_big(w, get64(page + data), size);
	}
	if (size > w->psize - data)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"holds a record that runs past its end", PAGE(pgno));
	if (!(flags & NODE_TABLE))
		return 0;
	if (size != TABLE_RECORD)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu "
			"holds a table record of the wrong size", PAGE(pgno));
	if (get64(page + data + TABLE_ROOT) == NO_PAGE)
		return 0;
	return walk_tree(w, get64(page + data + TABLE_ROOT), depth + 1);
}

/* The page `pgno` of a tree, then what it points to. */
static int walk_tree(page_walk *w, uint64_t pgno, int depth)
{
	const unsigned char *page;
	uint16_t kind, lower, upper;
	int error;

	if (depth > MAX_DEPTH)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu lies deeper than any tree reaches", PAGE(pgno));
	if ((error = mark(w, pgno)) > 0)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu is used twice (a tree's page)", PAGE(pgno));
	if (error < 0)
		return error;
	page = w->map + pgno * w->psize;
	/* What the page is; LMDB's in-memory marks (dirty, kept, loose) aside. */
	kind = get16(page + 10) & PAGE_KINDS;
	lower = get16(page + 12);
	upper = get16(page + 14);
	if (get64(page) != pgno)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu holds another page's number", PAGE(pgno));
	if ((kind != PAGE_BRANCH && kind != PAGE_LEAF) || lower < PAGE_HEADER || lower % 2 ||
	    lower > upper || upper > w->psize)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu has a damaged header", PAGE(pgno));
	for (unsigned int i = 0; i < (lower - PAGE_HEADER) / 2u; i++) {
		size_t at = get16(page + PAGE_HEADER + 2 * i);
		const unsigned char *node = page + at;

		if (at < upper || at + NODE_HEADER > w->psize ||
		    at + NODE_HEADER + get16(node + 6) > w->psize)
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu points past its end", PAGE(pgno));
		if (kind == PAGE_BRANCH)
			error = walk_tree(w, get16(node) | (uint64_t)get16(node + 2) << 16 |
				(uint64_t)get16(node + 4) << 32, depth + 1);
		else
			error = walk_leaf_node(w, pgno, page, at, depth);
		if (error < 0)
			return error;
	}
	return 0;
}

/* Each free list, read through LMDB, after the trees. */
static int mark_free(page_walk *w, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(txn, 0, &cur)) != 0)
		return vault_store__error(rc, "check the vault file's pages");
	while (error == 0 && (rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		const unsigned char *ids = d.mv_data;
		uint64_t n = d.mv_size / 8;

		/* A count, then the page numbers (the open checked the form). */
		for (uint64_t i = 1; i < n && error == 0; i++)
			if ((error = mark(w, get64(ids + 8 * i))) > 0)
				error = vault_error_set(VAULT_ECORRUPT,
					"the vault file is damaged: page %llu is listed free while in use",
					PAGE(get64(ids + 8 * i)));
	}
	mdb_cursor_close(cur);
	if (error == 0 && rc != MDB_NOTFOUND)
		error = vault_error_set(VAULT_ECORRUPT, "the vault file is damaged: its free pages cannot be read (%s)",
			mdb_strerror(rc));
	return error;
}

/* The pages no tree and no free list has: a sound file has none. */
static int unaccounted(const page_walk *w)
{
	for (uint64_t p = 2; p <= w->last; p++)
		if (!(w->seen[p / 8] & (1u << (p % 8))))
			return vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: page %llu "
				"is neither in use nor listed free", PAGE(p));
	return 0;
}

int vault_store__check_pages(vault_store *st, MDB_txn *txn)
{
	const unsigned char *meta = NULL;
	page_walk w;
	int error;

	if (!st->fault_base || !st->psize)
		return 0;                /* no map found: nothing to walk */
	w.map = (const unsigned char *)st->fault_base;
	w.psize = st->psize;
	/* The meta page of this snapshot: the one with its transaction id. */
	for (int i = 0; i < 2; i++)
		if (get64(w.map + i * w.psize + META_TXNID) == (uint64_t)mdb_txn_id(txn))
			meta = w.map + i * w.psize;
	if (meta == NULL)
		return VAULT_EBUSY;     /* two writes since it began: begin again */
	w.last = get64(meta + META_LAST_PAGE);
	if (w.last >= st->fault_size / w.psize)   /* not (last + 1) * psize: it wraps */
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: page %llu is the last page, past the map", PAGE(w.last));
	if ((w.seen = calloc(w.last / 8 + 1, 1)) == NULL)
		return vault_error_set_oom();
	if ((error = get64(meta + META_FREE_ROOT) == NO_PAGE ? 0 :
			walk_tree(&w, get64(meta + META_FREE_ROOT), 0)) == 0 &&
	    (error = get64(meta + META_MAIN_ROOT) == NO_PAGE ? 0 :
			walk_tree(&w, get64(meta + META_MAIN_ROOT), 0)) == 0 &&
	    (error = mark_free(&w, txn)) == 0)
		error = unaccounted(&w);
	free(w.seen);
	return error;
}
