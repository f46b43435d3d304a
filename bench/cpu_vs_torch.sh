#!/bin/bash
# One-command CPU comparison of Sifa against its anchors, everything alternating in one run (same machine, same load):
#   1. the instruction set: /proc/cpuinfo's flags and .NET's detection + the SGEMM path in use (sifa bench gemm --check);
#   2. the FMA peak (sifa bench peak);
#   3. SGEMM GFLOP/s, Sifa vs numpy, with OpenBLAS's kernel choice both native (OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
#      unset) and forced (OPENBLAS_CORETYPE=Haswell, or the environment's values): the faster numpy median is the anchor;
#   4. training steps (1 clip x 8 x 224^2, 400 classes, forward + backward + SGD, 2 threads) vs PyTorch, run with both
#      OpenBLAS settings (the faster per round is the anchor), peak RSS of each side.
# Every figure is a median over ROUNDS alternating rounds; only the same-run ratios mean anything on a shared machine.
#
# usage: bench/cpu_vs_torch.sh [ROUNDS] [MODEL...]   (default 3 rounds; models c2d-r50 sifa-r50 sifa-swin-t)
# env:   SIFA (sifa.dll, default the Release build), REF (bench_torch.py), PY (python with torch), GEMM_ROUNDS,
#        SKIP_GEMM=1 / SKIP_STEP=1 to run one half only,
#        ISA=avx2 to stand in for an AVX2-only machine on an AVX-512 one: .NET without AVX-512 (DOTNET_EnableAVX512=0),
#        oneDNN capped at AVX2 (ONEDNN_MAX_CPU_ISA/DNNL_MAX_CPU_ISA) and OpenBLAS on its Haswell kernel in both settings.
# A full run (3 rounds, 3 models) takes about 12-15 minutes on a quiet 2-core machine.
set -u
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; shift || true
MODELS=${*:-c2d-r50 sifa-r50 sifa-swin-t}
SIFA=${SIFA:-Sifa.Cli/bin/Release/net10.0/sifa.dll}
REF=${REF:-/work/shared/ref/bench_torch.py}
PY=${PY:-/usr/bin/python3}
GEMM_ROUNDS=${GEMM_ROUNDS:-$ROUNDS}
FORCED_CORE=${OPENBLAS_CORETYPE:-Haswell}
FORCED_L2=${OPENBLAS_L2_SIZE:-}
[ -f "$SIFA" ] || { echo "missing $SIFA: dotnet build Sifa.Cli -c Release" >&2; exit 2; }
start=$(date +%s)

if [ "${ISA:-}" = avx2 ]; then
  export DOTNET_EnableAVX512=0 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2
  FORCED_CORE=Haswell
  native() { env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=Haswell "$@"; }
else
  native() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
