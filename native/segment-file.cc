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
// them; the core is released by whoever drops the last reference.
// - A prefault job borrows the mapping only while it runs: it takes the
//   mapping's address and length under the core's mutex when it starts (and
//   does nothing if the mapping changed or went since it was queued), and the
//   JS thread moves or unmaps the mapping (grow, close) under that mutex once
//   no job is running. A job still queued behind other threadpool work is
//   never waited for. The wait is short: a prefault populates at most 8 MiB.
// - A flush job borrows the fd until it completes. close() never waits for
//   it: it unmaps and trims, and leaves the fd open for a flush that is queued
//   or running; the core's destructor closes the fd when the last job drops
//   its reference, after the flush has called back.
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
  // Set once an mmap open has cut the file to its logical size: from then on
  // the file belongs to this segment and is trimmed to sizeBytes on release.
  // Before that sizeBytes may not be the file's logical size yet (a failed
  // open must leave the file as it found it).
  bool trimOnRelease = false;
  // Flush jobs queued or running (JS thread only: counted when queued, dropped
  // when the job is destroyed after its callback). close() leaves the fd to
  // them while this is not zero.
  int flushJobs = 0;

  // Guards mapBase, mapBytes and mapEpoch against the prefault jobs, which read
  // them on a worker thread; the JS thread writes them only while holding it.
  std::mutex mutex;
  std::condition_variable idle;
  int prefaultsRunning = 0;  // prefault jobs inside madvise (not queued ones)
  uint64_t mapEpoch = 0;     // bumped whenever the mapping moves or goes away

  ~SegmentCore() { Release(); }

  // Unmaps, trims (once trimOnRelease) and closes; returns the first errno
  // or 0. Callers make sure no job uses the core (the destructor, a failed
  // open before any job was queued).
  int Release() {
    int err = Unmap();
    err = Trim(err);
    if (fd >= 0) {
      if (close(fd) != 0 && err == 0) err = errno;
      fd = -1;
    }
    closed = true;
    return err;
  }

  // Waits for a running prefault job (never for a queued one, which will see
  // the new epoch and do nothing), then unmaps.
  int Unmap() {
    std::unique_lock<std::mutex> lock(mutex);
    idle.wait(lock, [this] { return prefaultsRunning == 0; });
    int err = 0;
    if (mapBase != nullptr && munmap(mapBase, size_t(mapBytes)) != 0) err = errno;
    mapBase = nullptr;
    mapBytes = 0;
    mapEpoch++;
    return err;
  }

  // Cuts the preallocated tail past the logical size (mmap mode, once the file
  // belongs to the segment); returns `err`, or the ftruncate errno if `err` is 0.
  int Trim(int err) {
    if (!trimOnRelease || fd < 0) return err;
    trimOnRelease = false;
    if (ftruncate(fd, sizeBytes) != 0 && err == 0) return errno;
    return err;
  }
};

// The napi calls that could run JS fail once the environment is being torn
// down (a worker thread exiting), and node-addon-api aborts the process on the
// failed throw that follows. Completion callbacks of jobs that finish during
// teardown check this first and drop the callback: nobody is left to call.
// Setting a property of a fresh plain object runs no JS but goes through the
// same check (the probe of native/sender.cc).
bool CanRunJs(Napi::Env env) {
  napi_value probe;
  if (napi_create_object(env, &probe) != napi_ok) return false;
  return napi_set_named_property(env, probe, "probe", probe) == napi_ok;
}

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
      c = Crc32c(c, p, size_t(piece));
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

enum class SegmentHeader {
  kOk,
  kBadStructure,  // CheckBatchHeader failed: the walk cannot step past it
  kBadOffset      // well formed, but baseOffset < 0 or lastOffset >= 2^53
};

