/* Reference: memcpy bandwidth between two buffers of <bufferBytes> (64 MiB by
 * default, well past the caches). Usage: memcpy-bandwidth <bufferBytes> <rounds>
 * Prints: <MB/s> (bytes copied per second). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  long bytes = atol(argv[1]);
  int rounds = atoi(argv[2]);
  if (bytes <= 0 || rounds <= 0) return 2;
  char* a = malloc(bytes);
  char* b = malloc(bytes);
  if (!a || !b) return 1;
  memset(a, 1, bytes); /* fault both buffers in before timing */
  memset(b, 2, bytes);
  double t0 = now_s();
  for (int r = 0; r < rounds; r++) {
    memcpy((r & 1) ? a : b, (r & 1) ? b : a, bytes);
    __asm__ volatile("" ::: "memory"); /* keep every copy */
  }
  double wall = now_s() - t0;
  printf("%.1f\n", (double)bytes * rounds / wall / 1e6);
  return a[bytes - 1] == 7; /* use the data */
}
