// Kafka-format index files (`.index` and `.timeindex`), memory-mapped.
//
// On-disk format (all integers big-endian, no header, no checksum: Kafka
// rebuilds indexes from the log after a crash):
//   offset index entry, 8 bytes:  relativeOffset int32 | position int32
//   time index entry,  12 bytes:  timestamp int64      | relativeOffset int32
// relativeOffset = absolute offset - segment base offset, so a segment spans at
// most 2^31 - 1 offsets past its base; positions are byte positions in the
// segment's .log file, which Kafka also bounds by int32.
//
// The file is preallocated (fallocate, so ENOSPC surfaces when the segment is
// created rather than on a later append through the mapping, where it would
// be a SIGBUS) to the configured maximum and mapped MAP_SHARED. Appends are
// stores into the mapping; close() cuts the file back to the valid entries.
// A file found at open is assumed valid up to floor(size / entryBytes)
// entries, exactly as Kafka does; after a crash those may include preallocated
// zero entries, which the JS sanity check and the log's recovery deal with.
//
// Ownership: one JS object owns the fd and the mapping; it is used from the
// JS thread only, so there is no locking. JS owns policy (append order, lazy
// opening, typed errors); this file does bytes, bounds and syscalls.
//
// mappedBuffer() hands JS an external ArrayBuffer over the mapping so that
// lookups read entries with a DataView instead of paying an N-API call each.
// What must stay true: no JS code can read through that ArrayBuffer once the
// mapping is gone. Every path that unmaps (close, resize, the finalizer, which
// also runs at environment teardown, and failed construction) first detaches
// it, and a DataView over a detached buffer throws TypeError instead of
// touching the address. Node's own teardown hook for external buffers detaches
// it too, so teardown order does not matter.
#include "addon.h"
#include "record-batch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <string>

