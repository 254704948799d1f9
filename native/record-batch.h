// Kafka RecordBatch v2 header layout (all integers big-endian):
//
//   offset  size  field
//        0     8  baseOffset
//        8     4  batchLength          (bytes after this field)
//       12     4  partitionLeaderEpoch
//       16     1  magic                (2)
//       17     4  crc                  (CRC32C of bytes 21 .. end)
//       21     2  attributes           (bits 0-2 compression, 3 timestamp type,
//                                       4 transactional, 5 control)
//       23     4  lastOffsetDelta
//       27     8  baseTimestamp
//       35     8  maxTimestamp
//       43     8  producerId
//       51     2  producerEpoch
//       53     4  baseSequence
//       57     4  recordsCount
//       61        records
//
// baseOffset and partitionLeaderEpoch sit before the CRC'd range, which is why
// the broker can rewrite them in place without recomputing the checksum.
#pragma once
#include <cstdint>
#include <cstring>

namespace samsa {

constexpr uint32_t kBatchBaseOffset = 0;
constexpr uint32_t kBatchLength = 8;
constexpr uint32_t kBatchPartitionLeaderEpoch = 12;
constexpr uint32_t kBatchMagic = 16;
constexpr uint32_t kBatchCrc = 17;
constexpr uint32_t kBatchAttributes = 21;
constexpr uint32_t kBatchLastOffsetDelta = 23;
constexpr uint32_t kBatchBaseTimestamp = 27;
constexpr uint32_t kBatchMaxTimestamp = 35;
constexpr uint32_t kBatchProducerId = 43;
constexpr uint32_t kBatchProducerEpoch = 51;
constexpr uint32_t kBatchBaseSequence = 53;
constexpr uint32_t kBatchRecordsCount = 57;
constexpr uint32_t kBatchHeaderBytes = 61;
// baseOffset + batchLength: the part of the header that is not counted in batchLength.
constexpr uint32_t kBatchLogOverheadBytes = 12;
constexpr uint16_t kAttrCompressionMask = 0x07;
constexpr uint16_t kAttrTimestampTypeLogAppend = 0x08;
constexpr uint16_t kAttrTransactional = 0x10;
constexpr uint16_t kAttrControl = 0x20;

inline uint16_t ReadU16BE(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t(p[0]) << 8) | uint16_t(p[1]));
}
inline uint32_t ReadU32BE(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline int32_t ReadI32BE(const uint8_t* p) { return static_cast<int32_t>(ReadU32BE(p)); }
inline int64_t ReadI64BE(const uint8_t* p) {
  return static_cast<int64_t>((uint64_t(ReadU32BE(p)) << 32) | uint64_t(ReadU32BE(p + 4)));
}
inline void WriteU32BE(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void WriteI32BE(uint8_t* p, int32_t v) { WriteU32BE(p, static_cast<uint32_t>(v)); }
inline void WriteI64BE(uint8_t* p, int64_t v) {
  WriteU32BE(p, uint32_t(uint64_t(v) >> 32));
  WriteU32BE(p + 4, uint32_t(uint64_t(v)));
}
inline void WriteU16BE(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

}  // namespace samsa
