// Load generator for `npm run bench:e2e`, in C so the client is not the
// bottleneck: node would spend as much CPU framing requests as the broker
// spends answering them, on a 2-core machine.
//
// Request bytes are built by bench/e2e (TypeScript, with the project's codecs)
// and passed in a template file; this program only patches correlation ids
// (and fetch offsets), writes them, and reads the answers. Every connection has
// a sender thread and a receiver thread, with up to --window requests in flight.
//
//   loadgen produce  --port P --template F --conns C --window W --requests N [--rate R]
//       F holds one or more size-prefixed Produce v7 frames; connection i sends
//       frame i % count. With --rate (requests/s over all connections) sends are
//       scheduled open-loop and latency is measured from the scheduled time, so
//       a stall is not hidden by the sender waiting for it (coordinated omission).
//   loadgen fetch    --port P --template F --conns C --window W --requests N
//                    --offset-at A[,B...] --offset-step K --expect-records-bytes R
//       F holds one Fetch v4 frame; request k fetches offset k*K at every byte
//       position A, B, ... (one per partition). Each answer is parsed and must
//       carry exactly R record bytes (whole batches) with no error code.
//       --rotate 1: request k (over all connections) sends frame k % count
//       instead, so frames for many partitions take turns (npm run bench, partition scaling).
//       --fence G: G holds one acks=1 Produce frame and the template holds acks=0
//       frames, which get no answer: each connection sends its requests without a
//       window, then G, and its one answer (the broker handles a connection's
//       requests in order) marks that everything before it was appended.
//   loadgen e2e      --port P --template F --requests N --rate R --fetch-template T
//                    --offset-at A --records-per-request K
//       End-to-end latency: one connection produces F (K records per request, to
//       a fresh single-partition topic) open-loop at R requests/s, while a second
//       connection long-polls Fetch T from the next offset. A record batch with
//       base offset o was sent by request o / K; its latency is from that request's
//       scheduled send time to the fetch answer that carried it.
//   loadgen exact    --port P --template F --expect E --conns C --window W --requests N [--rate R]
//       Any API whose answer to a fixed request is always the same (OffsetCommit
//       of fixed offsets): E holds the size-prefixed answer to the template's
//       first frame, and every answer must equal it apart from the correlation id.
//   loadgen loopback --bytes N [--chunk B] [--write-file F]
//       The machine's reference: a forked child reads N bytes from a loopback
//       TCP socket in B-byte reads while the parent writes them in B-byte writes.
//       With --write-file the child also appends what it reads to F (pwrite, no
//       fsync): the least a broker can do per produced byte. The child's CPU
//       time (user + system, from wait4) is reported as readerCpuS.
//
// Output: one JSON object on stdout.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WINDOW_MAX 256
#define CONNS_MAX 64
#define FRAMES_MAX 4096

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void fail(const char *what) {
  fprintf(stderr, "loadgen: %s\n", what);
  exit(2);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

// 0 on EOF before n bytes.
static int read_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) return 0;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

static uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static int64_t be64(const uint8_t *p) { return (int64_t)(((uint64_t)be32(p) << 32) | be32(p + 4)); }
static void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}
static void put64(uint8_t *p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// ---- options ----

enum Mode { PRODUCE, FETCH, EXACT, E2E };

static struct {
  enum Mode mode;
  int port;
  const char *template_path;
  int conns;
  int window;
  long requests;
  double rate;
  long offset_at[64];
  int offset_count;
  long offset_step;
  long expect_records_bytes;
  const char *expect_path;
  int rotate;
  const char *fence_path;
  const char *fetch_template_path;
  long records_per_request;
} opt = {.conns = 1, .window = 8};

static uint8_t *templ;
static size_t templ_len;
static size_t frame_at[FRAMES_MAX];
static size_t frame_len[FRAMES_MAX];
static uint8_t *fence;  // --fence: the acks=1 frame closing an acks=0 run
static size_t fence_len;
static int64_t *scheduled_ns;  // e2e: the scheduled send time of every request
static int frame_count;
static uint8_t *expected;  // EXACT: the size-prefixed answer every request must get
static size_t expected_len;

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  struct stat st;
  if (fstat(fileno(f), &st) < 0) die("fstat");
  *len = (size_t)st.st_size;
  uint8_t *p = malloc(*len + 1);
  if (!p || fread(p, 1, *len, f) != *len) fail("reading a file");
  fclose(f);
  return p;
}

