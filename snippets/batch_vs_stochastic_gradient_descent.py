"""Lesson 1.3: full-batch, stochastic and mini-batch gradient descent on the
same line."""

# --8<-- [start:imports]
import statistics
import time
from dataclasses import dataclass, field
from itertools import pairwise

import matplotlib.pyplot as plt
import torch

# --8<-- [end:imports]
# isort: split
from helpers import get_device, log_scale, seed_everything
from linear_regression import make_data, mse


# --8<-- [start:batches]
def make_batches(
    num_points: int, batch_size: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """One epoch: shuffle the indices 0..N-1, then cut them into consecutive
    batches."""
    # a new order every epoch
    order = torch.randperm(num_points, generator=generator)
    # the last batch is smaller if B does not divide N
    return list(order.split(batch_size))


# --8<-- [end:batches]


# --8<-- [start:train]
@dataclass
class History:
    """What one run records: w and b at the start (entry 0) and after every
    step (entry s is after step s), and how long each epoch took."""

    # default_factory=list gives every History its own new empty list; a
    # plain `= []` would be one list shared by all (dataclasses reject it)
    w: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    # seconds per epoch: its shuffle, its split and all its steps
    epoch_seconds: list[float] = field(default_factory=list)
    steps_per_epoch: int = 0

    @property
    def num_steps(self) -> int:
        """Steps taken: one fewer than the recorded values."""
        return len(self.w) - 1


def train(
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    lr: float,
    num_epochs: int,
    generator: torch.Generator,
) -> History:
    """Gradient descent on y_hat = w * X + b, each step on batch_size shuffled
    examples."""
    w = torch.zeros((), device=X.device, requires_grad=True)
    b = torch.zeros((), device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    history = History(w=[w.item()], b=[b.item()])  # the start: entry 0
    for _ in range(num_epochs):
        start = time.perf_counter()
        batches = make_batches(len(X), batch_size, generator)
        history.steps_per_epoch = len(batches)
        for batch in batches:
            # (B, 1) each
            X_batch, y_batch = X[batch.to(X.device)], y[batch.to(X.device)]
            optimizer.zero_grad()  # zero the gradients
            y_hat = w * X_batch + b  # forward, on this batch only
            loss = mse(y_hat, y_batch)  # loss, averaged over the batch
            loss.backward()  # backward: fills w.grad and b.grad
            optimizer.step()  # step: both parameters move
            # .item() also waits for a GPU to finish the step
            history.w.append(w.item())
            history.b.append(b.item())
        history.epoch_seconds.append(time.perf_counter() - start)
    return history


# --8<-- [end:train]


# --8<-- [start:full-loss]
def full_losses(
    history: History, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """The loss on all N examples at the start and after every step, computed
    afterwards from the recorded w, b."""
    w = torch.tensor(history.w, device=X.device).unsqueeze(1)  # (S + 1, 1)
    b = torch.tensor(history.b, device=X.device).unsqueeze(1)  # (S + 1, 1)
    y_hat = w * X.T + b  # (S + 1, N): row s holds the predictions after s steps
    return ((y_hat - y.T) ** 2).mean(dim=1).cpu()  # (S + 1,)


def best_loss(X: torch.Tensor, y: torch.Tensor) -> float:
    """The lowest loss any line can reach on these points: least squares
    solves for the best w, b directly, with no steps (float64, CPU)."""
    # (N, 2): row i is [x_i, 1], so A @ [w, b] is the column of w * x_i + b
    A = torch.cat([X, torch.ones_like(X)], dim=1).cpu().double()
    # (2, 1): [w, b]
    solution = torch.linalg.lstsq(A, y.cpu().double()).solution
    return mse(A @ solution, y.cpu().double()).item()


# --8<-- [end:full-loss]


# --8<-- [start:moves]
def count_moves(values: list[float]) -> int:
    """How many steps changed a parameter: every recorded value against the
    one before it, starting from the start, so each step is counted once."""
    return sum(after != before for before, after in pairwise(values))


# --8<-- [end:moves]


# --8<-- [start:draw-curves]
def draw_curves(
    runs: dict[str, History], losses: dict[str, torch.Tensor], num_epochs: int
) -> None:
    """The loss on all points per update (top, log steps) and after each
    epoch (bottom), one curve per method."""
    fig, (ax_step, ax_epoch) = plt.subplots(
        2, 1, figsize=(5.4, 7), layout="constrained"
    )
    for name, history in runs.items():
        loss = losses[name].cpu()
        # stochastic's jitter goes faint and underneath, so that the curves
        # it crosses stay visible
        style = {"alpha": 0.45, "zorder": 1} if name == "stochastic" else {}
        steps = torch.arange(history.num_steps + 1)  # 0 = the start
        ax_step.plot(steps, loss, label=name, lw=1, **style)
        # the loss after 0, 1, 2, ... epochs
        epoch_ends = loss[:: history.steps_per_epoch]
        epochs = torch.arange(num_epochs + 1)
        ax_epoch.plot(epochs, epoch_ends, marker=".", label=name, **style)
    # linear from 0 to 1, logarithmic beyond: step 0 stays on the axis
    ax_step.set_xscale("symlog", linthresh=1)
    ax_step.set_xticks([0, 1, 10, 100, 1000], ["0", "1", "10", "100", "1000"])
    ax_step.set_title("Loss per update")
    ax_step.set_xlabel("step (0 = start; log scale beyond 1)")
    ax_epoch.set_title("Loss per epoch")
    ax_epoch.set_xlabel("epoch (0 = start)")
    for ax in (ax_step, ax_epoch):
        log_scale(ax)
        ax.set_ylabel("loss on all points (log scale)")
        ax.legend()
    fig.set_label(
        "Top: loss against the number of updates; all three runs start from "
        "the same loss at step 0 and fall steeply over the first ten to "
        "twenty updates, the stochastic one after a smaller first drop and an "
        "almost flat second step; then full batch settles smoothly while "
        "stochastic keeps jittering. Bottom: loss after each epoch, from the "
        "start; stochastic and mini-batch are near the floor after the first "
        "epoch, full batch takes many more."
    )
    plt.show()


# --8<-- [end:draw-curves]


# --8<-- [start:draw-time]
def draw_time(
    runs: dict[str, History],
    losses: dict[str, torch.Tensor],
    step_seconds: dict[str, float],
) -> None:
    """The loss on all points against estimated compute time (steps times
    the median time per step), one curve per method."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    for name, history in runs.items():
        # from step 1: time 0 has no place on a log axis
        steps = torch.arange(1, history.num_steps + 1)
        milliseconds = steps * step_seconds[name] * 1000
        ax.plot(milliseconds, losses[name][1:].cpu(), label=name, lw=1)
    log_scale(ax, "x")
    log_scale(ax)
    ax.set_title("Loss against compute time (estimated on this machine)")
    ax.set_xlabel("steps times median time per step (ms, log scale)")
    ax.set_ylabel("loss on all points (log scale)")
    ax.legend()
    fig.tight_layout()
    fig.set_label(
        "Loss against estimated compute time, both axes logarithmic: each "
        "curve is its per-update curve from the previous figure's top panel, "
        "with the step count multiplied by that method's median time per step "
        "measured on the machine that built this page. A full-batch step costs "
        "far less than 100 SGD steps, so all three reach the floor within a "
        "similar short time; "
        "afterwards the stochastic curve keeps jumping while the other two "
        "stay close to the floor."
    )
    plt.show()


# --8<-- [end:draw-time]


# --8<-- [start:draw-noise]
def draw_noise(
    steps: torch.Tensor, excesses: dict[float, torch.Tensor]
) -> None:
    """SGD's loss above the best possible one at the given steps, one curve
    per learning rate."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    for sgd_lr, excess in excesses.items():
        ax.plot(steps.cpu(), excess.cpu(), label=f"lr = {sgd_lr}")
    log_scale(ax)
    ax.set_title("SGD never settles: its last three epochs")
    ax.set_xlabel("step")
    ax.set_ylabel("loss minus best possible loss (log scale)")
    ax.legend()
    fig.set_label(
        "The excess loss of SGD over its last three epochs for two learning "
        "rates: both keep jumping up and down, and the smaller rate jumps "
        "around a level far closer to the best."
    )
    plt.show()


# --8<-- [end:draw-noise]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_data(num_points=100, device=device)
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    # --8<-- [end:data]

    # --8<-- [start:show-batches]
    generator = torch.Generator().manual_seed(0)
    for batch in make_batches(num_points=10, batch_size=4, generator=generator):
        print(f"a batch of {len(batch)}: indices {batch.tolist()}")
    # --8<-- [end:show-batches]

    # --8<-- [start:run]
    lr = 0.1
    num_epochs = 30
    batch_sizes = {"full batch": len(X), "mini-batch": 10, "stochastic": 1}
    runs = {}
    for name, batch_size in batch_sizes.items():
        # the same shuffles for every run
        generator = torch.Generator().manual_seed(0)
        runs[name] = train(X, y, batch_size, lr, num_epochs, generator)
    losses = {
        name: full_losses(history, X, y) for name, history in runs.items()
    }
    print(
        f"{'':<11} {'B':>4} {'steps/epoch':>12} {'steps':>6} {'final loss':>11}"
    )
    for name, history in runs.items():
        print(
            f"{name:<11} {batch_sizes[name]:>4} {history.steps_per_epoch:>12} "
            f"{history.num_steps:>6} {losses[name][-1].item():>11.4f}"
        )
    print(f"best possible loss (least squares): {best_loss(X, y):.4f}")
    # --8<-- [end:run]

    # --8<-- [start:every-parameter]
    sgd = runs["stochastic"]
    for step in range(4):  # step 0 is the start, step s is after s updates
        w, b = sgd.w[step], sgd.b[step]
        print(f"SGD, step {step}: w = {w:+.4f}, b = {b:+.4f}")
    print(
        f"of {sgd.num_steps} steps, w changed on {count_moves(sgd.w)} "
        f"and b on {count_moves(sgd.b)}"
    )
    # --8<-- [end:every-parameter]

    # --8<-- [start:plot-curves]
    draw_curves(runs, losses, num_epochs)
    # --8<-- [end:plot-curves]

    # --8<-- [start:agreement]
    # Each example's own gradient at the start, w = 0 and b = 0: the formulas
    # for the batch gradients with B = 1, for all N examples at once.
    y_hat = 0.0 * X + 0.0  # (N, 1): the predictions of w = 0, b = 0
    errors = y_hat - y  # (N, 1)
    grad_w = 2 * errors * X  # (N, 1): one dL/dw per example
    grad_b = 2 * errors  # (N, 1): one dL/db per example
    for name, grads in (("w", grad_w), ("b", grad_b)):
        full = grads.mean()  # the full-batch gradient is their average
        opposite = (grads.sign() != full.sign()).sum().item()
        print(
            f"dL/d{name}: full batch {full.item():+.3f}; "
            f"{opposite} of {len(grads)} examples have the opposite sign"
        )
    # --8<-- [end:agreement]

    # --8<-- [start:plot-time]
    # Median time of one step: each epoch's time (its shuffle included) over
    # its number of steps, median over the 30 epochs of the run.
    step_seconds = {
        name: statistics.median(history.epoch_seconds) / history.steps_per_epoch
        for name, history in runs.items()
    }
    for name, seconds in step_seconds.items():
        print(f"{name:<11} median time per step: {seconds * 1e6:.0f} µs")
    draw_time(runs, losses, step_seconds)
    # --8<-- [end:plot-time]

    # --8<-- [start:noise]
    floor = best_loss(X, y)
    excesses = {}  # learning rate -> its excess loss over the last 3 epochs
    for sgd_lr in (0.1, 0.01):
        generator = torch.Generator().manual_seed(0)
        history = train(
            X,
            y,
            batch_size=1,
            lr=sgd_lr,
            num_epochs=num_epochs,
            generator=generator,
        )
        # the last three epochs: steps 2701 to 3000
        steps = torch.arange(history.num_steps + 1)[-300:]
        excess = full_losses(history, X, y)[-300:] - floor
        excesses[sgd_lr] = excess
        print(
            f"SGD, lr = {sgd_lr}: last 3 epochs, "
            f"loss above the best by {excess.mean().item():.4f} on average, "
            f"{excess.max().item():.4f} at worst"
        )
    draw_noise(steps, excesses)
    # --8<-- [end:noise]


if __name__ == "__main__":
    main()
