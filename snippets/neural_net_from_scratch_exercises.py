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
    convert,
    forward,
    gradients_by_autograd,
    init_params,
    print_differences,
    train_by_hand,
)


# --8<-- [start:ex1]
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


# --8<-- [end:ex1]


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
    builtin_loss = F.binary_cross_entropy_with_logits

    # --8<-- [start:ex1-run]
    Z1, A1, logits = forward(X64, params64)
    buggy = backward_no_mask(X64, y64, Z1, A1, logits, params64)
    print_differences(
        buggy, gradients_by_autograd(X64, y64, params64, builtin_loss)
    )
    trained_buggy, losses_buggy = train_by_hand(
        X, y, params, lr, num_epochs, backward_fn=backward_no_mask
    )
    print(
        f"no mask: loss {losses_buggy[0]:.4f} at the start, "
        f"{losses_buggy[-1]:.4f} at the end, "
        f"accuracy {accuracy(X, y, trained_buggy):.1%}"
    )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    zeros = Params(*(torch.zeros_like(p) for p in params))
    half = params._replace(W1=zeros.W1, b1=zeros.b1)  # output layer random
    for name, start in [("all zeros", zeros), ("hidden layer zero", half)]:
        grads = backward(X, y, *forward(X, start), start)
        largest = ", ".join(
            f"{field} {g.abs().max().item():.3g}"
            for field, g in zip(Params._fields, grads, strict=True)
        )
        print(f"{name}: largest |gradient| {largest}")
        trained_start, losses_start = train_by_hand(X, y, start, lr, 100)
        print(
            f"  after 100 steps: loss {losses_start[-1]:.4f}, accuracy "
            f"{accuracy(X, y, trained_start):.1%}, W1 still all zero? "
            f"{bool((trained_start.W1 == 0).all())}"
        )
    # --8<-- [end:ex2-run]


if __name__ == "__main__":
    main()
