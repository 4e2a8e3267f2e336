#!/usr/bin/python3
"""Adds an attribute head to a trained tiny-shapes-diffusion UNet, in front of its cross-attention.

A held-out colour word is placed with its colour by a linear read-out of MiniLM's states far more
often than the UNet draws it (probe_colour_words.py). The head is that read-out, inside the
exported UNet: two logistic regressions on every token state (colour: 4 + none; shape: 3 + none),
fitted on prompts of the train language only, and each token's state is pulled towards the mean
train state of the class the head reads, by alpha times the head's probability:

    ctx' = ctx + alpha * sum_c p_c(ctx) * (mean_c - ctx)      (colours, then shapes the same way)

A trained word already sits near its class mean and barely moves; an unseen word the head places
("navy" read as blue) moves towards what the UNet knows as blue. Tokens the head reads as neither
stay as they are. The UNet's weights are unchanged; its graph's inputs and outputs are the same,
so the Java side serves it as before.

    /usr/bin/python3 models/attribute_head.py --model DIR --out DIR [--alpha 0.5] [--prompts 3000] [--seed 777]

Writes --out as a whole model directory (the input's files, the MiniLM files from the jar, the new
unet/model.pt, attribute_head.json with the fit and the figures, SHA256SUMS), then the card.
"""
import argparse
import os
import random
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True, help="a tiny-shapes-diffusion directory (unet/model.pt)")
ap.add_argument("--out", required=True)
ap.add_argument("--alpha", type=float, default=0.5, help="how far a token moves towards the class the head reads")
ap.add_argument("--prompts", type=int, default=3000, help="train-language prompts the heads are fitted on")
ap.add_argument("--seed", type=int, default=777)
ap.add_argument("--iters", type=int, default=400, help="full-batch Adam steps per head")
ap.add_argument("--minilm-jar", default=None)
ap.add_argument("--no-card", action="store_true")
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from inferpipe_models import common, minilm, world  # noqa: E402
from inferpipe_models.unet import AttributeHead, WithHead, editable, save_traced  # noqa: E402


def word_tokens(tok, ids, phrase, words):
    """Positions in `ids` of the longest of `words` found in `phrase` (every occurrence)."""
    w = next(w for w in sorted(words, key=len, reverse=True) if re.search(r"\b%s\b" % re.escape(w), phrase))
    return [i for span in minilm.word_positions(tok, ids, w) for i in span]


def labels(tok, prompts):
    """Per token: its colour (0-3, 4 = none) and shape (0-2, 3 = none)."""
    n = len(prompts)
    colour = torch.full((n, minilm.MAX_LEN), len(world.COLOURS), dtype=torch.long)
    shape = torch.full((n, minilm.MAX_LEN), len(world.SHAPES), dtype=torch.long)
    for i, (text, objs, phrases) in enumerate(prompts):
        ids = tok.encode(text, minilm.MAX_LEN)["input_ids"]
        for o, phrase in zip(objs, phrases):
            if o.get("colour"):
                colour[i, word_tokens(tok, ids, phrase, world.COLOUR_WORDS["train"][o["colour"]])] = world.COLOURS.index(o["colour"])
            if o.get("shape"):
                shape[i, word_tokens(tok, ids, phrase, world.SHAPE_WORDS["train"][o["shape"]])] = world.SHAPES.index(o["shape"])
    return colour.reshape(-1), shape.reshape(-1)