static void load_template(void) {
  FILE *f = fopen(opt.template_path, "rb");
  if (!f) die(opt.template_path);
  struct stat st;
  if (fstat(fileno(f), &st) < 0) die("fstat");
  templ_len = (size_t)st.st_size;
  templ = malloc(templ_len);
  if (!templ || fread(templ, 1, templ_len, f) != templ_len) fail("reading the template");
  fclose(f);
  for (size_t at = 0; at < templ_len && frame_count < FRAMES_MAX;) {
    if (templ_len - at < 12) fail("template: truncated frame");
    size_t n = 4 + be32(templ + at);
    if (at + n > templ_len) fail("template: frame past the end");
    frame_at[frame_count] = at;
    frame_len[frame_count++] = n;
    at += n;
  }
  if (frame_count == 0) fail("template: no frame");
  if (opt.fence_path) {
    fence = read_file(opt.fence_path, &fence_len);
    if (fence_len < 12 || 4 + be32(fence) != fence_len) fail("fence: not one size-prefixed frame");
  }
  if (opt.mode == EXACT) {
    FILE *e = fopen(opt.expect_path, "rb");
    if (!e) die(opt.expect_path);
    if (fstat(fileno(e), &st) < 0) die("fstat");
    expected_len = (size_t)st.st_size;
    expected = malloc(expected_len);
    if (!expected || fread(expected, 1, expected_len, e) != expected_len) fail("reading the expected answer");
    fclose(e);
    if (expected_len < 8 || 4 + be32(expected) != expected_len) fail("expected answer: not one size-prefixed frame");
  }
}

// ---- one connection ----

typedef struct {
  int index;
  int fd;
  uint8_t *frame;  // this connection's copy (correlation ids and offsets are patched)
  uint8_t *frames;  // --rotate: this connection's copy of the whole template
  size_t frame_len;
  long requests;   // to send on this connection
  long first_request;  // global index of the first (fetch offsets)
  sem_t window;
  int64_t sent_at[WINDOW_MAX];
  uint32_t *latency_us;
  long done;
  long errors;
  long long response_bytes;
  long long record_bytes;
  char error_text[200];
  int64_t start_ns;
} Conn;

static Conn conns[CONNS_MAX];

static void *sender_main(void *arg) {
  Conn *c = arg;
  double per_conn_rate = opt.rate > 0 ? opt.rate / opt.conns : 0;
  for (long i = 0; i < c->requests; i++) {
    int64_t scheduled = 0;
    if (per_conn_rate > 0) {
      scheduled = c->start_ns + (int64_t)((double)i * 1e9 / per_conn_rate);
      struct timespec ts = {.tv_sec = scheduled / 1000000000LL, .tv_nsec = scheduled % 1000000000LL};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
      }
    }
    uint8_t *frame = c->frame;
    size_t len = c->frame_len;
    if (opt.rotate) {
      long f = (c->first_request + i * opt.conns) % frame_count;
      frame = c->frames + frame_at[f];
      len = frame_len[f];
    }
    if (!fence) {
      while (sem_wait(&c->window) < 0 && errno == EINTR) {
      }
    }
    put32(frame + 8, (uint32_t)i);  // correlation id: size(4) api key(2) version(2)
    if (opt.mode == FETCH) {
      uint64_t offset = (uint64_t)(c->first_request + i * opt.conns) * (uint64_t)opt.offset_step;
      for (int k = 0; k < opt.offset_count; k++) put64(c->frame + opt.offset_at[k], offset);
    }
    c->sent_at[i % WINDOW_MAX] = per_conn_rate > 0 ? scheduled : now_ns();
    if (scheduled_ns) scheduled_ns[c->first_request + i * opt.conns] = c->sent_at[i % WINDOW_MAX];
    write_all(c->fd, frame, len);
  }
  if (fence) {
    uint8_t *f = malloc(fence_len);
    memcpy(f, fence, fence_len);
    put32(f + 8, (uint32_t)c->requests);
    c->sent_at[0] = now_ns();
    write_all(c->fd, f, fence_len);
    free(f);
  }
  return NULL;
}

