"""Lesson 2.7, exercises: a network without its activation, the cost of a
step, and the largest learning rates."""

import torch
import torch.nn.functional as F
from torch import nn

# isort: split
# --8<-- [start:imports]
from torch.utils.flop_counter import FlopCounterMode

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import train
from helpers import get_device, seed_everything
from linear_regression import make_data
from recap_network_vs_linear_regression import (
    make_line,
    make_net,
    make_wavy_data,
)


# --8<-- [start:ex2]
def flops_per_step(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor
) -> tuple[int, int]:
    """The floating-point operations PyTorch counts in one step's forward
    pass with its loss, and in its backward pass (matrix products only)."""
    forward_count = FlopCounterMode(display=False)
    backward_count = FlopCounterMode(display=False)
    with forward_count:
        loss = F.mse_loss(model(X), y)
    with backward_count:
        loss.backward()
    return forward_count.get_total_flops(), backward_count.get_total_flops()


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def line_learning_rate_limit(X: torch.Tensor) -> float:
    """2 / lambda_max for the line's MSE, whose Hessian is 2 [[mean x^2,
    mean x], [mean x, 1]]; in float64 on the CPU (Apple GPUs have none)."""
    x = X.cpu().double().flatten()
    H = 2 * torch.tensor(
        [[(x**2).mean(), x.mean()], [x.mean(), 1.0]], dtype=torch.float64
    )
    lambda_max = float(torch.linalg.eigvalsh(H)[-1])  # eigenvalues ascending
    return 2 / lambda_max


# --8<-- [end:ex3]


def main() -> None:
    # The lesson's data (the lesson page already has them).
    seed_everything(0)
    device = get_device()
    make_data(100, device)  # the straight data, drawn first on the page
    X_wavy, y_wavy = make_wavy_data(100, device)
    num_hidden = 64

    # --8<-- [start:ex1-run]
    seed_everything(0)
    linear_net = nn.Sequential(  # the lesson's network without its ReLU
        nn.Linear(1, num_hidden), nn.Linear(num_hidden, 1)
    ).to(device)
    losses_linear = train(linear_net, X_wavy, y_wavy, 0.02, 500, F.mse_loss)
    first, second = linear_net[0], linear_net[1]
    assert isinstance(first, nn.Linear)
    assert isinstance(second, nn.Linear)
    w = (second.weight @ first.weight).item()  # W2 W1: (1, H) @ (H, 1)
    b = (second.weight @ first.bias + second.bias).item()  # W2 b1 + b2
    print(f"loss after 500 steps: {losses_linear[-1]:.4f}")
    print(f"as one line: w = {w:.4f}, b = {b:.4f}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    for model in (make_line(), make_net(num_hidden, seed=0)):
        model = model.to(device)
        forward_flops, backward_flops = flops_per_step(model, X_wavy, y_wavy)
        count = sum(p.numel() for p in model.parameters())
        print(
            f"{count:>3} parameters: forward {forward_flops:>6,} FLOPs, "
            f"backward {backward_flops:>6,}"
        )
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    limit = line_learning_rate_limit(X_wavy)
    print(f"the line's limit on the wavy data: 2 / lambda_max = {limit:.4f}")
    for kind, lr in (
        ("line", 0.95 * limit),
        ("line", 1.05 * limit),
        ("net", 0.1),
        ("net", 0.2),
    ):
        model = make_line() if kind == "line" else make_net(num_hidden, seed=0)
        run = train(model.to(device), X_wavy, y_wavy, lr, 200, F.mse_loss)
        print(
            f"{kind} at lr {lr:.3f}: highest loss {max(run):.3g}, "
            f"after 200 steps {run[-1]:.3g}"
        )
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
