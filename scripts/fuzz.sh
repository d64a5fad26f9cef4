#!/usr/bin/env bash
# Runs every native Go fuzz target of the module for a bounded time each.
#
#   scripts/fuzz.sh [FUZZTIME] [PKGS...]    FUZZTIME defaults to 30s, PKGS to ./...
#
# `make test` already runs each target's seed corpus (f.Add seeds and
# testdata/fuzz/FuzzXxx/*) as ordinary tests; this script explores beyond
# them. A failing input is written by `go test` under the package's
# testdata/fuzz/FuzzXxx/ and becomes a seed once committed.
set -euo pipefail
fuzztime=${1:-30s}
shift || true
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

status=0
ran=0
for pkg in $(go list "${pkgs[@]}"); do
  # -list prints the matching names, then "ok <pkg> ..." on the last line.
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for t in $targets; do
    echo "fuzz: $pkg $t for $fuzztime" >&2
    ran=$((ran + 1))
    if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg"; then
      echo "fuzz: $pkg $t FAILED (the failing input is under its testdata/fuzz/$t/)" >&2
      status=1
    fi
  done
done
echo "fuzz: $ran target(s) run, $fuzztime each" >&2
exit $status
