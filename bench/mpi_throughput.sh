#!/usr/bin/env bash
# Data-parallel throughput on one machine: 2 ranks of 1 core each (mpirun --bind-to core, one thread per process)
# against 1 process with 2 threads, same-run alternating rounds (PERFORMANCE.md, "Data-parallel training").
# Usage: [BIND=none] bench/mpi_throughput.sh [rounds] [extra sifa train args]   (build first: dotnet build -c Release)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; shift || true
sifa=Sifa.Cli/bin/Release/net10.0/sifa.dll
args=(train --model sifa-tiny --train-size 192 --val-size 16 --batch 16 --epochs 2 --frames 8 --size 32 --workers 0 --seed 1 --overwrite "$@")
out=$(mktemp -d)
# Seconds of epoch 2 (JIT warm) from metrics.jsonl, and clips/s over its 192 clips (+16 validation clips).
epoch2() { sed -n 2p "$1/metrics.jsonl" | sed -E 's/.*"seconds":([0-9.]+).*/\1/'; }
for r in $(seq 1 "$rounds"); do
  DOTNET_PROCESSOR_COUNT=2 dotnet "$sifa" "${args[@]}" --out "$out/one" >/dev/null
  mpirun --allow-run-as-root --bind-to "${BIND:-core}" -np 2 -x DOTNET_PROCESSOR_COUNT=1 dotnet "$sifa" "${args[@]}" --out "$out/two" >/dev/null
  a=$(epoch2 "$out/one"); b=$(epoch2 "$out/two")
  echo "round $r: 1 process x 2 threads ${a}s, 2 ranks x 1 thread ${b}s, ratio $(python3 -c "print(f'{$a/$b:.2f}')")"
done
rm -rf "$out"
