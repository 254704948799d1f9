// Zero-copy response sender: writes an ordered list of parts (Buffers and file
// ranges) to a connected socket with sendmsg (gathered Buffers) and sendfile
// (file ranges), without blocking the event loop.
//
// Ownership and threading rules:
// - Everything runs on the JS thread. There is no worker thread: sendmsg and
//   sendfile on a non-blocking socket never block; a full socket returns
//   EAGAIN and the sender waits for writability with a uv_poll_t.
// - The sender works on a dup of the socket fd. libuv allows one watcher per
//   fd per loop and Node's TCP handle owns the original, so the poll watches
//   the dup. The dup shares the open file description, hence O_NONBLOCK, with
//   Node's socket. The dup is closed only in the uv_close callback of the poll,
//   after libuv has removed it from epoll (closing it first would leave a stale
//   epoll registration behind, because the description stays open through
//   Node's fd).
// - While a send is pending the sender is the only writer on the socket. The
//   JS wrapper (src/net/sender.ts) guarantees that Node's own write queue is
//   empty before send() and that nobody calls socket.write meanwhile.
// - One send at a time. The callback is called exactly once per send(): null
//   when every byte is in the kernel, or an Error with `code`. It may be called
//   synchronously, before send() returns, when everything fit in the socket
//   buffer at once (the wrapper's promise hides the difference). All state is
//   reset before the callback runs, so the callback may call send() again.
// - While a send is pending the JS object holds a strong reference to itself
//   (ObjectWrap::Ref), so it cannot be collected mid-send, and a reference to
//   a private array holding the Buffers, so their memory stays valid. Callers
//   must not detach (transfer) those ArrayBuffers or close the file fds of the
//   ranges until the callback has run.
//
// Fairness: a send writes at most kTurnBytesMax per event-loop turn, then
// yields; the poll (level-triggered) fires again on the next turn if the
// socket is still writable, after other connections had their turn.
#include "addon.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace samsa {
namespace {

// Bytes written per event-loop turn before yielding. 2 MiB is about half a
// millisecond of loopback or a few ms of 10 GbE: long enough that the cost of a
// turn (one epoll_wait) is noise, short enough that one large fetch response
// does not hold up the other connections.
constexpr uint64_t kTurnBytesMax = 2 * 1024 * 1024;
// Parts per send. A fetch response is a header Buffer plus, per partition, a
// small Buffer and a file range; 262144 parts covers ~87000 partitions, far
// beyond a real response, and bounds the parts vector at 8 MiB.
constexpr size_t kPartsMax = 262144;
// iovecs per sendmsg: Linux's UIO_MAXIOV; more fails with EMSGSIZE.
constexpr int kIovMax = 1024;
#ifdef IOV_MAX
static_assert(kIovMax <= IOV_MAX, "kIovMax must not exceed IOV_MAX");
#endif
// Linux transfers at most MAX_RW_COUNT (INT_MAX rounded down to a page) per
// sendfile call; asking for more just returns a short count.
constexpr uint64_t kSendfileBytesMax = 0x7ffff000;
// Positions and lengths cross as JS doubles: exact below 2^53.
constexpr double kSafeIntegerMax = 9007199254740991.0;

constexpr uint8_t kKindBuffer = 0;
constexpr uint8_t kKindRange = 1;

struct Part {
  const uint8_t* data;  // kKindBuffer only
  uint64_t length;
  int64_t position;  // kKindRange only
  int32_t fd;        // kKindRange only
  uint8_t kind;
};

// The poll handle lives apart from the Sender because libuv needs it until the
// close callback, which may run after the Sender has been finalized.
struct PollHandle {
  uv_poll_t poll;
  int fd;  // the dup; closed in OnPollClosed
};

void OnPollClosed(uv_handle_t* handle) {
  PollHandle* owner = reinterpret_cast<PollHandle*>(reinterpret_cast<uv_poll_t*>(handle));
  close(owner->fd);
  delete owner;
}

// What one pass of the send loop ended with.
struct Outcome {
  enum Kind { kDone, kWait, kErrno, kShortFile } kind;
  int err;              // kErrno
  const char* syscall;  // kErrno
};

bool IsSafeInteger(double value) {
  return value >= 0 && value <= kSafeIntegerMax && value == static_cast<double>(static_cast<int64_t>(value));
}

Napi::Value NewCodeError(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error.Value();
}

Napi::Value NewErrnoError(Napi::Env env, int err, const char* syscall, int socketFd) {
  std::string message = std::string(syscall) + " to socket fd " + std::to_string(socketFd) + ": " + std::strerror(err);
  const char* name = strerrorname_np(err);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "EUNKNOWN"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error.Value();
}

void ThrowCode(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

class Sender : public Napi::ObjectWrap<Sender> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Sender",
                       {InstanceMethod<&Sender::Send>("send"), InstanceMethod<&Sender::Close>("close")});
  }

  explicit Sender(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Sender>(info), asyncContext_(info.Env(), "SamsaSender") {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "Sender(socketFd): socketFd must be a number").ThrowAsJavaScriptException();
      return;
    }
    double fdValue = info[0].As<Napi::Number>().DoubleValue();
    if (!IsSafeInteger(fdValue) || fdValue > INT32_MAX) {
      Napi::RangeError::New(env, "Sender(socketFd): socketFd must be an integer in [0, 2^31-1]")
          .ThrowAsJavaScriptException();
      return;
    }
    socketFd_ = static_cast<int>(fdValue);
    std::string what = "socket fd " + std::to_string(socketFd_);
    struct stat st;
    if (fstat(socketFd_, &st) != 0) {
      ThrowErrno(env, errno, "fstat", what);
      return;
    }
    // sendmsg and a poll for writability only make sense on a socket; a file or
    // a pipe here is a caller bug (or a platform where the fd means something else).
    if (!S_ISSOCK(st.st_mode)) {
      ThrowErrno(env, ENOTSOCK, "Sender", what);
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "Sender: no libuv loop").ThrowAsJavaScriptException();
      return;
    }
    int dupFd = fcntl(socketFd_, F_DUPFD_CLOEXEC, 0);
    if (dupFd < 0) {
      ThrowErrno(env, errno, "dup", what);
      return;
    }
    PollHandle* poll = new PollHandle();
    poll->fd = dupFd;
    int status = uv_poll_init(loop, &poll->poll, dupFd);
    if (status != 0) {
      close(dupFd);
      delete poll;
      ThrowErrno(env, -status, "uv_poll_init", what);
      return;
    }
    poll->poll.data = this;
    poll_ = poll;
    if (napi_add_env_cleanup_hook(env, &Sender::OnEnvCleanup, this) == napi_ok) cleanupHookAdded_ = true;
  }

  ~Sender() override {
    // Safe without close(): a pending send holds a reference to this object, so
    // reaching the finalizer means nothing is pending (or the environment is
    // being torn down, when JS can no longer be called anyway).
    RemoveCleanupHook();
    ReleasePoll();
  }

 private:
  // Environment teardown (worker exit): libuv handles must be closed before the
  // loop is, and JS cannot run, so the callback of a pending send is dropped.
  static void OnEnvCleanup(void* arg) {
    Sender* self = static_cast<Sender*>(arg);
    self->cleanupHookAdded_ = false;
    self->closed_ = true;
    self->ReleasePoll();
    if (self->pending_) self->Abandon();
  }

  void RemoveCleanupHook() {
    if (!cleanupHookAdded_) return;
    cleanupHookAdded_ = false;
    napi_remove_env_cleanup_hook(Env(), &Sender::OnEnvCleanup, this);
  }

  void ReleasePoll() {
    if (poll_ == nullptr) return;
    poll_->poll.data = nullptr;
    // uv_close stops the watcher and removes the dup from epoll; the fd is
    // closed in OnPollClosed, after that.
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_->poll), OnPollClosed);
    poll_ = nullptr;
    pollActive_ = false;
  }

  // send(kinds: Uint8Array, buffers: Uint8Array[], ranges: Float64Array, callback)
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsArray() || !info[2].IsTypedArray() ||
        !info[3].IsFunction()) {
      Napi::TypeError::New(env, "send(kinds: Uint8Array, buffers: Uint8Array[], ranges: Float64Array, callback)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::TypedArray kindsArray = info[0].As<Napi::TypedArray>();
    Napi::TypedArray rangesArray = info[2].As<Napi::TypedArray>();
    if (kindsArray.TypedArrayType() != napi_uint8_array || rangesArray.TypedArrayType() != napi_float64_array) {
      Napi::TypeError::New(env, "send: kinds must be a Uint8Array and ranges a Float64Array")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (pending_) {
      ThrowCode(env, "send: a send is already pending on this socket (one at a time)", "EBUSY");
      return env.Undefined();
    }
    Napi::Function callback = info[3].As<Napi::Function>();
    if (closed_ || poll_ == nullptr) {
      callback.Call({NewCodeError(env, "send: the sender is closed", "ECANCELED")});
      return env.Undefined();
    }
    Napi::Array buffers = info[1].As<Napi::Array>();
    Napi::Array held = Napi::Array::New(env);
    if (!ParseParts(env, kindsArray.As<Napi::Uint8Array>(), buffers, rangesArray.As<Napi::Float64Array>(), held)) {
      parts_.clear();
      ReleaseRangeFds();
      return env.Undefined();
    }
    pending_ = true;
    partIndex_ = 0;
    partOffset_ = 0;
    callback_ = Napi::Persistent(callback);
    heldBuffers_ = Napi::Persistent(held.As<Napi::Object>());
    Ref();
    Continue(env, 0, false);
    return env.Undefined();
  }

  // One dup per distinct caller fd of the pending send; closed when it ends.
  int32_t DupRangeFd(Napi::Env env, int32_t fd) {
    for (const auto& pair : rangeFds_) {
      if (pair.first == fd) return pair.second;
    }
    const int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
      const int err = errno;
      Napi::Error error = Napi::Error::New(env, "send: range fd " + std::to_string(fd) + ": " + std::strerror(err));
      const char* name = strerrorname_np(err);
      error.Set("code", Napi::String::New(env, name != nullptr ? name : "EUNKNOWN"));
      error.ThrowAsJavaScriptException();
      return -1;
    }
    rangeFds_.emplace_back(fd, dup);
    return dup;
  }

  void ReleaseRangeFds() {
    for (const auto& pair : rangeFds_) close(pair.second);
    rangeFds_.clear();
  }

  // Validates the parts and copies their descriptors into parts_; keeps the
  // Buffers in `held` (referenced until the send ends). Throws and returns false
  // on bad input, before any byte is sent.
  bool ParseParts(Napi::Env env, Napi::Uint8Array kinds, Napi::Array buffers, Napi::Float64Array ranges,
                  Napi::Array held) {
    size_t partCount = kinds.ElementLength();
    if (partCount > kPartsMax) {
      Napi::RangeError::New(env, "send: more than " + std::to_string(kPartsMax) + " parts")
          .ThrowAsJavaScriptException();
      return false;
    }
    uint32_t bufferCount = buffers.Length();
    size_t rangeValueCount = ranges.ElementLength();
    const uint8_t* kindValues = kinds.Data();
    const double* rangeValues = ranges.Data();
    parts_.clear();
    parts_.reserve(partCount);
    bytesLeft_ = 0;
    uint32_t bufferIndex = 0;
    size_t rangeIndex = 0;
    for (size_t i = 0; i < partCount; i++) {
      Part part{};
      part.kind = kindValues[i];
      if (part.kind == kKindBuffer) {
        if (bufferIndex >= bufferCount) {
          Napi::RangeError::New(env, "send: kinds names more buffers than given").ThrowAsJavaScriptException();
          return false;
        }
        Napi::Value value = buffers.Get(bufferIndex);
        if (env.IsExceptionPending()) return false;
        if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
          Napi::TypeError::New(env, "send: buffers[" + std::to_string(bufferIndex) + "] is not a Uint8Array")
              .ThrowAsJavaScriptException();
          return false;
        }
        Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
        part.data = bytes.Data();
        part.length = bytes.ByteLength();
        held.Set(bufferIndex, bytes);
        bufferIndex++;
      } else if (part.kind == kKindRange) {
        if (rangeIndex + 3 > rangeValueCount) {
          Napi::RangeError::New(env, "send: kinds names more ranges than given").ThrowAsJavaScriptException();
          return false;
        }
        double fd = rangeValues[rangeIndex];
        double position = rangeValues[rangeIndex + 1];
        double length = rangeValues[rangeIndex + 2];
        rangeIndex += 3;
        if (!IsSafeInteger(fd) || fd > INT32_MAX || !IsSafeInteger(position) || !IsSafeInteger(length) ||
            position + length > kSafeIntegerMax) {
          Napi::RangeError::New(env, "send: range " + std::to_string(rangeIndex / 3 - 1) +
                                         " needs an fd in [0, 2^31-1] and position, length, position + length "
                                         "integers in [0, 2^53-1]")
              .ThrowAsJavaScriptException();
          return false;
        }
        // Send from a private dup: the caller may close or reuse its fd (a segment
        // roll, a deletion) while this send is still in flight.
        part.fd = DupRangeFd(env, static_cast<int32_t>(fd));
        if (part.fd < 0) return false;
        part.position = static_cast<int64_t>(position);
        part.length = static_cast<uint64_t>(length);
      } else {
        Napi::RangeError::New(env, "send: kinds[" + std::to_string(i) + "] must be 0 (buffer) or 1 (range)")
            .ThrowAsJavaScriptException();
        return false;
      }
      bytesLeft_ += part.length;
      parts_.push_back(part);
    }
    if (bufferIndex != bufferCount || rangeIndex != rangeValueCount) {
      Napi::RangeError::New(env, "send: buffers/ranges do not match kinds").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return env.Undefined();
    closed_ = true;
    RemoveCleanupHook();
    ReleasePoll();
    if (pending_) Finish(env, NewCodeError(env, "send canceled: the sender was closed", "ECANCELED"), false);
    return env.Undefined();
  }

  static void OnPoll(uv_poll_t* handle, int status, int) {
    Sender* self = static_cast<Sender*>(handle->data);
    if (self == nullptr) return;
    self->OnWritable(status);
  }

  void OnWritable(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!pending_) {
      StopPoll();
      return;
    }
    if (!CanRunJs(env)) {
      // The environment is being torn down (worker exit): Node runs the loop
      // to close its handles before our cleanup hook, and sockets closing then
      // wake this poll. Nobody is left to call back.
      Abandon();
      return;
    }
    if (status < 0) {
      // libuv reports EPOLLERR as UV_EBADF and has stopped the watcher. The
      // socket's pending error says what actually happened (ECONNRESET...).
      pollActive_ = false;
      int err = 0;
      socklen_t errBytes = sizeof(err);
      if (getsockopt(poll_->fd, SOL_SOCKET, SO_ERROR, &err, &errBytes) != 0) err = errno;
      if (err != 0) {
        Finish(env, NewErrnoError(env, err, "poll", socketFd_), true);
        return;
      }
      // The error was already consumed (Node's read saw the reset first): the
      // next syscall reports what is left (EPIPE), unless it says EAGAIN, which
      // would only spin on the same poll error.
      Continue(env, status, true);
      return;
    }
    Continue(env, 0, true);
  }

  // Sends what it can this turn; then completes, fails or waits for the poll.
  // pollStatus < 0: the poll that woke us reported an error. fromLoop: called
  // from a uv callback rather than from a JS call.
  void Continue(Napi::Env env, int pollStatus, bool fromLoop) {
    Outcome outcome = SendTurn();
    if (outcome.kind == Outcome::kWait) {
      if (pollStatus < 0) {
        Finish(env, NewErrnoError(env, -pollStatus, "poll", socketFd_), fromLoop);
        return;
      }
      int status = StartPoll();
      if (status == 0) return;
      Finish(env, NewErrnoError(env, -status, "uv_poll_start", socketFd_), fromLoop);
      return;
    }
    if (outcome.kind == Outcome::kDone) {
      Finish(env, env.Null(), fromLoop);
      return;
    }
    if (outcome.kind == Outcome::kShortFile) {
      const Part& part = parts_[partIndex_];
      std::string message = "sendfile from fd " + std::to_string(part.fd) + " to socket fd " +
                            std::to_string(socketFd_) + ": file ended at position " +
                            std::to_string(part.position + static_cast<int64_t>(partOffset_)) +
                            ", inside the range [" + std::to_string(part.position) + ", " +
                            std::to_string(part.position + static_cast<int64_t>(part.length)) + ")";
      Finish(env, NewCodeError(env, message, "ESHORTFILE"), fromLoop);
      return;
    }
    Finish(env, NewErrnoError(env, outcome.err, outcome.syscall, socketFd_), fromLoop);
  }

  // One turn of the send loop: at most kTurnBytesMax bytes, stops at EAGAIN.
  Outcome SendTurn() {
    uint64_t turnBytes = 0;
    while (partIndex_ < parts_.size()) {
      if (turnBytes >= kTurnBytesMax) return {Outcome::kWait, 0, nullptr};
      const Part& part = parts_[partIndex_];
      if (partOffset_ >= part.length) {
        partIndex_++;
        partOffset_ = 0;
        continue;
      }
      ssize_t sent = part.kind == kKindBuffer ? SendBuffers(kTurnBytesMax - turnBytes)
                                              : SendRange(part, kTurnBytesMax - turnBytes);
      if (sent < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) return {Outcome::kWait, 0, nullptr};
        return {Outcome::kErrno, err, part.kind == kKindBuffer ? "sendmsg" : "sendfile"};
      }
      if (sent == 0) {
        // sendmsg of a non-empty iovec does not return 0; sendfile returns 0
        // only at the end of the input file: the range was truncated under us.
        if (part.kind == kKindRange) return {Outcome::kShortFile, 0, nullptr};
        return {Outcome::kErrno, EIO, "sendmsg"};
      }
      Advance(static_cast<uint64_t>(sent));
      bytesLeft_ -= static_cast<uint64_t>(sent);
      turnBytes += static_cast<uint64_t>(sent);
    }
    return {Outcome::kDone, 0, nullptr};
  }

  // Gathers consecutive Buffer parts from the current position into one sendmsg.
  ssize_t SendBuffers(uint64_t budgetBytes) {
    struct iovec iov[kIovMax];
    int iovCount = 0;
    uint64_t gatheredBytes = 0;
    uint64_t offset = partOffset_;
    size_t index = partIndex_;
    for (; index < parts_.size() && iovCount < kIovMax && gatheredBytes < budgetBytes; index++, offset = 0) {
      const Part& part = parts_[index];
      if (part.kind != kKindBuffer) break;
      uint64_t take = std::min(part.length - offset, budgetBytes - gatheredBytes);
      if (take == 0) continue;
      iov[iovCount].iov_base = const_cast<uint8_t*>(part.data + offset);
      iov[iovCount].iov_len = static_cast<size_t>(take);
      iovCount++;
      gatheredBytes += take;
    }
    struct msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = static_cast<size_t>(iovCount);
    // MSG_MORE when more parts follow (typically a file range after its
    // header): the kernel then coalesces the header with the file bytes
    // instead of sending a small segment of its own. MSG_NOSIGNAL keeps
    // EPIPE an error code even in a process that does not ignore SIGPIPE.
    int flags = MSG_NOSIGNAL;
    if (bytesLeft_ > gatheredBytes) flags |= MSG_MORE;
    return sendmsg(poll_->fd, &message, flags);
  }

  ssize_t SendRange(const Part& part, uint64_t budgetBytes) {
    uint64_t take = std::min({part.length - partOffset_, budgetBytes, kSendfileBytesMax});
    // An explicit offset: sendfile then neither uses nor moves the file's own
    // offset, so the storage layer can share the fd between readers.
    off_t offset = static_cast<off_t>(part.position + static_cast<int64_t>(partOffset_));
    return sendfile(poll_->fd, part.fd, &offset, static_cast<size_t>(take));
  }

  // Moves the cursor past `bytes` sent bytes, across part boundaries (a
  // sendmsg may end anywhere inside the gathered parts).
  void Advance(uint64_t bytes) {
    while (bytes > 0) {
      const Part& part = parts_[partIndex_];
      uint64_t left = part.length - partOffset_;
      if (bytes < left) {
        partOffset_ += bytes;
        return;
      }
      bytes -= left;
      partIndex_++;
      partOffset_ = 0;
    }
  }

  int StartPoll() {
    if (poll_ == nullptr) return UV_EBADF;
    if (pollActive_) return 0;
    int status = uv_poll_start(&poll_->poll, UV_WRITABLE, &Sender::OnPoll);
    if (status == 0) pollActive_ = true;
    return status;
  }

  void StopPoll() {
    if (poll_ != nullptr && pollActive_) uv_poll_stop(&poll_->poll);
    pollActive_ = false;
  }

  // Whether JS may run now. False during environment teardown, when any
  // napi call that could run JS fails (and node-addon-api would abort on the
  // failed throw). Setting a property of a fresh plain object runs no JS but
  // goes through the same check.
  static bool CanRunJs(Napi::Env env) {
    napi_value probe;
    if (napi_create_object(env, &probe) != napi_ok) return false;
    return napi_set_named_property(env, probe, "probe", probe) == napi_ok;
  }

  // Ends the pending send without calling back (teardown only).
  void Abandon() {
    StopPoll();
    pending_ = false;
    parts_.clear();
    ReleaseRangeFds();
    partIndex_ = 0;
    partOffset_ = 0;
    bytesLeft_ = 0;
    heldBuffers_.Reset();
    callback_.Reset();
    Unref();
  }

  // Ends the pending send: resets all state first (the callback may start the
  // next send), calls back once, then drops the self-reference taken by Send.
  void Finish(Napi::Env env, Napi::Value error, bool fromLoop) {
    StopPoll();
    pending_ = false;
    parts_.clear();
    ReleaseRangeFds();
    partIndex_ = 0;
    partOffset_ = 0;
    bytesLeft_ = 0;
    heldBuffers_.Reset();
    Napi::FunctionReference callback = std::move(callback_);
    callback.MakeCallback(Value(), {error}, asyncContext_);
    if (fromLoop && env.IsExceptionPending()) {
      // From a uv callback nobody would see it: route it to 'uncaughtException'
      // like any other callback. From send()/close() it propagates to the caller.
      Napi::Error thrown = env.GetAndClearPendingException();
      napi_fatal_exception(env, thrown.Value());
    }
    Unref();
  }

  Napi::AsyncContext asyncContext_;
  PollHandle* poll_ = nullptr;
  int socketFd_ = -1;
  bool pollActive_ = false;
  bool pending_ = false;
  bool closed_ = false;
  bool cleanupHookAdded_ = false;
  std::vector<Part> parts_;
  std::vector<std::pair<int32_t, int32_t>> rangeFds_;  // caller fd -> private dup
  size_t partIndex_ = 0;
  uint64_t partOffset_ = 0;
  uint64_t bytesLeft_ = 0;  // bytes of the pending send not yet in the kernel
  Napi::FunctionReference callback_;
  Napi::ObjectReference heldBuffers_;
};