// Produce v7 response: correlation id, [topic name, [index, error, base offset,
// log append time, log start offset]], throttle time.
static long produce_errors(const uint8_t *p, size_t n, char *text, size_t text_len) {
  size_t at = 4;
  long errors = 0;
  if (n < at + 4) return 1;
  uint32_t topics = be32(p + at);
  at += 4;
  for (uint32_t t = 0; t < topics; t++) {
    if (n < at + 2) return errors + 1;
    at += 2 + be16(p + at);
    if (n < at + 4) return errors + 1;
    uint32_t parts = be32(p + at);
    at += 4;
    for (uint32_t q = 0; q < parts; q++) {
      if (n < at + 30) return errors + 1;
      uint16_t code = be16(p + at + 4);
      if (code != 0) {
        errors++;
        snprintf(text, text_len, "partition %u: error code %u", be32(p + at), code);
      }
      at += 30;
    }
  }
  return errors;
}

// Fetch v4 response: correlation id, throttle time, [topic, [partition, error,
// high watermark, last stable offset, aborted (nullable array of 16-byte
// entries), records]]. Returns the record bytes, or -1 with `text` set.
static long long fetch_records(const uint8_t *p, size_t n, char *text, size_t text_len) {
  size_t at = 8;
  long long records = 0;
  if (n < at + 4) goto bad;
  uint32_t topics = be32(p + at);
  at += 4;
  for (uint32_t t = 0; t < topics; t++) {
    if (n < at + 2) goto bad;
    at += 2 + be16(p + at);
    if (n < at + 4) goto bad;
    uint32_t parts = be32(p + at);
    at += 4;
    for (uint32_t q = 0; q < parts; q++) {
      if (n < at + 26) goto bad;
      uint16_t code = be16(p + at + 4);
      if (code != 0) {
        snprintf(text, text_len, "partition %u: error code %u", be32(p + at), code);
        return -1;
      }
      at += 22;  // partition, error, high watermark, last stable offset
      int32_t aborted = (int32_t)be32(p + at);
      at += 4;
      if (aborted > 0) at += (size_t)aborted * 16;
      if (n < at + 4) goto bad;
      int32_t len = (int32_t)be32(p + at);
      at += 4;
      if (len > 0) {
        if (n < at + (size_t)len) goto bad;
        // Whole batches only: walk the length fields.
        size_t end = at + (size_t)len;
        for (size_t b = at; b < end;) {
          if (end - b < 12) goto partial;
          size_t batch = 12 + be32(p + b + 8);
          if (b + batch > end) goto partial;
          (void)be64(p + b);
          b += batch;
        }
        records += len;
        at = end;
      }
    }
  }
  return records;
partial:
  snprintf(text, text_len, "a partial batch in a fetch answer");
  return -1;
bad:
  snprintf(text, text_len, "malformed fetch answer of %zu bytes", n);
  return -1;
}

