/* libFuzzer target: the appliance config parser must never crash or leak on
 * any input, and on success must produce a self-consistent result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char err[256];

	if (config_parse((const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		if (cfg.nnodes == 0 || cfg.nvips == 0 || cfg.nsvc_total > LB_MAX_SVCS)
			abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
		abort();	/* a failure must say why */
	}
	return 0;
}