namespace samsa {

namespace {

constexpr uint32_t kOffsetEntryBytes = 8;
constexpr uint32_t kTimeEntryBytes = 12;
// Kafka's maxIndexSize is an int, so an index file never exceeds 2^31 - 1
// bytes; a larger file is not one of ours and is refused before mapping.
constexpr uint64_t kIndexBytesMax = 2147483647;
constexpr int64_t kInt32Max = 2147483647;
// Kafka's "warm section": the last 8 KiB of entries. Lookups for recent
// offsets (in-sync followers, tailing consumers) stay inside these pages, so
// they are touched on every such lookup and stay in the page cache.
constexpr uint32_t kWarmSectionBytes = 8192;
// Numbers cross as doubles; offsets and timestamps stay below 2^53 (types.ts).
constexpr double kSafeIntegerMax = 9007199254740991.0;
// Lookup targets are clamped into this range before integer arithmetic so
// that target - baseOffset cannot overflow int64 (baseOffset < 2^53).
constexpr double kTargetClamp = 4611686018427387904.0;  // 2^62

bool IsInteger(double v) { return std::isfinite(v) && std::floor(v) == v; }

// Largest integer <= v, clamped to [-2^62, 2^62]; v must not be NaN.
int64_t ClampTarget(double v) {
  if (v >= kTargetClamp) return static_cast<int64_t>(kTargetClamp);
  if (v <= -kTargetClamp) return -static_cast<int64_t>(kTargetClamp);
  return static_cast<int64_t>(std::floor(v));
}

// Extends `fd` to `bytes` with real blocks. Returns 0 or an errno.
int Preallocate(int fd, uint64_t bytes) {
  if (fallocate(fd, 0, 0, static_cast<off_t>(bytes)) == 0) return 0;
  int err = errno;
  // tmpfs and a few other filesystems cannot fallocate; a sparse file is the
  // best they offer (their pages are memory anyway).
  if (err != EOPNOTSUPP) return err;
  if (ftruncate(fd, static_cast<off_t>(bytes)) == 0) return 0;
  return errno;
}

}  // namespace

class IndexFile : public Napi::ObjectWrap<IndexFile> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IndexFile",
                       {
                           InstanceMethod<&IndexFile::EntryCount>("entryCount"),
                           InstanceMethod<&IndexFile::EntryCapacity>("entryCapacity"),
                           InstanceMethod<&IndexFile::Append>("append"),
                           InstanceMethod<&IndexFile::EntryAt>("entryAt"),
                           InstanceMethod<&IndexFile::TruncateToEntries>("truncateToEntries"),
                           InstanceMethod<&IndexFile::Resize>("resize"),
                           InstanceMethod<&IndexFile::Flush>("flush"),
                           InstanceMethod<&IndexFile::Close>("close"),
                           InstanceMethod<&IndexFile::MappedBuffer>("mappedBuffer"),
                       });
  }

  IndexFile(const Napi::CallbackInfo& info);
  ~IndexFile() override;

 private:
  // lookup is the hot call (once per fetched partition). On this class of
  // machine an ObjectWrap method pays ~130 ns for napi_unwrap alone, so lookup
  // is instead an own function of each instance whose callback data points at
  // a LookupLink: no unwrap, and one napi_get_typedarray_info. The link is
  // shared by the instance and the function and freed by whichever of the two
  // is collected last, so a detached `lookup` outliving its object reports
  // "closed" instead of touching freed memory.
  struct LookupLink {
    IndexFile* file;
    uint32_t refs;
  };
  static napi_value LookupCallback(napi_env env, napi_callback_info cbi);
  static void FinalizeLookupLink(napi_env env, void* data, void* hint);
  bool InstallLookup(Napi::Env env, Napi::Object self);
  napi_value LookupRaw(napi_env env, size_t argc, napi_value* argv);
  int32_t Search(int64_t key) const;

  Napi::Value EntryCount(const Napi::CallbackInfo& info);
  Napi::Value EntryCapacity(const Napi::CallbackInfo& info);
  Napi::Value Append(const Napi::CallbackInfo& info);
  Napi::Value EntryAt(const Napi::CallbackInfo& info);
  Napi::Value TruncateToEntries(const Napi::CallbackInfo& info);
  Napi::Value Resize(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value MappedBuffer(const Napi::CallbackInfo& info);

  bool CheckOpen(Napi::Env env);
  // Maps [0, bytes) of the file; 0 bytes means no mapping. Returns 0 or errno.
  int MapBytes(uint64_t bytes, uint8_t** out);
  // Detaches the ArrayBuffer handed out by mappedBuffer(), if it is still
  // alive, and forgets it. Must run before every munmap of map_.
  void DetachBuffer(napi_env env);
  // Detaches, unmaps, closes. The only way the mapping ends besides resize.
  void Release();

  // Key of entry `slot` in on-disk units: relative offset (offset index) or
  // timestamp (time index), widened to int64 for comparison.
  int64_t KeyAt(uint32_t slot) const {
    const uint8_t* p = map_ + uint64_t(slot) * entryBytes_;
    return isTime_ ? ReadI64BE(p) : int64_t(ReadI32BE(p));
  }
  int32_t SearchRange(int64_t key, uint32_t lo, uint32_t hi) const;
  void WriteEntry(uint32_t slot, double* out) const;

  std::string path_;
  LookupLink* lookupLink_ = nullptr;
  // Weak reference (count 0) to the ArrayBuffer over [map_, map_ + mapBytes_)
  // last returned by mappedBuffer(), or null. Weak so that a dropped buffer
  // can be collected; a collected one reads back as null and is recreated.
  napi_ref bufferRef_ = nullptr;
  int fd_ = -1;
  uint8_t* map_ = nullptr;
  uint64_t mapBytes_ = 0;
  uint32_t entryBytes_ = kOffsetEntryBytes;
  uint32_t entryCount_ = 0;
  uint32_t entryCapacity_ = 0;
  int64_t baseOffset_ = 0;
  bool isTime_ = false;
  bool writable_ = false;
  bool closed_ = true;
};

