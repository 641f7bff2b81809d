/*
 * hw/hwcheck.c - `ferry-hwcheck`: is this host ready to run ferryd? Reads /proc and /sys (never
 * writes), optionally a ferry config (--config, through the conf API), and prints one finding
 * per check with a severity and the fix: CPU flags, hugepages per NUMA node and their mounts,
 * isolated cores against the configured lcores, NUMA locality of WAN ports and the lcores that
 * poll them, IOMMU and vfio, NIC driver bindings, the memlock limit. `--memory` is the
 * calculator for hw/memcalc.h (the formula of hw/README.md).
 *
 * What it cannot see (no NIC, no cpufreq, a node without hugepage sysfs) is a finding too,
 * marked "cannot see", so a VM or CI run says what it did not check instead of passing it.
 *
 * Exit status: 0 ready (no error finding), 1 not ready, 2 usage (bad option, unreadable config).
 * --sysroot DIR reads DIR/proc and DIR/sys instead (tests build fake hosts with it); the
 * memlock limit and capabilities are always the calling process's own.
 *
 * Single-threaded; owns the findings list and the loaded config, freed before exit.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/conf.h"
#include "memcalc.h"

#define HW_CPUS_MAX  1024 /* lcore ids go to 1023 (ferry.lcores.*) */
#define HW_NODES_MAX 64
#define HW_PORTS_MAX 32

enum hw_sev { HW_OK, HW_INFO, HW_WARN, HW_ERROR };
static const char *const sev_name[] = { "ok", "info", "warning", "error" };
static const char *const sev_tag[] = { "  ok ", " info", " WARN", " FAIL" };

struct hw_finding {
	char *check; /* dotted id: "hugepages.node0" */
	enum hw_sev sev;
	bool seen;   /* false: the host did not let us look (reported, not passed) */
	char *msg;
	char *fix;   /* NULL: nothing to do */
};

struct hw_host {
	char root[PATH_MAX]; /* "" or the --sysroot prefix */
	char cpu_model[256];
	unsigned ncpus;
	unsigned nnodes;
	uint8_t cpu_node[HW_CPUS_MAX]; /* 0xff: unknown */
	uint8_t online[HW_CPUS_MAX];
	uint8_t isolated[HW_CPUS_MAX];
	uint8_t nohz[HW_CPUS_MAX];
	char cmdline[4096];
	struct hw_finding *f;
	size_t nf, capf;
	bool oom;
};

/* What the checks need from the config (or the assumptions without one). */
struct hw_want {
	bool have_conf;
	const char *conf_path;
	bool busy;         /* ferry.poll.mode = busy */
	const char *huge;  /* ferry.hugepages: auto | on | off */
	uint16_t ctl;
	const uint16_t *io, *wk;
	size_t nio, nwk;
	const char *const *ports;
	size_t nports;
	const char *qmap; /* raw ferry.wan.queue.map, or NULL */
	int64_t mbufs;    /* ferry.mempool.mbufs */
	bool have_mem;    /* memcalc ran: need_* valid */
	struct ferry_memcalc_in mi;
	struct ferry_memcalc_out mo;
};

/* ---- findings --------------------------------------------------------------------------------- */

__attribute__((format(printf, 5, 6))) static void
finding(struct hw_host *h, const char *check, enum hw_sev sev, const char *fix, const char *fmt,
	...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (h->nf == h->capf) {
		size_t cap = h->capf ? h->capf * 2 : 32;
		struct hw_finding *nf = realloc(h->f, cap * sizeof(*nf));
		if (nf == NULL) {
			h->oom = true;
			return;
		}
		h->f = nf;
		h->capf = cap;
	}
	struct hw_finding *f = &h->f[h->nf];
	f->check = strdup(check);
	f->msg = strdup(msg);
	f->fix = fix ? strdup(fix) : NULL;
	f->sev = sev;
	f->seen = true;
	if (f->check == NULL || f->msg == NULL || (fix && f->fix == NULL)) {
		free(f->check);
		free(f->msg);
		free(f->fix);
		h->oom = true;
		return;
	}
	h->nf++;
}

/* A check the host would not let us make: info severity, seen = false. */
#define UNSEEN(h, check, ...)                                                                      \
	do {                                                                                       \
		finding((h), (check), HW_INFO, NULL, __VA_ARGS__);                                 \
		if (!(h)->oom && (h)->nf)                                                          \
			(h)->f[(h)->nf - 1].seen = false;                                          \
	} while (0)

static void
findings_free(struct hw_host *h)
{
	for (size_t i = 0; i < h->nf; i++) {
		free(h->f[i].check);
		free(h->f[i].msg);
		free(h->f[i].fix);
	}
	free(h->f);
}

/* ---- reading the host ------------------------------------------------------------------------- */

/* Append to / set a bounded string. Truncation is fine for report text; going through vsnprintf
 * keeps gcc's -Wformat-truncation quiet where the cut is intended. */
__attribute__((format(printf, 3, 4))) static void
bufcat(char *buf, size_t len, const char *fmt, ...)
{
	size_t o = strlen(buf);
	va_list ap;
	if (o + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static void
bufset(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5))) static void
hpath(const struct hw_host *h, char *buf, size_t len, const char *fmt, ...)
{
	size_t o = strlen(h->root);
	va_list ap;
	if (o >= len)
		o = len - 1;
	memcpy(buf, h->root, o);
	va_start(ap, fmt);
	vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

/* Whole small file into buf (NUL-terminated, trailing newline removed). 0 or -errno. */
static int
read_text(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "re");
	if (fp == NULL)
		return -errno;
	size_t n = fread(buf, 1, len - 1, fp);
	int rc = ferror(fp) ? -EIO : 0;
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return rc;
}

static int
read_u64(const char *path, uint64_t *v)
{
	char buf[64], *end;
	int rc = read_text(path, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (end == buf || errno)
		return -EINVAL;
	*v = x;
	return 0;
}

static bool
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Kernel cpulist ("0-3,8,10-11", maybe empty) into a map. 0, or -EINVAL. */
static int
cpulist_parse(const char *s, uint8_t *map, size_t n)
{
	memset(map, 0, n);
	const char *p = s;
	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			hi = strtoul(p + 1, &end, 10);
			if (end == p + 1 || hi < lo)
				return -EINVAL;
			p = end;
		}
		for (unsigned long c = lo; c <= hi && c < n; c++)
			map[c] = 1;
		if (*p && *p != ',' && !isspace((unsigned char)*p))
			return -EINVAL;
	}
	return 0;
}

static void
cpulist_fmt(const uint8_t *map, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t c = 0; c < n; c++) {
		if (!map[c])
			continue;
		size_t e = c;
		while (e + 1 < n && map[e + 1])
			e++;
		int w = e == c ? snprintf(buf + o, len - o, "%s%zu", o ? "," : "", c)
			       : snprintf(buf + o, len - o, "%s%zu-%zu", o ? "," : "", c, e);
		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
		c = e;
	}
	if (o == 0)
		snprintf(buf, len, "none");
}

/* Value of a kernel command-line option ("isolcpus"), or NULL. Copied into buf. */
static const char *
cmdline_opt(const struct hw_host *h, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);
	const char *p = h->cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, "--", 2) == 0 && (p[2] == ' ' || p[2] == '\0'))
			return NULL; /* init's arguments follow */
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) >= nl && strncmp(p, name, nl) == 0 &&
		    (p[nl] == '=' || p + nl == e)) {
			size_t vl = p[nl] == '=' ? (size_t)(e - p - nl - 1) : 0;
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, p[nl] == '=' ? p + nl + 1 : "", vl);
			buf[vl] = '\0';
			return buf;
		}
		p = e;
	}
	return NULL;
}

