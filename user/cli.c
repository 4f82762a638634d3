// SPDX-License-Identifier: GPL-2.0
/* Option values shared by the subcommands. */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int parse_seconds(const char *arg, const char *what, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(*out) || *out < 0 || *out > 31536000) {
		fprintf(stderr, "kvmlockstat: invalid %s '%s': expected seconds >= 0\n", what, arg);
		return EINVAL;
	}
	return 0;
}

int parse_pid(const char *arg, uint32_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v <= 0 || v > INT_MAX) {
		fprintf(stderr, "kvmlockstat: invalid PID '%s'\n", arg);
		return EINVAL;
	}
	*pid = v;
	return 0;
}

int parse_interval(const char *arg, const char *what, bool zero_off, double *out)
{
	if (parse_seconds(arg, what, out))
		return EINVAL;
	if (*out < MIN_INTERVAL_S && !(zero_off && *out == 0)) {
		fprintf(stderr, "kvmlockstat: invalid %s '%s': at least %g s%s\n", what, arg,
			MIN_INTERVAL_S, zero_off ? " (0: none)" : "");
		return EINVAL;
	}
	return 0;
}

error_t sweep_args_parse(int key, char *arg, struct argp_state *state)
{
	struct sweep_args *o = state->input;

	switch (key) {
	case 'f':
		if (strcmp(arg, "table") && strcmp(arg, "json") && strcmp(arg, "csv"))
			argp_error(state, "--format: '%s' is not table, json or csv", arg);
		o->format = arg;
		return 0;
	case 'o':
		o->out = arg;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num >= 2)
			argp_error(state, "at most two inputs: BEFORE AFTER");
		(state->arg_num ? &o->after : &o->before)->path = arg;
		return 0;
	case ARGP_KEY_END:
		if (state->arg_num < (unsigned)(1 + !o->plot))
			argp_error(state, o->plot ? "which sweep? BEFORE [AFTER]" : "two inputs: BEFORE AFTER");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int sweep_args_load(struct sweep_args *o)
{
	if (sweep_load(&o->before))
		return -1;
	return o->after.path ? sweep_load(&o->after) : 0;
}
