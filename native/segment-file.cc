// SegmentFile: one Kafka `.log` segment data file (see NativeSegmentFile in
// src/native/types.ts for the JS contract).
//
// On disk the file is a plain sequence of RecordBatch v2 batches from position
// 0 to the logical size. Three modes:
// - mmap: the file is preallocated with fallocate to the capacity (never a
//   sparse ftruncate: a full disk then fails here with ENOSPC instead of
//   raising SIGBUS on a later memcpy), mapped MAP_SHARED, and appends are
//   memcpy. A worker thread keeps the pages ahead of the logical end
//   pre-faulted (MADV_POPULATE_WRITE) so appends do not take page faults on
//   the event loop. Bytes past the logical size are zero while the segment is
//   open and are cut by close(), so a cleanly closed file is exactly its
//   logical size; after a crash the logical end is found by a header walk.
// - write: pwrite at the logical end in chunks of at most 64 KiB; the file
//   size is the logical size.
// - readonly: no writes; reads and scans use pread.
//
// Threads and ownership: the JS thread owns everything except what a worker
// borrows. Workers (prefault, flush) hold a shared_ptr to the SegmentCore, so a
// garbage-collected SegmentFile cannot free the mapping or close the fd under
// them; the core is released by whoever drops the last reference. Before the
// JS thread unmaps or moves the mapping (grow, close) it waits for the one
// prefault job; before it closes the fd it waits for every job. Those waits are
// short (a prefault populates at most 8 MiB; a flush is one fdatasync) and only
// happen on close and on the rare growth past capacity, never on append.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon.h"
#include "record-batch.h"
#include "segment-batch.h"
#include "segment-crc-fallback.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older headers lack it.
#endif