static void
host_load(struct hw_host *h)
{
	char path[PATH_MAX], buf[8192];

	hpath(h, path, sizeof(path), "/proc/cmdline");
	if (read_text(path, h->cmdline, sizeof(h->cmdline)) < 0)
		h->cmdline[0] = '\0';

	hpath(h, path, sizeof(path), "/sys/devices/system/cpu/online");
	if (read_text(path, buf, sizeof(buf)) < 0 ||
	    cpulist_parse(buf, h->online, HW_CPUS_MAX) < 0)
		memset(h->online, 0, sizeof(h->online));
	for (size_t c = 0; c < HW_CPUS_MAX; c++)
		h->ncpus += h->online[c];

	hpath(h, path, sizeof(path), "/sys/devices/system/cpu/isolated");
	if (read_text(path, buf, sizeof(buf)) < 0 ||
	    cpulist_parse(buf, h->isolated, HW_CPUS_MAX) < 0)
		memset(h->isolated, 0, sizeof(h->isolated));
	hpath(h, path, sizeof(path), "/sys/devices/system/cpu/nohz_full");
	if (read_text(path, buf, sizeof(buf)) < 0 || strcmp(buf, "(null)") == 0 ||
	    cpulist_parse(buf, h->nohz, HW_CPUS_MAX) < 0)
		memset(h->nohz, 0, sizeof(h->nohz));

	memset(h->cpu_node, 0xff, sizeof(h->cpu_node));
	for (unsigned n = 0; n < HW_NODES_MAX; n++) {
		uint8_t map[HW_CPUS_MAX];
		hpath(h, path, sizeof(path), "/sys/devices/system/node/node%u/cpulist", n);
		if (read_text(path, buf, sizeof(buf)) < 0)
			continue;
		h->nnodes++;
		if (cpulist_parse(buf, map, HW_CPUS_MAX) < 0)
			continue;
		for (size_t c = 0; c < HW_CPUS_MAX; c++)
			if (map[c])
				h->cpu_node[c] = (uint8_t)n;
	}
}

/* ---- CPU ---------------------------------------------------------------------------------------- */

static void
check_cpu(struct hw_host *h)
{
	/* SSE4.2: CRC32C (ISA-L) and Hyperscan's baseline; AES-NI and PCLMULQDQ: AES-256-GCM on
	 * every WAN packet at line rate; AVX2: Hyperscan's faster matchers (not required). */
	static const struct {
		const char *flag;
		enum hw_sev missing;
		const char *why;
	} need[] = {
		{ "sse4_2", HW_ERROR, "CRC32C of every batch and Hyperscan's baseline" },
		{ "aes", HW_ERROR, "AES-256-GCM on every WAN packet" },
		{ "pclmulqdq", HW_ERROR, "GHASH of AES-GCM" },
		{ "avx2", HW_WARN, "Hyperscan's AVX2 matchers (about 2x scan speed)" },
	};
	char path[PATH_MAX], line[8192], flags[8192] = "";
	hpath(h, path, sizeof(path), "/proc/cpuinfo");
	FILE *fp = fopen(path, "re");
	if (fp == NULL) {
		UNSEEN(h, "cpu.flags", "cannot read %s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		if (!h->cpu_model[0] && strncmp(line, "model name", 10) == 0)
			snprintf(h->cpu_model, sizeof(h->cpu_model), "%s", v);
		else if (!flags[0] && strncmp(line, "flags", 5) == 0)
			snprintf(flags, sizeof(flags), " %s ", v);
	}
	fclose(fp);
	if (!flags[0]) {
		UNSEEN(h, "cpu.flags", "%s has no flags line (not x86?)", path);
		return;
	}
	char have[256] = "", miss[256] = "";
	enum hw_sev worst = HW_OK;
	char fix[512] = "";
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		char pat[32];
		snprintf(pat, sizeof(pat), " %s ", need[i].flag);
		if (strstr(flags, pat)) {
			strncat(have, " ", sizeof(have) - strlen(have) - 1);
			strncat(have, need[i].flag, sizeof(have) - strlen(have) - 1);
			continue;
		}
		snprintf(miss + strlen(miss), sizeof(miss) - strlen(miss), " %s (%s)", need[i].flag,
			 need[i].why);
		if (need[i].missing > worst)
			worst = need[i].missing;
	}
	if (worst != HW_OK)
		snprintf(fix, sizeof(fix),
			 "use a CPU with these flags; on a VM pass the host CPU through "
			 "(libvirt: <cpu mode='host-passthrough'/>, QEMU: -cpu host)");
	if (worst == HW_OK)
		finding(h, "cpu.flags", HW_OK, NULL, "%s: has%s", h->cpu_model[0] ? h->cpu_model : "cpu",
			have);
	else
		finding(h, "cpu.flags", worst, fix, "%s: missing%s", h->cpu_model[0] ? h->cpu_model : "cpu",
			miss);

	/* SMT: two busy-polling lcores on sibling threads share one core's execution units. */
	uint64_t smt;
	hpath(h, path, sizeof(path), "/sys/devices/system/cpu/smt/active");
	if (read_u64(path, &smt) == 0)
		finding(h, "cpu.smt", smt ? HW_INFO : HW_OK, NULL,
			smt ? "SMT is on: the profiles in hw/profiles never put two busy lcores on "
			      "sibling threads (ferry-hwcheck --config checks yours)"
			    : "SMT is off: every lcore has a core of its own");

	/* A busy-polling core at a lower clock just polls slower; "performance" keeps it up. */
	char gov[64];
	hpath(h, path, sizeof(path), "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
	if (read_text(path, gov, sizeof(gov)) < 0)
		UNSEEN(h, "cpu.governor", "no cpufreq in sysfs (VM or driver off): clock policy unknown");
	else if (strcmp(gov, "performance") != 0)
		finding(h, "cpu.governor", HW_WARN,
			"cpupower frequency-set -g performance (or the BIOS 'performance' profile)",
			"cpu0 scaling governor is '%s'", gov);
	else
		finding(h, "cpu.governor", HW_OK, NULL, "scaling governor is performance");
}

/* ---- hugepages ---------------------------------------------------------------------------------- */

struct hw_mount {
	char dir[256];
	uint64_t pagesize_kb;
};

static size_t
hugetlbfs_mounts(struct hw_host *h, struct hw_mount *m, size_t cap, uint64_t default_kb,
		 bool *readable)
{
	char path[PATH_MAX], line[1024];
	size_t n = 0;
	hpath(h, path, sizeof(path), "/proc/mounts");
	FILE *fp = fopen(path, "re");
	*readable = fp != NULL;
	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) && n < cap) {
		char dev[256], dir[256], type[64], opts[512];
		if (sscanf(line, "%255s %255s %63s %511s", dev, dir, type, opts) != 4 ||
		    strcmp(type, "hugetlbfs") != 0)
			continue;
		snprintf(m[n].dir, sizeof(m[n].dir), "%s", dir);
		m[n].pagesize_kb = default_kb;
		const char *ps = strstr(opts, "pagesize=");
		if (ps) {
			char *end;
			unsigned long long v = strtoull(ps + 9, &end, 10);
			if (*end == 'G')
				v *= 1024 * 1024;
			else if (*end == 'M')
				v *= 1024;
			else if (*end == 'K' || *end == 'k')
				v *= 1;
			else
				v /= 1024; /* bytes */
			m[n].pagesize_kb = v;
		}
		n++;
	}
	fclose(fp);
	return n;
}

static uint64_t
default_hugepage_kb(struct hw_host *h)
{
	char path[PATH_MAX], line[256];
	uint64_t kb = 2048;
	hpath(h, path, sizeof(path), "/proc/meminfo");
	FILE *fp = fopen(path, "re");
	if (fp == NULL)
		return kb;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long v;
		if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
			kb = v;
	}
	fclose(fp);
	return kb;
}

