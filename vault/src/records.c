/*
 * records — the vault's stored records and the text of their tree files:
 * `meta` values, users, cases, nodes and versions. Each is read and
 * written here only, checked as it is read; the text of a record's file in
 * the history tree is made from the record here too, so that the writer
 * (event.c) and verify build it with the same function.
 *
 * Nothing here decides who may do what, and nothing here decrypts: that
 * is policy (users.c, cases.c, keys.c) and documents (docs.c, file.c,
 * blocks.c), which sit above.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "internal.h"
#include "policy.h"
#include "sshsig.h"


/* ---- locators ------------------------------------------------------------ */

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int vault_rec__locator_kind(const char *table, const char *key, const char **ctx)
{
	if (!strcmp(table, "users")) {
		*ctx = "cv-luser";
		return VAULT_LOC_VAULT_ID;
	}
	if (!strcmp(table, "cases")) {
		*ctx = "cv-lcase";
		return VAULT_LOC_INDEX;
	}
	if (!strcmp(table, "meta")) {
		*ctx = "cv-lmeta";
		return has_prefix(key, "checkpoint/") ? VAULT_LOC_INDEX : VAULT_LOC_PLAIN;
	}
	if (!strcmp(table, "sealed")) {
		*ctx = "cv-lseal";
		if (has_prefix(key, "@failed/") || has_prefix(key, "@hchain/"))
			return VAULT_LOC_PLAIN;
		if (has_prefix(key, "@index/") || has_prefix(key, "@history/") || has_prefix(key, "@enrol/"))
			return VAULT_LOC_VAULT_ID;
		return VAULT_LOC_INDEX;
	}
	return VAULT_LOC_PLAIN;
}

void vault_rec__sealed_name(char *out, size_t n, const char *code, uint32_t epoch, const char *user)
{
	snprintf(out, n, "%s/%08x/%s", code, epoch, user);
}

void vault_rec__share_name(char *out, size_t n, const char *code, uint32_t epoch, const char *user)
{
	snprintf(out, n, "@share/%s/%08x/%s", code, epoch, user);
}

void vault_rec__handed_name(char *out, size_t n, const char *id, const char *approver)
{
	snprintf(out, n, "@rshare/%s/%s", id, approver);
}

void vault_rec__recovery_set(unsigned char out[RECOVERY_SET_SIZE], const char *settings)
{
	crypto_generichash_state st;
	int any = 0;

	crypto_generichash_init(&st, NULL, 0, RECOVERY_SET_SIZE);
	crypto_generichash_update(&st, (const unsigned char *)"cv-recovery-set", sizeof "cv-recovery-set");
	for (const char *p = settings; p && *p; ) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);

		if (!strncmp(p, "recovery-", 9)) {
			crypto_generichash_update(&st, (const unsigned char *)p, len);
			any = 1;
		}
		p += len;
	}
	crypto_generichash_final(&st, out, RECOVERY_SET_SIZE);
	if (!any)
		memset(out, 0, RECOVERY_SET_SIZE);
}

void vault_rec__locator(unsigned char out[VAULT_LOCATOR_SIZE], const char *vid,
	const unsigned char *index, const char *table, const char *key)
{
	crypto_generichash_state h;
	unsigned char master[32], sub[32];
	const char *ctx = "";

	if (vault_rec__locator_kind(table, key, &ctx) == VAULT_LOC_VAULT_ID) {
		/* Not secret: anyone with the file can find a user by name. */
		crypto_generichash(master, sizeof master, (const unsigned char *)vid, strlen(vid),
			(const unsigned char *)"cv-vault-locators", 17);
		crypto_kdf_derive_from_key(sub, sizeof sub, 1, ctx, master);
	} else {
		crypto_kdf_derive_from_key(sub, sizeof sub, 1, ctx, index);
	}
	crypto_generichash_init(&h, sub, sizeof sub, VAULT_LOCATOR_SIZE);
	crypto_generichash_update(&h, (const unsigned char *)table, strlen(table) + 1);
	crypto_generichash_update(&h, (const unsigned char *)key, strlen(key));
	crypto_generichash_final(&h, out, VAULT_LOCATOR_SIZE);
	sodium_memzero(sub, sizeof sub);
	sodium_memzero(&h, sizeof h);
}

static const char *table_name(const vault *v, MDB_dbi dbi)
{
	const vault_store *st = v->st;

	return dbi == st->users ? "users" : dbi == st->cases ? "cases" : dbi == st->meta ? "meta" :
		dbi == st->sealed ? "sealed" : "";
}

int vault_rec__key(vault_rec_key *out, vault *v, MDB_dbi dbi, const char *key)
{
	const char *table = table_name(v, dbi), *ctx;
	size_t len = strlen(key);
	int kind = vault_rec__locator_kind(table, key, &ctx);

	if (kind == VAULT_LOC_PLAIN) {
		if (len > sizeof out->b)
			return vault_error_set(VAULT_ERROR, "vault record key '%s' is too long", key);
		memcpy(out->b, key, len);
		out->len = len;
		return 0;
	}
	if (kind == VAULT_LOC_INDEX && !v->hk.index)
		return vault_error_set(VAULT_EAUTH,
			"vault records are located by the index key and this session holds none");
	vault_rec__locator(out->b, v->id, v->hk.index, table, key);
	out->len = VAULT_LOCATOR_SIZE;
	return 0;
}

int vault_rec__get(MDB_txn *txn, vault *v, MDB_dbi dbi, const char *key, MDB_val *out)
{
	vault_rec_key k;
	int error = vault_rec__key(&k, v, dbi, key);

	return error < 0 ? error : vault_store__get(txn, dbi, k.b, k.len, out);
}

int vault_rec__put(MDB_txn *txn, vault *v, MDB_dbi dbi, const char *key, const void *val, size_t len)
{
	vault_rec_key k;
	int error = vault_rec__key(&k, v, dbi, key);

	return error < 0 ? error : vault_store__put(txn, dbi, k.b, k.len, val, len, 0);
}

int vault_rec__del(MDB_txn *txn, vault *v, MDB_dbi dbi, const char *key)
{
	vault_rec_key k;
	int error = vault_rec__key(&k, v, dbi, key);

	return error < 0 ? error : vault_store__del(txn, dbi, k.b, k.len);
}

/*
 * Records whose values hold names (a case's members, a node's case) are
 * sealed whole under a subkey of the index key, bound to the table and
 * the key they are stored at: a record moved to another locator fails.
 * Stored as format ‖ nonce ‖ ciphertext ‖ tag.
 */
static size_t rec_ad(unsigned char ad[128], const vault *v, const char *table, const void *at, size_t atlen)
{
	size_t n = (size_t)snprintf((char *)ad, 128, "cv-rec:%s:%s:", v->id, table);

	memcpy(ad + n, at, atlen);
	return n + atlen;
}

static int rec_key(unsigned char **k, const vault *v)
{
	*k = NULL;
	if (!v->hk.index)
		return vault_error_set(VAULT_EAUTH, "vault records are encrypted and this session holds no key of them");
	return vault_vcrypto__subkey(k, v->hk.index, 2, "cv-meta_");
}

int vault_rec__seal(unsigned char **out, size_t *outlen, const vault *v, const char *table,
	const void *at, size_t atlen, const unsigned char *plain, size_t len)
{
	unsigned char *k, ad[128];
	size_t adlen = rec_ad(ad, v, table, at, atlen);
	int error;

	*out = NULL;
	if ((error = rec_key(&k, v)) < 0)
		return error;
	if ((*out = malloc(1 + len + VCRYPTO_OVERHEAD)) == NULL) {
		vault_vcrypto__key_free(k);
		return vault_error_set_oom();
	}
	(*out)[0] = REC_FORMAT;
	vault_vcrypto__seal(*out + 1, plain, len, ad, adlen, k);
	*outlen = 1 + len + VCRYPTO_OVERHEAD;
	vault_vcrypto__key_free(k);
	return 0;
}

/* The plain bytes of sealed record `val` into `plain` (malloc'd, wiped by
 * rec_free); VAULT_ECORRUPT (unset: the caller names the record) if it
 * does not open at `at`. */
