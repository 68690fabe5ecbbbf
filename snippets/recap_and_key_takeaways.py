"""Lesson 1.6: the module review's numeric answers, computed, not claimed.

Everything runs in float64 on the CPU, on a dataset of two points, so that the
code's numbers are the ones you get with pencil and paper (and Apple GPUs have
no float64).
"""

# --8<-- [start:imports]
from collections.abc import Callable

import torch

# --8<-- [end:imports]


# --8<-- [start:make-data]
def make_data() -> tuple[torch.Tensor, torch.Tensor]:
    """Two points that lie exactly on the line y = 2x + 1: (1, 3) and (2, 5)."""
    X = torch.tensor([1.0, 2.0], dtype=torch.float64)  # (N,) with N = 2
    y = torch.tensor([3.0, 5.0], dtype=torch.float64)  # (N,)
    return X, y


# --8<-- [end:make-data]


# --8<-- [start:mse]
def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error: the average of the squared differences."""
    return ((y_hat - y) ** 2).mean()


# --8<-- [end:mse]


# --8<-- [start:gradients]
def gradients_by_hand(
    X: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The partial derivatives of the MSE in w and b, derived in lesson 1.2."""
    error = y_hat - y  # (N,): e_i = y_hat_i - y_i
    grad_w = 2 * (error * X).mean()  # (2/N) * sum of e_i * x_i
    grad_b = 2 * error.mean()  # (2/N) * sum of e_i
    return grad_w, grad_b


# --8<-- [end:gradients]


# --8<-- [start:updates-def]
def batch_sizes(num_examples: int, batch_size: int) -> list[int]:
    """The size of every batch in one epoch; the last one keeps what is left."""
    return [
        min(batch_size, num_examples - start)
        for start in range(0, num_examples, batch_size)
    ]


# --8<-- [end:updates-def]


# --8<-- [start:hessian-def]
def mse_hessian(X: torch.Tensor) -> torch.Tensor:
    """The 2x2 Hessian of the MSE of y_hat = w x + b with respect to (w, b).

    It holds the second derivatives: 2 * [[mean(x^2), mean(x)], [mean(x), 1]].
    It depends on the inputs only, not on y, w or b, because the loss is
    quadratic in (w, b).
    """
    mean_x = X.mean()
    mean_x2 = (X**2).mean()
    one = torch.ones_like(mean_x)
    return 2 * torch.stack(
        [torch.stack([mean_x2, mean_x]), torch.stack([mean_x, one])]
    )