static void
check_hugepages(struct hw_host *h, const struct hw_want *w)
{
	/* Severity of "no hugepages" follows ferry.hugepages: on fails, auto runs --no-huge (slow,
	 * says so), off never wanted them. Without a config: production, so "on". */
	enum hw_sev none_sev = HW_ERROR;
	if (w->huge && strcmp(w->huge, "auto") == 0)
		none_sev = HW_WARN;
	else if (w->huge && strcmp(w->huge, "off") == 0)
		none_sev = HW_INFO;

	static const uint64_t sizes_kb[] = { 2048, 1048576 };
	char path[PATH_MAX];
	uint64_t total_bytes = 0, free_bytes = 0;
	uint64_t size_total[2] = { 0, 0 };
	unsigned nodes_seen = 0;
	char fix[512];
	uint64_t need = w->have_mem ? w->mo.total_bytes : 0;
	if (w->have_mem)
		snprintf(fix, sizeof(fix),
			 "hw/hugepages/ferry-hugepages.sh --pages-2m %llu (now, per node), and "
			 "hw/hugepages/cmdline-2M.txt or cmdline-1G.txt (at boot)",
			 (unsigned long long)w->mo.pages_2m_node);
	else
		snprintf(fix, sizeof(fix),
			 "hw/hugepages/ferry-hugepages.sh --pages-2m N (now; N per node from "
			 "ferry-hwcheck --memory), and hw/hugepages/cmdline-2M.txt or cmdline-1G.txt "
			 "(at boot)");

	for (unsigned n = 0; n < HW_NODES_MAX; n++) {
		hpath(h, path, sizeof(path), "/sys/devices/system/node/node%u", n);
		if (!exists(path))
			continue;
		nodes_seen++;
		char line[256] = "";
		bool any = false;
		for (size_t s = 0; s < 2; s++) {
			uint64_t nr = 0, fr = 0;
			hpath(h, path, sizeof(path),
			      "/sys/devices/system/node/node%u/hugepages/hugepages-%llukB/nr_hugepages",
			      n, (unsigned long long)sizes_kb[s]);
			if (read_u64(path, &nr) < 0)
				continue;
			any = true;
			hpath(h, path, sizeof(path),
			      "/sys/devices/system/node/node%u/hugepages/hugepages-%llukB/"
			      "free_hugepages",
			      n, (unsigned long long)sizes_kb[s]);
			if (read_u64(path, &fr) < 0)
				fr = 0;
			total_bytes += nr * sizes_kb[s] * 1024;
			free_bytes += fr * sizes_kb[s] * 1024;
			size_total[s] += nr;
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 "%s%s: %llu configured, %llu free", line[0] ? "; " : "",
				 s == 0 ? "2 MiB" : "1 GiB", (unsigned long long)nr,
				 (unsigned long long)fr);
		}
		char id[48];
		snprintf(id, sizeof(id), "hugepages.node%u", n);
		if (!any)
			UNSEEN(h, id, "node%u: no hugepage counters in sysfs", n);
		else
			finding(h, id, HW_INFO, NULL, "node%u: %s", n, line);
	}
	if (nodes_seen == 0)
		UNSEEN(h, "hugepages.nodes",
		       "no /sys/devices/system/node: per-node hugepage counts cannot be read");

	if (total_bytes == 0)
		finding(h, "hugepages.configured", none_sev, fix,
			"no hugepages reserved%s", none_sev == HW_WARN ? ": ferryd would run with "
									"--no-huge (development speed)"
									: "");
	else if (need && free_bytes < need)
		finding(h, "hugepages.configured", HW_ERROR, fix,
			"%llu MiB of hugepages free, the memory formula needs %llu MiB",
			(unsigned long long)(free_bytes >> 20), (unsigned long long)(need >> 20));
	else
		finding(h, "hugepages.configured", HW_OK, NULL,
			"%llu MiB of hugepages reserved, %llu MiB free%s%s",
			(unsigned long long)(total_bytes >> 20),
			(unsigned long long)(free_bytes >> 20), need ? ", needed " : "",
			need ? "(see memory)" : "");

	bool readable;
	struct hw_mount m[16];
	size_t nm = hugetlbfs_mounts(h, m, 16, default_hugepage_kb(h), &readable);
	if (!readable) {
		UNSEEN(h, "hugepages.mounted", "cannot read /proc/mounts");
		return;
	}
	if (nm == 0) {
		finding(h, "hugepages.mounted", total_bytes ? HW_ERROR : none_sev,
			"systemctl enable --now dev-hugepages.mount (2 MiB), or install "
			"hw/hugepages/dev-hugepages1G.mount for 1 GiB pages",
			"no hugetlbfs mounted: DPDK finds no hugepages without one");
		return;
	}
	for (size_t s = 0; s < 2; s++) {
		if (size_total[s] == 0)
			continue;
		bool mounted = false;
		for (size_t i = 0; i < nm; i++)
			mounted |= m[i].pagesize_kb == sizes_kb[s];
		if (!mounted)
			finding(h, "hugepages.mounted", HW_WARN,
				s ? "install hw/hugepages/dev-hugepages1G.mount"
				  : "systemctl enable --now dev-hugepages.mount",
				"%s pages are reserved but no hugetlbfs of that page size is "
				"mounted: DPDK cannot use them",
				s ? "1 GiB" : "2 MiB");
	}
	char list[512] = "";
	for (size_t i = 0; i < nm; i++)
		bufcat(list, sizeof(list), "%s%s (%llu kB)",
			 i ? ", " : "", m[i].dir, (unsigned long long)m[i].pagesize_kb);
	finding(h, "hugepages.mounted", HW_OK, NULL, "hugetlbfs mounted: %s", list);
}

/* ---- cores -------------------------------------------------------------------------------------- */