namespace samsa {
namespace {

// Positions are int32 in Kafka's offset index and FileRecords, so a segment
// never grows past 2^31 - 1 bytes.
constexpr int64_t kSegmentBytesMax = 2147483647;
// A write of 64 KiB per syscall measured 3-9x less CPU per GiB than 1 MiB
// writes on the target machine (the source stays in L2 while it is copied).
constexpr int64_t kWriteChunkBytes = 64 * 1024;
// pread read-ahead of the header scans: one syscall covers many small batches
// while the buffer stays small enough to allocate per scan.
constexpr int64_t kReadAheadBytes = 64 * 1024;
// Prefault keeps between 4 and 8 MiB populated past the logical end: at
// 1 GB/s of appends that is 4-8 ms of headroom for the worker, and 8 MiB of
// dirty zero pages is a small price per active segment.
constexpr int64_t kPrefaultLowWaterBytes = 4 * 1024 * 1024;
constexpr int64_t kPrefaultAheadBytes = 8 * 1024 * 1024;
// Growth past capacity rounds up to whole MiB so a run of oversized appends
// does not remap per call.
constexpr int64_t kGrowStepBytes = 1024 * 1024;
// findBatch writes 5 numbers: position, baseOffset, lastOffset, maxTimestamp, batchBytes.
constexpr size_t kFindBatchSlots = 5;

enum class Mode { kMmap, kWrite, kReadonly };

int64_t PageBytes() {
  static const int64_t bytes = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
  return bytes;
}
int64_t RoundUp(int64_t n, int64_t step) { return (n + step - 1) / step * step; }
int64_t RoundDown(int64_t n, int64_t step) { return n / step * step; }


// Corruption found by a read-path scan: an Error with code ESEGMENTCORRUPT
// naming the file and position, so the log can fail the partition loudly.
void ThrowCorrupt(Napi::Env env, const std::string& path, int64_t position, const char* why) {
  Napi::Error error = Napi::Error::New(env, "corrupt segment " + path + " at position " +
                                                std::to_string(position) + ": " + why);
  error.Set("code", Napi::String::New(env, "ESEGMENTCORRUPT"));
  error.Set("path", Napi::String::New(env, path));
  error.Set("position", Napi::Number::New(env, double(position)));
  error.ThrowAsJavaScriptException();
}

bool ReadInteger(const Napi::Value& v, double lo, double hi, int64_t* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

int PreallocateRange(int fd, int64_t offset, int64_t length) {
  if (length <= 0) return 0;
  if (fallocate(fd, 0, offset, length) == 0) return 0;
  const int err = errno;
  // Filesystems without fallocate: posix_fallocate writes zeros, still not sparse.
  if (err == EOPNOTSUPP) return posix_fallocate(fd, offset, length);
  return err;
}

// State shared between the JS thread and the worker jobs.
struct SegmentCore {
  std::string path;
  Mode mode = Mode::kWrite;
  int fd = -1;
  uint8_t* mapBase = nullptr;
  int64_t mapBytes = 0;       // mapped and allocated length (mmap mode)
  int64_t sizeBytes = 0;      // logical size
  // Written by the prefault job on its worker thread, so the next job can be
  // queued during the same event-loop turn (a turn with many appends would
  // otherwise outrun a prefault that waits for its completion callback).
  std::atomic<int64_t> populatedEnd{0};  // pages below this were pre-faulted (mmap mode)
  std::atomic<bool> prefaultQueued{false};
  std::atomic<bool> prefaultSupported{true};
  bool closed = false;

  std::mutex mutex;
  std::condition_variable idle;
  int prefaultJobs = 0;  // jobs that use the mapping
  int fdJobs = 0;        // jobs that use the fd (flush)

  ~SegmentCore() { Release(); }

  void JobStarted(bool usesMapping) {
    std::lock_guard<std::mutex> lock(mutex);
    (usesMapping ? prefaultJobs : fdJobs)++;
  }
  // Called at the end of a job's Execute, on the worker thread.
  void JobFinished(bool usesMapping) {
    std::lock_guard<std::mutex> lock(mutex);
    (usesMapping ? prefaultJobs : fdJobs)--;
    idle.notify_all();
  }
  void WaitForMappingJobs() {
    std::unique_lock<std::mutex> lock(mutex);
    idle.wait(lock, [this] { return prefaultJobs == 0; });
  }
  void WaitForAllJobs() {
    std::unique_lock<std::mutex> lock(mutex);
    idle.wait(lock, [this] { return prefaultJobs == 0 && fdJobs == 0; });
  }

  // Unmaps, trims (mmap mode) and closes; returns the first errno or 0.
  // Callers make sure no job runs.
  int Release() {
    int err = 0;
    if (mapBase != nullptr) {
      munmap(mapBase, size_t(mapBytes));
      mapBase = nullptr;
    }
    if (fd >= 0) {
      if (mode == Mode::kMmap && ftruncate(fd, sizeBytes) != 0) err = errno;
      if (close(fd) != 0 && err == 0) err = errno;
      fd = -1;
    }
    closed = true;
    return err;
  }
};

// Reads bytes of the segment for the scans: straight from the mapping in mmap
// mode, else through a 64 KiB pread window. Fetch never returns bytes past
// `limitBytes` (the logical size).
class SegmentReader {
 public:
  SegmentReader(const SegmentCore& core, int64_t limitBytes) : core_(core), limitBytes_(limitBytes) {}

  // Pointer to [position, position + length), valid until the next Fetch.
  // length <= kReadAheadBytes and position + length <= limitBytes (caller's duty).
  // nullptr on a read error (err() is the errno, or EIO for a short file).
  const uint8_t* Fetch(int64_t position, int64_t length) {
    if (core_.mapBase != nullptr) return core_.mapBase + position;
    if (position >= windowStart_ && position + length <= windowStart_ + windowBytes_) {
      return window_.data() + (position - windowStart_);
    }
    if (window_.empty()) window_.resize(size_t(kReadAheadBytes));
    const int64_t want = std::min(kReadAheadBytes, limitBytes_ - position);
    int64_t got = 0;
    while (got < want) {
      const ssize_t n = pread(core_.fd, window_.data() + got, size_t(want - got), position + got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        err_ = errno;
        return nullptr;
      }
      if (n == 0) break;
      got += n;
    }
    windowStart_ = position;
    windowBytes_ = got;
    if (got < length) {
      err_ = EIO;  // the file is shorter than its logical size: someone cut it
      return nullptr;
    }
    return window_.data();
  }

  // CRC32C of [position, position + length) in read-ahead sized pieces.
  bool Crc(int64_t position, int64_t length, uint32_t* crc) {
    uint32_t c = 0;
    while (length > 0) {
      const int64_t piece = std::min(length, kReadAheadBytes);
      const uint8_t* p = Fetch(position, piece);
      if (p == nullptr) return false;
      c = SegmentCrc32c(c, p, size_t(piece));
      position += piece;
      length -= piece;
    }
    *crc = c;
    return true;
  }

  int err() const { return err_; }

 private:
  const SegmentCore& core_;
  int64_t limitBytes_;
  std::vector<uint8_t> window_;
  int64_t windowStart_ = 0;
  int64_t windowBytes_ = 0;
  int err_ = 0;
};

// The structural end of a preallocated file: the first position where no
// plausible batch header starts (zero or impossible length, wrong magic, or a
// batch running past the file). No CRC check: recover() does that.
int64_t FindStructuralEnd(SegmentReader& reader, int64_t fileBytes, int* err) {
  int64_t position = 0;
  while (fileBytes - position >= int64_t(kBatchHeaderBytes)) {
    const uint8_t* p = reader.Fetch(position, kBatchHeaderBytes);
    if (p == nullptr) {
      *err = reader.err();
      return position;
    }
    BatchHeader header;
    if (CheckBatchHeader(p, fileBytes - position, kSegmentBytesMax, &header) != HeaderCheck::kOk) break;
    position += header.batchBytes;
  }
  return position;
}

class PrefaultJob : public Napi::AsyncWorker {
 public:
  PrefaultJob(Napi::Env env, std::shared_ptr<SegmentCore> core, int64_t from, int64_t to)
      : Napi::AsyncWorker(env, "samsa.SegmentFile.prefault"), core_(std::move(core)), from_(from), to_(to) {
    core_->JobStarted(true);
  }

  // One job in flight at a time (prefaultQueued), so populatedEnd has one writer.
  void Execute() override {
    if (madvise(core_->mapBase + from_, size_t(to_ - from_), MADV_POPULATE_WRITE) == 0) {
      if (to_ > core_->populatedEnd.load()) core_->populatedEnd.store(to_);
    } else if (errno == EINVAL) {
      core_->prefaultSupported.store(false);  // kernel before 5.14: appends fault as usual
    }
    core_->prefaultQueued.store(false);
    core_->JobFinished(true);
  }

  void OnOK() override {}

 private:
  std::shared_ptr<SegmentCore> core_;
  int64_t from_;
  int64_t to_;
};

class FlushJob : public Napi::AsyncWorker {
 public:
  FlushJob(Napi::Function callback, std::shared_ptr<SegmentCore> core)
      : Napi::AsyncWorker(callback, "samsa.SegmentFile.flush"), core_(std::move(core)) {
    core_->JobStarted(false);
  }

  // fdatasync in both modes: on Linux, msync(MS_SYNC) of a MAP_SHARED file
  // mapping is vfs_fsync_range over the file's dirty page cache, the same work
  // fdatasync does, and the fd (unlike the mapping) never moves on growth.
  void Execute() override {
    while (fdatasync(core_->fd) != 0) {
      if (errno == EINTR) continue;
      err_ = errno;
      break;
    }
    core_->JobFinished(false);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (err_ == 0) {
      Callback().Call({env.Null()});
    } else {
      Callback().Call({ErrnoError(env, err_, "fdatasync", core_->path).Value()});
    }
  }

 private:
  std::shared_ptr<SegmentCore> core_;
  int err_ = 0;
};

class SegmentFile : public Napi::ObjectWrap<SegmentFile> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SegmentFile",
                       {
                           InstanceMethod("fd", &SegmentFile::Fd),
                           InstanceMethod("size", &SegmentFile::Size),
                           InstanceMethod("append", &SegmentFile::Append),
                           InstanceMethod("readInto", &SegmentFile::ReadInto),
                           InstanceMethod("flush", &SegmentFile::Flush),
                           InstanceMethod("truncate", &SegmentFile::Truncate),
                           InstanceMethod("findBatch", &SegmentFile::FindBatch),
                           InstanceMethod("sliceEnd", &SegmentFile::SliceEnd),
                           InstanceMethod("recover", &SegmentFile::Recover),
                           InstanceMethod("close", &SegmentFile::Close),
                       });
  }

