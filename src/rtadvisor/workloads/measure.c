/* rtadvisor built-in workload "measure": the isolation probe and the steady-state micro-benchmarks.
 *
 * The same source is compiled natively (static, so it runs in every rootfs and in the micro-VM's
 * initramfs) and to wasm32-wasi; the WASI build runs the subset WASI preview1 can express and says,
 * per benchmark, what it cannot ("not expressible" with the reason).
 *
 * Protocol (stdin lines in, stdout lines out; every output line starts with "rtadvisor-measure "
 * and carries one JSON object):
 *   1. the program prints {"event":"hello"}; then the host writes one parameter line: "probe=1 suite=null_call,cpu sample_ms=10 samples=10
 *      dir=/work" (every key optional);
 *   2. with probe=1 the program prints {"event":"ready"}, waits for a line ("go"), runs the probe
 *      (a fixed mix of system calls plus one rare, recognisable call: getpriority(PRIO_PROCESS,
 *      0x52544144)), prints {"event":"done",...} and waits for another line ("continue"). The host
 *      opens its trace window between the two lines, so the window holds the probe and nothing else;
 *   3. each benchmark of the suite prints {"event":"result",...}: per-sample rates (units/s) of a
 *      fixed amount of work calibrated to last about sample_ms, or a status "not supported" /
 *      "not expressible" with the reason;
 *   4. {"event":"end"}, exit 0. End of input at any wait means the host has gone: exit at once
 *      (nothing outlives a killed bench).
 * Why one binary: one boot of the (emulated) micro-VM runs the probe and the whole suite.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifndef __wasi__
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#endif

#define PREFIX "rtadvisor-measure "
#define PROBE_MAGIC 0x52544144L /* "RTAD": the recognisable argument of the rare call */
#define MAX_SAMPLES 100
#define FILE_BLOCK 4096
#define READ_BLOCK 65536
#define READ_FILE_SIZE (4 * 1024 * 1024)

static char work_dir[512] = ".";
static long sample_ms = 10;
static int do_probe = 0;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *errname(int e) {
    switch (e) {
    case ENOSYS: return "ENOSYS";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EROFS: return "EROFS";
    case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN";
    case ENOTSUP: return "ENOTSUP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    default: return "errno";
    }
}

/* --------------------------------------------------------------------------------- the host */

static int read_line(char *buf, size_t size) {
    if (!fgets(buf, (int)size, stdin)) {
        return -1;
    }
    buf[strcspn(buf, "\r\n")] = 0;
    return 0;
}

static void emit(const char *json) {
    fputs(PREFIX, stdout);
    fputs(json, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void parse_params(char *line) {
    for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            continue;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(tok, "probe")) {
            do_probe = atoi(v) != 0;
        } else if (!strcmp(tok, "sample_ms")) {
            sample_ms = atol(v) > 0 ? atol(v) : 10;
        } else if (!strcmp(tok, "dir")) {
            snprintf(work_dir, sizeof work_dir, "%s", v);
        }
    }
}

static void path_in_dir(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s-%ld", work_dir, name, (long)now_ns() % 1000000007L);
}

/* ------------------------------------------------------------------------------- the probe */

#ifndef __wasi__
/* Bring the loopback interface up when it is down (a fresh micro-VM); containers have it up. */
static const char *ensure_loopback(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
        return errname(errno);
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    const char *result = "up";
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        result = errname(errno);
    } else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        result = ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? errname(errno) : "brought up";
    }
    close(s);
    return result;
}

struct uring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
    void *sq_map, *cq_map;
    size_t sq_len, cq_len, sqe_len;
};

/* io_uring through raw system calls (no liburing): what a runtime must support for the I/O that
 * S-cases says needs containers. Returns 0, or -1 with the reason in ``why``. */
static int uring_setup(struct uring *u, unsigned entries, char *why, size_t why_size) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    memset(u, 0, sizeof *u);
    u->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
    if (u->fd < 0) {
        snprintf(why, why_size, "io_uring_setup: %s", errname(errno));
        return -1;
    }
    u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single) {
        if (u->cq_len > u->sq_len) {
            u->sq_len = u->cq_len;
        }
        u->cq_len = u->sq_len;
    }
    u->sq_map = mmap(0, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQ_RING);
    if (u->sq_map == MAP_FAILED) {
        snprintf(why, why_size, "mmap of the SQ ring: %s", errname(errno));
        close(u->fd);
        return -1;
    }
    u->cq_map = single ? u->sq_map
                       : mmap(0, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
                              IORING_OFF_CQ_RING);
    u->sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
    u->sqes = mmap(0, u->sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQES);
    if (u->cq_map == MAP_FAILED || u->sqes == MAP_FAILED) {
        snprintf(why, why_size, "mmap of the rings: %s", errname(errno));
        close(u->fd);
        return -1;
    }
    char *sq = u->sq_map, *cq = u->cq_map;
    u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    u->sq_array = (unsigned *)(sq + p.sq_off.array);
    u->cq_head = (unsigned *)(cq + p.cq_off.head);
    u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return 0;
}

