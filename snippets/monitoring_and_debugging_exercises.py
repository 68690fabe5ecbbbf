"""Solutions to the exercises of lesson 3.6, Monitoring and Debugging the
Training Loop."""

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from monitoring_and_debugging import (
    mlp,
    print_header,
    read_scalars,
    summarize,
    train_logged,
)


# --8<-- [start:ex2]
def dead_fraction(model: nn.Sequential, X: torch.Tensor) -> list[float]:
    """For each ReLU: the fraction of its units that output 0 for every
    example in X (dead units: no gradient flows through them)."""
    fractions = []
    with torch.no_grad():
        for layer in model:
            X = layer(X)
            if isinstance(layer, nn.ReLU):
                dead = (X == 0).all(dim=0)  # (units,)
                fractions.append(dead.float().mean().item())
    return fractions


# --8<-- [end:ex2]


def exercises() -> None:
    """The solutions, logging to runs/ in the current folder."""
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(400, device, noise=0.2)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(400, generator=generator).to(device)
    X, y = X_all[order[:200]], y_all[order[:200]]
    X_val, y_val = X_all[order[200:]], y_all[order[200:]]
    runs = Path("runs")
    lr, num_epochs = 0.5, 300

    # --8<-- [start:ex1-run]
    X_cm, X_val_cm = 100 * X, 100 * X_val  # the same points, in centimetres
    cm_model = mlp().to(device)  # kept for Exercise 2
    train_logged(
        cm_model, X_cm, y, X_val_cm, y_val, lr, num_epochs, runs / "cm"
    )
    mean, std = X_cm.mean(dim=0), X_cm.std(dim=0)  # from the training set
    X_std, X_val_std = (X_cm - mean) / std, (X_val_cm - mean) / std
    model = mlp().to(device)
    train_logged(
        model, X_std, y, X_val_std, y_val, lr, num_epochs, runs / "standardized"
    )
    print_header()
    for name in ("cm", "standardized"):
        summarize(name, read_scalars(runs / name))
    # --8<-- [end:ex1-run]

    healthy_model = mlp().to(device)  # on the page, the demonstrations' run
    train_logged(
        healthy_model, X, y, X_val, y_val, lr, num_epochs, runs / "healthy"
    )

    # --8<-- [start:ex2-run]
    for name, model, inputs in [
        ("healthy", healthy_model, X),
        ("cm", cm_model, X_cm),
    ]:
        dead = ", ".join(f"{f:.0%}" for f in dead_fraction(model, inputs))
        print(f"{name:<8} dead units per ReLU layer: {dead}")
    # --8<-- [end:ex2-run]


def main() -> None:
    # Run alone, this file works in a temporary folder and leaves nothing.
    home = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            exercises()
        finally:
            os.chdir(home)


if __name__ == "__main__":
    main()