static void *receiver_main(void *arg) {
  Conn *c = arg;
  size_t cap = 1 << 20;
  uint8_t *buf = malloc(cap);
  uint8_t head[4];
  long first = fence ? c->requests : 0;  // acks=0 requests get no answer: only the fence's
  long last = fence ? c->requests + 1 : c->requests;
  for (long i = first; i < last; i++) {
    if (!read_all(c->fd, head, 4)) {
      snprintf(c->error_text, sizeof c->error_text, "connection closed by the broker after %ld answers", i);
      c->errors++;
      break;
    }
    size_t n = be32(head);
    if (n > cap) {
      while (cap < n) cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) fail("out of memory");
    }
    if (!read_all(c->fd, buf, n)) {
      snprintf(c->error_text, sizeof c->error_text, "connection closed mid-answer");
      c->errors++;
      break;
    }
    int64_t t = now_ns();
    if (n < 4 || be32(buf) != (uint32_t)i) {
      snprintf(c->error_text, sizeof c->error_text, "answer %ld has correlation id %u", i, n >= 4 ? be32(buf) : 0);
      c->errors++;
      break;
    }
    if (!fence) c->latency_us[i] = (uint32_t)((t - c->sent_at[i % WINDOW_MAX]) / 1000);
    c->response_bytes += (long long)n + 4;
    if (opt.mode == PRODUCE || opt.mode == E2E) {
      c->errors += produce_errors(buf, n, c->error_text, sizeof c->error_text);
    } else if (opt.mode == EXACT) {
      if (n + 4 != expected_len || memcmp(buf + 4, expected + 8, n - 4) != 0) {
        c->errors++;
        snprintf(c->error_text, sizeof c->error_text, "answer %ld (%zu bytes) differs from the expected answer (%zu bytes)", i, n, expected_len - 4);
      }
    } else {
      long long r = fetch_records(buf, n, c->error_text, sizeof c->error_text);
      if (r < 0) {
        c->errors++;
      } else {
        c->record_bytes += r;
        if (opt.expect_records_bytes > 0 && r != opt.expect_records_bytes) {
          c->errors++;
          snprintf(c->error_text, sizeof c->error_text, "fetch %ld carried %lld record bytes, expected %ld", c->first_request + i * opt.conns, r,
                   opt.expect_records_bytes);
        }
      }
    }
    c->done += fence ? c->requests : 1;
    sem_post(&c->window);
  }
  free(buf);
  return NULL;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int run_requests(void) {
  load_template();
  if (opt.conns < 1 || opt.conns > CONNS_MAX) fail("--conns out of range");
  if (opt.window < 1 || opt.window > WINDOW_MAX) fail("--window out of range");
  if (opt.requests < opt.conns) fail("--requests must be at least --conns");
  if (opt.mode == FETCH && (opt.offset_count == 0 || opt.offset_step <= 0)) fail("fetch needs --offset-at and --offset-step");
  pthread_t senders[CONNS_MAX], receivers[CONNS_MAX];
  uint32_t *latencies = calloc((size_t)opt.requests, sizeof(uint32_t));
  long assigned = 0;
  for (int i = 0; i < opt.conns; i++) {
    Conn *c = &conns[i];
    c->index = i;
    c->fd = connect_to(opt.port);
    int f = i % frame_count;
    c->frame_len = frame_len[f];
    c->frame = malloc(c->frame_len);
    memcpy(c->frame, templ + frame_at[f], c->frame_len);
    if (opt.rotate) {
      c->frames = malloc(templ_len);
      memcpy(c->frames, templ, templ_len);
    }
    c->requests = opt.requests / opt.conns + (i < opt.requests % opt.conns ? 1 : 0);
    c->first_request = i;
    c->latency_us = latencies + assigned;
    assigned += c->requests;
    sem_init(&c->window, 0, (unsigned)opt.window);
    if (opt.mode == FETCH)
      for (int k = 0; k < opt.offset_count; k++)
        if (opt.offset_at[k] < 12 || (size_t)opt.offset_at[k] + 8 > c->frame_len) fail("--offset-at outside the frame");
  }
  int64_t start = now_ns();
  for (int i = 0; i < opt.conns; i++) {
    conns[i].start_ns = start;
    pthread_create(&receivers[i], NULL, receiver_main, &conns[i]);
    pthread_create(&senders[i], NULL, sender_main, &conns[i]);
  }
  long errors = 0, done = 0;
  long long response_bytes = 0, record_bytes = 0;
  const char *error_text = "";
  for (int i = 0; i < opt.conns; i++) {
    pthread_join(receivers[i], NULL);
    if (conns[i].errors > 0) {
      // The sender may be blocked on a broken connection: unblock it.
      shutdown(conns[i].fd, SHUT_RDWR);
      for (int k = 0; k < opt.window; k++) sem_post(&conns[i].window);
    }
    pthread_join(senders[i], NULL);
    errors += conns[i].errors;
    done += conns[i].done;
    response_bytes += conns[i].response_bytes;
    record_bytes += conns[i].record_bytes;
    if (conns[i].error_text[0]) error_text = conns[i].error_text;
  }
  double seconds = (double)(now_ns() - start) / 1e9;
  // Latencies of answered requests only.
  long k = 0;
  for (int i = 0; i < opt.conns && !fence; i++)
    for (long j = 0; j < conns[i].done; j++) latencies[k++] = conns[i].latency_us[j];
  qsort(latencies, (size_t)k, sizeof(uint32_t), cmp_u32);
#define PCT(p) (k > 0 ? latencies[(long)((double)(k - 1) * (p))] : 0)
  printf("{\"requests\":%ld,\"errors\":%ld,\"seconds\":%.6f,\"responseBytes\":%lld,\"recordBytes\":%lld,"
         "\"latencyUs\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u},\"error\":\"%s\"}\n",
         done, errors, seconds, response_bytes, record_bytes, PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999), k > 0 ? latencies[k - 1] : 0,
         error_text);
  return errors > 0 ? 1 : 0;
}

