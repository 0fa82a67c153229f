/*
 * report.h — what report.c (the events, notes, the log), reports.c, show.c
 * and anomalies.c share.
 */
#ifndef VAULT_REPORT_H
#define VAULT_REPORT_H

#include "internal.h"
#include "history.h"

/* VAULT_EACCES unless an admin or an auditor is unlocked; `what` names what
 * was asked for: READ_REPORTS, READ_NOTES or READ_RECOVERY (its status). */
enum { READ_REPORTS, READ_NOTES, READ_RECOVERY };
int vault_report__require_reader(vault *v, int what);

/* The audit key, to open notes of purpose (admins and auditors). */
typedef struct {
	unsigned char pk[32];
	unsigned char *sk;           /* X25519 secret key, sodium_malloc'd */
} audit_key;
/*
 * The read transaction of a view of the history (the log, the reports):
 * with a user unlocked, what was appended since the session's trusted point
 * is verified first (the trust gate), so a session never lists a forged
 * event as one of the chain. Locked, the history is listed as the file
 * holds it: `audit verify` says whether it verifies. (`audit show` of one
 * event says whether its signature is good, and needs no gate.)
 */
int vault_report__begin(MDB_txn **out, vault *v);
int vault_report__key_open(audit_key *k, vault *v, MDB_txn *txn);
void vault_report__key_close(audit_key *k);
/* The note of the event whose message is `msg`, opened: malloc'd, or NULL
 * when it has none; VAULT_ECORRUPT naming `commit` when it does not open. */
int vault_report__note_open(char **out, const audit_key *k, const char *msg, const char *commit);
void vault_report__note_free(char *note);

/* One event of the history, as the views read it. */
typedef struct {
	git_oid id;
	char hex[VAULT_OID_SIZE];
	int64_t time;
	vault_trailers t;
	char subject[200];
	char access[3];          /* grant: "ro"/"rw" given; revoke: what was taken; else "" */
} rep_event;
int vault_report__event_read(rep_event *e, git_commit **keep, vault *v, const git_oid *id);
void vault_report__event_info(vault_event_info *info, const rep_event *e);

/*
 * A filter on a case or a user the history never names is a mistake of the
 * caller (a typo), not an empty answer: it is refused. A name the history
 * had at any time counts, whatever --since and --until say.
 */
typedef struct {
	const char *code, *user;
	int code_seen, user_seen;
} known_names;
/* The user an event is about: its Target, but a setting's Target is a key. */
const char *vault_report__target_user(const rep_event *e);
void vault_report__known_see(known_names *k, const rep_event *e);
int vault_report__known_check(const known_names *k);

/* A report in the making: the whole chain, oldest first. */
typedef struct {
	vault *v;
	MDB_txn *txn;
	const vault_report_options *o;
	rep_event *ev;               /* the whole chain, oldest first */
	size_t n;
	audit_key key;
	int (*cb)(const vault_report_line *, void *);
	void *payload;
} report;
int vault_report__in_range(const report *r, const rep_event *e);
/* anomalies.c: the flags of --anomalies, sorted by time, through r->cb. */
int vault_report__anomalies(report *r);

#endif