int vault_rec__open(unsigned char **plain, size_t *plen, const vault *v, const char *table,
	const void *at, size_t atlen, const MDB_val *val)
{
	unsigned char *k, ad[128];
	const unsigned char *c = val->mv_data;
	size_t adlen = rec_ad(ad, v, table, at, atlen), clen = val->mv_size;
	int error;

	*plain = NULL;
	if ((error = rec_key(&k, v)) < 0)
		return error;
	if (clen < 1 + VCRYPTO_OVERHEAD || c[0] != REC_FORMAT) {
		vault_vcrypto__key_free(k);
		return VAULT_ECORRUPT;
	}
	if ((*plain = malloc(clen - VCRYPTO_OVERHEAD)) == NULL) {
		vault_vcrypto__key_free(k);
		return vault_error_set_oom();
	}
	*plen = clen - 1 - VCRYPTO_OVERHEAD;
	error = vault_vcrypto__open(*plain, c + 1, clen - 1, ad, adlen, k);
	vault_vcrypto__key_free(k);
	if (error < 0) {
		free(*plain);
		*plain = NULL;
		return VAULT_ECORRUPT;
	}
	return 0;
}

void vault_rec__free(unsigned char *plain, size_t len)
{
	if (plain) {
		sodium_memzero(plain, len);
		free(plain);
	}
}

/* Plain record bytes sealed and stored at `at` of `dbi` (`table`). */
static int put_sealed(MDB_txn *txn, vault *v, MDB_dbi dbi, const char *table, const void *at,
	size_t atlen, const unsigned char *plain, size_t len)
{
	unsigned char *sealed;
	size_t slen;
	int error;

	if ((error = vault_rec__seal(&sealed, &slen, v, table, at, atlen, plain, len)) < 0)
		return error;
	error = vault_store__put(txn, dbi, at, atlen, sealed, slen, 0);
	free(sealed);
	return error;
}

/* ---- meta --------------------------------------------------------------- */

int vault_meta__get(MDB_val *out, MDB_txn *txn, vault *v, const char *key)
{
	int error = vault_rec__get(txn, v, v->st->meta, key, out);

	if (error == VAULT_ENOTFOUND)
		return error;
	if (error < 0)
		return error;
	if (out->mv_size < 1 || ((unsigned char *)out->mv_data)[0] != REC_FORMAT)
		return vault_error_set(VAULT_ECORRUPT, "vault setting '%s' is damaged", key);
	out->mv_data = (unsigned char *)out->mv_data + 1;
	out->mv_size--;
	return 0;
}

/* A meta record of any length. */
static int meta_put(MDB_txn *txn, vault *v, const char *key, const void *val, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	int error;

	if (!buf)
		return vault_error_set_oom();
	buf[0] = REC_FORMAT;
	memcpy(buf + 1, val, len);
	error = vault_rec__put(txn, v, v->st->meta, key, buf, len + 1);
	free(buf);
	return error;
}

int vault_meta__put(MDB_txn *txn, vault *v, const char *key, const void *val, size_t len)
{
	if (len + 1 > VAULT_META_MAX)
		return vault_error_set(VAULT_ERROR, "vault setting '%s' is too long", key);
	return meta_put(txn, v, key, val, len);
}

int vault_meta__text(vault_buf *out, MDB_txn *txn, vault *v, const char *key)
{
	MDB_val val;
	int error = vault_meta__get(&val, txn, v, key);

	if (error == 0)
		vault_buf_put(out, val.mv_data, val.mv_size);
	else if (error != VAULT_ENOTFOUND)
		return error;
	vault_buf_put(out, "", 0);
	return out->oom ? vault_error_set_oom() : 0;
}

/* The key of sealed meta records: a subkey of the index key. */
static int meta_key(unsigned char **out, const vault *v, const char *key)
{
	*out = NULL;
	if (!v->hk.index)
		return vault_error_set(VAULT_EAUTH,
			"vault record '%s' is encrypted and this session holds no key of it", key);
	return vault_vcrypto__subkey(out, v->hk.index, 1, "cv-meta_");
}

static size_t meta_ad(char ad[96], const vault *v, const char *key)
{
	return (size_t)snprintf(ad, 96, "cv-meta:%s:%s", v->id, key);
}

int vault_meta__sealed_put(MDB_txn *txn, vault *v, const char *key, const void *val, size_t len)
{
	unsigned char *k, *sealed;
	char ad[96];
	size_t adlen = meta_ad(ad, v, key);
	int error;

	if ((error = meta_key(&k, v, key)) < 0)
		return error;
	if ((sealed = malloc(len + VCRYPTO_OVERHEAD)) == NULL) {
		vault_vcrypto__key_free(k);
		return vault_error_set_oom();
	}
	vault_vcrypto__seal(sealed, val, len, (unsigned char *)ad, adlen, k);
	vault_vcrypto__key_free(k);
	error = meta_put(txn, v, key, sealed, len + VCRYPTO_OVERHEAD);
	free(sealed);
	return error;
}

int vault_meta__sealed_text(vault_buf *out, MDB_txn *txn, vault *v, const char *key)
{
	MDB_val val;
	unsigned char *k = NULL, *plain = NULL;
	char ad[96];
	size_t adlen = meta_ad(ad, v, key);
	int error = vault_meta__get(&val, txn, v, key);

	if (error == VAULT_ENOTFOUND)
		return vault_meta__text(out, txn, v, key);      /* "" */
	if (error < 0 || (error = meta_key(&k, v, key)) < 0)
		return error;
	if (val.mv_size < VCRYPTO_OVERHEAD || (plain = malloc(val.mv_size - VCRYPTO_OVERHEAD + 1)) == NULL ||
	    vault_vcrypto__open(plain, val.mv_data, val.mv_size, (unsigned char *)ad, adlen, k) < 0)
		error = plain || val.mv_size < VCRYPTO_OVERHEAD ?
			vault_error_set(VAULT_ECORRUPT, "vault record '%s' is damaged", key) : vault_error_set_oom();
	else
		vault_buf_put(out, plain, val.mv_size - VCRYPTO_OVERHEAD);
	vault_vcrypto__key_free(k);
	if (plain) {
		sodium_memzero(plain, val.mv_size - VCRYPTO_OVERHEAD);
		free(plain);
	}
	if (error < 0)
		return error;
	vault_buf_put(out, "", 0);
	return out->oom ? vault_error_set_oom() : 0;
}

int vault_meta__purposes(vault_buf *out, int *required, MDB_txn *txn, vault *v)
{
	MDB_val val;
	int error;

	*required = 0;
	error = vault_meta__get(&val, txn, v, "purpose-required");
	if (error == 0 && val.mv_size != 1)
		return vault_error_set(VAULT_ECORRUPT, "vault setting 'purpose-required' is damaged");
	if (error == 0)
		*required = ((unsigned char *)val.mv_data)[0] != 0;
	else if (error != VAULT_ENOTFOUND)
		return error;
	return vault_meta__sealed_text(out, txn, v, "purposes");
}

/* ---- walks -------------------------------------------------------------- */

/*
 * Walks of users and cases go by name, as their records' keys are
 * locators: the names are in meta `users` and `cases`, one a line, in
 * order, sealed under the index key. verify compares what the walks
 * reach with the head tree, which lists every user and case.
 */
#define NAMES_USERS "users"
#define NAMES_CASES "cases"

/* `name` into list `list`, in order, unless it is there. */
static int names_add(MDB_txn *txn, vault *v, const char *list, const char *name)
{
	vault_buf b = VAULT_BUF_INIT, nb = VAULT_BUF_INIT;
	size_t nlen = strlen(name);
	int error, placed = 0;

	if ((error = vault_meta__sealed_text(&b, txn, v, list)) < 0)
		goto done;
	for (const char *p = b.ptr, *end; *p; p = end + 1) {
		size_t len;
		int cmp;

		if ((end = strchr(p, '\n')) == NULL) {
			error = vault_error_set(VAULT_ECORRUPT, "vault record '%s' is damaged", list);
			goto done;
		}
		len = (size_t)(end - p);
		cmp = memcmp(p, name, len < nlen ? len : nlen);
		if (cmp == 0)
			cmp = len < nlen ? -1 : len > nlen;
		if (cmp == 0)
			goto done;                 /* already listed */
		if (!placed && cmp > 0) {
			vault_buf_printf(&nb, "%s\n", name);
			placed = 1;
		}
		vault_buf_put(&nb, p, len + 1);
	}
	if (!placed)
		vault_buf_printf(&nb, "%s\n", name);
	error = nb.oom ? vault_error_set_oom() : vault_meta__sealed_put(txn, v, list, nb.ptr, nb.size);
done:
	vault_buf_dispose(&b);
	vault_buf_dispose(&nb);
	return error;
}

/* A name of list `list` that is not one: damage. */
static int bad_name(const char *list)
{
	if (!strcmp(list, NAMES_CASES))
		return vault_error_set(VAULT_ECORRUPT, "vault state holds a case record with a bad code");
	return vault_error_set(VAULT_ECORRUPT, "vault state holds a user record with a bad name");
}

/*
 * The names of list `list`: `fn` gets each; the walk stops at the first
 * non-zero return of `fn`, which it returns. A name `check` refuses is
 * damage (VAULT_ECORRUPT, bad_name()).
 */