// ---- loopback reference ----

static int run_loopback(long long bytes, size_t chunk, const char *write_file) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (bind(listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(listener, 1) < 0) die("listen");
  if (getsockname(listener, (struct sockaddr *)&a, &alen) < 0) die("getsockname");
  int port = ntohs(a.sin_port);
  uint8_t *buf = malloc(chunk);
  memset(buf, 0x5a, chunk);
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    int fd = connect_to(port);
    int out = -1;
    if (write_file) {
      out = open(write_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0) _exit(4);
    }
    long long got = 0;
    while (got < bytes) {
      ssize_t r = read(fd, buf, chunk);
      if (r <= 0) _exit(3);
      if (out >= 0 && pwrite(out, buf, (size_t)r, got) != r) _exit(5);
      got += r;
    }
    if (out >= 0) close(out);
    write_all(fd, (const uint8_t *)"k", 1);
    _exit(0);
  }
  int fd = accept(listener, NULL, NULL);
  if (fd < 0) die("accept");
  int64_t start = now_ns();
  for (long long sent = 0; sent < bytes;) {
    size_t n = (size_t)(bytes - sent < (long long)chunk ? bytes - sent : (long long)chunk);
    write_all(fd, buf, n);
    sent += (long long)n;
  }
  uint8_t ack;
  if (!read_all(fd, &ack, 1)) fail("loopback reader quit early");
  double seconds = (double)(now_ns() - start) / 1e9;
  int status;
  struct rusage usage;
  if (wait4(child, &status, 0, &usage) < 0) die("wait4");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("loopback reader failed");
  double reader_cpu = (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  printf("{\"bytes\":%lld,\"seconds\":%.6f,\"mbPerS\":%.1f,\"readerCpuS\":%.4f}\n", bytes, seconds, (double)bytes / 1e6 / seconds, reader_cpu);
  return 0;
}

// ---- end-to-end latency ----

typedef struct {
  int fd;
  uint8_t *frame;
  size_t frame_len;
  long records_total;
  uint32_t *latency_us;  // per produced request, from its scheduled send to the fetch that carried it
  long seen;             // requests whose batch was fetched
  char error_text[200];
  long errors;
} Consumer;

