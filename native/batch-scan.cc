// Filled in by its owner; registers nothing yet so the addon links.
#include "addon.h"

namespace samsa {

void InitBatchScan(Napi::Env, Napi::Object) {}

}  // namespace samsa