IndexFile::IndexFile(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IndexFile>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsBoolean()) {
    Napi::TypeError::New(env, "IndexFile(path: string, kind: 'offset'|'time', baseOffset: number, maxBytes: number, writable: boolean)")
        .ThrowAsJavaScriptException();
    return;
  }
  path_ = info[0].As<Napi::String>().Utf8Value();
  std::string kind = info[1].As<Napi::String>().Utf8Value();
  double baseOffset = info[2].As<Napi::Number>().DoubleValue();
  double maxBytes = info[3].As<Napi::Number>().DoubleValue();
  writable_ = info[4].As<Napi::Boolean>().Value();
  if (kind == "time") {
    isTime_ = true;
    entryBytes_ = kTimeEntryBytes;
  } else if (kind != "offset") {
    Napi::TypeError::New(env, "IndexFile kind must be 'offset' or 'time'").ThrowAsJavaScriptException();
    return;
  }
  if (!IsInteger(baseOffset) || baseOffset < 0 || baseOffset > kSafeIntegerMax) {
    Napi::RangeError::New(env, "IndexFile baseOffset must be an integer in [0, 2^53-1]").ThrowAsJavaScriptException();
    return;
  }
  baseOffset_ = static_cast<int64_t>(baseOffset);
  if (!IsInteger(maxBytes) || maxBytes < 0 || maxBytes > double(kIndexBytesMax)) {
    Napi::RangeError::New(env, "IndexFile maxBytes must be an integer in [0, 2^31-1]").ThrowAsJavaScriptException();
    return;
  }
  uint64_t maxRoundedBytes = uint64_t(maxBytes) / entryBytes_ * entryBytes_;
  // A writable open may create the file, and a new index must hold at least
  // one entry (Kafka rejects such a maxIndexSize the same way).
  if (writable_ && maxRoundedBytes == 0) {
    Napi::RangeError::New(env, "IndexFile maxBytes is smaller than one entry").ThrowAsJavaScriptException();
    return;
  }

  bool created = false;
  if (writable_) {
    // O_EXCL first, to know whether we created the file: a failed
    // preallocation then removes it instead of leaving an empty index behind.
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ >= 0) {
      created = true;
    } else if (errno == EEXIST) {
      fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC);
    }
  } else {
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd_ < 0) {
    ThrowErrno(env, errno, "open", path_);
    return;
  }
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    int err = errno;
    Release();
    ThrowErrno(env, err, "fstat", path_);
    return;
  }
  uint64_t fileBytes = static_cast<uint64_t>(st.st_size);
  if (fileBytes > kIndexBytesMax) {
    Release();
    Napi::Error::New(env, "index file " + path_ + " has " + std::to_string(fileBytes) +
                              " bytes, more than an index may hold (2^31-1)")
        .ThrowAsJavaScriptException();
    return;
  }
  entryCount_ = static_cast<uint32_t>(fileBytes / entryBytes_);
  // Only ever extend: an existing file longer than maxBytes keeps its entries.
  if (writable_ && maxRoundedBytes > fileBytes) {
    int err = Preallocate(fd_, maxRoundedBytes);
    if (err != 0) {
      if (created) unlink(path_.c_str());
      Release();
      ThrowErrno(env, err, "fallocate", path_);
      return;
    }
    fileBytes = maxRoundedBytes;
  }
  int err = MapBytes(fileBytes, &map_);
  if (err != 0) {
    if (created) unlink(path_.c_str());
    Release();
    ThrowErrno(env, err, "mmap", path_);
    return;
  }
  mapBytes_ = fileBytes;
  entryCapacity_ = static_cast<uint32_t>(fileBytes / entryBytes_);
  closed_ = false;
  if (!InstallLookup(env, info.This().As<Napi::Object>())) {
    Release();
    Napi::Error::New(env, "IndexFile: cannot install lookup").ThrowAsJavaScriptException();
  }
}

IndexFile::~IndexFile() {
  Release();
  if (lookupLink_ != nullptr) {
    lookupLink_->file = nullptr;
    if (--lookupLink_->refs == 0) delete lookupLink_;
  }
}

bool IndexFile::InstallLookup(Napi::Env env, Napi::Object self) {
  lookupLink_ = new LookupLink{this, 1};
  napi_value fn;
  if (napi_create_function(env, "lookup", NAPI_AUTO_LENGTH, LookupCallback, lookupLink_, &fn) != napi_ok) return false;
  if (napi_add_finalizer(env, fn, lookupLink_, FinalizeLookupLink, nullptr, nullptr) != napi_ok) return false;
  lookupLink_->refs++;
  // Read-only and non-enumerable, like a prototype method.
  napi_property_descriptor desc = {"lookup", nullptr, nullptr, nullptr, nullptr, fn, napi_default, nullptr};
  return napi_define_properties(env, self, 1, &desc) == napi_ok;
}

