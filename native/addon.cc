// Entry point of the samsa_native addon. Each primitive registers its exports
// from its own file; this file only wires them together.
#include <napi.h>

#include "addon.h"

#include <cerrno>
#include <cstring>

namespace samsa {

Napi::Error ErrnoError(Napi::Env env, int err, const char* op, const std::string& path) {
  std::string message = std::string(op) + " " + path + ": " + std::strerror(err);
  Napi::Error error = Napi::Error::New(env, message);
  const char* name = strerrorname_np(err);
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "EUNKNOWN"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, op));
  error.Set("path", Napi::String::New(env, path));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const char* op, const std::string& path) {
  ErrnoError(env, err, op, path).ThrowAsJavaScriptException();
}

}  // namespace samsa

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  using namespace samsa;
  InitCrc32c(env, exports);
  InitIndexFile(env, exports);
  InitSegmentFile(env, exports);
  InitBatchScan(env, exports);
  InitSender(env, exports);
  return exports;
}

NODE_API_MODULE(samsa_native, InitAddon)
