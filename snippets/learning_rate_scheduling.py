"""Lesson 3.2: learning-rate schedules from torch.optim.lr_scheduler (step,
exponential, linear warmup then cosine decay, one-cycle) checked against
their formulas; where scheduler.step() goes in the loop; a learning-rate
range test; the rate's effect on convergence; why Adam is warmed up."""

import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
# --8<-- [start:imports]
import copy
import textwrap
import warnings
from dataclasses import dataclass, field

from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    OneCycleLR,
    SequentialLR,
    StepLR,
)

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, log_scale, seed_everything


# --8<-- [start:formulas]
def cosine_between(start: float, end: float, p: float) -> float:
    """c(start, end, p): half a cosine wave from start (p = 0) to end (1)."""
    return end + (start - end) * (1 + math.cos(math.pi * p)) / 2


def warmup_then_cosine(
    t: int, lr: float, warmup_steps: int, total_steps: int, f: float = 0.01
) -> float:
    """Step t's rate: f * lr up to lr in a line, then a half cosine to 0."""
    if t < warmup_steps:
        return lr * (f + (1 - f) * t / warmup_steps)
    p = (t - warmup_steps) / (total_steps - warmup_steps)
    return cosine_between(lr, 0.0, p)


def one_cycle(t: int, max_lr: float, total_steps: int) -> float:
    """OneCycleLR's rate at step t, with its defaults."""
    lr_0, t_1 = max_lr / 25, 0.3 * total_steps - 1  # first rate, peak step
    if t <= t_1:
        return cosine_between(lr_0, max_lr, t / t_1)
    p = (t - t_1) / (total_steps - 1 - t_1)
    return cosine_between(max_lr, lr_0 / 1e4, p)


# --8<-- [end:formulas]


# --8<-- [start:warmup-cosine]
def warmup_cosine(
    optimizer: Optimizer,
    warmup_steps: int,
    total_steps: int,
    start_factor: float = 0.01,
    lr_min: float = 0.0,
) -> SequentialLR:
    """Linear warmup from start_factor * lr to lr, then cosine decay to
    lr_min at total_steps. Step it after every optimizer.step()."""
    warmup = LinearLR(optimizer, start_factor, total_iters=warmup_steps)
    decay = CosineAnnealingLR(optimizer, total_steps - warmup_steps, lr_min)
    return SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])


def warmup_cosine_lambda(
    optimizer: Optimizer, warmup_steps: int, total_steps: int, f: float = 0.01
) -> LambdaLR:
    """The same (with lr_min = 0): LambdaLR multiplies each group's rate by
    the formula's value for a rate of 1."""
    return LambdaLR(
        optimizer,
        lambda t: warmup_then_cosine(t, 1.0, warmup_steps, total_steps, f),
    )


# --8<-- [end:warmup-cosine]


# --8<-- [start:rates-used]
def rates_used(
    lr: float,
    build: Callable[[Optimizer], LRScheduler],
    num_epochs: int,
    steps_per_epoch: int = 1,
    placement: str = "batch",
) -> list[float]:
    """The rate of every step of SGD at rate lr under the scheduler `build`
    makes, with scheduler.step() after each optimizer.step() ("batch"),
    after each epoch ("epoch"), before each step ("before"), or never."""
    w = torch.zeros(1, requires_grad=True)  # no gradient: step() moves nothing
    optimizer = torch.optim.SGD([w], lr=lr)
    scheduler = build(optimizer)
    rates = []
    for _ in range(num_epochs):
        for _ in range(steps_per_epoch):
            if placement == "before":
                scheduler.step()  # wrong: too early
            rates.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            if placement == "batch":
                scheduler.step()
        if placement == "epoch":
            scheduler.step()
    return rates


# --8<-- [end:rates-used]


# --8<-- [start:train]
@dataclass
class Run:
    rates: list[float] = field(default_factory=list)  # one per step
    losses: list[float] = field(default_factory=list)  # start, after each step


