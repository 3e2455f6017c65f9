/*
 * skiff-shim: the per-container shim of Skiff's process runtime, in C (the role of containerd-shim / Nomad's
 * executor). Same contract as the Node shim in src/kubelet/runtime/process/shim-source.ts, at ~1 MB RSS instead of
 * ~40 MB and without a JS engine to boot per container start:
 *
 *   skiff-shim SPEC      run a container. SPEC is a file of NUL-terminated tokens (`key value…`, see parse_spec).
 *                        The shim forks the container process, which joins its cgroup, the pod's namespaces
 *                        (setns on the infra process's /proc/PID/ns files), gets a private mount namespace with
 *                        its bind mounts, changes to workingDir, drops to runAsUser/Group and execs — no
 *                        nsenter/unshare/sh/setpriv hops. Then, exactly like the Node shim:
 *                        - started.json {pid, pidStart, startedAt, shimPid, shimStart}; a handshake line
 *                          {"ok":true,"pid":N} on stdout once attach is served ({"ok":false,"message":…} and
 *                          exit.json with reason StartError / exit code 128 when setup or exec failed);
 *                        - stdout/stderr in CRI format (`<RFC3339Nano> stdout F …`, P records per 16 KiB of a
 *                          longer line), size rotation (<log>.<YYYYMMDD-HHMMSS>, keeping logMaxFiles), reopen on
 *                          SIGUSR2;
 *                        - attach on a unix socket, frames [type u8][length u32 BE][payload]: 0 stdin, 1 stdout,
 *                          2 stderr, 3 close stdin, 5 exit code (decimal);
 *                        - ignores SIGTERM/SIGINT/SIGHUP/SIGPIPE; when the main process exits, SIGKILLs its process
 *                          group and every pid in the cgroup, and writes exit.json {exitCode (128+signal when
 *                          signalled), signal, finishedAt, oomKilled (oom_kill counter rose)}.
 *   skiff-shim prefork [--procs FILE]… [--ns /proc/P/ns/X]…
 *                        a pre-forked ("warm") shim for a pooled sandbox's first container: forks the container's
 *                        process at once, which joins the cgroup (writes its pid to each FILE: on cgroup v1 that can
 *                        wait a whole RCU grace period, 10–25 ms, so it is done ahead) and the namespaces, then
 *                        waits. The spec path arrives later as one line on stdin (EOF instead: exit, unused); from
 *                        there it is `skiff-shim SPEC` (the spec's procs/ns are the ones already joined). Should the
 *                        early join have failed, the container is started by a fresh child the ordinary way.
 *   skiff-shim pause [--net] [--uts] [--ipc] [--hostname H]
 *                        the pod's infra ("pause") process: unshares the namespaces, sets the hostname, brings lo
 *                        up, prints "ok\n" on stdout (the readiness signal) and sleeps until killed.
 *   skiff-shim launcher  the runtime's process launcher: starts shims and infra processes on request (double-fork,
 *                        setsid) so the agent never forks itself; see run_launcher.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_LINE 16384
#define MAX_CLIENTS 64
#define CLIENT_BUF_MAX (8u << 20) /* a client that falls this far behind is dropped */

/* ------------------------------------------------------------------ small helpers */

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) { fputs("skiff-shim: out of memory\n", stderr); _exit(1); }
  return q;
}

typedef struct { char **v; int n; } strv;
static void strv_push(strv *s, char *x) {
  s->v = xrealloc(s->v, sizeof(char *) * (s->n + 2));
  s->v[s->n++] = x;
  s->v[s->n] = NULL;
}

typedef struct { char *p; size_t len, cap; } buf_t;
static void buf_add(buf_t *b, const void *d, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->p = xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, d, n);
  b->len += n;
}
static void buf_drop(buf_t *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* RFC 3339 with nanoseconds, UTC, as containerd writes CRI logs. */
static int stamp(char *out, size_t n, long long ns) {
  time_t s = (time_t)(ns / 1000000000LL);
  struct tm tm;
  gmtime_r(&s, &tm);
  return snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, ns % 1000000000LL);
}

static int write_all(int fd, const void *d, size_t n) {
  const char *p = d;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  buf_t b = {0};
  char tmp[4096];
  ssize_t r;
  while ((r = read(fd, tmp, sizeof tmp)) > 0 || (r < 0 && errno == EINTR))
    if (r > 0) buf_add(&b, tmp, (size_t)r);
  close(fd);
  buf_add(&b, "", 1);
  if (len) *len = b.len - 1;
  return b.p;
}

/* JSON string literal of s into b. */
static void json_str(buf_t *b, const char *s) {
  buf_add(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char e[8];
    if (c == '"' || c == '\\') { e[0] = '\\'; e[1] = (char)c; buf_add(b, e, 2); }
    else if (c < 0x20) { snprintf(e, sizeof e, "\\u%04x", c); buf_add(b, e, 6); }
    else buf_add(b, s, 1);
  }
  buf_add(b, "\"", 1);
}
static void json_raw(buf_t *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  buf_add(b, tmp, (size_t)n);
}

/* Field 22 of /proc/PID/stat (start time in clock ticks): with the pid, the process's identity. */
static void start_ticks(pid_t pid, char *out, size_t n) {
  char path[64];
  out[0] = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  char *s = read_file(path, NULL);
  if (!s) return;
  char *p = strrchr(s, ')');
  for (int field = 2; p && *p && field < 22; p++)
    if (*p == ' ') field++;
  if (p) {
    size_t i = 0;
    while (p[i] && p[i] != ' ' && i + 1 < n) { out[i] = p[i]; i++; }
    out[i] = 0;
  }
  free(s);
}

static const char *signame(int sig) {
  static const char *names[] = {NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
                                "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
                                "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
                                "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
                                "SIGIO", "SIGPWR", "SIGSYS"};
  static char other[16];
  if (sig > 0 && sig < (int)(sizeof names / sizeof names[0])) return names[sig];
  snprintf(other, sizeof other, "SIG%d", sig);
  return other;
}

/* ------------------------------------------------------------------ spec */

struct mnt { char *src, *dst; char mode; /* 'w' read-write, 'r' readonly, 'o' optional (errors ignored) */ };
static struct {
  char *dir, *cwd, *log, *sock, *hostname, *trace_key;
  long long logmax;
  int logfiles, stdin_, uid, gid, mountns, gate;
  strv argv, env, oom, procs, ns;
  struct mnt *mounts;
  int nmounts;
} spec = {.uid = -1, .gid = -1};

