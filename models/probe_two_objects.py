"""Where does a two-object miss come from? The exported diffusion model on two-object prompts,
sampled as the evaluation samples (DDIM 25 steps, guidance 3, negative prompt ""), with one part of
its conditioning changed at a time, on the same prompts and noise:

  whole     the prompt's MiniLM states as served (the reference)
  segments  each object's part of the prompt (split at " and ", ", ", " next to ", " with ")
            encoded by MiniLM alone and put in place of its tokens' states: an object's words then
            carry nothing of the other object's colour (probe_binding.py measures that they do,
            0.575); [CLS], the separator, [SEP] and the padding keep the whole prompt's states
  isolated  as segments, and every other position takes the empty prompt's state there, so no
            position has seen both objects
  nopool    the pooled sentence condition from the empty prompt (cross-attention unchanged)
  noself    the middle self-attention layer skipped (objects' features cannot meet there)

Score: both named colours present (the judge's colour masks, >= 12 px each), on "a {colour}
{shape} and a {colour} {shape}" prompts, the evaluation's form. Python-side, torch noise.

  /usr/bin/python3 models/probe_two_objects.py [--model DIR] [--n 200] [--variants whole,segments,isolated,nopool,noself]
      [--steps 25] [--euler]
"""
import argparse
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--model", default=os.path.join(HERE, "..", "gpu-consumer", "src", "main", "resources",
                                                 "models", "tiny-shapes-diffusion"))
ap.add_argument("--n", type=int, default=200)
ap.add_argument("--seed", type=int, default=4242)
ap.add_argument("--variants", default="whole,segments,isolated,nopool,noself")
ap.add_argument("--steps", type=int, default=25)
ap.add_argument("--euler", action="store_true", help="no clipping of the predicted image (the euler sampler)")
ap.add_argument("--minilm-jar", default=None)
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from inferpipe_models import common, judge as J, minilm, world  # noqa: E402
from inferpipe_models.unet import ddim_sample, editable, to_uint8, without_pooled_condition  # noqa: E402

SEPARATORS = re.compile(r"( and |, | next to | with )")


def token_count(tok, text):
    return len([p for w in tok.pre_tokenize(tok.normalize(text)) for p in tok.wordpiece(w)])


@torch.no_grad()
def segment_states(enc, tok, texts, others=None):
    """Whole-prompt states with each segment's tokens replaced by that segment encoded alone;
    with `others` ([1, L, D]), every position outside the segments' tokens takes its state."""
    H, _ = minilm.encode_texts(enc, tok, texts, dtype=torch.float32)
    for i, text in enumerate(texts):
        spans, at = [], 0
        for m in SEPARATORS.finditer(text):
            spans.append((at, m.start()))
            at = m.end()
        spans.append((at, len(text)))
        if len(spans) < 2:
            continue
        alone, _ = minilm.encode_texts(enc, tok, [text[a:b] for a, b in spans], dtype=torch.float32)
        if others is not None:
            H[i] = others[0]
        for (a, b), h in zip(spans, alone):
            first = 1 + token_count(tok, text[:a])  # after [CLS]
            last = min(first + token_count(tok, text[a:b]), minilm.MAX_LEN - 1)
            H[i, first:last] = h[1:1 + last - first]
    return H


class Skip(torch.nn.Module):
    def forward(self, x, ctx):
        return x


def main():
    common.set_threads(1)
    enc, tok = minilm.load(args.minilm_jar)
    state = torch.jit.load(os.path.join(args.model, "unet", "model.pt")).state_dict()
    rng = random.Random(args.seed)
    items = []
    while len(items) < args.n:
        a, b = world.sample_objects(rng, 2, p_size=0.0, p_pos=0.0, p_colour_only=0.0, p_shape_only=0.0)
        items.append(("a %s %s and a %s %s" % (a["colour"], a["shape"], b["colour"], b["shape"]), (a, b)))
    texts = [t for t, _ in items]
    h_neg, _ = minilm.encode_texts(enc, tok, [""], dtype=torch.float32)
    results = {}
    for variant in args.variants.split(","):
        unet = editable(state)
        if variant == "nopool":
            without_pooled_condition(unet, h_neg)
        elif variant == "noself":
            getattr(unet, "unet", unet).ms = Skip()  # behind an attribute head, the UNet's own
        elif variant not in ("whole", "segments", "isolated"):
            raise SystemExit("unknown variant " + variant)
        if variant in ("segments", "isolated"):
            H = segment_states(enc, tok, texts, h_neg if variant == "isolated" else None)
        else:
            H, _ = minilm.encode_texts(enc, tok, texts, dtype=torch.float32)
        ok = []
        with torch.no_grad():
            for i in range(0, len(texts), 40):
                cond = H[i:i + 40]
                x = ddim_sample(unet, cond, h_neg.expand(len(cond), -1, -1), steps=args.steps, guidance=3.0,
                                seed=99 + i, clip=not args.euler)
                for im, (_, objs) in zip(to_uint8(x), items[i:i + 40]):
                    masks = J.colour_masks(im)
                    ok.append(all(J.present(masks[o["colour"]], 12) for o in objs))
        results[variant] = float(np.mean(ok))
        se = (results[variant] * (1 - results[variant]) / len(ok)) ** 0.5
        print("%-9s both colours present %.4f (n=%d, standard error %.3f)" % (
            variant, results[variant], len(ok), se), flush=True)
    return results


if __name__ == "__main__":
    main()