// Walks a Fetch v4 answer of one partition; for every batch, records the
// latency of the request that produced it. Returns the next fetch offset, or -1.
static long long e2e_batches(Consumer *k, const uint8_t *p, size_t n, long long offset, int64_t t) {
  size_t at = 8;
  if (n < at + 4 || be32(p + at) != 1) goto bad;
  at += 4;
  if (n < at + 2) goto bad;
  at += 2 + be16(p + at);
  if (n < at + 4 || be32(p + at) != 1) goto bad;
  at += 4;
  if (n < at + 26) goto bad;
  uint16_t code = be16(p + at + 4);
  if (code != 0) {
    snprintf(k->error_text, sizeof k->error_text, "fetch: error code %u", code);
    return -1;
  }
  at += 22;
  int32_t aborted = (int32_t)be32(p + at);
  at += 4;
  if (aborted > 0) at += (size_t)aborted * 16;
  if (n < at + 4) goto bad;
  int32_t len = (int32_t)be32(p + at);
  at += 4;
  if (len <= 0) return offset;
  if (n < at + (size_t)len) goto bad;
  for (size_t b = at, end = at + (size_t)len; end - b >= 27;) {
    size_t batch = 12 + be32(p + b + 8);
    if (b + batch > end) break;  // a partial batch at the end: fetched again next time
    long long base = be64(p + b);
    long long last = base + (int32_t)be32(p + b + 23);
    if (base >= offset) {
      long req = (long)(base / opt.records_per_request);
      if (req < opt.requests) {
        k->latency_us[req] = (uint32_t)((t - scheduled_ns[req]) / 1000);
        k->seen++;
      }
    }
    offset = last + 1;
    b += batch;
  }
  return offset;
bad:
  snprintf(k->error_text, sizeof k->error_text, "malformed fetch answer of %zu bytes", n);
  return -1;
}

static void *consumer_main(void *arg) {
  Consumer *k = arg;
  size_t cap = 1 << 20;
  uint8_t *buf = malloc(cap);
  uint8_t head[4];
  long long offset = 0;
  for (uint32_t id = 0; offset < k->records_total; id++) {
    put32(k->frame + 8, id);
    put64(k->frame + opt.offset_at[0], (uint64_t)offset);
    write_all(k->fd, k->frame, k->frame_len);
    if (!read_all(k->fd, head, 4)) {
      snprintf(k->error_text, sizeof k->error_text, "fetch connection closed");
      k->errors++;
      break;
    }
    size_t n = be32(head);
    if (n > cap) {
      while (cap < n) cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) fail("out of memory");
    }
    if (!read_all(k->fd, buf, n)) {
      snprintf(k->error_text, sizeof k->error_text, "fetch connection closed mid-answer");
      k->errors++;
      break;
    }
    offset = e2e_batches(k, buf, n, offset, now_ns());
    if (offset < 0) {
      k->errors++;
      break;
    }
  }
  free(buf);
  return NULL;
}