void IndexFile::FinalizeLookupLink(napi_env, void* data, void*) {
  LookupLink* link = static_cast<LookupLink*>(data);
  if (--link->refs == 0) delete link;
}

napi_value IndexFile::LookupCallback(napi_env env, napi_callback_info cbi) {
  size_t argc = 2;
  napi_value argv[2];
  void* data = nullptr;
  if (napi_get_cb_info(env, cbi, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  LookupLink* link = static_cast<LookupLink*>(data);
  if (link->file == nullptr) {
    napi_throw_error(env, nullptr, "index file is closed");
    return nullptr;
  }
  return link->file->LookupRaw(env, argc, argv);
}

int IndexFile::MapBytes(uint64_t bytes, uint8_t** out) {
  *out = nullptr;
  // mmap rejects a zero length; an empty index simply has no mapping.
  if (bytes == 0) return 0;
  int prot = writable_ ? (PROT_READ | PROT_WRITE) : PROT_READ;
  void* p = mmap(nullptr, bytes, prot, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return errno;
  *out = static_cast<uint8_t*>(p);
  return 0;
}

void IndexFile::DetachBuffer(napi_env env) {
  if (bufferRef_ == nullptr) return;
  napi_value buffer = nullptr;
  bool detached = true;
  // A failure here leaves the buffer attached; there is nothing better to do
  // than carry on, and none of these calls fails for a live ArrayBuffer.
  if (napi_get_reference_value(env, bufferRef_, &buffer) == napi_ok && buffer != nullptr &&
      napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && !detached) {
    napi_detach_arraybuffer(env, buffer);
  }
  napi_delete_reference(env, bufferRef_);
  bufferRef_ = nullptr;
}

void IndexFile::Release() {
  DetachBuffer(Env());
  if (map_ != nullptr) munmap(map_, mapBytes_);
  map_ = nullptr;
  mapBytes_ = 0;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  closed_ = true;
}

bool IndexFile::CheckOpen(Napi::Env env) {
  if (!closed_) return true;
  Napi::Error::New(env, "index file " + path_ + " is closed").ThrowAsJavaScriptException();
  return false;
}

Napi::Value IndexFile::EntryCount(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), entryCount_);
}

Napi::Value IndexFile::EntryCapacity(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), entryCapacity_);
}

Napi::Value IndexFile::Append(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (!writable_) {
    Napi::Error::New(env, "index file " + path_ + " is read-only").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "append(key: number, value: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double key = info[0].As<Napi::Number>().DoubleValue();
  double value = info[1].As<Napi::Number>().DoubleValue();
  // Non-integers are a caller bug, not a full or overflowing index.
  if (!IsInteger(key) || !IsInteger(value) || std::fabs(key) > kSafeIntegerMax || std::fabs(value) > kSafeIntegerMax) {
    Napi::RangeError::New(env, "append: key and value must be integers below 2^53").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (entryCount_ >= entryCapacity_) return Napi::Number::New(env, 1);
  uint8_t* p = map_ + uint64_t(entryCount_) * entryBytes_;
  if (isTime_) {
    int64_t relative = int64_t(value) - baseOffset_;
    if (relative < 0 || relative > kInt32Max) return Napi::Number::New(env, 2);
    WriteI64BE(p, int64_t(key));
    WriteI32BE(p + 8, int32_t(relative));
  } else {
    int64_t relative = int64_t(key) - baseOffset_;
    int64_t position = int64_t(value);
    if (relative < 0 || relative > kInt32Max || position < 0 || position > kInt32Max) {
      return Napi::Number::New(env, 2);
    }
    WriteI32BE(p, int32_t(relative));
    WriteI32BE(p + 4, int32_t(position));
  }
  entryCount_++;
  return Napi::Number::New(env, 0);
}

// Kafka's binary search over slots [lo, hi]: the largest slot whose key is
// <= key, or lo when every key in the range is greater (the caller has
// already established that slot lo qualifies).
int32_t IndexFile::SearchRange(int64_t key, uint32_t lo, uint32_t hi) const {
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo + 1) / 2;
    int64_t found = KeyAt(mid);
    if (found > key) {
      hi = mid - 1;
    } else if (found < key) {
      lo = mid;
    } else {
      return int32_t(mid);
    }
  }
  return int32_t(lo);
}

