#!/usr/bin/env bash
# shaders.sh build   compiles every shaders/*.comp (and the test shaders in
#                    cmd/vkdemo/testdata and gpu/testdata) to .spv beside it with glslc
# shaders.sh check   fails if a committed .spv differs from what glslc makes now
#                    (skipped, with a note, where glslc is not installed)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
shopt -s nullglob
srcs=(shaders/*.comp cmd/vkdemo/testdata/*.comp gpu/testdata/*.comp)
if ! command -v glslc >/dev/null 2>&1; then
  if [ "$mode" = build ]; then echo "shaders: glslc not found (make deps installs it)" >&2; exit 1; fi
  echo "shaders: glslc not found, skipping the staleness check" >&2
  exit 0
fi
flags=(--target-env=vulkan1.1 -O)
stale=0
for src in "${srcs[@]}"; do
  spv=${src%.comp}.spv
  if [ "$mode" = build ]; then
    glslc "${flags[@]}" "$src" -o "$spv"
    echo "shaders: $src -> $spv"
  else
    tmp=$(mktemp)
    glslc "${flags[@]}" "$src" -o "$tmp"
    if ! cmp -s "$tmp" "$spv"; then
      echo "shaders: $spv is stale or missing; run 'make shaders' and commit it" >&2
      stale=1
    fi
    rm -f "$tmp"
  fi
done
exit $stale
