#!/usr/bin/env bash
# Builds the addon once with AddressSanitizer + UBSan (in build-asan/, apart from
# the normal build) and runs the tests that exercise native code under it.
# Node itself is not instrumented, so the ASan runtime is preloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/build-asan
rm -rf "$out"
mkdir -p "$out"
cp binding.gyp "$out/"
cp -r native "$out/"
nodegyp=${npm_config_node_gyp:-}
if [ -z "$nodegyp" ] || [ ! -f "$nodegyp" ]; then
  nodegyp=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js
fi
nodedir=$(dirname "$(dirname "$(command -v node)")")
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g"
(cd "$out" && CXXFLAGS="$san" LDFLAGS="$san" node "$nodegyp" rebuild --nodedir="$nodedir" >"$out/build.log" 2>&1) || {
  cat "$out/build.log"
  exit 1
}
libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
export LD_PRELOAD="$libasan:$libubsan"
# Leak checking would report V8's own allocations; memory errors still abort.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export SAMSA_NATIVE_PATH=$out/build/Release/samsa_native.node
export SAMSA_REQUIRE_NATIVE=1
npx vitest run \
  test/native-addon.test.ts test/crc32c.test.ts test/index-file.test.ts test/segment-file.test.ts \
  test/batch-scan.test.ts test/segment-file-faults.test.ts test/sender-fd-lifetime.test.ts test/log.test.ts test/log-recovery.test.ts test/log-manager.test.ts test/sender.test.ts test/sender-lifecycle.test.ts "$@"