// The header check of the read-path walks (recover, findBatch, sliceEnd):
// CheckBatchHeader plus offsets in [0, 2^53), so no walk computes
// baseOffset + lastOffsetDelta unless it fits. baseOffset is not covered by
// the CRC, so a damaged one gets this far, and near 2^63 the sum would
// overflow int64 (undefined behaviour; in practice a negative lastOffset
// that passes every "below the target" comparison). Sets *why when not kOk.
SegmentHeader CheckSegmentHeader(const uint8_t* p, int64_t availableBytes, int64_t maxBatchBytes,
                                 BatchHeader* header, const char** why) {
  switch (CheckBatchHeader(p, availableBytes, maxBatchBytes, header)) {
    case HeaderCheck::kOk:
      break;
    case HeaderCheck::kTruncated:
      *why = "batch runs past the end of the segment";
      return SegmentHeader::kBadStructure;
    case HeaderCheck::kBadLength:
      *why = "batch length outside [49, maxBatchBytes - 12]";
      return SegmentHeader::kBadStructure;
    case HeaderCheck::kBadMagic:
      *why = "magic is not 2";
      return SegmentHeader::kBadStructure;
    case HeaderCheck::kBadOffsetDelta:
      *why = "negative lastOffsetDelta";
      return SegmentHeader::kBadStructure;
  }
  // lastOffsetDelta >= 0 here, so the subtraction cannot overflow.
  if (header->baseOffset < 0 || header->baseOffset > kSafeIntegerMax - header->lastOffsetDelta) {
    *why = "offset outside [0, 2^53)";
    return SegmentHeader::kBadOffset;
  }
  return SegmentHeader::kOk;
}

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
  // `epoch` is the core's mapEpoch when the job was queued (JS thread).
  PrefaultJob(Napi::Env env, std::shared_ptr<SegmentCore> core, uint64_t epoch, int64_t from, int64_t to)
      : Napi::AsyncWorker(env, "samsa.SegmentFile.prefault"), core_(std::move(core)), epoch_(epoch), from_(from), to_(to) {}

  // One job in flight at a time (prefaultQueued), so populatedEnd has one writer.
  void Execute() override {
    uint8_t* base = Start();
    if (base != nullptr) {
      if (madvise(base + from_, size_t(to_ - from_), MADV_POPULATE_WRITE) == 0) {
        if (to_ > core_->populatedEnd.load()) core_->populatedEnd.store(to_);
      } else if (errno == EINVAL) {
        core_->prefaultSupported.store(false);  // kernel before 5.14: appends fault as usual
      }
      std::lock_guard<std::mutex> lock(core_->mutex);
      core_->prefaultsRunning--;
      core_->idle.notify_all();
    }
    core_->prefaultQueued.store(false);
  }

  // No callback; still nothing to do when the environment is going away.
  void OnOK() override {}
  void OnError(const Napi::Error&) override {}

 private:
  // Counts the job as running and returns the mapping's base, or nullptr when
  // the mapping moved (grow) or went (close) since the job was queued: then
  // the range may no longer be mapped and the job does nothing.
  uint8_t* Start() {
    std::lock_guard<std::mutex> lock(core_->mutex);
    if (core_->mapBase == nullptr || core_->mapEpoch != epoch_) return nullptr;
    to_ = std::min(to_, core_->mapBytes);
    if (from_ >= to_) return nullptr;
    core_->prefaultsRunning++;
    return core_->mapBase;
  }

  std::shared_ptr<SegmentCore> core_;
  uint64_t epoch_;
  int64_t from_;
  int64_t to_;
};

class FlushJob : public Napi::AsyncWorker {
 public:
  FlushJob(Napi::Function callback, std::shared_ptr<SegmentCore> core)
      : Napi::AsyncWorker(callback, "samsa.SegmentFile.flush"), core_(std::move(core)) {
    core_->flushJobs++;
  }
  // Runs on the JS thread after the callback (or instead of it at teardown);
  // when close() came first this may drop the last reference and close the fd.
  ~FlushJob() override { core_->flushJobs--; }

  // fdatasync in both modes: on Linux, msync(MS_SYNC) of a MAP_SHARED file
  // mapping is vfs_fsync_range over the file's dirty page cache, the same work
  // fdatasync does, and the fd (unlike the mapping) never moves on growth.
  void Execute() override {
    while (fdatasync(core_->fd) != 0) {
      if (errno == EINTR) continue;
      err_ = errno;
      break;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!CanRunJs(env)) return;  // worker teardown: the callback cannot run
    Napi::HandleScope scope(env);
    if (err_ == 0) {
      Callback().Call({env.Null()});
    } else {
      Callback().Call({ErrnoError(env, err_, "fdatasync", core_->path).Value()});
    }
  }