def loss_on(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return F.binary_cross_entropy_with_logits(model(X), y).item()


def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    optimizer: Optimizer,
    scheduler: LRScheduler | None,
    num_steps: int,
    batch_size: int,
    generator: torch.Generator,
    stop_above: float = math.inf,
) -> Run:
    """Mini-batch training for num_steps, or until the loss on all points
    passes stop_above times its lowest; the scheduler steps after each."""
    run = Run(losses=[loss_on(model, X, y)])
    while True:
        order = torch.randperm(len(X), generator=generator).to(X.device)
        for batch in order.split(batch_size):
            run.rates.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.zero_grad()  # zero the gradients
            logits = model(X[batch])  # forward
            loss = F.binary_cross_entropy_with_logits(logits, y[batch])  # loss
            loss.backward()  # backward
            optimizer.step()  # step
            if scheduler is not None:
                scheduler.step()  # after optimizer.step(): the next rate
            run.losses.append(loss_on(model, X, y))
            if len(run.rates) == num_steps:
                return run
            if run.losses[-1] > stop_above * min(run.losses):
                return run


# --8<-- [end:train]


# --8<-- [start:range-test]
def steepest_fall(run: Run) -> float:
    """The rate of the step that lowered the loss most, on the smooth part
    of the curve: before the first loss 2% above the lowest before it."""
    losses, end = run.losses, 1
    while end < len(losses) and losses[end] <= 1.02 * min(losses[:end]):
        end += 1
    drops = [losses[k] - losses[k + 1] for k in range(end - 1)]
    return run.rates[drops.index(max(drops))]  # step k: loss k to loss k + 1


# --8<-- [end:range-test]


# --8<-- [start:draw-schedules]
def draw_schedules(
    rates: dict[str, list[float]],
    formulas: dict[str, list[float]],
    names: tuple[str, str],
    unit: str,
) -> None:
    """Two stacked panels: two schedules' recorded rates as markers (at most
    40 of them) on their formulas, drawn as lines."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 6.0), layout="constrained")
    parts = []
    for ax, name in zip(axes, names, strict=True):
        t = range(len(rates[name]))
        every = max(1, len(t) // 40)
        ax.plot(t, formulas[name], "-", color="0.6", lw=3, label="formula")
        ax.plot(
            list(t)[::every],
            rates[name][::every],
            "o",
            ms=5,
            mfc="none",
            color="tab:blue",
            label="scheduler",
        )
        ax.set_title(name)
        ax.set_xlabel(unit)
        ax.set_ylabel("learning rate")
        ax.legend(loc="upper right")
        peak = max(rates[name])
        parts.append(
            f"{name}: from {rates[name][0]:.3g} (peak {peak:.3g}) to "
            f"{rates[name][-1]:.3g} over {len(rates[name])} {unit}s"
        )
    fig.set_label(
        "Two panels, the learning rate against the "
        f"{unit}; in each, circles (the scheduler's rates) sit on a grey "
        "line (the formula). " + "; ".join(parts) + "."
    )
    plt.show()


# --8<-- [end:draw-schedules]


# --8<-- [start:draw-range-test]
def draw_range_test(run: Run, steepest: float) -> None:
    """The loss on all points after each step of the range test, against
    the rate that step used, on a log axis; the steepest fall marked."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    ax.plot(run.rates, run.losses[1:], "-o", ms=3)
    ax.axvline(steepest, color="gray", ls="--", lw=1)
    log_scale(ax, "x")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss after the step")
    ax.set_title("Learning-rate range test")
    lowest = min(run.losses)
    at = run.rates[run.losses.index(lowest) - 1]  # losses[0]: the start's
    fig.set_label(
        "The loss after each step of the range test against its learning "
        f"rate, on a log axis from {run.rates[0]:g} to {run.rates[-1]:.2g}: "
        f"flat near {run.losses[0]:.2f} up to about 0.01, then falling "
        f"smoothly, fastest near {steepest:.2g} (a dashed vertical line); "
        "past about 1 it turns ragged, with spikes, reaches its lowest, "
        f"{lowest:.2f}, at {at:.2g}, then shoots up to {run.losses[-1]:.2f} "
        "where the test stops."
    )
    plt.show()


