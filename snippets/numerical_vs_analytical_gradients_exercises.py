"""Solutions to the exercises of lesson 1.5, Numerical vs. Analytical
Gradients."""

import torch

# isort: split
from helpers import get_device, seed_everything
from linear_regression import make_data
from numerical_vs_analytical_gradients import (
    gradient_check,
    gradients_by_hand,
    make_loss,
    numerical_gradient,
)


# --8<-- [start:ex1]
def difference_errors(
    X: torch.Tensor, y: torch.Tensor, theta: torch.Tensor, hs: list[float]
) -> list[tuple[float, float, float]]:
    """For each h: (h, forward error, central error) of dL/dw, against the exact
    gradient."""
    loss = make_loss(X, y)
    exact = gradients_by_hand(X, y, theta[0], theta[1])[0].item()
    rows = []
    for h in hs:
        forward = numerical_gradient(loss, theta, h, central=False)[0].item()
        central = numerical_gradient(loss, theta, h, central=True)[0].item()
        rows.append((h, abs(forward - exact), abs(central - exact)))
    return rows


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def make_data_3d(
    num_points: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Three input features: y = x1 - 2 x2 + 0.5 x3 + 1, plus noise of standard
    deviation 0.1."""
    X = torch.randn(num_points, 3)  # (N, 3)
    true_w = torch.tensor([[1.0], [-2.0], [0.5]])  # (3, 1)
    y = X @ true_w + 1 + 0.1 * torch.randn(num_points, 1)  # (N, 1)
    return X.to(device), y.to(device)


def loss_3d(
    theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """MSE of y_hat = X w + b, with the four parameters packed as
    theta = [w1, w2, w3, b]."""
    w, b = theta[:3].view(3, 1), theta[3]
    return ((X @ w + b - y) ** 2).mean()


def gradients_3d(
    theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor, use_sum: bool = False
) -> torch.Tensor:
    """[dL/dw1, dL/dw2, dL/dw3, dL/db] by hand; use_sum=True plants the bug
    'sum, not mean'."""
    w, b = theta[:3].view(3, 1), theta[3]
    error = X @ w + b - y  # (N, 1)
    scale = 2.0 if use_sum else 2.0 / X.shape[0]
    grad_w = scale * (X.T @ error)  # (3, 1): (2/N) * sum over i of e_i * x_i
    grad_b = scale * error.sum()
    return torch.cat([grad_w.view(3), grad_b.view(1)])  # (4,)


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def float32_versus_float64(
    X: torch.Tensor, y: torch.Tensor, theta: torch.Tensor, hs: list[float]
) -> list[tuple[float, float, float]]:
    """For each h: (h, error of the check in float32, error in float64), for the
    correct gradient."""
    X64, y64 = X.cpu().double(), y.cpu().double()
    X32, y32 = X.cpu().float(), y.cpu().float()
    # the true gradient, to float64
    exact = gradients_by_hand(X64, y64, theta[0], theta[1])
    rows = []
    for h in hs:
        error32 = gradient_check(
            make_loss(X32, y32), theta, exact, h, dtype=torch.float32
        )
        error64 = gradient_check(
            make_loss(X64, y64), theta, exact, h, dtype=torch.float64
        )
        rows.append((h, error32, error64))
    return rows


# --8<-- [end:ex3]


def main() -> None:
    # The lesson's data (the lesson page already has X, X64, y64 and theta).
    seed_everything(0)
    device = get_device()
    X, y = make_data(num_points=100, device=device)
    X64, y64 = X.cpu().double(), y.cpu().double()
    theta = torch.tensor([0.5, -0.3], dtype=torch.float64)

    # --8<-- [start:ex1-run]
    for h, forward_error, central_error in difference_errors(
        X64, y64, theta, [1.0, 0.1, 0.01]
    ):
        print(
            f"h = {h:<5} forward error {forward_error:.2e}   "
            f"central error {central_error:.2e}"
        )
    print(f"mean of x^2 = {(X64**2).mean().item():.4f}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    seed_everything(0)
    X3, y3 = make_data_3d(num_points=100, device=device)
    X3, y3 = X3.cpu().double(), y3.cpu().double()
    theta3 = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)

    def f(theta: torch.Tensor) -> torch.Tensor:
        return loss_3d(theta, X3, y3)

    print(
        "correct gradient:  "
        f"{gradient_check(f, theta3, gradients_3d(theta3, X3, y3)):.1e}"
    )
    wrong = gradients_3d(theta3, X3, y3, use_sum=True)
    print(f"sum, not mean:     {gradient_check(f, theta3, wrong):.4f}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    for h, error32, error64 in float32_versus_float64(
        X, y, theta, [1e-6, 1e-3, 1e-2]
    ):
        print(f"h = {h:.0e}: float32 {error32:.1e}   float64 {error64:.1e}")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
