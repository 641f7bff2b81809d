/*
 * sim_util.h - helpers shared by ferry-brokersim's test and benchmark: run
 * the simulator as a child process (bootstrap address from its first stdout
 * line, SIGTERM and the final stats at the end), read its counters, and build
 * batch files with ferry's batch builder.
 *
 * Single-threaded users; header-only (static inline) so each program stays
 * one file plus this.
 */
#ifndef FERRY_SIM_UTIL_H
#define FERRY_SIM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/kafka.h"

struct sim_proc {
	pid_t pid;
	int out_fd;
	char addr[128];
	char *final; /* everything printed after the address, once stopped */
	size_t final_len;
	int status;
};

/*
 * Start ferry-brokersim (path from $FERRY_BROKERSIM) with 'args' (NULL-ended)
 * and wait up to 10 s for its address. 0 or -1 with a message on stderr.
 */
static inline int
sim_start(struct sim_proc *sp, const char *const *args)
{
	const char *path = getenv("FERRY_BROKERSIM");
	const char *argv[64];
	size_t n = 0, got = 0;
	int pfd[2];

	memset(sp, 0, sizeof(*sp));
	sp->pid = -1;
	sp->out_fd = -1;
	if (path == NULL) {
		fprintf(stderr, "FERRY_BROKERSIM is not set (meson sets it)\n");
		return -1;
	}
	argv[n++] = path;
	for (; args && *args && n < 62; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	sp->pid = fork();
	if (sp->pid < 0)
		return -1;
	if (sp->pid == 0) {
		/* never outlive the test, even if it crashes */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], STDOUT_FILENO);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	sp->out_fd = pfd[0];
	/* the first line: HOST:PORT */
	while (got < sizeof(sp->addr) - 1) {
		struct pollfd p = { sp->out_fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			break;
		r = read(sp->out_fd, sp->addr + got, 1);
		if (r <= 0)
			break;
		if (sp->addr[got] == '\n') {
			sp->addr[got] = '\0';
			return 0;
		}
		got++;
	}
	fprintf(stderr, "ferry-brokersim did not print its address\n");
	kill(sp->pid, SIGKILL);
	waitpid(sp->pid, NULL, 0);
	sp->pid = -1;
	return -1;
}

/* SIGTERM, collect the final output, reap. Returns the exit status or -1. */
static inline int
sim_stop(struct sim_proc *sp)
{
	size_t cap = 1 << 16;

	if (sp->pid <= 0)
		return -1;
	kill(sp->pid, SIGTERM);
	sp->final = malloc(cap);
	for (;;) {
		ssize_t r;

		if (sp->final_len + 1 >= cap) {
			char *n = realloc(sp->final, cap * 2);
			if (n == NULL)
				break;
			sp->final = n;
			cap *= 2;
		}
		r = read(sp->out_fd, sp->final + sp->final_len, cap - sp->final_len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		sp->final_len += (size_t)r;
	}
	sp->final[sp->final_len] = '\0';
	close(sp->out_fd);
	sp->out_fd = -1;
	waitpid(sp->pid, &sp->status, 0);
	sp->pid = -1;
	return WIFEXITED(sp->status) ? WEXITSTATUS(sp->status) : -1;
}

/* Kill without ceremony (a failed test's teardown). */
static inline void
sim_kill(struct sim_proc *sp)
{
	if (sp->pid > 0) {
		kill(sp->pid, SIGKILL);
		waitpid(sp->pid, NULL, 0);
		sp->pid = -1;
	}
	if (sp->out_fd >= 0)
		close(sp->out_fd);
	sp->out_fd = -1;
	free(sp->final);
	sp->final = NULL;
	sp->final_len = 0;
}

/* "stat NAME VALUE" from the final output; UINT64_MAX if absent. */
static inline uint64_t
sim_stat(const struct sim_proc *sp, const char *name)
{
	char key[96];
	const char *p;

	snprintf(key, sizeof(key), "\nstat %s ", name);
	p = sp->final ? strstr(sp->final, key) : NULL;
	return p ? strtoull(p + strlen(key), NULL, 10) : UINT64_MAX;
}

/* A field of "topic T partition P ..." (e.g. "records"); -1 if absent. */
static inline int64_t
sim_topic_field(const struct sim_proc *sp, const char *topic, int partition, const char *field)
{
	char key[320], fkey[64];
	const char *p, *eol, *f;

	snprintf(key, sizeof(key), "\ntopic %s partition %d ", topic, partition);
	p = sp->final ? strstr(sp->final, key) : NULL;
	if (p == NULL)
		return -1;
	eol = strchr(p + 1, '\n');
	snprintf(fkey, sizeof(fkey), " %s ", field);
	f = strstr(p, fkey);
	if (f == NULL || (eol && f > eol))
		return -1;
	return strtoll(f + strlen(fkey), NULL, 10);
}

/* Append one batch of recs to buf (ferry_kafka_batch_build), returns its size or 0. */
static inline size_t
sim_build_batch(uint8_t *out, size_t cap, int codec, const struct ferry_kafka_record_in *recs,
		size_t n, struct ferry_codec_ctx *cc)
{
	static uint8_t scratch[8 << 20];
	struct ferry_kafka_batch_args args = {
		.BaseOffset = 0,
		.PartitionLeaderEpoch = -1,
		.Attributes = (int16_t)codec,
		.ProducerId = -1,
		.ProducerEpoch = -1,
		.BaseSequence = -1,
	};
	struct ferry_wr w;

	ferry_wr_init(&w, out, cap);
	if (ferry_kafka_batch_build(&w, &args, recs, n, cc, scratch, sizeof(scratch)) != 0)
		return 0;
	return w.len;
}

static inline int
sim_write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (fwrite(p, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

#endif /* FERRY_SIM_UTIL_H */