def fit(x, y, classes):
    """Logistic regression (L2 1e-2, as probe_text_encoder.py's) on standardised x; train accuracy."""
    w = torch.zeros(x.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.01)
    for _ in range(args.iters):
        loss = F.cross_entropy(x @ w + b, y) + 1e-2 * (w ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach(), b.detach(), float(((x @ w + b).argmax(1) == y).float().mean())


def main():
    common.set_threads(1)
    common.seed_all(args.seed)
    jar = args.minilm_jar or common.DEFAULT_JAR
    enc, tok = minilm.load(jar)
    argv, sys.argv = sys.argv, sys.argv[:1]  # train_diffusion parses its arguments on import
    from train_diffusion import make_prompts  # the training's own prompt generator
    sys.argv = argv
    prompts = make_prompts(args.prompts, args.seed, 0.6, 0.5)
    split = world.check_split([p[0] for p in prompts])
    H, _ = minilm.encode_texts(enc, tok, [p[0] for p in prompts], dtype=torch.float32)
    x = H.reshape(-1, H.shape[-1])
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    y_colour, y_shape = labels(tok, prompts)
    heads, info = {}, {"alpha": args.alpha, "prompts": args.prompts, "seed": args.seed, "split_check": split}
    for name, y, k in (("colour", y_colour, len(world.COLOURS)), ("shape", y_shape, len(world.SHAPES))):
        w, b, acc = fit(z, y, k + 1)
        means = torch.stack([x[y == c].mean(0) for c in range(k)])
        heads[name] = (w, b, means)
        info[name + "_train_accuracy"] = round(acc, 4)
        info[name + "_tokens"] = int((y < k).sum())
        common.log("%s head: train accuracy %.4f on %d tokens (%d of them %s words)" % (
            name, acc, len(y), int((y < k).sum()), name))
    # what the head reads for each held-out word, in one-object prompts (no image involved)
    for name, table, classes in (("colour", world.COLOUR_WORDS, world.COLOURS), ("shape", world.SHAPE_WORDS, world.SHAPES)):
        texts, where, truth = [], [], []
        for value, words in table["held_out"].items():
            for word in words:
                other = "circle" if name == "colour" else "red"
                text = "a %s %s" % ((word, other) if name == "colour" else (other, word))
                texts.append(text)
                where.append(minilm.word_positions(tok, tok.encode(text, minilm.MAX_LEN)["input_ids"], word)[0])
                truth.append((word, classes.index(value)))
        h, _ = minilm.encode_texts(enc, tok, texts, dtype=torch.float32)
        w, b, _ = heads[name]
        read = {}
        for hi, pos, (word, c) in zip(h, where, truth):
            p = torch.softmax(((hi[pos] - mu) / sd) @ w + b, dim=-1).mean(0)
            read[word] = {"read_as": (classes + ["none"])[int(p.argmax())], "p_right": round(float(p[c]), 3)}
        info["held_out_" + name + "_read"] = read
        common.log("held-out %s words read as: %s" % (name, {k: v["read_as"] for k, v in read.items()}))

    unet = editable(torch.jit.load(os.path.join(args.model, "unet", "model.pt")).state_dict())
    if isinstance(unet, WithHead):
        raise SystemExit("%s already has an attribute head: give the UNet it was fitted on" % args.model)
    model = WithHead(AttributeHead(mu, sd, heads, args.alpha), unet).eval()
    common.fresh_dir(args.out)
    for dp, _, fs in os.walk(args.model):
        for f in fs:
            rel = os.path.relpath(os.path.join(dp, f), args.model)
            if rel not in ("model.json", "SHA256SUMS", os.path.join("unet", "model.pt")):
                os.makedirs(os.path.dirname(os.path.join(args.out, rel)), exist_ok=True)
                shutil.copy(os.path.join(dp, f), os.path.join(args.out, rel))
    if not os.path.exists(os.path.join(args.out, "text_encoder", "model.onnx")):
        common.copy_minilm(jar, args.out, "tokenizer/tokenizer.json", "text_encoder/model.onnx")
    # checked on the fitting prompts' states, the head's own inputs
    worst = save_traced(model, os.path.join(args.out, "unet", "model.pt"), lambda b, length, g: H[:b, :length])
    assert worst < 1e-4, worst
    info["torchscript_max_abs_diff"] = worst
    info["from"] = os.path.relpath(os.path.abspath(args.model), os.path.join(HERE, ".."))
    info["from_unet_sha256"] = common.sha256_file(os.path.join(args.model, "unet", "model.pt"))
    common.write_json(os.path.join(args.out, "attribute_head.json"), info)
    common.log("wrote %s (max |torchscript - eager| %.3g)" % (args.out, worst))
    common.model_card(args.out, enabled=not args.no_card)


if __name__ == "__main__":
    main()
