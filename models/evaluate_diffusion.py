#!/usr/bin/python3
"""Quick Python-side evaluation of an exported tiny-shapes-diffusion directory (before the Java one).

    /usr/bin/python3 models/evaluate_diffusion.py --model models/out/tiny-shapes-diffusion --judge models/judge

Runs the exported graphs as Java will: text_encoder = the directory's MiniLM ONNX (rebuilt as a torch
module, max |diff| to the reference 2.4e-6), prompts padded to tokenizer_config's model_max_length,
negative prompt "", unet/model.pt (TorchScript) through DDIM (eta 0, clip_sample, linspace spacing,
set_alpha_to_one), 25 steps, guidance 3. Noise comes from torch, not Java's generator, so the images
are not the ones Java makes for the same seeds; the figures are estimates of the Java ones.

Measures (each on --n samples; judge = judge/model.onnx run by the numpy ONNX interpreter):
  template     single-object train-language prompts "a {colour} {shape}" and the like: judge class right
  paraphrase   single-object prompts in the HELD-OUT language (synonyms, phrasings never trained on)
  two_object   two-object prompts: both colours present (colour masks, >= 12 px each); and, extra,
               both shapes right (each colour's mask isolated and judged)
  position     single-object prompts with a position word: the colour mask's centroid in the named
               half (centre: middle third both ways)
  latency      one job (batch 1: text encoder on prompt + negative, 25 unet calls on batch 2), this CPU
Writes DIR/eval/*.png grids and prints a JSON summary (also saved to --report).
"""
import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--model", default="/tmp/inferpipe-models/tiny-shapes-diffusion")
ap.add_argument("--judge", default="/tmp/inferpipe-models/judge")
ap.add_argument("--n", type=int, default=100)
ap.add_argument("--seed", type=int, default=777)
ap.add_argument("--steps", type=int, default=25)
ap.add_argument("--guidance", type=float, default=3.0)
ap.add_argument("--threads", type=int, default=1, help="torch and OpenBLAS threads (1 measured faster than 2 here: 0.48 vs 0.65 s/step)")
ap.add_argument("--report", default=None, help="write the JSON summary here (default /tmp/eval-diffusion.json)")
ap.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
ap.add_argument("--grids", default="/tmp/inferpipe-eval", help="write sample grids (PNG) here")
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from inferpipe_models import common, judge as J, minilm, world  # noqa: E402
from inferpipe_models.unet import ddim_sample, to_uint8  # noqa: E402

MIN_PX = 12


def prompts_template(rng, n):
    out = []
    tmpl = ["a {c} {s}", "{c} {s}", "a picture of a {c} {s}", "an image of a {c} {s}", "draw a {c} {s}"]
    combos = [(c, s) for c in world.COLOURS for s in world.SHAPES]
    for i in range(n):
        c, s = combos[i % len(combos)]
        t = rng.choice(tmpl).format(c=c, s=s).replace("a a", "an a")
        out.append((t, [{"colour": c, "shape": s}]))
    return out


def prompts_heldout(rng, n):
    out = []
    combos = [(c, s) for c in world.COLOURS for s in world.SHAPES]
    for i in range(n):
        c, s = combos[i % len(combos)]
        o = {"colour": c, "shape": s, "size": None, "pos": None}
        out.append((world.prompt_text(rng, [o], "held_out"), [o]))
    return out


def prompts_two(rng, n):
    out = []
    while len(out) < n:
        objs = world.sample_objects(rng, 2, p_size=0.0, p_pos=0.0, p_colour_only=0.0, p_shape_only=0.0)
        out.append((world.prompt_text(rng, objs, "train"), objs))
    return out


def prompts_position(rng, n):
    out = []
    for i in range(n):
        pos = world.POSITIONS[i % len(world.POSITIONS)]
        o = {"colour": rng.choice(world.COLOURS), "shape": rng.choice(world.SHAPES), "size": None, "pos": pos}
        out.append((world.prompt_text(rng, [o], "train"), [o]))
    return out


def generate(unet, enc, tok, texts, seed, batch=50):
    imgs = []
    h_neg, _ = minilm.encode_texts(enc, tok, [""], dtype=torch.float32)
    for i in range(0, len(texts), batch):
        chunk = texts[i:i + batch]
        h, _ = minilm.encode_texts(enc, tok, chunk, dtype=torch.float32)
        x = ddim_sample(unet, h, h_neg.expand(len(chunk), -1, -1), steps=args.steps, guidance=args.guidance,
                        seed=seed + i)
        imgs.append(to_uint8(x))
    return np.concatenate(imgs)


def grid(imgs, path, cols=10, scale=3):
    n = len(imgs)
    rows = (n + cols - 1) // cols
    g = np.zeros((rows * 34, cols * 34, 3), np.uint8) + 255
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        g[r * 34 + 1:r * 34 + 33, c * 34 + 1:c * 34 + 33] = im
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(g).resize((g.shape[1] * scale, g.shape[0] * scale), Image.NEAREST).save(path)