/* One NOP: submit, enter (submit 1, wait for 1), reap. Returns the CQE result or -errno. */
static int uring_nop(struct uring *u) {
    unsigned tail = *u->sq_tail;
    unsigned idx = tail & *u->sq_mask;
    struct io_uring_sqe *sqe = &u->sqes[idx];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_NOP;
    sqe->user_data = tail;
    u->sq_array[idx] = idx;
    __atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, u->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
        return -errno;
    }
    unsigned head = __atomic_load_n(u->cq_head, __ATOMIC_ACQUIRE);
    if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE)) {
        return -EAGAIN;
    }
    int res = u->cqes[head & *u->cq_mask].res;
    __atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

static void uring_close(struct uring *u) {
    if (u->sqes && u->sqes != MAP_FAILED) {
        munmap(u->sqes, u->sqe_len);
    }
    if (u->cq_map && u->cq_map != MAP_FAILED && u->cq_map != u->sq_map) {
        munmap(u->cq_map, u->cq_len);
    }
    if (u->sq_map && u->sq_map != MAP_FAILED) {
        munmap(u->sq_map, u->sq_len);
    }
    close(u->fd);
}

/* A listening socket on 127.0.0.1 and a connected pair; -1 with errno on failure. */
static int tcp_pair(int *listener, int *client, int *server) {
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *listener = socket(AF_INET, SOCK_STREAM, 0);
    if (*listener < 0) {
        return -1;
    }
    if (bind(*listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(*listener, 4) < 0 ||
        getsockname(*listener, (struct sockaddr *)&addr, &len) < 0) {
        int e = errno;
        close(*listener);
        errno = e;
        return -1;
    }
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (*client < 0 || connect(*client, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        close(*listener);
        if (*client >= 0) {
            close(*client);
        }
        errno = e;
        return -1;
    }
    *server = accept(*listener, NULL, NULL);
    if (*server < 0) {
        int e = errno;
        close(*listener);
        close(*client);
        errno = e;
        return -1;
    }
    return 0;
}
#endif

/* The probe: a fixed, small mix of what a service does (files, polling, sockets, io_uring, memory,
 * a sleep) plus the rare, recognisable call. Its JSON fragment says what each part returned. */
static void probe(char *out, size_t size) {
    char path[600], buf[FILE_BLOCK];
    const char *file = "ok";
    size_t used = 0;
    memset(buf, 'p', sizeof buf);
    path_in_dir(path, sizeof path, "rtadvisor-probe");
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0) {
        file = errname(errno);
    } else {
        for (int i = 0; i < 4; i++) {
            if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
                file = "short write";
            }
        }
        if (fsync(fd) < 0) {
            file = "fsync failed";
        }
        for (int i = 0; i < 4; i++) {
            if (pread(fd, buf, sizeof buf, (off_t)i * FILE_BLOCK) != (ssize_t)sizeof buf) {
                file = "short read";
            }
        }
        struct stat st;
        fstat(fd, &st);
        close(fd);
        unlink(path);
    }
#ifdef __wasi__
    for (int i = 0; i < 10; i++) {
        (void)fcntl(1, F_GETFL);
    }
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
    unsigned char rnd[16];
    getentropy(rnd, sizeof rnd);
    used = (size_t)snprintf(out, size,
                            "\"rare_syscall\":\"not expressible (WASI has no raw system calls)\",\"file\":\"%s\","
                            "\"null_call\":\"fd_fdstat_get x10\",\"sleep\":\"poll_oneoff 1 ms\"",
                            file);
#else
    errno = 0;
    long prio = syscall(SYS_getpriority, PRIO_PROCESS, PROBE_MAGIC);
    int prio_errno = errno;
    for (int i = 0; i < 10; i++) {
        (void)syscall(SYS_getppid);
    }
    const char *epoll = "ok";
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) == 0) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN};
        char c = 'x';
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) < 0 || write(pipefd[1], &c, 1) != 1 ||
            epoll_wait(ep, &ev, 1, 1000) != 1 || read(pipefd[0], &c, 1) != 1) {
            epoll = errname(errno);
        }
        if (ep >= 0) {
            close(ep);
        }
        close(pipefd[0]);
        close(pipefd[1]);
    } else {
        epoll = errname(errno);
    }
    const char *tcp = "ok";
    int listener, client, server;
    if (tcp_pair(&listener, &client, &server) == 0) {
        if (send(client, buf, 1024, 0) != 1024 || recv(server, buf, 1024, MSG_WAITALL) != 1024) {
            tcp = "short transfer";
        }
        close(server);
        close(client);
        close(listener);
    } else {
        tcp = errname(errno);
    }
    char uring_why[128] = "ok";
    struct uring u;
    if (uring_setup(&u, 8, uring_why, sizeof uring_why) == 0) {
        int r = uring_nop(&u);
        if (r < 0) {
            snprintf(uring_why, sizeof uring_why, "nop: %s", errname(-r));
        }
        uring_close(&u);
    }
    char *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem != MAP_FAILED) {
        for (size_t i = 0; i < (1u << 20); i += 4096) {
            mem[i] = 1;
        }
        munmap(mem, 1 << 20);
    }
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
    used = (size_t)snprintf(out, size,
                            "\"rare_syscall\":\"getpriority(PRIO_PROCESS, 0x%lx) = %ld %s\",\"magic\":%ld,"
                            "\"file\":\"%s\",\"epoll\":\"%s\",\"tcp\":\"%s\",\"io_uring\":\"%s\"",
                            PROBE_MAGIC, prio, prio < 0 ? errname(prio_errno) : "", PROBE_MAGIC, file, epoll, tcp,
                            uring_why);
