#!/usr/bin/env bash
# bench-gpu.sh VKIO_BIN CREF_BIN
# Runs vkio's GPU workloads and the C reference side by side and prints
#   W1 <vkio µs median>     <C µs median>     <ratio vkio/C>   (lower is better)
#   W2 <vkio dispatches/s>  <C dispatches/s>  <ratio vkio/C>   (higher is better)
#   W3 <vkio kernel ms>     <C kernel ms>     <ratio vkio/C>   (lower is better)
# Every workload alternates vkio and C, RUNS times (default 9; W3, which
# takes seconds per run, min(RUNS, 5) times); each figure is the median of the
# per-run figures. W1 and W2 run pinned to CPU 0 (on 2-core machines they
# swing 2-4x otherwise); W3 uses every CPU, as lavapipe spreads a large
# dispatch over threads. Under taskset gpubench raises GOMAXPROCS to 2 for
# W1 only (a Go runtime setting; it says so on stderr, shown below as a
# bench-gpu: line; see bench/cref/README.md).
set -euo pipefail
vkio=$1 cref=$2
runs=${RUNS:-9}
export VKIO_VALIDATION=0
pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c 0); fi
med() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
declare -A v c
for w in W1 W2 W3; do
  vs=() cs=() n=$runs run=("${pin[@]}")
  if [ $w = W3 ]; then n=$((runs < 5 ? runs : 5)) run=(); fi
  for ((i = 0; i < n; i++)); do
    vs+=("$("${run[@]}" "$vkio" -w $w 2>/dev/null | awk '{print $2}')")
    cs+=("$("${run[@]}" "$cref" -w $w 2>/dev/null | awk '{print $2}')")
  done
  v[$w]=$(printf '%s\n' "${vs[@]}" | med)
  c[$w]=$(printf '%s\n' "${cs[@]}" | med)
  echo "bench-gpu: $w vkio runs: ${vs[*]}; C runs: ${cs[*]}" >&2
  # Each round's vkio/C ratio, and their median: steadier than the ratio of
  # the medians when the machine's speed drifts between rounds.
  for ((i = 0; i < n; i++)); do awk -v a="${vs[i]}" -v b="${cs[i]}" 'BEGIN {printf "%.3f\n", a / b}'; done |
    med | awk -v w=$w '{printf "bench-gpu: %s median of the per-round vkio/C ratios: %.3f\n", w, $1}' >&2
done
"${pin[@]}" "$vkio" -w W1 2>&1 >/dev/null | sed 's/^gpubench: /bench-gpu: /' >&2 || true
for w in W1 W2 W3; do
  awk -v w=$w -v a="${v[$w]}" -v b="${c[$w]}" 'BEGIN {printf "%s %s %s %.3f\n", w, a, b, a / b}'
done
