// Produce-path validation of RecordBatch v2 batches: validateBatches.
//
// One call per partition per produce request. Two passes over the buffer:
// the first judges every batch (length, magic, lastOffsetDelta, CRC32C) and
// touches nothing; the second, run only when all batches are valid, assigns
// offsets and the leader epoch in place (both sit before the CRC'd range) and,
// for LogAppendTime topics, stamps the timestamp type and maxTimestamp and
// recomputes the CRC like Kafka's DefaultRecordBatch.setMaxTimestamp.
// Per-record checks (record counts, timestamps, compression) are JS policy.
#include "addon.h"
#include "record-batch.h"
#include "segment-batch.h"

namespace samsa {
namespace {

// Mirrors BatchStatus in src/native/types.ts.
constexpr int32_t kStatusTruncated = -1;
constexpr int32_t kStatusBadLength = -2;
constexpr int32_t kStatusBadMagic = -3;
constexpr int32_t kStatusBadCrc = -4;
constexpr int32_t kStatusTooManyBatches = -5;
constexpr int32_t kStatusBadOffsetDelta = -6;
// out holds 4 numbers per batch: position, lastOffset, maxTimestamp, batch bytes.
constexpr size_t kOutSlotsPerBatch = 4;
// Kafka's max.message.bytes is an int; nothing larger can be a batch.
constexpr double kMaxBatchBytesLimit = 2147483647.0;

int32_t StatusOf(HeaderCheck check) {
  switch (check) {
    case HeaderCheck::kOk: return 0;
    case HeaderCheck::kTruncated: return kStatusTruncated;
    case HeaderCheck::kBadLength: return kStatusBadLength;
    case HeaderCheck::kBadMagic: return kStatusBadMagic;
    case HeaderCheck::kBadOffsetDelta: return kStatusBadOffsetDelta;
  }
  return kStatusTruncated;
}

bool IsIntegerIn(const Napi::Value& v, double lo, double hi, double* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *out = d;
  return true;
}

uint32_t BatchCrc(const uint8_t* batch, int64_t batchBytes) {
  return Crc32c(0, batch + kBatchAttributes, size_t(batchBytes - int64_t(kBatchAttributes)));
}

// validateBatches(buf, start, end, nextOffset, leaderEpoch, logAppendTimeMs, maxBatchBytes, out)
Napi::Value ValidateBatches(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !info[7].IsTypedArray() ||
      info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "validateBatches(buf: Uint8Array, start, end, nextOffset, leaderEpoch, "
                              "logAppendTimeMs, maxBatchBytes, out: Float64Array)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  Napi::Float64Array out = info[7].As<Napi::Float64Array>();
  const double bufBytes = double(buf.ElementLength());
  double start, end, nextOffset, leaderEpoch, logAppendTimeMs, maxBatchBytes;
  if (!IsIntegerIn(info[1], 0, bufBytes, &start) || !IsIntegerIn(info[2], start, bufBytes, &end)) {
    Napi::RangeError::New(env, "validateBatches: need 0 <= start <= end <= buf.length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!IsIntegerIn(info[3], 0, double(kSafeIntegerMax), &nextOffset) ||
      !IsIntegerIn(info[4], -2147483648.0, 2147483647.0, &leaderEpoch) ||
      !IsIntegerIn(info[5], -9007199254740991.0, double(kSafeIntegerMax), &logAppendTimeMs) ||
      !IsIntegerIn(info[6], 0, kMaxBatchBytesLimit, &maxBatchBytes)) {
    Napi::RangeError::New(env, "validateBatches: nextOffset, leaderEpoch, logAppendTimeMs or maxBatchBytes out of range")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (out.ElementLength() < kOutSlotsPerBatch) {
    Napi::RangeError::New(env, "validateBatches: out must hold at least 4 numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint8_t* data = buf.Data();
  double* slots = out.Data();
  // Pass 2 trusts the positions pass 1 left in `out`; if `out` shared memory with
  // `buf`, rewriting a batch could change them, so the two must not overlap.
  {
    const uintptr_t bufBegin = reinterpret_cast<uintptr_t>(data);
    const uintptr_t bufEnd = bufBegin + buf.ByteLength();
    const uintptr_t outBegin = reinterpret_cast<uintptr_t>(slots);
    const uintptr_t outEnd = outBegin + out.ByteLength();
    if (outBegin < bufEnd && bufBegin < outEnd) {
      Napi::RangeError::New(env, "validateBatches: out must not share memory with buf").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  const size_t batchCountMax = out.ElementLength() / kOutSlotsPerBatch;
  const int64_t first = int64_t(start);
  const int64_t last = int64_t(end);

  // Pass 1: judge every batch, write only `out`.
  size_t batchCount = 0;
  int64_t offset = int64_t(nextOffset);
  int32_t status = 0;
  if (first == last) status = kStatusTruncated;
  for (int64_t pos = first; status == 0 && pos < last;) {
    if (batchCount == batchCountMax) {
      status = kStatusTooManyBatches;
      break;
    }
    BatchHeader header;
    status = StatusOf(CheckBatchHeader(data + pos, last - pos, int64_t(maxBatchBytes), &header));
    if (status != 0) break;
    const int64_t lastOffset = offset + header.lastOffsetDelta;
    if (lastOffset > kSafeIntegerMax) {
      status = kStatusBadOffsetDelta;
      break;
    }
    if (BatchCrc(data + pos, header.batchBytes) != ReadU32BE(data + pos + kBatchCrc)) {
      status = kStatusBadCrc;
      break;
    }
    double* slot = slots + batchCount * kOutSlotsPerBatch;
    slot[0] = double(pos - first);
    slot[1] = double(lastOffset);
    slot[2] = logAppendTimeMs >= 0 ? logAppendTimeMs : double(header.maxTimestamp);
    slot[3] = double(header.batchBytes);
    offset = lastOffset + 1;
    pos += header.batchBytes;
    batchCount++;
  }
  if (status != 0) {
    slots[0] = double(batchCount);
    return Napi::Number::New(env, status);
  }

  // Pass 2: every batch is valid; rewrite in place.
  offset = int64_t(nextOffset);
  for (size_t i = 0; i < batchCount; i++) {
    const double* slot = slots + i * kOutSlotsPerBatch;
    uint8_t* batch = data + first + int64_t(slot[0]);
    WriteI64BE(batch + kBatchBaseOffset, offset);
    WriteI32BE(batch + kBatchPartitionLeaderEpoch, int32_t(leaderEpoch));
    if (logAppendTimeMs >= 0) {
      const uint16_t attributes = ReadU16BE(batch + kBatchAttributes);
      WriteU16BE(batch + kBatchAttributes, uint16_t(attributes | kAttrTimestampTypeLogAppend));
      WriteI64BE(batch + kBatchMaxTimestamp, int64_t(logAppendTimeMs));
      WriteU32BE(batch + kBatchCrc, BatchCrc(batch, int64_t(slot[3])));
    }
    offset = int64_t(slot[1]) + 1;
  }
  return Napi::Number::New(env, double(batchCount));
}

}  // namespace

void InitBatchScan(Napi::Env env, Napi::Object exports) {
  exports.Set("validateBatches", Napi::Function::New(env, ValidateBatches, "validateBatches"));
}

}  // namespace samsa