static void
check_cores(struct hw_host *h, const struct hw_want *w)
{
	char buf[1024], opt[1024], fix[1024];
	cpulist_fmt(h->isolated, HW_CPUS_MAX, buf, sizeof(buf));
	if (h->ncpus == 0)
		UNSEEN(h, "cores.online", "cannot read /sys/devices/system/cpu/online");
	else
		finding(h, "cores.online", HW_INFO, NULL, "%u CPUs online, %u NUMA node(s), isolated: %s",
			h->ncpus, h->nnodes, buf);

	/* Busy lcores want isolcpus (no other tasks), nohz_full (no tick) and rcu_nocbs (no RCU
	 * callbacks); the profiles' .cmdline files set all three. */
	const char *rcu = cmdline_opt(h, "rcu_nocbs", opt, sizeof(opt));
	bool have_rcu = rcu != NULL;
	uint8_t rcu_map[HW_CPUS_MAX] = { 0 };
	if (rcu)
		cpulist_parse(rcu, rcu_map, HW_CPUS_MAX);
	if (!h->cmdline[0])
		UNSEEN(h, "cores.cmdline", "cannot read /proc/cmdline: rcu_nocbs and irqaffinity unknown");

	if (!w->have_conf) {
		size_t niso = 0;
		for (size_t c = 0; c < HW_CPUS_MAX; c++)
			niso += h->isolated[c];
		if (niso == 0)
			finding(h, "cores.isolated", HW_WARN,
				"pick the profile for this host in hw/profiles and add its .cmdline "
				"line to GRUB_CMDLINE_LINUX (hw/README.md, step 2)",
				"no isolated CPUs: busy-polling lcores would share cores with the "
				"kernel (pass --config to check a layout)");
		else
			finding(h, "cores.isolated", HW_OK, NULL,
				"isolated CPUs: %s; nohz_full %s; rcu_nocbs %s (pass --config to "
				"check them against the lcores)",
				buf, h->nohz[0] || memchr(h->nohz, 1, HW_CPUS_MAX) ? "set" : "not set",
				have_rcu ? "set" : "not set");
		return;
	}

	/* Every lcore must exist; busy ones should be isolated and tickless; the control lcore
	 * should not be isolated (librdkafka's threads inherit its affinity, and an isolated CPU
	 * is left out of load balancing, so they would all crowd that one CPU). */
	struct {
		const uint16_t *ids;
		size_t n;
		const char *role;
	} roles[2] = { { w->io, w->nio, "io" }, { w->wk, w->nwk, "worker" } };
	uint8_t busy[HW_CPUS_MAX] = { 0 };
	char notiso[512] = "", notick[512] = "", offline[512] = "";
	for (int r = 0; r < 2; r++)
		for (size_t i = 0; i < roles[r].n; i++) {
			uint16_t c = roles[r].ids[i];
			busy[c] = 1;
			char one[32];
			snprintf(one, sizeof(one), "%s%u(%s)", "", c, roles[r].role);
			if (h->ncpus && !h->online[c]) {
				snprintf(offline + strlen(offline), sizeof(offline) - strlen(offline),
					 " %s", one);
				continue;
			}
			if (!h->isolated[c])
				snprintf(notiso + strlen(notiso), sizeof(notiso) - strlen(notiso),
					 " %s", one);
			if (!h->nohz[c] || (have_rcu && !rcu_map[c]) || !have_rcu)
				snprintf(notick + strlen(notick), sizeof(notick) - strlen(notick),
					 " %s", one);
		}
	if (h->ncpus && w->ctl < HW_CPUS_MAX && !h->online[w->ctl])
		snprintf(offline + strlen(offline), sizeof(offline) - strlen(offline),
			 " %u(control)", w->ctl);
	if (offline[0])
		finding(h, "cores.lcores", HW_ERROR,
			"use a profile for this CPU count (hw/profiles) or fix the lcore lists",
			"lcores that are not online CPUs here:%s (lcore id = CPU id)", offline);
	else if (h->ncpus)
		finding(h, "cores.lcores", HW_OK, NULL, "every configured lcore is an online CPU");

	uint8_t want_iso[HW_CPUS_MAX];
	memcpy(want_iso, busy, sizeof(want_iso));
	char want[512];
	cpulist_fmt(want_iso, HW_CPUS_MAX, want, sizeof(want));
	bufset(fix, sizeof(fix),
		 "add 'isolcpus=managed_irq,domain,%s nohz_full=%s rcu_nocbs=%s' to the kernel "
		 "command line (the matching hw/profiles/*.cmdline has it) and reboot",
		 want, want, want);
	if (notiso[0])
		finding(h, "cores.isolated", w->busy ? HW_ERROR : HW_INFO, fix,
			"%s lcores not isolated:%s%s", w->busy ? "busy-polling" : "idle-mode", notiso,
			w->busy ? "" : " (fine for ferry.poll.mode = idle)");
	else if (!offline[0])
		finding(h, "cores.isolated", HW_OK, NULL, "io and worker lcores are isolated (%s)",
			want);
	if (!notiso[0] && notick[0])
		finding(h, "cores.nohz", w->busy ? HW_WARN : HW_INFO, fix,
			"lcores without nohz_full/rcu_nocbs:%s (timer ticks and RCU callbacks "
			"interrupt the poll loop)",
			notick);

	if (w->ctl < HW_CPUS_MAX && h->isolated[w->ctl])
		finding(h, "cores.control", HW_WARN,
			"put ferry.lcore.control on a housekeeping CPU (not in isolcpus)",
			"control lcore %u is isolated: librdkafka's threads inherit its affinity "
			"and would all share that one CPU",
			w->ctl);

	/* Busy lcores on SMT siblings halve each other. */
	char sib[512] = "";
	char path[PATH_MAX];
	for (size_t c = 0; c < HW_CPUS_MAX; c++) {
		if (!busy[c])
			continue;
		uint8_t smap[HW_CPUS_MAX];
		hpath(h, path, sizeof(path),
		      "/sys/devices/system/cpu/cpu%zu/topology/thread_siblings_list", c);
		if (read_text(path, buf, sizeof(buf)) < 0 ||
		    cpulist_parse(buf, smap, HW_CPUS_MAX) < 0)
			continue;
		for (size_t s = c + 1; s < HW_CPUS_MAX; s++)
			if (smap[s] && busy[s])
				snprintf(sib + strlen(sib), sizeof(sib) - strlen(sib), " %zu+%zu", c,
					 s);
	}
	if (sib[0])
		finding(h, "cores.smt", HW_WARN,
			"use one thread per core for busy lcores (or boot with nosmt)",
			"busy lcores on sibling threads of one core:%s", sib);

	char irq[256];
	if (cmdline_opt(h, "irqaffinity", irq, sizeof(irq)) == NULL && h->cmdline[0])
		finding(h, "cores.irqaffinity", w->busy ? HW_WARN : HW_INFO,
			"add irqaffinity=<housekeeping CPUs> (see hw/profiles/*.cmdline)",
			"irqaffinity not set: device interrupts may land on lcores");
}

/* ---- NICs, NUMA, IOMMU -------------------------------------------------------------------------- */

struct hw_nic {
	char addr[32];
	char driver[64];  /* "" = none bound */
	char iface[64];   /* kernel netdev, "" if none */
	char vendor[16], device[16];
	int node;
	bool dpdk;        /* bound to vfio-pci / uio: ready for a PMD */
	bool bifurcated;  /* mlx5_core: DPDK works beside the kernel driver */
};

