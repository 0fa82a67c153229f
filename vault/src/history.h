/*
 * history — reading the signed history: event trailers, the chain of
 * events, tree files and the policy a tree holds. Shared by the log, the
 * verifier, the export and the reports.
 */
#ifndef VAULT_HISTORY_H
#define VAULT_HISTORY_H

#include "internal.h"

/* The trailers of one event's message. */
typedef struct {
	char action[32], actor[VAULT_NAME_MAX + 1], target[VAULT_NAME_MAX + 1];
	char case_code[VAULT_CODE_SIZE], node[17], purpose[40], via[8];
	uint32_t version;
	int has_note;
	char snapshot[160];          /* a backup's: "HEAD EVENTS SIZE BLAKE2B" */
	char proof[132];             /* an enrol's: its code's signature (hkeys.h) */
} vault_trailers;

void vault_history__trailers(vault_trailers *t, const char *msg);

/* Copy `len` bytes of `s` as a string, cut to fit `n`. */
void vault_history__copy(char *dst, size_t n, const char *s, size_t len);

/*
 * The chain from genesis to head, oldest first (malloc'd). On a missing or
 * damaged event, VAULT_ECORRUPT; `bad` (if not NULL) gets its id.
 */
int vault_history__chain(git_oid **out, size_t *n_out, char *bad, vault *v, MDB_txn *txn);

/* The file at `path` of a tree, NUL-terminated; VAULT_ENOTFOUND if absent. */
int vault_history__blob(vault_buf *out, git_tree *tree, const char *path, vault *v);

/* Value of a "key VALUE" line of a tree file; NULL if absent. Points into `text`. */
const char *vault_history__field(const char *text, const char *key, size_t *len);

/* What the policy in one tree says about a user. */
typedef struct {
	int found;
	vault_role_t role;
	int active;
	int pending;                 /* added, not enrolled: no key */
	unsigned char pk[32];
} vault_policy_user;

int vault_history__user(vault_policy_user *out, git_tree *tree, const char *name, vault *v);
/* The same from the text of a `policy/users/NAME` file. */
int vault_history__user_parse(vault_policy_user *out, const char *text, const char *name);

/* 2: rw member, 1: ro member, 0: not a member of the case in that tree. */
int vault_history__membership(int *out, git_tree *tree, const char *code, const char *user, vault *v);
/* The same from the text of a `policy/cases/CODE` file. */
int vault_history__member_parse(const char *text, const char *user);

/*
 * Split commit `c` (as read, so its id is checked) into its `gpgsig`
 * signature (continuation lines joined, the leading space removed) and the
 * signed data (the commit without that header). An unsigned commit gives an
 * empty signature.
 */
int vault_history__signature(vault_buf *sig, vault_buf *data, vault *v, const git_commit *c);

/*
 * The files that differ between trees `a` (before) and `b` (after); either
 * may be NULL (empty). For each, in path order, `cb` gets its path and its
 * ids before and after (NULL: absent). A non-zero return from `cb` stops
 * the walk and is returned.
 */
#define VAULT_HISTORY_PATH_MAX 256
typedef int (*vault_history__diff_cb)(const char *path, const git_oid *before,
	const git_oid *after, void *payload);

/*
 * Folders a diff read, kept for the next one (or NULL): replaying events
 * newest first, what an event's diff reads of the state before it is the
 * state after the event before, which the next diff reads again.
 */
#define VAULT_HISTORY_MEMO 16
typedef struct {
	git_tree *tree[VAULT_HISTORY_MEMO];
	size_t next;
} vault_history__memo;
void vault_history__memo_dispose(vault_history__memo *m);

/*
 * The entry at `path` of `root` (free it with git_tree_entry_free), its
 * folders read through `memo` (or NULL). VAULT_ENOTFOUND if absent.
 */
int vault_history__entry(git_tree_entry **out, vault *v, git_tree *root, const char *path,
	vault_history__memo *memo);

int vault_history__diff(vault *v, git_tree *a, git_tree *b, vault_history__memo *memo,
	vault_history__diff_cb cb, void *payload);

#endif
