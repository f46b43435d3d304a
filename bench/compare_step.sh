#!/bin/bash
# Training-step comparison, Sifa vs the PyTorch anchor, alternating the two in one run (same machine, same load).
# usage: bench/compare_step.sh ROUNDS [MODEL...]   (MODEL: sifa-r50 c2d-r50 sifa-swin-t; default all three)
# Each line: model, side, sec_per_step (median of 3 steps after a warm-up), peak RSS in MiB.
set -u
ROUNDS=${1:-3}; shift || true
MODELS=${*:-sifa-r50 c2d-r50 sifa-swin-t}
SIFA=${SIFA:-Sifa.Cli/bin/Release/net10.0/sifa.dll}
REF=${REF:-../shared/ref/bench_torch.py}
for r in $(seq 1 "$ROUNDS"); do
  for m in $MODELS; do
    out=$( { /usr/bin/time -f "maxrss_kb=%M" dotnet "$SIFA" bench step --model "$m" --batch 1 --frames 8 --size 224 \
        --steps 3 --classes 400 --stem-stride 1; } 2>&1 )
    s=$(grep -o 'sec_per_step=[0-9.]*' <<<"$out" | cut -d= -f2); k=$(grep -o 'maxrss_kb=[0-9]*' <<<"$out" | cut -d= -f2)
    echo "round=$r model=$m side=sifa sec_per_step=$s peak_mib=$((k / 1024))"
    out=$( { THREADS=2 /usr/bin/time -f "maxrss_kb=%M" /usr/bin/python3 "$REF" "${m//-/_}" 1 8 224 3; } 2>&1 )
    s=$(grep -o 'sec_per_step=[0-9.]*' <<<"$out" | cut -d= -f2); k=$(grep -o 'maxrss_kb=[0-9]*' <<<"$out" | cut -d= -f2)
    echo "round=$r model=$m side=torch sec_per_step=$s peak_mib=$((k / 1024))"
  done
done
