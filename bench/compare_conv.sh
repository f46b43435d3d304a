#!/bin/bash
# Per-shape ResNet-50 convolution comparison, Sifa vs PyTorch (oneDNN), alternating ROUNDS times in one run, 2 threads.
# Prints per shape the median over rounds of fwd / dx / dw milliseconds of each side and the ratio Sifa / PyTorch, then
# the count-weighted totals. usage: bench/compare_conv.sh [ROUNDS] [REPEATS]   (defaults 3 and 7)
set -u
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; REPEATS=${2:-7}
SIFA=${SIFA:-Sifa.Cli/bin/Release/net10.0/sifa.dll}
PY=${PY:-/usr/bin/python3}
tmp=$(mktemp -d)
for r in $(seq 1 "$ROUNDS"); do
  dotnet "$SIFA" bench conv --repeats "$REPEATS" | grep '^conv ' > "$tmp/s$r"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE THREADS=2 "$PY" bench/torch_ops.py conv 8 "$REPEATS" | grep '^conv ' > "$tmp/t$r"
done
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(dotnet "$SIFA" bench gemm --check | head -1)"
cat "$tmp"/s* | sed 's/^/S /' > "$tmp/all"; cat "$tmp"/t* | sed 's/^/T /' >> "$tmp/all"
awk '
function med(str,   a, n, i, j, t) { n = split(str, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function val(k,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
{ side = $1; key = $3 " " $4 " " $5 " " $6 " " $7 " " $8; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  cnt[key] = substr($8, 2)
  for (q = 1; q <= 3; q++) { f = q == 1 ? "fwd_ms" : q == 2 ? "dx_ms" : "dw_ms"; v[side, key, q] = v[side, key, q] " " val(f) } }
END {
  printf "%-40s %8s %8s %5s | %8s %8s %5s | %8s %8s %5s\n", "shape", "fwd", "torch", "ratio", "dx", "torch", "ratio", "dw", "torch", "ratio"
  for (i = 1; i <= n; i++) { k = order[i]; line = sprintf("%-40s", k)
    for (q = 1; q <= 3; q++) { a = med(v["S", k, q]); b = med(v["T", k, q]); ts[q] += a * cnt[k]; tt[q] += b * cnt[k]
      line = line sprintf(" %8.2f %8.2f %5s %s", a, b, b > 0 ? sprintf("%.2f", a / b) : "-", q < 3 ? "|" : "") }
    print line }
  printf "%-40s %8.1f %8.1f %5.2f | %8.1f %8.1f %5.2f | %8.1f %8.1f %5.2f   (ms, weighted by count)\n", "total", ts[1], tt[1], ts[1] / tt[1], ts[2], tt[2], ts[2] / tt[2], ts[3], tt[3], ts[3] / tt[3]
}' "$tmp/all"
rm -rf "$tmp"