#endif
    (void)used;
}

/* ------------------------------------------------------------------------------ the suite */

/* A benchmark does ``n`` operations per call and returns the units done (ops or bytes). */
typedef struct bench {
    const char *name;
    const char *unit;    /* what the per-sample rates count, per second */
    double unit_scale;   /* units per returned count (1, or 1/2^20 for MiB) */
    const char *how;
    int (*setup)(struct bench *, char *why, size_t why_size); /* 0 = ok, -1 = not supported (why) */
    uint64_t (*run)(struct bench *, uint64_t n);
    void (*teardown)(struct bench *);
    int fd, fd2, fd3, ep;
    long child;
    char path[600];
    const char *wasi_reason; /* non-NULL: not expressible under WASI, with the reason */
    int ready;
    uint64_t ops_per_sample;
#ifndef __wasi__
    struct uring ring;
#endif
} bench;

static volatile uint64_t sink;

static int setup_nothing(bench *b, char *why, size_t size) {
    (void)b; (void)why; (void)size;
    return 0;
}

static void teardown_nothing(bench *b) { (void)b; }

static uint64_t run_null_call(bench *b, uint64_t n) {
    (void)b;
    for (uint64_t i = 0; i < n; i++) {
#ifdef __wasi__
        sink += (uint64_t)fcntl(1, F_GETFL);
#else
        sink += (uint64_t)syscall(SYS_getppid);
#endif
    }
    return n;
}

static uint64_t run_cpu(bench *b, uint64_t n) {
    (void)b;
    uint64_t x = 88172645463325252ull + sink, acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x * 2685821657736338717ull;
    }
    sink = acc;
    return n;
}