static int each_name(MDB_txn *txn, vault *v, const char *list, int (*check)(const char *),
	int (*fn)(const char *key, void *ctx), void *ctx)
{
	vault_buf b = VAULT_BUF_INIT;
	char name[VAULT_NAME_MAX + 1];
	int error;

	if ((error = vault_meta__sealed_text(&b, txn, v, list)) < 0)
		return error;
	for (const char *p = b.ptr, *end; error == 0 && *p; p = end + 1) {
		if ((end = strchr(p, '\n')) == NULL || (size_t)(end - p) >= sizeof name) {
			error = bad_name(list);
			break;
		}
		memcpy(name, p, (size_t)(end - p));
		name[end - p] = '\0';
		if (check(name) < 0) {
			error = bad_name(list);
			break;
		}
		error = fn(name, ctx);
	}
	vault_buf_dispose(&b);
	return error;
}

static int user_name_ok(const char *name)
{
	return vault_user__check_name(name, NAME_USER);
}

/* One record of a set's hash: u32 key length, key, u32 value length, value. */
static void hash_record(crypto_generichash_state *st, const void *key, size_t klen, const MDB_val *d)
{
	unsigned char len[4];

	be32_put(len, (uint32_t)klen);
	crypto_generichash_update(st, len, 4);
	crypto_generichash_update(st, key, klen);
	be32_put(len, (uint32_t)d->mv_size);
	crypto_generichash_update(st, len, 4);
	crypto_generichash_update(st, d->mv_data, d->mv_size);
}

int vault_records__set_hash(unsigned char out[32], MDB_txn *txn, MDB_dbi dbi, const char *domain,
	const void *prefix, size_t plen)
{
	crypto_generichash_state st;
	MDB_cursor *cur;
	MDB_val k = { plen, (void *)prefix }, d;
	int rc;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return vault_store__error(rc, "read records");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	     rc == 0 && k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		hash_record(&st, k.mv_data, k.mv_size, &d);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return vault_store__error(rc, "read records");
	crypto_generichash_final(&st, out, 32);
	return 0;
}

/* "KEY HEX" of a 32-byte hash. */
static void blob_hash(vault_buf *out, const char *key, const unsigned char h[32])
{
	char hex[65];

	sodium_bin2hex(hex, sizeof hex, h, 32);
	vault_buf_printf(out, "%s %s\n", key, hex);
}

typedef struct {
	MDB_txn *txn;
	vault *v;
	int (*user_cb)(const char *, const user_rec *, void *);
	int (*case_cb)(case_rec *, void *);
	void *payload;
} each_ctx;

/* One user or case record of a walk, to its callback. */
static int record_one(const char *key, void *ctx)
{
	each_ctx *e = ctx;
	user_rec u;
	case_rec c;
	int error;

	if (e->user_cb) {
		if ((error = vault_user__get(&u, e->txn, e->v, key)) == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ECORRUPT,
				"vault state lists user '%s' and holds no user record of them", key);
		if (error < 0)
			return error;
		return e->user_cb(key, &u, e->payload);
	}
	if ((error = vault_case__get(&c, e->txn, e->v, key)) == VAULT_ENOTFOUND)
		return vault_error_set(VAULT_ECORRUPT,
			"vault state lists case '%s' and holds no case record of it", key);
	if (error < 0)
		return error;
	error = e->case_cb(&c, e->payload);
	vault_case__dispose(&c);
	return error;
}

/* ---- users -------------------------------------------------------------- */

const char *vault_role_name(vault_role_t role)
{
	switch (role) {
	case VAULT_ROLE_ADMIN:      return "admin";
	case VAULT_ROLE_CASEWORKER: return "caseworker";
	case VAULT_ROLE_AUDITOR:    return "auditor";
	default:                    return "unknown";
	}
}

int vault_role_parse(vault_role_t *out, const char *s)
{
	if (!strcmp(s, "admin"))
		*out = VAULT_ROLE_ADMIN;
	else if (!strcmp(s, "caseworker"))
		*out = VAULT_ROLE_CASEWORKER;
	else if (!strcmp(s, "auditor"))
		*out = VAULT_ROLE_AUDITOR;
	else
		return vault_error_set(VAULT_EUSAGE, "unknown role '%s'", s);
	return 0;
}

/* A name of the wrong length: a sentence for each `what` (vault_user__check_name). */
static int name_length_error(const char *name, int what)
{
	switch (what) {
	case NAME_MEMBER:
		return vault_error_set(VAULT_EUSAGE, "member name '%s' must be 1 to %d characters", name,
			VAULT_NAME_MAX);
	case NAME_CUSTODIAN:
		return vault_error_set(VAULT_EUSAGE, "custodian name '%s' must be 1 to %d characters", name,
			VAULT_NAME_MAX);
	case NAME_ADMIN:
		return vault_error_set(VAULT_EUSAGE, "admin name '%s' must be 1 to %d characters", name,
			VAULT_NAME_MAX);
	default:
		return vault_error_set(VAULT_EUSAGE, "user name '%s' must be 1 to %d characters", name,
			VAULT_NAME_MAX);
	}
}

/* A name with a letter it may not hold. */
static int name_letter_error(const char *name, int what)
{
	switch (what) {
	case NAME_MEMBER:
		return vault_error_set(VAULT_EUSAGE,
			"member name '%s' may hold only a-z, 0-9 and . _ - (not first)", name);
	case NAME_CUSTODIAN:
		return vault_error_set(VAULT_EUSAGE,
			"custodian name '%s' may hold only a-z, 0-9 and . _ - (not first)", name);
	case NAME_ADMIN:
		return vault_error_set(VAULT_EUSAGE,
			"admin name '%s' may hold only a-z, 0-9 and . _ - (not first)", name);
	default:
		return vault_error_set(VAULT_EUSAGE,
			"user name '%s' may hold only a-z, 0-9 and . _ - (not first)", name);
	}
}

int vault_user__check_name(const char *name, int what)
{
	size_t n = strlen(name);

	if (n == 0 || n > VAULT_NAME_MAX)
		return name_length_error(name, what);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			(i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return name_letter_error(name, what);
	}
	return 0;
}

/*
 * A pending user's code expiry says when they were added: it is stored
 * XORed with a keystream of the index key (XChaCha20 under subkey 3,
 * context `cv-meta_`; the nonce hashes the vault id, the name and the
 * enrolment key, which is new at every `user add`). It is not authenticated
 * here: the user's file in the signed head holds it, and every decision
 * on it (enrol) checks the record against the head. A record with no
 * enrolment key stores its expiry (0) as it is.
 */
static int expiry_crypt(unsigned char b[8], const vault *v, const char *name, const unsigned char enrol[32])
{
	static const unsigned char none[32];
	static const char domain[] = "cv-enrol-expiry";
	unsigned char nonce[crypto_stream_xchacha20_NONCEBYTES], *k;
	crypto_generichash_state st;
	int error;

	if (sodium_memcmp(enrol, none, 32) == 0)
		return 0;
	if (!v->hk.index)
		return VAULT_EAUTH;
	if ((error = vault_vcrypto__subkey(&k, v->hk.index, 3, "cv-meta_")) < 0)
		return error;
	crypto_generichash_init(&st, NULL, 0, sizeof nonce);
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain);
	crypto_generichash_update(&st, (const unsigned char *)v->id, strlen(v->id) + 1);
	crypto_generichash_update(&st, (const unsigned char *)name, strlen(name) + 1);
	crypto_generichash_update(&st, enrol, 32);
	crypto_generichash_final(&st, nonce, sizeof nonce);
	crypto_stream_xchacha20_xor(b, b, 8, nonce, k);
	vault_vcrypto__key_free(k);
	return 0;
}

void vault_user__sum(unsigned char out[USER_SUM_SIZE], const unsigned char *loc, const unsigned char *rec,
	size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, (const unsigned char *)"cv-user-sum", 11, USER_SUM_SIZE);
	crypto_generichash_update(&st, loc, VAULT_LOCATOR_SIZE);
	crypto_generichash_update(&st, rec, len - USER_SUM_SIZE);
	crypto_generichash_final(&st, out, USER_SUM_SIZE);
}

/*
 * A user record's checksum is checked before anything in it is used: a
 * passphrase that fails to open an intact record is wrong (VAULT_EAUTH);
 * one that could not, as the record is damaged, is damage (VAULT_ECORRUPT).
 * Anyone can recompute the checksum: a forged record is the trust gate's
 * to refuse.
 */
