"""The course's two shared helpers: pick a device, seed every generator."""

# --8<-- [start:helpers]
import random

import torch


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


# --8<-- [end:helpers]


if __name__ == "__main__":
    print(f"This machine trains on: {get_device()}")
