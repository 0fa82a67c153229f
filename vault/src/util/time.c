/*
 * util/time.c — the clock and conversions of file times.
 */
#include <time.h>

#include "util/time.h"

int64_t vault_time__now(void)
{
	return (int64_t)time(NULL);
}

int64_t vault_time__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * VAULT_NS + ts.tv_nsec;
}

int64_t vault_time__sec(int64_t ns)
{
	return ns / VAULT_NS - (ns % VAULT_NS < 0);
}

int vault_time__to_ns(int64_t *ns, const vault_time *t)
{
	if (t->nsec >= VAULT_NS || t->sec > VAULT_TIME_SEC_MAX || t->sec < -VAULT_TIME_SEC_MAX)
		return -1;
	*ns = t->sec * VAULT_NS + t->nsec;
	return 0;
}

void vault_time__from_ns(vault_time *out, int64_t ns)
{
	out->sec = ns / VAULT_NS;
	out->nsec = (uint32_t)(ns % VAULT_NS >= 0 ? ns % VAULT_NS : ns % VAULT_NS + VAULT_NS);
	if (ns % VAULT_NS < 0)
		out->sec--;
}
