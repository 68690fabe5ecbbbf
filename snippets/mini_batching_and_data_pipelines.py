"""Lesson 2.5: mini-batches for a network with PyTorch's Dataset and
DataLoader: shuffling, drop_last, collate, the one-shot iterator trap, which
parameters a batch moves, samples per second against the batch size, and
worker processes."""

# --8<-- [start:imports]
import multiprocessing
import statistics
import time
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, TensorDataset, default_collate

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, log_scale, seed_everything


# --8<-- [start:dataset]
class Moons(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """The moons as a map-style data set: a length, and sample i on request."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.X, self.y = X, y  # (N, 2), (N, 1)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.X[i], self.y[i]  # (2,), (1,): one point, its label


# --8<-- [end:dataset]


# --8<-- [start:pad-collate]
def pad_collate(
    samples: list[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad with 0 to the longest: a (B, T) batch, and the lengths, (B,)."""
    lengths = torch.tensor([len(s) for s in samples])
    padded = pad_sequence(samples, batch_first=True, padding_value=0.0)
    return padded, lengths


# --8<-- [end:pad-collate]


# --8<-- [start:train]
def make_mlp(seed: int = 0) -> nn.Sequential:
    """Lesson 2.1's network, 2 -> 16 -> 1; the same seed, the same start."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))


def full_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """The loss on all of (X, y), without recording a graph."""
    with torch.no_grad():
        return F.binary_cross_entropy_with_logits(model(X), y).item()


def train(
    model: nn.Module,
    batches: Iterable[Sequence[torch.Tensor]],
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_epochs: int,
) -> tuple[list[float], list[int]]:
    """One pass over `batches` per epoch. Returns the loss on all of (X, y)
    after each epoch, and each epoch's number of steps."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses, steps = [], []
    for _ in range(num_epochs):
        num_steps = 0
        for X_batch, y_batch in batches:  # (B, 2), (B, 1), on the CPU
            X_batch, y_batch = X_batch.to(X.device), y_batch.to(X.device)
            optimizer.zero_grad()  # zero the gradients
            logits = model(X_batch)  # forward: (B, 1)
            loss = F.binary_cross_entropy_with_logits(logits, y_batch)  # loss
            loss.backward()  # backward
            optimizer.step()  # step
            num_steps += 1
        losses.append(full_loss(model, X, y))
        steps.append(num_steps)
    return losses, steps


# --8<-- [end:train]


# --8<-- [start:draw-epochs]
def plot_epochs(ax: Axes, runs: dict[str, list[float]]) -> str:
    """One line per run, the loss on all the data after each epoch, on a
    log scale labelled 0.05, 0.1, 0.2, ...; returns the lines' alt text."""
    for (name, losses), style in zip(
        runs.items(), ["-o", "--s", ":^"], strict=False
    ):
        epochs = range(1, len(losses) + 1)
        ax.plot(epochs, losses, style, markevery=5, label=name)
    log_scale(ax)
    low = min(min(losses) for losses in runs.values())
    high = max(max(losses) for losses in runs.values())
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2) if low <= t <= high]
    ax.set_yticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.set_yticks([], minor=True)
    ax.set_ylabel("loss (log scale)")
    ax.legend()
    return "; ".join(
        f"{name}, from {losses[0]:.2f} after epoch 1 to {losses[-1]:.2f} "
        f"after epoch {len(losses)}"
        for name, losses in runs.items()
    )


def draw_epochs(runs: dict[str, list[float]], note: str) -> None:
    """The loss on all the data after each epoch, one line per run (at most
    three); `note` ends the figure's alt text."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    lines = plot_epochs(ax, runs)
    ax.set_title("Loss on all 200 points after each epoch")
    ax.set_xlabel("epoch")
    fig.set_label(
        "The loss on all the data after each epoch, on a log scale: "
        f"{lines}. {note}"
    )
    plt.show()


# --8<-- [end:draw-epochs]


# --8<-- [start:zero-gradients]
def units_with_zero_gradient(
    model: nn.Sequential, loader: Iterable[Sequence[torch.Tensor]]
) -> list[int]:
    """Per batch: the hidden units whose incoming weights and bias all get
    a gradient of exactly 0."""
    hidden = model[0]
    assert isinstance(hidden, nn.Linear)
    counts = []
    for X_batch, y_batch in loader:
        logits = model(X_batch.to(hidden.weight.device))
        y_batch = y_batch.to(logits.device)
        loss = F.binary_cross_entropy_with_logits(logits, y_batch)
        # (16, 2), (16,): what backward() would put in their .grad
        W1_grad, b1_grad = torch.autograd.grad(
            loss, [hidden.weight, hidden.bias]
        )
        zero = (W1_grad == 0).all(dim=1) & (b1_grad == 0)  # (16,): per unit
        counts.append(int(zero.sum()))
    return counts


# --8<-- [end:zero-gradients]


# --8<-- [start:throughput]
def seconds_per_step(
    model: nn.Module, X_batch: torch.Tensor, y_batch: torch.Tensor
) -> float:
    """A training step's time: the median of 5 timings of 10 steps."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(10):
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
        loss.item()  # waits for a GPU to finish every step
        times.append((time.perf_counter() - start) / 10)
    return statistics.median(times)


