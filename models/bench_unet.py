#!/usr/bin/python3
"""One guided sampling step of an exported diffusers-layout UNet over B jobs (2B rows: the prompt
and the empty prompt), timed on a device: what `./pipeline bench batch` measures, without the JVM.

The Java bench needs DJL's CUDA natives (2.4 GB), which cannot travel to a lent GPU machine with no
network; this one needs only a Python torch there. It runs the same TorchScript file the consumer
serves (`unet/model.pt`), on random latents and random 384-wide hidden states (the graph's cost does
not depend on their values). Sizes are interleaved round by round after warm-up rounds, and the
median per size is reported, as the Java bench does.

    /usr/bin/python3 models/bench_unet.py [--model DIR] [--device auto|cpu|cuda] [--sizes 1,2,4,8,16,32]
        [--rounds 8] [--warmup 2] [--threads N] [--report FILE]

Also checks the device against the CPU: the largest |difference| of one job's step output.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLED = os.path.join(HERE, "..", "gpu-consumer", "src", "main", "resources", "models", "tiny-shapes-diffusion")

ap = argparse.ArgumentParser()
ap.add_argument("--model", default=BUNDLED, help="a model directory with unet/model.pt and unet/config.json")
ap.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
ap.add_argument("--sizes", default="1,2,4,8,16,32", help="jobs per step, comma-separated")
ap.add_argument("--rounds", type=int, default=8)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
ap.add_argument("--tokens", type=int, default=24, help="hidden states per prompt (MiniLM's MAX_LEN here)")
ap.add_argument("--report", default=None, help="write the table as JSON here")
args = ap.parse_args()

import torch  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    sizes = [int(s) for s in args.sizes.split(",")]
    if not sizes or min(sizes) < 1:
        raise SystemExit("--sizes: positive integers, e.g. 1,2,4,8")
    with open(os.path.join(args.model, "unet", "config.json")) as f:
        config = json.load(f)
    channels, side, width = config["in_channels"], config["sample_size"], config["cross_attention_dim"]
    path = os.path.join(args.model, "unet", "model.pt")
    unet = torch.jit.load(path, map_location=device).eval()
    g = torch.Generator().manual_seed(1)
    inputs = {}
    for b in sizes:
        rows = 2 * b  # the prompt's and the empty prompt's row per job (classifier-free guidance)
        inputs[b] = (torch.randn(rows, channels, side, side, generator=g).to(device),
                     torch.full((rows,), 500, dtype=torch.long).to(device),
                     torch.randn(rows, args.tokens, width, generator=g).to(device))

    # numerics: this device against the CPU on one job's two rows
    x, t, c = (v[:2].cpu() for v in inputs[sizes[0]])
    with torch.no_grad():
        here = unet(x.to(device), t.to(device), c.to(device)).cpu()
        cpu = (unet if device.type == "cpu" else torch.jit.load(path, map_location="cpu").eval())(x, t, c)
    diff = float((here - cpu).abs().max())

    times = {b: [] for b in sizes}
    with torch.no_grad():
        for r in range(args.warmup + args.rounds):
            for b in sizes:
                sync(device)
                start = time.perf_counter()
                unet(*inputs[b])
                sync(device)
                if r >= args.warmup:
                    times[b].append((time.perf_counter() - start) * 1000)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (%d threads)" % torch.get_num_threads()
    print("one guided step of %s, %d rounds (median), torch %s on %s; |device - cpu| %.3g"
          % (os.path.relpath(path), args.rounds, torch.__version__, name, diff))
    print("| B | ms / step | row-steps / s | vs B = %d |" % sizes[0])
    print("|---|---|---|---|")
    rows, base = [], None
    for b in sizes:
        ms = statistics.median(times[b])
        rate = b * 1000 / ms
        base = base or rate
        rows.append({"batch": b, "ms_per_step": round(ms, 3), "row_steps_per_s": round(rate, 1),
                     "vs_first": round(rate / base, 2)})
        print("| %d | %.2f | %.1f | %.2fx |" % (b, ms, rate, rate / base))
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"device": name, "torch": torch.__version__, "model": os.path.relpath(path),
                       "rounds": args.rounds, "max_abs_diff_vs_cpu": diff, "sizes": rows}, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
