#!/usr/bin/env python3
"""benchmed.py FILE: medians of `go test -bench -count N` output, one row per
benchmark, and the ratio of each to the baseline beside it (the sub-benchmark
named baseline=... in the same group)."""
import re, statistics, sys
from collections import defaultdict, OrderedDict

rows = OrderedDict()
for line in open(sys.argv[1]):
    m = re.match(r'^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) MB/s)?', line)
    if m:
        rows.setdefault(m.group(1), []).append((float(m.group(3)), float(m.group(4) or 0)))
groups = defaultdict(dict)
for name, vals in rows.items():
    group, _, sub = name.rpartition('/')
    groups[group][sub] = (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals), len(vals))
print(f"| benchmark | median ns/op | MB/s | vs baseline (time) |")
print(f"|---|---:|---:|---:|")
for group, subs in groups.items():
    base = next((v for k, v in subs.items() if k.startswith('baseline=')), None)
    for sub, (ns, mbs, n) in subs.items():
        ratio = f"{ns / base[0]:.2f}x" if base else ""
        print(f"| {group}/{sub} | {ns:,.0f} | {mbs:.0f} | {ratio} |".replace('| 0 |', '| |'))
