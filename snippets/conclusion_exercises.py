"""Solutions to the exercises of lesson 3.9, Conclusion: What's Next After the
Training Loop?"""

import copy

import torch
from torch import nn

# isort: split
from conclusion import (
    draws,
    make_signals,
    make_world,
    mean,
    near_centre,
    pretrain,
    same_sign,
    sector,
    transfer_sweep,
)
from helpers import get_device


# --8<-- [start:ex1]
def unrelated(
    body: nn.Sequential,
    X: torch.Tensor,
    z: torch.Tensor,
    X_val: torch.Tensor,
    z_val: torch.Tensor,
) -> dict[str, list[list[float]]]:
    """The three ways on the near-centre task, with 16 and 256 labels, three
    draws each."""
    y, y_val = near_centre(z).to(X.device), near_centre(z_val).to(X.device)
    hows = ["scratch", "frozen", "fine-tune"]
    return transfer_sweep(body, (X, y, X_val, y_val), [16, 256], hows, 3)


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def first_layer_frozen(body: nn.Sequential) -> nn.Sequential:
    """A copy of the body whose first layer is frozen; its second trains."""
    partly = copy.deepcopy(body)
    partly[0].requires_grad_(False)  # the first nn.Linear only
    return partly


# --8<-- [end:ex2]


def main() -> None:
    device = get_device()
    world = make_world()
    X_source, z_source = make_signals(2048, world, seed=1)
    X_target, z_target = make_signals(256, world, seed=2)
    X_val, z_val = make_signals(2000, world, seed=3)
    body, _, _ = pretrain(X_source.to(device), sector(z_source).to(device))
    X_target, X_val = X_target.to(device), X_val.to(device)
    y_target = same_sign(z_target).to(device)
    y_val = same_sign(z_val).to(device)
    data = (X_target, y_target, X_val, y_val)
    # --8<-- [start:ex1-run]
    scores = unrelated(body, X_target, z_target, X_val, z_val)
    print(f"near the centre: share {near_centre(z_val).mean().item():.3f}")
    for how, per_size in scores.items():
        print(f"{how:>9}: " + "  ".join(f"{mean(a):.3f}" for a in per_size))
    # --8<-- [end:ex1-run]
    # --8<-- [start:ex2-run]
    partly = first_layer_frozen(body)
    accs = draws(lambda d: partly, "fine-tune", data, 16, 5)
    print(f"first layer frozen, 16 labels: mean {mean(accs):.3f}")
    print("draw by draw: " + "  ".join(f"{a:.3f}" for a in accs))
    # --8<-- [end:ex2-run]
    # --8<-- [start:ex3-run]
    hows = ["scratch", "fine-tune"]
    more = transfer_sweep(body, data, [32, 128], hows, 5)
    for how, per_size in more.items():
        print(f"{how:>9}: " + "  ".join(f"{mean(a):.3f}" for a in per_size))
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