/*
 * Tokens (each NUL-terminated): dir D | cwd D | log PATH | logmax N | logfiles N | sock PATH | stdin 0/1 |
 * uid N | gid N | argv A | env K=V | oom FILE | procs FILE | ns /proc/P/ns/X | mountns 1 | mount w/r/o SRC DST |
 * hostname H (set in the joined UTS namespace: a pre-created pooled sandbox gets its pod's hostname this way) |
 * trace FILE KEY (append `<epoch ms> KEY shim-EVENT` lines: the agent's $SKIFF_STARTUP_TRACE) |
 * gate 1 (the container is prepared — cgroup, namespaces, mounts, cwd, credentials — but execs only once a byte
 * arrives on the shim's stdin; EOF without one aborts the start: the agent overlaps the pod network setup with it).
 */
/* What this build understands beyond the base protocol (the runtime checks before relying on it). */
#define SHIM_FEATURES "skiff-shim-features: spec-hostname prefork"
#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A forked child about to exec: default dispositions and an empty signal mask, as a fresh process has. */
static void reset_signals(void) {
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static char *next_tok(char **p, char *end) {
  if (*p >= end) return NULL;
  char *t = *p;
  *p += strlen(t) + 1;
  return t;
}

/* Startup tracing (spec `trace FILE KEY`, set when the agent traces its start path): `<epoch ms> KEY shim-EVENT`. */
static int trace_fd = -1;
static void trace_open(const char *file) {
  if (trace_fd < 0) trace_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}
static void trace_ev(const char *event) {
  if (trace_fd < 0) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char line[512];
  int n = snprintf(line, sizeof line, "%lld.%03ld %s shim-%s\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                   (ts.tv_nsec / 1000) % 1000, spec.trace_key ? spec.trace_key : "-", event);
  if (n > 0 && n < (int)sizeof line) write_all(trace_fd, line, (size_t)n);
}

static void parse_spec(const char *path) {
  size_t len;
  char *d = read_file(path, &len);
  if (!d) { fprintf(stderr, "skiff-shim: cannot read spec %s: %s\n", path, strerror(errno)); exit(1); }
  char *p = d, *end = d + len;
#define NEXT() next_tok(&p, end)
  char *k;
  while ((k = NEXT())) {
    char *v = NEXT();
    if (!v) break;
    if (!strcmp(k, "dir")) spec.dir = v;
    else if (!strcmp(k, "cwd")) spec.cwd = v;
    else if (!strcmp(k, "log")) spec.log = v;
    else if (!strcmp(k, "sock")) spec.sock = v;
    else if (!strcmp(k, "hostname")) spec.hostname = v;
    else if (!strcmp(k, "trace")) {
      char *key = NEXT();
      if (!key) break;
      trace_open(v);
      spec.trace_key = key;
    }
    else if (!strcmp(k, "logmax")) spec.logmax = atoll(v);
    else if (!strcmp(k, "logfiles")) spec.logfiles = atoi(v);
    else if (!strcmp(k, "stdin")) spec.stdin_ = atoi(v);
    else if (!strcmp(k, "uid")) spec.uid = atoi(v);
    else if (!strcmp(k, "gid")) spec.gid = atoi(v);
    else if (!strcmp(k, "mountns")) spec.mountns = atoi(v);
    else if (!strcmp(k, "gate")) spec.gate = atoi(v);
    else if (!strcmp(k, "argv")) strv_push(&spec.argv, v);
    else if (!strcmp(k, "env")) strv_push(&spec.env, v);
    else if (!strcmp(k, "oom")) strv_push(&spec.oom, v);
    else if (!strcmp(k, "procs")) strv_push(&spec.procs, v);
    else if (!strcmp(k, "ns")) strv_push(&spec.ns, v);
    else if (!strcmp(k, "mount")) {
      char *src = NEXT(), *dst = NEXT();
      if (!src || !dst) break;
      spec.mounts = xrealloc(spec.mounts, sizeof(struct mnt) * (spec.nmounts + 1));
      spec.mounts[spec.nmounts++] = (struct mnt){src, dst, v[0]};
    }
  }
#undef NEXT
  if (!spec.dir || !spec.argv.n) { fputs("skiff-shim: spec lacks dir or argv\n", stderr); exit(1); }
  if (!spec.cwd) spec.cwd = "/";
  if (!spec.env.v) strv_push(&spec.env, DEFAULT_PATH_ENV);
}

static void write_json_file(const char *name, buf_t *b) {
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/%s", spec.dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all(fd, b->p, b->len) < 0) fprintf(stderr, "skiff-shim: write %s: %s\n", tmp, strerror(errno));
  if (fd >= 0) close(fd);
  if (rename(tmp, path) < 0) fprintf(stderr, "skiff-shim: rename %s: %s\n", tmp, strerror(errno));
}

static long long oom_count(void) {
  long long n = 0;
  for (int i = 0; i < spec.oom.n; i++) {
    char *s = read_file(spec.oom.v[i], NULL);
    if (!s) continue; /* cgroup gone */
    for (char *l = s; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
      if (!strncmp(l, "oom_kill ", 9)) n += atoll(l + 9);
    free(s);
  }
  return n;
}

/* ------------------------------------------------------------------ log file */

static int log_fd = -1;
static long long log_size;

static void open_log(void) {
  if (!spec.log || !spec.log[0]) return;
  log_fd = open(spec.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  struct stat st;
  log_size = log_fd >= 0 && fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void rotate(void) {
  close(log_fd);
  log_fd = -1;
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  char target[4200], suffix[32];
  strftime(suffix, sizeof suffix, "%Y%m%d-%H%M%S", &tm);
  snprintf(target, sizeof target, "%s.%s", spec.log, suffix);
  for (int i = 1; access(target, F_OK) == 0; i++) snprintf(target, sizeof target, "%s.%s.%d", spec.log, suffix, i);
  rename(spec.log, target);
  /* Keep logMaxFiles files in all: the current one and the newest rotated ones. */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", spec.log);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : dir;
  char prefix[4200];
  snprintf(prefix, sizeof prefix, "%s.", base);
  if (slash) *slash = 0;
  DIR *dp = opendir(slash ? (dir[0] ? dir : "/") : ".");
  if (dp) {
    strv old = {0};
    struct dirent *e;
    while ((e = readdir(dp)))
      if (!strncmp(e->d_name, prefix, strlen(prefix))) strv_push(&old, strdup(e->d_name));
    closedir(dp);
    if (old.n) qsort(old.v, (size_t)old.n, sizeof(char *), cmp_str);
    int keep = spec.logfiles - 1 > 0 ? spec.logfiles - 1 : 0;
    for (int i = 0; i < old.n; i++) {
      if (i < old.n - keep) {
        char p[8300];
        snprintf(p, sizeof p, "%s/%s", slash ? dir : ".", old.v[i]);
        unlink(p);
      }
      free(old.v[i]);
    }
    free(old.v);
  }
  open_log();
}

static void write_record(const char *stream, int partial, const char *content, size_t n) {
  if (log_fd < 0) return;
  char head[96];
  int h = stamp(head, sizeof head, now_ns());
  h += snprintf(head + h, sizeof head - (size_t)h, " %s %c ", stream, partial ? 'P' : 'F');
  struct iovec iov[3] = {{head, (size_t)h}, {(void *)content, n}, {"\n", 1}};
  size_t total = (size_t)h + n + 1;
  ssize_t w = writev(log_fd, iov, 3);
  if (w < 0) return;
  if ((size_t)w < total) { /* short write (disk full?): finish the record so the file stays parseable */
    size_t done = (size_t)w;
    for (int i = 0; i < 3; i++) {
      if (done >= iov[i].iov_len) { done -= iov[i].iov_len; continue; }
      if (write_all(log_fd, (char *)iov[i].iov_base + done, iov[i].iov_len - done) < 0) return;
      done = 0;
    }
  }
  log_size += (long long)total;
  if (spec.logmax > 0 && log_size >= spec.logmax) rotate();
}

/* ------------------------------------------------------------------ attach clients and output pumps */

typedef struct { int fd, shut; buf_t in, out; } client_t;
static client_t clients[MAX_CLIENTS];
static int nclients;
static int stdin_fd = -1, stdin_close_pending;
static buf_t stdin_buf;

static void drop_client(int i) {
  close(clients[i].fd);
  free(clients[i].in.p);
  free(clients[i].out.p);
  clients[i] = clients[--nclients];
}

static void flush_client(int i) {
  client_t *c = &clients[i];
  while (c->out.len) {
    ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      c->out.len = 0; /* peer gone; its EOF is noticed on read */
      return;
    }
    buf_drop(&c->out, (size_t)w);
  }
}

static void broadcast(int type, const void *d, size_t n) {
  unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                        (unsigned char)(n >> 8), (unsigned char)n};
  for (int i = nclients - 1; i >= 0; i--) {
    if (clients[i].out.len + n + 5 > CLIENT_BUF_MAX) { drop_client(i); continue; }
    buf_add(&clients[i].out, h, 5);
    buf_add(&clients[i].out, d, n);
    flush_client(i);
  }
}

static void flush_stdin(void) {
  while (stdin_fd >= 0 && stdin_buf.len) {
    ssize_t w = write(stdin_fd, stdin_buf.p, stdin_buf.len);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      stdin_buf.len = 0; /* the container closed its stdin */
      break;
    }
    buf_drop(&stdin_buf, (size_t)w);
  }
  if (stdin_fd >= 0 && stdin_close_pending && !stdin_buf.len) {
    close(stdin_fd);
    stdin_fd = -1;
  }
}

/* Frames from a client: 0 = stdin bytes, 3 = close stdin; others ignored. */
static void client_frames(client_t *c) {
  while (c->in.len >= 5) {
    unsigned char *h = (unsigned char *)c->in.p;
    size_t n = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
    if (c->in.len < 5 + n) break;
    if (h[0] == 0 && stdin_fd >= 0 && !stdin_close_pending) buf_add(&stdin_buf, c->in.p + 5, n);
    else if (h[0] == 3) stdin_close_pending = 1;
    buf_drop(&c->in, 5 + n);
  }
  flush_stdin();
}

typedef struct { int fd; const char *name; int type; char line[MAX_LINE]; size_t len; } pump_t;

/* Splits output into CRI records: F per line, P per 16 KiB of a longer one (bytes, as containerd). */
static void pump_data(pump_t *p, const char *d, size_t n) {
  while (n > 0) {
    const char *nl = memchr(d, '\n', n);
    size_t seg = nl ? (size_t)(nl - d) : n;
    while (seg > 0) {
      if (p->len == MAX_LINE) { write_record(p->name, 1, p->line, p->len); p->len = 0; }
      size_t k = seg < MAX_LINE - p->len ? seg : MAX_LINE - p->len;
      memcpy(p->line + p->len, d, k);
      p->len += k; d += k; n -= k; seg -= k;
    }
    if (nl) { write_record(p->name, 0, p->line, p->len); p->len = 0; d++; n--; }
  }
}

/* ------------------------------------------------------------------ the container process */

static void fail_child(int errfd, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  write_all(errfd, msg, (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1));
  _exit(127);
}

/* In the forked child: cgroup, namespaces, mounts, cwd, credentials, (gate,) exec. Errors go to errfd (CLOEXEC). */
static void child_main(int errfd, int gatefd, int in, int out, int err, int joined) {
  if (!joined) setsid(); /* its own session and process group: the agent signals -pid */
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  for (int i = 0; i < spec.procs.n && !joined; i++) {
    int fd = open(spec.procs.v[i], O_WRONLY | O_CLOEXEC);
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (fd < 0 || write(fd, pid, (size_t)n) != n) fail_child(errfd, "join cgroup %s: %s", spec.procs.v[i], strerror(errno));
    close(fd);
  }
  trace_ev("joined");
  for (int i = 0; i < spec.ns.n && !joined; i++) {
    int fd = open(spec.ns.v[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, 0) < 0) fail_child(errfd, "join namespace %s: %s", spec.ns.v[i], strerror(errno));
    close(fd);
  }
  trace_ev("setns");
  if (spec.hostname && sethostname(spec.hostname, strlen(spec.hostname)) < 0)
    fail_child(errfd, "sethostname %s: %s", spec.hostname, strerror(errno));
  if (spec.mountns) {
    if (unshare(CLONE_NEWNS) < 0) fail_child(errfd, "unshare mount namespace: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail_child(errfd, "make / private: %s", strerror(errno));
    for (int i = 0; i < spec.nmounts; i++) {
      struct mnt *m = &spec.mounts[i];
      if (mount(m->src, m->dst, NULL, MS_BIND, NULL) < 0) {
        if (m->mode == 'o') continue;
        fail_child(errfd, "bind mount %s on %s: %s", m->src, m->dst, strerror(errno));
      }
      if (m->mode == 'r' && mount(NULL, m->dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
        fail_child(errfd, "remount %s readonly: %s", m->dst, strerror(errno));
    }
  }
  trace_ev("mounted");
  if (chdir(spec.cwd) < 0)
    fail_child(errfd, "chdir to cwd (\"%s\") set in config.json failed: %s", spec.cwd, strerror(errno));
  if (spec.gid >= 0 || spec.uid >= 0) {
    gid_t gid = (gid_t)(spec.gid >= 0 ? spec.gid : spec.uid);
    setgroups(0, NULL);
    if (setgid(gid) < 0) fail_child(errfd, "setgid %d: %s", (int)gid, strerror(errno));
    if (spec.uid >= 0 && setuid((uid_t)spec.uid) < 0) fail_child(errfd, "setuid %d: %s", spec.uid, strerror(errno));
  }
  reset_signals();
  if (gatefd >= 0) {
    char go;
    ssize_t r;
    while ((r = read(gatefd, &go, 1)) < 0 && errno == EINTR) {}
    if (r != 1) fail_child(errfd, "start aborted by the runtime before exec");
    close(gatefd);
  }
  trace_ev("exec");
  environ = spec.env.v;
  execvp(spec.argv.v[0], spec.argv.v);
  fail_child(errfd, "exec: \"%s\": %s", spec.argv.v[0], errno == ENOENT ? "executable file not found in $PATH" : strerror(errno));
}

/* ------------------------------------------------------------------ the shim */

static void hello(const char *json) {
  write_all(1, json, strlen(json));
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0) { dup2(null, 1); close(null); }
}

/*
 * A pre-forked ("warm") shim's child, started ahead of its container (`skiff-shim prefork`): it joins the cgroup(s)
 * and namespaces now — a v1 cgroup.procs write can cost a whole RCU grace period (10–25 ms) — and then waits for
 * the spec path on `sp`. A failure here is reported on errfd prefixed with \1, so the shim starts a fresh child
 * the ordinary way instead.
 */
static void prefork_child(int errfd, int sp, int in, int devnull, int out, int err, strv *procs, strv *ns) {
  setsid();
  for (int i = 0; i < procs->n; i++) {
    int fd = open(procs->v[i], O_WRONLY | O_CLOEXEC);
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (fd < 0 || write(fd, pid, (size_t)n) != n) fail_child(errfd, "\1join cgroup %s: %s", procs->v[i], strerror(errno));
    close(fd);
  }
  for (int i = 0; i < ns->n; i++) {
    int fd = open(ns->v[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, 0) < 0) fail_child(errfd, "\1join namespace %s: %s", ns->v[i], strerror(errno));
    close(fd);
  }
  char path[4096];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof path - 1 && ((r = read(sp, path + len, sizeof path - 1 - len)) > 0 || (r < 0 && errno == EINTR)))
    if (r > 0) len += (size_t)r;
  if (len == 0) _exit(0); /* released unused */
  path[len] = 0;
  close(sp);
  if (access(path, R_OK) < 0) fail_child(errfd, "cannot read spec %s: %s", path, strerror(errno));
  parse_spec(path);
  child_main(errfd, -1, spec.stdin_ ? in : devnull, out, err, 1);
}

/* Reads the exec report of a started child: empty when it exec'd, else why it could not. */
static size_t exec_report(int rfd, char *msg, size_t cap) {
  size_t mlen = 0;
  ssize_t r;
  while ((r = read(rfd, msg + mlen, cap - 1 - mlen)) > 0 || (r < 0 && errno == EINTR))
    if (r > 0) mlen += (size_t)r;
  close(rfd);
  msg[mlen] = 0;
  return mlen;
}

/*
 * Runs a container (specPath), or — prefork (specPath NULL) — forks the container's process ahead, already in the
 * cgroup files `pre_procs` and the namespaces `pre_ns`, and waits for the spec path as one line on stdin (EOF:
 * released unused; the child goes too). Then the same as an ordinary start.
 */
static int run_shim(const char *specPath, strv *pre_procs, strv *pre_ns) {
  if (specPath) {
    parse_spec(specPath);
    trace_ev("spec");
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGUSR2);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);

  int outp[2], errp[2], inp[2], ep[2], sp[2] = {-1, -1};
  if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0 || pipe2(inp, O_CLOEXEC) < 0 ||
      (!specPath && pipe2(sp, O_CLOEXEC) < 0)) {
    perror("skiff-shim: pipe");
    return 1;
  }
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char msg[1024];
  size_t mlen = 0;
  pid_t pid;
  long long oom_before = 0; /* read before the container can run: the kernel counts its OOM kills */
  if (!specPath) {
    pid = fork();
    if (pid < 0) { perror("skiff-shim: fork"); return 1; }
    if (pid == 0) {
      close(ep[0]);
      close(sp[1]);
      prefork_child(ep[1], sp[0], inp[0], devnull, outp[1], errp[1], pre_procs, pre_ns);
    }
    close(sp[0]);
    close(ep[1]);
    /* The spec path: one line on stdin (read bytewise: nothing after it is consumed). */
    char path[4096];
    size_t len = 0;
    char c;
    ssize_t r;
    while (len < sizeof path - 1 && ((r = read(0, &c, 1)) == 1 || (r < 0 && errno == EINTR)))
      if (r == 1) { if (c == '\n') break; path[len++] = c; }
    path[len] = 0;
    if (len == 0) { /* released unused */
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      return 0;
    }
    parse_spec(path);
    trace_ev("spec");
    char logp[4200];
    snprintf(logp, sizeof logp, "%s/shim.log", spec.dir);
    int lf = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (lf >= 0) { dup2(lf, 2); close(lf); }
    if (spec.gate) { /* a gated start: the go byte follows the path */
      while ((r = read(0, &c, 1)) < 0 && errno == EINTR) {}
      if (r != 1 || c != '1') {
        kill(pid, SIGKILL);
        mlen = (size_t)snprintf(msg, sizeof msg, "start aborted by the runtime before exec");
      }
    }
    dup2(devnull, 0);
    open_log();
    oom_before = oom_count();
    if (!mlen) {
      write_all(sp[1], path, len);
      close(sp[1]);
      mlen = exec_report(ep[0], msg, sizeof msg);
    } else {
      close(sp[1]);
      close(ep[0]);
    }
    if (mlen && msg[0] == '\1') {
      /* The pre-forked child could not join: start a fresh one the ordinary way. */
      fprintf(stderr, "skiff-shim: pre-forked child: %s; starting a fresh one\n", msg + 1);
      waitpid(pid, NULL, 0);
      if (pipe2(ep, O_CLOEXEC) < 0) { perror("skiff-shim: pipe"); return 1; }
      pid = fork();
      if (pid < 0) { perror("skiff-shim: fork"); return 1; }
      if (pid == 0) {
        close(ep[0]);
        child_main(ep[1], -1, spec.stdin_ ? inp[0] : devnull, outp[1], errp[1], 0);
      }
      close(ep[1]);
      mlen = exec_report(ep[0], msg, sizeof msg);
    }
  } else {
    open_log();
    oom_before = oom_count();
    /* The gate is the shim's stdin (a pipe from the agent), moved above 2 so the child's dup2s keep it. */
    int gatefd = spec.gate ? fcntl(0, F_DUPFD_CLOEXEC, 3) : -1;
    pid = fork();
    if (pid < 0) { perror("skiff-shim: fork"); return 1; }
    if (pid == 0) {
      close(ep[0]);
      child_main(ep[1], gatefd, spec.stdin_ ? inp[0] : devnull, outp[1], errp[1], 0);
    }
    if (gatefd >= 0) {
      close(gatefd);
      dup2(devnull, 0); /* only the child waits on the agent's pipe */
    }
    close(ep[1]);
    /* The child closes ep[1] by exec (CLOEXEC); anything written before is why it could not start. */
    mlen = exec_report(ep[0], msg, sizeof msg);
  }
  close(outp[1]);
  close(errp[1]);
  close(inp[0]);
  if (spec.stdin_) { stdin_fd = inp[1]; fcntl(stdin_fd, F_SETFL, O_NONBLOCK); }
  else close(inp[1]);
  close(devnull);
  trace_ev("execd");
  if (mlen > 0) {
    char line[1100];
    int n = snprintf(line, sizeof line, "skiff-shim: %s", msg);
    write_record("stderr", 0, line, (size_t)n);
    waitpid(pid, NULL, 0);
    buf_t b = {0};
    json_raw(&b, "{\"exitCode\":128,\"signal\":null,\"finishedAt\":\"%lld\",\"oomKilled\":false,\"reason\":\"StartError\",\"message\":", now_ns());
    json_str(&b, msg);
    buf_add(&b, "}", 1);
    write_json_file("exit.json", &b);
    buf_t h = {0};
    buf_add(&h, "{\"ok\":false,\"message\":", 22);
    json_str(&h, msg);
    buf_add(&h, "}\n", 3); /* with the terminating NUL */
    hello(h.p);
    return 0;
  }

  char ps[32], ss[32];
  start_ticks(pid, ps, sizeof ps);
  start_ticks(getpid(), ss, sizeof ss);
  buf_t b = {0};
  json_raw(&b, "{\"pid\":%d,\"pidStart\":\"%s\",\"startedAt\":\"%lld\",\"shimPid\":%d,\"shimStart\":\"%s\"}", (int)pid, ps,
           now_ns(), (int)getpid(), ss);
  write_json_file("started.json", &b);
  free(b.p);

  /* Serve attach before reporting, so an attach right after start finds the socket. */
  int lfd = -1;
  if (spec.sock && spec.sock[0]) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", spec.sock);
    unlink(spec.sock);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0) {
      fprintf(stderr, "skiff-shim: attach socket: %s\n", strerror(errno));
      if (lfd >= 0) close(lfd);
      lfd = -1;
    }
  }
  char hi[64];
  snprintf(hi, sizeof hi, "{\"ok\":true,\"pid\":%d}\n", (int)pid);
  trace_ev("hello");
  hello(hi);

  static pump_t pumps[2];
  pumps[0] = (pump_t){.fd = outp[0], .name = "stdout", .type = 1};
  pumps[1] = (pump_t){.fd = errp[0], .name = "stderr", .type = 2};
  int exited = 0, status = 0;
  long long finished_at = 0, deadline = 0;
  char chunk[65536];
  for (;;) {
    if (exited && ((pumps[0].fd < 0 && pumps[1].fd < 0) || now_ns() >= deadline)) break;
    struct pollfd fds[5 + MAX_CLIENTS];
    int nf = 0;
    fds[nf++] = (struct pollfd){sfd, POLLIN, 0};
    fds[nf++] = (struct pollfd){lfd, POLLIN, 0};
    fds[nf++] = (struct pollfd){pumps[0].fd, POLLIN, 0};
    fds[nf++] = (struct pollfd){pumps[1].fd, POLLIN, 0};
    fds[nf++] = (struct pollfd){stdin_buf.len ? stdin_fd : -1, POLLOUT, 0};
    for (int i = 0; i < nclients; i++) fds[nf++] = (struct pollfd){clients[i].fd, POLLIN | (clients[i].out.len ? POLLOUT : 0), 0};
    int timeout = exited ? (int)((deadline - now_ns()) / 1000000) + 1 : -1;
    if (poll(fds, (nfds_t)nf, timeout) < 0) {
      if (errno == EINTR) continue;
      perror("skiff-shim: poll");
      break;
    }
    if (fds[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGUSR2) {
          if (log_fd >= 0) close(log_fd);
          log_fd = -1;
          open_log();
        }
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
        if (w != pid || exited) continue;
        exited = 1;
        status = st;
        finished_at = now_ns();
        /* Take down whatever the container left behind, as runc does when a container's init exits. */
        kill(-pid, SIGKILL);
        for (int i = 0; i < spec.procs.n; i++) {
          char *s = read_file(spec.procs.v[i], NULL);
          for (char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
            if (atoi(l) > 0) kill(atoi(l), SIGKILL);
          free(s);
        }
        deadline = finished_at + 2000000000LL;
      }
    }
    if (fds[1].revents & POLLIN) {
      int c;
      while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
        if (nclients == MAX_CLIENTS) { close(c); continue; }
        clients[nclients++] = (client_t){.fd = c};
      }
    }
    for (int k = 0; k < 2; k++) {
      pump_t *p = &pumps[k];
      if (p->fd < 0 || !fds[2 + k].revents) continue;
      ssize_t n = read(p->fd, chunk, sizeof chunk);
      if (n > 0) {
        broadcast(p->type, chunk, (size_t)n);
        pump_data(p, chunk, (size_t)n);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (p->len) write_record(p->name, 0, p->line, p->len);
        p->len = 0;
        close(p->fd);
        p->fd = -1;
      }
    }
    if (fds[4].revents) flush_stdin();
    /* Clients: walk the polled ones backwards (drop_client moves the last into the hole). */
    for (int i = nf - 6; i >= 0; i--) {
      if (i >= nclients || fds[5 + i].fd != clients[i].fd) continue;
      short rv = fds[5 + i].revents;
      if (rv & POLLOUT) flush_client(i);
      if (rv & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = read(clients[i].fd, chunk, sizeof chunk);
        if (n > 0) {
          buf_add(&clients[i].in, chunk, (size_t)n);
          client_frames(&clients[i]);
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) drop_client(i);
      }
    }
  }

  /* The kernel bumps oom_kill just before the victim dies; read it once the process is gone. */
  int oom = oom_count() > oom_before;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  buf_t e = {0};
  json_raw(&e, "{\"exitCode\":%d,\"signal\":", code);
  if (WIFSIGNALED(status)) json_str(&e, signame(WTERMSIG(status)));
  else buf_add(&e, "null", 4);
  json_raw(&e, ",\"finishedAt\":\"%lld\",\"oomKilled\":%s}", finished_at, oom ? "true" : "false");
  write_json_file("exit.json", &e);
  char cs[16];
  int cn = snprintf(cs, sizeof cs, "%d", code);
  broadcast(5, cs, (size_t)cn);
  /*
   * Give clients up to a second to take the rest of their output and the exit frame, then half-close and wait for
   * their close, reading (and dropping) what they still send: closing a unix socket with unread input resets the
   * connection, and the client could lose output it has not read yet.
   */
  long long until = now_ns() + 1000000000LL;
  while (nclients > 0) {
    struct pollfd pf[MAX_CLIENTS];
    for (int i = 0; i < nclients; i++) {
      flush_client(i);
      if (!clients[i].out.len && !clients[i].shut) {
        shutdown(clients[i].fd, SHUT_WR);
        clients[i].shut = 1;
      }
      pf[i] = (struct pollfd){clients[i].fd, POLLIN | (clients[i].out.len ? POLLOUT : 0), 0};
    }
    long long left = (until - now_ns()) / 1000000;
    if (left <= 0) break;
    int n = nclients;
    if (poll(pf, (nfds_t)n, (int)left) < 0 && errno != EINTR) break;
    for (int i = n - 1; i >= 0; i--) {
      if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(clients[i].fd, chunk, sizeof chunk);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) drop_client(i);
    }
  }
  while (nclients > 0) drop_client(nclients - 1);
  if (spec.sock && spec.sock[0]) unlink(spec.sock);
  if (log_fd >= 0) close(log_fd);
  return 0;
}