static int user_intact(const MDB_val *key, const MDB_val *val, const char *name)
{
	const unsigned char *p = val->mv_data;
	unsigned char sum[USER_SUM_SIZE];

	if (key->mv_size != VAULT_LOCATOR_SIZE || val->mv_size != USER_REC_SIZE || p[0] != REC_FORMAT)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: the record of user '%s' has a wrong size or format", name);
	vault_user__sum(sum, key->mv_data, p, USER_REC_SIZE);
	if (sodium_memcmp(sum, p + USER_REC_SIZE - USER_SUM_SIZE, USER_SUM_SIZE) != 0)
		return vault_error_set(VAULT_ECORRUPT,
			"the vault file is damaged: the record of user '%s' fails its checksum", name);
	if (p[1] < 1 || p[1] > 3 || (p[2] & ~USER_WRAP_OUTSIDE) > USER_PENDING)
		return vault_error_set(VAULT_ECORRUPT, "record of user '%s' is damaged", name);
	return 0;
}

/*
 * User `name`'s record missed: each record of the table must be whole, its
 * place included (the checksum covers the locator), so that a record whose
 * key was damaged is not taken for a user that does not exist. Only a miss
 * walks the table (an unlock or a `user add`).
 */
static int users_whole(MDB_txn *txn, vault *v, const char *name)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc, error = VAULT_ENOTFOUND;

	if ((rc = mdb_cursor_open(txn, v->st->users, &cur)) != 0)
		return vault_store__error(rc, "read user records");
	while (error == VAULT_ENOTFOUND && (rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0)
		if (user_intact(&k, &d, "?") < 0)
			error = vault_error_set(VAULT_ECORRUPT,
				"the vault file is damaged: no record of user '%s', and a user record fails its "
				"checksum (it may be theirs)", name);
	mdb_cursor_close(cur);
	if (error == VAULT_ENOTFOUND && rc != MDB_NOTFOUND)
		error = vault_store__error(rc, "read user records");
	return error;
}

int vault_user__get(user_rec *out, MDB_txn *txn, vault *v, const char *name)
{
	unsigned char expiry[8];
	vault_rec_key key;
	MDB_val k, val;
	const unsigned char *p;
	int error;

	if ((error = vault_rec__key(&key, v, v->st->users, name)) < 0)
		return error;
	k.mv_size = key.len;
	k.mv_data = key.b;
	error = vault_store__get(txn, v->st->users, key.b, key.len, &val);
	if (error == VAULT_ENOTFOUND)
		return users_whole(txn, v, name);
	if (error < 0 || (error = user_intact(&k, &val, name)) < 0)
		return error;
	p = val.mv_data;
	out->role = p[1];
	out->status = p[2] & ~USER_WRAP_OUTSIDE;
	out->wrap_outside = (p[2] & USER_WRAP_OUTSIDE) != 0;
	p += 3;
	memcpy(out->pk, p, 32); p += 32;
	out->kdf.opslimit = be64_get(p); p += 8;
	out->kdf.memlimit = be64_get(p); p += 8;
	memcpy(out->kdf.salt, p, VCRYPTO_SALTBYTES); p += VCRYPTO_SALTBYTES;
	memcpy(out->wrapped, p, sizeof out->wrapped); p += sizeof out->wrapped;
	memcpy(out->enrol, p, 32); p += 32;
	memcpy(expiry, p, 8);
	/* Unknown (0) to a session that holds no index key yet. */
	if ((error = expiry_crypt(expiry, v, name, out->enrol)) == VAULT_EAUTH)
		memset(expiry, 0, 8);
	else if (error < 0)
		return error;
	out->enrol_expires = (int64_t)be64_get(expiry);
	return 0;
}

int vault_user__put(MDB_txn *txn, vault *v, const char *name, const user_rec *u)
{
	unsigned char buf[USER_REC_SIZE], *p = buf;
	vault_rec_key key;
	int error;

	if ((error = vault_rec__key(&key, v, v->st->users, name)) < 0)
		return error;
	*p++ = REC_FORMAT;
	*p++ = (unsigned char)u->role;
	*p++ = (unsigned char)(u->status | (u->wrap_outside ? USER_WRAP_OUTSIDE : 0));
	memcpy(p, u->pk, 32); p += 32;
	be64_put(p, u->kdf.opslimit); p += 8;
	be64_put(p, u->kdf.memlimit); p += 8;
	memcpy(p, u->kdf.salt, VCRYPTO_SALTBYTES); p += VCRYPTO_SALTBYTES;
	memcpy(p, u->wrapped, sizeof u->wrapped); p += sizeof u->wrapped;
	memcpy(p, u->enrol, 32); p += 32;
	be64_put(p, (uint64_t)u->enrol_expires);
	if ((error = expiry_crypt(p, v, name, u->enrol)) == VAULT_EAUTH)
		error = vault_error_set(VAULT_EAUTH,
			"the record of user '%s' is encrypted in part and this session holds no key of it", name);
	if (error < 0)
		return error;
	p += 8;
	vault_user__sum(p, key.b, buf, sizeof buf);
	if ((error = vault_store__put(txn, v->st->users, key.b, key.len, buf, sizeof buf, 0)) < 0)
		return error;
	return names_add(txn, v, NAMES_USERS, name);
}

int vault_user__each(MDB_txn *txn, vault *v,
	int (*cb)(const char *name, const user_rec *u, void *payload), void *payload)
{
	each_ctx e = { txn, v, cb, NULL, payload };

	return each_name(txn, v, NAMES_USERS, user_name_ok, record_one, &e);
}

void vault_user__path(char out[64], const char *name)
{
	snprintf(out, 64, "policy/users/%s", name);
}

int vault_blob__user(vault_buf *out, const char *name, const user_rec *u)
{
	static const char *const status[] = { "active", "disabled", "pending" };
	static const unsigned char none[32];
	char publine[VAULT_SSHSIG_PUBLINE_MAX], hex[65];

	vault_buf_printf(out, "name %s\nrole %s\nstatus %s\n", name, vault_role_name(u->role),
		status[u->status]);
	/* A user who never enrolled has no key. */
	if (sodium_memcmp(u->pk, none, 32) != 0) {
		if (vault_sshsig__publine(publine, sizeof publine, u->pk) < 0)
			return VAULT_ERROR;
		vault_buf_printf(out, "key %s\n", publine);
	}
	/* The passphrase's parameters and the wrapped secret key: a damaged
	 * one fails the unlock, so verify must see it. Not the first admin's
	 * first one, bound to the genesis that this file is part of. A user
	 * who never enrolled (pending, or disabled before enrolling) has none. */
	if (sodium_memcmp(u->pk, none, 32) != 0 && !u->wrap_outside) {
		crypto_generichash_state st;
		unsigned char h[32], be[8];

		crypto_generichash_init(&st, NULL, 0, 32);
		crypto_generichash_update(&st, (const unsigned char *)"cv-wrapped", 11);
		be64_put(be, u->kdf.opslimit);
		crypto_generichash_update(&st, be, 8);
		be64_put(be, u->kdf.memlimit);
		crypto_generichash_update(&st, be, 8);
		crypto_generichash_update(&st, u->kdf.salt, sizeof u->kdf.salt);
		crypto_generichash_update(&st, u->wrapped, sizeof u->wrapped);
		crypto_generichash_final(&st, h, 32);
		blob_hash(out, "wrapped", h);
	}
	/* The enrolment key is here so that the signed history vouches for it:
	 * a key written into the file alone enrols no one. */
	if (u->status == USER_PENDING) {
		sodium_bin2hex(hex, sizeof hex, u->enrol, 32);
		vault_buf_printf(out, "enrol %s %lld\n", hex, (long long)u->enrol_expires);
	}
	return out->oom ? vault_error_set_oom() : 0;
}

/* ---- cases -------------------------------------------------------------- */

int vault_case__check_code(const char *code)
{
	size_t n = strlen(code);

	if (n != VAULT_CODE_SIZE - 1 || code[0] != 'C' || code[1] != '-')
		return vault_error_set(VAULT_EUSAGE, "'%s' is not a case code (C- and 8 characters)", code);
	for (size_t i = 2; i < n; i++)
		if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", code[i]))
			return vault_error_set(VAULT_EUSAGE, "'%s' is not a case code (C- and 8 characters)", code);
	return 0;
}

void vault_case__dispose(case_rec *c)
{
	free(c->chain);
	free(c->kcv);
	free(c->req);
	c->chain = NULL;
	c->kcv = NULL;
	c->req = NULL;
	c->nchain = 0;
	c->nreq = 0;
}

/* A name stored as its length (1) and its bytes, into `out` (NUL-ended);
 * NULL if it does not fit or holds a NUL. */
