#!/usr/bin/env bash
# The one command for the GPU machine (NVIDIA driver, PyTorch with pip's CUDA libraries, no .NET):
#   bash bench/gpu/run.sh        (after bench/gpu/publish.sh here; carry bench/gpu/out)
# Everything goes to the terminal and to $OUT/gpu-check.log (written as it comes, so a cut run still returns it).
# Each part runs under `timeout`; the whole stays under 5 minutes.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/out"
log="${OUT:-/tmp}/gpu-check.log"
mkdir -p "$(dirname "$log")"
exec > >(tee -a "$log") 2>&1
start=$SECONDS
part() { echo; echo "== $1 (t=$((SECONDS - start)) s)"; }

part "machine"
date -u +%FT%TZ
uname -m
nproc
timeout 20 nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,memory.used,clocks.max.sm,power.limit --format=csv \
  || echo "nvidia-smi failed"
timeout 20 nvidia-smi | head -12

part "torch"
timeout 60 python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no cuda")'

part "cublas"
# pip's nvidia-cublas: site-packages/nvidia/cublas/lib (CUDA 12 wheels) or nvidia/cu13/lib (CUDA 13 wheels). Sifa's
# resolver searches LD_LIBRARY_PATH first for libcublas.so* (any version) and loads libcublasLt from the same folder.
cublas_dir=$(timeout 30 python3 - <<'PY' 2>/dev/null
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
hits = sorted(h for r in roots for h in glob.glob(os.path.join(r, "**", "libcublas.so*"), recursive=True) if "Lt" not in os.path.basename(h))
print(os.path.dirname(hits[-1]) if hits else "")
PY
)
if [[ -n "$cublas_dir" ]]; then
  export LD_LIBRARY_PATH="$cublas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "cublas_dir=$cublas_dir"; ls "$cublas_dir" | grep -i cublas
else
  echo "cublas_dir= (not found: Sifa falls back to its tiled matmul kernel)"
fi

part "sifa bench gpu --device cuda"
sifa="$out/sifa"
if [[ ! -x "$sifa" ]]; then cp "$out/sifa" /tmp/sifa && chmod +x /tmp/sifa && sifa=/tmp/sifa; fi
# The single file unpacks its native parts once; a writable folder outside the (possibly read-only) tree.
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=/tmp/sifa-bundle
timeout -k 5 165 "$sifa" bench gpu --device cuda
echo "sifa_rc=$?"

# PyTorch anchors: same clips (8 clips × 8 frames × 224²), 5 timed steps after a warm-up. NVIDIA_TF32_OVERRIDE=0 keeps
# cuDNN convolutions and matmuls in full FP32, as Sifa computes (PyTorch's default lets cuDNN use TF32).
for model in sifa_r50 sifa_swin_t; do
  part "torch $model (FP32)"
  left=$(( 285 - (SECONDS - start) ))
  if (( left < 20 )); then echo "skipped: ${left} s left of the 5-minute budget"; continue; fi
  PYTHONUNBUFFERED=1 DEVICE=cuda THREADS=16 NVIDIA_TF32_OVERRIDE=0 timeout -k 5 $(( left < 55 ? left : 55 )) \
    python3 "$out/bench_torch.py" $model 8 8 224 5
  echo "torch_rc=$?"
done

part "done"
echo "total_s=$((SECONDS - start))"