# --8<-- [end:draw-range-test]


# --8<-- [start:draw-runs]
STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D"]


def draw_runs(runs: dict[str, Run], steps_per_epoch: int) -> None:
    """Two stacked panels against the step: the loss on all points (log
    scale), then the rate each step used (log scale)."""
    fig, (ax_loss, ax_lr) = plt.subplots(
        2, 1, figsize=(5.4, 6.4), layout="constrained"
    )
    for i, (name, run) in enumerate(runs.items()):
        style = {"ls": STYLES[i], "marker": MARKERS[i], "lw": 1.5, "ms": 5}
        every = (4 * i, 4 * steps_per_epoch)  # staggered, so none hides
        ax_loss.plot(run.losses, markevery=every, label=name, **style)
        ax_lr.plot(run.rates, markevery=every, label=name, **style)
    for ax in (ax_loss, ax_lr):
        log_scale(ax)
        ax.set_xlabel("step")
    ax_loss.set_yticks([0.03, 0.1, 0.3, 1, 3], ["0.03", "0.1", "0.3", "1", "3"])
    ax_loss.tick_params(axis="y", which="minor", labelleft=False)
    ax_loss.set_title("Loss on all points (legend below)")
    ax_loss.set_ylabel("loss (log scale)")
    ax_lr.legend(loc="lower left", ncols=2)
    ax_lr.set_title("Learning rate")
    ax_lr.set_ylabel("rate (log scale)")
    ends = [f"lr {name} at {run.losses[-1]:.3f}" for name, run in runs.items()]
    fig.set_label(
        "Top, on a log scale: the loss on all points after every step for "
        "four runs from the same start; they end: " + ", ".join(ends) + ". "
        "Bottom, on a log scale: the rate each run used; three are flat "
        "lines, the schedule rises for its warmup and then falls along half a "
        "cosine wave towards zero."
    )
    plt.show()


# --8<-- [end:draw-runs]