def seconds_to_load(loader: DataLoader[Any], num_batches: int) -> float:
    """How long the loader takes to hand over its first num_batches."""
    start = time.perf_counter()
    for _ in islice(loader, num_batches):
        pass
    return time.perf_counter() - start


# --8<-- [end:throughput]


# --8<-- [start:draw-throughput]
def draw_throughput(
    batch_sizes: list[int], step: list[float], load: list[float]
) -> None:
    """Samples per second against the batch size, log-log: the training
    step alone, and the DataLoader alone."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    step_rate = [b / s for b, s in zip(batch_sizes, step, strict=True)]
    load_rate = [b / s for b, s in zip(batch_sizes, load, strict=True)]
    ax.plot(
        batch_sizes, [r / 1000 for r in step_rate], "-o", label="training step"
    )
    ax.plot(
        batch_sizes, [r / 1000 for r in load_rate], "--s", label="DataLoader"
    )
    log_scale(ax, "x")
    log_scale(ax)
    ax.set_xticks(batch_sizes, labels=[str(b) for b in batch_sizes])
    ax.set_xticks([], minor=True)
    ax.set_title("Throughput on the machine that built this page")
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel("thousand samples per second")
    ax.legend()
    fig.set_label(
        "Samples per second against the batch size, both on log scales. "
        f"The training step goes from {step_rate[0]:,.0f} at batch size 1 "
        f"to {step_rate[-1]:,.0f} at {batch_sizes[-1]}; the DataLoader "
        f"from {load_rate[0]:,.0f} to {load_rate[-1]:,.0f}, levelling off "
        "once batches hold a few dozen samples."
    )
    plt.show()


# --8<-- [end:draw-throughput]


# --8<-- [start:workers]
# A forked worker knows the classes a notebook defined; spawn needs a file.
# Windows cannot fork: run snippets/mini_batching_and_data_pipelines.py there.
START_METHOD = (
    "fork" if "fork" in multiprocessing.get_all_start_methods() else None
)


class SlowMoons(Moons):
    """Moons that take `seconds` per sample, like files read from a disk."""

    def __init__(
        self, X: torch.Tensor, y: torch.Tensor, seconds: float
    ) -> None:
        super().__init__(X, y)
        self.seconds = seconds

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        time.sleep(self.seconds)  # waiting, as for a disk: no work done
        return super().__getitem__(i)


def loader_with_workers(
    dataset: Dataset[Any], batch_size: int, num_workers: int
) -> DataLoader[Any]:
    """A loader shuffled from seed 0, its workers alive across epochs."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        num_workers=num_workers,
        multiprocessing_context=START_METHOD if num_workers > 0 else None,
        persistent_workers=num_workers > 0,
    )


