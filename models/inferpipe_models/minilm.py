"""all-MiniLM-L6-v2 as a torch nn.Module, built from the jar's ONNX initializers.

The exported graph names most weights by module path (`encoder.layer.0.attention.self.query.bias`)
but the MatMul weights are anonymous (`onnx::MatMul_787`, stored [in, out]). They are mapped by
tracing the graph: each MatMul with an initializer operand feeds an Add whose other operand is a
named bias; the weight takes that bias's name with `.bias` -> `.weight`. The LayerNorm epsilon, the
attention scale, the mask fill value and GELU's constants are read from the graph's Constant nodes.

The forward is BERT's exactly: embeddings (word + token type + position) -> LayerNorm, 6 post-LN
layers of 12-head self-attention with the additive mask (1 - mask) * finfo(float32).min, erf GELU,
output `last_hidden_state` [B, L, 384]. This is what Java's ONNX Runtime computes from the same
file, so hidden states cached from this module are the ones the exported UNet / VQA encoder see.

`python3 -m inferpipe_models.minilm [--minilm-jar JAR]` (from models/) checks it against
testdata/models/reference/minilm.json (ids identical, hidden states within 1e-4).
"""
import argparse
import json
import math
import os
import re
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import helper, numpy_helper

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "inferpipe_models"

from .common import DEFAULT_JAR, MINILM_ONNX, MINILM_TOKENIZER, REPO, read_jar_entry  # noqa: E402
from .tokenizer import BertTokenizer  # noqa: E402

MAX_LEN = 24          # tokenizer_config model_max_length for both exported models
PAD_ID, CLS_ID, SEP_ID = 0, 101, 102


def _graph_params(model):
    """name -> np.array for every weight, with the anonymous MatMul weights given module names;
    plus the scalar constants (eps, scale, mask value)."""
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    consumers = {}
    for node in model.graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    params = {k: v for k, v in init.items() if not k.startswith("onnx::")}
    mapped = 0
    for node in model.graph.node:
        if node.op_type != "MatMul":
            continue
        w = [i for i in node.input if i in init]
        if not w:
            continue
        assert len(w) == 1 and w[0].startswith("onnx::MatMul"), node.input
        adds = [n for n in consumers.get(node.output[0], []) if n.op_type == "Add"]
        assert len(adds) == 1, (node.name, [n.op_type for n in consumers.get(node.output[0], [])])
        bias = [i for i in adds[0].input if i in init and i.endswith(".bias")]
        assert len(bias) == 1, adds[0].input
        name = bias[0][: -len(".bias")] + ".weight"
        assert name not in params, name
        assert init[w[0]].shape[1] == init[bias[0]].shape[0]
        params[name] = init[w[0]]  # [in, out]
        mapped += 1
    consts = {}
    for node in model.graph.node:
        if node.op_type == "Constant":
            v = numpy_helper.to_array(helper.get_attribute_value(node.attribute[0]))
            if v.dtype.kind == "f" and v.size == 1:
                consts[node.output[0]] = float(v)
    eps = {v for k, v in consts.items() if k.endswith("LayerNorm/Constant_1_output_0")}
    scale = {v for k, v in consts.items() if re.search(r"attention/self/Constant_\d+_output_0$", k)}
    assert len(eps) == 1 and len(scale) == 1, (eps, scale)
    meta = {"eps": eps.pop(), "scale": scale.pop(), "mask_value": consts["/Constant_1_output_0"],
            "mapped_matmuls": mapped}
    return params, meta


class Layer(nn.Module):
    def __init__(self, d, heads, ff, eps, scale):
        super().__init__()
        self.h, self.dh, self.scale = heads, d // heads, scale
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1 = nn.LayerNorm(d, eps=eps)
        self.fc1 = nn.Linear(d, ff)
        self.fc2 = nn.Linear(ff, d)
        self.ln2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x, bias):
        b, l, d = x.shape

        def split(t):
            return t.view(b, l, self.h, self.dh).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        s = torch.matmul(q, k.transpose(-1, -2)) / self.scale + bias
        a = torch.matmul(torch.softmax(s, dim=-1), v).transpose(1, 2).reshape(b, l, d)
        x = self.ln1(x + self.o(a))
        h = self.fc1(x)
        h = h * 0.5 * (1.0 + torch.erf(h / math.sqrt(2.0)))
        return self.ln2(x + self.fc2(h))