static int setup_file(bench *b, char *why, size_t size) {
    path_in_dir(b->path, sizeof b->path, "rtadvisor-bench");
    b->fd = open(b->path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (b->fd < 0) {
        snprintf(why, size, "open in %s: %s", work_dir, errname(errno));
        return -1;
    }
    return 0;
}

/* The fsync benchmark overwrites 256 blocks written (and synced) here: no file growth in a sample. */
static int setup_write(bench *b, char *why, size_t size) {
    char buf[FILE_BLOCK];
    memset(buf, 'w', sizeof buf);
    if (setup_file(b, why, size) < 0) {
        return -1;
    }
    for (int i = 0; i < 256; i++) {
        if (write(b->fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
            snprintf(why, size, "cannot write the 1 MiB file: %s", errname(errno));
            close(b->fd);
            unlink(b->path);
            return -1;
        }
    }
    fsync(b->fd);
    return 0;
}

static void teardown_file(bench *b) {
    close(b->fd);
    unlink(b->path);
}

static uint64_t run_write_fsync(bench *b, uint64_t n) {
    char buf[FILE_BLOCK];
    memset(buf, 'w', sizeof buf);
    for (uint64_t i = 0; i < n; i++) {
        if (pwrite(b->fd, buf, sizeof buf, (off_t)(i % 256) * FILE_BLOCK) != (ssize_t)sizeof buf || fsync(b->fd) < 0) {
            return i;
        }
    }
    return n;
}

static int setup_read(bench *b, char *why, size_t size) {
    if (setup_file(b, why, size) < 0) {
        return -1;
    }
    static char block[READ_BLOCK];
    memset(block, 'r', sizeof block);
    for (int i = 0; i < READ_FILE_SIZE / READ_BLOCK; i++) {
        if (write(b->fd, block, sizeof block) != (ssize_t)sizeof block) {
            snprintf(why, size, "cannot write the %d MiB read file: %s", READ_FILE_SIZE >> 20, errname(errno));
            teardown_file(b);
            return -1;
        }
    }
    return 0;
}

static uint64_t run_read(bench *b, uint64_t n) {
    static char block[READ_BLOCK];
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        ssize_t got = pread(b->fd, block, sizeof block, (off_t)(i % (READ_FILE_SIZE / READ_BLOCK)) * READ_BLOCK);
        if (got <= 0) {
            break;
        }
        bytes += (uint64_t)got;
    }
    return bytes;
}

#ifndef __wasi__
static int setup_epoll(bench *b, char *why, size_t size) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(why, size, "socketpair: %s", errname(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, size, "fork: %s", errname(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) { /* the echo side: epoll_wait, read one byte, write it back; EOF ends it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(sv[0]);
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN};
        epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
        char c;
        for (;;) {
            if (epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR) {
                _exit(1);
            }
            if (read(sv[1], &c, 1) != 1 || write(sv[1], &c, 1) != 1) {
                _exit(0);
            }
        }
    }
    close(sv[1]);
    b->fd = sv[0];
    b->child = pid;
    b->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (b->ep < 0 || epoll_ctl(b->ep, EPOLL_CTL_ADD, b->fd, &ev) < 0) {
        snprintf(why, size, "epoll: %s", errname(errno));
        close(b->fd);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return 0;
}

static uint64_t run_epoll(bench *b, uint64_t n) {
    struct epoll_event ev;
    char c = 'e';
    for (uint64_t i = 0; i < n; i++) {
        if (write(b->fd, &c, 1) != 1) {
            return i;
        }
        while (epoll_wait(b->ep, &ev, 1, -1) < 0) {
            if (errno != EINTR) {
                return i;
            }
        }
        if (read(b->fd, &c, 1) != 1) {
            return i;
        }
    }
    return n;
}

static void teardown_child(bench *b) {
    close(b->fd);
    if (b->ep > 0) {
        close(b->ep);
    }
    if (b->child > 0) {
        waitpid((pid_t)b->child, NULL, 0);
    }
}

static int setup_uring(bench *b, char *why, size_t size) {
    if (uring_setup(&b->ring, 64, why, size) < 0) {
        return -1;
    }
    int r = uring_nop(&b->ring);
    if (r < 0) {
        snprintf(why, size, "IORING_OP_NOP: %s", errname(-r));
        uring_close(&b->ring);
        return -1;
    }
    return 0;
}

static uint64_t run_uring(bench *b, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        if (uring_nop(&b->ring) < 0) {
            return i;
        }
    }
    return n;
}

static void teardown_uring(bench *b) { uring_close(&b->ring); }

static int setup_tcp(bench *b, char *why, size_t size) {
    int listener, client, server;
    const char *lo = ensure_loopback();
    if (tcp_pair(&listener, &client, &server) < 0) {
        snprintf(why, size, "loopback TCP connect: %s (lo: %s)", errname(errno), lo);
        return -1;
    }
    close(listener);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, size, "fork: %s", errname(errno));
        close(client);
        close(server);
        return -1;
    }
    if (pid == 0) { /* the sender: write 64 KiB blocks until the receiver closes */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_IGN);
        close(server);
        static char block[READ_BLOCK];
        memset(block, 't', sizeof block);
        for (;;) {
            if (write(client, block, sizeof block) <= 0) {
                _exit(0);
            }
        }
    }
    close(client);
    b->fd = server;
    b->child = pid;
    b->ep = -1;
    return 0;
}

static uint64_t run_tcp(bench *b, uint64_t n) {
    static char block[READ_BLOCK];
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        ssize_t got = recv(b->fd, block, sizeof block, MSG_WAITALL);
        if (got <= 0) {
            break;
        }
        bytes += (uint64_t)got;
    }
    return bytes;
}
#endif

