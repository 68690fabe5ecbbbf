"""Solutions to the exercises of lesson 2.4, The Role of Activations."""

import torch
import torch.nn.functional as F

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from role_of_activations import (
    Activation,
    Params,
    accuracy,
    dead_units,
    forward,
    init_params,
    layer_gradient_norms,
    train,
)


# --8<-- [start:ex1]
def copy_params(params: Params) -> Params:
    """A separate copy of the weights and biases, ready to train on its own."""
    return [
        (
            W.detach().clone().requires_grad_(),
            b.detach().clone().requires_grad_(),
        )
        for W, b in params
    ]


# --8<-- [end:ex1]


# --8<-- [start:ex3]
def never_positive(
    params: Params, X: torch.Tensor, activation: Activation
) -> list[int]:
    """For each hidden layer: how many units have a pre-activation <= 0 for
    every example (for ReLU, exactly the dead units)."""
    with torch.no_grad():
        _, Z_hidden = forward(X, params, activation)
    return [int((Z <= 0).all(dim=0).sum().item()) for Z in Z_hidden]


# --8<-- [end:ex3]


# --8<-- [start:ex4]
def sigmoid_as_tanh(params: Params) -> Params:
    """Weights for a tanh network that computes exactly what the sigmoid
    network with `params` computes, using sigmoid(z) = (1 + tanh(z/2)) / 2."""
    converted = []
    for number, (W, b) in enumerate(params):
        W, b = W.detach(), b.detach()
        if number > 0:
            # this layer's input was sigmoid(z) = 1/2 + tanh(z/2)/2: the
            # tanh part arrives through W/2, the constant 1/2 as W @ (1/2, ...)
            W, b = W / 2, b + W.sum(dim=1) / 2
        if number < len(params) - 1:
            # a hidden layer: hand tanh z/2 instead of z
            W, b = W / 2, b / 2
        converted.append((W, b))
    return converted


# --8<-- [end:ex4]


def main() -> None:
    # The lesson's data, its start and its learning rate (the page has them).
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)
    sizes, lr, num_epochs = [2, 16, 16, 1], 0.4, 1000
    runs = {"sigmoid": init_params(sizes, device)}
    train(runs["sigmoid"], X, y, torch.sigmoid, lr, num_epochs)

    # --8<-- [start:ex1-run]
    params = copy_params(runs["sigmoid"])  # the lesson's run: 1000 epochs
    for total in (2000, 3000):
        more = train(params, X, y, torch.sigmoid, lr, num_epochs=1000)
        print(
            f"sigmoid after {total} epochs: loss {more[-1].item():.4f}, "
            f"accuracy {accuracy(params, X, y, torch.sigmoid):.1f}%"
        )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    modern: dict[str, Activation] = {"GELU": F.gelu, "SiLU": F.silu}
    for name, activation in modern.items():
        params = init_params(sizes, device)
        losses = train(params, X, y, activation, lr, num_epochs)
        print(
            f"{name}: loss {losses[-1].item():.4f}, "
            f"accuracy {accuracy(params, X, y, activation):.1f}%"
        )
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    start = init_params(sizes, device)
    with torch.no_grad():
        start[1][1].sub_(1.0)  # b2: every bias of the second layer, minus 1
    print(f"dead units per hidden layer at the start: {dead_units(start, X)}")
    for name, activation in (
        ("ReLU", torch.relu),
        ("Leaky ReLU", F.leaky_relu),
    ):
        norms = layer_gradient_norms(start, X, y, activation)
        print(
            f"{name}: at the start, norm of dL/dW1 {norms[0]:.1e}, "
            f"of dL/dW2 {norms[1]:.1e}"
        )
    params = copy_params(start)
    losses = train(params, X, y, F.leaky_relu, lr, num_epochs)
    print(
        f"Leaky ReLU after {num_epochs} epochs: loss {losses[-1].item():.4f}, "
        f"accuracy {accuracy(params, X, y, F.leaky_relu):.1f}%, "
        f"never positive {never_positive(params, X, F.leaky_relu)}"
    )
    # --8<-- [end:ex3-run]

    # --8<-- [start:ex4-run]
    # float64 on the CPU: the two networks should agree to rounding error
    # (Apple's MPS has no float64)
    X64 = X.cpu().double()
    # the lesson's trained sigmoid network
    sigmoid_net = [
        (W.detach().cpu().double(), b.detach().cpu().double())
        for W, b in runs["sigmoid"]
    ]
    tanh_net = sigmoid_as_tanh(sigmoid_net)
    sigmoid_logits, _ = forward(X64, sigmoid_net, torch.sigmoid)
    tanh_logits, _ = forward(X64, tanh_net, torch.tanh)
    gap = (sigmoid_logits - tanh_logits).abs().max().item()
    print(f"largest difference between the two networks' logits: {gap:.1e}")
    # --8<-- [end:ex4-run]


if __name__ == "__main__":
    main()
