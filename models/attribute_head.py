#!/usr/bin/python3
"""Adds an attribute head to a trained tiny-shapes-diffusion UNet, in front of its cross-attention.

A held-out colour word is placed with its colour by a linear read-out of MiniLM's states far more
often than the UNet draws it (probe_colour_words.py). The head is that read-out, inside the
exported UNet: two logistic regressions on every token state (colour: 4 + none; shape: 3 + none),
fitted on prompts of the train language only, and each token's state is pulled towards the mean
train state of the class the head reads, by alpha times the head's probability at a temperature:

    ctx' = ctx + alpha * sum_c p_c(ctx / T) * (mean_c - ctx)      (colours, then shapes the same way)

A token within tau of a train word's prototype (the mean state of that word piece over the fitting
prompts; tau the 99th percentile of the train tokens' own distances) is pulled with alpha_known
(0.5) at T 1: pulled in full, "a red circle and a blue square" lost which colour goes with which
object. Any other token is pulled with alpha (1) at T (0.3): an unseen word the head places ("navy"
read as blue) moves nearly all the way to what the UNet knows as blue; pulled halfway, the UNet
often still drew the word's own guess. Tokens the head reads as neither stay as they are. The shape read-out is fitted on prompts that
also use world.HEAD_SHAPE_WORDS (ring, prism, crate, ...; none held out): on the train shapes alone
it read wedge and box as no shape. The UNet's weights are unchanged; its graph's inputs and outputs are the same,
so the Java side serves it as before.

    /usr/bin/python3 models/attribute_head.py --model DIR --out DIR [--alpha 1] [--temperature 0.3]
        [--alpha-known 0.5] [--shape-words head|train] [--prompts 3000] [--seed 4321]

Writes --out as a whole model directory (the input's files, the MiniLM files from the jar, the new
unet/model.pt, attribute_head.json with the fit and the figures, understands.json with the head's
shape words added, SHA256SUMS), then the card.
"""
import argparse
import json
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
ap.add_argument("--alpha", type=float, default=1.0, help="how far a token moves towards the class the head reads")
ap.add_argument("--temperature", type=float, default=0.3, help="the read-out's softmax temperature for unseen tokens (below 1 sharpens)")
ap.add_argument("--alpha-known", type=float, default=0.5, help="the pull on a token near a train word's prototype (at temperature 1)")
ap.add_argument("--known-quantile", type=float, default=0.99, help="tau: this quantile of the train tokens' distances to their own prototype")
ap.add_argument("--shape-words", choices=("head", "train"), default="head",
                help="fit the shape read-out on the train shapes and world.HEAD_SHAPE_WORDS (head) or the train shapes alone")
ap.add_argument("--prompts", type=int, default=3000, help="train-language prompts the heads are fitted on")
ap.add_argument("--seed", type=int, default=4321, help="the prompts the read-outs are fitted on (not an evaluation seed)")
ap.add_argument("--iters", type=int, default=400, help="full-batch Adam steps per head")
ap.add_argument("--minilm-jar", default=None)
ap.add_argument("--no-card", action="store_true")
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402

from inferpipe_models import common, minilm, readout, world  # noqa: E402
from inferpipe_models.unet import AttributeHead, WithHead, editable, save_traced  # noqa: E402


def word_spans(tok, ids, phrase, words):
    """The longest of `words` found in `phrase`, and its token positions in `ids` (a list per
    occurrence)."""
    w = next(w for w in sorted(words, key=len, reverse=True) if re.search(r"\b%s\b" % re.escape(w), phrase))
    return w, minilm.word_positions(tok, ids, w)


def word_tokens(tok, ids, phrase, words):
    """Positions in `ids` of the longest of `words` found in `phrase` (every occurrence)."""
    return [i for span in word_spans(tok, ids, phrase, words)[1] for i in span]


def labels(tok, prompts, shape_words):
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
                shape[i, word_tokens(tok, ids, phrase, shape_words[o["shape"]])] = world.SHAPES.index(o["shape"])
    return colour.reshape(-1), shape.reshape(-1)


def prototypes(tok, prompts, states, mu, sd):
    """Each train colour and shape word piece's mean state over `prompts` (standardised), and tau:
    the --known-quantile of the distances of those tokens to their own prototype."""
    groups = {}
    for i, (text, objs, phrases) in enumerate(prompts):
        ids = tok.encode(text, minilm.MAX_LEN)["input_ids"]
        for o, phrase in zip(objs, phrases):
            for attr, table in (("colour", world.COLOUR_WORDS), ("shape", world.SHAPE_WORDS)):
                if not o.get(attr):
                    continue
                w, spans = word_spans(tok, ids, phrase, table["train"][o[attr]])
                for span in spans:
                    for j, pos in enumerate(span):
                        groups.setdefault((w, j), []).append((states[i, pos] - mu) / sd)
    protos, own = [], []
    for g in groups.values():
        g = torch.stack(g)
        protos.append(g.mean(0))
        own.append((g - protos[-1]).norm(dim=-1))
    return torch.stack(protos), float(torch.quantile(torch.cat(own), args.known_quantile))


def fit(x, y, classes):
    """Logistic regression (L2 1e-2, as probe_text_encoder.py's) on standardised x; train accuracy."""
    w, b = readout.logistic(x, y, classes, args.iters)
    return w, b, float(((x @ w + b).argmax(1) == y).float().mean())