static void
nic_read(struct hw_host *h, const char *addr, struct hw_nic *n)
{
	char path[PATH_MAX], link[PATH_MAX], buf[64];
	memset(n, 0, sizeof(*n));
	snprintf(n->addr, sizeof(n->addr), "%s", addr);
	n->node = -1;
	hpath(h, path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
	ssize_t l = readlink(path, link, sizeof(link) - 1);
	if (l > 0) {
		link[l] = '\0';
		const char *b = strrchr(link, '/');
		bufset(n->driver, sizeof(n->driver), "%s", b ? b + 1 : link);
	}
	hpath(h, path, sizeof(path), "/sys/bus/pci/devices/%s/numa_node", addr);
	if (read_text(path, buf, sizeof(buf)) == 0)
		n->node = atoi(buf);
	hpath(h, path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", addr);
	if (read_text(path, n->vendor, sizeof(n->vendor)) < 0)
		n->vendor[0] = '\0';
	hpath(h, path, sizeof(path), "/sys/bus/pci/devices/%s/device", addr);
	if (read_text(path, n->device, sizeof(n->device)) < 0)
		n->device[0] = '\0';
	/* netdev: net/<if> directly (most NICs) or under virtioN/net/<if> (virtio-net). */
	const char *subs[] = { "net", "virtio0/net", "virtio1/net", "virtio2/net", "virtio3/net" };
	for (size_t s = 0; s < sizeof(subs) / sizeof(subs[0]) && !n->iface[0]; s++) {
		hpath(h, path, sizeof(path), "/sys/bus/pci/devices/%s/%s", addr, subs[s]);
		DIR *d = opendir(path);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				bufset(n->iface, sizeof(n->iface), "%s", de->d_name);
				break;
			}
		closedir(d);
	}
	n->dpdk = strcmp(n->driver, "vfio-pci") == 0 || strcmp(n->driver, "uio_pci_generic") == 0 ||
		  strcmp(n->driver, "igb_uio") == 0;
	n->bifurcated = strcmp(n->driver, "mlx5_core") == 0;
}

static bool
pci_is_net(struct hw_host *h, const char *addr)
{
	char path[PATH_MAX], buf[32];
	hpath(h, path, sizeof(path), "/sys/bus/pci/devices/%s/class", addr);
	return read_text(path, buf, sizeof(buf)) == 0 && strncmp(buf, "0x02", 4) == 0;
}

/* The PCI part of a devargs item ("0000:3b:00.0,rxq_cqe_comp_en=1"), or false for a vdev. */
static bool
devargs_pci(const char *it, char *addr, size_t len)
{
	if (strncmp(it, "net_", 4) == 0)
		return false;
	size_t l = strcspn(it, ",");
	if (l >= len)
		l = len - 1;
	memcpy(addr, it, l);
	addr[l] = '\0';
	if (strlen(addr) == 7) { /* BB:DD.F: EAL assumes domain 0000 */
		char tmp[32];
		snprintf(tmp, sizeof(tmp), "0000:%s", addr);
		snprintf(addr, len, "%s", tmp);
	}
	return true;
}

/* Worker lcores polling 'port' (DESIGN §5): from the queue map, else every worker lcore
 * (ferry's default spread). */
static size_t
port_lcores(const struct hw_want *w, size_t port, uint16_t *out, size_t cap)
{
	size_t n = 0;
	if (w->qmap == NULL) {
		for (size_t i = 0; i < w->nwk && n < cap; i++)
			out[n++] = w->wk[i];
		return n;
	}
	const char *p = w->qmap;
	while (*p && n < cap) {
		unsigned pt, q, lc;
		int used = 0;
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (sscanf(p, "%u:%u@%u%n", &pt, &q, &lc, &used) != 3 || used == 0)
			break;
		p += used;
		if (pt == port)
			out[n++] = (uint16_t)lc;
	}
	return n;
}

static bool
check_nics(struct hw_host *h, const struct hw_want *w, bool *need_vfio)
{
	char path[PATH_MAX];
	*need_vfio = true;
	hpath(h, path, sizeof(path), "/sys/bus/pci/devices");
	DIR *d = opendir(path);
	if (d == NULL) {
		UNSEEN(h, "nics.pci", "cannot read %s: no PCI bus visible", path);
		return false;
	}
	struct hw_nic nics[64];
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && nn < 64)
		if (de->d_name[0] != '.' && pci_is_net(h, de->d_name))
			nic_read(h, de->d_name, &nics[nn++]);
	closedir(d);

	if (!w->have_conf || w->nports == 0) {
		size_t usable = 0, only_mlx = 1;
		char list[2048] = "";
		for (size_t i = 0; i < nn; i++) {
			const struct hw_nic *n = &nics[i];
			usable += n->dpdk || n->bifurcated;
			if (n->dpdk)
				only_mlx = 0;
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s [%s:%s] driver=%s%s%s node=%d", i ? "; " : "", n->addr, n->vendor,
				 n->device, n->driver[0] ? n->driver : "none",
				 n->iface[0] ? " netdev=" : "", n->iface, n->node);
		}
		if (nn == 0)
			UNSEEN(h, "nics.bound", "no network PCI devices on this host (VM or CI): NIC "
						"binding, RSS and NUMA locality not checked");
		else if (usable == 0)
			finding(h, "nics.bound", w->have_conf ? HW_INFO : HW_ERROR,
				"bind the WAN NIC: hw/nics/README.md (dpdk-devbind.py -b vfio-pci "
				"ADDR, or driverctl set-override ADDR vfio-pci; mlx5 stays on "
				"mlx5_core)",
				"no NIC is usable by DPDK (none on vfio-pci/uio, no mlx5): %s", list);
		else
			finding(h, "nics.bound", HW_OK, NULL, "NICs: %s", list);
		*need_vfio = usable == 0 || !only_mlx;
		if (w->have_conf && w->nports == 0)
			finding(h, "nics.ports", HW_INFO, "set ferry.wan.ports (hw/nics/*.properties)",
				"the config names no WAN port (ferry.wan.ports unset)");
		return nn > 0;
	}

	/* Configured ports: present, bound, and polled from their own NUMA node. */
	bool any_vfio = false;
	for (size_t p = 0; p < w->nports; p++) {
		char addr[64], id[48];
		snprintf(id, sizeof(id), "nics.port%zu", p);
		if (!devargs_pci(w->ports[p], addr, sizeof(addr))) {
			finding(h, id, HW_INFO, NULL,
				"port %zu '%s' is a virtual device: no PCI binding to check", p,
				w->ports[p]);
			continue;
		}
		struct hw_nic n;
		hpath(h, path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
		if (!exists(path)) {
			finding(h, id, HW_ERROR,
				"list the host's NICs with 'dpdk-devbind.py --status-dev net' and fix "
				"ferry.wan.ports",
				"port %zu: PCI device %s does not exist on this host", p, addr);
			any_vfio = true; /* unknown NIC: assume it will need vfio-pci */
			continue;
		}
		nic_read(h, addr, &n);
		if (n.dpdk) {
			any_vfio = true;
			finding(h, id, HW_OK, NULL, "port %zu: %s bound to %s (node %d)", p, addr,
				n.driver, n.node);
		} else if (n.bifurcated) {
			finding(h, id, HW_OK, NULL,
				"port %zu: %s on mlx5_core (bifurcated: DPDK runs beside netdev %s)", p,
				addr, n.iface[0] ? n.iface : "?");
		} else {
			char fix[512];
			bufset(fix, sizeof(fix),
				 "ip link set %s down; dpdk-devbind.py -b vfio-pci %s (or driverctl "
				 "set-override %s vfio-pci to keep it across reboots)",
				 n.iface[0] ? n.iface : "IFACE", addr, addr);
			finding(h, id, HW_ERROR, fix,
				"port %zu: %s is bound to %s%s%s: a PMD cannot drive it", p, addr,
				n.driver[0] ? n.driver : "no driver", n.iface[0] ? ", netdev " : "",
				n.iface);
			any_vfio = true; /* it will need vfio once bound */
		}

		/* NUMA: the lcores polling this port should sit on the NIC's node. */
		uint16_t lcs[256];
		size_t nl = port_lcores(w, p, lcs, 256);
		char remote[512] = "";
		for (size_t i = 0; i < nl; i++) {
			uint8_t cn = lcs[i] < HW_CPUS_MAX ? h->cpu_node[lcs[i]] : 0xff;
			if (n.node >= 0 && cn != 0xff && cn != n.node)
				snprintf(remote + strlen(remote), sizeof(remote) - strlen(remote),
					 " %u(node %u)", lcs[i], cn);
		}
		snprintf(id, sizeof(id), "numa.port%zu", p);
		if (n.node < 0)
			UNSEEN(h, id, "port %zu: %s reports no NUMA node (single-node host or "
				      "firmware does not say)", p, addr);
		else if (remote[0])
			finding(h, id, HW_WARN,
				"poll each port from lcores on its node (ferry.wan.queue.map; the "
				"two-node profiles in hw/profiles do)",
				"port %zu is on node %d but polled by lcores on another node:%s", p, n.node,
				remote);
		else
			finding(h, id, HW_OK, NULL, "port %zu (node %d) is polled from its own node",
				p, n.node);
	}
	*need_vfio = any_vfio;
	return true;
}

static void
check_iommu(struct hw_host *h, bool need_vfio)
{
	char path[PATH_MAX], opt[256], buf[64];
	enum hw_sev sev = need_vfio ? HW_ERROR : HW_INFO;
	const char *why = need_vfio ? "" : " (not needed: no port needs vfio-pci)";

	size_t groups = 0;
	hpath(h, path, sizeof(path), "/sys/kernel/iommu_groups");
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL)
			groups += de->d_name[0] != '.';
		closedir(d);
	}
	bool noiommu = false;
	hpath(h, path, sizeof(path), "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode");
	if (read_text(path, buf, sizeof(buf)) == 0)
		noiommu = buf[0] == 'Y' || buf[0] == '1';
	const char *intel = cmdline_opt(h, "intel_iommu", opt, sizeof(opt));
	bool intel_on = intel && strstr(intel, "on");
	char pt[64];
	bool passthrough = cmdline_opt(h, "iommu", pt, sizeof(pt)) && strcmp(pt, "pt") == 0;

	if (groups > 0)
		finding(h, "iommu.enabled", HW_OK, passthrough ? NULL
				: "add iommu=pt to the kernel command line: host devices keep "
				  "identity mappings (less IOTLB pressure), DPDK devices still get "
				  "their own domain",
			"IOMMU on: %zu groups%s%s", groups, intel_on ? " (intel_iommu=on)" : "",
			passthrough ? ", iommu=pt" : "");
	else if (noiommu)
		finding(h, "iommu.enabled", HW_WARN,
			"enable the IOMMU (intel_iommu=on iommu=pt, or amd_iommu=on) and turn "
			"noiommu mode off",
			"no IOMMU groups; vfio runs in unsafe no-IOMMU mode (the NIC can DMA "
			"anywhere)");
	else
		finding(h, "iommu.enabled", sev,
			"enable VT-d/AMD-Vi in the BIOS and add intel_iommu=on iommu=pt (Intel) or "
			"amd_iommu=on iommu=pt (AMD) to the kernel command line",
			"no IOMMU groups: vfio-pci cannot take devices%s", why);

	hpath(h, path, sizeof(path), "/sys/module/vfio_pci");
	bool mod = exists(path);
	hpath(h, path, sizeof(path), "/sys/bus/pci/drivers/vfio-pci");
	mod |= exists(path);
	hpath(h, path, sizeof(path), "/dev/vfio/vfio");
	bool dev = exists(path);
	if (mod && dev)
		finding(h, "iommu.vfio", HW_OK, NULL, "vfio-pci loaded, /dev/vfio/vfio present");
	else
		finding(h, "iommu.vfio", sev,
			"modprobe vfio-pci && echo vfio-pci > /etc/modules-load.d/vfio-pci.conf",
			"vfio-pci %s, /dev/vfio/vfio %s%s", mod ? "loaded" : "not loaded",
			dev ? "present" : "missing", why);
}

