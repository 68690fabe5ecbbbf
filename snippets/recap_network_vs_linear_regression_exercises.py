"""Lesson 2.7, exercises: a network without its activation, the cost of a
step, and the largest learning rates."""

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parameters_to_vector

# isort: split
# --8<-- [start:ex3-imports]
from torch.func import functional_call

# --8<-- [end:ex3-imports]
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
def hessian_eigenvalues(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """The eigenvalues, ascending, of the Hessian of the model's MSE in all
    its parameters; in float64 on the CPU (Apple GPUs have no float64)."""
    cpu = torch.device("cpu")
    model64 = copy.deepcopy(model).to(cpu, torch.float64)
    X64, y64 = X.to(cpu, torch.float64), y.to(cpu, torch.float64)
    shapes = {name: p.shape for name, p in model64.named_parameters()}

    def loss_of(theta: torch.Tensor) -> torch.Tensor:  # all parameters, 1-D
        pieces = theta.split([shape.numel() for shape in shapes.values()])
        params = {
            name: piece.view(shapes[name])
            for name, piece in zip(shapes, pieces, strict=True)
        }
        return F.mse_loss(functional_call(model64, params, (X64,)), y64)

    theta = parameters_to_vector(model64.parameters()).detach()
    H = torch.autograd.functional.hessian(loss_of, theta)  # (P, P)
    assert isinstance(H, torch.Tensor)
    eigenvalues: torch.Tensor = torch.linalg.eigvalsh(H)
    return eigenvalues


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
    W1, b1, W2, b2 = linear_net.parameters()
    w = (W2 @ W1).item()  # W2 W1: (1, H) @ (H, 1)
    b = (W2 @ b1 + b2).item()  # W2 b1 + b2
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
    starts = {"line": make_line(), "net": make_net(num_hidden, seed=0)}
    for kind, start in starts.items():
        eig = hessian_eigenvalues(start, X_wavy, y_wavy)
        print(
            f"{kind} at its start: lambda_max {eig[-1]:.2f}, "
            f"lambda_min {eig[0]:.2f}, 2 / lambda_max = {2 / eig[-1]:.4f}"
        )
    for lr in (0.1, 0.2):
        net = copy.deepcopy(starts["net"]).to(device)
        run = train(net, X_wavy, y_wavy, lr, 200, F.mse_loss)
        print(
            f"net at lr {lr}: highest loss {max(run):.3g}, last {run[-1]:.3g}"
        )
    net = copy.deepcopy(starts["net"]).to(device)
    train(net, X_wavy, y_wavy, 0.05, 500, F.mse_loss)  # the lesson's run
    eig = hessian_eigenvalues(net, X_wavy, y_wavy)
    flat = (eig.abs() < 0.01).sum().item()
    print(
        f"after 500 steps: lambda_max {eig[-1]:.1f}, {flat} of 193 below 0.01"
    )
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
