/*
 * action — what each event action is, and what it may change.
 *
 * One table, read by the writer (vault_event__commit refuses to record an
 * event that this table would reject, and records nothing for an event
 * that changes nothing where its action must change something) and by
 * `audit verify` (which replays every event against the same table). So
 * an honest event is one verify accepts, by construction.
 */
#ifndef VAULT_ACTION_H
#define VAULT_ACTION_H

#include "internal.h"

typedef enum {
	VAULT_ACTION_GENESIS,        /* init: the first event only */
	VAULT_ACTION_ADMIN,          /* an admin's change of policy */
	VAULT_ACTION_CONTENT,        /* a read-write member's document change */
	VAULT_ACTION_MEMBER,         /* a member's key work on a case (rekey) */
	VAULT_ACTION_CASE,           /* case-create: not by auditors */
	VAULT_ACTION_SELF,           /* a user's own keys: enrol, passwd */
	VAULT_ACTION_CUSTODIAN,      /* a custodian's approval of a recovery */
	VAULT_ACTION_RECOVERED,      /* a caseworker takes up a recovered case */
	VAULT_ACTION_STILL,          /* changes no state (read, mount, ...) */
} vault_action_kind;

#define VAULT_ENTRIES_ALWAYS 1
#define VAULT_ENTRIES_NEW    2

typedef struct {
	const char *name;
	vault_action_kind kind;
	/* 1: an event that changes no record is not recorded at all (the
	 * writer drops it; verify rejects it). 0: it may change nothing. */
	int must_change;
	/* 1: it may create the record it is about (a write only as the
	 * file's first version; verify checks that). */
	int creates;
	/* It adds, removes or moves a folder entry, so it may also change the
	 * times and subfolder count of the folder (or both folders) the entry
	 * is in: VAULT_ENTRIES_ALWAYS, or VAULT_ENTRIES_NEW only when it
	 * creates its node (a write of a file's first version); 0 never. */
	int entries;
	/* The fields it may change in an existing record, NULL-ended. */
	const char *may[12];
} vault_action;

/* The table entry of `name`, or NULL for an action no one records. */
const vault_action *vault_action__find(const char *name);

/*
 * The change of one record (tree file `before` to `after`, both ids in the
 * history) is one that `action` may make; `target` names the user of a
 * grant or revoke (the one `member` line it may add or drop), or of an
 * enrol or passwd (whose own record and cases it may change), or NULL.
 * `what` names the record in the error. VAULT_ECORRUPT with the first
 * field changed that may not be.
 */
int vault_action__check_record(vault *v, const vault_action *a, const git_oid *before,
	const git_oid *after, const char *target, const char *what);
/* The same for the manifest of a folder whose entries the action changed;
 * `node_new`: the event creates its node. */
int vault_action__check_folder(vault *v, const vault_action *a, const git_oid *before,
	const git_oid *after, int node_new, const char *what);

#endif
