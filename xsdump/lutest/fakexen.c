/*
 * fakexen.c - an LD_PRELOAD library that lets Debian's prebuilt xenstore
 * daemons (C xenstored and OCaml oxenstored from xen-utils-4.17) run on a
 * plain Linux machine with no hypervisor.  Part of the xsdump test harness;
 * our own code, written against the documented library interfaces.  It
 * serves the daemons of Xen 4.17 and 4.20 alike (the domain-info structure
 * is the same in both: xen_domctl_getdomaininfo, 112 bytes on x86-64).
 *
 * Everything lives under one directory, $FAKEXEN_ROOT:
 *
 *   $FAKEXEN_ROOT/evtchn        FIFO standing in for /dev/xen/evtchn.  A client
 *                               "notifies" the daemon by writing a 4-byte port
 *                               number (native order) into it.
 *   $FAKEXEN_ROOT/ring-<domid>  4096-byte file: guest <domid>'s xenstore ring
 *                               page.  A guest "exists" (for the domain info
 *                               calls) when its ring file exists; dom0 always does.
 *   $FAKEXEN_ROOT/proc/xen/..., $FAKEXEN_ROOT/var/run/xen...,
 *   $FAKEXEN_ROOT/var/log/xen..., $FAKEXEN_ROOT/var/lib/xen...
 *                               Hard-coded system paths of the daemons are
 *                               rewritten to live below the root (so dom0's ring
 *                               page is $FAKEXEN_ROOT/proc/xen/xsd_kva and its
 *                               port $FAKEXEN_ROOT/proc/xen/xsd_port).
 *   $FAKEXEN_SYSROOT/usr/lib/xen-<version>/...
 *                               When set, the daemon's release was unpacked
 *                               there: its /usr/lib/xen-* paths (oxenstored
 *                               4.20 loads a plugin from one with dlopen) are
 *                               read below it.
 *
 * Event channel ports: binding an interdomain channel returns the remote port
 * as the local port, so a client knows which port to write into the FIFO; the
 * DOM_EXC virq is bound to FAKEXEN_VIRQ_PORT.  Notifications from the daemon
 * are dropped: clients poll the ring page.  syslog() lines go to stderr.
 *
 * Only the symbols the two daemons use are provided.  The real Xen libraries
 * still have to be loadable (they are linked), but none of their functions
 * that touch the hypervisor are reached.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define PAGE_SIZE 4096
#define FAKEXEN_VIRQ_PORT 1023
#define XENEVTCHN_NO_CLOEXEC 1
#define DOMID_FIRST_RESERVED 0x7FF0
#define DOMAININFO_SIZE 112	/* sizeof(xen_domctl_getdomaininfo), 4.17 to 4.20 */
#define MAX_FAKE_DOMAINS 1024

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static const char *root(void)
{
	const char *r = getenv("FAKEXEN_ROOT");
	return r ? r : "/nonexistent-FAKEXEN_ROOT-unset";
}

/* Look up the next definition of a libc symbol. */
#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* System directories whose paths are moved below $FAKEXEN_ROOT. */
static const char *const rewritten[] = {
	"/proc/xen/", "/var/run/xen", "/var/log/xen", "/var/lib/xen", NULL
};

/* Directories of the daemon's own release, moved below $FAKEXEN_SYSROOT. */
#define RELEASE_PREFIX "/usr/lib/xen-"

/*
 * Return the path to use for @path: unchanged, or $FAKEXEN_ROOT + path when
 * it starts with one of the prefixes above, or $FAKEXEN_SYSROOT + path for
 * the release's own directories.  @buf must hold PATH_MAX bytes.
 */
static const char *fix(const char *path, char *buf)
{
	const char *sysroot = getenv("FAKEXEN_SYSROOT");

	if (!path)
		return path;
	if (sysroot && *sysroot &&
	    !strncmp(path, RELEASE_PREFIX, strlen(RELEASE_PREFIX))) {
		snprintf(buf, PATH_MAX, "%s%s", sysroot, path);
		return buf;
	}
	if (!getenv("FAKEXEN_ROOT"))
		return path;
	for (int i = 0; rewritten[i]; i++) {
		if (!strncmp(path, rewritten[i], strlen(rewritten[i]))) {
			snprintf(buf, PATH_MAX, "%s%s", root(), path);
			return buf;
		}
	}
	return path;
}