/* ------------------------------------------------------------------ the pod infra process */

static int run_pause(int argc, char **argv) {
  int flags = 0;
  const char *host = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--net")) flags |= CLONE_NEWNET;
    else if (!strcmp(argv[i], "--uts")) flags |= CLONE_NEWUTS;
    else if (!strcmp(argv[i], "--ipc")) flags |= CLONE_NEWIPC;
    else if (!strcmp(argv[i], "--hostname") && i + 1 < argc) host = argv[++i];
  }
  if (flags && unshare(flags) < 0) { fprintf(stderr, "unshare: %s\n", strerror(errno)); return 1; }
  if (host && (flags & CLONE_NEWUTS) && sethostname(host, strlen(host)) < 0) {
    fprintf(stderr, "sethostname %s: %s\n", host, strerror(errno));
    return 1;
  }
  if (flags & CLONE_NEWNET) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
      fprintf(stderr, "set lo up: %s\n", strerror(errno));
      return 1;
    }
    close(s);
  }
  if (chdir("/") < 0) { /* not fatal */ }
  write_all(1, "ok\n", 3);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  for (;;) pause();
}

/* ------------------------------------------------------------------ the launcher ("zygote") */

/*
 * `skiff-shim launcher`: a small long-lived process the runtime starts once and asks to start shims and infra
 * processes, so the large agent process never forks (a fork of a big Node process costs milliseconds of its event
 * loop under load). Requests arrive on stdin as frames [u32 BE length][NUL-terminated tokens]:
 *   spawn ID  gate 0|1  cwd DIR  err FILE  argv A…  env K=V…     start argv[0] (PATH lookup in env)
 *   go ID | abort ID                                              open a gated start's stdin gate (one byte) / close it
 *   send ID DATA                                                  write DATA to a gated start's stdin, then close it
 *                                                                 (a pre-forked shim's spec path)
 *   exec ID  stdin DATA  argv A…  env K=V…                        run a helper (a CNI plugin…) as the launcher's
 *                                                                 child: DATA on its stdin, stdout/stderr collected
 *   kill ID                                                       SIGKILL an exec (its timeout)
 * Each process gets its own session (setsid), so nothing aimed at the agent's process group or session reaches it,
 * and it outlives the launcher and the agent (restart safety: when they die it is reparented to init and keeps
 * running). The launcher reaps the ones that exit while it lives (so no zombies pile up under an init that does not
 * reap, e.g. in a container). Its stdin is the gate pipe (or /dev/null), stdout a pipe the launcher reads its first line
 * from, stderr appended to FILE (or /dev/null). Replies on stdout, one line each:
 *   ID pid N | ID line TEXT (the first stdout line) | ID eof (stdout closed without a line) | ID error MESSAGE
 *   ID done CODE SIGNAL OUTLEN ERRLEN, then OUTLEN bytes of stdout and ERRLEN of stderr (an exec finished; CODE is
 *   -1 when it was killed by SIGNAL)
 * EOF on stdin (the agent went away) ends the launcher; started processes are unaffected.
 */