static const unsigned char *parse_name(char *out, size_t n, const unsigned char *p, const unsigned char *end)
{
	size_t len;

	if (p >= end || (len = *p++) == 0 || len >= n || (size_t)(end - p) < len || memchr(p, 0, len))
		return NULL;
	memcpy(out, p, len);
	out[len] = '\0';
	return p + len;
}

static void put_name(vault_buf *b, const char *name)
{
	unsigned char len = (unsigned char)strlen(name);

	vault_buf_put(b, &len, 1);
	vault_buf_put(b, name, len);
}

/* A case record's fields from its plain bytes `p` (`len`). */
static int case_parse(case_rec *out, const unsigned char *p, size_t len, const char *code)
{
	const unsigned char *end = p + len;

	snprintf(out->code, sizeof out->code, "%s", code);
#define NEED(n) do { if ((size_t)(end - p) < (size_t)(n)) goto bad; } while (0)
	NEED(1 + 4 + 1 + 8 + 4 + 2);
	if (*p++ != REC_FORMAT)
		goto bad;
	out->epoch = be32_get(p); p += 4;
	out->retired = *p++;
	out->root = be64_get(p); p += 8;
	out->label_epoch = be32_get(p); p += 4;
	out->label_len = ((size_t)p[0] << 8) | p[1]; p += 2;
	if (out->label_len > sizeof out->label || out->epoch == 0)
		goto bad;
	NEED(out->label_len + 1);
	memcpy(out->label, p, out->label_len); p += out->label_len;
	out->nmembers = *p++;
	if (out->nmembers > CASE_MAX_MEMBERS)
		goto bad;
	for (size_t i = 0; i < out->nmembers; i++) {
		size_t n;
		NEED(1);
		n = *p++;
		if (n == 0 || n > VAULT_NAME_MAX)
			goto bad;
		NEED(n + 1);
		memcpy(out->members[i].user, p, n);
		out->members[i].user[n] = '\0';
		/* A member is a user: a name the user records could hold. */
		if (strlen(out->members[i].user) != n || vault_user__check_name(out->members[i].user, NAME_MEMBER) < 0)
			goto bad;
		p += n;
		out->members[i].read_only = *p++;
	}
	NEED(2);
	out->nchain = ((size_t)p[0] << 8) | p[1]; p += 2;
	if (out->nchain != out->epoch - 1)
		goto bad;
	NEED(out->nchain * CHAIN_SIZE);
	if (out->nchain) {
		if ((out->chain = malloc(out->nchain * CHAIN_SIZE)) == NULL)
			return vault_error_set_oom();
		memcpy(out->chain, p, out->nchain * CHAIN_SIZE);
		p += out->nchain * CHAIN_SIZE;
	}
	NEED((size_t)out->epoch * KCV_SIZE);
	if ((out->kcv = malloc((size_t)out->epoch * KCV_SIZE)) == NULL) {
		vault_case__dispose(out);
		return vault_error_set_oom();
	}
	memcpy(out->kcv, p, (size_t)out->epoch * KCV_SIZE);
	p += (size_t)out->epoch * KCV_SIZE;
	NEED(4 + RECOVERY_SET_SIZE + 1 + 1);
	out->rec_epoch = be32_get(p); p += 4;
	memcpy(out->rec_set, p, RECOVERY_SET_SIZE); p += RECOVERY_SET_SIZE;
	out->rec_threshold = *p++;
	out->nreq = *p++;
	if (out->rec_epoch > out->epoch || out->rec_threshold > RECOVERY_MAX || out->nreq > CASE_MAX_REQUESTS)
		goto bad;
	if (out->nreq && (out->req = calloc(out->nreq, sizeof *out->req)) == NULL) {
		vault_case__dispose(out);
		return vault_error_set_oom();
	}
	for (size_t i = 0; i < out->nreq; i++) {
		recovery_req *r = &out->req[i];
		if ((p = parse_name(r->id, sizeof r->id, p, end)) == NULL ||
		    (p = parse_name(r->user, sizeof r->user, p, end)) == NULL)
			goto bad;
		NEED(4 + 1 + 1);
		r->epoch = be32_get(p); p += 4;
		r->granted = *p++;
		r->napproved = *p++;
		if (r->napproved > RECOVERY_MAX || r->granted > REQ_CANCELLED || !r->epoch || r->epoch > out->epoch ||
		    strncmp(r->id, "R-", 2) || vault_user__check_name(r->user, NAME_USER) < 0)
			goto bad;
		for (size_t k = 0; k < r->napproved; k++)
			if ((p = parse_name(r->approved[k], sizeof r->approved[k], p, end)) == NULL ||
			    vault_user__check_name(r->approved[k], NAME_CUSTODIAN) < 0)
				goto bad;
	}
	if (p != end)
		goto bad;
#undef NEED
	return 0;
bad:
	vault_case__dispose(out);
	return vault_error_set(VAULT_ECORRUPT, "record of case '%s' is damaged", code);
}