static void *map_file(const char *path)
{
	REAL(open);
	int fd = real_open(path, O_RDWR | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void ring_path(unsigned int domid, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/ring-%u", root(), domid);
}

static int domain_exists(unsigned int domid)
{
	char buf[PATH_MAX];

	if (domid == 0)
		return 1;
	if (domid >= DOMID_FIRST_RESERVED)
		return 0;
	ring_path(domid, buf);
	return access(buf, F_OK) == 0;
}

/* ------------------------------------------------------------------ */
/* libxenctrl                                                          */
/* ------------------------------------------------------------------ */

typedef struct { int dummy; } xc_interface;
static struct { int code; char message[1024]; } last_error; /* xc_error */

xc_interface *xc_interface_open(void *logger, void *dombuild_logger,
				unsigned int flags)
{
	return calloc(1, sizeof(xc_interface));
}

int xc_interface_close(xc_interface *xch)
{
	free(xch);
	return 0;
}

/*
 * C xenstored 4.17: xc_domain_getinfo(xch, first, max, xc_dominfo_t *info).
 * xc_dominfo_t starts with u32 domid, u32 ssidref, then a word of bit
 * fields (dying, crashed, shutdown, ...), then u32 shutdown_reason; the
 * daemon reads nothing else.  Answer for exactly @first when it exists.
 */
int xc_domain_getinfo(xc_interface *xch, uint32_t first, unsigned int max,
		      void *info)
{
	uint32_t *w = info;

	if (!max || !domain_exists(first))
		return 0;
	memset(info, 0, 16);
	w[0] = first;
	return 1;
}

/*
 * xc_domaininfo_t (xen_domctl_getdomaininfo) starts with u16 domain, u16
 * pad, u32 flags (XEN_DOMINF_*); flags 0 means alive (not dying, not shut
 * down).  Every other field is zero.
 */
static void fill_domaininfo(void *info, unsigned int domid)
{
	memset(info, 0, DOMAININFO_SIZE);
	*(uint16_t *)info = (uint16_t)domid;
}

/* 4.20, both daemons: 0 and the domain's info, or -1 with errno ESRCH. */
int xc_domain_getinfo_single(xc_interface *xch, uint32_t domid, void *info)
{
	if (!domain_exists(domid)) {
		errno = ESRCH;
		return -1;
	}
	fill_domaininfo(info, domid);
	return 0;
}

static int by_domid(const void *a, const void *b)
{
	return (int)*(const unsigned int *)a - (int)*(const unsigned int *)b;
}

/*
 * oxenstored: xc_domain_getinfolist(xch, first, max, xc_domaininfo_t *info):
 * the existing domains from @first on, in order, at most @max of them
 * (4.17 asks for one domain this way; 4.20's plugin for all of them).
 */
int xc_domain_getinfolist(xc_interface *xch, uint32_t first, unsigned int max,
			  void *info)
{
	unsigned int found[MAX_FAKE_DOMAINS];
	unsigned int n = 0, domid;
	struct dirent *e;
	const char *c;
	DIR *d;

	if (first == 0)
		found[n++] = 0;
	d = opendir(root());
	while (d && (e = readdir(d)) && n < MAX_FAKE_DOMAINS) {
		if (strncmp(e->d_name, "ring-", 5) || !e->d_name[5])
			continue;
		/* digits by hand: no strtoul, whose C23 name newer glibcs
		 * bind to would not load into an older release's libc */
		for (domid = 0, c = e->d_name + 5; *c >= '0' && *c <= '9' &&
		     domid < DOMID_FIRST_RESERVED; c++)
			domid = domid * 10 + (unsigned int)(*c - '0');
		if (!*c && domid >= first && domid > 0 &&
		    domid < DOMID_FIRST_RESERVED)
			found[n++] = domid;
	}
	if (d)
		closedir(d);
	qsort(found, n, sizeof(found[0]), by_domid);
	if (n > max)
		n = max;
	for (unsigned int i = 0; i < n; i++)
		fill_domaininfo((char *)info + (size_t)i * DOMAININFO_SIZE, found[i]);
	return (int)n;
}

/* oxenstored maps an introduced guest's ring page this way. */
void *xc_map_foreign_range(xc_interface *xch, uint32_t dom, int size,
			   int prot, unsigned long mfn)
{
	char buf[PATH_MAX];

	ring_path(dom, buf);
	return map_file(buf);
}

const void *xc_get_last_error(xc_interface *xch)
{
	return &last_error;
}

const char *xc_error_code_to_desc(int code)
{
	return "fakexen: no hypervisor";
}

/* ------------------------------------------------------------------ */
/* libxenevtchn: a FIFO of 4-byte port numbers                         */
/* ------------------------------------------------------------------ */

typedef struct { int fd; } xenevtchn_handle;

xenevtchn_handle *xenevtchn_fdopen(void *logger, int fd, unsigned int flags)
{
	xenevtchn_handle *h = malloc(sizeof(*h));

	if (h)
		h->fd = fd;
	return h;
}

xenevtchn_handle *xenevtchn_open(void *logger, unsigned int flags)
{
	REAL(open);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/evtchn", root());
	if (mkfifo(path, 0600) && errno != EEXIST)
		return NULL;
	/* O_RDWR: never blocks on open, never sees EOF.  Keep it across
	 * exec when asked (live update hands the fd to the new binary). */
	fd = real_open(path, O_RDWR |
		       ((flags & XENEVTCHN_NO_CLOEXEC) ? 0 : O_CLOEXEC));
	if (fd < 0)
		return NULL;
	return xenevtchn_fdopen(logger, fd, 0);
}

int xenevtchn_close(xenevtchn_handle *h)
{
	if (h) {
		close(h->fd);
		free(h);
	}
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
	return h->fd;
}

/* The daemon only calls this after poll() reported the fd readable. */
int xenevtchn_pending(xenevtchn_handle *h)
{
	uint32_t port;

	if (read(h->fd, &port, sizeof(port)) != sizeof(port))
		return -1;
	return (int)port;
}

int xenevtchn_notify(xenevtchn_handle *h, uint32_t port)   { return 0; }
int xenevtchn_unmask(xenevtchn_handle *h, uint32_t port)   { return 0; }
int xenevtchn_unbind(xenevtchn_handle *h, uint32_t port)   { return 0; }
int xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
	return FAKEXEN_VIRQ_PORT;
}
int xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
			       uint32_t remote_port)
{
	return (int)remote_port;
}

