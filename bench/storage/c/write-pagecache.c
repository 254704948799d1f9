/* Reference: write(2) of `chunk` bytes at a time into the page cache, cycling
 * through a 1 MiB source buffer (the size of one produce append in the Node
 * benchmark). Usage: write-pagecache <path> <totalBytes> <chunkBytes>
 * Prints: <MB/s> <cpu-seconds> on one line. No fsync: page cache only. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SOURCE_BYTES (1024L * 1024L)

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

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  long total = atol(argv[2]);
  long chunk = atol(argv[3]);
  if (total <= 0 || chunk <= 0 || chunk > SOURCE_BYTES || SOURCE_BYTES % chunk != 0) return 2;
  char* source = malloc(SOURCE_BYTES);
  if (!source) return 1;
  for (long i = 0; i < SOURCE_BYTES; i++) source[i] = (char)(i * 31);
  int fd = open(argv[1], O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) return perror("open"), 1;
  double t0 = now_s(), c0 = cpu_s();
  for (long done = 0; done < total;) {
    long n = write(fd, source + done % SOURCE_BYTES, chunk);
    if (n <= 0) return perror("write"), 1;
    done += n;
  }
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  close(fd);
  printf("%.1f %.4f\n", total / wall / 1e6, cpu);
  return 0;
}
