"""Solutions to the exercises of lesson 1.2, The Simplest Case: Linear
Regression."""

import matplotlib.pyplot as plt
import torch

# isort: split
from helpers import get_device, log_scale, seed_everything
from linear_regression import closed_form, make_data, mse, train_by_hand


# --8<-- [start:ex1]
def gradient_no_bias(
    X: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor
) -> torch.Tensor:
    """dL/dw of the MSE for y_hat = w * x (a line through the origin)."""
    return 2 * ((y_hat - y) * X).mean()


def train_no_bias(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> tuple[torch.Tensor, list[float]]:
    """Full-batch gradient descent on the one-parameter model y_hat = w * x."""
    w = torch.zeros((), device=X.device)
    losses = []
    for _ in range(num_steps):
        y_hat = w * X  # forward: no b, so the line must pass through (0, 0)
        loss = mse(y_hat, y)  # loss
        grad_w = gradient_no_bias(X, y, y_hat)  # backward, by hand
        w = w - lr * grad_w  # step
        losses.append(loss.item())
    return w, losses


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def compare_learning_rates(
    X: torch.Tensor, y: torch.Tensor, lrs: tuple[float, ...], num_steps: int
) -> dict[float, list[float]]:
    """Train once per learning rate, from the same start; return each run's
    losses."""
    return {lr: train_by_hand(X, y, lr, num_steps)[2] for lr in lrs}


# --8<-- [end:ex2]


# --8<-- [start:ex2-plot]
def draw_learning_rates(runs: dict[float, list[float]]) -> None:
    """One loss curve per learning rate, on a log scale."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    for lr, losses in runs.items():
        ax.plot(losses, label=f"lr = {lr}")
    log_scale(ax)
    ax.set_title("The same loop with four learning rates")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE loss (log scale)")
    ax.legend()
    fig.set_label(
        "Loss curves on a log scale: the smallest learning rate descends "
        "slowly, the middle two reach the floor within about fifteen steps, "
        "and the largest climbs steadily, diverging."
    )
    plt.show()


# --8<-- [end:ex2-plot]


# --8<-- [start:ex3]
def fit_standardized(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> tuple[float, float]:
    """Fit on x' = (x - mean) / std, then translate the line back to x."""
    # correction=0: the population std, so x' has mean 0 and mean square 1
    mean, std = X.mean(), X.std(correction=0)
    X_scaled = (X - mean) / std
    w_scaled, b_scaled, _ = train_by_hand(X_scaled, y, lr, num_steps)
    # y = w' (x - mean) / std + b'  =  (w' / std) x + (b' - w' mean / std)
    w = w_scaled / std
    b = b_scaled - w_scaled * mean / std
    return w.item(), b.item()


# --8<-- [end:ex3]


# --8<-- [start:ex4]
def gradients_mae(
    X: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dw and dL/db for L = mean |y_hat - y|, using d|e|/de = sign(e) (0 when
    e = 0)."""
    sign = torch.sign(y_hat - y)  # (N, 1): +1, -1 or 0
    grad_w = (sign * X).mean()
    grad_b = sign.mean()
    return grad_w, grad_b


def check_gradients_mae(
    X: torch.Tensor, y: torch.Tensor, w_value: float, b_value: float
) -> float:
    """Largest absolute difference between the MAE gradients by hand and by
    autograd."""
    X, y = X.cpu().double(), y.cpu().double()
    w = torch.tensor(w_value, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b_value, dtype=torch.float64, requires_grad=True)
    y_hat = w * X + b
    loss = (y_hat - y).abs().mean()
    loss.backward()
    # .grad is optional; tell the type checker it is set
    assert w.grad is not None
    assert b.grad is not None
    grad_w, grad_b = gradients_mae(X, y, y_hat.detach())
    return max((grad_w - w.grad).abs().item(), (grad_b - b.grad).abs().item())


def train_mae(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> torch.Tensor:
    """Full-batch gradient descent on the mean absolute error, with
    hand-derived gradients. Returns every (w, b) visited: (num_steps + 1, 2)."""
    w = torch.zeros((), device=X.device)
    b = torch.zeros((), device=X.device)
    path = [torch.stack([w, b])]
    for _ in range(num_steps):
        y_hat = w * X + b  # forward
        # backward, by hand (loss not needed)
        grad_w, grad_b = gradients_mae(X, y, y_hat)
        w = w - lr * grad_w  # step
        b = b - lr * grad_b
        path.append(torch.stack([w, b]))
    return torch.stack(path).cpu()


# --8<-- [end:ex4]


def main() -> None:
    # The lesson's data (on the lesson page, X, y and device already exist).
    seed_everything(0)
    device = get_device()
    X, y = make_data(num_points=100, device=device)

    # --8<-- [start:ex1-run]
    w_check = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    X64, y64 = X.cpu().double(), y.cpu().double()
    y_hat = w_check * X64
    mse(y_hat, y64).backward()
    assert w_check.grad is not None
    grad_w = gradient_no_bias(X64, y64, y_hat.detach())
    print(
        f"dL/dw at w = 0.5: by hand {grad_w.item():.6f}, "
        f"by autograd {w_check.grad.item():.6f}"
    )

    w_origin, losses_origin = train_no_bias(X, y, lr=0.1, num_steps=100)
    w_formula = ((X * y).sum() / (X**2).sum()).item()  # where dL/dw = 0
    _, _, losses_with_b = train_by_hand(X, y, lr=0.1, num_steps=100)
    print(
        f"gradient descent: w = {w_origin.item():.4f}, "
        f"formula: w = {w_formula:.4f}"
    )
    print(
        f"final loss without b: {losses_origin[-1]:.4f}, "
        f"with b: {losses_with_b[-1]:.4f}"
    )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    runs = compare_learning_rates(X, y, lrs=(0.01, 0.1, 0.5, 0.8), num_steps=30)
    for lr, losses in runs.items():
        label = f"lr = {lr}:"
        print(f"{label:<10} loss after 30 steps {losses[-1]:.4g}")
    print(f"estimated ceiling 1 / mean(x^2) = {1 / (X**2).mean().item():.2f}")
    draw_learning_rates(runs)
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    seed_everything(0)
    # the same line, with x spread over [0, 10) instead of [-2, 2)
    X_wide, y_wide = make_data(100, device, x_low=0.0, x_high=10.0)
    for lr in (0.1, 0.01):
        w_raw, b_raw, _ = train_by_hand(X_wide, y_wide, lr, num_steps=100)
        label = f"raw x, lr = {lr}:"
        print(f"{label:<25} w = {w_raw.item():.4f}, b = {b_raw.item():.4f}")
    w_std, b_std = fit_standardized(X_wide, y_wide, lr=0.1, num_steps=100)
    w_exact, b_exact = closed_form(X_wide, y_wide)
    print(f"standardized x, lr = 0.1: w = {w_std:.4f}, b = {b_std:.4f}")
    print(f"least squares:            w = {w_exact:.4f}, b = {b_exact:.4f}")
    # --8<-- [end:ex3-run]

    # --8<-- [start:ex4-run]
    difference = check_gradients_mae(X, y, w_value=0.5, b_value=-0.3)
    print(f"MAE gradients, max |by hand - autograd|: {difference:.1e}")
    path_mae = train_mae(X, y, lr=0.1, num_steps=300)
    print("the last steps of the MAE fit:")
    for step in range(292, 301):
        w_mae, b_mae = path_mae[step].tolist()
        print(f"  step {step}: w = {w_mae:.4f}, b = {b_mae:.4f}")
    # --8<-- [end:ex4-run]


if __name__ == "__main__":
    main()
