/*
 * tests/support — see support.h.
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "support.h"
#include "internal.h"
#include "hkeys.h"

ssize_t mem_src_read(void *payload, void *buf, size_t len)
{
	mem_src *s = payload;
	size_t n = s->len - s->off < len ? s->len - s->off : len;

	if (n)
		memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

int mem_sink_write(void *payload, const void *buf, size_t len)
{
	mem_sink *s = payload;
	unsigned char *p = realloc(s->data, s->len + len + 1);

	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	s->data = p;
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	s->calls++;
	return 0;
}

void mem_sink_free(mem_sink *s)
{
	free(s->data);
	memset(s, 0, sizeof *s);
}

void fill_pattern(unsigned char *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 7);
	}
}

int count_sink_write(void *payload, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)payload += len;
	return 0;
}

vault *support_session(const char *dir, const char *user, int *rc)
{
	const char *pass = support_pass(user);
	vault *v = NULL;
	int error;

	if ((error = vault_open(&v, dir)) == 0) {
		vault_set_state_dir(v, "");
		error = vault_unlock(v, user, pass, strlen(pass));
	}
	if (rc)
		*rc = error;
	if (error < 0) {
		vault_close(v);
		return NULL;
	}
	return v;
}

vault *support_insider(const char *dir, const char *user, const char *pass)
{
	vault *v = support_open_as(dir, user, pass);

	if (v)
		v->unlocked = 0;
	return v;
}

vault *support_keyring(const char *dir, const char *user)
{
	static char held_dir[4096], held_user[64];
	static vault *held;

	if (held && !strcmp(held_dir, dir) && !strcmp(held_user, user))
		return held;
	vault_close(held);
	held = support_open_as(dir, user, support_pass(user));
	snprintf(held_dir, sizeof held_dir, "%s", dir);
	snprintf(held_user, sizeof held_user, "%s", user);
	return held;
}

int support_take_keys(vault *to, const char *from, const char *user)
{
	vault *v = support_keyring(from, user);
	size_t n = (size_t)VAULT_HGEN_MAX * VCRYPTO_KEYBYTES;

	if (!v)
		return -1;
	vault_hkeys__clear(&to->hk);
	if (vault_vcrypto__secret_alloc(&to->hk.keys, n) < 0 ||
	    vault_vcrypto__key_dup(&to->hk.index, v->hk.index) < 0) {
		harness_failures++;
		return -1;
	}
	memcpy(to->hk.keys, v->hk.keys, n);
	to->hk.held = v->hk.held;
	to->hk.checked = v->hk.checked;
	return 0;
}

int support_object_key(unsigned char out[20], const char *from, const char *user, const char *hex)
{
	vault *v = support_keyring(from, user);
	git_oid id;

	if (!v || git_oid_fromstr(&id, hex) < 0)
		return -1;
	vault_odb__locator(out, &v->hk, id.id);
	return 0;
}

vault *support_open_as(const char *dir, const char *user, const char *pass)
{
	vault *v = NULL;

	if (vault_open(&v, dir) != 0) {
		fprintf(stderr, "cannot open %s: %s\n", dir, vault_error_last()->message);
		harness_failures++;
		return NULL;
	}
	if (user && vault_unlock(v, user, pass, strlen(pass)) != 0) {
		fprintf(stderr, "cannot unlock %s as %s: %s\n", dir, user, vault_error_last()->message);
		harness_failures++;
		vault_close(v);
		return NULL;
	}
	return v;
}

const char *support_pass(const char *user)
{
	static char buf[VAULT_NAME_MAX + 8];

	snprintf(buf, sizeof buf, "%s-pass", user);
	return buf;
}

int support_user_add(vault *v, const char *name, vault_role_t role, const char *pass,
	size_t passlen)
{
	char code[VAULT_ENROL_CODE_SIZE];
	int error, status;
	pid_t kid;

	if ((error = vault_user_add(v, name, role, code)) < 0)
		return error;
	if ((kid = fork()) < 0)
		return VAULT_ERROR;
	if (kid == 0) {
		vault *w = NULL;

		/* The parent's handle is not touched: LMDB allows a new one here. */
		error = vault_open(&w, vault_dir(v));
		if (error == 0)
			error = vault_user_enrol(w, name, code, strlen(code), pass, passlen);
		if (error < 0)
			fprintf(stderr, "cannot enrol %s: %s\n", name, vault_error_last()->message);
		_exit(error < 0 ? 1 : 0);
	}
	if (waitpid(kid, &status, 0) != kid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return VAULT_ERROR;
	return 0;
}

