"""Solutions to the exercises of lesson 2.2, Forward and Backward Passes."""

import torch
import torch.nn.functional as F

# isort: split
from forward_and_backward_passes import (
    PARAMETERS,
    backward_by_hand,
    example_tensors,
    forward,
    grad_entry,
    grad_of,
    mse,
    worked_example,
)


# --8<-- [start:ex1]
def sigmoid_gradient_w_11() -> tuple[float, float]:
    """dL/dw_11 with sigmoid hidden units: the product of the local
    derivatives along its one path, and autograd's answer."""
    X, y, W1, b1, W2, b2 = example_tensors()  # float64, CPU
    h = torch.sigmoid(X @ W1 + b1)
    y_hat = h @ W2 + b2
    mse(y_hat, y).backward()
    h_1 = h[0, 0].item()
    path = {  # w_11 -> z_1 -> h_1 -> y_hat -> L
        "dL/dy_hat": 2 * (y_hat - y).item(),
        "dy_hat/dh_1": W2[0, 0].item(),  # v_1
        "dh_1/dz_1": h_1 * (1 - h_1),  # the sigmoid's slope
        "dz_1/dw_11": X[0, 0].item(),  # x_1
    }
    by_hand = 1.0
    for name, value in path.items():
        print(f"{name:<11} = {value:.6f}")
        by_hand *= value  # the chain rule: multiply along the path
    return by_hand, grad_of(W1)[0, 0].item()


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def cross_entropy_gradients(label: float) -> tuple[float, dict[str, float]]:
    """The worked network with y_hat as a logit and binary cross-entropy
    for the given label: dL/dy_hat and every parameter's gradient."""
    X, _, W1, b1, W2, b2 = example_tensors()
    _, _, logit = forward(X, W1, b1, W2, b2)
    logit.retain_grad()
    target = torch.tensor([[label]], dtype=torch.float64)
    F.binary_cross_entropy_with_logits(logit, target).backward()
    tensors = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    grads = {name: grad_entry(tensors, name) for name in PARAMETERS}
    return grad_of(logit).item(), grads


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def layer_gradients(freeze_second: bool) -> dict[str, torch.Tensor | None]:
    """One backward pass of the worked example, with or without the second
    layer frozen; returns every parameter's .grad."""
    X, y, W1, b1, W2, b2 = example_tensors()
    if freeze_second:
        W2.requires_grad_(False)
        b2.requires_grad_(False)
    mse(forward(X, W1, b1, W2, b2)[2], y).backward()
    return {"W1": W1.grad, "b1": b1.grad, "W2": W2.grad, "b2": b2.grad}


# --8<-- [end:ex3]


def main() -> None:
    # the worked example's values and gradients, as on the page
    _, values = worked_example()
    grads = backward_by_hand(values)

    # --8<-- [start:ex1-run]
    by_hand, by_autograd = sigmoid_gradient_w_11()
    print(f"dL/dw_11: path product {by_hand:.6f}, autograd {by_autograd:.6f}")
    print(f"dL/dw_11 with ReLU: {grads['w_11']:g}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    for label in (0.0, 1.0):
        autograd, bce_grads = cross_entropy_gradients(label)
        formula = torch.sigmoid(torch.tensor(values["y_hat"])).item() - label
        print(
            f"label {label:g}: formula {formula:+.4f}, autograd {autograd:+.4f}"
        )
        # each gradient over the squared error's, to 4 decimals: one number
        ratios = {round(bce_grads[n] / grads[n], 4) for n in PARAMETERS}
        print(f"  ratios to the squared error's gradients: {ratios}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    for freeze_second in (False, True):
        print(f"second layer frozen: {freeze_second}")
        for name, grad in layer_gradients(freeze_second).items():
            shown = None if grad is None else grad.flatten().tolist()
            print(f"  {name}.grad = {shown}")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