void IndexFile::WriteEntry(uint32_t slot, double* o) const {
  const uint8_t* p = map_ + uint64_t(slot) * entryBytes_;
  if (isTime_) {
    o[0] = double(ReadI64BE(p));
    o[1] = double(baseOffset_ + int64_t(ReadI32BE(p + 8)));
  } else {
    o[0] = double(baseOffset_ + int64_t(ReadI32BE(p)));
    o[1] = double(ReadI32BE(p + 4));
  }
}

// Kafka's AbstractIndex.indexSlotRangeFor (largest lower bound): search the
// warm section (the last 8 KiB of entries) when the target is past its first
// key, else check the first entry and search the cold part.
int32_t IndexFile::Search(int64_t key) const {
  if (entryCount_ == 0) return -1;
  uint32_t warmEntries = kWarmSectionBytes / entryBytes_;
  uint32_t last = entryCount_ - 1;
  uint32_t firstHot = last > warmEntries ? last - warmEntries : 0;
  if (KeyAt(firstHot) < key) return SearchRange(key, firstHot, last);
  if (KeyAt(0) > key) return -1;
  return SearchRange(key, 0, firstHot);
}

napi_value IndexFile::LookupRaw(napi_env env, size_t argc, napi_value* argv) {
  if (closed_) {
    Napi::Error::New(env, "index file " + path_ + " is closed").ThrowAsJavaScriptException();
    return nullptr;
  }
  double target = 0;
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  // Both calls report a wrong type as a status without throwing, so they
  // double as the argument checks.
  if (argc < 2 || napi_get_value_double(env, argv[0], &target) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array || length < 2) {
    napi_throw_type_error(env, nullptr, "lookup(target: number, out: Float64Array of length >= 2)");
    return nullptr;
  }
  if (std::isnan(target)) {
    napi_throw_range_error(env, nullptr, "lookup: target is NaN");
    return nullptr;
  }
  // Keys are compared in on-disk units: relative offsets for the offset index.
  int64_t key = isTime_ ? ClampTarget(target) : ClampTarget(target) - baseOffset_;
  int32_t slot = Search(key);
  if (slot >= 0) WriteEntry(uint32_t(slot), static_cast<double*>(data));
  napi_value result = nullptr;
  napi_create_int32(env, slot, &result);
  return result;
}

