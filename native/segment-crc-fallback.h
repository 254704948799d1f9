// CRC32C for the segment scans, with a self-checking fallback.
//
// samsa::Crc32c (native/crc32c.cc) is owned by another part of the addon and,
// while it is being written, may still be a stub that returns its input. The
// scans here must never accept a corrupt batch because of that, so the first
// call checks samsa::Crc32c against the standard check value of "123456789"
// (0xE3069283, RFC 3720) and, when it does not match, uses a private table-
// driven software CRC32C instead. Once crc32c.cc is complete the check passes
// and the fast path is used; this header can then be reduced to a call of
// samsa::Crc32c.
#pragma once
#include <cstddef>
#include <cstdint>

#include "addon.h"

namespace samsa {
namespace segment_crc {

// Reflected Castagnoli polynomial, the one Kafka's RecordBatch v2 uses.
constexpr uint32_t kPolynomial = 0x82F63B78u;

struct Table {
  uint32_t entries[256];
  constexpr Table() : entries() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1u) ? (c >> 1) ^ kPolynomial : c >> 1;
      entries[n] = c;
    }
  }
};

inline constexpr Table kTable{};

// Slicing-by-1 software CRC32C; only used while samsa::Crc32c is not correct.
inline uint32_t Software(uint32_t crc, const uint8_t* data, size_t length) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < length; i++) c = kTable.entries[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return ~c;
}

inline bool NativeIsCorrect() {
  static const bool correct = [] {
    static const uint8_t kCheckInput[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    return samsa::Crc32c(0, kCheckInput, sizeof kCheckInput) == 0xE3069283u;
  }();
  return correct;
}

}  // namespace segment_crc

// CRC32C of [data, data + length) continuing from `crc` (0 to start).
inline uint32_t SegmentCrc32c(uint32_t crc, const uint8_t* data, size_t length) {
  if (segment_crc::NativeIsCorrect()) return samsa::Crc32c(crc, data, length);
  return segment_crc::Software(crc, data, length);
}

}  // namespace samsa
