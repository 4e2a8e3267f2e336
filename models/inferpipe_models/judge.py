"""The judge: a small CNN naming colour x shape of one object on the dark background (32x32),
plus the colour-mask measurements the Python evaluations use for two objects and positions.

Class index = colour_index * 3 + shape_index (world.COLOURS, world.SHAPES orders).
Input `image` float32 [B,3,32,32] in [-1,1] (byte / 127.5 - 1), output `logits` [B,12].
Only ops the project's numpy ONNX interpreter runs (Conv, Relu, ReduceMean, Gemm) so the exported
graph is checked here without onnxruntime.
"""
import importlib.util
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from . import world
from .common import REPO


class Judge(nn.Module):
    def __init__(self, w=32):
        super().__init__()
        self.c1 = nn.Conv2d(3, w, 3, padding=1)
        self.c2 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)      # 16
        self.c3 = nn.Conv2d(2 * w, 2 * w, 3, padding=1)
        self.c4 = nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1)  # 8
        self.c5 = nn.Conv2d(4 * w, 4 * w, 3, padding=1)
        self.c6 = nn.Conv2d(4 * w, 4 * w, 3, stride=2, padding=1)  # 4
        self.fc = nn.Linear(4 * w, 12)

    def forward(self, image):
        x = F.relu(self.c1(image))
        x = F.relu(self.c2(x))
        x = F.relu(self.c3(x))
        x = F.relu(self.c4(x))
        x = F.relu(self.c5(x))
        x = F.relu(self.c6(x))
        return self.fc(x.mean(dim=(2, 3)))


def onnx_numpy():
    """The project's numpy ONNX interpreter (testdata/models/make_fixtures.py), imported, not copied."""
    path = os.path.join(REPO, "testdata", "models", "make_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    # its module level pins torch to 1 thread (set_num_interop_threads aborts once work has run):
    # keep this process's settings
    threads, saved = torch.get_num_threads(), (torch.set_num_threads, torch.set_num_interop_threads)
    torch.set_num_threads = torch.set_num_interop_threads = lambda n: None
    try:
        spec.loader.exec_module(mod)
    finally:
        torch.set_num_threads, torch.set_num_interop_threads = saved
        torch.set_num_threads(threads)
    return mod.OnnxNumpy


class OnnxJudge:
    """Runs judge/model.onnx with the numpy interpreter."""

    def __init__(self, path):
        import onnx
        self.interp = onnx_numpy()(onnx.load(path))

    def logits(self, images_uint8):
        x = images_uint8.astype(np.float32).transpose(0, 3, 1, 2) / np.float32(127.5) - np.float32(1.0)
        outs = [self.interp.run({"image": x[i:i + 64]})[0] for i in range(0, len(x), 64)]
        return np.concatenate(outs)

    def classify(self, images_uint8):
        return self.logits(images_uint8).argmax(1)


# ----------------------------------------------------------------------------------------------
# colour masks
# ----------------------------------------------------------------------------------------------

def colour_masks(img, tol=70.0):
    """uint8 [H,W,3] -> {colour: bool mask} of pixels nearer that colour than tol (RGB L2) and
    nearer it than any other colour and than the background."""
    x = img.astype(np.float32)
    refs = np.array([world.RGB[c] for c in world.COLOURS] + [world.BACKGROUND], dtype=np.float32)
    d = np.sqrt(((x[:, :, None, :] - refs[None, None]) ** 2).sum(-1))  # [H,W,5]
    near = d.argmin(-1)
    return {c: (near == i) & (d[:, :, i] < tol) for i, c in enumerate(world.COLOURS)}


def present(mask, min_pixels):
    return int(mask.sum()) >= min_pixels


def centroid(mask):
    ys, xs = np.nonzero(mask)
    return (float(xs.mean()) + 0.5, float(ys.mean()) + 0.5) if len(xs) else (None, None)


def isolate(img, mask, out=32, extent=0.45):
    """The object under `mask`, cut out onto the dark background, rescaled to `extent` of a 32x32
    image at its centre: what the single-object judge can name."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.tile(np.array(world.BACKGROUND, np.uint8), (out, out, 1))
    m = mask.copy()
    # include anti-aliased edge pixels next to the mask
    pad = np.pad(m, 1)
    dil = pad[1:-1, 1:-1] | pad[:-2, 1:-1] | pad[2:, 1:-1] | pad[1:-1, :-2] | pad[1:-1, 2:]
    cut = np.where(dil[..., None], img, np.array(world.BACKGROUND, np.uint8)).astype(np.uint8)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = max(y1 - y0, x1 - x0)
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    half = side / 2 + 1
    canvas = Image.new("RGB", (img.shape[1] * 4, img.shape[0] * 4), world.BACKGROUND)
    canvas.paste(Image.fromarray(cut).resize((img.shape[1] * 4, img.shape[0] * 4), Image.NEAREST))
    box = tuple(int(round(v * 4)) for v in (cx - half, cy - half, cx + half, cy + half))
    crop = canvas.crop(box)
    target = int(round(out * extent / (side / (2 * half))))
    crop = crop.resize((target, target), Image.BILINEAR)
    res = Image.new("RGB", (out, out), world.BACKGROUND)
    res.paste(crop, ((out - target) // 2, (out - target) // 2))
    return np.asarray(res)
