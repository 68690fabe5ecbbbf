"""Lesson 3.6: a training loop that logs loss, accuracy, gradient norms and
update-to-weight ratios to TensorBoard, a healthy run read back from its
event files, five common failures reproduced with their signatures, and
three debugging habits."""

import math
import tempfile
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn

# isort: split
# --8<-- [start:imports]
import os
import re
import shutil
import warnings
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)
from torch.utils.tensorboard import SummaryWriter

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, log_scale, seed_everything


# --8<-- [start:model]
def mlp() -> nn.Sequential:
    """2 -> 32 -> 32 -> 1 with ReLUs, from the same seeded draw every time."""
    seed_everything(0)
    return nn.Sequential(
        nn.Linear(2, 32),
        nn.ReLU(),
        nn.Linear(32, 32),
        nn.ReLU(),
        nn.Linear(32, 1),
    )


# --8<-- [end:model]


# --8<-- [start:measure]
def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Each linear layer's weight matrix, named layer1, layer2, ..."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return {f"layer{i}": m.weight for i, m in enumerate(linears, start=1)}


def grad_norms(model: nn.Module) -> dict[str, float]:
    """The norm of each weight matrix's gradient, and of all gradients
    (weights and biases) stacked into one vector."""
    norms = {
        f"grad_norm/{name}": w.grad.norm().item()
        for name, w in weights(model).items()
        if w.grad is not None
    }
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    total = torch.stack([g.norm() for g in grads]).norm()
    norms["grad_norm/total"] = total.item()
    return norms


def update_ratios(
    before: dict[str, torch.Tensor], model: nn.Module
) -> dict[str, float]:
    """||w_after - w_before|| / ||w_before|| for each weight matrix."""
    return {
        f"update_ratio/{name}": (
            (w.detach() - before[name]).norm() / before[name].norm()
        ).item()
        for name, w in weights(model).items()
    }


def evaluate(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor
) -> tuple[float, float]:
    """Loss and accuracy (logit > 0 means class 1), without gradients."""
    with torch.no_grad():
        logits = model(X)  # (N, 1)
        loss = F.binary_cross_entropy_with_logits(logits, y)
        accuracy = ((logits > 0).float() == y).float().mean()
    return loss.item(), accuracy.item()


# --8<-- [end:measure]


# --8<-- [start:tensorboard]
def log_scalars(
    writer: SummaryWriter, step: int, scalars: dict[str, float]
) -> None:
    """One step's numbers; a tag "loss/train" goes in the section "loss"."""
    for tag, value in scalars.items():
        writer.add_scalar(tag, value, step)


Series = tuple[list[int], list[float]]  # (steps, values)


def read_scalars(logdir: Path) -> dict[str, Series]:
    """Every scalar a run logged, read back from its event files."""
    # The default keeps up to 10,000 points per scalar tag: plenty here.
    events = EventAccumulator(str(logdir))
    events.Reload()
    return {
        tag: (
            [e.step for e in events.Scalars(tag)],
            [e.value for e in events.Scalars(tag)],
        )
        for tag in events.Tags()["scalars"]
    }


# --8<-- [end:tensorboard]


# --8<-- [start:train]
def train_logged(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    lr: float,
    num_epochs: int,
    logdir: Path,
    zero_grad: bool = True,
    max_norm: float | None = None,
) -> None:
    """Full-batch SGD on the BCE with logits, logging every step to
    `logdir`. `zero_grad=False` reproduces a bug; `max_norm` clips."""
    shutil.rmtree(logdir, ignore_errors=True)  # a fresh folder per run
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with SummaryWriter(logdir) as writer:  # closed (and flushed) at the end
        for step in range(num_epochs):
            if zero_grad:
                optimizer.zero_grad()  # 1. zero the gradients
            logits = model(X)  # 2. forward: (N, 1)
            loss = F.binary_cross_entropy_with_logits(logits, y)  # 3. loss
            loss.backward()  # 4. backward
            scalars = grad_norms(model)  # before clipping, if any
            if max_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            val_loss, val_accuracy = evaluate(model, X_val, y_val)
            before = {n: w.detach().clone() for n, w in weights(model).items()}
            optimizer.step()  # 5. step
            scalars |= update_ratios(before, model)
            accuracy = ((logits > 0).float() == y).float().mean().item()
            scalars |= {
                "loss/train": loss.item(),
                "loss/val": val_loss,
                "accuracy/train": accuracy,
                "accuracy/val": val_accuracy,
            }
            log_scalars(writer, step, scalars)
            if not torch.isfinite(loss):
                break  # nothing after a nan is worth logging


# --8<-- [end:train]