vault *support_vault_with_users(const char *dir)
{
	static const char *const users[] = { "alice", "bob", "carol", "aud" };
	static const vault_role_t roles[] = {
		VAULT_ROLE_CASEWORKER, VAULT_ROLE_CASEWORKER, VAULT_ROLE_CASEWORKER, VAULT_ROLE_AUDITOR
	};
	vault *v = NULL;
	int error;

	if ((error = vault_init(&v, dir, "dpo", support_pass("dpo"), strlen(support_pass("dpo")), 0)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		if ((error = support_user_add(v, users[i], roles[i], support_pass(users[i]),
				strlen(support_pass(users[i])))) < 0)
			goto fail;
	return v;
fail:
	fprintf(stderr, "cannot make the vault %s: %s\n", dir, vault_error_last()->message);
	harness_failures++;
	vault_close(v);
	return NULL;
}

int support_put(vault *v, const char *path, const void *data, size_t len, uint32_t *ver)
{
	mem_src s = { data, len, 0 };
	uint32_t dummy;

	return vault_put(ver ? ver : &dummy, v, path, mem_src_read, &s);
}

const vault_list_options support_list = { VAULT_LIST_OPTIONS_VERSION, "test", NULL, 0 };
const vault_list_options support_list_quiet = { VAULT_LIST_OPTIONS_VERSION, NULL, NULL,
	VAULT_LIST_NO_EVENT };

int support_get(vault *v, const char *path, const char *purpose, const char *note,
	mem_sink *out)
{
	vault_get_options o = VAULT_GET_OPTIONS_INIT;

	o.purpose = purpose;
	o.note = note;
	return vault_get(v, path, &o, mem_sink_write, out);
}

int support_verify(vault_verify_result *res, vault *v, const char *anchor)
{
	vault_verify_options o = VAULT_VERIFY_OPTIONS_INIT;

	o.anchor = anchor;
	return vault_audit_verify(res, v, &o);
}

void *support_grow(void *items, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;

	if (need <= *cap && items)
		return items;
	while (n < need)
		n *= 2;
	if ((items = realloc(items, n * size)) != NULL)
		*cap = n;
	return items;
}

int support_log_add(support_log *l, const vault_event_info *e, const char *note)
{
	support_event *x;

	if ((x = support_grow(l->ev, &l->cap, l->n + 1, sizeof *l->ev)) == NULL)
		return -1;
	l->ev = x;
	x += l->n;
	memset(x, 0, sizeof *x);
	snprintf(x->commit, sizeof x->commit, "%s", e->commit);
	x->time = e->time;
	snprintf(x->actor, sizeof x->actor, "%s", e->actor);
	snprintf(x->target, sizeof x->target, "%s", e->target);
	snprintf(x->action, sizeof x->action, "%s", e->action);
	snprintf(x->case_code, sizeof x->case_code, "%s", e->case_code);
	snprintf(x->node, sizeof x->node, "%s", e->node);
	snprintf(x->purpose, sizeof x->purpose, "%s", e->purpose);
	snprintf(x->via, sizeof x->via, "%s", e->via);
	snprintf(x->access, sizeof x->access, "%s", e->access);
	snprintf(x->subject, sizeof x->subject, "%s", e->subject);
	x->version = e->version;
	if (note && (x->note = strdup(note)) == NULL)
		return -1;
	l->n++;
	return 0;
}

int support_log_cb(const vault_event_info *e, const char *note, void *payload)
{
	return support_log_add(payload, e, note);
}

int support_log_read(support_log *l, vault *v, const vault_log_options *opts)
{
	memset(l, 0, sizeof *l);
	return vault_audit_query(v, opts, support_log_cb, l);
}

long support_log_find(const support_log *l, const char *action, int nth)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->ev[i].action, action) && nth-- == 0)
			return (long)i;
	return -1;
}

void support_log_free(support_log *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->ev[i].note);
	free(l->ev);
	memset(l, 0, sizeof *l);
}

double support_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void support_die(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, vault_error_last()->message);
	exit(1);
}
