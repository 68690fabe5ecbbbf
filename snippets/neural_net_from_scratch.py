"""Lesson 2.3: a network with one hidden layer, its forward pass, loss,
backward pass and update written by hand, checked against autograd and
against nn.Module with torch.optim.SGD."""

import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
# --8<-- [start:imports]
from typing import NamedTuple

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import draw_decision_boundary, make_moons
from helpers import get_device, log_scale, seed_everything


# --8<-- [start:params]
class Params(NamedTuple):
    """The four parameter tensors; the same container holds their gradients."""

    W1: torch.Tensor  # (2, H): column j holds hidden unit j's two weights
    b1: torch.Tensor  # (H,): one bias per hidden unit
    W2: torch.Tensor  # (H, 1): how much the output listens to each unit
    b2: torch.Tensor  # (1,): the output's bias


def init_params(
    num_inputs: int, num_hidden: int, generator: torch.Generator
) -> Params:
    """Weights and biases drawn as nn.Linear draws them, uniform within
    1/sqrt(n_in); on the CPU in float32, so every device starts alike."""

    def uniform(*shape: int, n_in: int) -> torch.Tensor:
        bound = 1 / math.sqrt(n_in)
        return (torch.rand(*shape, generator=generator) * 2 - 1) * bound

    return Params(
        W1=uniform(num_inputs, num_hidden, n_in=num_inputs),
        b1=uniform(num_hidden, n_in=num_inputs),
        W2=uniform(num_hidden, 1, n_in=num_hidden),
        b2=uniform(1, n_in=num_hidden),
    )


def convert(params: Params, device: torch.device, dtype: torch.dtype) -> Params:
    """The same parameters on another device or in another dtype."""
    return Params(*(p.to(device=device, dtype=dtype) for p in params))


# --8<-- [end:params]


