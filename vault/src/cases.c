/*
 * cases — case records, creating, granting, revoking, listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"

/* ---- cases -------------------------------------------------------------- */

static int check_code(const char *code)
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
	c->chain = NULL;
	c->nchain = 0;
}

int vault_case__get(case_rec *out, MDB_txn *txn, vault *v, const char *code)
{
	MDB_val val;
	const unsigned char *p, *end;
	int error;

	memset(out, 0, sizeof *out);
	if ((error = check_code(code)) < 0)
		return error;
	if ((error = vault_store__get(txn, v->st->cases, code, strlen(code), &val)) < 0) {
		if (error == VAULT_ENOTFOUND)
			return vault_error_set(VAULT_ENOTFOUND, "case '%s' does not exist", code);
		return error;
	}
	p = val.mv_data;
	end = p + val.mv_size;
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
	if (p != end)
		goto bad;
#undef NEED
	return 0;
bad:
	vault_case__dispose(out);
	return vault_error_set(VAULT_ECORRUPT, "record of case '%s' is damaged", code);
}

int vault_case__put(MDB_txn *txn, vault *v, const case_rec *c)
{
	vault_buf b = VAULT_BUF_INIT;
	unsigned char hdr[1 + 4 + 1 + 8 + 4 + 2], *p = hdr, n;
	int error;

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
	if (b.oom)
		error = vault_error_set_oom();
	else
		error = vault_store__put(txn, v->st->cases, c->code, strlen(c->code), b.ptr, b.size, 0);
	vault_buf_dispose(&b);
	return error;
}

member_rec *vault_case__member(case_rec *c, const char *user)
{
	for (size_t i = 0; i < c->nmembers; i++)
		if (!strcmp(c->members[i].user, user))
			return &c->members[i];
	return NULL;
}

static void label_ad(unsigned char ad[32], size_t *len, const char *code)
{
	*len = (size_t)snprintf((char *)ad, 32, "cv-label:%s", code);
}

typedef struct {
	const char *label;
	char code[VAULT_CODE_SIZE];
} case_create_args;

static int case_create_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	case_create_args *a = payload;
	case_rec c;
	node_rec root;
	unsigned char *key = NULL, ad[32];
	case_key *k = NULL;
	size_t adlen;
	MDB_val val;
	int error, tries = 0;

	memset(&c, 0, sizeof c);
	do {
		memcpy(c.code, "C-", 2);
		vault_random_code(c.code + 2, 8);
		error = vault_store__get(txn, v->st->cases, c.code, strlen(c.code), &val);
	} while (error == 0 && ++tries < 16);
	if (error != VAULT_ENOTFOUND)
		return error < 0 ? error : vault_error_set(VAULT_EEXISTS, "no free case code found");
	c.epoch = 1;
	c.nmembers = 1;
	snprintf(c.members[0].user, sizeof c.members[0].user, "%s", v->user);
	if ((error = vault_vcrypto__key_new(&key)) < 0)
		return error;
	if ((error = vault_keys__cache(&k, v, c.code, 1, key)) < 0)
		return error;
	if (a->label && *a->label) {
		label_ad(ad, &adlen, c.code);
		c.label_epoch = 1;
		c.label_len = strlen(a->label) + VCRYPTO_OVERHEAD;
		vault_vcrypto__seal(c.label, (const unsigned char *)a->label, strlen(a->label), ad, adlen, k->key);
	}
	memset(&root, 0, sizeof root);
	randombytes_buf(&root.id, sizeof root.id);
	root.type = NODE_DIR;
	root.state = NODE_LIVE;
	root.mode = NODE_DIR_MODE;
	root.mtime = root.ctime = root.atime = vault__now_ns();
	snprintf(root.code, sizeof root.code, "%s", c.code);
	c.root = root.id;
	if ((error = vault_node__put(txn, v, &root)) < 0)
		return error;
	if ((error = vault_keys__seal(txn, v, c.code, 1, v->user, k->key)) < 0)
		return error;
	if ((error = vault_case__put(txn, v, &c)) < 0)
		return error;
	memcpy(a->code, c.code, VAULT_CODE_SIZE);
	snprintf(ev->case_code, sizeof ev->case_code, "%s", c.code);
	ev->node = root.id;
	if ((error = vault_event__touch_case(ev, v, txn, c.code)) < 0)
		return error;
	return vault_event__touch_node(ev, v, txn, root.id);
}

