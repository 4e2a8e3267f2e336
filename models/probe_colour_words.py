"""Does the diffusion model draw a held-out colour word's colour? One-object prompts "a {word}
{shape}" for every held-out colour word (trained shape words, --per-word prompts each), sampled as
the evaluation samples them (DDIM 25 steps, guidance 3, negative prompt ""); the drawn colour is
the one with the largest colour mask. Set beside probe_text_encoder.py's figures by word, it says
whether a miss is the encoder's (no probe reads the word as its colour) or the UNet's.

  /usr/bin/python3 models/probe_colour_words.py [--model DIR ...] [--per-word 24] [--nopool]
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--model", action="append", default=None, help="a model directory (repeatable)")
ap.add_argument("--per-word", type=int, default=24)
ap.add_argument("--nopool", action="store_true", help="also with the pooled condition from the empty prompt")
ap.add_argument("--minilm-jar", default=None)
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from inferpipe_models import common, judge as J, minilm, world  # noqa: E402
from inferpipe_models.unet import UNet, ddim_sample, to_uint8, without_pooled_condition  # noqa: E402

BUNDLED = os.path.join(HERE, "..", "gpu-consumer", "src", "main", "resources", "models", "tiny-shapes-diffusion")


def main():
    common.set_threads(1)
    enc, tok = minilm.load(args.minilm_jar)
    items = [("a %s %s" % (w, world.SHAPES[k % 3]), colour, w)
             for colour, words in world.COLOUR_WORDS["held_out"].items()
             for w in words for k in range(args.per_word)]
    texts = [t for t, _, _ in items]
    h_neg, _ = minilm.encode_texts(enc, tok, [""], dtype=torch.float32)
    H, _ = minilm.encode_texts(enc, tok, texts, dtype=torch.float32)
    for model in args.model or [BUNDLED]:
        state = torch.jit.load(os.path.join(model, "unet", "model.pt")).state_dict()
        for nopool in ([False, True] if args.nopool else [False]):
            unet = UNet(ch=(32, 64, 128), mid_self=True, mid2=False, up_attn8=True,
                        attn32=any(k.startswith("ua0.") for k in state))
            unet.load_state_dict(state)
            unet.eval()
            if nopool:
                without_pooled_condition(unet, h_neg)
            by_word = {}
            with torch.no_grad():
                for i in range(0, len(texts), 48):
                    cond = H[i:i + 48]
                    x = ddim_sample(unet, cond, h_neg.expand(len(cond), -1, -1), steps=25, guidance=3.0,
                                    seed=99 + i, clip=True)
                    for im, (_, colour, word) in zip(to_uint8(x), items[i:i + 48]):
                        areas = {c: int(np.sum(m)) for c, m in J.colour_masks(im).items()}
                        by_word.setdefault(word, []).append(max(areas, key=areas.get) == colour)
            right = np.mean([r for v in by_word.values() for r in v])
            print("%s%s: colour right %.3f (n=%d)  %s" % (
                model, " (no pooled condition)" if nopool else "",
                right, len(items), {w: round(float(np.mean(v)), 2) for w, v in by_word.items()}), flush=True)


if __name__ == "__main__":
    main()