  // Execute never calls SetError (errors travel in err_ to OnOK); this only
  // keeps the base class from calling back during teardown.
  void OnError(const Napi::Error& error) override {
    if (!CanRunJs(Env())) return;
    Napi::HandleScope scope(Env());
    Callback().Call({error.Value()});
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
    // The file is ours from here on: sizeBytes is its logical size, and release
    // (a failed mmap just below, close, or the destructor) trims to it.
    core.trimOnRelease = true;
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
    (new PrefaultJob(env, core_, core.mapEpoch, from, to))->Queue();
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
    // A populate job must not run on the old address range: wait for one that
    // is running, and hold the lock so none starts until the new mapping is
    // published. A queued job sees the new epoch and does nothing.
    std::unique_lock<std::mutex> lock(core.mutex);
    core.idle.wait(lock, [&core] { return core.prefaultsRunning == 0; });
    void* base = mremap(core.mapBase, size_t(core.mapBytes), size_t(newBytes), MREMAP_MAYMOVE);
    if (base == MAP_FAILED) {
      err = errno;
      lock.unlock();
      ThrowErrno(env, err, "mremap", core.path);
      return false;
    }
    core.mapBase = static_cast<uint8_t*>(base);
    core.mapBytes = newBytes;
    core.mapEpoch++;
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

  enum class Walk { kOk, kBadOffset, kThrown };

  // Reads the header at `position` for the lookups. A read error or a header
  // the walk cannot step past throws (ESEGMENTCORRUPT for the latter); offsets
  // outside [0, 2^53) come back as kBadOffset for the caller to judge.
  Walk WalkHeader(Napi::Env env, SegmentReader& reader, int64_t position, BatchHeader* header) {
    const int64_t available = core_->sizeBytes - position;
    const uint8_t* p = reader.Fetch(position, std::min<int64_t>(available, kBatchHeaderBytes));
    if (p == nullptr) {
      ThrowErrno(env, reader.err(), "pread", core_->path);
      return Walk::kThrown;
    }
    const char* why = "";
    const SegmentHeader check = CheckSegmentHeader(p, available, kSegmentBytesMax, header, &why);
    if (check == SegmentHeader::kOk) return Walk::kOk;
    if (check == SegmentHeader::kBadOffset) return Walk::kBadOffset;
    ThrowCorrupt(env, core_->path, position, "invalid batch header");
    return Walk::kThrown;
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
      const Walk walk = WalkHeader(env, reader, position, &header);
      if (walk == Walk::kThrown) return env.Undefined();
      if (walk == Walk::kBadOffset) {
        // Its lastOffset is unknowable: no answer past this point can be trusted.
        ThrowCorrupt(env, core_->path, position, "invalid batch header: offset outside [0, 2^53)");
        return env.Undefined();
      }
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
      const Walk walk = WalkHeader(env, reader, end, &header);
      if (walk == Walk::kThrown) return env.Undefined();
      // A batch whose offsets are out of range is never served: the slice ends
      // before it (its lastOffset, past 2^53 or garbage, counts as reaching
      // maxOffsetExclusive), and a read that starts at it meets findBatch's
      // ESEGMENTCORRUPT.
      if (walk == Walk::kBadOffset) break;
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
      const char* why = "";
      if (CheckSegmentHeader(p, available, maxBatchBytes, &header, &why) != SegmentHeader::kOk) {
        error = why;
        break;
      }
      const uint32_t storedCrc = ReadU32BE(p + kBatchCrc);
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

  // Unmaps (after a running prefault finishes) and trims now. Closes the fd
  // now unless a flush is queued or running: then the flush jobs keep the
  // core, and its destructor closes the fd once the last of them has called
  // back. Never waits for a job that is only queued.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SegmentCore& core = *core_;
    if (core.closed) return env.Undefined();
    int err = core.Unmap();
    err = core.Trim(err);
    core.closed = true;
    if (core.flushJobs == 0) {
      if (close(core.fd) != 0 && err == 0) err = errno;
      core.fd = -1;
    } else {
      // This object lets go of the core, so the fd does not wait for garbage
      // collection; a closed stand-in keeps the path for "is closed" errors.
      std::shared_ptr<SegmentCore> closedCore = std::make_shared<SegmentCore>();
      closedCore->path = core.path;
      closedCore->mode = core.mode;
      closedCore->closed = true;
      core_ = std::move(closedCore);
    }
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
