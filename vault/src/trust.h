/*
 * trust — what a session has verified of the history, and the gate every
 * signed event passes before its function runs.
 *
 * A session trusts the chain up to its user's checkpoint: the last event
 * that user verified (or wrote), with the number of events up to it,
 * authenticated under a key only that user can derive (from their secret
 * key). The checkpoint is kept in the vault, for the user's next session
 * anywhere, and in the user's state directory outside the vault, so that
 * putting back an older copy of the whole vault is caught too.
 *
 * Before an event's function runs (and so before any key is sealed, a
 * public key accepted, the audit key picked or a version vouched for), the
 * runner calls vault_trust__gate(): every event appended since the trusted
 * one is verified as `audit verify` would (vault_verify__since), and a head
 * that does not descend from it is a rolled-back history. Key decisions
 * then compare records with the head (vault_event__matches_head), which is
 * sound because the head was verified.
 */
#ifndef VAULT_TRUST_H
#define VAULT_TRUST_H

#include "internal.h"

/*
 * At unlock, once the session holds the user's secret key: derive the
 * checkpoint key, load the checkpoints, verify what was appended since and
 * store the new checkpoint. VAULT_ECORRUPT when an event does not verify
 * or the history was rolled back (the session is then not unlocked).
 * With `accept`, a rolled-back history that verifies from the genesis is
 * trusted instead, and *accepted says so: the caller records that as an
 * event (a restore from an older backup, acknowledged by this user).
 */
int vault_trust__start(vault *v, int accept, int *accepted);
/* A session that begins with the genesis: it trusts nothing yet. */
int vault_trust__begin(vault *v);
/*
 * A passwd: from now on the checkpoint is under the key derived from the
 * user's new secret key `sk`, so that the advance of the passwd's own
 * event stores it so, in the same transaction. *prev gets the key it
 * replaces; vault_trust__unrekey puts it back if that transaction fails,
 * and vault_trust__rekeyed wipes it once it committed.
 */
int vault_trust__rekey(vault *v, const unsigned char *sk, unsigned char **prev);
void vault_trust__unrekey(vault *v, unsigned char *prev);
void vault_trust__rekeyed(vault *v, unsigned char *prev);
/* The gate: the head in `txn` is verified, or VAULT_ECORRUPT. */
int vault_trust__gate(vault *v, MDB_txn *txn);
/* After this session appended `head` in `txn`: it is trusted, and the
 * vault's checkpoint says so (in the same transaction). */
int vault_trust__advance(vault *v, MDB_txn *txn, const git_oid *head);
/* After a transaction that appended events committed: `done`, the trusted
 * point as that transaction left it, is on the disk; the state file is
 * rewritten if enough events went by since it was. */
void vault_trust__committed(vault *v, const vault_trust_point *done);
/* The trusted point, to put back when a transaction that moved it aborts. */
void vault_trust__save(vault_trust_point *out, vault *v);
void vault_trust__restore(vault *v, const vault_trust_point *p);
/* Is `commit` an event at or below the trusted one (a walk from `head`,
 * the head `txn` holds)? 1, 0, or an error. */
int vault_trust__holds(vault *v, const git_oid *head, const git_oid *commit);
/* At the end of a session (and every so many events): the checkpoint file
 * in the user's state directory. Failing to write it is not an error of
 * the session: it only weakens the rollback check. */
void vault_trust__save_file(vault *v);
/*
 * The note `casevault restore` leaves beside the vault file it made
 * (backup.c): the snapshot's head, its events and when it was made. Read
 * by the rollback's message and by the first session on the vault
 * (vault_restored_note); anyone who writes the directory can write it
 * too, so it only ever adds to what a session says. _read: 1 when there is
 * one, 0 when not.
 */
typedef struct {
	git_oid head;
	uint64_t events;
	int64_t time;
} vault_trust_note;
int vault_trust__note_write(const char *dir, const vault_trust_note *n);
int vault_trust__note_read(vault_trust_note *n, const char *dir);
int vault_trust__note_remove(const char *dir);
/* Wipe the session's trust state. */
void vault_trust__end(vault *v);

#endif
