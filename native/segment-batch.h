// RecordBatch v2 header checks shared by the segment file scans
// (segment-file.cc) and the produce-path validation (batch-scan.cc).
//
// A header is judged before any byte past it is touched: the caller passes how
// many bytes are available after the batch start (to the end of the buffer or
// the logical end of the segment) and the largest batch it accepts, and only
// reads the batch body when the check says the whole batch lies inside.
#pragma once
#include <cstdint>

#include "record-batch.h"

namespace samsa {

// Offsets and timestamps cross to JS as doubles; above 2^53 they lose integers.
constexpr int64_t kSafeIntegerMax = (int64_t(1) << 53) - 1;
// batchLength counts the bytes after the length field; the v2 header alone
// (magic .. recordsCount) is 49 of them, so a smaller length cannot be a batch.
constexpr int64_t kBatchLengthMin = int64_t(kBatchHeaderBytes) - int64_t(kBatchLogOverheadBytes);

enum class HeaderCheck {
  kOk,
  kTruncated,      // fewer than 61 bytes, or the batch runs past `availableBytes`
  kBadLength,      // batchLength < 49 or batch bytes > maxBatchBytes
  kBadMagic,       // magic != 2
  kBadOffsetDelta  // lastOffsetDelta < 0 (offsets against 2^53 are the caller's check)
};

struct BatchHeader {
  int64_t baseOffset;
  int64_t batchBytes;  // whole batch: 12 + batchLength
  int32_t lastOffsetDelta;
  int64_t maxTimestamp;
};

// `p` must point at min(availableBytes, 61) readable bytes. maxBatchBytes bounds
// the whole batch (12 + batchLength), like Kafka's max.message.bytes bounds
// batch.sizeInBytes(). The length is judged before completeness, so a length
// of 2^31-1 near the end is reported as kBadLength, not as a short read.
inline HeaderCheck CheckBatchHeader(const uint8_t* p, int64_t availableBytes, int64_t maxBatchBytes,
                                    BatchHeader* out) {
  if (availableBytes < int64_t(kBatchHeaderBytes)) return HeaderCheck::kTruncated;
  const int64_t batchLength = ReadI32BE(p + kBatchLength);
  if (batchLength < kBatchLengthMin) return HeaderCheck::kBadLength;
  const int64_t batchBytes = batchLength + int64_t(kBatchLogOverheadBytes);
  if (batchBytes > maxBatchBytes) return HeaderCheck::kBadLength;
  if (batchBytes > availableBytes) return HeaderCheck::kTruncated;
  if (p[kBatchMagic] != 2) return HeaderCheck::kBadMagic;
  const int32_t lastOffsetDelta = ReadI32BE(p + kBatchLastOffsetDelta);
  if (lastOffsetDelta < 0) return HeaderCheck::kBadOffsetDelta;
  out->baseOffset = ReadI64BE(p + kBatchBaseOffset);
  out->batchBytes = batchBytes;
  out->lastOffsetDelta = lastOffsetDelta;
  out->maxTimestamp = ReadI64BE(p + kBatchMaxTimestamp);
  return HeaderCheck::kOk;
}

}  // namespace samsa
