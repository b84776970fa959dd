#!/usr/bin/env python3
"""CrossSim as the validation hook of a torch training loop: two linear projections trained with
the CLIP loss on synthetic paired data (image and text features that share a latent), and after
every epoch the README's `validate` hook logs InfoNCE at three temperatures, SigLIP and
recall@k on held-out pairs, from torch CPU tensors passed as they are.

    python python/examples/validation_hook.py [--epochs 6]

It checks that training helps (InfoNCE down, recall@1 up between the untrained model and the
last epoch) and that the last epoch's logged figures, from float32 and from float16 tensors,
are those of a naive float64 torch reference within docs/accuracy.md. Exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict

import crosssim
import torch
import torch.nn.functional as F

LATENT, IMAGE_FEATURES, TEXT_FEATURES, EMBEDDING = 16, 64, 48, 32
TRAIN_PAIRS, VALIDATION_PAIRS, BATCH = 8192, 2000, 256
NOISE = 4.0
TAUS = (0.01, 0.05, 0.1)
SIGLIP = (10.0, -10.0)


# The README's validation hook (scripts/test-python-examples.sh checks that the README shows
# this function as it is here).
def validate(epoch, image_embeddings, text_embeddings, log):
    report = crosssim.evaluate(image_embeddings, text_embeddings,
                               tau=(0.01, 0.05, 0.1), siglip=[(10, -10)], k=(1, 5, 10))
    for loss in report.infonce:
        log(f"val/infonce@{loss.tau}", loss.symmetric, epoch)
    log("val/siglip", report.siglip[0].loss, epoch)
    for k, value in report.retrieval.x1_to_x2.recall.items():
        log(f"val/image_to_text_recall@{k}", value, epoch)


def paired_features(generator: torch.Generator, pairs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image and text features of the same latent content, each through its own fixed mixing
    and noise: what the projections must learn to align."""
    latent = torch.randn(pairs, LATENT, generator=generator)
    image_mixing = torch.randn(LATENT, IMAGE_FEATURES, generator=torch.Generator().manual_seed(1))
    text_mixing = torch.randn(LATENT, TEXT_FEATURES, generator=torch.Generator().manual_seed(2))
    images = latent @ image_mixing + NOISE * torch.randn(pairs, IMAGE_FEATURES, generator=generator)
    texts = latent @ text_mixing + NOISE * torch.randn(pairs, TEXT_FEATURES, generator=generator)
    return images, texts


def clip_loss(image_embeddings: torch.Tensor, text_embeddings: torch.Tensor, logit_scale: torch.Tensor):
    logits = logit_scale.exp() * F.normalize(image_embeddings, dim=1) @ F.normalize(text_embeddings, dim=1).T
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def reference(image_embeddings: torch.Tensor, text_embeddings: torch.Tensor) -> dict[str, float]:
    """The hook's figures computed naively in float64 from the same values (the N×N matrix in
    memory; docs/definitions.md)."""
    s = F.normalize(image_embeddings.double(), dim=1) @ F.normalize(text_embeddings.double(), dim=1).T
    labels = torch.arange(len(s))
    figures = {}
    for tau in TAUS:
        figures[f"val/infonce@{tau}"] = float((F.cross_entropy(s / tau, labels) + F.cross_entropy(s.T / tau, labels)) / 2)
    scale, bias = SIGLIP
    signs = 2 * torch.eye(len(s), dtype=torch.float64) - 1
    figures["val/siglip"] = float(F.softplus(-signs * (scale * s + bias)).sum() / len(s))
    # Rank of the positive, ties to the lower index (docs/definitions.md, Ranks).
    positive = s.diagonal()[:, None]
    lower = labels[None, :] < labels[:, None]
    above = (s > positive) | ((s == positive) & lower)
    figures["val/image_to_text_recall@1"] = float((above.sum(dim=1) == 0).double().mean())
    return figures


def tolerance(name: str) -> float:
    """docs/accuracy.md: relative 1e-4 for losses at τ < 0.05, 1e-5 for the others; recall exact."""
    if "recall" in name:
        return 0.0
    return 1e-4 if name == "val/infonce@0.01" else 1e-5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    epochs = parser.parse_args().epochs
    torch.manual_seed(0)
    # A model this small runs fastest on one thread (and spins less on a shared machine).
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    train_images, train_texts = paired_features(generator, TRAIN_PAIRS)
    validation_images, validation_texts = paired_features(generator, VALIDATION_PAIRS)

    image_projection = torch.nn.Linear(IMAGE_FEATURES, EMBEDDING)
    text_projection = torch.nn.Linear(TEXT_FEATURES, EMBEDDING)
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    optimiser = torch.optim.Adam([*image_projection.parameters(), *text_projection.parameters(), logit_scale], lr=1e-3)

    history: dict[str, dict[int, float]] = defaultdict(dict)

    def log(name, value, epoch):
        history[name][epoch] = value

    def embed() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            return image_projection(validation_images), text_projection(validation_texts)

    validate(0, *embed(), log)  # epoch 0: the untrained projections
    for epoch in range(1, epochs + 1):
        order = torch.randperm(TRAIN_PAIRS, generator=generator)
        for start in range(0, TRAIN_PAIRS, BATCH):
            batch = order[start:start + BATCH]
            loss = clip_loss(image_projection(train_images[batch]), text_projection(train_texts[batch]), logit_scale)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        validate(epoch, *embed(), log)

    names = list(history)
    print("| epoch | " + " | ".join(name.removeprefix("val/") for name in names) + " |")
    print("| --- " * (len(names) + 1) + "|")
    for epoch in range(epochs + 1):
        print(f"| {epoch} | " + " | ".join(f"{history[name][epoch]:.4f}" for name in names) + " |")

    failed = []
    infonce, recall = history["val/infonce@0.05"], history["val/image_to_text_recall@1"]
    if not infonce[epochs] < infonce[0]:
        failed.append("InfoNCE@0.05 did not go down")
    if not recall[epochs] > recall[0]:
        failed.append("recall@1 did not go up")

    # The last epoch again, as float16 tensors too: the library widens float16 to float32
    # exactly, so their reference is the float16 values' own.
    image_embeddings, text_embeddings = embed()
    print()
    print(f"epoch {epochs} against a float64 torch reference (relative error; recall exact):")
    for dtype in (torch.float32, torch.float16):
        images, texts = image_embeddings.to(dtype), text_embeddings.to(dtype)
        logged: dict[str, float] = {}
        validate(epochs, images, texts, lambda name, value, epoch: logged.__setitem__(name, value))
        for name, expected in reference(images, texts).items():
            error = abs(logged[name] - expected) / max(abs(expected), 1e-300) if "recall" not in name else \
                abs(logged[name] - expected)
            print(f"  {str(dtype).removeprefix('torch.'):8} {name.removeprefix('val/'):28} "
                  f"{logged[name]:.6f} vs {expected:.6f}  error {error:.1e}")
            if not error <= tolerance(name):
                failed.append(f"{dtype} {name}: {logged[name]!r} against {expected!r}")
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    print("training helped, and the figures are the reference's within docs/accuracy.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
