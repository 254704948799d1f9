/* Page-cache tools for `npm run bench` (scenarios 2 and 8):
 *   pagecache evict FILE...     posix_fadvise(DONTNEED) on each file: clean pages
 *                               leave the page cache (run `sync` first for dirty ones).
 *   pagecache resident FILE...  mincore over each file; prints {"resident":R,"bytes":B}.
 *   pagecache sendfile FILE BYTES
 *                               The machine's zero-copy limit: sendfile from FILE
 *                               (read once first, so it is cached) to a loopback
 *                               socket read by a forked child, BYTES in all, 1 MiB
 *                               per call; prints {"mbPerS":..,"senderCpuS":..}. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static int evict(int n, char **files) {
  for (int i = 0; i < n; i++) {
    int fd = open(files[i], O_RDONLY);
    if (fd < 0) return perror(files[i]), 1;
    fdatasync(fd); /* DONTNEED skips dirty pages */
    int err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    if (err) return fprintf(stderr, "fadvise %s: %s\n", files[i], strerror(err)), 1;
  }
  return 0;
}

static int resident(int n, char **files) {
  long long res = 0, total = 0;
  long page = sysconf(_SC_PAGESIZE);
  for (int i = 0; i < n; i++) {
    int fd = open(files[i], O_RDONLY);
    if (fd < 0) return perror(files[i]), 1;
    struct stat st;
    fstat(fd, &st);
    if (st.st_size > 0) {
      void *m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
      if (m == MAP_FAILED) return perror("mmap"), 1;
      size_t pages = (st.st_size + page - 1) / page;
      unsigned char *vec = malloc(pages);
      if (mincore(m, st.st_size, vec) < 0) return perror("mincore"), 1;
      for (size_t p = 0; p < pages; p++)
        if (vec[p] & 1) res += page;
      free(vec);
      munmap(m, st.st_size);
      total += st.st_size;
    }
    close(fd);
  }
  printf("{\"resident\":%lld,\"bytes\":%lld}\n", res > total ? total : res, total);
  return 0;
}

static int send_file(const char *path, long long bytes) {
  int file = open(path, O_RDONLY);
  if (file < 0) return perror(path), 1;
  struct stat st;
  fstat(file, &st);
  const size_t chunk = 1 << 20;
  char *buf = malloc(chunk);
  while (read(file, buf, chunk) > 0) { /* warm the page cache */
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (bind(listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(listener, 1) < 0) return perror("listen"), 1;
  getsockname(listener, (struct sockaddr *)&a, &alen);
  pid_t child = fork();
  if (child == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) _exit(3);
    long long got = 0;
    while (got < bytes) {
      ssize_t r = read(fd, buf, chunk);
      if (r <= 0) _exit(4);
      got += r;
    }
    _exit(write(fd, "k", 1) == 1 ? 0 : 5);
  }
  int fd = accept(listener, NULL, NULL);
  if (fd < 0) return perror("accept"), 1;
  double t0 = now_s(), c0 = cpu_s();
  long long sent = 0;
  off_t off = 0;
  while (sent < bytes) {
    if (off >= st.st_size) off = 0;
    size_t n = chunk;
    if ((long long)n > bytes - sent) n = bytes - sent;
    if ((long long)n > st.st_size - off) n = st.st_size - off;
    ssize_t w = sendfile(fd, file, &off, n);
    if (w <= 0) return perror("sendfile"), 1;
    sent += w;
  }
  char ack;
  if (read(fd, &ack, 1) != 1) return fprintf(stderr, "reader quit\n"), 1;
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  int status;
  waitpid(child, &status, 0);
  printf("{\"mbPerS\":%.1f,\"senderCpuS\":%.4f,\"bytes\":%lld}\n", bytes / wall / 1e6, cpu, bytes);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "evict")) return evict(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "resident")) return resident(argc - 2, argv + 2);
  if (argc == 4 && !strcmp(argv[1], "sendfile")) return send_file(argv[2], atoll(argv[3]));
  fprintf(stderr, "usage: pagecache evict|resident FILE... | sendfile FILE BYTES\n");
  return 2;
}
