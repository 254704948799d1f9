// Filled in by its owner; registers nothing yet so the addon links.
#include "addon.h"

namespace samsa {

uint32_t Crc32c(uint32_t crc, const uint8_t*, size_t) { return crc; }
void InitCrc32c(Napi::Env, Napi::Object) {}

}  // namespace samsa
