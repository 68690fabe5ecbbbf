"""Solutions to the exercises of lesson 2.3, Implementing a Simple Neural Net
from Scratch."""

import torch
import torch.nn.functional as F

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from neural_net_from_scratch import (
    Params,
    accuracy,
    backward,
    bce_with_logits,
    convert,
    forward,
    gradients_by_autograd,
    init_params,
    print_differences,
    sgd_step,
    train_by_hand,
)


# --8<-- [start:ex1]
def forward_tanh(
    X: torch.Tensor, params: Params
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The lesson's forward pass with tanh in place of ReLU."""
    W1, b1, W2, b2 = params
    Z1 = X @ W1 + b1  # (N, H)
    A1 = torch.tanh(Z1)  # (N, H)
    logits = A1 @ W2 + b2  # (N, 1)
    return Z1, A1, logits


def backward_tanh(
    X: torch.Tensor,
    y: torch.Tensor,
    Z1: torch.Tensor,
    A1: torch.Tensor,
    logits: torch.Tensor,
    params: Params,
) -> Params:
    """The lesson's backward pass with tanh's derivative, 1 - tanh(Z1)^2."""
    N = X.shape[0]
    grad_logits = (torch.sigmoid(logits) - y) / N  # (N, 1)
    grad_W2 = A1.T @ grad_logits  # (H, 1)
    grad_b2 = grad_logits.sum(dim=0)  # (1,)
    grad_A1 = grad_logits @ params.W2.T  # (N, H)
    grad_Z1 = grad_A1 * (1 - A1**2)  # (N, H): A1 is tanh(Z1), already known
    grad_W1 = X.T @ grad_Z1  # (2, H)
    grad_b1 = grad_Z1.sum(dim=0)  # (H,)
    return Params(W1=grad_W1, b1=grad_b1, W2=grad_W2, b2=grad_b2)


def train_tanh(
    X: torch.Tensor,
    y: torch.Tensor,
    params: Params,
    lr: float,
    num_epochs: int,
) -> tuple[Params, list[float]]:
    """The lesson's loop with the tanh forward and backward passes."""
    losses = []
    for _ in range(num_epochs):
        # no gradients to zero: backward_tanh() returns new ones every step
        Z1, A1, logits = forward_tanh(X, params)  # forward
        loss = bce_with_logits(logits, y)  # loss
        grads = backward_tanh(X, y, Z1, A1, logits, params)  # backward
        params = sgd_step(params, grads, lr)  # step
        losses.append(loss.item())
    return params, losses


def accuracy_tanh(X: torch.Tensor, y: torch.Tensor, params: Params) -> float:
    """The fraction of points the tanh network classifies correctly."""
    _, _, logits = forward_tanh(X, params)
    return ((logits > 0).float() == y).float().mean().item()


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def backward_no_mask(
    X: torch.Tensor,
    y: torch.Tensor,
    Z1: torch.Tensor,
    A1: torch.Tensor,
    logits: torch.Tensor,
    params: Params,
) -> Params:
    """The lesson's backward pass with one bug: ReLU's mask is forgotten."""
    N = X.shape[0]
    grad_logits = (torch.sigmoid(logits) - y) / N
    grad_W2 = A1.T @ grad_logits
    grad_b2 = grad_logits.sum(dim=0)
    grad_A1 = grad_logits @ params.W2.T
    grad_Z1 = grad_A1  # the bug: should be grad_A1 * (Z1 > 0)
    grad_W1 = X.T @ grad_Z1
    grad_b1 = grad_Z1.sum(dim=0)
    return Params(W1=grad_W1, b1=grad_b1, W2=grad_W2, b2=grad_b2)


def train_no_mask(
    X: torch.Tensor,
    y: torch.Tensor,
    params: Params,
    lr: float,
    num_epochs: int,
) -> tuple[Params, list[float]]:
    """The lesson's loop with the buggy backward pass."""
    losses = []
    for _ in range(num_epochs):
        Z1, A1, logits = forward(X, params)  # forward
        loss = bce_with_logits(logits, y)  # loss
        grads = backward_no_mask(X, y, Z1, A1, logits, params)  # backward
        params = sgd_step(params, grads, lr)  # step
        losses.append(loss.item())
    return params, losses


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def all_gradients_zero(grads: Params) -> bool:
    """Whether every entry of every gradient is exactly 0."""
    return all(bool((g == 0).all()) for g in grads)


# --8<-- [end:ex3]


def main() -> None:
    # The lesson's data, start and settings (the lesson page already has them).
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)
    init = init_params(2, 16, torch.Generator().manual_seed(0))
    params = convert(init, device, torch.float32)
    cpu = torch.device("cpu")
    X64, y64 = X.to(cpu, torch.float64), y.to(cpu, torch.float64)
    params64 = convert(init, cpu, torch.float64)
    lr, num_epochs = 0.5, 2000
    trained, losses = train_by_hand(X, y, params, lr, num_epochs)

    # --8<-- [start:ex1-run]
    Z1, A1, logits = forward_tanh(X64, params64)
    by_hand = backward_tanh(X64, y64, Z1, A1, logits, params64)
    by_autograd = gradients_by_autograd(
        X64, y64, params64, F.binary_cross_entropy_with_logits, forward_tanh
    )
    print_differences(by_hand, by_autograd, "tanh, against autograd:")
    trained_tanh, losses_tanh = train_tanh(X, y, params, lr, num_epochs)
    print(
        f"ReLU: loss {losses[-1]:.4f} at the end, "
        f"accuracy {accuracy(X, y, trained):.1%}"
    )
    print(
        f"tanh: loss {losses_tanh[-1]:.4f} at the end, "
        f"accuracy {accuracy_tanh(X, y, trained_tanh):.1%}"
    )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    Z1, A1, logits = forward(X64, params64)
    buggy = backward_no_mask(X64, y64, Z1, A1, logits, params64)
    by_autograd = gradients_by_autograd(
        X64, y64, params64, F.binary_cross_entropy_with_logits
    )
    print_differences(buggy, by_autograd, "no mask, against autograd:")
    trained_buggy, losses_buggy = train_no_mask(X, y, params, lr, num_epochs)
    print(
        f"no mask: loss {losses_buggy[0]:.4f} at the start, "
        f"{losses_buggy[-1]:.4f} at the end, "
        f"accuracy {accuracy(X, y, trained_buggy):.1%}"
    )
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    zeros = Params(*(torch.zeros_like(p) for p in params))
    grads = backward(X, y, *forward(X, zeros), zeros)
    print(f"all zeros: every gradient exactly 0? {all_gradients_zero(grads)}")
    _, losses_zeros = train_by_hand(X, y, zeros, lr, num_epochs=100)
    print(f"loss: {losses_zeros[0]:.4f} at first, {losses_zeros[-1]:.4f} last")
    # only the first layer at zero: the output layer keeps its random start
    half = params._replace(W1=zeros.W1, b1=zeros.b1)
    grads = backward(X, y, *forward(X, half), half)
    for name, g in zip(Params._fields, grads, strict=True):
        print(f"{name}: largest |gradient| {g.abs().max().item():.4f}")
    trained_half, losses_half = train_by_hand(X, y, half, lr, num_epochs=100)
    print(
        "after 100 steps: W1 still all zero? "
        f"{bool((trained_half.W1 == 0).all())}; loss {losses_half[-1]:.4f}, "
        f"accuracy {accuracy(X, y, trained_half):.1%}"
    )
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
