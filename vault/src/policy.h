/*
 * policy.h — what users.c, cases.c, keys.c, purposes.c and settings.c
 * share (the records themselves are records.h).
 */
#ifndef VAULT_POLICY_H
#define VAULT_POLICY_H

#include "event.h"
#include "settings.h"

/* VAULT_EAUTH unless a user is unlocked. */
int vault_policy__require_unlocked(vault *v);
/* A session of user `name` (record `u`), holding only its own key `sk`
 * (taken); the previous session's keys are dropped. */
void vault_policy__begin_session(vault *v, const char *name, const user_rec *u, unsigned char *sk);
/* The previous session ends (its checkpoint saved), and the record of
 * `name` is read for the next; VAULT_EAUTH when there is no such user. */
int vault_policy__switch_user(user_rec *u, vault *v, const char *name);
/* No user is unlocked; every key the session held, and what it had
 * verified of the history (trust.h), is wiped. */
void vault_policy__end_session(vault *v);
/* The caller is unlocked and has `role`; VAULT_EACCES naming both roles. */
int vault_policy__require_role(vault *v, vault_role_t role);
/* A policy event in a transaction of its own; nothing to record is 0. */
int vault_policy__run(vault *v, const char *action, vault_event_fn fn, void *payload);

/* keys.c */
/* The key of `code`'s `epoch`, kept in the session's cache (takes `key`). */
int vault_keys__cache(case_key **out, vault *v, const char *code, uint32_t epoch, unsigned char *key);
/* Seal `key` of `c`'s `epoch` to `user`, bound to them (vault, case,
 * epoch, user); VAULT_ECORRUPT if `key` fails the epoch's key-check value. */
int vault_keys__seal(MDB_txn *txn, vault *v, const case_rec *c, uint32_t epoch,
	const char *user, const unsigned char *key);
/* The key-check value of `code`'s `epoch` whose key is `key`. */
void vault_keys__kcv(unsigned char out[KCV_SIZE], const vault *v, const char *code, uint32_t epoch,
	const unsigned char *key);
/* The binding sealed beside a key: a hash of its place (the vault, `code`,
 * `epoch`, the recipient); the history keys use the codes "@history" and
 * "@index", which no case has. */
void vault_keys__binding(unsigned char out[32], const vault *v, const char *code, uint32_t epoch,
	const char *user);
/* Is a key of `code`'s `epoch` sealed to `user`? */
int vault_keys__has_sealed(MDB_txn *txn, vault *v, const char *code, uint32_t epoch, const char *user);
/* The user's record, the case's record and its members' records are those
 * of the head event (VAULT_ECORRUPT naming the record): before a key is
 * sealed to anyone. */
int vault_keys__user_trusted(MDB_txn *txn, vault *v, const char *name);
int vault_keys__case_trusted(MDB_txn *txn, vault *v, const case_rec *c);
/* The case's record alone is the head event's: before content is written
 * under its epoch's key (an older copy of the record would hand new
 * content to the members of an older epoch). */
int vault_keys__epoch_trusted(MDB_txn *txn, vault *v, const case_rec *c);
/* The same after the trust gate, in any write transaction (an event's, or
 * one of staged blocks): before a node key is sealed under the case key of
 * `c`, the record the writer loaded when the file was opened. */
int vault_keys__writable(MDB_txn *txn, vault *v, const case_rec *c);

/* The case key of `epoch` for the unlocked user (cached); VAULT_EACCES. */
int vault_keys__case_key(const unsigned char **out, MDB_txn *txn, vault *v,
	case_rec *c, uint32_t epoch);
/* The per-case key for folder lookups, borrowed from the session's cache. */
int vault_keys__lookup_key(const unsigned char **out, MDB_txn *txn, vault *v, case_rec *c);
/* Start a new epoch if retired, seal the key to members who lack it. */
int vault_keys__settle(MDB_txn *txn, vault *v, case_rec *c, int *changed);
int vault_keys__maintain(vault *v);
/* cases.c: revoke `user` from `code` as they are disabled: the last
 * member too, if the recovery covers the case. */
int vault_cases__revoke_leaving(vault *v, const char *code, const char *user);
/* recover.c: the recovery work of this user's session: cases recovered
 * for them taken up (`recovery-grant`), then the keys of their cases that
 * have no shares for the custodians of now split (`recovery-split`). */
int vault_recover__maintain(vault *v);
/* 1 if `c`'s key of now has shares for every custodian of now (a case whose
 * last member may then go: it can be recovered), 0 if not; after the
 * settings were checked against the head. */
int vault_recovery__covers(MDB_txn *txn, vault *v, const case_rec *c);
/* The audit key's secret half, from the unlocked admin's or auditor's copy
 * (checked against meta/audit-pk), sealed to user `to`'s key `to_pk`. */
int vault_keys__seal_audit(MDB_txn *txn, vault *v, const char *to, const unsigned char to_pk[32]);


/* users.c: a user's key pair, sealed under their passphrase, bound to the
 * vault (its id and genesis event, v->genesis) and the user's name. */
/* A fresh key pair and the key (Argon2id of `pass`, new parameters in `u`,
 * at least `min`) that vault_users__wrap() seals it under; both in secret
 * memory. */
int vault_users__create(user_rec *u, unsigned char **sk_out, unsigned char **kek_out,
	vault_role_t role, const vault_kdf_min *min, const char *pass, size_t passlen);
/* The vault's minimum for a new passphrase (settings.h), in a transaction
 * of its own. */
int vault_users__kdf_min(vault_kdf_min *out, vault *v);
void vault_users__wrap(user_rec *u, const vault *v, const char *name, const unsigned char *sk,
	const unsigned char *kek);
/* The user's secret key, if `pass` opens it; VAULT_EAUTH if not. */
int vault_users__unwrap(unsigned char **sk_out, const user_rec *u, const vault *v, const char *name,
	const char *pass, size_t passlen);

/* purposes.c: VAULT_EUSAGE unless `purpose` may be given (listed, or
 * none when none is required). */
int vault_purposes__check(MDB_txn *txn, vault *v, const char *purpose);

#endif