/* ---- memlock ------------------------------------------------------------------------------------ */

static bool
has_cap_ipc_lock(void)
{
	char line[256];
	FILE *fp = fopen("/proc/self/status", "re");
	bool cap = false;
	if (fp == NULL)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long long v;
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			cap = (v >> 14) & 1; /* CAP_IPC_LOCK */
	}
	fclose(fp);
	return cap;
}

static void
check_memlock(struct hw_host *h, const struct hw_want *w)
{
	struct rlimit rl;
	const char *fix = "run ferryd from hw/systemd/ferryd.service (LimitMEMLOCK=infinity), or "
			  "set '* - memlock unlimited' for its user in /etc/security/limits.d";
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
		UNSEEN(h, "memlock", "getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
		return;
	}
	bool cap = has_cap_ipc_lock();
	uint64_t need = w->have_mem ? w->mo.total_bytes : 0;
	if (rl.rlim_cur == RLIM_INFINITY)
		finding(h, "memlock", HW_OK, NULL, "memlock limit of this shell: unlimited");
	else if (cap)
		finding(h, "memlock", HW_OK, NULL,
			"memlock limit %llu KiB, but this process has CAP_IPC_LOCK (root): vfio "
			"DMA mappings are not limited. ferryd.service sets LimitMEMLOCK=infinity "
			"for non-root runs",
			(unsigned long long)(rl.rlim_cur >> 10));
	else
		finding(h, "memlock", need && rl.rlim_cur < need ? HW_ERROR : HW_WARN, fix,
			"memlock limit %llu KiB without CAP_IPC_LOCK: vfio pins all of DPDK's "
			"memory%s",
			(unsigned long long)(rl.rlim_cur >> 10),
			need ? " and the memory formula needs more" : "");
}

/* ---- memory (from the config and the command line) ---------------------------------------------- */

static void
check_memory(struct hw_host *h, const struct hw_want *w)
{
	if (!w->have_mem)
		return;
	if (w->have_conf && w->mbufs < (int64_t)w->mo.mbufs)
		finding(h, "memory.mbufs", HW_ERROR, NULL,
			"ferry.mempool.mbufs = %lld but the rings, bursts and caches of this layout "
			"hold %u: set ferry.mempool.mbufs = %u",
			(long long)w->mbufs, w->mo.mbufs_needed, w->mo.mbufs);
	finding(h, "memory.need", HW_INFO, NULL,
		"the memory formula gives %llu MiB (%llu x 2 MiB or %llu x 1 GiB pages; "
		"ferry-hwcheck --memory shows the parts)",
		(unsigned long long)(w->mo.total_bytes >> 20), (unsigned long long)w->mo.pages_2m,
		(unsigned long long)w->mo.pages_1g);
}

/* ---- output ------------------------------------------------------------------------------------- */

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
memory_json(FILE *f, const struct ferry_memcalc_in *in, const struct ferry_memcalc_out *o)
{
	fprintf(f,
		"{\"input\":{\"rate_bps\":%llu,\"rtt_ns\":%llu,\"ports\":%u,\"queues\":%u,"
		"\"rx_desc\":%u,\"tx_desc\":%u,\"burst\":%u,\"mempool_cache\":%u,"
		"\"io_lcores\":%u,\"worker_lcores\":%u,\"mtu\":%u,\"queue_depth\":%u,"
		"\"partitions\":%u,\"batch_bytes\":%llu,\"batch_depth\":%u,"
		"\"policy_db_bytes\":%llu,\"scratch_bytes\":%llu,\"numa_nodes\":%u,"
		"\"role\":\"%s\",\"headroom_pct\":%u,\"base_bytes\":%llu},",
		(unsigned long long)in->rate_bps, (unsigned long long)in->rtt_ns, in->ports,
		in->queues, in->rx_desc, in->tx_desc, in->burst, in->mempool_cache, in->io_lcores,
		in->worker_lcores, in->mtu, in->queue_depth, in->partitions,
		(unsigned long long)in->batch_bytes, in->batch_depth,
		(unsigned long long)in->policy_db_bytes, (unsigned long long)in->scratch_bytes,
		in->numa_nodes, ferry_memcalc_role_name(in->role), in->headroom_pct,
		(unsigned long long)in->base_bytes);
	fprintf(f,
		"\"bdp_bytes\":%llu,\"tx_retx_bytes\":%llu,\"rx_window_bytes\":%llu,"
		"\"mbufs_needed\":%u,\"mbufs\":%u,\"mbuf_dataroom\":%u,\"mbuf_obj_bytes\":%u,"
		"\"mbuf_bytes\":%llu,\"batch_bytes\":%llu,\"policy_bytes\":%llu,"
		"\"ring_bytes\":%llu,\"base_bytes\":%llu,\"subtotal_bytes\":%llu,"
		"\"headroom_bytes\":%llu,\"total_bytes\":%llu,\"pages_2m\":%llu,\"pages_1g\":%llu,"
		"\"pages_2m_per_node\":%llu,\"pages_1g_per_node\":%llu}",
		(unsigned long long)o->bdp_bytes, (unsigned long long)o->tx_retx_bytes,
		(unsigned long long)o->rx_window_bytes, o->mbufs_needed, o->mbufs, o->mbuf_dataroom,
		o->mbuf_obj_bytes, (unsigned long long)o->mbuf_bytes,
		(unsigned long long)o->batch_total_bytes, (unsigned long long)o->policy_bytes,
		(unsigned long long)o->ring_bytes, (unsigned long long)o->base_bytes,
		(unsigned long long)o->subtotal_bytes, (unsigned long long)o->headroom_bytes,
		(unsigned long long)o->total_bytes, (unsigned long long)o->pages_2m,
		(unsigned long long)o->pages_1g, (unsigned long long)o->pages_2m_node,
		(unsigned long long)o->pages_1g_node);
}

static void
mib_line(const char *label, uint64_t b, const char *why)
{
	printf("  %-22s %14llu B  %10.1f MiB  %s\n", label, (unsigned long long)b,
	       (double)b / (1024.0 * 1024.0), why);
}

static void
memory_text(const struct ferry_memcalc_in *in, const struct ferry_memcalc_out *o)
{
	printf("ferry memory, role %s: %.3f Gbit/s x %.1f ms RTT, %u port(s) x %u queue(s), MTU %u,"
	       " %u io + %u worker lcores, %u NUMA node(s)\n",
	       ferry_memcalc_role_name(in->role), (double)in->rate_bps / 1e9,
	       (double)in->rtt_ns / 1e6, in->ports, in->queues, in->mtu, in->io_lcores,
	       in->worker_lcores, in->numa_nodes);
	mib_line("bandwidth-delay", o->bdp_bytes, "rate x RTT / 8");
	mib_line("retransmit buffer", o->tx_retx_bytes, "source: 2 x BDP of batch bytes kept until acked");
	mib_line("receive window", o->rx_window_bytes, "target: 2 x BDP of reassembly buffers");
	char why[160];
	snprintf(why, sizeof(why), "%u mbufs/node (needed %u) x %u B (data room %u)", o->mbufs,
		 o->mbufs_needed, o->mbuf_obj_bytes, o->mbuf_dataroom);
	mib_line("mbuf pools", o->mbuf_bytes, why);
	snprintf(why, sizeof(why), "%u partitions x %llu B x %u", in->partitions,
		 (unsigned long long)in->batch_bytes, in->batch_depth);
	mib_line("batch buffers", o->batch_total_bytes, why);
	mib_line("policy db + scratch", o->policy_bytes, "2 x (db per node + scratch per worker)");
	mib_line("rings", o->ring_bytes, "2 x io x workers x depth x 8");
	mib_line("EAL/driver base", o->base_bytes, "per node");
	mib_line("subtotal", o->subtotal_bytes, "");
	snprintf(why, sizeof(why), "%u %%", in->headroom_pct);
	mib_line("headroom", o->headroom_bytes, why);
	mib_line("total", o->total_bytes, "");
	printf("set:   ferry.mempool.mbufs = %u\n", o->mbufs);
	printf("pages: %llu x 2 MiB (%llu per node) or %llu x 1 GiB (%llu per node)\n",
	       (unsigned long long)o->pages_2m, (unsigned long long)o->pages_2m_node,
	       (unsigned long long)o->pages_1g, (unsigned long long)o->pages_1g_node);
	printf("boot:  default_hugepagesz=1G hugepagesz=1G hugepages=%llu  "
	       "(or hw/hugepages/ferry-hugepages.sh --pages-2m %llu)\n",
	       (unsigned long long)o->pages_1g, (unsigned long long)o->pages_2m_node);
}

