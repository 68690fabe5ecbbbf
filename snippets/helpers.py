"""The course's two shared helpers: pick a device, seed every random generator."""

# --8<-- [start:device]
import random

import torch


def get_device() -> torch.device:
    """Return the fastest device here: an NVIDIA GPU, then an Apple GPU, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# --8<-- [end:device]


# --8<-- [start:seed]
def seed_everything(seed: int) -> None:
    """Make every random draw repeatable: Python's and PyTorch's, on every device."""
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators


# --8<-- [end:seed]


if __name__ == "__main__":
    seed_everything(0)
    print(f"device: {get_device()}")
    print(f"first random number: {torch.rand(1).item():.4f}")