# --8<-- [start:summarize]
def summarize(name: str, run: dict[str, Series]) -> None:
    """One line per run: steps logged and the last values that matter."""
    last = {tag: values[-1] for tag, (_, values) in run.items()}
    print(
        f"{name:<16}{len(run['loss/train'][0]):>6}"
        f"{last['loss/train']:>8.3f}{last['accuracy/val']:>8.2f}"
        f"{max(run['grad_norm/total'][1]):>10.3g}"
        f"{last['update_ratio/layer2']:>14.1e}"
    )


def print_header() -> None:
    print(
        f"{'run':<16}{'steps':>6}{'loss':>8}{'val acc':>8}"
        f"{'max ‖g‖':>10}{'ratio layer2':>14}"
    )


# --8<-- [end:summarize]


# --8<-- [start:draw-healthy]
STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "x"]


def draw_series(
    ax: Axes,
    series: dict[str, Series],
    every: int,
    ylabel: str,
    legend: bool = True,
) -> None:
    """Several logged series on one axis, each with its line and marker;
    the legend, if any, sits above the axis, off the data."""
    for i, (label, (steps, values)) in enumerate(series.items()):
        ax.plot(
            steps,
            values,
            STYLES[i % 4],
            marker=MARKERS[i % 4],
            markevery=every,
            markersize=4,
            label=label,
        )
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=3)


def draw_healthy(run: dict[str, Series]) -> None:
    """Four stacked panels of the healthy run: loss, accuracy, gradient norm
    per layer, update ratio per layer."""
    fig, axes = plt.subplots(4, 1, figsize=(5.4, 10), layout="constrained")
    every = 30
    draw_series(
        axes[0],
        {s: run[f"loss/{s}"] for s in ("train", "val")},
        every,
        "loss",
    )
    draw_series(
        axes[1],
        {s: run[f"accuracy/{s}"] for s in ("train", "val")},
        every,
        "accuracy",
    )
    draw_series(
        axes[2],
        {f"layer {i}": run[f"grad_norm/layer{i}"] for i in (1, 2, 3)},
        every,
        "gradient norm",
    )
    draw_series(
        axes[3],
        {f"layer {i}": run[f"update_ratio/layer{i}"] for i in (1, 2, 3)},
        every,
        "update / weight",
    )
    log_scale(axes[2])
    log_scale(axes[3])
    axes[3].set_xlabel("step")
    loss = run["loss/train"][1]
    ratios = run["update_ratio/layer2"][1]
    fig.set_label(
        "Four panels of the healthy run, read from its TensorBoard logs. "
        f"Training loss falls from {loss[0]:.2f} to {loss[-1]:.2f}, "
        "validation loss with it; both accuracies rise; the gradient norms "
        "of the three layers, on a log scale, are largest in the first steps "
        "and then stay of the same size; the update-to-weight "
        f"ratio of layer 2 goes from {ratios[0]:.0e} to {ratios[-1]:.0e}."
    )
    plt.show()


# --8<-- [end:draw-healthy]


# --8<-- [start:draw-failures]
def draw_compare(
    runs: dict[str, dict[str, Series]], top: str, bottom: str
) -> None:
    """Two stacked panels: the tag `top` and the tag `bottom` for each run,
    on a log scale unless the tag is an accuracy; a loss panel is cut at
    100, so that one huge spike does not squash the other runs."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 6.4), layout="constrained")
    for ax, tag in zip(axes, (top, bottom), strict=True):
        series = {n: r[tag] for n, r in runs.items()}
        draw_series(ax, series, 30, tag, legend=False)
        if not tag.startswith("accuracy"):
            log_scale(ax)
        if (
            tag.startswith("loss")
            and max(max(v) for _, v in series.values()) > 100
        ):
            ax.set_ylim(top=100)
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="outside upper center",
        ncols=2,
    )
    axes[1].set_xlabel("step")
    lines = "; ".join(
        f"{name}: {top} from {min(r[top][1]):.3g} to {max(r[top][1]):.3g}, "
        f"{bottom} from {min(r[bottom][1]):.3g} to {max(r[bottom][1]):.3g}"
        for name, r in runs.items()
    )
    fig.set_label(
        f"Two panels, {top} on top and {bottom} below, for each run over its "
        f"{len(next(iter(runs.values()))[top][0])} logged steps, read from "
        f"TensorBoard logs. Ranges: {lines}."
    )
    plt.show()


# --8<-- [end:draw-failures]


# --8<-- [start:anomaly]
def backward_with_anomaly_check(loss_of: Callable[[], torch.Tensor]) -> str:
    """Build the loss and run backward under detect_anomaly; return its
    error and the function whose forward line made the bad operation (its
    warnings are collected, to keep them out of the output)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # record every warning
        try:
            with torch.autograd.detect_anomaly():
                loss_of().backward()
        except RuntimeError as error:
            # one warning holds the traceback of the forward call; its
            # last frame outside torch is the line we wrote
            text = "".join(str(w.message) for w in caught)
            frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', text)
            ours = [
                f for path, f in frames if f"{os.sep}torch{os.sep}" not in path
            ]
            where = ours[-1] if ours else "?"
            return f"RuntimeError: {error}\nforward call in: {where}()"
    return "no nan in the backward pass"


