"""A plain PyTorch SimCLR on Fashion-MNIST: the quality twin of `simclr run` at equal budget.

    python bench/pytorch/simclr_quality.py --recipe project|reference --epochs 15 --batch 256 \
        [--train-images 6000 --test-images 2000] [--seed 0] [--threads N] [--json out.json]

What a user would write in ~200 lines of PyTorch, so that our figures stand next to an independent
implementation of the same method on the same machine and budget. Model and loss as
bench/pytorch/train_bench.py (the mirror of simclr/resnet.ts and simclr/heads.ts); augmentation on
whole batches in torch (random resized crop as an affine resample, flip, brightness/contrast jitter in
random order: on one channel saturation, hue and grayscale do nothing); evaluation with this project's
protocols (simclr/evaluate/): linear = standardised frozen features, SGD Nesterov 0.9, lr 0.1 x B/256
with cosine decay, 90 epochs, batch 256, zero init; kNN = k 200 on L2-normalised features, votes
exp(cos / 0.1). The random-init encoder and the raw pixels go through the same two protocols.

Recipes:
  project    the small-image defaults of config/small-images.ts: LARS, peak 0.6 x sqrt(B), warm-up a
             tenth of the epochs then cosine, tau 0.2, crop area 0.2-1, colour strength 1.0, no blur.
  reference  a typical PyTorch SimCLR script's recipe (the one issue 7 compared against): Adam 1e-3,
             no warm-up, cosine, tau 0.5, crop area 0.2-1, colour strength 0.5, no blur.

Prints progress per epoch on stderr and one JSON line of results on stdout.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_bench import MODELS, Encoder, Head, Lars, nt_xent  # noqa: E402

RECIPES = {
    "project": dict(optimizer="lars", lr=0.6, scaling="sqrt", warmup_fraction=0.1, tau=0.2, crop_min=0.2, strength=1.0),
    "reference": dict(optimizer="adam", lr=1e-3, scaling="none", warmup_fraction=0.0, tau=0.5, crop_min=0.2, strength=0.5),
}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def balanced_subset(labels, n):
    """The pipeline's class-balanced prefix (simclr/datasets/splits.ts classBalancedLimit): classes take
    turns, ascending, giving their next image in index order; all images when n is 0 or too large."""
    if n <= 0 or n >= len(labels):
        return np.arange(len(labels))
    order = np.argsort(labels, kind="stable")  # by class, index order within each
    starts = np.searchsorted(labels[order], labels[order])  # first position of each one's class
    turn = np.empty(len(labels), dtype=np.int64)
    turn[order] = np.arange(len(labels)) - starts  # how many of its class come before it
    return np.sort(np.lexsort((labels, turn))[:n])


def load(root, split, n):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    idx = balanced_subset(y, n)
    return torch.from_numpy(x[idx].copy()).unsqueeze(1), torch.from_numpy(y[idx].copy())


def augment(x, crop_min, strength, gen):
    """x: uint8 [N, 1, H, W] -> float views in [0, 1] (torchvision RandomResizedCrop + flip + ColorJitter)."""
    n, _, h, w = x.shape
    x = x.float() / 255
    area = torch.empty(n).uniform_(crop_min, 1.0, generator=gen)
    log_r = torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3), generator=gen)
    ratio = torch.exp(log_r)
    cw = torch.sqrt(area * ratio).clamp(max=1.0)  # crop width / image width
    ch = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (torch.rand(n, generator=gen) * (1 - cw)) * 2 - 1 + cw  # centre in [-1, 1] coordinates
    cy = (torch.rand(n, generator=gen) * (1 - ch)) * 2 - 1 + ch
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = cw * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = ch, cy
    grid = F.affine_grid(theta, (n, 1, h, w), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    jitter = torch.rand(n, generator=gen) < 0.8
    k = 0.8 * strength
    b = torch.empty(n, 1, 1, 1).uniform_(max(0.0, 1 - k), 1 + k, generator=gen)
    c = torch.empty(n, 1, 1, 1).uniform_(max(0.0, 1 - k), 1 + k, generator=gen)
    brightness_first = (torch.rand(n, generator=gen) < 0.5).view(n, 1, 1, 1)

    def bright(t):
        return (t * b).clamp(0, 1)

    def contrast(t):
        mean = t.mean(dim=(1, 2, 3), keepdim=True)
        return ((t - mean) * c + mean).clamp(0, 1)

    jittered = torch.where(brightness_first, contrast(bright(x)), bright(contrast(x)))
    return torch.where(jitter.view(n, 1, 1, 1), jittered, x)


def lr_at(step, peak, warmup, total):
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


@torch.no_grad()
def features(encoder, x, batch=1024):
    encoder.eval()
    out = torch.cat([encoder(x[i : i + batch].float() / 255) for i in range(0, len(x), batch)])
    encoder.train()
    return out


def linear_eval(ftr, ytr, fte, yte, epochs=90, batch=256, lr=0.1, seed=0):
    mean, std = ftr.mean(0), ftr.std(0, unbiased=False)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    ftr, fte = (ftr - mean) / std, (fte - mean) / std
    classes = int(max(ytr.max(), yte.max())) + 1
    clf = torch.nn.Linear(ftr.shape[1], classes)
    torch.nn.init.zeros_(clf.weight), torch.nn.init.zeros_(clf.bias)
    peak = lr * batch / 256
    opt = torch.optim.SGD(clf.parameters(), lr=peak, momentum=0.9, nesterov=True)
    steps_per_epoch, gen = math.ceil(len(ftr) / batch), torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(ftr), generator=gen)
        for s in range(steps_per_epoch):
            for g in opt.param_groups:
                g["lr"] = lr_at(epoch * steps_per_epoch + s, peak, 0, epochs * steps_per_epoch)
            i = order[s * batch : (s + 1) * batch]
            loss = F.cross_entropy(clf(ftr[i]), ytr[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return (clf(fte).argmax(1) == yte).float().mean().item()


@torch.no_grad()
def knn_eval(ftr, ytr, fte, yte, k=200, t=0.1):
    ftr, fte = F.normalize(ftr, dim=1), F.normalize(fte, dim=1)
    classes, correct = int(ytr.max()) + 1, 0
    for i in range(0, len(fte), 512):
        sim, idx = (fte[i : i + 512] @ ftr.t()).topk(min(k, len(ftr)), dim=1)
        votes = torch.zeros(len(sim), classes).scatter_add_(1, ytr[idx], torch.exp(sim / t))
        correct += (votes.argmax(1) == yte[i : i + 512]).sum().item()
    return correct / len(fte)


def evaluate(name, ftr, ytr, fte, yte):
    t0 = time.perf_counter()
    result = dict(linear=linear_eval(ftr, ytr, fte, yte), knn=knn_eval(ftr, ytr, fte, yte))
    print(f"{name}: linear {result['linear']:.4f}  kNN {result['knn']:.4f}  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="project")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--train-images", type=int, default=0, help="class-balanced prefix, as dataset.maxTrainImages; 0 = all")
    p.add_argument("--test-images", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--json", help="also write the results to this file")
    a = p.parse_args()
    r = RECIPES[a.recipe]
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.data, "train", a.train_images)
    xte, yte = load(a.data, "test", a.test_images)
    spec = MODELS["resnet-mini"]

    encoder = Encoder(spec)
    random_encoder = Encoder(spec)
    random_encoder.load_state_dict(encoder.state_dict())  # the random-init baseline: the same start
    head = Head(encoder.dim)
    params = list(encoder.parameters()) + list(head.parameters())
    scale = {"sqrt": math.sqrt(a.batch), "linear": a.batch / 256, "none": 1.0}[r["scaling"]]
    peak = r["lr"] * scale
    opt = Lars(params) if r["optimizer"] == "lars" else torch.optim.Adam([q for q in params if q.requires_grad], lr=peak, weight_decay=1e-6)
    steps_per_epoch = len(xtr) // a.batch  # full batches only, as the pipeline's epochs
    total, warmup = a.epochs * steps_per_epoch, round(min(10, a.epochs * r["warmup_fraction"]) * steps_per_epoch)
    print(f"pytorch {torch.__version__}, {a.threads} threads; {len(xtr)} / {len(xte)} images; recipe {a.recipe} {r}; peak lr {peak:.4g}, {steps_per_epoch} steps/epoch, warm-up {warmup} steps", file=sys.stderr)

    start, step, curve = time.perf_counter(), 0, []
    for epoch in range(a.epochs):
        t0, order, losses = time.perf_counter(), torch.randperm(len(xtr), generator=gen), []
        for s in range(steps_per_epoch):
            batch = xtr[order[s * a.batch : (s + 1) * a.batch]]
            v = torch.cat([augment(batch, r["crop_min"], r["strength"], gen), augment(batch, r["crop_min"], r["strength"], gen)])
            z = head(encoder(v))
            loss = nt_xent(z[: a.batch], z[a.batch :], r["tau"])
            for q in params:
                q.grad = None
            loss.backward()
            lr = lr_at(step, peak, warmup, total)
            if r["optimizer"] == "lars":
                opt.step(lr)
            else:
                for g in opt.param_groups:
                    g["lr"] = lr
                opt.step()
            losses.append(loss.item())
            step += 1
        dt = time.perf_counter() - t0
        curve.append(float(np.mean(losses)))
        print(f"epoch {epoch + 1}/{a.epochs}: loss {curve[-1]:.4f}, {dt:.0f} s, {2 * a.batch * steps_per_epoch / dt:.0f} views/s", file=sys.stderr)
    pretrain_s = time.perf_counter() - start

    results = dict(
        recipe=a.recipe, settings=r, epochs=a.epochs, batch=a.batch, train_images=len(xtr), test_images=len(xte),
        seed=a.seed, threads=a.threads, torch=torch.__version__, pretrain_s=round(pretrain_s, 1), loss_curve=curve,
        simclr=evaluate("simclr", features(encoder, xtr), ytr, features(encoder, xte), yte),
        random_init=evaluate("random init", features(random_encoder, xtr), ytr, features(random_encoder, xte), yte),
        pixels=evaluate("pixels", xtr.flatten(1).float() / 255, ytr, xte.flatten(1).float() / 255, yte),
    )
    line = json.dumps(results)
    print(line)
    if a.json:
        with open(a.json, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
