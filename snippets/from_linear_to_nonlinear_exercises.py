"""Solutions to the exercises of lesson 2.1, From Linear to Nonlinear: Why
Neural Networks?"""

import math

import torch
import torch.nn.functional as F
from torch import nn

# isort: split
from from_linear_to_nonlinear import (
    accuracy,
    max_error,
    relu_interpolant,
    train,
)
from helpers import get_device, seed_everything


# --8<-- [start:ex1]
def count_parameters(model: nn.Module) -> int:
    """How many numbers training adjusts: every entry of every parameter."""
    return sum(p.numel() for p in model.parameters())


def count_by_formula(sizes: list[int]) -> int:
    """Sizes [n_0, ..., n_L]: n_in * n_out weights, n_out biases a layer."""
    inputs, outputs = sizes[:-1], sizes[1:]  # each layer's n_in and n_out
    return sum(
        n_in * n_out + n_out
        for n_in, n_out in zip(inputs, outputs, strict=True)
    )


def make_mlp(sizes: list[int]) -> nn.Sequential:
    """nn.Linear layers of the given sizes with a ReLU between each two."""
    inputs, outputs = sizes[:-1], sizes[1:]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(inputs, outputs, strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no activation after the output


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def xor_network() -> nn.Sequential:
    """A 2 -> 2 -> 1 ReLU network with weights set by hand: logit
    ReLU(x1 + x2) - 2 ReLU(x1 + x2 - 1) - 0.5."""
    hidden = nn.Linear(2, 2)
    output = nn.Linear(2, 1)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
        hidden.bias.copy_(torch.tensor([0.0, -1.0]))
        output.weight.copy_(torch.tensor([[1.0, -2.0]]))
        output.bias.fill_(-0.5)
    return nn.Sequential(hidden, nn.ReLU(), output)


# --8<-- [end:ex2]


def main() -> None:
    # The lesson's settings (the lesson page already has them).
    seed_everything(0)
    device = get_device()
    x_low, x_high = -math.pi, math.pi

    # --8<-- [start:ex1-run]
    for sizes in ([2, 64, 64, 1], [784, 128, 10]):
        model = make_mlp(sizes)
        print(
            f"{sizes}: formula {count_by_formula(sizes)}, "
            f"PyTorch {count_parameters(model)}"
        )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    X_xor = torch.tensor(
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=device
    )
    y_xor = torch.tensor([[0.0], [1.0], [1.0], [0.0]], device=device)
    xor_net = xor_network().to(device)
    with torch.no_grad():
        logits = xor_net(X_xor)
    for point, logit, label in zip(X_xor, logits, y_xor, strict=True):
        print(
            f"x = {point.tolist()}: logit {logit.item():+.1f}, "
            f"class {int(logit.item() > 0)}, label {int(label.item())}"
        )
    print(f"accuracy: {accuracy(xor_net, X_xor, y_xor):.0%}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    x_train = torch.linspace(x_low, x_high, 200, device=device)[:, None]
    y_train = torch.sin(x_train)  # (200, 1)
    seed_everything(0)  # the same random start on every run
    trained = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1)).to(
        device
    )
    # the lesson's loop, with Module 1's loss in place of the cross-entropy
    losses = train(trained, x_train, y_train, 0.05, 3000, loss_fn=F.mse_loss)
    hand_made = relu_interpolant(torch.sin, x_low, x_high, 16).to(device)
    with torch.no_grad():
        hand_loss = F.mse_loss(hand_made(x_train), y_train).item()
    print(
        f"trained:   loss {losses[999]:.5f}, {losses[1999]:.5f}, "
        f"{losses[2999]:.5f} after 1000, 2000, 3000 epochs; largest error "
        f"{max_error(trained, torch.sin, x_low, x_high, device):.4f}"
    )
    print(
        f"hand-made: loss {hand_loss:.5f}; largest error "
        f"{max_error(hand_made, torch.sin, x_low, x_high, device):.4f}"
    )
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