int vault_case__get(case_rec *out, MDB_txn *txn, vault *v, const char *code)
{
	vault_rec_key at;
	unsigned char *plain;
	size_t len;
	MDB_val val;
	int error;

	memset(out, 0, sizeof *out);
	if ((error = vault_case__check_code(code)) < 0 ||
	    (error = vault_rec__key(&at, v, v->st->cases, code)) < 0)
		return error;
	if ((error = vault_store__get(txn, v->st->cases, at.b, at.len, &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "case '%s' does not exist", code);
		return error;
	}
	/* Sealed at its locator: a record moved from another case fails. */
	if ((error = vault_rec__open(&plain, &len, v, "cases", at.b, at.len, &val)) == VAULT_ECORRUPT)
		return vault_error_set(VAULT_ECORRUPT,
			"record 'policy/cases/%s' is damaged or was moved there from another case", code);
	if (error < 0)
		return error;
	error = case_parse(out, plain, len, code);
	vault_rec__free(plain, len);
	return error;
}

int vault_case__put(MDB_txn *txn, vault *v, const case_rec *c)
{
	vault_buf b = VAULT_BUF_INIT;
	vault_rec_key at;
	unsigned char hdr[1 + 4 + 1 + 8 + 4 + 2], *p = hdr, n;
	int error;

	if (!c->kcv)
		return vault_error_set(VAULT_ERROR, "case '%s' has no key-check values", c->code);
	if ((error = vault_rec__key(&at, v, v->st->cases, c->code)) < 0)
		return error;
	*p++ = REC_FORMAT;
	be32_put(p, c->epoch); p += 4;
	*p++ = (unsigned char)c->retired;
	be64_put(p, c->root); p += 8;
	be32_put(p, c->label_epoch); p += 4;
	*p++ = (unsigned char)(c->label_len >> 8);
	*p++ = (unsigned char)c->label_len;
	vault_buf_put(&b, hdr, sizeof hdr);
	vault_buf_put(&b, c->label, c->label_len);
	n = (unsigned char)c->nmembers;
	vault_buf_put(&b, &n, 1);
	for (size_t i = 0; i < c->nmembers; i++) {
		unsigned char len = (unsigned char)strlen(c->members[i].user);
		unsigned char ro = (unsigned char)c->members[i].read_only;
		vault_buf_put(&b, &len, 1);
		vault_buf_put(&b, c->members[i].user, len);
		vault_buf_put(&b, &ro, 1);
	}
	hdr[0] = (unsigned char)(c->nchain >> 8);
	hdr[1] = (unsigned char)c->nchain;
	vault_buf_put(&b, hdr, 2);
	vault_buf_put(&b, c->chain, c->nchain * CHAIN_SIZE);
	vault_buf_put(&b, c->kcv, (size_t)c->epoch * KCV_SIZE);
	be32_put(hdr, c->rec_epoch);
	vault_buf_put(&b, hdr, 4);
	vault_buf_put(&b, c->rec_set, RECOVERY_SET_SIZE);
	hdr[0] = (unsigned char)c->rec_threshold;
	hdr[1] = (unsigned char)c->nreq;
	vault_buf_put(&b, hdr, 2);
	for (size_t i = 0; i < c->nreq; i++) {
		const recovery_req *r = &c->req[i];
		put_name(&b, r->id);
		put_name(&b, r->user);
		be32_put(hdr, r->epoch);
		hdr[4] = (unsigned char)r->granted;
		hdr[5] = (unsigned char)r->napproved;
		vault_buf_put(&b, hdr, 6);
		for (size_t k = 0; k < r->napproved; k++)
			put_name(&b, r->approved[k]);
	}
	if (b.oom)
		error = vault_error_set_oom();
	else
		error = put_sealed(txn, v, v->st->cases, "cases", at.b, at.len, (unsigned char *)b.ptr, b.size);
	vault_buf_dispose(&b);
	return error < 0 ? error : names_add(txn, v, NAMES_CASES, c->code);
}

recovery_req *vault_case__request(case_rec *c, const char *id)
{
	for (size_t i = 0; i < c->nreq; i++)
		if (!strcmp(c->req[i].id, id))
			return &c->req[i];
	return NULL;
}

member_rec *vault_case__member(case_rec *c, const char *user)
{
	for (size_t i = 0; i < c->nmembers; i++)
		if (!strcmp(c->members[i].user, user))
			return &c->members[i];
	return NULL;
}

int vault_case__each(MDB_txn *txn, vault *v, int (*cb)(case_rec *c, void *payload), void *payload)
{
	each_ctx e = { txn, v, NULL, cb, payload };

	return each_name(txn, v, NAMES_CASES, vault_case__check_code, record_one, &e);
}

void vault_case__path(char out[64], const char *code)
{
	snprintf(out, 64, "policy/cases/%s", code);
}

/* The case keys of one case sealed to one user, into a set's hash. */
typedef struct {
	crypto_generichash_state st;
	MDB_txn *txn;
	vault *v;
	const case_rec *c;
	vault_buf *names;            /* shares: the holders' "share NAME" lines */
	const char *req;             /* handed shares: the request's id */
} sealed_set;

/* The `sealed` record `name`, if there is one, into the set's hash
 * (*found 1). */
static int sealed_hash_one(sealed_set *s, const char *name, int *found)
{
	vault_rec_key at;
	MDB_val d;
	int error;

	*found = 0;
	if ((error = vault_rec__key(&at, s->v, s->v->st->sealed, name)) < 0)
		return error;
	if ((error = vault_store__get(s->txn, s->v->st->sealed, at.b, at.len, &d)) == VAULT_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	hash_record(&s->st, at.b, at.len, &d);
	*found = 1;
	return 0;
}

static int sealed_set_user(const char *user, void *ctx)
{
	sealed_set *s = ctx;
	char skey[64];
	int error = 0, found;

	for (uint32_t e = 1; e <= s->c->epoch && error == 0; e++) {
		vault_rec__sealed_name(skey, sizeof skey, s->c->code, e, user);
		error = sealed_hash_one(s, skey, &found);
	}
	return error;
}

/* "sealed HASH": every case key sealed to a user, as stored: for each
 * user of the vault (in name order) and each epoch, the record at its
 * locator, if there is one. */
static int case_sealed(vault_buf *out, MDB_txn *txn, vault *v, const case_rec *c)
{
	sealed_set s = { .txn = txn, .v = v, .c = c };
	unsigned char h[32];
	int error;

	crypto_generichash_init(&s.st, NULL, 0, 32);
	crypto_generichash_update(&s.st, (const unsigned char *)"cv-sealed-set", sizeof "cv-sealed-set");
	if ((error = each_name(txn, v, NAMES_USERS, user_name_ok, sealed_set_user, &s)) < 0)
		return error;
	crypto_generichash_final(&s.st, h, 32);
	blob_hash(out, "sealed", h);
	return out->oom ? vault_error_set_oom() : 0;
}

/* The recovery share of one case sealed to one user, into a set's hash,
 * and its holder into the names. */
static int share_set_user(const char *user, void *ctx)
{
	sealed_set *s = ctx;
	char skey[96];
	int error, found;

	vault_rec__share_name(skey, sizeof skey, s->c->code, s->c->rec_epoch, user);
	if ((error = sealed_hash_one(s, skey, &found)) == 0 && found)
		vault_buf_printf(s->names, "share %s\n", user);
	return error;
}

/* The approved shares of request s->req sealed to its caseworker, as
 * stored, of one user, into a set's hash. */
static int handed_set_user(const char *user, void *ctx)
{
	sealed_set *s = ctx;
	char skey[96];
	int found;

	vault_rec__handed_name(skey, sizeof skey, s->req, user);
	return sealed_hash_one(s, skey, &found);
}

static void handed_init(crypto_generichash_state *st)
{
	crypto_generichash_init(st, NULL, 0, 32);
	crypto_generichash_update(st, (const unsigned char *)"cv-handed-set", sizeof "cv-handed-set");
}

void vault_blob__handed_none(char hex[65])
{
	crypto_generichash_state st;
	unsigned char h[32];

	handed_init(&st);
	crypto_generichash_final(&st, h, 32);
	sodium_bin2hex(hex, 65, h, 32);
}

/* "handed ID HASH": the shares approved for request `r` as stored (hashed
 * as `sealed` is, for each user of the vault, with the domain
 * `cv-handed-set`), so that a share planted or changed in the file, under
 * any name, is not the one the approvals signed. */
static int case_handed(vault_buf *out, MDB_txn *txn, vault *v, const case_rec *c, const recovery_req *r)
{
	sealed_set s = { .txn = txn, .v = v, .c = c, .req = r->id };
	unsigned char h[32];
	char line[RECOVERY_ID_SIZE + 16];
	int error;

	handed_init(&s.st);
	if ((error = each_name(txn, v, NAMES_USERS, user_name_ok, handed_set_user, &s)) < 0)
		return error;
	crypto_generichash_final(&s.st, h, 32);
	snprintf(line, sizeof line, "handed %s", r->id);
	blob_hash(out, line, h);
	return out->oom ? vault_error_set_oom() : 0;
}

/* Each recovery request, "request ID USER EPOCH open|granted", an
 * "approved ID CUSTODIAN" line per approval and "handed ID HASH" of the
 * shares approved; then, once split, "recovery
 * EPOCH SET THRESHOLD", a "share NAME" line per custodian holding a share
 * of that epoch's key, and "shares HASH" of those records as stored. */
static int case_shares(vault_buf *out, MDB_txn *txn, vault *v, const case_rec *c)
{
	vault_buf names = VAULT_BUF_INIT;
	sealed_set s = { .txn = txn, .v = v, .c = c, .names = &names };
	char hex[2 * RECOVERY_SET_SIZE + 1];
	unsigned char h[32];
	int error;

	for (size_t i = 0; i < c->nreq; i++) {
		const recovery_req *r = &c->req[i];
		vault_buf_printf(out, "request %s %s %u %s\n", r->id, r->user, r->epoch,
			r->granted == REQ_CANCELLED ? "cancelled" : r->granted ? "granted" : "open");
		for (size_t k = 0; k < r->napproved; k++)
			vault_buf_printf(out, "approved %s %s\n", r->id, r->approved[k]);
		if ((error = case_handed(out, txn, v, c, r)) < 0)
			return error;
	}
	if (!c->rec_epoch)
		return out->oom ? vault_error_set_oom() : 0;
	sodium_bin2hex(hex, sizeof hex, c->rec_set, RECOVERY_SET_SIZE);
	vault_buf_printf(out, "recovery %u %s %u\n", c->rec_epoch, hex, c->rec_threshold);
	crypto_generichash_init(&s.st, NULL, 0, 32);
	crypto_generichash_update(&s.st, (const unsigned char *)"cv-share-set", sizeof "cv-share-set");
	error = each_name(txn, v, NAMES_USERS, user_name_ok, share_set_user, &s);
	if (error == 0) {
		crypto_generichash_final(&s.st, h, 32);
		vault_buf_put(out, names.ptr, names.size);
		blob_hash(out, "shares", h);
	}
	vault_buf_dispose(&names);
	if (error == 0 && out->oom)
		error = vault_error_set_oom();
	return error;
}

int vault_blob__case(vault_buf *out, MDB_txn *txn, vault *v, const case_rec *c)
{
	int error;

	char b64[sodium_base64_ENCODED_LEN(sizeof c->label, sodium_base64_VARIANT_ORIGINAL)];
	char hex[2 * KCV_SIZE + 1];

	vault_buf_printf(out, "case %s\nepoch %u\nretired %s\nroot %016llx\n", c->code, c->epoch,
		c->retired ? "yes" : "no", (unsigned long long)c->root);
	if (c->label_epoch) {
		sodium_bin2base64(b64, sizeof b64, c->label, c->label_len, sodium_base64_VARIANT_ORIGINAL);
		vault_buf_printf(out, "label %u %s\n", c->label_epoch, b64);
	}
	for (size_t i = 0; i < c->nmembers; i++)
		vault_buf_printf(out, "member %s %s\n", c->members[i].user, c->members[i].read_only ? "ro" : "rw");
	for (uint32_t e = 1; c->kcv && e <= c->epoch; e++) {
		sodium_bin2hex(hex, sizeof hex, c->kcv[e - 1], KCV_SIZE);
		vault_buf_printf(out, "kcv %u %s\n", e, hex);
	}
	if ((error = case_shares(out, txn, v, c)) < 0)
		return error;
	return case_sealed(out, txn, v, c);
}

/* ---- nodes and versions ------------------------------------------------- */

void vault_node__path(char out[64], uint64_t id)
{
	char hex[17];

	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)id);
	snprintf(out, 64, "nodes/%.2s/%.2s/%s", hex, hex + 2, hex);
}