fi
forced() { if [ -n "$FORCED_L2" ]; then env OPENBLAS_CORETYPE="$FORCED_CORE" OPENBLAS_L2_SIZE="$FORCED_L2" "$@"; else env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$FORCED_CORE" "$@"; fi; }
field() { grep -o "$1=[0-9.]*" | tail -1 | cut -d= -f2; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

echo "== machine ($(date -u '+%F %T') UTC, load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) logical cores"
echo "cpuinfo flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512[a-z_0-9]*)$' | sort | tr '\n' ' ')"
echo ".NET: $(dotnet "$SIFA" bench gemm --check | head -1)"
echo "gemm check: $(dotnet "$SIFA" bench gemm --check | tail -1)"
echo "numpy: $(native "$PY" -c 'import numpy; print(numpy.__version__)') (OpenBLAS native core: $(native OPENBLAS_VERBOSE=2 OPENBLAS_NUM_THREADS=1 "$PY" -c 'import numpy; numpy.ones(4) @ numpy.ones(4)' 2>&1 | grep -o 'Core: .*' | head -1))"

if [ "${SKIP_GEMM:-0}" != 1 ]; then
  echo "== FMA peak"
  dotnet "$SIFA" bench peak | grep '^peak'
  echo "== SGEMM GFLOP/s, 2 threads, $GEMM_ROUNDS alternating rounds (medians; ratio = Sifa / faster numpy)"
  for shape in "1024 1024 1024" "256 3136 2304" "64 3136 576"; do
    read -r M N K <<<"$shape"
    s=""; nn=""; nf=""
    for r in $(seq 1 "$GEMM_ROUNDS"); do
      s+=" $(dotnet "$SIFA" bench gemm --m "$M" --n "$N" --k "$K" --repeats 7 | field gflops)"
      nn+=" $(native OPENBLAS_NUM_THREADS=2 "$PY" bench/gemm_numpy.py "$M" "$N" "$K" 7 | field gflops)"
      nf+=" $(forced OPENBLAS_NUM_THREADS=2 "$PY" bench/gemm_numpy.py "$M" "$N" "$K" 7 | field gflops)"
    done
    ms=$(median <<<"$s"); mn=$(median <<<"$nn"); mf=$(median <<<"$nf")
    best=$(awk -v a="$mn" -v b="$mf" 'BEGIN { print (a > b ? a : b) }')
    echo "sgemm ${M}x${N}x${K}: sifa=$ms [$s ] numpy_native=$mn [$nn ] numpy_forced=$mf [$nf ] ratio=$(ratio "$ms" "$best")"
  done
fi

if [ "${SKIP_STEP:-0}" != 1 ]; then
  echo "== training step, 1 clip x 8 x 224^2, 400 classes, $ROUNDS alternating rounds (ratio = Sifa s / faster PyTorch s)"
  declare -A SR TR SP TP
  for r in $(seq 1 "$ROUNDS"); do
    for m in $MODELS; do
      out=$( { /usr/bin/time -f "maxrss_kb=%M" dotnet "$SIFA" bench step --model "$m" --batch 1 --frames 8 --size 224 \
          --steps 3 --classes 400 --stem-stride 1; } 2>&1 )
      s=$(field sec_per_step <<<"$out"); sk=$(field maxrss_kb <<<"$out")
      out=$( { native THREADS=2 /usr/bin/time -f "maxrss_kb=%M" "$PY" "$REF" "${m//-/_}" 1 8 224 3; } 2>&1 )
      tn=$(field sec_per_step <<<"$out"); tnk=$(field maxrss_kb <<<"$out")
      out=$( { forced THREADS=2 /usr/bin/time -f "maxrss_kb=%M" "$PY" "$REF" "${m//-/_}" 1 8 224 3; } 2>&1 )
      tf=$(field sec_per_step <<<"$out"); tfk=$(field maxrss_kb <<<"$out")
      t=$(awk -v a="${tn:-0}" -v b="${tf:-0}" 'BEGIN { if (a <= 0) print b; else if (b <= 0) print a; else print (a < b ? a : b) }')
      echo "round=$r model=$m sifa_s=$s torch_native_s=$tn torch_forced_s=$tf ratio=$(ratio "$s" "$t") sifa_peak_mib=$((${sk:-0} / 1024)) torch_peak_mib=$((${tnk:-0} / 1024))/$((${tfk:-0} / 1024))"
      SR[$m]+=" $(ratio "$s" "$t")"; SP[$m]+=" $((${sk:-0} / 1024))"; TP[$m]+=" $((${tnk:-0} / 1024)) $((${tfk:-0} / 1024))"; TR[$m]+=" $s/$t"
    done
  done
  echo "== summary (medians over rounds)"
  for m in $MODELS; do
    echo "$m: step ratio=$(median <<<"${SR[$m]}") [${SR[$m]} ] (sifa/torch s:${TR[$m]}) peak MiB sifa=$(median <<<"${SP[$m]}") torch=$(median <<<"${TP[$m]}") memory ratio=$(ratio "$(median <<<"${SP[$m]}")" "$(median <<<"${TP[$m]}")")"
  done
fi
echo "== done in $(( $(date +%s) - start )) s (load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
