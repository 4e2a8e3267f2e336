"""tiny-shapes-vqa: image + MiniLM question hidden states -> encoder states; a decoder emitting
answer tokens over the full BERT vocabulary (30522).

encoder(pixel_values [B,3,64,64] float32, question_hidden_states [B,L,384] float32,
        attention_mask [B,L] int64) -> encoder_hidden_states [B,65,D]
        (a summary token + the 8x8 image tokens after fusion with the question; padding
        question tokens are masked out and not part of the output, so the decoder needs no mask)
decoder(decoder_input_ids [B,T] int64, encoder_hidden_states [B,S,D]) -> logits [B,T,30522]
        ids outside the answer set share one embedding; logits of non-answer tokens are -1e4.

Only ops the project's numpy ONNX interpreter runs (no GroupNorm/LayerNormalization ops: norms
are written out), so exports are checked against eager torch here.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 30522
CLS_ID, SEP_ID, PAD_ID = 101, 102, 0
NEG = -10000.0


class Norm(nn.Module):
    """LayerNorm over the last dim, written out (exports as ReduceMean/Sub/Pow/Sqrt/Div)."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.b = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        m = x.mean(dim=-1, keepdim=True)
        v = (x - m).pow(2).mean(dim=-1, keepdim=True)
        return (x - m) / torch.sqrt(v + self.eps) * self.w + self.b


class ChanNorm(nn.Module):
    """LayerNorm over channels of [B,C,H,W], written out."""

    def __init__(self, c, eps=1e-5):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1, c, 1, 1))
        self.b = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.eps = eps

    def forward(self, x):
        m = x.mean(dim=1, keepdim=True)
        v = (x - m).pow(2).mean(dim=1, keepdim=True)
        return (x - m) / torch.sqrt(v + self.eps) * self.w + self.b


def attention(q, k, v, heads, bias=None):
    b, tq, d = q.shape
    tk = k.shape[1]
    hd = d // heads
    q = q.reshape(b, tq, heads, hd).transpose(1, 2)
    k = k.reshape(b, tk, heads, hd).transpose(1, 2)
    v = v.reshape(b, tk, heads, hd).transpose(1, 2)
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
    if bias is not None:
        s = s + bias
    a = torch.matmul(torch.softmax(s, dim=-1), v)
    return a.transpose(1, 2).reshape(b, tq, d)


class Block(nn.Module):
    def __init__(self, d, heads, cross=False):
        super().__init__()
        self.heads = heads
        self.n1 = Norm(d)
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.cross = cross
        if cross:
            self.nc = Norm(d)
            self.cq = nn.Linear(d, d)
            self.ck, self.cv = nn.Linear(d, d), nn.Linear(d, d)
            self.co = nn.Linear(d, d)
        self.n2 = Norm(d)
        self.f1 = nn.Linear(d, 2 * d)
        self.f2 = nn.Linear(2 * d, d)

    def forward(self, x, bias=None, mem=None):
        h = self.n1(x)
        x = x + self.o(attention(self.q(h), self.k(h), self.v(h), self.heads, bias))
        if self.cross:
            x = x + self.co(attention(self.cq(self.nc(x)), self.ck(mem), self.cv(mem), self.heads))
        return x + self.f2(F.gelu(self.f1(self.n2(x))))


