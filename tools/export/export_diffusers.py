#!/usr/bin/env python3
"""Exports a diffusers StableDiffusionPipeline into inferpipe's txt2img layout (layout A).

    python tools/export/export_diffusers.py SOURCE OUT_DIR --format onnx|torchscript

SOURCE is a local pipeline directory or a Hugging Face hub id (e.g. a Stable Diffusion 1.x/2.x
checkpoint). OUT_DIR receives:

    model_index.json                   the pipeline's own (pipe.save_config)
    scheduler/scheduler_config.json    a DDIMScheduler config from the pipeline's (--scheduler keep: verbatim)
    tokenizer/tokenizer.json           the fast (Rust) tokenizer, CLIPTokenizerFast.save_pretrained
    tokenizer/tokenizer_config.json    model_max_length, pad_token, ...
    text_encoder/config.json + model.{pt|onnx}   input_ids int64 [B,L] -> last_hidden_state float32 [B,L,D]
    unet/config.json + model.{pt|onnx}           sample [B,C,h,w], timestep int64 [B],
                                                 encoder_hidden_states [B,L,D] -> out_sample [B,C,h,w]
    vae_decoder/config.json + model.{pt|onnx}    latent_sample [B,C,h,w] -> sample [B,3,8h,8w]

ONNX graphs over 2 GB (the fp32 SD UNet) keep their weights in one `model.onnx_data` file next
to `model.onnx`. Then run `./pipeline model card OUT_DIR` (writes model.json) and
`./pipeline model check OUT_DIR`.

Needs: pip install torch diffusers transformers onnx   (onnxruntime optional: parity check)
Not run in the inferpipe repository (no model hub there); testdata/models/make_fixtures.py
builds the same layout with tiny models and was run.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graphs import write_graph, write_json  # noqa: E402  (tools/export/graphs.py)


# --------------------------------------------------------------------------------------------
# the three graphs, each returning exactly one tensor
# --------------------------------------------------------------------------------------------

class TextEncoder(nn.Module):
    """CLIPTextModel -> last_hidden_state (what StableDiffusionPipeline feeds the UNet, clip_skip unset)."""

    def __init__(self, text_encoder):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids):
        return self.text_encoder(input_ids=input_ids, return_dict=False)[0]


class UNet(nn.Module):
    """UNet2DConditionModel(sample, timestep, encoder_hidden_states).sample."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states, return_dict=False)[0]