static int run_e2e(void) {
  opt.conns = 1;
  load_template();
  scheduled_ns = calloc((size_t)opt.requests, sizeof(int64_t));
  Consumer k = {0};
  k.frame = read_file(opt.fetch_template_path, &k.frame_len);
  if ((size_t)opt.offset_at[0] + 8 > k.frame_len) fail("--offset-at outside the fetch frame");
  k.records_total = opt.requests * opt.records_per_request;
  k.latency_us = calloc((size_t)opt.requests, sizeof(uint32_t));
  k.fd = connect_to(opt.port);
  Conn *c = &conns[0];
  c->fd = connect_to(opt.port);
  c->frame_len = frame_len[0];
  c->frame = malloc(c->frame_len);
  memcpy(c->frame, templ + frame_at[0], c->frame_len);
  c->requests = opt.requests;
  c->latency_us = calloc((size_t)opt.requests, sizeof(uint32_t));
  sem_init(&c->window, 0, (unsigned)opt.window);
  pthread_t sender, receiver, consumer;
  int64_t start = now_ns();
  c->start_ns = start;
  pthread_create(&consumer, NULL, consumer_main, &k);
  pthread_create(&receiver, NULL, receiver_main, c);
  pthread_create(&sender, NULL, sender_main, c);
  pthread_join(receiver, NULL);
  if (c->errors > 0) {
    shutdown(c->fd, SHUT_RDWR);
    for (int i = 0; i < opt.window; i++) sem_post(&c->window);
    shutdown(k.fd, SHUT_RDWR);
  }
  pthread_join(sender, NULL);
  pthread_join(consumer, NULL);
  double seconds = (double)(now_ns() - start) / 1e9;
  long errors = c->errors + k.errors;
  const char *error_text = c->error_text[0] ? c->error_text : k.error_text;
  if (errors == 0 && k.seen != opt.requests) {
    errors = 1;
    error_text = "not every produced batch was fetched exactly once";
  }
  qsort(k.latency_us, (size_t)opt.requests, sizeof(uint32_t), cmp_u32);
  uint32_t *latencies = k.latency_us;
  long n = opt.requests;
#define EPCT(p) latencies[(long)((double)(n - 1) * (p))]
  printf("{\"requests\":%ld,\"errors\":%ld,\"seconds\":%.6f,\"responseBytes\":0,\"recordBytes\":0,"
         "\"latencyUs\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u},\"error\":\"%s\"}\n",
         n, errors, seconds, EPCT(0.5), EPCT(0.9), EPCT(0.99), EPCT(0.999), latencies[n - 1], error_text);
  return errors > 0 ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) fail("usage: loadgen produce|fetch|loopback [options]");
  const char *mode = argv[1];
  long long loop_bytes = 1LL << 30;
  long chunk = 1 << 20;
  const char *write_file = NULL;
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) fail("an option needs a value");
    i++;
    if (!strcmp(k, "--port")) opt.port = atoi(v);
    else if (!strcmp(k, "--template")) opt.template_path = v;
    else if (!strcmp(k, "--conns")) opt.conns = atoi(v);
    else if (!strcmp(k, "--window")) opt.window = atoi(v);
    else if (!strcmp(k, "--requests")) opt.requests = atol(v);
    else if (!strcmp(k, "--rate")) opt.rate = atof(v);
    else if (!strcmp(k, "--offset-step")) opt.offset_step = atol(v);
    else if (!strcmp(k, "--expect-records-bytes")) opt.expect_records_bytes = atol(v);
    else if (!strcmp(k, "--bytes")) loop_bytes = atoll(v);
    else if (!strcmp(k, "--chunk")) chunk = atol(v);
    else if (!strcmp(k, "--write-file")) write_file = v;
    else if (!strcmp(k, "--expect")) opt.expect_path = v;
    else if (!strcmp(k, "--rotate")) opt.rotate = atoi(v);
    else if (!strcmp(k, "--fence")) opt.fence_path = v;
    else if (!strcmp(k, "--fetch-template")) opt.fetch_template_path = v;
    else if (!strcmp(k, "--records-per-request")) opt.records_per_request = atol(v);
    else if (!strcmp(k, "--offset-at")) {
      char *copy = strdup(v);
      for (char *tok = strtok(copy, ","); tok && opt.offset_count < 64; tok = strtok(NULL, ",")) opt.offset_at[opt.offset_count++] = atol(tok);
      free(copy);
    } else {
      fprintf(stderr, "loadgen: unknown option %s\n", k);
      return 2;
    }
  }
  if (!strcmp(mode, "loopback")) return run_loopback(loop_bytes, (size_t)chunk, write_file);
  if (!strcmp(mode, "produce")) opt.mode = PRODUCE;
  else if (!strcmp(mode, "fetch")) opt.mode = FETCH;
  else if (!strcmp(mode, "exact")) opt.mode = EXACT;
  else if (!strcmp(mode, "e2e")) opt.mode = E2E;
  else fail("mode must be produce, fetch, exact, e2e or loopback");
  if (opt.mode == E2E) {
    if (!opt.port || !opt.template_path || !opt.fetch_template_path || opt.requests <= 0 || opt.offset_count != 1 || opt.records_per_request <= 0)
      fail("e2e needs --port, --template, --fetch-template, --requests, --offset-at and --records-per-request");
    return run_e2e();
  }
  if (opt.mode == EXACT && !opt.expect_path) fail("exact needs --expect");
  if (!opt.port || !opt.template_path || opt.requests <= 0) fail("--port, --template and --requests are required");
  return run_requests();
}