int vault_case_create(char code[VAULT_CODE_SIZE], vault *v, const char *label)
{
	case_create_args a = { label, "" };
	int error;

	code[0] = '\0';
	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	if (v->role == VAULT_ROLE_AUDITOR)
		return vault_error_set(VAULT_EACCES, "user '%s' is an auditor", v->user);
	if (label && strlen(label) > 256 - 1)
		return vault_error_set(VAULT_EUSAGE, "case label is longer than 255 bytes");
	if (label && memchr(label, '\n', strlen(label)))
		return vault_error_set(VAULT_EUSAGE, "case label holds a line break");
	if ((error = vault_policy__run(v, "case-create", case_create_fn, &a)) < 0)
		return error;
	memcpy(code, a.code, VAULT_CODE_SIZE);
	return 0;
}

typedef struct {
	const char *code, *user;
	int read_only;
} grant_args;

/* After a policy change: if this session holds the key, settle at once. */
static int settle_if_holder(MDB_txn *txn, vault *v, case_rec *c)
{
	int changed;

	if (!vault_case__member(c, v->user) || !vault_keys__has_sealed(txn, v, c->code, c->epoch, v->user))
		return 0;
	return vault_case__settle(txn, v, c, &changed);
}

/* A grant or a revoke: the case record, the key work this session can do
 * for it, and the event's trailers. */
static int membership_changed(vault_event *ev, vault *v, MDB_txn *txn, case_rec *c, const char *user)
{
	int error;

	if ((error = vault_case__put(txn, v, c)) < 0 || (error = settle_if_holder(txn, v, c)) < 0)
		return error;
	snprintf(ev->case_code, sizeof ev->case_code, "%s", c->code);
	snprintf(ev->target, sizeof ev->target, "%s", user);
	return vault_event__touch_case(ev, v, txn, c->code);
}

static int grant_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	grant_args *a = payload;
	case_rec c;
	member_rec *m;
	user_rec u;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((error = vault_user__get(&u, txn, v, a->user)) < 0) {
		if (error == VAULT_ENOTFOUND)
			error = vault_error_set(VAULT_ENOTFOUND, "user '%s' does not exist", a->user);
		goto done;
	}
	if ((error = vault_keys__case_trusted(txn, v, &c)) < 0 || (error = vault_keys__user_trusted(txn, v, a->user)) < 0)
		goto done;
	if (u.role == VAULT_ROLE_AUDITOR) {
		error = vault_error_set(VAULT_EUSAGE, "user '%s' is an auditor and cannot be a case member", a->user);
		goto done;
	}
	if ((m = vault_case__member(&c, a->user)) != NULL) {
		if (m->read_only == a->read_only) {
			error = vault_error_set(VAULT_EEXISTS, "user '%s' is already a member of case '%s'", a->user, a->code);
			goto done;
		}
		m->read_only = a->read_only;
	} else {
		if (c.nmembers == CASE_MAX_MEMBERS) {
			error = vault_error_set(VAULT_EUSAGE, "case '%s' has %d members already", a->code, CASE_MAX_MEMBERS);
			goto done;
		}
		snprintf(c.members[c.nmembers].user, sizeof c.members[0].user, "%s", a->user);
		c.members[c.nmembers].read_only = a->read_only;
		c.nmembers++;
	}
	error = membership_changed(ev, v, txn, &c, a->user);
done:
	vault_case__dispose(&c);
	return error;
}

int vault_case_grant(vault *v, const char *code, const char *user, int read_only)
{
	grant_args a = { code, user, read_only ? 1 : 0 };
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = check_code(code)) < 0 || (error = vault_user__check_name(user, "user")) < 0)
		return error;
	return vault_policy__run(v, "grant", grant_fn, &a);
}

static int drop_sealed(MDB_txn *txn, vault *v, const char *code, const char *user)
{
	MDB_cursor *cur;
	MDB_val k, d;
	char prefix[VAULT_CODE_SIZE + 1];
	size_t plen, ulen = strlen(user);
	int rc;

	plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", code);
	if ((rc = mdb_cursor_open(txn, v->st->sealed, &cur)) != 0)
		return vault_store__error(rc, "revoke");
	k.mv_size = plen;
	k.mv_data = prefix;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen && !memcmp(k.mv_data, prefix, plen)) {
		/* code/EEEEEEEE/user */
		if (k.mv_size == plen + 9 + ulen && !memcmp((char *)k.mv_data + plen + 9, user, ulen)) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			rc = mdb_cursor_get(cur, &k, &d, MDB_GET_CURRENT);
			if (rc == MDB_NOTFOUND)
				break;
			continue;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return vault_store__error(rc, "revoke");
	return 0;
}

