/*
 * event — one event: its transaction, its signed commit, and the runner
 * that every event of the library goes through.
 *
 * vault_event__run() is the one place an event gets its transaction: it
 * begins it (or, for events that may share one, queues the event for the
 * group commit), makes it the current transaction of the object database,
 * runs the event's function, checks the result against the action table
 * and signs it (vault_event__commit), runs the post step, commits, and
 * clears the current transaction. Today the checks that a record matches
 * the signed history before a key decision are made by the event
 * functions (keys.c's trust checks under grant, revoke and rekey, and
 * vault_event__seal_note);
 * the runner, before the event's function, is the place meant for one
 * check of the whole chain that every key decision will rest on.
 */
#ifndef VAULT_EVENT_H
#define VAULT_EVENT_H

#include "internal.h"

/* Building one event (the event function fills it). */
#define EVENT_MAX_UPDATES 16
typedef struct {
	const char *action;
	char case_code[VAULT_CODE_SIZE];
	uint64_t node;
	uint32_t version;
	const char *purpose;
	char *note;                  /* base64 of the sealed note, malloc'd */
	const char *at;              /* a read of a past state: its moment, RFC 3339 */
	const char *snapshot;        /* a backup: "HEAD EVENTS SIZE BLAKE2B" of its copy */
	const char *proof;           /* an enrol: the code's signature, hex (hkeys.h) */
	char target[VAULT_NAME_MAX + 1];
	int64_t when;                /* the event's time if not now (a failed unlock noted earlier) */
	char subject[160];
	size_t nupdates;
	git_tree_update updates[EVENT_MAX_UPDATES];
	char paths[EVENT_MAX_UPDATES][64];
} vault_event;

void vault_event__init(vault_event *ev, const char *action);
void vault_event__dispose(vault_event *ev);
int vault_event__touch_user(vault_event *ev, vault *v, MDB_txn *txn, const char *name);
int vault_event__touch_case(vault_event *ev, vault *v, MDB_txn *txn, const char *code);
int vault_event__touch_node(vault_event *ev, vault *v, MDB_txn *txn, uint64_t node);
int vault_event__touch_settings(vault_event *ev, vault *v, MDB_txn *txn);
int vault_event__seal_note(vault_event *ev, vault *v, MDB_txn *txn, const char *note);
/* Does a record's tree file equal the one in the head event? VAULT_ECORRUPT.
 * Called by an event's function: `txn` is the current transaction. */
int vault_event__matches_head(vault *v, MDB_txn *txn, const char *path, const vault_buf *blob);
/* The settings (purposes, the audit key, the admin's settings) are the
 * head event's: before any of them decides anything, or is changed. */
int vault_event__settings_trusted(vault *v, MDB_txn *txn);
/*
 * Append the signed commit to the history and move the head (same txn).
 * 1, and nothing appended, when the event changes no record although its
 * action must change one (a chmod to the mode a file has): no event.
 */
int vault_event__commit(git_oid *out, vault_event *ev, vault *v, MDB_txn *txn, int64_t when);
/* The same without the action table's check: what a forger's own build
 * would do. Only tests call it, to forge events that verify must catch. */
int vault_event__append(git_oid *out, vault_event *ev, vault *v, MDB_txn *txn, int64_t when);

/*
 * An event's function: it changes the state in `txn` and says in `ev` what
 * the event records (its trailers, and the records it touched). > 0:
 * nothing to record, no event (a chmod to the mode a file has).
 */
typedef int (*vault_event_fn)(vault_event *ev, vault *v, MDB_txn *txn, void *payload);
/* After the commit exists, in the same transaction: e.g. a version record
 * that names the event that made it. */
typedef int (*vault_event_post_fn)(vault *v, MDB_txn *txn, const git_oid *commit, void *payload);

#define VAULT_EVENT_GROUP 0x01   /* may share a transaction (and its fsync)
                                    with the events of other threads */

/*
 * Run one event: `action`, with `fn` then `post` (NULL for none), in a
 * transaction of its own, or with VAULT_EVENT_GROUP in a batch: the first
 * thread that finds no batch running takes every queued event (up to 64),
 * runs each in a nested transaction of its own, and commits them together
 * with one fsync; an event that fails is undone alone. No caller returns
 * before its event is committed. 0 when recorded, > 0 when there was
 * nothing to record, < 0 on error (nothing of the event is kept).
 */
int vault_event__run(vault *v, const char *action, vault_event_fn fn, vault_event_post_fn post,
	void *payload, unsigned int flags);

/* The group commit's state in a handle (vault_open, vault_close). */
void vault_event__group_init(vault *v);
void vault_event__group_dispose(vault *v);

#endif
