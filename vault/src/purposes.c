/*
 * purposes — the codes a read may give, and whether one is required.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "policy.h"

/* ---- purposes ----------------------------------------------------------- */

static int check_purpose(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 32)
		return vault_error_set(VAULT_EUSAGE, "purpose code '%s' must be 1 to 32 characters", p);
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return vault_error_set(VAULT_EUSAGE, "purpose code '%s' may hold only a-z, 0-9 and -", p);
	return 0;
}

static int purpose_listed(const char *list, const char *p)
{
	size_t n = strlen(p);

	for (const char *s = list; s && *s; ) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == n && !memcmp(s, p, n))
			return 1;
		s = e ? e + 1 : NULL;
	}
	return 0;
}

int vault_purposes__check(MDB_txn *txn, vault *v, const char *purpose)
{
	vault_buf list = VAULT_BUF_INIT;
	int required, error;

	/* The list and the requirement as the signed history has them: an
	 * edit of the raw records never turns the requirement off. */
	if ((error = vault_event__settings_trusted(v, txn)) < 0 ||
	    (error = vault_meta__purposes(&list, &required, txn, v)) < 0)
		goto done;
	if (!purpose || !*purpose) {
		if (required)
			error = vault_error_set(VAULT_EUSAGE, "this vault requires a purpose for every read and listing");
		goto done;
	}
	if ((error = check_purpose(purpose)) < 0)
		goto done;
	if (list.size && !purpose_listed(list.ptr, purpose))
		error = vault_error_set(VAULT_EUSAGE, "purpose '%s' is not in the vault's list", purpose);
done:
	vault_buf_dispose(&list);
	return error;
}

int vault_purpose_check(vault *v, const char *purpose)
{
	MDB_txn *txn = NULL;
	int error;

	if ((error = vault_store__begin_walk(&txn, v->st)) < 0)
		return error;
	error = vault_purposes__check(txn, v, purpose);
	vault_store__abort(v->st, txn);
	return error;
}

static int purpose_add_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *code = payload;
	vault_buf list = VAULT_BUF_INIT;
	int required, error;

	/* Changed only from what the signed history holds: an admin's event
	 * never signs an edit made behind casevault's back. */
	if ((error = vault_event__settings_trusted(v, txn)) < 0 ||
	    (error = vault_meta__purposes(&list, &required, txn, v)) < 0)
		goto done;
	if (purpose_listed(list.ptr, code)) {
		error = vault_error_set(VAULT_EEXISTS, "purpose '%s' is already in the list", code);
		goto done;
	}
	if (list.size)
		vault_buf_put(&list, "\n", 1);
	vault_buf_put(&list, code, strlen(code));
	if (list.oom || list.size > 1000) {
		error = vault_error_set(VAULT_EUSAGE, "the purpose list is full");
		goto done;
	}
	if ((error = vault_meta__sealed_put(txn, v, "purposes", list.ptr, list.size)) < 0)
		goto done;
	snprintf(ev->target, sizeof ev->target, "%s", code);
	error = vault_event__touch_settings(ev, v, txn);
done:
	vault_buf_dispose(&list);
	return error;
}

int vault_purpose_add(vault *v, const char *code)
{
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = check_purpose(code)) < 0)
		return error;
	return vault_policy__run(v, "purpose-add", purpose_add_fn, (void *)code);
}

/* The list without `code`; VAULT_ENOTFOUND if it is not in it. Events
 * already recorded keep the purpose they gave: the list only says which
 * codes a new read may give. */
static int purpose_remove_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	const char *code = payload;
	vault_buf list = VAULT_BUF_INIT, rest = VAULT_BUF_INIT;
	int required, error;

	if ((error = vault_event__settings_trusted(v, txn)) < 0 ||
	    (error = vault_meta__purposes(&list, &required, txn, v)) < 0)
		goto done;
	if (!purpose_listed(list.ptr, code)) {
		error = vault_error_set(VAULT_ENOTFOUND, "purpose '%s' is not in the list", code);
		goto done;
	}
	for (const char *s = list.ptr; s && *s; ) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len != strlen(code) || memcmp(s, code, len)) {
			if (rest.size)
				vault_buf_put(&rest, "\n", 1);
			vault_buf_put(&rest, s, len);
		}
		s = e ? e + 1 : NULL;
	}
	if (rest.oom) {
		error = vault_error_set_oom();
		goto done;
	}
	/* An empty list takes any code: the last one is not removed. */
	if (rest.size == 0) {
		error = vault_error_set(VAULT_EREFUSED,
			"purpose '%s' is the last in the list, and an empty list takes any purpose", code);
		goto done;
	}
	if ((error = vault_meta__sealed_put(txn, v, "purposes", rest.ptr, rest.size)) < 0)
		goto done;
	snprintf(ev->target, sizeof ev->target, "%s", code);
	error = vault_event__touch_settings(ev, v, txn);
done:
	vault_buf_dispose(&rest);
	vault_buf_dispose(&list);
	return error;
}

int vault_purpose_remove(vault *v, const char *code)
{
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	if ((error = check_purpose(code)) < 0)
		return error;
	return vault_policy__run(v, "purpose-remove", purpose_remove_fn, (void *)code);
}

static int purpose_require_fn(vault_event *ev, vault *v, MDB_txn *txn, void *payload)
{
	unsigned char on = *(int *)payload ? 1 : 0;
	int error;

	if ((error = vault_event__settings_trusted(v, txn)) < 0 ||
	    (error = vault_meta__put(txn, v, "purpose-required", &on, 1)) < 0)
		return error;
	return vault_event__touch_settings(ev, v, txn);
}

int vault_purpose_require(vault *v, int on)
{
	int error;

	if ((error = vault_policy__require_role(v, VAULT_ROLE_ADMIN)) < 0)
		return error;
	return vault_policy__run(v, "purpose-require", purpose_require_fn, &on);
}

int vault_purpose_foreach(vault *v, int *required, int (*cb)(const char *, void *), void *payload)
{
	MDB_txn *txn = NULL;
	vault_buf list = VAULT_BUF_INIT;
	int error;

	if ((error = vault_store__begin(&txn, v->st, 0)) < 0)
		return error;
	if ((error = vault_meta__purposes(&list, required, txn, v)) < 0)
		goto done;
	for (char *s = list.size ? list.ptr : NULL; s; ) {
		char *e = strchr(s, '\n');
		if (e)
			*e = '\0';
		if ((error = cb(s, payload)) != 0)
			goto done;
		s = e ? e + 1 : NULL;
	}
done:
	vault_buf_dispose(&list);
	vault_store__abort(v->st, txn);
	return error;
}