class VaeDecoder(nn.Module):
    """AutoencoderKL.decode(latent_sample).sample (post_quant_conv + decoder); the caller divides
    the latents by vae.config.scaling_factor first, as the pipeline does."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", help="diffusers pipeline directory or hub id")
    ap.add_argument("out", help="output directory (its name becomes the model id)")
    ap.add_argument("--format", choices=["onnx", "torchscript"], required=True)
    ap.add_argument("--opset", type=int, default=14, help="ONNX opset (default 14)")
    ap.add_argument("--scheduler", choices=["ddim", "keep"], default="ddim",
                    help="ddim: write DDIMScheduler.from_config(the pipeline's scheduler config), so every "
                         "field inferpipe reads (clip_sample, set_alpha_to_one, steps_offset, prediction_type, "
                         "timestep_spacing) is explicit; keep: copy the pipeline's scheduler config verbatim")
    ap.add_argument("--revision", default=None, help="hub revision")
    ap.add_argument("--variant", default=None, help="weights variant, e.g. fp16 (weights are loaded as float32)")
    ap.add_argument("--device", default="cpu", help="device to trace/export on (cpu or cuda)")
    ap.add_argument("--no-vae", action="store_true", help="write no vae_decoder/ (pixel-space models only)")
    args = ap.parse_args()

    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizerFast

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    print("loading %s" % args.source)
    pipe = StableDiffusionPipeline.from_pretrained(
        args.source, torch_dtype=torch.float32, revision=args.revision, variant=args.variant,
        safety_checker=None, requires_safety_checker=False)
    device = torch.device(args.device)
    for name in ("text_encoder", "unet", "vae"):
        getattr(pipe, name).to(device).eval()
    # Plain (math) attention: traces and exports on every torch version, unlike SDPA / xformers.
    try:
        from diffusers.models.attention_processor import AttnProcessor
        pipe.unet.set_attn_processor(AttnProcessor())
        pipe.vae.set_attn_processor(AttnProcessor())
    except (ImportError, AttributeError, ValueError) as e:
        print("  (kept the default attention processors: %s)" % e)

    # --- configs -------------------------------------------------------------------------
    pipe.save_config(out)  # model_index.json, as diffusers writes it
    sched_dir = os.path.join(out, "scheduler")
    os.makedirs(sched_dir, exist_ok=True)
    if args.scheduler == "ddim":
        scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
        scheduler.save_config(sched_dir)
        cfg = scheduler.config
        print("  scheduler: DDIM from %s: beta_schedule %s, prediction_type %s, steps_offset %s, "
              "set_alpha_to_one %s, clip_sample %s, timestep_spacing %s" % (
                  type(pipe.scheduler).__name__, cfg.beta_schedule, cfg.prediction_type, cfg.steps_offset,
                  cfg.set_alpha_to_one, cfg.clip_sample, cfg.timestep_spacing))
        if cfg.clip_sample:
            print("  WARNING: clip_sample is true; latent diffusion models are normally sampled without "
                  "clipping (edit scheduler/scheduler_config.json if the source config did not mean it)")
    else:
        pipe.scheduler.save_config(sched_dir)
    with open(os.path.join(out, "model_index.json"), encoding="utf-8") as f:
        index = json.load(f)
    if args.scheduler == "ddim":
        index["scheduler"] = ["diffusers", "DDIMScheduler"]
        write_json(os.path.join(out, "model_index.json"), index)

    tok_dir = os.path.join(out, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    # The fast tokenizer writes tokenizer.json (what the Rust tokenizers library, DJL's, reads).
    fast = CLIPTokenizerFast.from_pretrained(args.source, subfolder="tokenizer", revision=args.revision)
    with tempfile.TemporaryDirectory() as scratch:
        fast.save_pretrained(scratch)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(scratch, name), os.path.join(tok_dir, name))
    max_len = int(fast.model_max_length)
    print("  tokenizer: model_max_length %d, pad_token %r" % (max_len, fast.pad_token))

    pipe.text_encoder.config.save_pretrained(os.path.join(out, "text_encoder"))  # config.json (hidden_size)
    pipe.unet.save_config(os.path.join(out, "unet"))                              # config.json
    if not args.no_vae:
        pipe.vae.save_config(os.path.join(out, "vae_decoder"))                    # config.json (scaling_factor)

    # --- example inputs (classifier-free guidance batch of 2) ------------------------------
    ids = fast(["a photograph of an astronaut riding a horse", ""], padding="max_length",
               max_length=max_len, truncation=True, return_tensors="pt").input_ids.to(device)
    c = pipe.unet.config.in_channels
    size = pipe.unet.config.sample_size
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    text = TextEncoder(pipe.text_encoder)
    with torch.no_grad():
        hidden = text(ids)
    gen = torch.Generator().manual_seed(0)
    sample = torch.randn((2, c, h, w), generator=gen).to(device)
    timestep = torch.tensor([981, 981], dtype=torch.int64, device=device)

    print("exporting (%s)" % args.format)
    write_graph(args.format, text, (ids,), os.path.join(out, "text_encoder"), ["input_ids"], "last_hidden_state",
                {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}},
                args.opset)
    write_graph(args.format, UNet(pipe.unet), (sample, timestep, hidden), os.path.join(out, "unet"),
                ["sample", "timestep", "encoder_hidden_states"], "out_sample",
                {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
                 "encoder_hidden_states": {0: "batch", 1: "sequence"},
                 "out_sample": {0: "batch", 2: "height", 3: "width"}}, args.opset)
    if not args.no_vae:
        latent = torch.randn((1, c, h, w), generator=gen).to(device)
        write_graph(args.format, VaeDecoder(pipe.vae), (latent,), os.path.join(out, "vae_decoder"),
                    ["latent_sample"], "sample",
                    {"latent_sample": {0: "batch", 2: "height", 3: "width"},
                     "sample": {0: "batch", 2: "image_height", 3: "image_width"}}, args.opset)
    print("wrote %s\nnext: ./pipeline model card %s && ./pipeline model check %s" % (out, out, out))


if __name__ == "__main__":
    sys.exit(main())