void vault_node__init(node_rec *n, int type, const char *code, uint64_t parent)
{
	memset(n, 0, sizeof *n);
	randombytes_buf(&n->id, sizeof n->id);
	n->type = type;
	n->state = NODE_LIVE;
	n->mode = type == NODE_DIR ? NODE_DIR_MODE : NODE_FILE_MODE;
	n->parent = parent;
	n->mtime = n->ctime = n->atime = vault_time__now_ns();
	snprintf(n->code, sizeof n->code, "%s", code);
}

/* A node record's fields from its plain bytes `p` (`len`). */
static int node_parse(node_rec *out, const unsigned char *p, size_t len, uint64_t id)
{
	const unsigned char *end = p + len;
	size_t clen;

	out->id = id;
	if (len < 4 || p[0] != REC_FORMAT)
		goto bad;
	out->type = p[1];
	out->state = p[2];
	clen = p[3];
	p += 4;
	if (clen != VAULT_CODE_SIZE - 1 || (size_t)(end - p) < clen + 8 + 4 + 8 + 24 + 4 + 8 + 4 + 2)
		goto bad;
	memcpy(out->code, p, clen); p += clen;
	out->parent = be64_get(p); p += 8;
	out->version = be32_get(p); p += 4;
	out->size = be64_get(p); p += 8;
	out->mtime = (int64_t)be64_get(p); p += 8;
	out->ctime = (int64_t)be64_get(p); p += 8;
	out->atime = (int64_t)be64_get(p); p += 8;
	out->generation = be32_get(p); p += 4;
	out->next_block = be64_get(p); p += 8;
	out->name_gen = be32_get(p); p += 4;
	out->name_len = ((size_t)p[0] << 8) | p[1]; p += 2;
	if (out->name_len > sizeof out->name || (size_t)(end - p) != out->name_len + 32 + 2 + 4 + 4)
		goto bad;
	memcpy(out->name, p, out->name_len); p += out->name_len;
	memcpy(out->commitment, p, 32); p += 32;
	out->mode = ((uint32_t)p[0] << 8) | p[1];
	p += 2;
	out->folders = be32_get(p); p += 4;
	out->entries = be32_get(p);
	if (out->mode > 07777 || (out->type != NODE_DIR && (out->folders || out->entries)) ||
	    out->folders > out->entries)
		goto bad;
	if ((out->type != NODE_DIR && out->type != NODE_FILE) ||
	    out->state < NODE_LIVE || out->state > NODE_SHREDDED)
		goto bad;
	return 0;
bad:
	return vault_error_set(VAULT_ECORRUPT, "record of node %016llx is damaged", (unsigned long long)id);
}

