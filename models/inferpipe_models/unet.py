"""Pixel-space conditional UNet (32x32 RGB), cross-attention on MiniLM hidden states, and DDIM.

sample [B,3,32,32], timestep [B] int64, encoder_hidden_states [B,L,384] -> eps [B,3,32,32].
The UNet sees all L positions of the text encoder's output, padding included (the exported layout
has no attention mask for the UNet), exactly as the Java sampler feeds it.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .minilm import MAX_LEN


def gn(c):
    return nn.GroupNorm(8, c)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.n1 = gn(cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(tdim, cout)
        self.n2 = gn(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, temb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(temb)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class Attn(nn.Module):
    """Cross-attention (query from features, key/value from context) or self-attention
    (ctx_dim None), multi-head, pre-norm, residual, followed by a small MLP. A learned position
    embedding is added to the queries' input so 'left'/'top' can be placed."""

    def __init__(self, c, ctx_dim, hw, heads=4, ff=True):
        super().__init__()
        self.heads = heads
        self.use_ff = ff
        self.norm = gn(c)
        self.pos = nn.Parameter(torch.randn(1, hw * hw, c) * 0.02)
        self.q = nn.Linear(c, c, bias=False)
        kd = ctx_dim or c
        self.ctx_norm = nn.LayerNorm(kd) if ctx_dim else None
        self.k = nn.Linear(kd, c, bias=False)
        self.v = nn.Linear(kd, c, bias=False)
        self.o = nn.Linear(c, c)
        if ff:
            self.n2 = nn.LayerNorm(c)
            self.ff1 = nn.Linear(c, 2 * c)
            self.ff2 = nn.Linear(2 * c, c)
            nn.init.zeros_(self.ff2.weight)
            nn.init.zeros_(self.ff2.bias)
        self.self_attn = ctx_dim is None
        # training only (train_diffusion.py --ground): keep the head-averaged attention
        # probabilities [B, hw, L] for the grounding loss; off when traced for export
        self.record = False
        self.probs = None
        nn.init.zeros_(self.o.weight)
        nn.init.zeros_(self.o.bias)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        t = self.norm(x).flatten(2).transpose(1, 2) + self.pos  # [B, hw, c]
        kv = t if self.self_attn else self.ctx_norm(ctx)
        hd = c // self.heads
        q = self.q(t).view(b, -1, self.heads, hd).transpose(1, 2)
        k = self.k(kv).view(b, -1, self.heads, hd).transpose(1, 2)
        v = self.v(kv).view(b, -1, self.heads, hd).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)), dim=-1)
        if self.record:
            self.probs = a.mean(dim=1)
        a = torch.matmul(a, v).transpose(1, 2).reshape(b, h * w, c)
        y = x.flatten(2).transpose(1, 2) + self.o(a)
        if self.use_ff:
            y = y + self.ff2(F.gelu(self.ff1(self.n2(y))))
        return y.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self, ch=(32, 64, 128), ctx_dim=384, size=32, tdim=128, ff16=False, mid_self=True, mid2=True,
                 up_attn8=True, pooled=True, attn32=False):
        super().__init__()
        self.pooled = pooled
        c0, c1, c2 = ch
        self.mid_self, self.mid2, self.up_attn8 = mid_self, mid2, up_attn8
        self.size = size
        half = 32
        self.register_buffer("freqs", torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half))
        self.t1 = nn.Linear(2 * half, tdim)
        self.t2 = nn.Linear(tdim, tdim)
        if pooled:
            # the mean of the 24 MiniLM states (a sentence vector, as SDXL adds its pooled text
            # embedding to the time embedding): a global condition on what the prompt means
            self.pool_norm = nn.LayerNorm(ctx_dim)
            self.pool = nn.Sequential(nn.Linear(ctx_dim, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
        self.register_buffer("coords", torch.stack([xx, yy])[None])
        self.conv_in = nn.Conv2d(3 + 2, c0, 3, padding=1)
        self.d0 = ResBlock(c0, c0, tdim)
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.d1 = ResBlock(c0, c1, tdim)
        self.a1 = Attn(c1, ctx_dim, size // 2, ff=ff16)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.d2 = ResBlock(c1, c2, tdim)
        self.a2 = Attn(c2, ctx_dim, size // 4)
        self.m1 = ResBlock(c2, c2, tdim)
        self.ma = Attn(c2, ctx_dim, size // 4)
        if mid_self:
            self.ms = Attn(c2, None, size // 4)
        if mid2:
            self.m2 = ResBlock(c2, c2, tdim)
        self.u2 = ResBlock(c2 + c2, c2, tdim)
        if up_attn8:
            self.ua2 = Attn(c2, ctx_dim, size // 4)
        self.up2 = nn.Conv2d(c2, c1, 3, padding=1)
        self.u1 = ResBlock(c1 + c1, c1, tdim)
        self.ua1 = Attn(c1, ctx_dim, size // 2, ff=ff16)
        self.up1 = nn.Conv2d(c1, c0, 3, padding=1)
        self.u0 = ResBlock(c0 + c0, c0, tdim)
        # cross-attention at full resolution too (zero-initialised output, so adding it to a
        # trained model changes nothing until it is trained): a pixel can read its colour word
        self.ua0 = Attn(c0, ctx_dim, size, ff=False) if attn32 else None
        self.n_out = gn(c0)
        self.conv_out = nn.Conv2d(c0, 3, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def cross_attentions(self):
        return [m for m in (self.a1, self.a2, self.ma, getattr(self, "ua2", None), self.ua1, self.ua0)
                if m is not None]

    def forward(self, sample, timestep, encoder_hidden_states):
        ctx = encoder_hidden_states
        t = timestep.to(torch.float32)[:, None] * self.freqs[None, :]
        temb = self.t2(F.silu(self.t1(torch.cat([torch.sin(t), torch.cos(t)], dim=1))))
        if self.pooled:
            temb = temb + self.pool(self.pool_norm(ctx.mean(dim=1)))
        x = torch.cat([sample, self.coords.expand(sample.shape[0], -1, -1, -1)], dim=1)
        h0 = self.d0(self.conv_in(x), temb)                       # 32
        h1 = self.a1(self.d1(self.down0(h0), temb), ctx)         # 16
        h2 = self.a2(self.d2(self.down1(h1), temb), ctx)         # 8
        m = self.m1(h2, temb)
        m = self.ma(m, ctx)
        if self.mid_self:
            m = self.ms(m, ctx)
        if self.mid2:
            m = self.m2(m, temb)
        u = self.u2(torch.cat([m, h2], 1), temb)                 # 8
        if self.up_attn8:
            u = self.ua2(u, ctx)
        u = self.up2(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.ua1(self.u1(torch.cat([u, h1], 1), temb), ctx)  # 16
        u = self.up1(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u0(torch.cat([u, h0], 1), temb)                 # 32
        if self.ua0 is not None:
            u = self.ua0(u, ctx)
        return self.conv_out(F.silu(self.n_out(u)))


# ----------------------------------------------------------------------------------------------
# schedule and DDIM (as the Java sampler: eta 0, x0 clipped, eps re-derived from the clipped x0,
# linspace spacing, last step onto alpha 1 with set_alpha_to_one)
# ----------------------------------------------------------------------------------------------

SCHEDULER = {
    "_class_name": "DDIMScheduler",
    "_diffusers_version": "0.30.0",
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "clip_sample": True,
    "clip_sample_range": 1.0,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": True,
    "steps_offset": 0,
    "thresholding": False,
    "timestep_spacing": "linspace",
    "trained_betas": None,
}


class AttributeHead(nn.Module):
    """ctx [B, L, D] -> each token pulled towards the mean train state of the colour and the shape
    a linear read-out gives it (models/attribute_head.py fits it; the last class of each read-out
    is "none", which pulls nowhere). A token near one of `known`'s prototypes (a train word's token
    states) is pulled by alpha_known times the read-out's probability: the UNet was trained on it,
    and a full pull would erase what its context adds (which object it belongs to). Any other token
    is pulled by alpha times the probability at `temperature` (below 1 sharpens: an unseen word the
    read-out places moves nearly all the way to what the UNet knows)."""

    NAMES = ("colour", "shape")

    def __init__(self, mu, sd, heads, alpha, temperature=1.0, known=None):
        """known: None (every token pulled as unseen) or (prototypes [P, D] standardised, tau: the
        distance within which a token counts as known, alpha_known)."""
        super().__init__()
        self.register_buffer("mu", mu)
        self.register_buffer("sd", sd)
        self.register_buffer("alpha", torch.tensor(float(alpha)))
        self.register_buffer("temperature", torch.tensor(float(temperature)))
        for name in self.NAMES:
            w, b, means = heads[name]
            self.register_buffer(name + "_w", w)
            self.register_buffer(name + "_b", b)
            self.register_buffer(name + "_means", means)
        self.knows = known is not None
        if self.knows:
            prototypes, tau, alpha_known = known
            self.register_buffer("prototypes", prototypes)
            self.register_buffer("tau", torch.tensor(float(tau)))
            self.register_buffer("alpha_known", torch.tensor(float(alpha_known)))

    @classmethod
    def from_state(cls, state):
        """The head of an exported state (keys without the "head." prefix); heads exported before
        temperature and prototypes existed have neither (temperature 1, every token unseen)."""
        known = (state["prototypes"], float(state["tau"]), float(state["alpha_known"])) if "prototypes" in state else None
        return cls(state["mu"], state["sd"], {n: (state[n + "_w"], state[n + "_b"], state[n + "_means"])
                                              for n in cls.NAMES}, float(state["alpha"]),
                   float(state.get("temperature", 1.0)), known)

    def novelty(self, z):
        """[B, L, 1]: about 0 for a token within tau of a prototype, about 1 beyond it."""
        d2 = (z * z).sum(-1, keepdim=True) - 2 * z @ self.prototypes.t() + (self.prototypes ** 2).sum(-1)
        dmin = d2.clamp_min(0).min(dim=-1, keepdim=True).values.sqrt()
        return torch.sigmoid((dmin - self.tau) / (0.05 * self.tau))

    def blend(self, logits, novel, alpha_known, alpha):
        """Per class (none included): a known token's weight (alpha_known times the read-out's
        probability) and an unseen one's (alpha times it at the temperature), mixed by novelty.
        With both alphas 1 it is the probability the head acts on."""
        unseen = alpha * torch.softmax(logits / self.temperature, dim=-1)
        if novel is None:
            return unseen
        return (1 - novel) * (alpha_known * torch.softmax(logits, dim=-1)) + novel * unseen

    def forward(self, ctx):
        z = (ctx - self.mu) / self.sd
        novel = self.novelty(z) if self.knows else None
        out = ctx
        for name in self.NAMES:
            means = getattr(self, name + "_means")
            logits = z @ getattr(self, name + "_w") + getattr(self, name + "_b")
            pull = self.blend(logits, novel, self.alpha_known if self.knows else None, self.alpha)[..., :means.shape[0]]
            out = out + (pull @ means - pull.sum(dim=-1, keepdim=True) * ctx)
        return out


class WithHead(nn.Module):
    """The exported UNet of a model with an attribute head: the same inputs and outputs."""

    def __init__(self, head, unet):
        super().__init__()
        self.head, self.unet = head, unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, self.head(encoder_hidden_states))


def save_traced(module, path, context):
    """Traces `module` (sample, timestep, encoder_hidden_states) on an example batch, saves the
    TorchScript to `path`, and returns the largest |TorchScript - eager| over batches of 1 and 4 at
    MAX_LEN tokens and of 2 at 16; `context(b, length, generator)` gives the hidden states checked with."""
    g = torch.Generator().manual_seed(7)
    ex = (torch.randn(2, 3, 32, 32, generator=g), torch.tensor([999, 10]), torch.randn(2, MAX_LEN, 384, generator=g))
    with torch.no_grad():
        torch.jit.trace(module, ex, check_trace=False).save(path)
    loaded = torch.jit.load(path)
    worst = 0.0
    for b, length in ((1, MAX_LEN), (4, MAX_LEN), (2, 16)):
        x = torch.randn(b, 3, 32, 32, generator=g)
        t = torch.randint(0, 1000, (b,), generator=g)
        c = context(b, length, g)
        with torch.no_grad():
            worst = max(worst, float((loaded(x, t, c) - module(x, t, c)).abs().max()))
    return worst


def editable(state):
    """An exported UNet's state (`torch.jit.load(...).state_dict()`) as a module a probe can change
    part by part: the bundled architecture, with the 32x32 cross-attention when the state has it,
    and behind its attribute head when it has one."""
    if any(k.startswith("head.") for k in state):
        head = AttributeHead.from_state({k[5:]: v for k, v in state.items() if k.startswith("head.")})
        return WithHead(head, editable({k[5:]: v for k, v in state.items() if k.startswith("unet.")})).eval()
    unet = UNet(ch=(32, 64, 128), mid_self=True, mid2=False, up_attn8=True,
                attn32=any(k.startswith("ua0.") for k in state))
    unet.load_state_dict(state)
    return unet.eval()


def without_pooled_condition(unet, empty_states):
    """Gives `unet` the empty prompt's pooled condition whatever the prompt (a probe's ablation:
    cross-attention still sees the prompt)."""
    if isinstance(unet, WithHead):
        with torch.no_grad():
            empty_states = unet.head(empty_states)
        unet = unet.unet
    with torch.no_grad():
        empty = unet.pool(unet.pool_norm(empty_states.mean(dim=1)))
    unet.pool, unet.pool_norm = _Constant(empty), nn.Identity()


class _Constant(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return self.value.expand(x.shape[0], -1)


def alphas_cumprod(T=1000, b0=1e-4, b1=0.02):
    betas = np.linspace(b0, b1, T, dtype=np.float64)
    return torch.tensor(np.cumprod(1.0 - betas), dtype=torch.float32)


def linspace_timesteps(steps, T=1000):
    """diffusers' 'linspace' spacing: round(linspace(0, T-1, steps))[::-1]."""
    return np.linspace(0, T - 1, steps).round()[::-1].copy().astype(np.int64)


@torch.no_grad()
def ddim_sample(unet, cond, uncond, steps=25, guidance=3.0, seed=0, noise=None, clip=True):
    """cond, uncond: [B, L, D] hidden states. Returns images in [-1, 1], [B, 3, S, S]."""
    ac = alphas_cumprod()
    b = cond.shape[0]
    if noise is None:
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn(b, 3, unet_size(unet), unet_size(unet), generator=g)
    x = noise
    ts = linspace_timesteps(steps)
    ctx = torch.cat([cond, uncond], 0)
    for i, t in enumerate(ts):
        tt = torch.full((2 * b,), int(t), dtype=torch.int64)
        e = unet(torch.cat([x, x], 0), tt, ctx)
        eps = e[b:] + guidance * (e[:b] - e[b:])
        a_t = ac[t]
        a_p = ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
        x0 = (x - torch.sqrt(1 - a_t) * eps) / torch.sqrt(a_t)
        if clip:
            x0 = x0.clamp(-1, 1)
        eps = (x - torch.sqrt(a_t) * x0) / torch.sqrt(1 - a_t)
        x = torch.sqrt(a_p) * x0 + torch.sqrt(1 - a_p) * eps
    return x.clamp(-1, 1)


def unet_size(unet):
    return getattr(unet, "size", 32) if not isinstance(unet, torch.jit.ScriptModule) else 32


def to_uint8(x):
    """[B,3,H,W] in [-1,1] -> uint8 [B,H,W,3], byte = round((v+1)/2*255) as the Java side does."""
    return ((x.clamp(-1, 1) + 1) / 2 * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
