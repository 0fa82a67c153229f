#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vault.h"
#include "harness.h"

typedef struct { const unsigned char *data; size_t len, off; } src;
static ssize_t src_read(void *p, void *buf, size_t len)
{
	src *s = p;
	size_t n = s->len - s->off < len ? s->len - s->off : len;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}
typedef struct { unsigned char *data; size_t len; } sink;
static int sink_write(void *p, const void *buf, size_t len)
{
	sink *s = p;
	s->data = realloc(s->data, s->len + len);
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	return 0;
}
static int print_ev(const vault_event_info *e, void *p)
{
	printf("%s %s %s %s\n", e->commit, e->actor, e->action, e->subject);
	return 0;
}

int main(void)
{
	const char *dir = harness_tmpdir();
	char path[512], code[VAULT_CODE_SIZE], fpath[600];
	vault *v = NULL;
	vault_verify_result res;
	uint32_t ver;

	snprintf(path, sizeof path, "%s/v", dir);
	CHECK_RC(vault_init(&v, path, "dpo", "secret-pass", 11, 0), 0);
	CHECK_RC(vault_user_add(v, "alice", VAULT_ROLE_CASEWORKER, "alice-pass", 10), 0);
	vault_close(v);
	CHECK_RC(vault_open(&v, path), 0);
	CHECK_RC(vault_unlock(v, "alice", "alice-pass", 10), 0);
	CHECK_RC(vault_case_create(code, v, "Label X"), 0);
	printf("code %s\n", code);
	size_t big = 200000;
	unsigned char *data = malloc(big);
	for (size_t i = 0; i < big; i++) data[i] = (unsigned char)(i * 7);
	src s = { data, big, 0 };
	snprintf(fpath, sizeof fpath, "%s/intake.txt", code);
	CHECK_RC(vault_put(&ver, v, fpath, src_read, &s), 0);
	CHECK(ver == 1);
	data[100] ^= 1;
	s.off = 0;
	CHECK_RC(vault_put(&ver, v, fpath, src_read, &s), 0);
	CHECK(ver == 2);
	sink k = { 0 };
	vault_get_options o = { 1, "care", "note" };
	CHECK_RC(vault_get(v, fpath, &o, sink_write, &k), 0);
	data[100] ^= 1;
	CHECK(k.len == big && !memcmp(k.data, data, big));
	CHECK_RC(vault_audit_log(v, NULL, print_ev, NULL), 0);
	CHECK_RC(vault_audit_verify(&res, v, NULL), 0);
	printf("verified %llu events %llu versions\n", (unsigned long long)res.events, (unsigned long long)res.versions);
	vault_close(v);
	free(data);
	free(k.data);
	return harness_done("test_smoke");
}