static bench BENCHES[] = {
    {.name = "null_call", .unit = "calls/s", .unit_scale = 1,
#ifdef __wasi__
     .how = "fd_fdstat_get(1): the cheapest WASI host call (WASI has no raw system call)",
#else
     .how = "getppid(2) through syscall(2): the cheapest real system call (never a vDSO)",
#endif
     .setup = setup_nothing, .run = run_null_call, .teardown = teardown_nothing},
    {.name = "file_write_fsync", .unit = "ops/s", .unit_scale = 1,
     .how = "pwrite 4 KiB + fsync (overwriting a 1 MiB file) in the scratch directory", .setup = setup_write,
     .run = run_write_fsync, .teardown = teardown_file},
    {.name = "file_read", .unit = "MiB/s", .unit_scale = 1.0 / 1048576.0,
     .how = "pread 64 KiB blocks of a 4 MiB file just written (page cache)", .setup = setup_read,
     .run = run_read, .teardown = teardown_file},
#ifdef __wasi__
    {.name = "epoll_pingpong", .wasi_reason = "WASI preview1 has no epoll, fork, threads or socketpair"},
    {.name = "io_uring_nop", .wasi_reason = "WASI preview1 has no io_uring (no raw system calls)"},
    {.name = "tcp_loopback", .wasi_reason = "WASI preview1 cannot listen/connect (only pre-opened sockets)"},
#else
    {.name = "epoll_pingpong", .unit = "round trips/s", .unit_scale = 1,
     .how = "1-byte ping-pong over a UNIX socketpair with a forked echo process, both sides epoll_wait",
     .setup = setup_epoll, .run = run_epoll, .teardown = teardown_child},
    {.name = "io_uring_nop", .unit = "ops/s", .unit_scale = 1,
     .how = "IORING_OP_NOP: one submission + io_uring_enter(GETEVENTS) + reap per op, raw system calls",
     .setup = setup_uring, .run = run_uring, .teardown = teardown_uring},
    {.name = "tcp_loopback", .unit = "MiB/s", .unit_scale = 1.0 / 1048576.0,
     .how = "TCP over 127.0.0.1, a forked sender writing 64 KiB blocks, recv(MSG_WAITALL) 64 KiB",
     .setup = setup_tcp, .run = run_tcp, .teardown = teardown_child},
#endif
    {.name = "cpu", .unit = "iterations/s", .unit_scale = 1,
     .how = "xorshift64 + multiply-accumulate loop (pure CPU, no system calls, no memory traffic)",
     .setup = setup_nothing, .run = run_cpu, .teardown = teardown_nothing},
};

static bench *find_bench(const char *name) {
    for (size_t i = 0; i < sizeof BENCHES / sizeof BENCHES[0]; i++) {
        if (!strcmp(BENCHES[i].name, name)) {
            return &BENCHES[i];
        }
    }
    return NULL;
}

/* "setup NAME": set the benchmark up and calibrate n so that one sample lasts ~sample_ms (the
 * calibration doubles as the warm-up). */
static void cmd_setup(bench *b) {
    char why[256] = "", line[1024];
    if (b->wasi_reason) {
        snprintf(line, sizeof line,
                 "{\"event\":\"setup\",\"name\":\"%s\",\"status\":\"not expressible\",\"reason\":\"%s\"}", b->name,
                 b->wasi_reason);
        emit(line);
        return;
    }
    if (b->ready) {
        b->teardown(b);
        b->ready = 0;
    }
    if (b->setup(b, why, sizeof why) < 0) {
        snprintf(line, sizeof line,
                 "{\"event\":\"setup\",\"name\":\"%s\",\"status\":\"not supported\",\"reason\":\"%s\",\"how\":\"%s\"}",
                 b->name, why, b->how);
        emit(line);
        return;
    }
    b->ready = 1;
    uint64_t target = (uint64_t)sample_ms * 1000000ull;
    uint64_t n = 1, budget_end = now_ns() + target * 10;
    for (;;) { /* double n until a batch lasts >= sample_ms / 4 */
        uint64_t t0 = now_ns();
        b->run(b, n);
        uint64_t dt = now_ns() - t0;
        if (dt >= target / 4 || n >= (1ull << 40) || now_ns() > budget_end) {
            double per_op = dt > 0 ? (double)dt / (double)n : 1.0;
            n = (uint64_t)((double)target / per_op);
            break;
        }
        n *= 2;
    }
    b->ops_per_sample = n < 1 ? 1 : n;
    snprintf(line, sizeof line,
             "{\"event\":\"setup\",\"name\":\"%s\",\"status\":\"ok\",\"unit\":\"%s\",\"how\":\"%s\","
             "\"ops_per_sample\":%llu}",
             b->name, b->unit, b->how, (unsigned long long)b->ops_per_sample);
    emit(line);
}