def main():
    common.set_threads(args.threads)
    rng = random.Random(args.seed)
    enc, tok = minilm.load_files(os.path.join(args.model, "text_encoder", "model.onnx"),
                                 os.path.join(args.model, "tokenizer", "tokenizer.json"))
    cfg = json.load(open(os.path.join(args.model, "tokenizer", "tokenizer_config.json")))
    assert cfg["model_max_length"] == minilm.MAX_LEN
    unet = torch.jit.load(os.path.join(args.model, "unet", "model.pt")).eval()
    jpath = os.path.join(args.judge, "model.onnx")
    judge = J.OnnxJudge(jpath) if os.path.exists(jpath) else None
    if judge is None:
        print("no judge at %s: shape measures skipped" % jpath)
    res = {"model": args.model, "steps": args.steps, "guidance": args.guidance, "n": args.n}
    t0 = time.time()

    def single_measure(name, items):
        texts = [t for t, _ in items]
        imgs = generate(unet, enc, tok, texts, args.seed + {"template": 1, "paraphrase": 2}[name] * 1000)
        grid(imgs[:50], os.path.join(args.grids, name + ".png"))
        colour_ok, cs_ok = [], []
        for im, (_, objs) in zip(imgs, items):
            masks = J.colour_masks(im)
            areas = {c: int(m.sum()) for c, m in masks.items()}
            colour_ok.append(max(areas, key=areas.get) == objs[0]["colour"] and areas[objs[0]["colour"]] >= MIN_PX)
        if judge is not None:
            pred = judge.classify(imgs)
            want = np.array([world.judge_class(o[0]["colour"], o[0]["shape"]) for _, o in items])
            cs_ok = list(pred == want)
            wrong = [(items[i][0], world.class_names()[pred[i]]) for i in range(len(items)) if pred[i] != want[i]]
        else:
            wrong = []
        r = {"colour": float(np.mean(colour_ok))}
        if cs_ok:
            r["colour_and_shape"] = float(np.mean(cs_ok))
        r["examples_wrong"] = wrong[:8]
        return r, imgs

    res["template"], _ = single_measure("template", prompts_template(rng, args.n))
    print("template   %s" % json.dumps(res["template"]), flush=True)
    res["paraphrase"], _ = single_measure("paraphrase", prompts_heldout(rng, args.n))
    print("paraphrase %s" % json.dumps(res["paraphrase"]), flush=True)

    items = prompts_two(rng, args.n)
    imgs = generate(unet, enc, tok, [t for t, _ in items], args.seed + 5)
    grid(imgs[:50], os.path.join(args.grids, "two_object.png"))
    both, shapes_ok = [], []
    for im, (_, objs) in zip(imgs, items):
        masks = J.colour_masks(im)
        ok = all(J.present(masks[o["colour"]], MIN_PX) for o in objs)
        both.append(ok)
        if judge is not None:
            crops = np.stack([J.isolate(im, masks[o["colour"]]) for o in objs])
            pred = judge.classify(crops)
            shapes_ok.append(ok and all(world.SHAPES[p % 3] == o["shape"] for p, o in zip(pred, objs)))
    res["two_object"] = {"both_colours_present": float(np.mean(both))}
    if shapes_ok:
        res["two_object"]["both_colours_and_shapes"] = float(np.mean(shapes_ok))
    print("two_object %s" % json.dumps(res["two_object"]), flush=True)

    items = prompts_position(rng, args.n)
    imgs = generate(unet, enc, tok, [t for t, _ in items], args.seed + 6)
    grid(imgs[:50], os.path.join(args.grids, "position.png"))
    per = {p: [] for p in world.POSITIONS}
    for im, (_, objs) in zip(imgs, items):
        m = J.colour_masks(im)[objs[0]["colour"]]
        cx, cy = J.centroid(m)
        ok = cx is not None and m.sum() >= MIN_PX and world.in_position(cx, cy, 32, 32, objs[0]["pos"])
        per[objs[0]["pos"]].append(ok)
    res["position"] = {"in_named_half": float(np.mean([v for vs in per.values() for v in vs])),
                       "by_word": {p: float(np.mean(v)) for p, v in per.items()}}
    print("position   %s" % json.dumps(res["position"]), flush=True)
    res["eval_seconds"] = round(time.time() - t0, 1)

    # latency of one job as the Java pipeline runs it (batch 1, guidance on [x; x]), this CPU, Python
    lat = {}
    for th in (() if args.no_latency else (1, 2)):
        torch.set_num_threads(th)
        ts_enc, ts_job = [], []
        for rep in range(6):
            a = time.time()
            ids, mask, tt = minilm.tokenize(tok, ["a red circle on the left", ""])
            with torch.no_grad():
                h = enc(ids, mask, tt)
            b = time.time()
            ddim_sample(unet, h[:1], h[1:], steps=25, guidance=3.0, seed=rep)
            c = time.time()
            if rep >= 1:
                ts_enc.append(b - a)
                ts_job.append(c - a)
        lat["threads_%d" % th] = {"text_encoder_ms": round(1000 * float(np.median(ts_enc)), 1),
                                  "job_ms": round(1000 * float(np.median(ts_job)), 1),
                                  "unet_step_ms": round(1000 * (float(np.median(ts_job)) - float(np.median(ts_enc))) / 25, 2)}
    res["latency_python"] = lat
    print("latency    %s" % json.dumps(lat), flush=True)
    path = args.report or "/tmp/eval-diffusion.json"
    with open(path, "w") as f:
        json.dump(res, f, indent=2)
    print("report: %s; grids in %s" % (path, args.grids))


if __name__ == "__main__":
    main()
