"""The linear read-out fitted on text-encoder states: probe_text_encoder.py scores it on held-out
words, attribute_head.py puts it inside the exported UNet."""
import torch
import torch.nn.functional as F


def logistic(z, y, classes, iters, l2=1e-2):
    """Multinomial logistic regression on standardised features z [N, D] with labels y [N]:
    full-batch Adam (lr 0.01) from zeros, L2 on the weights. Returns (w [D, classes], b)."""
    w = torch.zeros(z.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.01)
    for _ in range(iters):
        loss = F.cross_entropy(z @ w + b, y) + l2 * (w ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach(), b.detach()