int vault_node__get(node_rec *out, MDB_txn *txn, vault *v, uint64_t id)
{
	unsigned char k[8], *plain;
	size_t len;
	MDB_val val;
	int error;

	memset(out, 0, sizeof *out);
	be64_put(k, id);
	if ((error = vault_store__get(txn, v->st->nodes, k, 8, &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "node %016llx does not exist", (unsigned long long)id);
		return error;
	}
	/* Sealed (its case, its times) at its id: one moved from another node fails. */
	if ((error = vault_rec__open(&plain, &len, v, "nodes", k, 8, &val)) == VAULT_ECORRUPT) {
		char path[64];
		vault_node__path(path, id);
		return vault_error_set(VAULT_ECORRUPT,
			"record '%s' is damaged or was moved there from another node", path);
	}
	if (error < 0)
		return error;
	error = node_parse(out, plain, len, id);
	vault_rec__free(plain, len);
	return error;
}

int vault_node__put(MDB_txn *txn, vault *v, const node_rec *n)
{
	unsigned char buf[4 + VAULT_CODE_SIZE + 62 + sizeof n->name + 32 + 2 + 4 + 4], *p = buf, k[8];
	size_t clen = strlen(n->code);

	*p++ = REC_FORMAT;
	*p++ = (unsigned char)n->type;
	*p++ = (unsigned char)n->state;
	*p++ = (unsigned char)clen;
	memcpy(p, n->code, clen); p += clen;
	be64_put(p, n->parent); p += 8;
	be32_put(p, n->version); p += 4;
	be64_put(p, n->size); p += 8;
	be64_put(p, (uint64_t)n->mtime); p += 8;
	be64_put(p, (uint64_t)n->ctime); p += 8;
	be64_put(p, (uint64_t)n->atime); p += 8;
	be32_put(p, n->generation); p += 4;
	be64_put(p, n->next_block); p += 8;
	be32_put(p, n->name_gen); p += 4;
	*p++ = (unsigned char)(n->name_len >> 8);
	*p++ = (unsigned char)n->name_len;
	memcpy(p, n->name, n->name_len); p += n->name_len;
	memcpy(p, n->commitment, 32); p += 32;
	*p++ = (unsigned char)(n->mode >> 8);
	*p++ = (unsigned char)n->mode;
	be32_put(p, n->folders); p += 4;
	be32_put(p, n->entries); p += 4;
	be64_put(k, n->id);
	return put_sealed(txn, v, v->st->nodes, "nodes", k, 8, buf, (size_t)(p - buf));
}

/* A version's block list entry: block id ‖ block hash. */
#define VERSION_ENTRY (8 + BLOCK_HASHBYTES)

static void version_key(unsigned char k[12], uint64_t node, uint32_t version)
{
	be64_put(k, node);
	be32_put(k + 8, version);
}

/* The plain bytes of a version record (format ‖ size ‖ time ‖ ...) into `out`. */
static int version_parse(version_rec *out, const unsigned char *p, size_t len)
{
	if (len < 45 || p[0] != REC_FORMAT)
		return VAULT_ECORRUPT;
	p++;
	out->size = be64_get(p); p += 8;
	out->mtime = (int64_t)be64_get(p); p += 8;
	out->generation = be32_get(p); p += 4;
	memcpy(out->commit, p, 20); p += 20;
	out->nblocks = be32_get(p); p += 4;
	if (len != 45 + out->nblocks * VERSION_ENTRY ||
	    out->nblocks != out->size / VAULT_BLOCK_SIZE + (out->size % VAULT_BLOCK_SIZE != 0))
		return VAULT_ECORRUPT;
	if (out->nblocks && (out->blocks = malloc(out->nblocks * sizeof *out->blocks)) == NULL)
		return vault_error_set_oom();
	for (size_t i = 0; i < out->nblocks; i++) {
		out->blocks[i].id = be64_get(p); p += 8;
		memcpy(out->blocks[i].hash, p, BLOCK_HASHBYTES); p += BLOCK_HASHBYTES;
	}
	return 0;
}

int vault_version__get(version_rec *out, MDB_txn *txn, vault *v, uint64_t node, uint32_t version)
{
	unsigned char k[12], *plain;
	size_t len;
	MDB_val val;
	int error;

	memset(out, 0, sizeof *out);
	version_key(k, node, version);
	if ((error = vault_store__get(txn, v->st->versions, k, 12, &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "version %u does not exist", version);
		return error;
	}
	/* Sealed (its time, its event) at its key: one moved from another
	 * version fails. */
	if ((error = vault_rec__open(&plain, &len, v, "versions", k, 12, &val)) == VAULT_ECORRUPT)
		return vault_error_set(VAULT_ECORRUPT,
			"record of version %u of node %016llx is damaged or was moved there from another version",
			version, (unsigned long long)node);
	if (error < 0)
		return error;
	error = version_parse(out, plain, len);
	vault_rec__free(plain, len);
	if (error == VAULT_ECORRUPT)
		return vault_error_set(VAULT_ECORRUPT, "record of version %u of node %016llx is damaged",
			version, (unsigned long long)node);
	return error;
}

int vault_version__put(MDB_txn *txn, vault *v, uint64_t node, uint32_t version, const version_rec *r)
{
	unsigned char k[12], *buf, *p;
	size_t len = 45 + r->nblocks * VERSION_ENTRY;
	int error;

	if ((buf = malloc(len)) == NULL)
		return vault_error_set_oom();
	p = buf;
	*p++ = REC_FORMAT;
	be64_put(p, r->size); p += 8;
	be64_put(p, (uint64_t)r->mtime); p += 8;
	be32_put(p, r->generation); p += 4;
	memcpy(p, r->commit, 20); p += 20;
	be32_put(p, (uint32_t)r->nblocks); p += 4;
	for (size_t i = 0; i < r->nblocks; i++) {
		be64_put(p, r->blocks[i].id); p += 8;
		memcpy(p, r->blocks[i].hash, BLOCK_HASHBYTES); p += BLOCK_HASHBYTES;
	}
	version_key(k, node, version);
	error = put_sealed(txn, v, v->st->versions, "versions", k, 12, buf, len);
	vault_rec__free(buf, len);
	return error;
}

void vault_version__dispose(version_rec *r)
{
	free(r->blocks);
	r->blocks = NULL;
	r->nblocks = 0;
}

void vault_version__commitment(unsigned char out[32], const version_rec *r)
{
	crypto_generichash_state st;
	unsigned char id[8];

	crypto_generichash_init(&st, NULL, 0, 32);
	for (size_t i = 0; i < r->nblocks; i++) {
		be64_put(id, r->blocks[i].id);
		crypto_generichash_update(&st, id, 8);
		crypto_generichash_update(&st, r->blocks[i].hash, BLOCK_HASHBYTES);
	}
	crypto_generichash_final(&st, out, 32);
}

void vault_block__hash(unsigned char out[BLOCK_HASHBYTES], uint64_t node, uint64_t id,
	const struct iovec *iov, int n)
{
	static const char domain[] = "cv-block";
	crypto_generichash_state st;
	unsigned char k[16];

	be64_put(k, node);
	be64_put(k + 8, id);
	crypto_generichash_init(&st, NULL, 0, BLOCK_HASHBYTES);
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain);
	crypto_generichash_update(&st, k, sizeof k);
	for (int i = 0; i < n; i++)
		crypto_generichash_update(&st, iov[i].iov_base, iov[i].iov_len);
	crypto_generichash_final(&st, out, BLOCK_HASHBYTES);
}

/* "mtime SECONDS.NANOSECONDS": whole seconds first, so a reader that
 * wants seconds stops at the dot. */
static void blob_time(vault_buf *out, const char *key, int64_t ns)
{
	int64_t s = ns / VAULT_NS, r = ns % VAULT_NS;

	if (r < 0) {
		s--;
		r += VAULT_NS;
	}
	vault_buf_printf(out, "%s %lld.%09lld\n", key, (long long)s, (long long)r);
}

int vault_blob__node(vault_buf *out, MDB_txn *txn, vault *v, const node_rec *n)
{
	unsigned char id[8], h[32];
	int error;

	static const char *const states[] = { "", "live", "deleted", "shredded" };
	char b64[sodium_base64_ENCODED_LEN(sizeof n->name, sodium_base64_VARIANT_ORIGINAL)];
	char hex[65];

	vault_buf_printf(out, "case %s\nparent %016llx\ntype %s\nstate %s\nversion %u\nsize %llu\n",
		n->code, (unsigned long long)n->parent, n->type == NODE_DIR ? "dir" : "file",
		states[n->state], n->version, (unsigned long long)n->size);
	blob_time(out, "mtime", n->mtime);
	blob_time(out, "ctime", n->ctime);
	blob_time(out, "atime", n->atime);
	vault_buf_printf(out, "mode %04o\ngeneration %u\n", (unsigned)n->mode, n->generation);
	if (n->type == NODE_DIR)
		vault_buf_printf(out, "folders %u\n", n->folders);
	if (n->name_len) {
		sodium_bin2base64(b64, sizeof b64, n->name, n->name_len, sodium_base64_VARIANT_ORIGINAL);
		vault_buf_printf(out, "name %u %s\n", n->name_gen, b64);
	}
	if (n->type == NODE_FILE) {
		sodium_bin2hex(hex, sizeof hex, n->commitment, 32);
		vault_buf_printf(out, "commitment %s\n", hex);
	}
	/* Its keys, one per generation, sealed under the case key. */
	be64_put(id, n->id);
	if ((error = vault_records__set_hash(h, txn, v->st->nodekeys, "cv-nodekeys", id, 8)) < 0)
		return error;
	blob_hash(out, "keys", h);
	return out->oom ? vault_error_set_oom() : 0;
}

/* ---- the file of a stored record ----------------------------------------- */

int vault_blob__stored(vault_buf *out, char path[64], MDB_txn *txn, vault *v, int kind,
	const char *name, uint64_t id)
{
	user_rec u;
	case_rec c;
	node_rec n;
	int error;

	switch (kind) {
	case VAULT_REC_USER:
		vault_user__path(path, name);
		if ((error = vault_user__get(&u, txn, v, name)) == 0)
			error = vault_blob__user(out, name, &u);
		return error;
	case VAULT_REC_CASE:
		vault_case__path(path, name);
		if ((error = vault_case__get(&c, txn, v, name)) == 0) {
			error = vault_blob__case(out, txn, v, &c);
			vault_case__dispose(&c);
		}
		return error;
	default:
		vault_node__path(path, id);
		if ((error = vault_node__get(&n, txn, v, id)) == 0)
			error = vault_blob__node(out, txn, v, &n);
		return error;
	}
}

/* ---- policy/settings ---------------------------------------------------- */

int vault_meta__history_kcv(MDB_val *val, uint32_t *gens, MDB_txn *txn, vault *v)
{
	int error = vault_meta__get(val, txn, v, "history-kcv");

	if (error == VAULT_ENOTFOUND || (error == 0 &&
	    (val->mv_size < 2 * KCV_SIZE || val->mv_size % KCV_SIZE || val->mv_size / KCV_SIZE > VAULT_HGEN_MAX + 1)))
		return vault_error_set(VAULT_ECORRUPT, "the vault's record of its history keys is missing or damaged");
	if (error < 0)
		return error;
	*gens = (uint32_t)(val->mv_size / KCV_SIZE - 1);
	return 0;
}

/* The lines of the history's key-check values. */
static int history_kcv_lines(vault_buf *out, vault *v, MDB_txn *txn)
{
	MDB_val val;
	uint32_t gens;
	int error;

	if ((error = vault_meta__history_kcv(&val, &gens, txn, v)) < 0)
		return error;
	for (uint32_t g = 0; g <= gens; g++) {
		const unsigned char *k = (const unsigned char *)val.mv_data + (size_t)g * KCV_SIZE;

		if (g)
			vault_buf_printf(out, "history-kcv %u ", g);
		else
			vault_buf_printf(out, "history-index ");
		for (size_t i = 0; i < KCV_SIZE; i++)
			vault_buf_printf(out, "%02x", k[i]);
		vault_buf_printf(out, "\n");
	}
	return 0;
}

/* Text of policy/settings in the history tree. */
int vault_blob__settings(vault_buf *out, vault *v, MDB_txn *txn)
{
	vault_buf list = VAULT_BUF_INIT;
	MDB_val val;
	int required, error;

	if ((error = vault_meta__purposes(&list, &required, txn, v)) < 0)
		return error;
	vault_buf_printf(out, "purpose-required %s\n", required ? "yes" : "no");
	for (char *s = list.size ? list.ptr : NULL; s; ) {
		char *e = strchr(s, '\n');
		vault_buf_printf(out, "purpose %.*s\n", (int)(e ? e - s : (long)strlen(s)), s);
		s = e ? e + 1 : NULL;
	}
	vault_buf_dispose(&list);
	error = vault_meta__get(&val, txn, v, "audit-pk");
	if (error == VAULT_ENOTFOUND || (error == 0 && val.mv_size != 32))
		return vault_error_set(VAULT_ECORRUPT, "audit key record is missing or damaged");
	if (error < 0)
		return error;
	vault_buf_printf(out, "audit-key ");
	for (size_t i = 0; i < 32; i++)
		vault_buf_printf(out, "%02x", ((unsigned char *)val.mv_data)[i]);
	vault_buf_printf(out, "\n");
	if ((error = history_kcv_lines(out, v, txn)) < 0)
		return error;
	/* Only the settings that were set: a vault that never set one keeps
	 * the text it had before settings existed. */
	if ((error = vault_meta__sealed_text(&list, txn, v, "settings")) < 0)
		return error;
	for (char *s = list.size ? list.ptr : NULL; s && *s; ) {
		char *e = strchr(s, '\n');
		vault_buf_printf(out, "setting %.*s\n", (int)(e ? e - s : (long)strlen(s)), s);
		s = e ? e + 1 : NULL;
	}
	/* The recovery's threshold and custodians: "recovery-threshold M",
	 * then "recovery-custodian NAME" lines, sealed (they name users). */
	vault_buf_clear(&list);
	if ((error = vault_meta__sealed_text(&list, txn, v, "recovery")) == 0 && list.size)
		vault_buf_put(out, list.ptr, list.size);
	vault_buf_dispose(&list);
	if (error < 0)
		return error;
	return out->oom ? vault_error_set_oom() : 0;
}