typedef struct { int id, outfd, gatefd; char line[4096]; size_t len; } launch_t;
static launch_t *launches;
static int nlaunches;
typedef struct { int id, pid, infd, outfd, errfd, exited, status; buf_t in, out, err; } exec_t;
static exec_t *execs;
static int nexecs;

static void reply(const char *fmt, ...) {
  char msg[4200];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof msg - 2) n = (int)sizeof msg - 2;
  msg[n++] = '\n';
  if (write_all(1, msg, (size_t)n) < 0) _exit(0); /* the agent is gone */
}

/* The launcher's forked child: exec argv with env (stdio already in place); 127 when it cannot. */
static void exec_child(strv *argv, strv *env) {
  reset_signals();
  environ = env->v;
  execvp(argv->v[0], argv->v);
  dprintf(2, "exec %s: %s\n", argv->v[0], strerror(errno));
  _exit(127);
}

static void launch(char *p, char *end) {
  int id = -1, gate = 0;
  const char *cwd = "/", *errpath = "";
  strv argv = {0}, env = {0};
  char *k;
  while ((k = next_tok(&p, end))) {
    char *v = next_tok(&p, end);
    if (!v) break;
    if (!strcmp(k, "spawn")) id = atoi(v);
    else if (!strcmp(k, "gate")) gate = atoi(v);
    else if (!strcmp(k, "cwd")) cwd = v;
    else if (!strcmp(k, "err")) errpath = v;
    else if (!strcmp(k, "argv")) strv_push(&argv, v);
    else if (!strcmp(k, "env")) strv_push(&env, v);
  }
  if (!env.v) strv_push(&env, DEFAULT_PATH_ENV);
  int outp[2] = {-1, -1}, gp[2] = {-1, -1};
  if (!argv.n) { reply("%d error no argv", id); goto out; }
  if (pipe2(outp, O_CLOEXEC) < 0 || (gate && pipe2(gp, O_CLOEXEC) < 0)) {
    reply("%d error pipe: %s", id, strerror(errno));
    goto out;
  }
  pid_t pid = fork();
  if (pid < 0) { reply("%d error fork: %s", id, strerror(errno)); goto out; }
  if (pid == 0) {
    setsid();
    int null = open("/dev/null", O_RDWR);
    int errfd = errpath[0] ? open(errpath, O_WRONLY | O_APPEND | O_CREAT, 0644) : -1;
    dup2(gate ? gp[0] : null, 0);
    dup2(outp[1], 1);
    dup2(errfd >= 0 ? errfd : null, 2);
    if (chdir(cwd) < 0) { dprintf(2, "chdir %s: %s\n", cwd, strerror(errno)); _exit(127); }
    exec_child(&argv, &env);
  }
  reply("%d pid %d", id, (int)pid);
  close(outp[1]);
  outp[1] = -1;
  if (gate) { close(gp[0]); gp[0] = -1; }
  launches = xrealloc(launches, sizeof(launch_t) * (size_t)(nlaunches + 1));
  launches[nlaunches] = (launch_t){.id = id, .outfd = outp[0], .gatefd = gate ? gp[1] : -1};
  fcntl(outp[0], F_SETFL, O_NONBLOCK);
  nlaunches++;
  outp[0] = -1;
  gp[1] = -1;
out:
  for (int i = 0; i < 2; i++) {
    if (outp[i] >= 0) close(outp[i]);
    if (gp[i] >= 0) close(gp[i]);
  }
  free(argv.v);
  free(env.v);
}