// dupSocketFd(fd): a close-on-exec duplicate of a connected socket's fd, so the
// connection can be re-wrapped in a net.Socket that reads into caller-provided
// buffers (connection.ts) while the accepted Socket is destroyed. Only sockets:
// anything else is refused with ENOTSOCK.
Napi::Value DupSocketFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "dupSocketFd(fd): fd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double fdArg = info[0].As<Napi::Number>().DoubleValue();
  if (!(fdArg >= 0 && fdArg <= INT_MAX) || fdArg != static_cast<int>(fdArg)) {
    Napi::RangeError::New(env, "dupSocketFd(fd): fd out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = static_cast<int>(fdArg);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    ThrowErrno(env, errno, "fstat", "fd " + std::to_string(fd));
    return env.Undefined();
  }
  if (!S_ISSOCK(st.st_mode)) {
    ThrowErrno(env, ENOTSOCK, "dupSocketFd", "fd " + std::to_string(fd));
    return env.Undefined();
  }
  int dupFd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dupFd < 0) {
    ThrowErrno(env, errno, "dup", "fd " + std::to_string(fd));
    return env.Undefined();
  }
  return Napi::Number::New(env, dupFd);
}

}  // namespace

void InitSender(Napi::Env env, Napi::Object exports) {
  exports.Set("Sender", Sender::Define(env));
  exports.Set("dupSocketFd", Napi::Function::New(env, DupSocketFd, "dupSocketFd"));
}

}  // namespace samsa
