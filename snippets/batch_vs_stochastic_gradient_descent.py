"""Lesson 1.3: full-batch, stochastic and mini-batch gradient descent on the
same line."""

# --8<-- [start:imports]
import time
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch

# --8<-- [end:imports]
# isort: split
from helpers import get_device, seed_everything


# --8<-- [start:make-data]
def make_data(
    num_points: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points around the line y = 2x + 1 with Gaussian noise (std 0.5)."""
    X = torch.rand(num_points, 1) * 4 - 2  # (N, 1), uniform on [-2, 2)
    y = 2 * X + 1 + 0.5 * torch.randn(num_points, 1)  # (N, 1)
    # drawn on the CPU: the same points on every device
    return X.to(device), y.to(device)


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error over whichever examples y_hat and y hold."""
    return ((y_hat - y) ** 2).mean()


# --8<-- [end:make-data]


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
    """What one run records after every step (update)."""

    w: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    # time since the run started
    seconds: list[float] = field(default_factory=list)
    steps_per_epoch: int = 0


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
    history = History()
    start = time.perf_counter()
    for _ in range(num_epochs):
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
            history.seconds.append(time.perf_counter() - start)
    return history


# --8<-- [end:train]


# --8<-- [start:full-loss]
def full_losses(
    history: History, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """The loss on all N examples after every step, computed afterwards from the
    recorded w, b."""
    w = torch.tensor(history.w, device=X.device).unsqueeze(1)  # (S, 1)
    b = torch.tensor(history.b, device=X.device).unsqueeze(1)  # (S, 1)
    y_hat = w * X.T + b  # (S, N): row s holds the predictions after step s
    return ((y_hat - y.T) ** 2).mean(dim=1).cpu()  # (S,)


def best_loss(X: torch.Tensor, y: torch.Tensor) -> float:
    """The lowest loss any line can reach on these points (least squares,
    float64, CPU)."""
    # (N, 2): columns x and 1
    A = torch.cat([X, torch.ones_like(X)], dim=1).cpu().double()
    # (2, 1): [w, b]
    solution = torch.linalg.lstsq(A, y.cpu().double()).solution
    return mse(A @ solution, y.cpu().double()).item()


# --8<-- [end:full-loss]


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
    generator = torch.Generator().manual_seed(0)
    # warm-up: not timed, see below
    train(X, y, len(X), lr, num_epochs=1, generator=generator)
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
            f"{len(history.w):>6} {losses[name][-1].item():>11.4f}"
        )
    print(f"best possible loss (least squares): {best_loss(X, y):.4f}")
    # --8<-- [end:run]

    # --8<-- [start:every-parameter]
    sgd = runs["stochastic"]
    for step in range(3):
        print(
            f"after SGD step {step + 1}: "
            f"w = {sgd.w[step]:+.4f}, b = {sgd.b[step]:+.4f}"
        )
    w_moves = sum(
        after != before for before, after in zip(sgd.w, sgd.w[1:], strict=False)
    )
    b_moves = sum(
        after != before for before, after in zip(sgd.b, sgd.b[1:], strict=False)
    )
    print(
        f"of {len(sgd.w) - 1} later steps, "
        f"w changed on {w_moves} and b on {b_moves}"
    )
    # --8<-- [end:every-parameter]

    # --8<-- [start:plot-curves]
    fig, (ax_step, ax_epoch) = plt.subplots(1, 2, figsize=(10, 4))
    for name, history in runs.items():
        steps = torch.arange(1, len(history.w) + 1)
        ax_step.plot(steps, losses[name], label=name, lw=1)
        epoch_ends = losses[name][
            history.steps_per_epoch - 1 :: history.steps_per_epoch
        ]
        ax_epoch.plot(
            torch.arange(1, num_epochs + 1), epoch_ends, marker=".", label=name
        )
    ax_step.set_xscale("log")
    ax_step.set_title("Loss per update")
    ax_step.set_xlabel("step (log scale)")
    ax_epoch.set_title("Loss per epoch")
    ax_epoch.set_xlabel("epoch")
    for ax in (ax_step, ax_epoch):
        ax.set_yscale("log")
        ax.set_ylabel("loss on all points (log scale)")
        ax.legend()
    fig.tight_layout()
    fig.set_label(
        "Left: loss against the number of updates; the three curves fall at "
        "a similar rate per update, the stochastic one jittering. Right: loss "
        "at the end of each epoch; stochastic and mini-batch reach the floor "
        "within the first epochs, full batch takes many more."
    )
    plt.show()
    # --8<-- [end:plot-curves]

    # --8<-- [start:plot-time]
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, history in runs.items():
        ax.plot(history.seconds, losses[name], label=name, lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("Loss per second of compute (this machine, this run)")
    ax.set_xlabel("time since the run started (s, log scale)")
    ax.set_ylabel("loss on all points (log scale)")
    ax.legend()
    fig.set_label(
        "Loss against measured wall-clock time for the three runs, both axes "
        "logarithmic; the exact positions of the curves depend on the machine "
        "that built this page."
    )
    plt.show()
    # --8<-- [end:plot-time]

    # --8<-- [start:noise]
    floor = best_loss(X, y)
    fig, ax = plt.subplots(figsize=(7, 4))
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
        last_epochs = full_losses(history, X, y)[-300:]  # the last three epochs
        excess = last_epochs - floor
        ax.plot(
            torch.arange(len(history.w) - 300, len(history.w)),
            excess,
            label=f"lr = {sgd_lr}",
        )
        print(
            f"SGD, lr = {sgd_lr}: last 3 epochs, "
            f"loss above the best by {excess.mean().item():.4f} on average, "
            f"{excess.max().item():.4f} at worst"
        )
    ax.set_yscale("log")
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
    # --8<-- [end:noise]


if __name__ == "__main__":
    main()