# --8<-- [end:workers]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, torch.device("cpu"))  # the data set, on the CPU
    X_all, y_all = X.to(device), y.to(device)  # to measure the loss on
    # --8<-- [end:data]

    # --8<-- [start:dataset-demo]
    dataset = Moons(X, y)
    print(f"len(dataset) = {len(dataset)}, dataset[0] = {dataset[0]}")
    tensors = TensorDataset(X, y)  # PyTorch's ready-made one, for tensors
    print(f"len(tensors) = {len(tensors)}, tensors[0] = {tensors[0]}")
    # --8<-- [end:dataset-demo]

    # --8<-- [start:shuffle-demo]
    indices = TensorDataset(torch.arange(10))  # sample i is the tuple (i,)
    for name in ("a loader", "a new loader"):
        generator = torch.Generator().manual_seed(0)  # the same seed
        loader = DataLoader(indices, 4, shuffle=True, generator=generator)
        for epoch in (1, 2):  # each pass over the loader is a new epoch
            print(f"{name}, epoch {epoch}:", [b.tolist() for (b,) in loader])
    # --8<-- [end:shuffle-demo]

    # --8<-- [start:drop-last-demo]
    model = make_mlp().to(device)  # untrained, and never updated here
    for drop_last in (False, True):
        generator = torch.Generator().manual_seed(0)
        loader = DataLoader(
            dataset, 64, shuffle=True, drop_last=drop_last, generator=generator
        )
        sizes, losses = [], []
        for X_batch, y_batch in loader:
            sizes.append(len(X_batch))
            losses.append(
                full_loss(model, X_batch.to(device), y_batch.to(device))
            )
        plain = sum(losses) / len(losses)
        weighted = sum(n * ell for n, ell in zip(sizes, losses, strict=True))
        print(
            f"drop_last={drop_last}: batches of {sizes}; mean loss "
            f"{plain:.4f}, weighted {weighted / sum(sizes):.4f}"
        )
    print(f"loss on all 200 points: {full_loss(model, X_all, y_all):.4f}")
    # --8<-- [end:drop-last-demo]

    # --8<-- [start:collate-demo]
    samples = [dataset[i] for i in range(4)]  # a list of 4 (x, y) tuples
    batch = default_collate(samples)
    print(f"{type(batch).__name__} of shapes {[tuple(t.shape) for t in batch]}")
    as_dicts = [{"x": x, "label": label.item()} for x, label in samples]
    batch = default_collate(as_dicts)  # "label" holds Python floats
    print({key: (tuple(v.shape), v.dtype) for key, v in batch.items()})
    # --8<-- [end:collate-demo]

    # --8<-- [start:pad-demo]
    sequences = [  # a batch of 4 samples of lengths 3, 1, 4 and 2
        torch.tensor(s) for s in ([2.0, 4, 6], [5.0], [1.0, 1, 1, 1], [3.0, 9])
    ]
    try:
        default_collate(sequences)
    except RuntimeError as error:
        print(f"default_collate: {error}")
    padded, lengths = pad_collate(sequences)
    print(f"padded:\n{padded}\nlengths: {lengths}")
    mask = torch.arange(padded.shape[1]) < lengths[:, None]  # (B, T): real?
    real_mean = (padded * mask).sum(dim=1) / lengths
    print(f"mean of each row: {padded.mean(dim=1)}, of the real: {real_mean}")
    # --8<-- [end:pad-demo]

    # --8<-- [start:train-run]
    lr, num_epochs = 0.5, 50
    runs = {}
    for batch_size in (200, 16):
        generator = torch.Generator().manual_seed(0)
        loader = DataLoader(
            dataset, batch_size=batch_size, shuffle=True, generator=generator
        )
        model = make_mlp().to(device)  # the same start for every run
        losses, steps = train(model, loader, X_all, y_all, lr, num_epochs)
        runs[f"B = {batch_size}"] = losses
        print(
            f"B = {batch_size:>3}: {sum(steps):>3} steps ({steps[0]} per "
            f"epoch), loss {losses[-1]:.4f}"
        )
    # --8<-- [end:train-run]

    # --8<-- [start:trap-run]
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(
        dataset, batch_size=16, shuffle=True, generator=generator
    )
    batches = iter(loader)  # the bug: one pass over the data, made once
    model = make_mlp().to(device)
    stuck, steps = train(model, batches, X_all, y_all, lr, num_epochs)
    print(f"steps in epochs 1 to 5: {steps[:5]}, in all: {sum(steps)}")
    print(
        f"loss after epochs 1, 2 and 50: "
        f"{stuck[0]:.4f}, {stuck[1]:.4f}, {stuck[-1]:.4f}"
    )
    # --8<-- [end:trap-run]

    # --8<-- [start:plot-epochs]
    runs["B = 16, one pass only"] = stuck
    draw_epochs(runs, "The one-pass line stays flat after epoch 1.")
    # --8<-- [end:plot-epochs]

    # --8<-- [start:zero-gradients-run]
    model = make_mlp().to(device)  # the network at the start of training
    for batch_size in (1, 16, 200):
        loader = DataLoader(dataset, batch_size=batch_size)  # in order
        counts = units_with_zero_gradient(model, loader)
        print(
            f"B = {batch_size:>3}: {len(counts):>3} batches, on average "
            f"{statistics.mean(counts):.1f} of 16 units with zero gradient"
        )
    # --8<-- [end:zero-gradients-run]

    # --8<-- [start:throughput-run]
    X_big, y_big = make_moons(4096, torch.device("cpu"))
    big = TensorDataset(X_big, y_big)
    batch_sizes = [1, 4, 16, 64, 256, 1024, 4096]
    model = make_mlp().to(device)
    step, load = [], []
    for B in batch_sizes:
        X_batch, y_batch = X_big[:B].to(device), y_big[:B].to(device)
        step.append(seconds_per_step(model, X_batch, y_batch))
        loader = DataLoader(big, batch_size=B)
        num_batches = max(1, 1024 // B)  # about 1024 samples
        timings = [seconds_to_load(loader, num_batches) for _ in range(3)]
        load.append(min(timings) / num_batches)  # the fastest of 3 timings
    print(f"{'B':>5} {'step (ms)':>10} {'loading (ms)':>13}")
    for B, step_s, load_s in zip(batch_sizes, step, load, strict=True):
        print(f"{B:>5} {step_s * 1e3:>10.3f} {load_s * 1e3:>13.3f}")
    # --8<-- [end:throughput-run]

    # --8<-- [start:plot-throughput]
    draw_throughput(batch_sizes, step, load)
    # --8<-- [end:plot-throughput]

    # --8<-- [start:workers-timing]
    slow = SlowMoons(X[:100], y[:100], seconds=0.002)
    print(f"{'':<15} {'workers':>7} {'epoch 1':>8} {'epoch 2':>8}")
    for name, data in (("2 ms a sample", slow), ("in memory", dataset)):
        for num_workers in (0, 2):
            loader = loader_with_workers(data, 10, num_workers)
            first, second = [
                seconds_to_load(loader, len(loader)) for _ in range(2)
            ]
            print(f"{name:<15} {num_workers:>7} {first:>7.3f}s {second:>7.3f}s")
    # --8<-- [end:workers-timing]


if __name__ == "__main__":
    main()
