"""Solutions to the exercises of lesson 2.4, The Role of Activations."""

import torch
import torch.nn.functional as F

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from role_of_activations import (
    ACTIVATIONS,
    Activation,
    Params,
    accuracy,
    dead_units,
    forward,
    init_params,
    layer_gradient_norms,
    train,
)


# --8<-- [start:ex3]
def copy_params(params: Params) -> Params:
    """A separate copy of the weights and biases, ready to train on its own."""
    return [
        (
            W.detach().clone().requires_grad_(),
            b.detach().clone().requires_grad_(),
        )
        for W, b in params
    ]


def never_positive(
    params: Params, X: torch.Tensor, activation: Activation
) -> list[int]:
    """For each hidden layer: how many units have a pre-activation <= 0 for
    every example (for ReLU, exactly the dead units)."""
    with torch.no_grad():
        _, Z_hidden = forward(X, params, activation)
    return [int((Z <= 0).all(dim=0).sum().item()) for Z in Z_hidden]


# --8<-- [end:ex3]


def main() -> None:
    # The lesson's data, its start and its learning rate (the page has them).
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)  # to train on
    X_test, y_test = make_moons(1000, device)  # fresh points, to test on
    sizes, lr, num_epochs = [2, 16, 16, 1], 0.4, 1000

    # --8<-- [start:ex1-run]
    for name, lr_tried in (
        ("sigmoid", 4 * lr),
        ("sigmoid", 16 * lr),
        ("tanh", 16 * lr),
    ):
        activation = ACTIVATIONS[name]
        params = init_params(sizes, device)  # the lesson's start
        losses = train(params, X, y, activation, lr_tried, num_epochs)
        print(
            f"{name}, lr {lr_tried:.1f}: loss {losses[-1].item():.4f}, "
            f"training {accuracy(params, X, y, activation):.1f}%, "
            f"test {accuracy(params, X_test, y_test, activation):.1f}%"
        )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    modern: dict[str, Activation] = {"GELU": F.gelu, "SiLU": F.silu}
    for name, activation in modern.items():
        params = init_params(sizes, device)
        losses = train(params, X, y, activation, lr, num_epochs)
        print(
            f"{name}: loss {losses[-1].item():.4f}, "
            f"training {accuracy(params, X, y, activation):.1f}%, "
            f"test {accuracy(params, X_test, y_test, activation):.1f}%"
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
        f"training accuracy {accuracy(params, X, y, F.leaky_relu):.1f}%, "
        f"never positive {never_positive(params, X, F.leaky_relu)}"
    )
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