class MiniLM(nn.Module):
    def __init__(self, params, meta):
        super().__init__()
        d = params["embeddings.word_embeddings.weight"].shape[1]
        n_layers = 1 + max(int(m.group(1)) for k in params for m in [re.match(r"encoder\.layer\.(\d+)\.", k)] if m)
        ff = params["encoder.layer.0.intermediate.dense.bias"].shape[0]
        heads = int(round(d / meta["scale"] ** 2))  # scale = sqrt(head_dim)
        self.meta = meta
        self.word = nn.Embedding.from_pretrained(torch.from_numpy(params["embeddings.word_embeddings.weight"].copy()))
        self.pos = nn.Embedding.from_pretrained(torch.from_numpy(params["embeddings.position_embeddings.weight"].copy()))
        self.typ = nn.Embedding.from_pretrained(torch.from_numpy(params["embeddings.token_type_embeddings.weight"].copy()))
        self.ln = nn.LayerNorm(d, eps=meta["eps"])
        self.layers = nn.ModuleList(Layer(d, heads, ff, meta["eps"], meta["scale"]) for _ in range(n_layers))
        used = set()

        def put(mod, prefix, transpose):
            w, b = prefix + ".weight", prefix + ".bias"
            with torch.no_grad():
                mod.weight.copy_(torch.from_numpy(params[w].T.copy() if transpose else params[w].copy()))
                mod.bias.copy_(torch.from_numpy(params[b].copy()))
            used.update([w, b])
        put(self.ln, "embeddings.LayerNorm", False)
        for i, L in enumerate(self.layers):
            p = "encoder.layer.%d." % i
            put(L.q, p + "attention.self.query", True)
            put(L.k, p + "attention.self.key", True)
            put(L.v, p + "attention.self.value", True)
            put(L.o, p + "attention.output.dense", True)
            put(L.ln1, p + "attention.output.LayerNorm", False)
            put(L.fc1, p + "intermediate.dense", True)
            put(L.fc2, p + "output.dense", True)
            put(L.ln2, p + "output.LayerNorm", False)
        used.update(["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                     "embeddings.token_type_embeddings.weight", "embeddings.position_ids"])
        unused = set(params) - used
        assert not unused, unused
        self.eval()
        for p_ in self.parameters():
            p_.requires_grad_(False)

    def forward(self, input_ids, attention_mask, token_type_ids):
        l = input_ids.shape[1]
        pos = torch.arange(l, device=input_ids.device)[None]
        x = self.ln(self.word(input_ids) + self.typ(token_type_ids) + self.pos(pos))
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * self.meta["mask_value"]
        for L in self.layers:
            x = L(x, bias)
        return x


def load(jar=None):
    """(MiniLM module, BertTokenizer) from the langchain4j jar (or an unpacked dir holding both files)."""
    jar = jar or DEFAULT_JAR
    if os.path.isdir(jar):
        onnx_bytes = open(os.path.join(jar, MINILM_ONNX), "rb").read()
        tok_bytes = open(os.path.join(jar, MINILM_TOKENIZER), "rb").read()
    else:
        onnx_bytes = read_jar_entry(jar, MINILM_ONNX)
        tok_bytes = read_jar_entry(jar, MINILM_TOKENIZER)
    return _build(onnx_bytes, tok_bytes)


def load_files(onnx_path, tokenizer_path):
    """From an exported model directory's text_encoder/model.onnx and tokenizer/tokenizer.json."""
    return _build(open(onnx_path, "rb").read(), open(tokenizer_path, "rb").read())


def _build(onnx_bytes, tok_bytes):
    model = onnx.load_from_string(onnx_bytes)
    params, meta = _graph_params(model)
    enc = MiniLM(params, meta)
    tok = BertTokenizer(json.loads(tok_bytes.decode("utf-8")))
    return enc, tok


def tokenize(tok, texts, max_len=MAX_LEN):
    encs = [tok.encode(t, max_len) for t in texts]
    ids = torch.tensor([e["input_ids"] for e in encs], dtype=torch.int64)
    mask = torch.tensor([e["attention_mask"] for e in encs], dtype=torch.int64)
    tt = torch.tensor([e["token_type_ids"] for e in encs], dtype=torch.int64)
    return ids, mask, tt


@torch.no_grad()
def encode_texts(enc, tok, texts, max_len=MAX_LEN, batch=256, dtype=torch.float16, log_every=0):
    """Hidden states [N, max_len, 384] (padded to max_len with [PAD] exactly as the Java side does),
    and attention masks [N, max_len]."""
    outs, masks = [], []
    for i in range(0, len(texts), batch):
        ids, mask, tt = tokenize(tok, texts[i:i + batch], max_len)
        outs.append(enc(ids, mask, tt).to(dtype))
        masks.append(mask)
        if log_every and (i // batch) % log_every == 0:
            print("  minilm: %d / %d texts" % (i + len(ids), len(texts)), flush=True)
    return torch.cat(outs), torch.cat(masks)


def word_positions(tok, ids, word, within=None):
    """Token positions of every occurrence of `word` in `ids` (an encoded text), each a list;
    `within` limits the starts to those positions."""
    wid = tok.encode(word, MAX_LEN)["input_ids"]
    wid = wid[1:wid.index(SEP_ID)]  # without [CLS] ... [SEP]
    starts = within if within is not None else range(len(ids) - len(wid) + 1)
    return [list(range(i, i + len(wid))) for i in starts if ids[i:i + len(wid)] == wid]


def unknown_tokens(tok, text):
    return [p for w in tok.pre_tokenize(tok.normalize(text)) for p in tok.wordpiece(w) if p == tok.unk]


def verify(jar=None):
    """Compares with testdata/models/reference/minilm.json; returns the max |diff|."""
    torch.set_num_threads(1)
    enc, tok = load(jar)
    ref = json.load(open(os.path.join(REPO, "testdata", "models", "reference", "minilm.json")))
    L = ref["max_length"]
    worst = 0.0
    for case in ref["cases"]:
        e = tok.encode(case["prompt"], L)
        assert e["input_ids"] == case["input_ids"], (case["prompt"], e["input_ids"], case["input_ids"])
        assert e["tokens"] == case["tokens"]
        ids, mask, tt = tokenize(tok, [case["prompt"]], L)
        with torch.no_grad():
            h = enc(ids, mask, tt).numpy()
        r = np.array(case["last_hidden_state"]["data"], dtype=np.float64).reshape(case["last_hidden_state"]["shape"])
        d = float(np.max(np.abs(h.astype(np.float64) - r)))
        worst = max(worst, d)
        print("  %-28r ids identical; max |torch - reference| = %.3g" % (case["prompt"], d))
    print("MiniLM torch module vs reference/minilm.json: max |diff| = %.3g over %d cases (eps %g, scale %g, "
          "mask %g, %d MatMul weights mapped)" % (worst, len(ref["cases"]), enc.meta["eps"], enc.meta["scale"],
                                                  enc.meta["mask_value"], enc.meta["mapped_matmuls"]))
    assert worst < 1e-4, worst
    return worst


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm-jar", default=None)
    verify(ap.parse_args().minilm_jar)
