"""Solutions to the exercises of lesson 2.4, The Role of Activations."""

import torch.nn.functional as F

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from role_of_activations import (
    ACTIVATIONS,
    Activation,
    accuracy,
    init_params,
    train,
)


def main() -> None:
    # The lesson's data, its start and its learning rate (the page has them).
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)  # to train on
    X_test, y_test = make_moons(1000, device)  # fresh points, to test on
    sizes, lr, num_epochs = [2, 16, 16, 1], 0.4, 1000

    # --8<-- [start:ex1-run]
    tries = [("sigmoid", 4 * lr), ("sigmoid", 16 * lr), ("tanh", 16 * lr)]
    for name, lr_tried in tries:
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


if __name__ == "__main__":
    main()