def train_by_hand(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> list[float]:
    """Full-batch gradient descent from w = b = 0; return every step's loss."""
    w = torch.zeros((), dtype=X.dtype)
    b = torch.zeros((), dtype=X.dtype)
    losses = []
    for _ in range(num_steps):
        y_hat = w * X + b  # forward
        loss = mse(y_hat, y)  # loss
        grad_w, grad_b = gradients_by_hand(X, y, y_hat)  # backward, by hand
        w = w - lr * grad_w  # step
        b = b - lr * grad_b
        losses.append(loss.item())
    return losses


# --8<-- [end:hessian-def]


# --8<-- [start:differences-def]
class CountingLoss:
    """The MSE as a function of theta = (w, b), counting its evaluations."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor) -> None:
        self.X, self.y = X, y
        self.num_calls = 0

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        self.num_calls += 1
        w, b = theta[0], theta[1]
        return mse(w * self.X + b, self.y)


def central_difference(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    h: float,
) -> torch.Tensor:
    """Estimate every partial derivative as
    (L(theta + h e_j) - L(theta - h e_j)) / (2h)."""
    grad = torch.zeros_like(theta)
    for j in range(theta.numel()):
        e_j = torch.zeros_like(theta)
        e_j[j] = h  # nudge parameter j alone
        grad[j] = (loss_fn(theta + e_j) - loss_fn(theta - e_j)) / (2 * h)
    return grad


def forward_difference(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    h: float,
) -> torch.Tensor:
    """Estimate each partial derivative as (L(theta + h e_j) - L(theta)) / h."""
    grad = torch.zeros_like(theta)
    loss_here = loss_fn(theta)  # shared by all P estimates
    for j in range(theta.numel()):
        e_j = torch.zeros_like(theta)
        e_j[j] = h
        grad[j] = (loss_fn(theta + e_j) - loss_here) / h
    return grad


# --8<-- [end:differences-def]


def main() -> None:
    # --8<-- [start:one-step]
    X, y = make_data()
    w, b, lr = 0.0, 0.0, 0.1
    y_hat = w * X + b  # forward: both predictions are 0
    loss = mse(y_hat, y)  # loss
    grad_w, grad_b = gradients_by_hand(X, y, y_hat)  # backward, by hand
    w, b = w - lr * grad_w.item(), b - lr * grad_b.item()  # step
    print(f"before the step: loss = {loss.item():.4f}")
    print(
        f"gradients:       grad_w = {grad_w.item():.4f}, "
        f"grad_b = {grad_b.item():.4f}"
    )
    print(f"after the step:  w = {w:.4f}, b = {b:.4f}")
    print(f"new loss:        {mse(w * X + b, y).item():.4f}")
    # --8<-- [end:one-step]

    # --8<-- [start:updates]
    num_examples = 100
    for batch_size in (100, 10, 1, 32):
        sizes = batch_sizes(num_examples, batch_size)
        print(
            f"B = {batch_size:3d}: {len(sizes):3d} updates per epoch, "
            f"first batch {sizes[0]:3d} examples, last batch {sizes[-1]:3d}"
        )
    # --8<-- [end:updates]

    # --8<-- [start:stability]
    H = mse_hessian(X)
    eigenvalues = torch.linalg.eigvalsh(H)  # ascending: lambda_min, lambda_max
    lambda_min, lambda_max = eigenvalues[0].item(), eigenvalues[-1].item()
    lr_max = 2 / lambda_max
    print(f"Hessian:\n{H}")
    print(f"eigenvalues: {lambda_min:.4f} and {lambda_max:.4f}")
    print(f"largest stable learning rate: 2 / {lambda_max:.4f} = {lr_max:.4f}")
    print(f"ratio lambda_max / lambda_min: {lambda_max / lambda_min:.1f}")
    for lr in (0.28, 0.30):
        losses = train_by_hand(X, y, lr=lr, num_steps=200)
        print(
            f"lr = {lr:.2f}: loss {losses[0]:.4f} at the start, "
            f"{losses[-1]:.3e} after 200 steps"
        )
    # --8<-- [end:stability]

    # --8<-- [start:count]
    loss_fn = CountingLoss(X, y)
    # (w, b) = (0, 0), where we took the step
    theta = torch.zeros(2, dtype=torch.float64)
    grad = central_difference(loss_fn, theta, h=1e-3)
    print(
        f"central differences: grad_w = {grad[0].item():.4f}, "
        f"grad_b = {grad[1].item():.4f}"
    )
    print(
        f"P = {theta.numel()} parameters took "
        f"{loss_fn.num_calls} loss evaluations"
    )
    # --8<-- [end:count]

    # --8<-- [start:orders]
    exact = torch.stack([grad_w, grad_b])  # the hand-derived gradient at (0, 0)
    for h in (1e-2, 1e-3):
        forward_error = (forward_difference(loss_fn, theta, h) - exact).abs()
        central_error = (central_difference(loss_fn, theta, h) - exact).abs()
        print(
            f"h = {h:.0e}: forward errors {forward_error[0].item():.1e} (w), "
            f"{forward_error[1].item():.1e} (b); "
            f"central at most {central_error.max().item():.1e}"
        )
    print(
        "second derivatives (diagonal of H): "
        f"{H[0, 0].item():.0f} and {H[1, 1].item():.0f}"
    )
    # --8<-- [end:orders]


if __name__ == "__main__":
    main()