def main():
    common.set_threads(1)
    common.seed_all(args.seed)
    jar = args.minilm_jar or common.DEFAULT_JAR
    enc, tok = minilm.load(jar)
    argv, sys.argv = sys.argv, sys.argv[:1]  # train_diffusion parses its arguments on import
    from train_diffusion import make_prompts  # the training's own prompt generator
    sys.argv = argv
    # the colour read-out on the train language; the shape read-out on it with more shape names
    # (the same generator and seed), its weights folded onto the first set's standardisation
    shape_words = world.head_shape_words() if args.shape_words == "head" else world.SHAPE_WORDS["train"]
    sets = {"colour": make_prompts(args.prompts, args.seed, 0.6, 0.5),
            "shape": make_prompts(args.prompts, args.seed, 0.6, 0.5, shape_words=shape_words)}
    info = {"alpha": args.alpha, "temperature": args.temperature, "prompts": args.prompts, "seed": args.seed,
            "shape_words": args.shape_words,
            "split_check": world.check_split([p[0] for ps in sets.values() for p in ps])}
    # the pull's targets: each class's mean state over the words the UNet was trained on
    states, _ = minilm.encode_texts(enc, tok, [p[0] for p in sets["colour"]], dtype=torch.float32)
    xs = states.reshape(-1, states.shape[-1])
    mu, sd = xs.mean(0), xs.std(0) + 1e-6
    trained = labels(tok, sets["colour"], world.SHAPE_WORDS["train"])
    # the colour read-out's labels are trained[0]; the shape set is only encoded when it differs
    same = shape_words is world.SHAPE_WORDS["train"]
    fitting = {"colour": (states, trained[0]),
               "shape": (states, trained[1]) if same else (
                   minilm.encode_texts(enc, tok, [p[0] for p in sets["shape"]], dtype=torch.float32)[0],
                   labels(tok, sets["shape"], shape_words)[1])}
    heads = {}
    for i, (name, k) in enumerate((("colour", len(world.COLOURS)), ("shape", len(world.SHAPES)))):
        H, y = fitting[name]
        x = H.reshape(-1, H.shape[-1])
        m, s = x.mean(0), x.std(0) + 1e-6
        w, b, acc = fit((x - m) / s, y, k + 1)
        # logits on (x - m) / s equal these on (x - mu) / sd
        w, b = (sd / s).unsqueeze(1) * w, b + ((mu - m) / s) @ w
        heads[name] = (w, b, torch.stack([xs[trained[i] == c].mean(0) for c in range(k)]))
        info[name + "_train_accuracy"] = round(acc, 4)
        info[name + "_tokens"] = int((y < k).sum())
        common.log("%s head: train accuracy %.4f on %d tokens (%d of them %s words)" % (
            name, acc, len(y), int((y < k).sum()), name))
    protos, tau = prototypes(tok, sets["colour"], states, mu, sd)
    info.update(prototypes=len(protos), tau=round(tau, 3), alpha_known=args.alpha_known)
    common.log("%d train word-piece prototypes, tau %.2f" % (len(protos), tau))
    head = AttributeHead(mu, sd, heads, args.alpha, args.temperature, (protos, tau, args.alpha_known))
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
            # per word piece, as forward() weighs it, then averaged over the word's pieces
            z = (hi[pos] - mu) / sd
            novel = head.novelty(z.unsqueeze(0))[0]
            logits = z @ w + b
            p = head.blend(logits, novel, 1.0, 1.0).mean(0)
            pull = head.blend(logits, novel, args.alpha_known, args.alpha).mean(0)
            read[word] = {"read_as": (classes + ["none"])[int(p.argmax())], "p_right": round(float(p[c]), 3),
                          "pull_right": round(float(pull[c]), 3), "unseen": round(float(novel.mean()), 3)}
        info["held_out_" + name + "_read"] = read
        common.log("held-out %s words read as: %s" % (name, {k: v["read_as"] for k, v in read.items()}))

    unet = editable(torch.jit.load(os.path.join(args.model, "unet", "model.pt")).state_dict())
    if isinstance(unet, WithHead):
        raise SystemExit("%s already has an attribute head: give the UNet it was fitted on" % args.model)
    model = WithHead(head, unet).eval()
    common.fresh_dir(args.out)
    for dp, _, fs in os.walk(args.model):
        for f in fs:
            rel = os.path.relpath(os.path.join(dp, f), args.model)
            if rel not in ("model.json", "SHA256SUMS", "understands.json", os.path.join("unet", "model.pt")):
                os.makedirs(os.path.dirname(os.path.join(args.out, rel)), exist_ok=True)
                shutil.copy(os.path.join(dp, f), os.path.join(args.out, rel))
    if not os.path.exists(os.path.join(args.out, "text_encoder", "model.onnx")):
        common.copy_minilm(jar, args.out, "tokenizer/tokenizer.json", "text_encoder/model.onnx")
    # checked on the fitting prompts' states, the head's own inputs
    understands = json.load(open(os.path.join(args.model, "understands.json")))
    understands["words"] = sorted(set(understands["words"]) | {w for v in shape_words.values() for p in v
                                                               for w in p.split()})
    common.write_json(os.path.join(args.out, "understands.json"), understands)
    worst = save_traced(model, os.path.join(args.out, "unet", "model.pt"), lambda b, length, g: states[:b, :length])
    assert worst < 1e-4, worst
    info["torchscript_max_abs_diff"] = worst
    info["from"] = os.path.relpath(os.path.abspath(args.model), os.path.join(HERE, ".."))
    info["from_unet_sha256"] = common.sha256_file(os.path.join(args.model, "unet", "model.pt"))
    common.write_json(os.path.join(args.out, "attribute_head.json"), info)
    common.log("wrote %s (max |torchscript - eager| %.3g)" % (args.out, worst))
    common.model_card(args.out, enabled=not args.no_card)


if __name__ == "__main__":
    main()
