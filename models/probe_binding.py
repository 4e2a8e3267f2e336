"""Which words of a two-object prompt tell which colour goes with which object? Linear probes on
MiniLM's hidden states.

For every object of two-object train prompts (both shapes named), a logistic-regression probe (the
one probe_text_encoder.py uses) reads a colour from a word's state:
  colour word -> its object's colour        what grounding the colour words relies on
  shape word  -> its object's colour        what the object's own phrase says about its colour
  shape word  -> the other object's colour  how much of the other colour that phrase carries
Fitted on three quarters of the prompts, scored on the rest.

  /usr/bin/python3 models/probe_binding.py [--prompts 4000] [--seed 99] [--minilm-jar JAR]
"""
import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--prompts", type=int, default=4000, help="train prompts drawn (half have two objects)")
ap.add_argument("--seed", type=int, default=99)
ap.add_argument("--minilm-jar", default=None)
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402

from inferpipe_models import common, minilm, world  # noqa: E402


def load(name, path):
    """A sibling command's functions, without running it (its argument parser sees no flags)."""
    argv, sys.argv = sys.argv, [name]
    try:
        spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.argv = argv


def shape_positions(tok, text, obj, span):
    """The token positions of the object's shape word inside its phrase `span`, or None."""
    ids = tok.encode(text, minilm.MAX_LEN)["input_ids"]
    for w in world.SHAPE_WORDS["train"][obj["shape"]]:
        found = minilm.word_positions(tok, ids, w, within=span)
        if found:
            return found[0]
    return None


def main():
    common.set_threads(1)
    train = load("train_diffusion", "train_diffusion.py")
    probe = load("probe_text_encoder", "probe_text_encoder.py")
    enc, tok = minilm.load(args.minilm_jar or common.DEFAULT_JAR)
    prompts = [p for p in train.make_prompts(args.prompts, args.seed, 0.0, 0.5)
               if len(p[1]) == 2 and all(o["shape"] for o in p[1])]
    hidden, _ = minilm.encode_texts(enc, tok, [p[0] for p in prompts], dtype=torch.float32)
    rows = {"colour word -> its object's colour": [], "shape word -> its object's colour": [],
            "shape word -> the other object's colour": []}
    for (text, objs, phrases), h in zip(prompts, hidden):
        spans = train.phrase_tokens(tok, text, phrases)
        colours = dict(train.colour_tokens(tok, text, objs))
        for k in (0, 1):
            shape = shape_positions(tok, text, objs[k], spans[k]) if k in colours else None
            if not shape:
                continue
            own, other = (world.COLOURS.index(objs[j]["colour"]) for j in (k, 1 - k))
            rows["colour word -> its object's colour"].append((h[colours[k]].mean(0), own))
            rows["shape word -> its object's colour"].append((h[shape].mean(0), own))
            rows["shape word -> the other object's colour"].append((h[shape].mean(0), other))
    for name, data in rows.items():
        x = torch.stack([d[0] for d in data])
        y = torch.tensor([d[1] for d in data])
        n = len(y) * 3 // 4
        _, pred = probe.probe(x[:n], y[:n], x[n:], len(world.COLOURS))
        common.log("%-42s %d objects, held-out prompts %.3f" % (
            name, len(y), float((pred == y[n:]).float().mean())))


if __name__ == "__main__":
    main()