static void exec_start(char *p, char *end) {
  int id = -1;
  const char *data = "";
  strv argv = {0}, env = {0};
  char *k;
  while ((k = next_tok(&p, end))) {
    char *v = next_tok(&p, end);
    if (!v) break;
    if (!strcmp(k, "exec")) id = atoi(v);
    else if (!strcmp(k, "stdin")) data = v;
    else if (!strcmp(k, "argv")) strv_push(&argv, v);
    else if (!strcmp(k, "env")) strv_push(&env, v);
  }
  if (!env.v) strv_push(&env, DEFAULT_PATH_ENV);
  int ip[2] = {-1, -1}, op[2] = {-1, -1}, xp[2] = {-1, -1};
  if (!argv.n) { reply("%d error no argv", id); goto out; }
  if (pipe2(ip, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0 || pipe2(xp, O_CLOEXEC) < 0) {
    reply("%d error pipe: %s", id, strerror(errno));
    goto out;
  }
  pid_t pid = fork();
  if (pid < 0) { reply("%d error fork: %s", id, strerror(errno)); goto out; }
  if (pid == 0) {
    dup2(ip[0], 0);
    dup2(op[1], 1);
    dup2(xp[1], 2);
    exec_child(&argv, &env);
  }
  execs = xrealloc(execs, sizeof(exec_t) * (size_t)(nexecs + 1));
  exec_t *x = &execs[nexecs++];
  *x = (exec_t){.id = id, .pid = pid, .infd = ip[1], .outfd = op[0], .errfd = xp[0]};
  buf_add(&x->in, data, strlen(data));
  for (int i = 0; i < 3; i++) fcntl(i == 0 ? x->infd : i == 1 ? x->outfd : x->errfd, F_SETFL, O_NONBLOCK);
  ip[1] = op[0] = xp[0] = -1;
out:
  for (int i = 0; i < 2; i++) {
    if (ip[i] >= 0) close(ip[i]);
    if (op[i] >= 0) close(op[i]);
    if (xp[i] >= 0) close(xp[i]);
  }
  free(argv.v);
  free(env.v);
}

/* Feeds stdin, drains stdout/stderr; reports and forgets execs that exited with their output closed. */
static void exec_io(exec_t *x, short inrev, short outrev, short errrev) {
  char chunk[65536];
  if (x->infd >= 0 && (inrev || !x->in.len)) {
    while (x->in.len) {
      ssize_t w = write(x->infd, x->in.p, x->in.len);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        x->in.len = 0; /* it does not read its stdin */
        break;
      }
      buf_drop(&x->in, (size_t)w);
    }
    if (!x->in.len) { close(x->infd); x->infd = -1; }
  }
  int *fds[2] = {&x->outfd, &x->errfd};
  buf_t *bufs[2] = {&x->out, &x->err};
  short revs[2] = {outrev, errrev};
  for (int k = 0; k < 2; k++) {
    if (*fds[k] < 0 || !revs[k]) continue;
    for (;;) {
      ssize_t r = read(*fds[k], chunk, sizeof chunk);
      if (r > 0) { buf_add(bufs[k], chunk, (size_t)r); continue; }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EAGAIN) break;
      close(*fds[k]);
      *fds[k] = -1;
      break;
    }
  }
}