static int revoke_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	grant_args *a = payload;
	case_rec c;
	member_rec *m;
	int error;

	if ((error = vault_case__get(&c, txn, v, a->code)) < 0)
		return error;
	if ((error = vault_keys__case_trusted(txn, v, &c)) < 0)
		goto done;
	if ((m = vault_case__member(&c, a->user)) == NULL) {
		error = vault_error_set(VAULT_ENOTFOUND, "user '%s' is not a member of case '%s'", a->user, a->code);
		goto done;
	}
	if (c.nmembers == 1) {
		error = vault_error_set(VAULT_EREFUSED, "user '%s' is the last member of case '%s'", a->user, a->code);
		goto done;
	}
	memmove(m, m + 1, (size_t)(&c.members[c.nmembers] - (m + 1)) * sizeof *m);
	c.nmembers--;
	c.retired = 1;
	if ((error = drop_sealed(txn, v, a->code, a->user)) < 0)
		goto done;
	error = membership_changed(ev, v, txn, &c, a->user);
done:
	vault_case__dispose(&c);
	return error;
}

int vault_case_revoke(vault *v, const char *code, const char *user)
{
	grant_args a = { code, user, 0 };
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = check_code(code)) < 0 || (error = vault_user__check_name(user, "user")) < 0)
		return error;
	return vault_policy__run(v, "revoke", revoke_fn, &a);
}

int vault_case_foreach(vault *v, int (*cb)(const vault_case_info *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	vault_member members[CASE_MAX_MEMBERS];
	char label[256];
	int rc, error;

	if ((error = vault__require_unlocked(v)) < 0)
		return error;
	if ((error = vault__begin(&txn, v, 0)) < 0)
		return error;
	if ((rc = mdb_cursor_open(txn, v->st->cases, &cur)) != 0) {
		error = vault_store__error(rc, "list cases");
		goto done;
	}
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) == 0) {
		char code[VAULT_CODE_SIZE];
		vault_case_info info;
		const unsigned char *key;
		case_rec c;

		if (k.mv_size != VAULT_CODE_SIZE - 1)
			continue;
		memcpy(code, k.mv_data, k.mv_size);
		code[k.mv_size] = '\0';
		if ((error = vault_case__get(&c, txn, v, code)) < 0)
			goto done;
		if (v->role == VAULT_ROLE_CASEWORKER && !vault_case__member(&c, v->user)) {
			vault_case__dispose(&c);
			continue;
		}
		memset(&info, 0, sizeof info);
		info.code = code;
		info.epoch = c.epoch;
		info.retired = c.retired;
		info.nmembers = c.nmembers;
		info.members = members;
		for (size_t i = 0; i < c.nmembers; i++) {
			user_rec u;

			members[i].user = c.members[i].user;
			members[i].read_only = c.members[i].read_only;
			members[i].has_key = vault_keys__has_sealed(txn, v, code, c.epoch, c.members[i].user);
			members[i].disabled = vault_user__get(&u, txn, v, c.members[i].user) == 0 &&
				u.status == USER_DISABLED;
		}
		if (c.label_epoch && vault_case__member(&c, v->user) &&
		    vault_case__key(&key, txn, v, &c, c.label_epoch) == 0) {
			unsigned char ad[32];
			size_t adlen;
			label_ad(ad, &adlen, code);
			if (vault_vcrypto__open((unsigned char *)label, c.label, c.label_len, ad, adlen, key) == 0) {
				label[c.label_len - VCRYPTO_OVERHEAD] = '\0';
				info.label = label;
			} else {
				vault_case__dispose(&c);
				error = vault_error_set(VAULT_ECORRUPT, "label of case '%s' fails authentication", code);
				goto done;
			}
		}
		error = cb(&info, payload);
		sodium_memzero(label, sizeof label);
		vault_case__dispose(&c);
		if (error != 0)
			goto done;
	}
	error = 0;
done:
	vault_error_clear();
	if (cur)
		mdb_cursor_close(cur);
	vault_store__abort(v->st, txn);
	return error;
}

int vault_blob__case(vault_buf *out, const case_rec *c)
{
	char b64[sodium_base64_ENCODED_LEN(sizeof c->label, sodium_base64_VARIANT_ORIGINAL)];

	vault_buf_printf(out, "case %s\nepoch %u\nretired %s\nroot %016llx\n", c->code, c->epoch,
		c->retired ? "yes" : "no", (unsigned long long)c->root);
	if (c->label_epoch) {
		sodium_bin2base64(b64, sizeof b64, c->label, c->label_len, sodium_base64_VARIANT_ORIGINAL);
		vault_buf_printf(out, "label %u %s\n", c->label_epoch, b64);
	}
	for (size_t i = 0; i < c->nmembers; i++)
		vault_buf_printf(out, "member %s %s\n", c->members[i].user, c->members[i].read_only ? "ro" : "rw");
	return out->oom ? vault_error_set_oom() : 0;
}
