/*
 * settings.h — the admin's settings as the anomaly report and the
 * witness's automatic push read them.
 * settings.c also runs `settings set`, through policy.h.
 */
#ifndef VAULT_SETTINGS_H
#define VAULT_SETTINGS_H

#include "internal.h"

#define VAULT_ZONE_MAX 48   /* a time zone's name, "America/Argentina/ComodRivadavia" */

/* The anomaly thresholds of the settings, defaults filled in; the settings
 * must be the head event's (VAULT_ECORRUPT). `txn` is the current one. */
typedef struct {
	uint64_t bulk_count;         /* more than this many reads ... */
	int64_t bulk_window;         /* ... within this many seconds */
	int work_start, work_end;    /* minutes of the day in `zone`: [start, end); overnight
	                              * when start > end (the shift is its first day's) */
	unsigned int work_days;      /* bit n: tm_wday n (0 Sunday) is a working day */
	char zone[VAULT_ZONE_MAX + 1];  /* a tz database name, "UTC" by default */
	int64_t membership_window;   /* reads of a case this soon after a grant or revoke */
	uint64_t unlock_count;       /* more than this many failed unlocks ... */
	int64_t unlock_window;       /* ... within this many seconds */
	int64_t grant_add_window;    /* a grant this soon after its admin added the grantee */
	char work_text[144];         /* "mon,tue,wed,thu,fri 07:00-19:00 UTC" */
} vault_anomaly_settings;
int vault_settings__anomaly(vault_anomaly_settings *out, MDB_txn *txn, vault *v);
/* The zone file of a tz database name in `out` (under $TZDIR, else
 * /usr/share/zoneinfo); -1 if the name is not one or the file is missing
 * or not TZif. */
int vault_settings__zone_file(char *out, size_t size, const char *zone);
/* How long an enrolment code of `user add` lasts, in seconds. */
int vault_settings__enrol_ttl(int64_t *out, MDB_txn *txn, vault *v);

/* The minimum Argon2id parameters of a new passphrase the admin set
 * (settings kdf-min-memory, in bytes, and kdf-min-passes); 0 for a key
 * never set, which leaves the build's default. Checked as above. */
typedef struct {
	uint64_t passes;
	uint64_t memory;
} vault_kdf_min;
int vault_settings__kdf_min(vault_kdf_min *out, MDB_txn *txn, vault *v);

/* The witness the history is pushed to by itself ("" for none), and after
 * how many events; checked as above. */
#define VAULT_WITNESS_URL_MAX 256
int vault_settings__witness(char url[VAULT_WITNESS_URL_MAX + 1], uint64_t *every, MDB_txn *txn, vault *v);

#endif
