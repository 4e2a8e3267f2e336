"""Does the diffusion model draw a held-out colour word's colour? One-object prompts "a {word}
{shape}" for every held-out colour word (trained shape words, --per-word prompts each), sampled as
the evaluation samples them (DDIM 25 steps, guidance 3, negative prompt ""); the drawn colour is
the one with the largest colour mask. Set beside probe_text_encoder.py's figures by word, it says
whether a miss is the encoder's (no probe reads the word as its colour) or the UNet's.

--splice also samples each prompt's trained counterpart ("a navy circle" -> "a blue circle") with
its colour word's state replaced by the held-out word's own (the mean of its tokens' states in its
own prompt): the held-out word's state in a context no held-out word has touched. A control
splices trained colours into each other's prompts ("blue" into "a red circle") and counts which
colour is drawn, the colour word's or the context's.

  /usr/bin/python3 models/probe_colour_words.py [--model DIR ...] [--per-word 24] [--nopool] [--splice]
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
ap.add_argument("--splice", action="store_true", help="also the held-out word's state in its trained counterpart's prompt")
ap.add_argument("--minilm-jar", default=None)
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from inferpipe_models import common, judge as J, minilm, world  # noqa: E402
from inferpipe_models.unet import ddim_sample, editable, to_uint8, without_pooled_condition  # noqa: E402

BUNDLED = os.path.join(HERE, "..", "gpu-consumer", "src", "main", "resources", "models", "tiny-shapes-diffusion")


def drawn(unet, states, h_neg):
    """The colour with the largest mask in each image sampled from `states` ([N, L, D])."""
    out = []
    with torch.no_grad():
        for i in range(0, len(states), 48):
            cond = states[i:i + 48]
            x = ddim_sample(unet, cond, h_neg.expand(len(cond), -1, -1), steps=25, guidance=3.0,
                            seed=99 + i, clip=True)
            for im in to_uint8(x):
                areas = {c: int(np.sum(m)) for c, m in J.colour_masks(im).items()}
                out.append(max(areas, key=areas.get))
    return out


def spliced(enc, tok, pairs):
    """For each (prompt, its word, base prompt, its word): the base prompt's states with its word's
    first position holding the mean of `word`'s states in `prompt` (the rest of the base's tokens
    keep their places; a multi-token word becomes one position)."""
    own, _ = minilm.encode_texts(enc, tok, [p for p, _, _, _ in pairs], dtype=torch.float32)
    base, _ = minilm.encode_texts(enc, tok, [b for _, _, b, _ in pairs], dtype=torch.float32)
    for i, (p, w, b, bw) in enumerate(pairs):
        at = minilm.word_positions(tok, tok.encode(p, minilm.MAX_LEN)["input_ids"], w)[0]
        into = minilm.word_positions(tok, tok.encode(b, minilm.MAX_LEN)["input_ids"], bw)[0]
        base[i, into[0]] = own[i, at].mean(0)
    return base


def report(label, items, colours):
    by_word = {}
    for (_, colour, word), got in zip(items, colours):
        by_word.setdefault(word, []).append(got == colour)
    right = np.mean([r for v in by_word.values() for r in v])
    print("%s: colour right %.3f (n=%d)  %s" % (
        label, right, len(items), {w: round(float(np.mean(v)), 2) for w, v in by_word.items()}), flush=True)


def main():
    common.set_threads(1)
    enc, tok = minilm.load(args.minilm_jar)
    items = [("a %s %s" % (w, world.SHAPES[k % 3]), colour, w)
             for colour, words in world.COLOUR_WORDS["held_out"].items()
             for w in words for k in range(args.per_word)]
    h_neg, _ = minilm.encode_texts(enc, tok, [""], dtype=torch.float32)
    H, _ = minilm.encode_texts(enc, tok, [t for t, _, _ in items], dtype=torch.float32)
    if args.splice:
        S = spliced(enc, tok, [(t, w, t.replace(" %s " % w, " %s " % c, 1), c) for t, c, w in items])
        # the control: trained colour b's state in trained colour a's prompt, every ordered pair
        control = [(a, b, world.SHAPES[k % 3]) for a in world.COLOURS for b in world.COLOURS if a != b
                   for k in range(max(1, args.per_word * 2 // 3))]
        S_control = spliced(enc, tok, [("a %s %s" % (b, s), b, "a %s %s" % (a, s), a) for a, b, s in control])
    for model in args.model or [BUNDLED]:
        state = torch.jit.load(os.path.join(model, "unet", "model.pt")).state_dict()
        for nopool in ([False, True] if args.nopool else [False]):
            unet = editable(state)
            if nopool:
                without_pooled_condition(unet, h_neg)
            report(model + (" (no pooled condition)" if nopool else ""), items, drawn(unet, H, h_neg))
            if args.splice and not nopool:
                report(model + " (spliced into the trained prompt)", items, drawn(unet, S, h_neg))
                got = drawn(unet, S_control, h_neg)
                word = sum(g == b for g, (_, b, _) in zip(got, control))
                context = sum(g == a for g, (a, _, _) in zip(got, control))
                print("%s (control, a trained colour spliced into another's prompt): the word's colour "
                      "%d, the context's %d, of %d" % (model, word, context, len(control)), flush=True)


if __name__ == "__main__":
    main()