  // new SegmentFile(path, mode, capacityBytes, knownSize)
  explicit SegmentFile(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SegmentFile>(info) {
    Napi::Env env = info.Env();
    core_ = std::make_shared<SegmentCore>();
    core_->closed = true;  // until the open below succeeds
    if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString()) {
      Napi::TypeError::New(env, "SegmentFile(path, mode, capacityBytes, knownSize)").ThrowAsJavaScriptException();
      return;
    }
    core_->path = info[0].As<Napi::String>().Utf8Value();
    const std::string mode = info[1].As<Napi::String>().Utf8Value();
    if (mode == "mmap") {
      core_->mode = Mode::kMmap;
    } else if (mode == "write") {
      core_->mode = Mode::kWrite;
    } else if (mode == "readonly") {
      core_->mode = Mode::kReadonly;
    } else {
      Napi::TypeError::New(env, "SegmentFile mode must be 'mmap', 'write' or 'readonly'").ThrowAsJavaScriptException();
      return;
    }
    int64_t capacityBytes = 0;
    int64_t knownSize = 0;
    if (!ReadInteger(info[2], 0, double(kSegmentBytesMax), &capacityBytes) ||
        !ReadInteger(info[3], -1, double(kSegmentBytesMax), &knownSize)) {
      Napi::RangeError::New(env, "SegmentFile: capacityBytes must be in [0, 2^31-1], knownSize in [-1, 2^31-1]")
          .ThrowAsJavaScriptException();
      return;
    }
    Open(env, capacityBytes, knownSize);
  }

