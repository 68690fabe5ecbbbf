"""Solutions to the exercises of lesson 1.4, Visualizing the Loss Landscape."""

import matplotlib.pyplot as plt
import torch

# isort: split
from helpers import get_device, seed_everything
from linear_regression import make_data, mse
from visualizing_the_loss_landscape import (
    descend,
    hessian,
    minimum,
)


# --8<-- [start:ex1]
def descend_with_autograd(
    X: torch.Tensor,
    y: torch.Tensor,
    w0: float,
    b0: float,
    lr: float,
    num_steps: int,
) -> torch.Tensor:
    """The path of gradient descent, with autograd and torch.optim.SGD:
    (num_steps + 1, 2)."""
    w = torch.tensor(w0, device=X.device, requires_grad=True)
    b = torch.tensor(b0, device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    path = [torch.stack([w, b]).detach()]
    for _ in range(num_steps):
        optimizer.zero_grad()  # zero the gradients
        y_hat = w * X + b  # forward
        loss = mse(y_hat, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
        path.append(torch.stack([w, b]).detach())
    return torch.stack(path).cpu()


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def shrink_factor(H: torch.Tensor, lrs: torch.Tensor) -> torch.Tensor:
    """For each learning rate, the worst factor max |1 - lr * lambda| by which a
    step shrinks the distance to the minimum (below 1: converges; above 1:
    diverges)."""
    eigenvalues = torch.linalg.eigvalsh(H)  # (2,)
    # (num_lrs,)
    factors: torch.Tensor = (1 - lrs[:, None] * eigenvalues).abs().amax(dim=1)
    return factors


# --8<-- [end:ex2]


# --8<-- [start:ex2-plot]
def draw_shrink_factor(
    H: torch.Tensor, lrs: torch.Tensor, lr_best: float
) -> None:
    """The shrink factor against the learning rate (top) and a close-up near
    the limit 2 / largest eigenvalue (bottom)."""
    lr_limit = 2 / torch.linalg.eigvalsh(H)[-1].item()
    best = torch.tensor([lr_best], device=H.device)
    factor_best = shrink_factor(H, best).item()
    lrs_zoom = torch.linspace(0.0296, 0.0304, 161, device=lrs.device)
    fig, (ax_all, ax_zoom) = plt.subplots(
        2, 1, figsize=(5.4, 7), layout="constrained"
    )
    for ax, lr_grid, title in (
        (ax_all, lrs, "All learning rates (x in [0, 10))"),
        (ax_zoom, lrs_zoom, "Close-up near the limit"),
    ):
        ax.plot(lr_grid.cpu(), shrink_factor(H, lr_grid).cpu())
        ax.axhline(1, color="k", ls="--", lw=1, label="factor 1: no progress")
        ax.axvline(lr_limit, color="C3", ls=":", label="2 / largest eigenvalue")
        ax.plot(lr_best, factor_best, "r*", ms=12, label="best learning rate")
        # the interesting part lies just below 1
        ax.set_ylim(0.975, 1.01)
        ax.set_title(title)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("shrink factor per step")
    ax_zoom.set_xticks([0.0296, 0.0298, 0.0300, 0.0302, 0.0304])
    ax_all.legend(loc="lower left")
    fig.set_label(
        "Top: the shrink factor falls slowly in a straight line from 1 as "
        "the learning rate grows, reaches its lowest value just below 1, then "
        "shoots up past 1 at two over the largest eigenvalue. Bottom: a "
        "close-up showing the best learning rate just to the left of that "
        "limit."
    )
    plt.show()


# --8<-- [end:ex2-plot]


# --8<-- [start:ex3]
def newton_step(
    X: torch.Tensor, y: torch.Tensor, w: float, b: float
) -> torch.Tensor:
    """A Newton step: solve dL/dw = H_ww dw + H_wb db, dL/db = H_wb dw + H_bb db
    for the distances (dw, db) to the minimum, then step back by them. Exact
    for a quadratic: it lands on the bottom."""
    y_hat = w * X + b
    # (2,)
    grad = torch.stack([2 * ((y_hat - y) * X).mean(), 2 * (y_hat - y).mean()])
    theta = torch.tensor([w, b], device=X.device)
    distances: torch.Tensor = torch.linalg.solve(hessian(X), grad)
    return theta - distances


# --8<-- [end:ex3]


def main() -> None:
    # The lesson's data (the lesson page already has X, y, X_wide, y_wide and
    # device).
    seed_everything(0)
    device = get_device()
    X, y = make_data(num_points=100, device=device)
    seed_everything(0)
    X_wide, y_wide = make_data(
        num_points=100, device=device, x_low=0.0, x_high=10.0
    )

    # --8<-- [start:ex1-run]
    path_by_hand, _ = descend(X, y, -0.5, 3.5, lr=0.1, num_steps=30)
    path_autograd = descend_with_autograd(X, y, -0.5, 3.5, lr=0.1, num_steps=30)
    difference = (path_by_hand - path_autograd).abs().max().item()
    print(f"largest difference between the two paths: {difference:.1e}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    H_wide = hessian(X_wide)
    lrs = torch.linspace(0, 0.035, 701, device=device)  # (701,)
    factors = shrink_factor(H_wide, lrs)
    best = int(factors.argmin().item())
    low, high = torch.linalg.eigvalsh(H_wide).tolist()
    print(
        f"best lr on the grid: {lrs[best].item():.4f}, "
        f"factor {factors[best].item():.4f}"
    )
    print(f"formula: lr = 2 / (low + high) = {2 / (low + high):.4f}, ", end="")
    print(
        "factor (high - low) / (high + low) = "
        f"{(high - low) / (high + low):.4f}"
    )
    draw_shrink_factor(H_wide, lrs, lrs[best].item())
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    for name, inputs, targets in (
        ("x in [-2, 2)", X, y),
        ("x in [0, 10)", X_wide, y_wide),
    ):
        w_new, b_new = newton_step(inputs, targets, w=-0.5, b=8.0).tolist()
        w_star, b_star = minimum(inputs, targets).tolist()
        print(
            f"{name}: one step lands on w = {w_new:.4f}, b = {b_new:.4f}; ",
            end="",
        )
        print(f"minimum w* = {w_star:.4f}, b* = {b_star:.4f}")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