static void
report_text(const struct hw_host *h, const struct hw_want *w, bool ready, const size_t *count,
	    size_t unseen)
{
	printf("ferry-hwcheck: %s, %u CPUs, %u NUMA node(s)%s%s\n",
	       h->cpu_model[0] ? h->cpu_model : "unknown CPU", h->ncpus, h->nnodes,
	       w->have_conf ? ", config " : "", w->have_conf ? w->conf_path : "");
	for (size_t i = 0; i < h->nf; i++) {
		const struct hw_finding *f = &h->f[i];
		printf("[%s] %-22s %s%s\n", f->seen ? sev_tag[f->sev] : "  ?? ", f->check,
		       f->seen ? "" : "cannot see: ", f->msg);
		if (f->fix)
			printf("        %-22s fix: %s\n", "", f->fix);
	}
	printf("%s: %zu error(s), %zu warning(s), %zu not visible on this host\n",
	       ready ? "READY" : "NOT READY", count[HW_ERROR], count[HW_WARN], unseen);
}

static void
report_json(const struct hw_host *h, const struct hw_want *w, bool ready, const size_t *count,
	    size_t unseen)
{
	printf("{\"tool\":\"ferry-hwcheck\",\"version\":1,\"ready\":%s,", ready ? "true" : "false");
	printf("\"host\":{\"cpu_model\":");
	json_str(stdout, h->cpu_model);
	printf(",\"cpus\":%u,\"numa_nodes\":%u},\"config\":", h->ncpus, h->nnodes);
	if (w->have_conf)
		json_str(stdout, w->conf_path);
	else
		printf("null");
	printf(",\"summary\":{\"ok\":%zu,\"info\":%zu,\"warning\":%zu,\"error\":%zu,"
	       "\"unseen\":%zu},\"findings\":[",
	       count[HW_OK], count[HW_INFO], count[HW_WARN], count[HW_ERROR], unseen);
	for (size_t i = 0; i < h->nf; i++) {
		const struct hw_finding *f = &h->f[i];
		printf("%s{\"check\":", i ? "," : "");
		json_str(stdout, f->check);
		printf(",\"severity\":\"%s\",\"seen\":%s,\"message\":", sev_name[f->sev],
		       f->seen ? "true" : "false");
		json_str(stdout, f->msg);
		printf(",\"fix\":");
		if (f->fix)
			json_str(stdout, f->fix);
		else
			printf("null");
		putchar('}');
	}
	printf("],\"memory\":");
	if (w->have_mem)
		memory_json(stdout, &w->mi, &w->mo);
	else
		printf("null");
	printf("}\n");
}

/* ---- command line ------------------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: ferry-hwcheck [--config FILE] [--json] [--sysroot DIR] [memory options]\n"
		"       ferry-hwcheck --memory --rate RATE --rtt TIME [memory options] [--json]\n"
		"\n"
		"Checks whether this host can run ferryd: CPU flags, hugepages per NUMA node and\n"
		"their mounts, isolated cores vs the configured lcores, NUMA locality of the WAN\n"
		"ports, IOMMU and vfio, NIC bindings, memlock. Each finding has a severity and a fix.\n"
		"\n"
		"  --config FILE   a ferry config or hw/ fragment: check its lcores, ports, mbufs\n"
		"  --json          machine-readable report\n"
		"  --sysroot DIR   read DIR/proc and DIR/sys instead of the host's (tests)\n"
		"  --memory        only compute memory and mbufs (hw/README.md, \"Memory\")\n"
		"\n"
		"memory options (with --config, the config fills ports, queues, descriptors, MTU,\n"
		"lcores, queue depth and batch size; rate from ferry.wan.rate.mbps):\n"
		"  --rate RATE         WAN rate: 10gbit, 400mbit, 2.5g\n"
		"  --rtt TIME          round-trip time: 200ms, 0.17s\n"
		"  --ports N --queues N --rx-desc N --tx-desc N --mtu N\n"
		"  --io-lcores N --workers N --queue-depth N --numa-nodes N\n"
		"  --partitions N --batch-bytes SIZE --batch-depth N\n"
		"  --policy-db SIZE --scratch SIZE --headroom PCT --base SIZE\n"
		"  --role source|target|both   (default both)\n"
		"\n"
		"Exit status: 0 ready, 1 not ready, 2 usage. --memory: 0, or 2 on bad input.\n");
}

enum {
	OPT_CONFIG = 256,
	OPT_JSON,
	OPT_SYSROOT,
	OPT_MEMORY,
	OPT_RATE,
	OPT_RTT,
	OPT_PORTS,
	OPT_QUEUES,
	OPT_RXD,
	OPT_TXD,
	OPT_MTU,
	OPT_IO,
	OPT_WORKERS,
	OPT_QDEPTH,
	OPT_NODES,
	OPT_PARTS,
	OPT_BATCH,
	OPT_BDEPTH,
	OPT_DB,
	OPT_SCRATCH,
	OPT_HEADROOM,
	OPT_BASE,
	OPT_ROLE,
	OPT_HELP,
};

static int
parse_u32(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(s, &end, 10);
	if (end == s || *end || errno || x > UINT32_MAX || s[0] == '-')
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

/* Memory inputs the command line set explicitly (they win over the config). */
struct hw_cli_mem {
	bool rate, ports, queues, rxd, txd, mtu, io, wk, qdepth, nodes, batch;
};