Napi::Value IndexFile::EntryAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray()) {
    Napi::TypeError::New(env, "entryAt(slot: number, out: Float64Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray typed = info[1].As<Napi::TypedArray>();
  if (typed.TypedArrayType() != napi_float64_array || typed.ElementLength() < 2) {
    Napi::TypeError::New(env, "entryAt: out must be a Float64Array of length >= 2").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double slot = info[0].As<Napi::Number>().DoubleValue();
  if (!IsInteger(slot) || slot < 0 || slot >= double(entryCount_)) {
    Napi::RangeError::New(env, "entryAt: slot " + std::to_string(slot) + " outside [0, " +
                                   std::to_string(entryCount_) + ") in " + path_)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  WriteEntry(uint32_t(slot), typed.As<Napi::Float64Array>().Data());
  return env.Undefined();
}

Napi::Value IndexFile::TruncateToEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "truncateToEntries(entryCount: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double count = info[0].As<Napi::Number>().DoubleValue();
  // Growing the count would expose stale or zero bytes as entries.
  if (!IsInteger(count) || count < 0 || count > double(entryCount_)) {
    Napi::RangeError::New(env, "truncateToEntries: " + std::to_string(count) + " outside [0, " +
                                   std::to_string(entryCount_) + "]")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  entryCount_ = uint32_t(count);
  return env.Undefined();
}

Napi::Value IndexFile::Resize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "resize(maxBytes: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double maxBytes = info[0].As<Napi::Number>().DoubleValue();
  if (!IsInteger(maxBytes) || maxBytes < 0 || maxBytes > double(kIndexBytesMax)) {
    Napi::RangeError::New(env, "resize: maxBytes must be an integer in [0, 2^31-1]").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint64_t newBytes = uint64_t(maxBytes) / entryBytes_ * entryBytes_;
  if (newBytes < uint64_t(entryCount_) * entryBytes_) {
    Napi::RangeError::New(env, "resize: " + std::to_string(newBytes) + " bytes cannot hold the " +
                                   std::to_string(entryCount_) + " entries of " + path_)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (newBytes == mapBytes_) return env.Undefined();
  if (!writable_) {
    Napi::Error::New(env, "index file " + path_ + " is read-only").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Ordered so that every failure leaves a valid mapping of the old size:
  // grow the file before mapping more of it; unmap before shrinking it.
  if (newBytes > mapBytes_) {
    int err = Preallocate(fd_, newBytes);
    if (err != 0) {
      ThrowErrno(env, err, "fallocate", path_);
      return env.Undefined();
    }
  }
  uint8_t* newMap = nullptr;
  int err = MapBytes(newBytes, &newMap);
  if (err != 0) {
    ThrowErrno(env, err, "mmap", path_);
    return env.Undefined();
  }
  DetachBuffer(env);
  if (map_ != nullptr) munmap(map_, mapBytes_);
  map_ = newMap;
  mapBytes_ = newBytes;
  entryCapacity_ = uint32_t(newBytes / entryBytes_);
  if (ftruncate(fd_, off_t(newBytes)) != 0) {
    ThrowErrno(env, errno, "ftruncate", path_);
    return env.Undefined();
  }
  return env.Undefined();
}

Napi::Value IndexFile::Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (map_ != nullptr && writable_ && entryCount_ > 0) {
    if (msync(map_, uint64_t(entryCount_) * entryBytes_, MS_SYNC) != 0) {
      ThrowErrno(env, errno, "msync", path_);
      return env.Undefined();
    }
  }
  return env.Undefined();
}

Napi::Value IndexFile::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return env.Undefined();
  DetachBuffer(env);
  if (map_ != nullptr) munmap(map_, mapBytes_);
  map_ = nullptr;
  mapBytes_ = 0;
  int err = 0;
  // Trimmed on close so that a reopened file's size says how many entries
  // are valid (Kafka's trimToValidSize). Read-only truncation stays logical.
  if (writable_ && ftruncate(fd_, off_t(uint64_t(entryCount_) * entryBytes_)) != 0) err = errno;
  Release();
  if (err != 0) ThrowErrno(env, err, "ftruncate", path_);
  return env.Undefined();
}

// The mapping as an external ArrayBuffer of mapBytes_ bytes (the whole
// preallocated file, not just the valid entries: JS bounds its reads by the
// entry count it keeps), or null when nothing is mapped (an empty read-only
// file, or a file resized to 0) or the runtime allows no external buffers.
// The same buffer is returned until the
// mapping changes; then it is detached and the next call makes a new one.
// JS must only read through it: a read-only index is mapped PROT_READ, and a
// store into a writable one would bypass the append checks.
Napi::Value IndexFile::MappedBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (map_ == nullptr) return env.Null();
  napi_value buffer = nullptr;
  if (bufferRef_ != nullptr) {
    bool detached = true;
    // Null when the weak reference's buffer was collected; detached if JS
    // found a way to detach it. Either way a fresh one replaces it.
    if (napi_get_reference_value(env, bufferRef_, &buffer) == napi_ok && buffer != nullptr &&
        napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && !detached) {
      return Napi::Value(env, buffer);
    }
    DetachBuffer(env);
  }
  // No finalizer: the memory belongs to the mapping, which outlives the
  // buffer's use because every unmap detaches the buffer first.
  napi_status status = napi_create_external_arraybuffer(env, map_, size_t(mapBytes_), nullptr, nullptr, &buffer);
  // Runtimes with the V8 sandbox refuse external buffers; JS then reads
  // through lookup/entryAt, as it does when nothing is mapped.
  if (status == napi_no_external_buffers_allowed) return env.Null();
  if (status != napi_ok || napi_create_reference(env, buffer, 0, &bufferRef_) != napi_ok) {
    bufferRef_ = nullptr;
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "index file " + path_ + ": cannot create the mapped ArrayBuffer").ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  return Napi::Value(env, buffer);
}

void InitIndexFile(Napi::Env env, Napi::Object exports) {
  exports.Set("IndexFile", IndexFile::Define(env));
}

}  // namespace samsa
