#!/usr/bin/env bash
# Alternating A/B of `sifa bench step` between two builds of the CLI (e.g. before and after a refactor), on one machine,
# in one run: rounds alternate A and B per model, and the script prints every sec_per_step and the medians.
# Usage: bench/compare_before_after.sh A.dll B.dll [rounds] [models...]
set -euo pipefail
a=$1; b=$2; rounds=${3:-3}; shift 3 || true
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(sifa-r50 c2d-r50 sifa-swin-t)
isa=$(grep -o -m1 'avx512f' /proc/cpuinfo || echo avx2)
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) | isa: $isa | cores: $(nproc)"
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
for m in "${models[@]}"; do
  : >"/tmp/ab-$m-A"; : >"/tmp/ab-$m-B"
  for r in $(seq "$rounds"); do
    for side in A B; do
      dll=$a; [ $side = B ] && dll=$b
      s=$(dotnet "$dll" bench step --model "$m" --steps 3 | grep -o 'sec_per_step=[0-9.]*' | cut -d= -f2)
      echo "$m round $r $side sec_per_step=$s"; echo "$s" >>"/tmp/ab-$m-$side"
    done
  done
  echo "$m median A=$(median <"/tmp/ab-$m-A") B=$(median <"/tmp/ab-$m-B")"
done
