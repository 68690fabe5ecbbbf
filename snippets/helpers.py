"""The course's shared helpers: pick a device, seed every generator, label a
log-scale axis in plain numbers."""

# --8<-- [start:helpers]
import random
from typing import Literal

import torch
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.ticker import LogFormatter


def get_device() -> torch.device:
    """Return the fastest device here: an NVIDIA GPU, then an Apple GPU, then
    the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Make every random draw repeatable: Python's and PyTorch's, any device."""
    random.seed(seed)
    torch.manual_seed(seed)  # seeds the CPU, CUDA and MPS generators alike


class PlainLogFormatter(LogFormatter):
    """matplotlib's choice of which log-scale ticks to label, written as plain
    numbers: 0.6 and 1e-06 rather than 6x10^-1 and 10^-6."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def log_scale(ax: Axes, axis: Literal["x", "y"] = "y") -> None:
    """Put one axis of a plot on a log scale, with ticks labelled as plain
    numbers (0.1, 1, 10, 6) rather than powers of ten (10^-1, 6x10^0)."""
    if axis == "y":
        ax.set_yscale("log")
    else:
        ax.set_xscale("log")
    target: Axis = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PlainLogFormatter())
    # minor ticks (2, 3, 5, ...) get labels only on a short axis, as by default
    target.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


# --8<-- [end:helpers]


if __name__ == "__main__":
    print(f"This machine trains on: {get_device()}")