static void
mem_from_conf(const struct ferry_conf *c, struct ferry_memcalc_in *mi, const struct hw_cli_mem *set,
	      const struct hw_want *w)
{
	if (!set->rate && ferry_conf_int(c, -1, "ferry.wan.rate.mbps") > 0)
		mi->rate_bps = (uint64_t)ferry_conf_int(c, -1, "ferry.wan.rate.mbps") * 1000000ull;
	if (!set->ports && w->nports > 0)
		mi->ports = (uint32_t)w->nports;
	if (!set->queues)
		mi->queues = (uint32_t)ferry_conf_int(c, -1, "ferry.wan.queues");
	if (!set->rxd)
		mi->rx_desc = (uint32_t)ferry_conf_int(c, -1, "ferry.wan.rx.desc");
	if (!set->txd)
		mi->tx_desc = (uint32_t)ferry_conf_int(c, -1, "ferry.wan.tx.desc");
	if (!set->mtu)
		mi->mtu = (uint32_t)ferry_conf_int(c, -1, "ferry.wan.mtu");
	if (!set->io && w->nio)
		mi->io_lcores = (uint32_t)w->nio;
	if (!set->wk && w->nwk)
		mi->worker_lcores = (uint32_t)w->nwk;
	if (!set->qdepth)
		mi->queue_depth = (uint32_t)ferry_conf_int(c, -1, "ferry.queue.depth");
	if (!set->batch)
		mi->batch_bytes = (uint64_t)ferry_conf_int(c, -1, "ferry.fetch.partition.max.bytes");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "memory", no_argument, NULL, OPT_MEMORY },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "rtt", required_argument, NULL, OPT_RTT },
		{ "ports", required_argument, NULL, OPT_PORTS },
		{ "queues", required_argument, NULL, OPT_QUEUES },
		{ "rx-desc", required_argument, NULL, OPT_RXD },
		{ "tx-desc", required_argument, NULL, OPT_TXD },
		{ "mtu", required_argument, NULL, OPT_MTU },
		{ "io-lcores", required_argument, NULL, OPT_IO },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "queue-depth", required_argument, NULL, OPT_QDEPTH },
		{ "numa-nodes", required_argument, NULL, OPT_NODES },
		{ "partitions", required_argument, NULL, OPT_PARTS },
		{ "batch-bytes", required_argument, NULL, OPT_BATCH },
		{ "batch-depth", required_argument, NULL, OPT_BDEPTH },
		{ "policy-db", required_argument, NULL, OPT_DB },
		{ "scratch", required_argument, NULL, OPT_SCRATCH },
		{ "headroom", required_argument, NULL, OPT_HEADROOM },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	static struct hw_host host; /* large maps: keep them off the stack */
	struct hw_host *h = &host;
	struct hw_want w = { .busy = true };
	struct hw_cli_mem set = { 0 };
	bool json = false, memory = false, have_rtt = false;
	const char *conf_path = NULL;
	int opt, rc = 2;
	ferry_memcalc_defaults(&w.mi);

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
		case OPT_CONFIG: conf_path = optarg; break;
		case OPT_JSON: json = true; break;
		case OPT_SYSROOT:
			snprintf(h->root, sizeof(h->root), "%s", optarg);
			break;
		case OPT_MEMORY: memory = true; break;
		case OPT_RATE:
			bad = ferry_memcalc_parse_rate(optarg, &w.mi.rate_bps);
			set.rate = true;
			break;
		case OPT_RTT:
			bad = ferry_memcalc_parse_duration(optarg, &w.mi.rtt_ns);
			have_rtt = true;
			break;
		case OPT_PORTS: bad = parse_u32(optarg, &w.mi.ports), set.ports = true; break;
		case OPT_QUEUES: bad = parse_u32(optarg, &w.mi.queues), set.queues = true; break;
		case OPT_RXD: bad = parse_u32(optarg, &w.mi.rx_desc), set.rxd = true; break;
		case OPT_TXD: bad = parse_u32(optarg, &w.mi.tx_desc), set.txd = true; break;
		case OPT_MTU: bad = parse_u32(optarg, &w.mi.mtu), set.mtu = true; break;
		case OPT_IO: bad = parse_u32(optarg, &w.mi.io_lcores), set.io = true; break;
		case OPT_WORKERS: bad = parse_u32(optarg, &w.mi.worker_lcores), set.wk = true; break;
		case OPT_QDEPTH: bad = parse_u32(optarg, &w.mi.queue_depth), set.qdepth = true; break;
		case OPT_NODES: bad = parse_u32(optarg, &w.mi.numa_nodes), set.nodes = true; break;
		case OPT_PARTS: bad = parse_u32(optarg, &w.mi.partitions); break;
		case OPT_BATCH:
			bad = ferry_memcalc_parse_size(optarg, &w.mi.batch_bytes);
			set.batch = true;
			break;
		case OPT_BDEPTH: bad = parse_u32(optarg, &w.mi.batch_depth); break;
		case OPT_DB: bad = ferry_memcalc_parse_size(optarg, &w.mi.policy_db_bytes); break;
		case OPT_SCRATCH: bad = ferry_memcalc_parse_size(optarg, &w.mi.scratch_bytes); break;
		case OPT_HEADROOM: bad = parse_u32(optarg, &w.mi.headroom_pct); break;
		case OPT_BASE: bad = ferry_memcalc_parse_size(optarg, &w.mi.base_bytes); break;
		case OPT_ROLE: bad = ferry_memcalc_parse_role(optarg, &w.mi.role); break;
		case OPT_HELP: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "ferry-hwcheck: bad value '%s' for --%s\n", optarg,
				opts[opt - OPT_CONFIG].name);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ferry-hwcheck: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	struct ferry_conf *c = NULL;
	if (conf_path) {
		char err[512];
		/* Fragment mode: hw/ profiles and NIC fragments are partial configs; a whole file
		 * loads the same way and `ferryctl config check` judges the rest. */
		int lrc = ferry_conf_load_file(conf_path, FERRY_CONF_LOAD_FRAGMENT, &c, err,
					       sizeof(err));
		if (c == NULL) {
			fprintf(stderr, "ferry-hwcheck: %s (%s)\n", err, strerror(-lrc));
			return 2;
		}
		w.have_conf = true;
		w.conf_path = conf_path;
		w.busy = strcmp(ferry_conf_str(c, -1, "ferry.poll.mode"), "busy") == 0;
		w.huge = ferry_conf_str(c, -1, "ferry.hugepages");
		w.ctl = (uint16_t)ferry_conf_int(c, -1, "ferry.lcore.control");
		w.nio = ferry_conf_lcores(c, "ferry.lcores.io", &w.io);
		w.nwk = ferry_conf_lcores(c, "ferry.lcores.worker", &w.wk);
		w.nports = ferry_conf_list(c, -1, "ferry.wan.ports", &w.ports);
		w.qmap = ferry_conf_prop_get(c, "ferry.wan.queue.map", NULL);
		w.mbufs = ferry_conf_int(c, -1, "ferry.mempool.mbufs");
		mem_from_conf(c, &w.mi, &set, &w);
		if (ferry_conf_n_errors(c) > 0)
			finding(h, "config", HW_ERROR, "ferryctl config check FILE --fragment",
				"%s has %zu configuration error(s)", conf_path,
				ferry_conf_n_errors(c));
	}

	if (memory) {
		char err[256];
		if (w.mi.rate_bps == 0 || !have_rtt) {
			fprintf(stderr, "ferry-hwcheck: --memory needs --rate (or ferry.wan.rate.mbps "
					"in --config) and --rtt\n");
			goto out;
		}
		if (ferry_memcalc(&w.mi, &w.mo, err, sizeof(err)) < 0) {
			fprintf(stderr, "ferry-hwcheck: %s\n", err);
			goto out;
		}
		if (json) {
			memory_json(stdout, &w.mi, &w.mo);
			putchar('\n');
		} else {
			memory_text(&w.mi, &w.mo);
		}
		rc = 0;
		goto out;
	}

	host_load(h);

	/* The readiness check computes memory too when it knows the link (rate and RTT). One
	 * packet pool per NUMA node that has WAN ports: count the ports' nodes on this host. */
	if (have_rtt && w.mi.rate_bps > 0) {
		if (!set.nodes && w.nports > 1) {
			uint8_t seen[HW_NODES_MAX] = { 0 };
			uint32_t nodes = 0;
			for (size_t p = 0; p < w.nports; p++) {
				char addr[64];
				struct hw_nic n;
				if (!devargs_pci(w.ports[p], addr, sizeof(addr)))
					continue;
				nic_read(h, addr, &n);
				if (n.node >= 0 && n.node < HW_NODES_MAX && !seen[n.node]++)
					nodes++;
			}
			w.mi.numa_nodes = nodes ? nodes : 1;
		}
		char err[256];
		if (ferry_memcalc(&w.mi, &w.mo, err, sizeof(err)) < 0) {
			fprintf(stderr, "ferry-hwcheck: %s\n", err);
			goto out;
		}
		w.have_mem = true;
	} else if (have_rtt) {
		finding(h, "memory.need", HW_INFO, "pass --rate, or set ferry.wan.rate.mbps",
			"memory not computed: the link rate is unknown (ferry.wan.rate.mbps is 0)");
	}

	bool need_vfio;
	check_cpu(h);
	check_hugepages(h, &w);
	check_cores(h, &w);
	check_nics(h, &w, &need_vfio);
	check_iommu(h, need_vfio);
	check_memlock(h, &w);
	check_memory(h, &w);
	if (h->oom) {
		fprintf(stderr, "ferry-hwcheck: out of memory\n");
		rc = 1;
		goto out;
	}

	size_t count[4] = { 0 }, unseen = 0;
	for (size_t i = 0; i < h->nf; i++) {
		count[h->f[i].sev]++;
		unseen += !h->f[i].seen;
	}
	bool ready = count[HW_ERROR] == 0;
	if (json)
		report_json(h, &w, ready, count, unseen);
	else
		report_text(h, &w, ready, count, unseen);
	rc = ready ? 0 : 1;
out:
	findings_free(h);
	ferry_conf_free(c);
	return rc;
}