static void gate_cmd(char *p, char *end) {
  char *k = next_tok(&p, end), *v = next_tok(&p, end);
  if (!k || !v) return;
  int id = atoi(v);
  if (!strcmp(k, "kill")) {
    for (int i = 0; i < nexecs; i++)
      if (execs[i].id == id && !execs[i].exited) kill(execs[i].pid, SIGKILL);
    return;
  }
  char *data = !strcmp(k, "send") ? next_tok(&p, end) : NULL;
  for (int i = 0; i < nlaunches; i++) {
    if (launches[i].id != id || launches[i].gatefd < 0) continue;
    if (!strcmp(k, "go")) write_all(launches[i].gatefd, "1", 1);
    else if (data) write_all(launches[i].gatefd, data, strlen(data));
    close(launches[i].gatefd);
    launches[i].gatefd = -1;
  }
}

static int run_launcher(void) {
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (chdir("/") < 0) { /* not fatal */ }
  buf_t in = {0};
  char chunk[65536];
  for (;;) {
    int n = nlaunches, ne = nexecs;
    struct pollfd *fds = xrealloc(NULL, sizeof(struct pollfd) * (size_t)(n + 3 * ne + 2));
    fds[0] = (struct pollfd){0, POLLIN, 0};
    fds[1] = (struct pollfd){sfd, POLLIN, 0};
    for (int i = 0; i < n; i++) fds[i + 2] = (struct pollfd){launches[i].outfd, POLLIN, 0};
    struct pollfd *xf = fds + 2 + n;
    for (int i = 0; i < ne; i++) {
      xf[3 * i] = (struct pollfd){execs[i].in.len ? execs[i].infd : -1, POLLOUT, 0};
      xf[3 * i + 1] = (struct pollfd){execs[i].outfd, POLLIN, 0};
      xf[3 * i + 2] = (struct pollfd){execs[i].errfd, POLLIN, 0};
    }
    if (poll(fds, (nfds_t)(n + 3 * ne + 2), -1) < 0) {
      free(fds);
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {}
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0)
        for (int i = 0; i < nexecs; i++)
          if (execs[i].pid == w) { execs[i].exited = 1; execs[i].status = st; }
    }
    for (int i = 0; i < ne; i++) exec_io(&execs[i], xf[3 * i].revents, xf[3 * i + 1].revents, xf[3 * i + 2].revents);
    for (int i = 0; i < n; i++) {
      launch_t *l = &launches[i];
      if (l->outfd < 0 || !fds[i + 2].revents) continue;
      ssize_t r = read(l->outfd, l->line + l->len, sizeof l->line - 1 - l->len);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r > 0) l->len += (size_t)r;
      char *nl = memchr(l->line, '\n', l->len);
      if (nl || l->len == sizeof l->line - 1) {
        if (nl) *nl = 0; else l->line[l->len] = 0;
        reply("%d line %s", l->id, l->line);
      } else if (r <= 0) reply("%d eof", l->id);
      else continue;
      close(l->outfd);
      l->outfd = -1;
    }
    short stdin_ready = fds[0].revents;
    free(fds);
    if (stdin_ready) {
      ssize_t r = read(0, chunk, sizeof chunk);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) return 0;
      if (r > 0) buf_add(&in, chunk, (size_t)r);
      while (in.len >= 4) {
        unsigned char *h = (unsigned char *)in.p;
        size_t len = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
        if (in.len < 4 + len) break;
        char *pl = in.p + 4, *pend = pl + len;
        if (len > 0 && pend[-1] == 0) {
          if (!strncmp(pl, "spawn", 6)) launch(pl, pend);
          else if (!strncmp(pl, "exec", 5)) exec_start(pl, pend);
          else gate_cmd(pl, pend);
        }
        buf_drop(&in, 4 + len);
      }
    }
    /* Forget launches that are done (first line seen and gate used). */
    int j = 0;
    for (int i = 0; i < nlaunches; i++)
      if (launches[i].outfd >= 0 || launches[i].gatefd >= 0) launches[j++] = launches[i];
    nlaunches = j;
    j = 0;
    for (int i = 0; i < nexecs; i++) {
      exec_t *x = &execs[i];
      if (!x->exited || x->outfd >= 0 || x->errfd >= 0) { execs[j++] = *x; continue; }
      if (x->infd >= 0) close(x->infd);
      int code = WIFEXITED(x->status) ? WEXITSTATUS(x->status) : -1, sig = WIFSIGNALED(x->status) ? WTERMSIG(x->status) : 0;
      char head[128];
      int hn = snprintf(head, sizeof head, "%d done %d %d %zu %zu\n", x->id, code, sig, x->out.len, x->err.len);
      if (write_all(1, head, (size_t)hn) < 0 || write_all(1, x->out.p ? x->out.p : "", x->out.len) < 0 ||
          write_all(1, x->err.p ? x->err.p : "", x->err.len) < 0)
        _exit(0);
      free(x->in.p);
      free(x->out.p);
      free(x->err.p);
    }
    nexecs = j;
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "launcher")) return run_launcher();
  if (argc >= 2 && !strcmp(argv[1], "pause")) return run_pause(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "features")) { puts(SHIM_FEATURES); return 0; }
  if (argc >= 2 && !strcmp(argv[1], "prefork")) {
    strv procs = {0}, ns = {0};
    for (int i = 2; i + 1 < argc; i += 2) {
      if (!strcmp(argv[i], "--procs")) strv_push(&procs, argv[i + 1]);
      else if (!strcmp(argv[i], "--ns")) strv_push(&ns, argv[i + 1]);
    }
    return run_shim(NULL, &procs, &ns);
  }
  if (argc != 2) {
    fputs("usage: skiff-shim SPEC | skiff-shim pause [--net] [--uts] [--ipc] [--hostname H] | skiff-shim launcher\n", stderr);
    return 2;
  }
  return run_shim(argv[1], NULL, NULL);
}
