#!/usr/bin/env bash
# The one prepared run for a lent GPU machine (no network there; the device tool runs it in a copy
# of the working tree, with $OUT for what comes back):
#   bash tools/device/gpu-check.sh
# 1. What the machine has: nvidia-smi, Java, each Python's torch and CUDA, any libtorch on disk.
#    (The JVM stack needs DJL's CUDA natives, 2.4 GB from Maven Central, which cannot travel there;
#    a libtorch 2.5.1 with CUDA already on the machine is what `INFERPIPE_DEVICE=gpu` jobs would
#    need, through PYTORCH_LIBRARY_PATH.)
# 2. The batching bench on the GPU: models/bench_unet.py times one guided step of the bundled UNet
#    (the same TorchScript file the consumer serves) over 1-32 jobs, and on the machine's CPU beside
#    it. Issue target: batch-8 throughput >= 4x batch-1.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/inferpipe-gpu-check}"
mkdir -p "$out"
exec > >(tee "$out/gpu-check.txt") 2>&1
echo "== machine"
nvidia-smi || echo "no nvidia-smi"
nproc; free -g | head -2
java -version 2>&1 | head -1 || echo "no java"
echo "== python torch"
py=""
for cand in python3 /usr/bin/python3 /opt/conda/bin/python /usr/local/bin/python3; do
  command -v "$cand" >/dev/null 2>&1 || continue
  line=$("$cand" -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())' 2>/dev/null) || continue
  echo "$cand: torch cuda available: $line"
  case "$line" in *True) [ -z "$py" ] && py="$cand" ;; esac
done
echo "== libtorch on disk"
timeout 60 find / -xdev \( -name 'libtorch_cuda.so' -o -name 'libtorch.so' \) 2>/dev/null | head -5
if [ -z "$py" ]; then
  echo "no Python with a CUDA torch: the GPU bench cannot run here"
  exit 0
fi
echo "== bench: one guided step over B jobs, GPU"
"$py" models/bench_unet.py --device cuda --rounds 20 --warmup 3 --report "$out/bench-unet-cuda.json"
echo "== the same on this machine's CPU"
"$py" models/bench_unet.py --device cpu --rounds 4 --sizes 1,2,4,8 --report "$out/bench-unet-cpu.json"