class Encoder(nn.Module):
    """CNN over the image, each layer modulated by the question (FiLM: a per-channel scale and
    shift computed from the pooled question), then a transformer over the image tokens and the
    question tokens. The run without FiLM underfit (training accuracy 0.66, the colour of a named
    shape at chance): question tokens met the image only after the CNN, so the CNN could not pick
    out the shape the question names."""

    def __init__(self, d=128, heads=4, layers=2, max_q=32, text_dim=384, size=64):
        super().__init__()
        self.heads = heads
        c = [32, 64, 128]
        # two coordinate channels (x, y in [-1, 1]) beside the pixels, as the UNet has: without them
        # the CNN's features are translation-equivariant, and left/right fell to 0.57 once the
        # question gated the features (FiLM)
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
        self.register_buffer("coords", torch.stack([xx, yy])[None])
        # full resolution first: a 16 px object on a 192 px canvas is 5 px at 64, and a strided first
        # conv (2,000 steps: colour-of-the-shape 0.59) left it barely 2 px
        self.c0 = nn.Conv2d(3 + 2, c[0], 3, padding=1)            # 64
        self.n0 = ChanNorm(c[0])
        self.c1 = nn.Conv2d(c[0], c[0], 3, stride=2, padding=1)   # 32
        self.n1 = ChanNorm(c[0])
        self.c2 = nn.Conv2d(c[0], c[1], 3, stride=2, padding=1)   # 16
        self.n2 = ChanNorm(c[1])
        self.c3 = nn.Conv2d(c[1], c[1], 3, padding=1)
        self.n3 = ChanNorm(c[1])
        self.c4 = nn.Conv2d(c[1], c[2], 3, stride=2, padding=1)   # 8
        self.n4 = ChanNorm(c[2])
        self.c5 = nn.Conv2d(c[2], d, 3, padding=1)
        self.film_sizes = [c[0], c[0], c[1], c[1], c[2]]
        self.q_score = nn.Linear(text_dim, 1)
        self.film = nn.Sequential(nn.Linear(2 * text_dim, 256), nn.SiLU(), nn.Linear(256, 2 * sum(self.film_sizes)))
        nn.init.zeros_(self.film[2].weight)
        nn.init.zeros_(self.film[2].bias)
        self.img_pos = nn.Parameter(torch.randn(1, 64, d) * 0.02)
        self.q_in = nn.Linear(text_dim, d)
        self.q_norm = Norm(text_dim)
        self.q_pos = nn.Parameter(torch.randn(1, max_q, d) * 0.02)
        self.summary = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.out_norm = Norm(d)

    def films(self, qn, mask):
        """[(gamma, beta)] per conv layer, each [B,C,1,1], from the masked mean and an attention
        pool of the normalised question states."""
        m = mask.to(torch.float32)[:, :, None]                          # [B,L,1]
        mean = (qn * m).sum(1) / m.sum(1).clamp(min=1.0)
        w = torch.softmax(self.q_score(qn) + (1.0 - m) * NEG, dim=1)     # [B,L,1]
        pooled = (qn * w).sum(1)
        p = self.film(torch.cat([mean, pooled], dim=-1))
        out, at = [], 0
        for ch in self.film_sizes:
            g = p[:, at:at + ch][:, :, None, None]
            b = p[:, at + ch:at + 2 * ch][:, :, None, None]
            out.append((g, b))
            at += 2 * ch
        return out

    def forward(self, pixel_values, question_hidden_states, attention_mask):
        return self.features(pixel_values, question_hidden_states, attention_mask)[0]

    def features(self, pixel_values, question_hidden_states, attention_mask):
        """(encoder_hidden_states, the 16x16 CNN features, the 8x8 ones): training also reads
        the object maps off the last two (auxiliary losses, not exported)."""
        qn = self.q_norm(question_hidden_states)
        f = self.films(qn, attention_mask)

        def mod(x, i):
            return x * (1.0 + f[i][0]) + f[i][1]

        x = torch.cat([pixel_values, self.coords.expand(pixel_values.shape[0], -1, -1, -1)], dim=1)
        x = F.silu(mod(self.n0(self.c0(x)), 0))
        x = F.silu(mod(self.n1(self.c1(x)), 1))
        x = F.silu(mod(self.n2(self.c2(x)), 2))
        x = x + F.silu(mod(self.n3(self.c3(x)), 3))
        f16 = x
        x = F.silu(mod(self.n4(self.c4(x)), 4))
        x = self.c5(x)
        f8 = x
        b = x.shape[0]
        img = x.flatten(2).transpose(1, 2) + self.img_pos          # [B,64,d]
        L = question_hidden_states.shape[1]
        q = self.q_in(qn) + self.q_pos[:, :L]
        s = self.summary.expand(b, -1, -1)
        h = torch.cat([s, img, q], dim=1)
        keep = torch.cat([torch.ones_like(img[:, :, 0])[:, :1].expand(b, 65), attention_mask.to(torch.float32)], dim=1)
        bias = ((1.0 - keep) * NEG)[:, None, None, :]
        for blk in self.blocks:
            h = blk(h, bias)
        return self.out_norm(h[:, :65]), f16, f8


class Decoder(nn.Module):
    def __init__(self, answer_ids, d=128, heads=4, max_t=16):
        """answer_ids: BERT ids the decoder can emit (must include SEP_ID); CLS_ID starts."""
        super().__init__()
        self.heads = heads
        ids = list(answer_ids)
        assert SEP_ID in ids
        self.k = len(ids)
        inp = [CLS_ID] + ids  # input vocabulary: start token + answers; anything else -> slot k+1
        in_map = torch.full((VOCAB,), len(inp), dtype=torch.int64)
        for i, t in enumerate(inp):
            in_map[t] = i
        self.register_buffer("in_map", in_map)
        out_map = torch.full((VOCAB,), self.k, dtype=torch.int64)   # column k holds NEG
        for i, t in enumerate(ids):
            out_map[t] = i
        self.register_buffer("out_map", out_map)
        self.answer_ids = ids
        self.tok = nn.Embedding(len(inp) + 1, d)
        self.pos = nn.Parameter(torch.randn(1, max_t, d) * 0.02)
        self.register_buffer("causal", torch.triu(torch.full((max_t, max_t), NEG), diagonal=1))
        self.block = Block(d, heads, cross=True)
        self.block2 = Block(d, heads, cross=True)
        self.norm = Norm(d)
        self.head = nn.Linear(d, self.k)

    def local_logits(self, decoder_input_ids, encoder_hidden_states):
        t = decoder_input_ids.shape[1]
        x = self.tok(torch.index_select(self.in_map, 0, decoder_input_ids.reshape(-1)).reshape(decoder_input_ids.shape))
        x = x + self.pos[:, :t]
        bias = self.causal[:t, :t]
        x = self.block(x, bias, encoder_hidden_states)
        x = self.block2(x, bias, encoder_hidden_states)
        return self.head(self.norm(x))

    def forward(self, decoder_input_ids, encoder_hidden_states):
        loc = self.local_logits(decoder_input_ids, encoder_hidden_states)
        filler = loc[:, :, :1] * 0.0 + NEG
        full = torch.cat([loc, filler], dim=-1)
        return torch.index_select(full, 2, self.out_map)
