#!/usr/bin/env bash
# Builds the FUSE edge (build/Release/fuse_edge.node) against libfuse3. Uses the
# running Node's own headers when it has them, so no download is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pkg-config --exists fuse3; then
  bash scripts/system-deps.sh
fi
prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
args=()
[ -f "$prefix/include/node/node_api.h" ] && args+=("--nodedir=$prefix")
exec node-gyp rebuild "${args[@]}"