/* ------------------------------------------------------------------ */
/* libxengnttab (C xenstored maps guest rings through the grant table) */
/* ------------------------------------------------------------------ */

typedef struct { int dummy; } xengnttab_handle;

xengnttab_handle *xengnttab_open(void *logger, unsigned int flags)
{
	return calloc(1, sizeof(xengnttab_handle));
}

int xengnttab_close(xengnttab_handle *h)
{
	free(h);
	return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *h, uint32_t count)
{
	return 0;
}

void *xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t domid,
			      uint32_t ref, int prot)
{
	char buf[PATH_MAX];

	ring_path(domid, buf);
	return map_file(buf);
}

int xengnttab_unmap(xengnttab_handle *h, void *start_address, uint32_t count)
{
	return munmap(start_address, (size_t)count * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* libc: path rewriting, and setrlimit                                 */
/* ------------------------------------------------------------------ */

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
	REAL(open);
	char buf[PATH_MAX];
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return real_open(fix(path, buf), flags, mode);
}

int open64(const char *path, int flags, ...)
{
	REAL(open64);
	char buf[PATH_MAX];
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return real_open64(fix(path, buf), flags, mode);
}

/* Plain one-path wrappers: call the real function on the rewritten path. */
#define WRAP1(ret, name, decl, call) \
	ret name decl \
	{ \
		REAL(name); \
		char buf[PATH_MAX]; \
		path = fix(path, buf); \
		return real_##name call; \
	}

WRAP1(FILE *, fopen, (const char *path, const char *mode), (path, mode))
WRAP1(int, stat, (const char *path, struct stat *st), (path, st))
WRAP1(int, lstat, (const char *path, struct stat *st), (path, st))
WRAP1(int, stat64, (const char *path, struct stat64 *st), (path, st))
WRAP1(int, lstat64, (const char *path, struct stat64 *st), (path, st))
WRAP1(int, access, (const char *path, int mode), (path, mode))
WRAP1(int, unlink, (const char *path), (path))
WRAP1(int, mkdir, (const char *path, mode_t mode), (path, mode))
WRAP1(int, chmod, (const char *path, mode_t mode), (path, mode))
WRAP1(DIR *, opendir, (const char *path), (path))

/* oxenstored 4.20 loads its domain-info plugin from its release's directory. */
void *dlopen(const char *path, int flags)
{
	REAL(dlopen);
	char buf[PATH_MAX];

	return real_dlopen(fix(path, buf), flags);
}

int rename(const char *from, const char *to)
{
	REAL(rename);
	char b1[PATH_MAX], b2[PATH_MAX];

	return real_rename(fix(from, b1), fix(to, b2));
}

/* Rewrite the path of an AF_UNIX address; other addresses pass through. */
static const struct sockaddr *fix_addr(const struct sockaddr *addr,
				       socklen_t *len, struct sockaddr_un *un)
{
	char buf[PATH_MAX];
	const char *p;

	if (!addr || addr->sa_family != AF_UNIX || *len <= sizeof(sa_family_t))
		return addr;
	p = fix(((const struct sockaddr_un *)addr)->sun_path, buf);
	if (p == ((const struct sockaddr_un *)addr)->sun_path ||
	    strlen(p) >= sizeof(un->sun_path))
		return addr;
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, p);
	*len = sizeof(*un);
	return (const struct sockaddr *)un;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	REAL(bind);
	struct sockaddr_un un;

	addr = fix_addr(addr, &len, &un);
	return real_bind(fd, addr, len);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	REAL(connect);
	struct sockaddr_un un;

	addr = fix_addr(addr, &len, &un);
	return real_connect(fd, addr, len);
}

/*
 * Both daemons log some events (e.g. live update) with syslog (the
 * fortified entry point, in 4.17's and 4.20's builds alike): send those
 * lines to stderr, i.e. the harness's log file, not the system log.
 */
void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "syslog: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

/*
 * oxenstored raises RLIMIT_NOFILE to fs.nr_open, which needs
 * CAP_SYS_RESOURCE.  Without it, settle for the current hard limit.
 */
int setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	REAL(setrlimit);
	struct rlimit cur, clamped;

	if (real_setrlimit(res, rl) == 0)
		return 0;
	if (errno != EPERM || getrlimit(res, &cur))
		return -1;
	clamped.rlim_max = cur.rlim_max;
	clamped.rlim_cur = rl->rlim_cur < cur.rlim_max ? rl->rlim_cur
						       : cur.rlim_max;
	return real_setrlimit(res, &clamped);
}
