"""PyTorch twin of bench/train.ts: the same SimCLR pretraining step, model, batch and threads.

    python bench/pytorch/train_bench.py --model resnet-mini|resnet18-cifar --batch 256 --steps 10 \
        [--warmup 2] [--threads N] [--channels-last] [--profile]

Prints one JSON line with the keys of bench/train.ts (imagesPerSec, stepMs, mfu, backend, threads...).

The model mirrors simclr/resnet.ts and simclr/heads.ts: CIFAR stem (3x3 stride-1 conv, no max-pool),
basic blocks with bias-free convs, batch norm (momentum 0.9 in TensorFlow's convention = 0.1 in
PyTorch's, eps 1e-5) with gamma = 0 on the last one of each residual branch, 1x1 projection shortcuts,
global average pool; head dense(no bias)-BN-ReLU-dense(no bias)-BN(no beta). The step mirrors
simclr/train.ts: uint8 NHWC views -> [0, 1] floats, both views as one 2N batch, NT-Xent (tau 0.5),
backward, LARS (simclr/optimizers.ts: trust ratio eta*|w|/|g| and weight decay on kernels only,
momentum 0.9), loss read back. FLOPs are counted from the layer shapes the same way (bench/flops.ts).
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = {
    "resnet-mini": dict(stem=16, widths=[16, 32, 64], blocks=[1, 1, 1], strides=[1, 2, 2], size=28, channels=1),
    "resnet18-cifar": dict(stem=64, widths=[64, 128, 256, 512], blocks=[2, 2, 2, 2], strides=[1, 2, 2, 2], size=32, channels=3),
}
BN_MOMENTUM = 0.1  # TensorFlow's 0.9
BN_EPS = 1e-5


def bn(c, zero_gamma=False):
    layer = nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)
    if zero_gamma:
        nn.init.zeros_(layer.weight)
    return layer


class BasicBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = bn(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = bn(width, zero_gamma=True)
        self.proj = None
        if stride != 1 or cin != width:
            self.proj = nn.Sequential(nn.Conv2d(cin, width, 1, stride, 0, bias=False), bn(width))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


class Encoder(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(spec["channels"], spec["stem"], 3, 1, 1, bias=False), bn(spec["stem"]), nn.ReLU())
        blocks, cin = [], spec["stem"]
        for width, n, stride in zip(spec["widths"], spec["blocks"], spec["strides"]):
            for b in range(n):
                blocks.append(BasicBlock(cin, width, stride if b == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.dim = cin

    def forward(self, x):
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


class Head(nn.Module):
    def __init__(self, dim, out=128):
        super().__init__()
        self.fc0 = nn.Linear(dim, dim, bias=False)
        self.bn0 = nn.BatchNorm1d(dim, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.fc1 = nn.Linear(dim, out, bias=False)
        self.bn1 = nn.BatchNorm1d(out, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.bn1.bias.requires_grad_(False)  # no centring on the output, as simclr/heads.ts

    def forward(self, h):
        return self.bn1(self.fc1(F.relu(self.bn0(self.fc0(h)))))


def nt_xent(z1, z2, tau):
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.t() / tau - torch.eye(2 * n) * 1e9
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(logits, target)


class Lars:
    """simclr/optimizers.ts 'lars': kernels get weight decay and the trust ratio; 1-D params neither."""

    def __init__(self, params, momentum=0.9, weight_decay=1e-6, eta=1e-3):
        self.params = [p for p in params if p.requires_grad]
        self.m, self.wd, self.eta = momentum, weight_decay, eta
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self, lr):
        for p, v in zip(self.params, self.v):
            g = p.grad
            if p.ndim > 1:
                g = g + self.wd * p
                wn, gn = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
                ratio = torch.where((wn > 0) & (gn > 0), self.eta * wn / gn.clamp_min(1e-30), torch.ones_like(wn))
                v.mul_(self.m).add_(g * (lr * ratio))
            else:
                v.mul_(self.m).add_(g, alpha=lr)
            p.sub_(v)


def forward_macs_per_image(model, example):
    macs = 0

    def hook(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs += output[0].numel() * kh * kw * module.in_channels // module.groups
        elif isinstance(module, nn.Linear):
            macs += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(example[:2])
        model.train()
    for h in handles:
        h.remove()
    return macs


def matmul_peak(n=2048, reps=10):
    a, b = torch.rand(n, n) * 2 - 1, torch.rand(n, n) * 2 - 1
    best = float("inf")
    for r in range(reps + 1):
        t0 = time.perf_counter()
        torch.mm(a, b)
        dt = time.perf_counter() - t0
        if r > 0:
            best = min(best, dt)
    return 2 * n**3 / best / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=list(MODELS), default="resnet-mini")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json", action="store_true", help="accepted for symmetry with bench/train.ts; the JSON line is always printed")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    spec = MODELS[args.model]
    s, c, n = spec["size"], spec["channels"], args.batch
    encoder = Encoder(spec)
    head = Head(encoder.dim)
    model = nn.Sequential(encoder, head)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    opt = Lars(model.parameters())
    lr = 0.3 * n / 256
    tau = 0.5
    g = torch.Generator().manual_seed(1)
    view1 = torch.randint(0, 256, (n, s, s, c), dtype=torch.uint8, generator=g)
    view2 = torch.randint(0, 256, (n, s, s, c), dtype=torch.uint8, generator=g)

    def inputs():
        x = torch.cat([view1, view2]).float().div_(255).permute(0, 3, 1, 2)  # NHWC -> NCHW view
        return x.contiguous(memory_format=memory_format)

    def step():
        loss = nt_xent(*model(inputs()).chunk(2), tau)
        for p in model.parameters():
            p.grad = None
        loss.backward()
        opt.step(lr)
        return loss.item()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)

    profile = None
    if args.profile:
        fwd, fwdbwd, full = [], [], []
        for _ in range(max(3, min(args.steps, 8))):
            t0 = time.perf_counter()
            with torch.no_grad():
                nt_xent(*model(inputs()).chunk(2), tau).item()
            fwd.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            loss = nt_xent(*model(inputs()).chunk(2), tau)
            loss.backward()
            loss.item()
            fwdbwd.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            step()
            full.append((time.perf_counter() - t0) * 1000)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            step()
        top = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:12]
        f, fb = min(fwd), min(fwdbwd)  # minima: on a shared machine other work only ever adds time
        profile = {
            "forwardMs": round(f, 1),
            "backwardMs": round(fb - f, 1),
            "updateMs": round(min(full) - fb, 1),
            "topKernels": [{"kernel": e.key, "ms": round(e.self_cpu_time_total / 1000, 1), "calls": e.count} for e in top],
        }

    peak = matmul_peak()
    macs = forward_macs_per_image(model, inputs())
    step_flops = 3 * 2 * (macs * 2 * n + (2 * n) ** 2 * 128)
    step_ms = statistics.median(times)
    achieved = step_flops / (step_ms * 1e6)
    result = {
        "framework": f"pytorch {torch.__version__}",
        "model": args.model,
        "inputShape": [s, s, c],
        "batch": n,
        "optimizer": "lars",
        "steps": args.steps,
        "imagesPerSec": round(2 * n * 1000 / step_ms),
        "stepMs": round(step_ms, 1),
        "stepMsMin": round(min(times), 1),
        "modelGflopPerStep": round(step_flops / 1e9, 3),
        "achievedGflops": round(achieved, 1),
        "peakGflops": round(peak, 1),
        "mfu": round(achieved / peak, 3),
        "backend": "cpu" + (" channels_last" if args.channels_last else "") + (" mkldnn" if torch.backends.mkldnn.is_available() else ""),
        "threads": args.threads,
    }
    if profile:
        result["profile"] = profile
    print(json.dumps(result))


if __name__ == "__main__":
    main()
