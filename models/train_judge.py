#!/usr/bin/python3
"""Trains the judge (colour x shape of one object on the dark txt2img background, 32x32) on PIL
renders and exports it to ONNX.

    /usr/bin/python3 models/train_judge.py --steps 1500 --batch 64 --seed 1234 --out models/out/judge

Writes DIR/: model.onnx (input `image` float32 [B,3,32,32] in [-1,1], output `logits` [B,12],
class = colour_index*3 + shape_index, colours red, green, blue, yellow; shapes circle, square,
triangle), classes.json (the classes, input convention, held-out accuracy), training.json,
SHA256SUMS.

The renders vary what another renderer may do differently: supersampling 1x (aliased) to 8x,
integer-rounded geometry (as Java2D's fillOval/fillRect/fillPolygon take ints), drawing at 32, 64
or 96 px and resizing, extent 0.18-0.72, colour jitter +-20, slight background jitter, noise and
blur (generated images are not clean renders).
"""
import argparse
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--steps", type=int, default=1500)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--seed", type=int, default=1234)
ap.add_argument("--out", default="/tmp/inferpipe-models/judge")
ap.add_argument("--train-images", type=int, default=24000)
ap.add_argument("--eval-images", type=int, default=2000)
ap.add_argument("--threads", type=int, default=1, help="torch and OpenBLAS threads (1 measured faster than 2 here: 0.48 vs 0.65 s/step)")
ap.add_argument("--no-card", action="store_true")
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from inferpipe_models import common, render, world  # noqa: E402
from inferpipe_models.judge import Judge, OnnxJudge  # noqa: E402


def one(rng, style="mixed"):
    colour, shape = rng.choice(world.COLOURS), rng.choice(world.SHAPES)
    if style == "java":          # as a Java2D renderer at 32 px: integer box, anti-aliased
        native, ss, integer, resample = 32, 4, True, None
    elif style == "clean":
        native, ss, integer, resample = 32, 4, False, None
    else:
        native = rng.choice([32, 32, 64, 96])
        ss = rng.choice([1, 2, 4, 8])
        integer = rng.random() < 0.4
        resample = rng.choice([Image.BILINEAR, Image.BOX, Image.LANCZOS, Image.NEAREST])
    ext = rng.uniform(0.18, 0.72)
    s = ext * native
    x = rng.uniform(0, native - s)
    y = rng.uniform(0, native - s)
    if integer:
        x, y, s = round(x), round(y), max(2, round(s))
        s = min(s, native - x)
        s = min(s, native - y)
    bg = world.BACKGROUND if style != "mixed" else tuple(int(v + rng.randint(-6, 6)) for v in world.BACKGROUND)
    img = render.render([{"colour": colour, "shape": shape, "x": x, "y": y, "s": s}], native, background=bg, ss=ss,
                        rng=rng, jitter=20 if style == "mixed" else 15)
    if native != 32:
        img = np.asarray(Image.fromarray(img).resize((32, 32), resample))
    if style == "mixed":
        if rng.random() < 0.2:
            img = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9))))
        if rng.random() < 0.4:
            g = np.random.default_rng(rng.randrange(1 << 30))
            img = np.clip(img.astype(np.float32) + g.normal(0, rng.uniform(2, 14), img.shape), 0, 255).astype(np.uint8)
    return img, world.judge_class(colour, shape)


def dataset(n, seed, style):
    rng = random.Random(seed)
    xs, ys = zip(*[one(rng, style) for _ in range(n)])
    return np.stack(xs), np.array(ys, dtype=np.int64)


def to_t(x):
    return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def main():
    common.set_threads(args.threads)
    common.seed_all(args.seed)
    wall = common.Timer()
    X, Y = dataset(args.train_images, args.seed, "mixed")
    common.log("rendered %d training images in %.1f s" % (len(X), wall()))
    Xt, Yt = to_t(X), torch.from_numpy(Y)
    net = Judge()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(args.seed)
    curve, recent = [], []
    t_train = common.Timer()
    for step in range(args.steps):
        lr = 2e-3 * min(1.0, (step + 1) / 100) * 0.5 * (1 + np.cos(np.pi * step / args.steps))
        for pg in opt.param_groups:
            pg["lr"] = lr
        idx = torch.randint(0, len(Xt), (args.batch,), generator=g)
        xb, yb = Xt[idx], Yt[idx]
        if step % 2 == 1:  # flips keep colour and shape (triangles only left-right)
            xb = torch.flip(xb, dims=[3])
        loss = F.cross_entropy(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        recent.append(float(loss))
        if (step + 1) % 100 == 0 or step + 1 == args.steps:
            curve.append([step + 1, round(float(np.mean(recent)), 5)])
            common.log("step %4d/%d  loss %.4f  %.0f s" % (step + 1, args.steps, np.mean(recent), wall()))
            recent = []
    train_s = t_train()
    net.eval()
    acc = {}
    for style, seed in (("mixed", args.seed + 101), ("clean", args.seed + 102), ("java", args.seed + 103)):
        Xe, Ye = dataset(args.eval_images, seed, style)
        with torch.no_grad():
            pred = net(to_t(Xe)).argmax(1).numpy()
        acc[style] = float((pred == Ye).mean())
    common.log("held-out accuracy (%d renders each, unseen seeds): %s" % (args.eval_images, acc))

    common.fresh_dir(args.out)
    path = os.path.join(args.out, "model.onnx")
    ex = torch.zeros(2, 3, 32, 32)
    with torch.no_grad():
        torch.onnx.export(net, (ex,), path, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=common.OPSET,
                          do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    Xc, Yc = dataset(200, args.seed + 104, "java")
    oj = OnnxJudge(path)
    lo = oj.logits(Xc)
    with torch.no_grad():
        lt = net(to_t(Xc)).numpy()
    diff = float(np.abs(lo - lt).max())
    common.log("model.onnx: max |onnx(numpy) - torch| = %.3g on 200 images; onnx accuracy %.4f" % (
        diff, float((lo.argmax(1) == Yc).mean())))
    assert diff < 1e-3
    common.write_json(os.path.join(args.out, "classes.json"), {
        "classes": world.class_names(), "class_index": "colour_index * 3 + shape_index",
        "colours": world.COLOURS, "shapes": world.SHAPES,
        "colour_rgb": {c: list(world.RGB[c]) for c in world.COLOURS}, "background": list(world.BACKGROUND),
        "input": {"name": "image", "dtype": "float32", "shape": ["batch", 3, 32, 32],
                  "value": "RGB byte / 127.5 - 1 (channel 0 = R), one object on the dark background"},
        "output": {"name": "logits", "shape": ["batch", 12]},
        "held_out_accuracy": acc})
    common.write_json(os.path.join(args.out, "training.json"), {
        "command": "train_judge.py " + " ".join(sys.argv[1:]), "seed": args.seed, "steps": args.steps,
        "batch": args.batch, "parameters": sum(p.numel() for p in net.parameters()),
        "train_seconds": round(train_s, 1), "wall_seconds": round(wall(), 1), "final_loss": curve[-1][1],
        "loss_curve": curve, "held_out_accuracy": acc, "onnx_max_abs_diff": diff})
    common.log("wrote %s in %.1f s" % (args.out, wall()))
    # the judge is an evaluation tool, not a servable layout (no txt2img/vqa card applies): checksums only
    sums = common.write_checksums(args.out)
    common.log("wrote %s/SHA256SUMS (%d files); no model card: the judge is not a servable model layout" % (
        args.out, len(sums)))


if __name__ == "__main__":
    main()