# --8<-- [start:draw-warmup]
def draw_warmup(runs: dict[str, Run]) -> None:
    """One panel: the loss on all points over Adam's first steps, with and
    without warmup."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    for (name, run), style, marker in zip(
        runs.items(), ("-", "--"), ("o", "s"), strict=False
    ):
        ax.plot(run.losses, ls=style, marker=marker, ms=4, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss on all points")
    ax.set_title("Adam's first steps")
    ax.legend(loc="upper right")
    highs = [f"{name} peaks at {max(r.losses):.2f}" for name, r in runs.items()]
    fig.set_label(
        "The loss on all points over Adam's first "
        f"{len(next(iter(runs.values())).rates)} steps, from "
        f"{next(iter(runs.values())).losses[0]:.2f}: " + ", ".join(highs) + "."
        " Without warmup the loss jumps up over the first steps before it "
        "falls; with warmup it falls from the start."
    )
    plt.show()


# --8<-- [end:draw-warmup]


def main() -> None:
    # --8<-- [start:writes-lr]
    a = torch.zeros(1, requires_grad=True)  # parameters that never get
    b = torch.zeros(1, requires_grad=True)  # a gradient: nothing trains
    optimizer: Optimizer = torch.optim.SGD([a], lr=2.0)
    optimizer.add_param_group({"params": [b], "lr": 0.2})  # a second group
    groups = optimizer.param_groups
    print("before:", [group["lr"] for group in groups])
    scheduler: LRScheduler = warmup_cosine(optimizer, 24, total_steps=240)
    print("built: ", [group["lr"] for group in groups])
    print("initial_lr:", [group["initial_lr"] for group in groups])
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    last_lr = [round(float(lr), 4) for lr in scheduler.get_last_lr()]
    print("get_last_lr(), 3 steps later:", last_lr)
    # --8<-- [end:writes-lr]

    # --8<-- [start:schedules]
    W, T = 24, 240  # warmup steps, total steps
    rates = {
        "StepLR": rates_used(1.0, lambda o: StepLR(o, 10, gamma=0.5), 30),
        "ExponentialLR": rates_used(1.0, lambda o: ExponentialLR(o, 0.9), 30),
        "warmup, cosine": rates_used(2.0, lambda o: warmup_cosine(o, W, T), T),
        "LambdaLR": rates_used(2.0, lambda o: warmup_cosine_lambda(o, W, T), T),
        "OneCycleLR": rates_used(2.0, lambda o: OneCycleLR(o, 2.0, T), T),
    }
    formulas = {
        "StepLR": [0.5 ** (t // 10) for t in range(30)],
        "ExponentialLR": [0.9**t for t in range(30)],
        "warmup, cosine": [warmup_then_cosine(t, 2.0, W, T) for t in range(T)],
        "OneCycleLR": [one_cycle(t, 2.0, T) for t in range(T)],
    }
    formulas["LambdaLR"] = formulas["warmup, cosine"]
    for name, used in rates.items():
        pairs = zip(used, formulas[name], strict=True)
        gap = max(abs(lr - formula) for lr, formula in pairs)
        print(f"{name:<15}{len(used):>4} rates, largest gap {gap:.1e}")
    # --8<-- [end:schedules]

    # --8<-- [start:plot-schedules]
    draw_schedules(rates, formulas, ("StepLR", "ExponentialLR"), "epoch")
    draw_schedules(rates, formulas, ("warmup, cosine", "OneCycleLR"), "step")
    # --8<-- [end:plot-schedules]

    # --8<-- [start:momentum]
    optimizer = torch.optim.Adam([a], lr=0.001)  # beta1 is 0.9 by default
    scheduler = OneCycleLR(optimizer, max_lr=2.0, total_steps=T)
    print("Adam's betas at step 0: ", optimizer.param_groups[0]["betas"])
    for _ in range(71):  # to the peak
        optimizer.step()
        scheduler.step()
    print("at step 71, the peak:  ", optimizer.param_groups[0]["betas"])
    optimizer = torch.optim.SGD([a], lr=0.1)  # plain SGD: momentum=0
    OneCycleLR(optimizer, max_lr=2.0, total_steps=T)
    print("SGD's momentum at step 0:", optimizer.param_groups[0]["momentum"])
    # --8<-- [end:momentum]

    # --8<-- [start:placements]
    def warmup(o: Optimizer) -> LRScheduler:
        return warmup_cosine(o, W, T)

    after = rates_used(2.0, warmup, 30, 8, "batch")  # 30 epochs of 8 batches
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # record every warning, raise none
        before = rates_used(2.0, warmup, 30, 8, "before")
    print(textwrap.fill(f"{caught[0].category.__name__}: {caught[0].message}"))
    for name, used in (("after:", after), ("before:", before)):
        shown = [f"{lr:.3g}" for lr in used]
        print(f"{name:<8}{', '.join(shown[:4])} ... {', '.join(shown[-2:])}")
    # --8<-- [end:placements]

    # --8<-- [start:per-batch]
    def halve_every_10(o: Optimizer) -> LRScheduler:
        return StepLR(o, step_size=10, gamma=0.5)

    per_epoch = rates_used(1.0, halve_every_10, 30, 8, "epoch")
    per_batch = rates_used(1.0, halve_every_10, 30, 8, "batch")
    never = rates_used(2.0, warmup, 30, 8, "never")
    epochs = (1, 2, 3, 11, 21, 30)
    print("the rate at each epoch's first step")
    print("epoch:    ", " ".join(f"{epoch:>8}" for epoch in epochs))
    for name, used in (("per epoch:", per_epoch), ("per batch:", per_batch)):
        firsts = [used[8 * (epoch - 1)] for epoch in epochs]  # each's 1st step
        print(name, " ".join(f"{lr:>8.3g}" for lr in firsts))
    print(f"never stepped: {len(never)} steps, all at {set(never)}")
    # --8<-- [end:per-batch]

    # --8<-- [start:moons]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(256, device)
    start = nn.Sequential(  # 2 -> 32 -> 32 -> 1, ReLUs
        nn.Linear(2, 32),
        nn.ReLU(),
        nn.Linear(32, 32),
        nn.ReLU(),
        nn.Linear(32, 1),
    ).to(device)
    batch_size, steps_per_epoch = 32, 8
    num_params = sum(p.numel() for p in start.parameters())
    print(f"{len(X)} points, {num_params} parameters")
    # --8<-- [end:moons]

    # --8<-- [start:range-run]
    model = copy.deepcopy(start)
    saved = copy.deepcopy(model.state_dict())  # the test trains the model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    gamma = (100 / 0.001) ** (1 / 99)  # from 0.001 to 100 in 100 steps
    grow = ExponentialLR(optimizer, gamma)
    generator = torch.Generator().manual_seed(0)
    test = train(model, X, y, optimizer, grow, 100, batch_size, generator, 4.0)
    model.load_state_dict(saved)  # back to the weights we started from
    print(f"{len(test.rates)} steps, up to rate {test.rates[-1]:.3g}")
    print(f"the loss fell fastest at rate {steepest_fall(test):.3g}")
    same = zip(model.parameters(), start.parameters(), strict=True)
    print("weights back to the start:", all(torch.equal(p, q) for p, q in same))
    # --8<-- [end:range-run]

    # --8<-- [start:plot-range-test]
    draw_range_test(test, steepest_fall(test))
    # --8<-- [end:plot-range-test]

    # --8<-- [start:runs]
    runs = {}
    for lr in (0.01, 0.5, 8.0, 2.0):  # the last one under warmup_cosine
        model = copy.deepcopy(start)  # the same start and batches for all
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        schedule = warmup_cosine(optimizer, W, T) if lr == 2.0 else None
        generator = torch.Generator().manual_seed(0)
        run = train(model, X, y, optimizer, schedule, T, batch_size, generator)
        name = f"{lr:g}" + (", scheduled" if schedule else "")
        runs[name] = run
        last = run.losses[-5 * steps_per_epoch :]  # the last 5 epochs
        print(f"lr {name:<13} loss {run.losses[-1]:.3f};", end=" ")
        print(f"last 5 epochs {min(last):.3f} to {max(last):.3f}")
    # --8<-- [end:runs]

    # --8<-- [start:plot-runs]
    draw_runs(runs, steps_per_epoch)
    # --8<-- [end:plot-runs]

    # --8<-- [start:adam-first-step]
    model = copy.deepcopy(start)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.3)
    w0 = nn.utils.parameters_to_vector(model.parameters()).detach()  # (1185,)
    generator = torch.Generator().manual_seed(0)
    train(model, X, y, optimizer, None, 1, batch_size, generator)  # one step
    moves = (nn.utils.parameters_to_vector(model.parameters()) - w0).abs()
    grads = [p.grad.flatten() for p in model.parameters() if p.grad is not None]
    g = torch.cat(grads).abs()
    moved = g > 0
    print(f"{int(moved.sum())} of {len(g)} gradients are not 0;", end=" ")
    print(f"their sizes: {g[moved].min():.1e} to {g.max():.1e}")
    print(f"their moves: {moves[moved].min():.3f} to {moves.max():.3f}")
    print(f"median size of a parameter at the start: {w0.abs().median():.3f}")
    # --8<-- [end:adam-first-step]

    # --8<-- [start:warmup-runs]
    warmups = {}
    for warmup_steps in (1, 20):  # 1 warmup step: no warmup at all
        model = copy.deepcopy(start)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.3)
        ramp = LinearLR(optimizer, 1 / warmup_steps, total_iters=warmup_steps)
        generator = torch.Generator().manual_seed(0)
        run = train(model, X, y, optimizer, ramp, 40, batch_size, generator)
        name = "no warmup" if warmup_steps == 1 else "20 warmup steps"
        warmups[name] = run
        top = max(run.losses)
        print(f"{name:<15}: highest loss {top:.2f} (step", end=" ")
        print(f"{run.losses.index(top)}), {run.losses[-1]:.2f} at step 40")
    # --8<-- [end:warmup-runs]

    # --8<-- [start:plot-warmup]
    draw_warmup(warmups)
    # --8<-- [end:plot-warmup]


if __name__ == "__main__":
    main()