# --8<-- [end:anomaly]


def demo() -> None:
    """The page's demonstrations, logging to runs/ in the current folder."""
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(400, device, noise=0.2)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(400, generator=generator).to(device)
    X, y = X_all[order[:200]], y_all[order[:200]]  # training set
    X_val, y_val = X_all[order[200:]], y_all[order[200:]]  # validation set
    runs = Path("runs")  # one subfolder per run
    # --8<-- [end:data]

    # --8<-- [start:init-loss]
    model = mlp().to(device)
    with torch.no_grad():
        logits = model(X)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    print(f"loss at the start: {loss.item():.4f}, ln 2 = {math.log(2):.4f}")
    print(f"logits at the start: {logits.abs().max().item():.3f} at most")
    # --8<-- [end:init-loss]

    # --8<-- [start:overfit-batch]
    X_tiny, y_tiny = X[:8], y[:8]
    model = mlp().to(device)
    train_logged(model, X_tiny, y_tiny, X_val, y_val, 0.5, 300, runs / "tiny")
    tiny = read_scalars(runs / "tiny")
    first, last = tiny["loss/train"][1][0], tiny["loss/train"][1][-1]
    print(f"8 points, loss: {first:.3f} at step 0, {last:.4f} at step 299")
    # --8<-- [end:overfit-batch]

    # --8<-- [start:healthy]
    lr, num_epochs = 0.5, 300
    healthy_model = mlp().to(device)  # kept for Exercise 2
    train_logged(
        healthy_model, X, y, X_val, y_val, lr, num_epochs, runs / "healthy"
    )
    healthy = read_scalars(runs / "healthy")
    print(sorted(healthy))
    print_header()
    summarize("healthy", healthy)
    # --8<-- [end:healthy]

    # --8<-- [start:plot-healthy]
    draw_healthy(healthy)
    # --8<-- [end:plot-healthy]

    # --8<-- [start:lr-failures]
    for name, rate in [("lr_0.005", 0.005), ("lr_5", 5.0)]:
        model = mlp().to(device)
        train_logged(model, X, y, X_val, y_val, rate, num_epochs, runs / name)
    model = mlp().to(device)
    train_logged(
        model, X, y, X_val, y_val, 5.0, num_epochs, runs / "lr_5_clip_1",
        max_norm=1.0,
    )  # fmt: skip
    lr_runs = {
        name: read_scalars(runs / name)
        for name in ("healthy", "lr_0.005", "lr_5", "lr_5_clip_1")
    }
    print_header()
    for name, run in lr_runs.items():
        summarize(name, run)
    # --8<-- [end:lr-failures]

    # --8<-- [start:plot-lr]
    draw_compare(lr_runs, "loss/train", "grad_norm/total")
    # --8<-- [end:plot-lr]

    # --8<-- [start:bugs]
    model = mlp().to(device)  # bug 1: no optimizer.zero_grad()
    train_logged(
        model, X, y, X_val, y_val, lr, num_epochs, runs / "no_zero_grad",
        zero_grad=False,
    )  # fmt: skip
    model = nn.Sequential(*mlp(), nn.Sigmoid()).to(device)  # bug 2
    train_logged(model, X, y, X_val, y_val, lr, num_epochs, runs / "sigmoid")
    shuffle = torch.randperm(200, generator=torch.Generator().manual_seed(1))
    y_shuffled = y[shuffle.to(device)]  # bug 3: labels shuffled alone
    model = mlp().to(device)
    train_logged(
        model, X, y_shuffled, X_val, y_val, lr, num_epochs, runs / "shuffled"
    )
    bug_runs = {
        name: read_scalars(runs / name)
        for name in ("healthy", "no_zero_grad", "sigmoid", "shuffled")
    }
    print_header()
    for name, run in bug_runs.items():
        summarize(name, run)
    # --8<-- [end:bugs]

    # --8<-- [start:plot-bugs]
    draw_compare(bug_runs, "grad_norm/total", "accuracy/val")
    # --8<-- [end:plot-bugs]

    # --8<-- [start:anomaly-run]
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([1.0, 2.0])  # the same point: their distance is 0

    def distance() -> torch.Tensor:
        return torch.sqrt(((a - b) ** 2).sum())

    print(f"forward: {distance().item()}")
    print(backward_with_anomaly_check(distance))
    # --8<-- [end:anomaly-run]


def main() -> None:
    # The page logs to runs/ where it runs; run alone, this file works in a
    # temporary folder, so that it leaves nothing behind.
    home = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            demo()
        finally:
            os.chdir(home)


if __name__ == "__main__":
    main()