# --8<-- [start:forward]
def forward(
    X: torch.Tensor, params: Params
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch forward pass, returning Z1 and A1 for the backward pass."""
    W1, b1, W2, b2 = params
    Z1 = X @ W1 + b1  # (N, 2) @ (2, H) -> (N, H); b1 added to every row
    A1 = torch.relu(Z1)  # (N, H): negative entries become 0
    logits = A1 @ W2 + b2  # (N, H) @ (H, 1) -> (N, 1)
    return Z1, A1, logits


# --8<-- [end:forward]


# --8<-- [start:loss]
def bce_with_logits(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy, max(z, 0) - z y + log(1 + exp(-|z|))."""
    # exp(-|z|) is between 0 and 1: it cannot overflow
    softplus = logits.clamp(min=0) + torch.log1p(torch.exp(-logits.abs()))
    return (softplus - logits * y).mean()


def bce_naive(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The textbook formula, through the probability: unstable."""
    p = torch.sigmoid(logits)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


# --8<-- [end:loss]


# --8<-- [start:backward]
def backward(
    X: torch.Tensor,
    y: torch.Tensor,
    Z1: torch.Tensor,
    A1: torch.Tensor,
    logits: torch.Tensor,
    params: Params,
) -> Params:
    """Every parameter's gradient by the hand-derived formulas."""
    N = X.shape[0]
    grad_logits = (torch.sigmoid(logits) - y) / N  # (N, 1)
    grad_W2 = A1.T @ grad_logits  # (H, N) @ (N, 1) -> (H, 1)
    grad_b2 = grad_logits.sum(dim=0)  # (1,): summed over the examples
    grad_A1 = grad_logits @ params.W2.T  # (N, 1) @ (1, H) -> (N, H)
    # ReLU's derivative: 1 where Z1 > 0, else 0 (at exactly 0 too)
    grad_Z1 = grad_A1 * (Z1 > 0)  # (N, H)
    grad_W1 = X.T @ grad_Z1  # (2, N) @ (N, H) -> (2, H)
    grad_b1 = grad_Z1.sum(dim=0)  # (H,)
    return Params(W1=grad_W1, b1=grad_b1, W2=grad_W2, b2=grad_b2)


# --8<-- [end:backward]


# --8<-- [start:autograd]
def gradients_by_autograd(
    X: torch.Tensor,
    y: torch.Tensor,
    params: Params,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Params:
    """Autograd's gradients through our forward pass and the given loss."""
    leaves = Params(*(p.detach().clone().requires_grad_(True) for p in params))
    _, _, logits = forward(X, leaves)
    return Params(*torch.autograd.grad(loss_fn(logits, y), leaves))


def print_differences(by_hand: Params, reference: Params) -> None:
    """Per parameter, the largest absolute and relative (in eps) difference."""
    eps = torch.finfo(by_hand.W1.dtype).eps
    for name, hand, ref in zip(Params._fields, by_hand, reference, strict=True):
        diff = (hand - ref).abs()
        rel = torch.where(diff == 0, 0.0, diff / ref.abs()).max().item()
        print(f"{name}: abs {diff.max().item():.2g}, rel {rel / eps:.3g} eps")


# --8<-- [end:autograd]


# --8<-- [start:train-by-hand]
def sgd_step(params: Params, grads: Params, lr: float) -> Params:
    """One step of gradient descent on every parameter: p - lr * dL/dp."""
    return Params(*(p - lr * g for p, g in zip(params, grads, strict=True)))


def train_by_hand(
    X: torch.Tensor,
    y: torch.Tensor,
    params: Params,
    lr: float,
    num_epochs: int,
    backward_fn: Callable[..., Params] = backward,
) -> tuple[Params, list[float]]:
    """Full-batch gradient descent, no autograd: (params, loss per step)."""
    losses = []
    for _ in range(num_epochs):
        # no gradients to zero: backward_fn returns new ones every step
        Z1, A1, logits = forward(X, params)  # forward
        loss = bce_with_logits(logits, y)  # loss
        grads = backward_fn(X, y, Z1, A1, logits, params)  # backward, by hand
        params = sgd_step(params, grads, lr)  # step
        losses.append(loss.item())
    return params, losses


def accuracy(X: torch.Tensor, y: torch.Tensor, params: Params) -> float:
    """The fraction of points whose logit has the right sign."""
    _, _, logits = forward(X, params)
    return ((logits > 0).float() == y).float().mean().item()


# --8<-- [end:train-by-hand]


# --8<-- [start:module]
class MLP(nn.Module):
    """The same network as a module: two nn.Linear layers, ReLU between."""

    def __init__(self, num_inputs: int, num_hidden: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(num_inputs, num_hidden)  # weight (H, 2)
        self.output = nn.Linear(num_hidden, 1)  # weight (1, H)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.output(torch.relu(self.hidden(X)))
        return logits  # (N, 1)


def copy_into(model: MLP, params: Params) -> None:
    """Overwrite the module's parameters with ours, weights transposed."""
    with torch.no_grad():  # an in-place change that autograd must not record
        model.hidden.weight.copy_(params.W1.T)  # (2, H) -> (H, 2)
        model.hidden.bias.copy_(params.b1)
        model.output.weight.copy_(params.W2.T)  # (H, 1) -> (1, H)
        model.output.bias.copy_(params.b2)


def train_module(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_epochs: int,
) -> list[float]:
    """The course's loop with autograd and torch.optim.SGD, full batch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_epochs):
        optimizer.zero_grad()  # zero the gradients
        logits = model(X)  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
        loss.backward()  # backward: autograd fills every .grad
        optimizer.step()  # step: p -= lr * p.grad
        losses.append(loss.item())
    return losses


# --8<-- [end:module]


# --8<-- [start:draw-training]
def draw_training(
    losses: list[float],
    predict: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
) -> None:
    """The loss at every step (top) and the trained decision boundary
    (bottom)."""
    fig, (ax_loss, ax_boundary) = plt.subplots(
        2, 1, figsize=(5.4, 7), layout="constrained"
    )
    ax_loss.plot(range(len(losses)), losses)
    log_scale(ax_loss)
    ax_loss.set_title("Training with the hand-written backward pass")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss (log scale)")
    draw_decision_boundary(ax_boundary, predict, X, y, "After training")
    ax_boundary.legend(loc="lower left")
    fig.set_label(
        "Top: the loss at every step on a log scale: a steep fall over the "
        "first 50 steps, a slow stretch near 0.25 until about step 300, a "
        "steady fall, a small bump near step 800, then a zigzagging band "
        "that thins as it falls, and from about step 1700 a smooth slow fall "
        "to about "
        "0.04 at step 2000. Bottom: the trained network's decision boundary, "
        "straight pieces joined at corners that wind between the two moons, "
        "with all but 3 points in their own class's region."
    )
    plt.show()


# --8<-- [end:draw-training]


# --8<-- [start:draw-two-runs]
def draw_two_runs(by_hand: list[float], with_module: list[float]) -> None:
    """Both runs' losses at every step on one axis: a line for the
    hand-written run, markers for the module run."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    ax.plot(range(len(by_hand)), by_hand, lw=2, label="by hand")
    ax.plot(
        range(len(with_module)),
        with_module,
        ls="none",
        marker="o",
        mfc="none",
        markevery=100,
        color="black",
        label="nn.Module + SGD",
    )
    log_scale(ax)
    ax.set_title("Two implementations, one path (float64)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.legend()
    fig.set_label(
        "The loss of the hand-written run as a line and of the nn.Module run "
        "as open circles every 100 steps, on a log scale: every circle sits "
        "exactly on the line, from the first step to the last."
    )
    plt.show()


# --8<-- [end:draw-two-runs]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)  # X (200, 2), y (200, 1): 0. or 1.
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    # --8<-- [end:data]

    # --8<-- [start:init]
    num_hidden = 16
    generator = torch.Generator().manual_seed(0)
    init = init_params(num_inputs=2, num_hidden=num_hidden, generator=generator)
    print(f"shapes: {[tuple(p.shape) for p in init]}")
    print(f"parameters in all: {sum(p.numel() for p in init)}")
    # --8<-- [end:init]

    # --8<-- [start:forward-shapes]
    params = convert(init, device, torch.float32)
    Z1, A1, logits = forward(X, params)
    print(f"Z1, A1: {tuple(Z1.shape)}, logits: {tuple(logits.shape)}")
    print(f"largest |logit|: {logits.abs().max():.3f}")
    # --8<-- [end:forward-shapes]

    # --8<-- [start:loss-demo]
    # float32 logits with their labels: naive, stable and PyTorch's loss
    cases = [(2.0, 0.0), (20.0, 0.0), (20.0, 1.0), (-120.0, 1.0)]
    print(f"{'logit':>6}{'label':>7}{'naive':>10}{'stable':>10}{'PyTorch':>11}")
    for z_value, y_value in cases:
        z, label = torch.tensor([[z_value]]), torch.tensor([[y_value]])
        naive = bce_naive(z, label).item()
        stable = bce_with_logits(z, label).item()
        pytorch = F.binary_cross_entropy_with_logits(z, label).item()
        print(
            f"{z_value:>6g}{y_value:>7g}{naive:>10.4g}{stable:>10.4g}"
            f"{pytorch:>11.4g}"
        )
    ours = bce_with_logits(logits, y).item()
    pytorch = F.binary_cross_entropy_with_logits(logits, y).item()
    print(f"our network at the start: {ours:.4f} (PyTorch's: {pytorch:.4f})")
    # --8<-- [end:loss-demo]

    # --8<-- [start:relu-at-zero]
    Z = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (grad_Z,) = torch.autograd.grad(torch.relu(Z).sum(), Z)
    print(f"ReLU's slope at -1, 0, 2, by autograd: {grad_Z.tolist()}")
    print(f"                          by our mask: {(Z > 0).float().tolist()}")
    # a logit of exactly 0 with label 1: the true slope is sigmoid(0) - 1
    z = torch.zeros(1, 1, requires_grad=True)
    (grad_z,) = torch.autograd.grad(bce_with_logits(z, torch.ones(1, 1)), z)
    print(f"autograd through our loss at z = 0: {grad_z.item()}")
    # --8<-- [end:relu-at-zero]

    # --8<-- [start:gradient-check]
    # Exact comparisons run in float64 on the CPU: Apple GPUs have no float64,
    # and one CPU gives the same bits on every run.
    cpu = torch.device("cpu")
    X64, y64 = X.to(cpu, torch.float64), y.to(cpu, torch.float64)
    params64 = convert(init, cpu, torch.float64)  # the same numbers, exactly
    Z1, A1, logits = forward(X64, params64)
    by_hand = backward(X64, y64, Z1, A1, logits, params64)
    print("autograd through our loss:")
    by_autograd = gradients_by_autograd(X64, y64, params64, bce_with_logits)
    print_differences(by_hand, by_autograd)
    print("autograd through PyTorch's loss:")
    builtin_loss = F.binary_cross_entropy_with_logits
    by_pytorch = gradients_by_autograd(X64, y64, params64, builtin_loss)
    print_differences(by_hand, by_pytorch)
    # --8<-- [end:gradient-check]

    # --8<-- [start:train-run]
    lr = 0.5
    num_epochs = 2000  # full batch: one step per epoch
    trained, losses = train_by_hand(X, y, params, lr, num_epochs)
    print(f"loss: {losses[0]:.4f} at the start, {losses[-1]:.4f} at the end")
    print(f"accuracy after training: {accuracy(X, y, trained):.1%}")
    # --8<-- [end:train-run]

    # --8<-- [start:plot-training]
    def predict(grid: torch.Tensor) -> torch.Tensor:
        return forward(grid, trained)[2]  # the logits

    draw_training(losses, predict, X, y)
    # --8<-- [end:plot-training]

    # --8<-- [start:module-run]
    model = MLP(num_inputs=2, num_hidden=num_hidden).to(cpu, torch.float64)
    copy_into(model, params64)  # the same start as every run above
    module_losses = train_module(model, X64, y64, lr, num_epochs)
    _, hand_losses = train_by_hand(X64, y64, params64, lr, num_epochs)
    hand = torch.tensor(hand_losses, dtype=torch.float64)
    gaps = (torch.tensor(module_losses, dtype=torch.float64) - hand).abs()
    eps = torch.finfo(torch.float64).eps
    relative = (gaps / hand).max().item()
    print(
        f"largest difference over {num_epochs} steps: {gaps.max().item():.2g}"
        f", relative {relative:.2g} = {relative / eps:.0f} eps"
    )
    # --8<-- [end:module-run]

    # --8<-- [start:plot-two-runs]
    draw_two_runs(hand_losses, module_losses)
    # --8<-- [end:plot-two-runs]


if __name__ == "__main__":
    main()