  ~SegmentFile() override = default;  // the core (and its fd and mapping) goes with the last job

 private:
  void Open(Napi::Env env, int64_t capacityBytes, int64_t knownSize) {
    SegmentCore& core = *core_;
    const int flags = core.mode == Mode::kReadonly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CREAT | O_CLOEXEC;
    const int fd = open(core.path.c_str(), flags, 0644);
    if (fd < 0) return ThrowErrno(env, errno, "open", core.path);
    core.fd = fd;
    core.closed = false;
    struct stat st;
    if (fstat(fd, &st) != 0) return FailOpen(env, errno, "fstat");
    const int64_t fileBytes = int64_t(st.st_size);
    if (knownSize > fileBytes) {
      core.Release();
      Napi::RangeError::New(env, "SegmentFile " + core.path + ": knownSize " + std::to_string(knownSize) +
                                     " is beyond the file size " + std::to_string(fileBytes))
          .ThrowAsJavaScriptException();
      return;
    }
    if (knownSize >= 0) {
      core.sizeBytes = knownSize;
    } else if (core.mode == Mode::kMmap) {
      SegmentReader reader(core, fileBytes);
      int err = 0;
      core.sizeBytes = FindStructuralEnd(reader, fileBytes, &err);
      if (err != 0) return FailOpen(env, err, "pread");
    } else {
      core.sizeBytes = std::min(fileBytes, kSegmentBytesMax);
    }
    if (core.mode == Mode::kReadonly) return;
    if (core.mode == Mode::kWrite) {
      // In write mode the file size is the logical size: drop a tail past knownSize.
      if (fileBytes > core.sizeBytes && ftruncate(fd, core.sizeBytes) != 0) return FailOpen(env, errno, "ftruncate");
      return;
    }

    // Cut whatever lies past the logical end (a torn tail, stale batches after
    // a crash) so the space past it reads as zeros and a later header walk
    // cannot pick up old batches; then preallocate and map.
    if (fileBytes > core.sizeBytes && ftruncate(fd, core.sizeBytes) != 0) return FailOpen(env, errno, "ftruncate");
    const int64_t mapBytes = RoundUp(std::max({capacityBytes, core.sizeBytes, PageBytes()}), PageBytes());
    const int err = PreallocateRange(fd, 0, mapBytes);
    if (err != 0) {
      // Give back a partial allocation; the file keeps its logical bytes.
      if (ftruncate(fd, core.sizeBytes) != 0) {
        // Nothing more to do: the open fails with the fallocate error anyway.
      }
      return FailOpen(env, err, "fallocate");
    }
    void* base = mmap(nullptr, size_t(mapBytes), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return FailOpen(env, errno, "mmap");
    core.mapBase = static_cast<uint8_t*>(base);
    core.mapBytes = mapBytes;
    MaybePrefault(env);
  }

  void FailOpen(Napi::Env env, int err, const char* op) {
    core_->Release();
    ThrowErrno(env, err, op, core_->path);
  }

  bool CheckOpen(Napi::Env env) {
    if (!core_->closed) return true;
    Napi::Error::New(env, "SegmentFile " + core_->path + " is closed").ThrowAsJavaScriptException();
    return false;
  }

  bool CheckWritable(Napi::Env env) {
    if (!CheckOpen(env)) return false;
    if (core_->mode != Mode::kReadonly) return true;
    Napi::Error::New(env, "SegmentFile " + core_->path + " is open readonly").ThrowAsJavaScriptException();
    return false;
  }

  // Queues one populate job when fewer than 4 MiB past the logical end are
  // pre-faulted. Never waits: when a job is in flight the next append retries.
  void MaybePrefault(Napi::Env env) {
    SegmentCore& core = *core_;
    if (core.mode != Mode::kMmap || !core.prefaultSupported.load() || core.prefaultQueued.load()) return;
    const int64_t from = std::max(core.populatedEnd.load(), RoundDown(core.sizeBytes, PageBytes()));
    if (from >= core.mapBytes || from - core.sizeBytes >= kPrefaultLowWaterBytes) return;
    const int64_t to = std::min(core.mapBytes, RoundUp(core.sizeBytes + kPrefaultAheadBytes, PageBytes()));
    if (to <= from) return;
    core.prefaultQueued.store(true);
    (new PrefaultJob(env, core_, from, to))->Queue();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), core_->fd);
  }

  Napi::Value Size(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), double(core_->sizeBytes));
  }

  // Reads (buf, start, end) arguments; false after throwing.
  static bool ReadRange(const Napi::CallbackInfo& info, size_t at, uint8_t** data, int64_t* start, int64_t* end) {
    Napi::Env env = info.Env();
    if (info.Length() < at + 3 || !info[at].IsTypedArray() ||
        info[at].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "expected (buf: Uint8Array, start, end)").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Uint8Array buf = info[at].As<Napi::Uint8Array>();
    const double bytes = double(buf.ElementLength());
    if (!ReadInteger(info[at + 1], 0, bytes, start) || !ReadInteger(info[at + 2], double(*start), bytes, end)) {
      Napi::RangeError::New(env, "need 0 <= start <= end <= buf.length").ThrowAsJavaScriptException();
      return false;
    }
    *data = buf.Data();
    return true;
  }

  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckWritable(env)) return env.Undefined();
    uint8_t* data = nullptr;
    int64_t start = 0;
    int64_t end = 0;
    if (!ReadRange(info, 0, &data, &start, &end)) return env.Undefined();
    SegmentCore& core = *core_;
    const int64_t position = core.sizeBytes;
    const int64_t length = end - start;
    // An empty append writes nothing (and an empty Buffer may have no data pointer).
    if (length == 0) return Napi::Number::New(env, double(position));
    if (length > kSegmentBytesMax - position) {
      ThrowErrno(env, EFBIG, "append", core.path);
      return env.Undefined();
    }
    if (core.mode == Mode::kMmap) {
      if (position + length > core.mapBytes && !Grow(env, position + length)) return env.Undefined();
      std::memcpy(core.mapBase + position, data + start, size_t(length));
      core.sizeBytes = position + length;
      MaybePrefault(env);
    } else {
      const int err = WriteAt(data + start, length, position);
      if (err != 0) {
        // Cut the part that did get written so the file size stays the logical size.
        if (ftruncate(core.fd, position) != 0) {
          // The append fails with the write error; a later append overwrites the tail.
        }
        ThrowErrno(env, err, "pwrite", core.path);
        return env.Undefined();
      }
      core.sizeBytes = position + length;
    }
    return Napi::Number::New(env, double(position));
  }

  int WriteAt(const uint8_t* data, int64_t length, int64_t position) {
    int64_t done = 0;
    while (done < length) {
      const int64_t piece = std::min(kWriteChunkBytes, length - done);
      const ssize_t n = pwrite(core_->fd, data + done, size_t(piece), position + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      if (n == 0) return EIO;
      done += n;
    }
    return 0;
  }

  // Grows an mmap segment to hold `neededBytes`: fallocate the new range, then
  // mremap. On failure the mapping, the logical size and (as far as the kernel
  // lets us) the file size are unchanged.
  bool Grow(Napi::Env env, int64_t neededBytes) {
    SegmentCore& core = *core_;
    const int64_t newBytes = std::min(RoundUp(neededBytes, kGrowStepBytes), RoundUp(kSegmentBytesMax, PageBytes()));
    int err = PreallocateRange(core.fd, core.mapBytes, newBytes - core.mapBytes);
    if (err != 0) {
      if (ftruncate(core.fd, core.mapBytes) != 0) {
        // Best effort: the extra allocated bytes lie past the mapping and are cut on close.
      }
      ThrowErrno(env, err, "fallocate", core.path);
      return false;
    }
    core.WaitForMappingJobs();  // a populate job must not run on the old address range
    void* base = mremap(core.mapBase, size_t(core.mapBytes), size_t(newBytes), MREMAP_MAYMOVE);
    if (base == MAP_FAILED) {
      err = errno;
      ThrowErrno(env, err, "mremap", core.path);
      return false;
    }
    core.mapBase = static_cast<uint8_t*>(base);
    core.mapBytes = newBytes;
    return true;
  }

  Napi::Value ReadInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int64_t position = 0;
    int64_t targetStart = 0;
    int64_t length = 0;
    if (info.Length() < 4 || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "readInto(position, target: Uint8Array, targetStart, length)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array target = info[1].As<Napi::Uint8Array>();
    const double targetBytes = double(target.ElementLength());
    if (!ReadInteger(info[0], 0, double(kSegmentBytesMax), &position) ||
        !ReadInteger(info[2], 0, targetBytes, &targetStart) ||
        !ReadInteger(info[3], 0, targetBytes - double(targetStart), &length)) {
      Napi::RangeError::New(env, "readInto: need position >= 0 and targetStart + length <= target.length")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    SegmentCore& core = *core_;
    const int64_t count = std::max<int64_t>(0, std::min(length, core.sizeBytes - position));
    uint8_t* out = target.Data() + targetStart;
    if (core.mapBase != nullptr) {
      std::memcpy(out, core.mapBase + position, size_t(count));
      return Napi::Number::New(env, double(count));
    }
    int64_t done = 0;
    while (done < count) {
      const ssize_t n = pread(core.fd, out + done, size_t(count - done), position + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ThrowErrno(env, errno, "pread", core.path);
        return env.Undefined();
      }
      if (n == 0) break;
      done += n;
    }
    return Napi::Number::New(env, double(done));
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "flush(callback)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    (new FlushJob(info[0].As<Napi::Function>(), core_))->Queue();
    return env.Undefined();
  }

  Napi::Value Truncate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckWritable(env)) return env.Undefined();
    SegmentCore& core = *core_;
    int64_t position = 0;
    if (info.Length() < 1 || !ReadInteger(info[0], 0, double(core.sizeBytes), &position)) {
      Napi::RangeError::New(env, "truncate: position must be an integer in [0, size]").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (core.mode == Mode::kMmap) {
      // Zeros keep the invariant "nothing past the logical end" that the
      // header walk after a crash relies on.
      std::memset(core.mapBase + position, 0, size_t(core.sizeBytes - position));
    } else if (ftruncate(core.fd, position) != 0) {
      ThrowErrno(env, errno, "ftruncate", core.path);
      return env.Undefined();
    }
    core.sizeBytes = position;
    return env.Undefined();
  }

  // Reads a start position argument: a position in [0, size].
  bool ReadStart(const Napi::CallbackInfo& info, int64_t* start) {
    if (ReadInteger(info[0], 0, double(core_->sizeBytes), start)) return true;
    Napi::RangeError::New(info.Env(), "startPosition must be an integer in [0, size]").ThrowAsJavaScriptException();
    return false;
  }

  // Reads the header at `position` for the read-path walks; false after throwing.
  bool WalkHeader(Napi::Env env, SegmentReader& reader, int64_t position, BatchHeader* header) {
    const int64_t available = core_->sizeBytes - position;
    const uint8_t* p = reader.Fetch(position, std::min<int64_t>(available, kBatchHeaderBytes));
    if (p == nullptr) {
      ThrowErrno(env, reader.err(), "pread", core_->path);
      return false;
    }
    const HeaderCheck check = CheckBatchHeader(p, available, kSegmentBytesMax, header);
    if (check == HeaderCheck::kOk) return true;
    ThrowCorrupt(env, core_->path, position, "invalid batch header");
    return false;
  }

  Napi::Value FindBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int64_t start = 0;
    int64_t kind = 0;
    if (info.Length() < 4 || !ReadStart(info, &start)) return env.Undefined();
    if (!ReadInteger(info[1], 0, 1, &kind) || !info[2].IsNumber() || !info[3].IsTypedArray() ||
        info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[3].As<Napi::TypedArray>().ElementLength() < kFindBatchSlots) {
      Napi::TypeError::New(env, "findBatch(startPosition, kind: 0 | 1, target, out: Float64Array(>= 5))")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const double target = info[2].As<Napi::Number>().DoubleValue();
    double* out = info[3].As<Napi::Float64Array>().Data();
    SegmentReader reader(*core_, core_->sizeBytes);
    for (int64_t position = start; position < core_->sizeBytes;) {
      BatchHeader header;
      if (!WalkHeader(env, reader, position, &header)) return env.Undefined();
      const int64_t lastOffset = header.baseOffset + header.lastOffsetDelta;
      const double key = kind == 0 ? double(lastOffset) : double(header.maxTimestamp);
      if (key >= target) {
        out[0] = double(position);
        out[1] = double(header.baseOffset);
        out[2] = double(lastOffset);
        out[3] = double(header.maxTimestamp);
        out[4] = double(header.batchBytes);
        return Napi::Number::New(env, double(position));
      }
      position += header.batchBytes;
    }
    return Napi::Number::New(env, -1);
  }

  Napi::Value SliceEnd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int64_t start = 0;
    int64_t maxBytes = 0;
    if (info.Length() < 3 || !ReadStart(info, &start)) return env.Undefined();
    if (!ReadInteger(info[1], 0, double(kSegmentBytesMax), &maxBytes) || !info[2].IsNumber()) {
      Napi::RangeError::New(env, "sliceEnd(startPosition, maxBytes in [0, 2^31-1], maxOffsetExclusive)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const double maxOffsetExclusive = info[2].As<Napi::Number>().DoubleValue();
    SegmentReader reader(*core_, core_->sizeBytes);
    int64_t end = start;
    while (end < core_->sizeBytes) {
      BatchHeader header;
      if (!WalkHeader(env, reader, end, &header)) return env.Undefined();
      if (double(header.baseOffset + header.lastOffsetDelta) >= maxOffsetExclusive) break;
      // At least one batch even when it alone exceeds maxBytes, like Kafka's minOneMessage.
      if (end > start && end - start + header.batchBytes > maxBytes) break;
      end += header.batchBytes;
    }
    return Napi::Number::New(env, double(end));
  }

  Napi::Value Recover(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    int64_t start = 0;
    int64_t indexIntervalBytes = 0;
    int64_t maxBatchBytes = 0;
    if (info.Length() < 3 || !ReadStart(info, &start)) return env.Undefined();
    if (!ReadInteger(info[1], 0, double(kSegmentBytesMax), &indexIntervalBytes) ||
        !ReadInteger(info[2], kBatchHeaderBytes, double(kSegmentBytesMax), &maxBatchBytes)) {
      Napi::RangeError::New(env, "recover(startPosition, indexIntervalBytes >= 0, maxBatchBytes >= 61)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int64_t sizeBytes = core_->sizeBytes;
    SegmentReader reader(*core_, sizeBytes);
    std::vector<double> offsetEntries;
    std::vector<double> timeEntries;
    int64_t position = start;
    int64_t batchCount = 0;
    int64_t firstOffset = -1;
    int64_t lastOffset = -1;
    // Kafka's TimestampOffset.UNKNOWN and an empty time index's last entry:
    // NO_TIMESTAMP (-1), so batches without timestamps add nothing.
    int64_t maxTimestamp = -1;
    int64_t offsetOfMaxTimestamp = -1;
    int64_t lastTimeEntryTimestamp = -1;
    int64_t bytesSinceLastIndexEntry = 0;
    const char* error = "";
    while (position < sizeBytes) {
      const int64_t available = sizeBytes - position;
      const uint8_t* p = reader.Fetch(position, std::min<int64_t>(available, kBatchHeaderBytes));
      if (p == nullptr) {
        ThrowErrno(env, reader.err(), "pread", core_->path);
        return env.Undefined();
      }
      BatchHeader header;
      const HeaderCheck check = CheckBatchHeader(p, available, maxBatchBytes, &header);
      if (check != HeaderCheck::kOk) {
        error = check == HeaderCheck::kTruncated   ? "batch runs past the end of the segment"
                : check == HeaderCheck::kBadLength ? "batch length outside [49, maxBatchBytes - 12]"
                : check == HeaderCheck::kBadMagic  ? "magic is not 2"
                                                   : "negative lastOffsetDelta";
        break;
      }
      const uint32_t storedCrc = ReadU32BE(p + kBatchCrc);
      if (header.baseOffset < 0 || header.baseOffset + header.lastOffsetDelta > kSafeIntegerMax) {
        error = "offset outside [0, 2^53)";
        break;
      }
      if (header.baseOffset <= lastOffset) {
        error = "baseOffset not above the previous batch's lastOffset";
        break;
      }
      uint32_t crc = 0;
      if (!reader.Crc(position + kBatchAttributes, header.batchBytes - kBatchAttributes, &crc)) {
        ThrowErrno(env, reader.err(), "pread", core_->path);
        return env.Undefined();
      }
      if (crc != storedCrc) {
        error = "CRC32C mismatch";
        break;
      }
      const int64_t batchLastOffset = header.baseOffset + header.lastOffsetDelta;
      if (header.maxTimestamp > maxTimestamp) {
        maxTimestamp = header.maxTimestamp;
        offsetOfMaxTimestamp = batchLastOffset;  // Kafka's shallow offset of a v2 batch
      }
      // Kafka's LogSegment.recover: the entry for a batch is decided before its
      // own bytes are counted, and points at the batch's start.
      if (bytesSinceLastIndexEntry > indexIntervalBytes) {
        offsetEntries.push_back(double(batchLastOffset));
        offsetEntries.push_back(double(position));
        AppendTimeEntry(timeEntries, &lastTimeEntryTimestamp, maxTimestamp, offsetOfMaxTimestamp);
        bytesSinceLastIndexEntry = 0;
      }
      bytesSinceLastIndexEntry += header.batchBytes;
      if (batchCount == 0) firstOffset = header.baseOffset;
      lastOffset = batchLastOffset;
      batchCount++;
      position += header.batchBytes;
    }
    // Kafka appends the largest timestamp seen as a last time entry after recovery.
    AppendTimeEntry(timeEntries, &lastTimeEntryTimestamp, maxTimestamp, offsetOfMaxTimestamp);

    Napi::Object result = Napi::Object::New(env);
    result.Set("validBytes", Napi::Number::New(env, double(position)));
    result.Set("batchCount", Napi::Number::New(env, double(batchCount)));
    result.Set("firstOffset", Napi::Number::New(env, double(firstOffset)));
    result.Set("lastOffset", Napi::Number::New(env, double(lastOffset)));
    result.Set("maxTimestamp", Napi::Number::New(env, double(maxTimestamp)));
    result.Set("offsetOfMaxTimestamp", Napi::Number::New(env, double(offsetOfMaxTimestamp)));
    result.Set("error", Napi::String::New(env, error));
    result.Set("offsetEntries", ToFloat64Array(env, offsetEntries));
    result.Set("timeEntries", ToFloat64Array(env, timeEntries));
    return result;
  }

  // Kafka's TimeIndex.maybeAppend: only a timestamp above the last entry's.
  static void AppendTimeEntry(std::vector<double>& entries, int64_t* lastTimestamp, int64_t timestamp,
                              int64_t offset) {
    if (timestamp <= *lastTimestamp) return;
    entries.push_back(double(timestamp));
    entries.push_back(double(offset));
    *lastTimestamp = timestamp;
  }

  static Napi::Float64Array ToFloat64Array(Napi::Env env, const std::vector<double>& values) {
    Napi::Float64Array array = Napi::Float64Array::New(env, values.size());
    if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(double));
    return array;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (core_->closed) return env.Undefined();
    core_->WaitForAllJobs();
    const int err = core_->Release();
    if (err != 0) ThrowErrno(env, err, "close", core_->path);
    return env.Undefined();
  }

  std::shared_ptr<SegmentCore> core_;
};

}  // namespace

void InitSegmentFile(Napi::Env env, Napi::Object exports) {
  exports.Set("SegmentFile", SegmentFile::Define(env));
}

}  // namespace samsa