/* "sample NAME K": K timed samples of ops_per_sample operations each, as rates (units/s). */
static void cmd_sample(bench *b, int k) {
    char line[4096];
    int len = snprintf(line, sizeof line, "{\"event\":\"samples\",\"name\":\"%s\",\"samples\":[", b->name);
    int taken = 0;
    for (int i = 0; b->ready && i < k && i < MAX_SAMPLES; i++) {
        uint64_t t0 = now_ns();
        uint64_t done = b->run(b, b->ops_per_sample);
        uint64_t dt = now_ns() - t0;
        if (done == 0 || dt == 0) {
            break;
        }
        double rate = (double)done * b->unit_scale / ((double)dt / 1e9);
        len += snprintf(line + len, sizeof line - (size_t)len, "%s%.6g", taken ? "," : "", rate);
        taken++;
    }
    snprintf(line + len, sizeof line - (size_t)len, "]}");
    emit(line);
}

static void cmd_teardown(bench *b) {
    char line[256];
    if (b->ready) {
        b->teardown(b);
        b->ready = 0;
    }
    snprintf(line, sizeof line, "{\"event\":\"teardown\",\"name\":\"%s\"}", b->name);
    emit(line);
}

/* Command mode: one command per line, one answer per command (the host interleaves two runtimes
 * sample by sample, so that a load change on the machine hits both). */
static int serve_commands(void) {
    char line[256], name[64], out[256];
    while (read_line(line, sizeof line) == 0) {
        int k = 0;
        name[0] = 0;
        if (!strcmp(line, "end")) {
            emit("{\"event\":\"end\"}");
            return 0;
        }
        if (sscanf(line, "setup %63s", name) == 1 || sscanf(line, "sample %63s %d", name, &k) >= 1 ||
            sscanf(line, "teardown %63s", name) == 1) {
            bench *b = find_bench(name);
            if (!b) {
                snprintf(out, sizeof out, "{\"event\":\"error\",\"reason\":\"unknown benchmark %s\"}", name);
                emit(out);
            } else if (!strncmp(line, "setup ", 6)) {
                cmd_setup(b);
            } else if (!strncmp(line, "sample ", 7)) {
                cmd_sample(b, k > 0 ? k : 1);
            } else {
                cmd_teardown(b);
            }
            continue;
        }
        emit("{\"event\":\"error\",\"reason\":\"unknown command\"}");
    }
    return 0; /* end of input: the host has gone */
}

int main(void) {
    char line[1024], detail[1024];
#ifndef __wasi__
    signal(SIGPIPE, SIG_IGN);
    if (isatty(0)) { /* the micro-VM's serial console: no echo of the host's lines */
        struct termios t;
        if (tcgetattr(0, &t) == 0) {
            t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
            tcsetattr(0, TCSANOW, &t);
        }
    }
#endif
    emit("{\"event\":\"hello\"}"); /* input sent before this could be lost (a serial console still booting) */
    if (read_line(line, sizeof line) < 0) {
        return 2;
    }
    parse_params(line);
#ifdef __wasi__
    emit("{\"event\":\"start\",\"platform\":\"wasi\"}");
#else
    struct statfs sfs;
    long fstype = statfs(work_dir, &sfs) == 0 ? (long)sfs.f_type : -1;
    const char *lo = ensure_loopback();
    snprintf(detail, sizeof detail, "{\"event\":\"start\",\"platform\":\"linux\",\"dir_fstype\":%ld,\"loopback\":\"%s\"}",
             fstype, lo);
    emit(detail);
#endif
    if (do_probe) {
        emit("{\"event\":\"ready\"}");
        if (read_line(line, sizeof line) < 0) {
            return 3;
        }
        char parts[900];
        probe(parts, sizeof parts);
        snprintf(detail, sizeof detail, "{\"event\":\"done\",%s}", parts);
        emit(detail);
        if (read_line(line, sizeof line) < 0) {
            return 3;
        }
    }
    return serve_commands();
}
