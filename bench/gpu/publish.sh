#!/usr/bin/env bash
# Builds what the GPU machine runs (it has no .NET): a self-contained, compressed single-file `sifa` plus the PyTorch
# reference scripts, in bench/gpu/out (git-ignored; carried with the device tool's `carry`, 64 MiB at most).
# usage: bench/gpu/publish.sh        (SIFA_REF=folder overrides ../shared/ref beside the repository)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/out"
ref="${SIFA_REF:-$repo/../shared/ref}"
limit_mb=50

for f in bench_torch.py sifa_ref.py; do
  [[ -f "$ref/$f" ]] || { echo "publish.sh: $ref/$f not found (set SIFA_REF)" >&2; exit 1; }
done
rm -rf "$out"
dotnet publish "$repo/Sifa.Cli" -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
  -p:DebugType=none -o "$out"
rm -f "$out"/*.pdb "$out"/*.xml   # only the executable travels
cp "$ref/bench_torch.py" "$ref/sifa_ref.py" "$out/"
chmod u+w "$out"/*.py
chmod +x "$out/sifa"

size_mb=$(( $(du -sk "$out" | cut -f1) / 1024 ))
ls -l "$out"
echo "publish.sh: $out is ${size_mb} MB (limit ${limit_mb} MB)"
if (( size_mb > limit_mb )); then echo "publish.sh: over ${limit_mb} MB" >&2; exit 1; fi
