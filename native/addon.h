// Shared declarations of the samsa_native addon.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace samsa {

void InitCrc32c(Napi::Env env, Napi::Object exports);
void InitIndexFile(Napi::Env env, Napi::Object exports);
void InitSegmentFile(Napi::Env env, Napi::Object exports);
void InitBatchScan(Napi::Env env, Napi::Object exports);
void InitSender(Napi::Env env, Napi::Object exports);

// CRC32C (Castagnoli) over [data, data + length), continuing from `crc`
// (pass 0 to start). Uses SSE4.2 when the CPU has it.
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length);

// Throws a JS Error whose `code` is the errno name (e.g. "ENOSPC") and whose
// `errno` is the number, naming the operation and the path.
void ThrowErrno(Napi::Env env, int err, const char* op, const std::string& path);
// The same Error, returned instead of thrown (for async callbacks).
Napi::Error ErrnoError(Napi::Env env, int err, const char* op, const std::string& path);

}  // namespace samsa
