"""Solutions to the exercises of lesson 2.2, Forward and Backward Passes."""

import torch
import torch.nn.functional as F

# isort: split
from forward_and_backward_passes import (
    EXAMPLE,
    PARAMETERS,
    WHERE,
    backward_by_hand,
    example_tensors,
    forward,
    forward_by_hand,
    grad_of,
    mse,
)


# --8<-- [start:ex1]
def sigmoid(z: float) -> float:
    """1 / (1 + e^(-z)) for a Python number, computed in float64."""
    return torch.sigmoid(torch.tensor(z, dtype=torch.float64)).item()


def sigmoid_gradient_w_11(p: dict[str, float]) -> tuple[float, float]:
    """dL/dw_11 with sigmoid hidden units: by the product of the local
    derivatives along its one path, and by autograd."""
    z_1 = p["w_11"] * p["x_1"] + p["w_21"] * p["x_2"] + p["b_1"]
    z_2 = p["w_12"] * p["x_1"] + p["w_22"] * p["x_2"] + p["b_2"]
    h_1, h_2 = sigmoid(z_1), sigmoid(z_2)
    y_hat = p["v_1"] * h_1 + p["v_2"] * h_2 + p["c"]
    # the path w_11 -> z_1 -> h_1 -> y_hat -> L
    local = {
        "dL/dy_hat": 2 * (y_hat - p["y"]),
        "dy_hat/dh_1": p["v_1"],
        "dh_1/dz_1": h_1 * (1 - h_1),  # the sigmoid's slope
        "dz_1/dw_11": p["x_1"],
    }
    by_hand = 1.0
    for name, value in local.items():
        print(f"{name:<11} = {value:.6f}")
        by_hand *= value  # the chain rule: multiply along the path

    X, y, W1, b1, W2, b2 = example_tensors(p)  # float64, CPU
    h = torch.sigmoid(X @ W1 + b1)
    mse(h @ W2 + b2, y).backward()
    return by_hand, grad_of(W1)[0, 0].item()


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def cross_entropy_gradients(
    p: dict[str, float], label: float
) -> tuple[float, float, dict[str, float]]:
    """The worked network with y_hat as a logit and binary cross-entropy
    for the given label: dL/dy_hat by the formula sigmoid(y_hat) - label and
    by autograd, and every parameter's gradient by autograd."""
    X, _, W1, b1, W2, b2 = example_tensors(p)
    _, _, logit = forward(X, W1, b1, W2, b2)
    logit.retain_grad()
    target = torch.tensor([[label]], dtype=torch.float64)
    F.binary_cross_entropy_with_logits(logit, target).backward()
    by_formula = torch.sigmoid(logit).item() - label
    tensors = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    grads = {}
    for name in PARAMETERS:
        tensor, index = WHERE[name]
        grads[name] = grad_of(tensors[tensor])[index].item()
    return by_formula, grad_of(logit).item(), grads


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def first_layer_gradients(
    p: dict[str, float], freeze_second: bool
) -> dict[str, torch.Tensor | None]:
    """One backward pass of the worked example, with or without the second
    layer frozen; returns every parameter's .grad."""
    X, y, W1, b1, W2, b2 = example_tensors(p)
    if freeze_second:
        W2.requires_grad_(False)
        b2.requires_grad_(False)
    _, _, y_hat = forward(X, W1, b1, W2, b2)
    mse(y_hat, y).backward()
    return {"W1": W1.grad, "b1": b1.grad, "W2": W2.grad, "b2": b2.grad}


# --8<-- [end:ex3]


def main() -> None:
    # --8<-- [start:ex1-run]
    by_hand, by_autograd = sigmoid_gradient_w_11(EXAMPLE)
    relu = backward_by_hand(forward_by_hand(EXAMPLE))["w_11"]
    print(f"dL/dw_11 with sigmoid: by hand {by_hand:.6f}")
    print(f"                       autograd {by_autograd:.6f}")
    print(f"difference: {abs(by_hand - by_autograd):.1e}")
    print(f"dL/dw_11 with ReLU: {relu:g}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    squared = backward_by_hand(forward_by_hand(EXAMPLE))
    for label in (0.0, 1.0):
        by_formula, by_autograd, grads = cross_entropy_gradients(EXAMPLE, label)
        print(f"label {label:g}: sigmoid(y_hat) - label = {by_formula:+.4f}")
        print(f"  dL/dy_hat by autograd:  {by_autograd:+.4f}")
        # each gradient over its squared-error counterpart
        ratios = {name: grads[name] / squared[name] for name in PARAMETERS}
        low, high = min(ratios.values()), max(ratios.values())
        print(f"  gradient / squared-error gradient: {low:.4f} to {high:.4f}")
    print(f"dL/dy_hat for the squared error: {squared['y_hat']:g}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    for freeze_second in (False, True):
        print(f"second layer frozen: {freeze_second}")
        layer_grads = first_layer_gradients(EXAMPLE, freeze_second)
        for name, grad in layer_grads.items():
            shown = None if grad is None else grad.flatten().tolist()
            print(f"  {name}.grad = {shown}")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
