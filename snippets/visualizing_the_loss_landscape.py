"""Lesson 1.4: the MSE of linear regression as a surface over (w, b), and
gradient descent on it."""

# --8<-- [start:imports]
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

# --8<-- [end:imports]
# isort: split
from helpers import get_device, log_scale, seed_everything
from linear_regression import make_data, mse


# --8<-- [start:loss-grid]
def loss_grid(
    X: torch.Tensor,
    y: torch.Tensor,
    w_values: torch.Tensor,
    b_values: torch.Tensor,
) -> torch.Tensor:
    """The MSE at every grid point (w, b) at once; rows follow b, columns w."""
    # each (num_b, num_w)
    W, B = torch.meshgrid(w_values, b_values, indexing="xy")
    # Broadcasting: (num_b, num_w, 1) * (N,) + (num_b, num_w, 1)
    #   -> (num_b, num_w, N)
    y_hat = W[..., None] * X.flatten() + B[..., None]
    # (num_b, num_w): average over examples
    return ((y_hat - y.flatten()) ** 2).mean(dim=-1)


# --8<-- [end:loss-grid]


# --8<-- [start:hessian]
def hessian(X: torch.Tensor) -> torch.Tensor:
    """The Hessian of the MSE in (w, b):
    2 * [[mean(x^2), mean(x)], [mean(x), 1]]."""
    x = X.flatten()
    mean_x, mean_x2 = x.mean(), (x**2).mean()
    one = torch.ones((), device=X.device)
    return 2 * torch.stack(
        [torch.stack([mean_x2, mean_x]), torch.stack([mean_x, one])]
    )


def minimum(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The bottom of the bowl [w*, b*], where both slopes are 0: the solution
    of mean(x^2) w + mean(x) b = mean(xy) and mean(x) w + b = mean(y)."""
    # the coefficients on the left are H / 2, so the right-hand side doubles
    g = 2 * torch.stack([(X * y).mean(), y.mean()])  # (2,)
    theta_star: torch.Tensor = torch.linalg.solve(hessian(X), g)
    return theta_star


def quadratic_loss(
    X: torch.Tensor,
    y: torch.Tensor,
    w_values: torch.Tensor,
    b_values: torch.Tensor,
) -> torch.Tensor:
    """The same surface from the exact formula
    L* + (1/2) (H_ww dw^2 + 2 H_wb dw db + H_bb db^2), where (dw, db) is the
    distance from the minimum (w*, b*) and L* the loss there."""
    H, theta_star = hessian(X), minimum(X, y)
    w_star, b_star = theta_star[0], theta_star[1]
    loss_star = mse(w_star * X + b_star, y)
    W, B = torch.meshgrid(w_values, b_values, indexing="xy")
    dw, db = W - w_star, B - b_star  # (num_b, num_w) each
    return loss_star + 0.5 * (
        H[0, 0] * dw**2 + 2 * H[0, 1] * dw * db + H[1, 1] * db**2
    )


# --8<-- [end:hessian]


# --8<-- [start:descend]
def descend(
    X: torch.Tensor,
    y: torch.Tensor,
    w0: float,
    b0: float,
    lr: float,
    num_steps: int,
) -> tuple[torch.Tensor, list[float]]:
    """Full-batch gradient descent with lesson 1.2's hand-derived gradients.

    Returns the path, a (num_steps + 1, 2) tensor of the (w, b) visited, and the
    loss at each of those points (num_steps + 1 numbers).
    """
    w = torch.tensor(w0, device=X.device)
    b = torch.tensor(b0, device=X.device)
    path, losses = [torch.stack([w, b])], []
    for _ in range(num_steps):
        # (no gradients to zero: we compute them from scratch on every step)
        y_hat = w * X + b  # forward, (N, 1)
        loss = mse(y_hat, y)  # loss
        grad_w = 2 * ((y_hat - y) * X).mean()  # backward, by hand
        grad_b = 2 * (y_hat - y).mean()
        w = w - lr * grad_w  # step
        b = b - lr * grad_b
        path.append(torch.stack([w, b]))
        losses.append(loss.item())
    losses.append(mse(w * X + b, y).item())  # the loss at the last point
    return torch.stack(path).cpu(), losses


# --8<-- [end:descend]


# --8<-- [start:plot-helpers]
def draw_contours(
    ax: Axes,
    w_values: torch.Tensor,
    b_values: torch.Tensor,
    L: torch.Tensor,
    title: str,
    names: tuple[str, str] = ("w", "b"),
) -> Any:
    """Contour lines of the loss L over (w, b), spaced evenly on a log scale,
    with the parameters' names on the axes; returns the lines."""
    L = L.cpu()
    low, high = L.min().log10().item(), L.max().log10().item()
    # dense near the bottom, sparse up the walls
    levels = torch.logspace(low, high, 20).tolist()
    lines = ax.contour(
        w_values.cpu(), b_values.cpu(), L, levels=levels, cmap="viridis"
    )
    ax.set_title(title)
    ax.set_xlabel(f"weight {names[0]}")
    ax.set_ylabel(f"bias {names[1]}")
    # one unit is as long across as up, so right angles look right
    ax.set_aspect("equal")
    return lines


def draw_map(
    ax: Axes,
    X: torch.Tensor,
    y: torch.Tensor,
    path: torch.Tensor,
    title: str,
    window: tuple[float, float, float, float],
    color: str = "C3",
    names: tuple[str, str] = ("w", "b"),
) -> None:
    """A contour map of the loss over window = (w_low, w_high, b_low, b_high),
    with a path of gradient descent and a red star on the minimum."""
    w_low, w_high, b_low, b_high = window
    w_values = torch.linspace(w_low, w_high, 121, device=X.device)
    b_values = torch.linspace(b_low, b_high, 121, device=X.device)
    L = loss_grid(X, y, w_values, b_values)
    draw_contours(ax, w_values, b_values, L, title, names)
    ax.plot(path[:, 0], path[:, 1], "o-", color=color, ms=3, lw=1.2)
    # an open circle marks where the path starts
    ax.plot(path[0, 0], path[0, 1], "o", ms=9, mfc="none", mec="k", zorder=4)
    w_star, b_star = minimum(X, y).tolist()
    ax.plot(w_star, b_star, "r*", ms=14, zorder=5)


def draw_landscape(
    w_values: torch.Tensor, b_values: torch.Tensor, L: torch.Tensor
) -> None:
    """The loss grid L as a contour map (top) and a 3-D surface (bottom), with a
    red star on the lowest grid point."""
    row, col = divmod(int(L.argmin().item()), L.shape[1])
    w_low, b_low, L_low = w_values[col].item(), b_values[row].item(), L.min()
    fig = plt.figure(figsize=(5.4, 8.5), layout="constrained")
    ax_contour = fig.add_subplot(2, 1, 1)
    lines = draw_contours(
        ax_contour, w_values, b_values, L, "Contours of the loss"
    )
    fig.colorbar(lines, ax=ax_contour, label="MSE loss")
    ax_contour.plot(w_low, b_low, "r*", ms=14, label="lowest grid point")
    ax_contour.legend(loc="upper right")
    # matplotlib's 3-D axes are untyped
    ax_3d: Any = fig.add_subplot(2, 1, 2, projection="3d")
    Wg, Bg = torch.meshgrid(w_values.cpu(), b_values.cpu(), indexing="xy")
    # every 6th grid line (21 of 121) is smooth enough and keeps the file small
    ax_3d.plot_surface(
        Wg[::6, ::6],
        Bg[::6, ::6],
        L.cpu()[::6, ::6],
        rcount=21,
        ccount=21,
        cmap="viridis",
        lw=0,
        alpha=0.9,
    )
    ax_3d.plot([w_low], [b_low], [L_low.item()], "r*", ms=12, zorder=10)
    ax_3d.set_title("The same loss as a surface")
    ax_3d.set_xlabel("weight w")
    ax_3d.set_ylabel("bias b")
    ax_3d.set_zlabel("MSE loss")
    ax_3d.view_init(elev=30, azim=-60)
    fig.set_label(
        "Top: nested, almost circular oval contour lines of the loss around "
        "a red star that marks the lowest grid point. Bottom: the same loss "
        "drawn as a smooth bowl-shaped surface over the (w, b) plane."
    )
    plt.show()


def draw_descent(X: torch.Tensor, y: torch.Tensor, path: torch.Tensor) -> None:
    """One path of gradient descent on the contour map."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    window = (-1.0, 5.0, -2.0, 4.0)  # the grid of the first map
    draw_map(ax, X, y, path, "Gradient descent walking downhill", window)
    fig.set_label(
        "Contour lines of the loss with a chain of dots starting at the upper "
        "left: the steps are long at first, then shorten as the path curves "
        "into the minimum, marked by a red star."
    )
    plt.show()


def draw_rates(
    X: torch.Tensor,
    y: torch.Tensor,
    runs: dict[float, tuple[torch.Tensor, list[float]]],
) -> None:
    """One map per learning rate and, in the last panel, their loss curves."""
    # the two converging maps side by side, the diverging one and the losses
    # below, each across the whole width
    fig, axes = plt.subplot_mosaic(
        [[0, 1], [2, 2], [3, 3]], figsize=(5.4, 9), layout="constrained"
    )
    ax_maps, ax_losses = [axes[0], axes[1], axes[2]], axes[3]
    for i, (lr, (path, losses)) in enumerate(runs.items()):
        color, ax = f"C{i}", ax_maps[i]
        if losses[-1] < losses[0]:
            draw_map(ax, X, y, path, f"lr = {lr}", (-1, 5, -2, 4), color)
        else:
            # diverging: a wider window, and the step numbers along the path
            draw_map(ax, X, y, path, f"lr = {lr}", (-5, 9, -3, 5), color)
            for step in range(0, len(path), 2):
                w_k, b_k = path[step].tolist()
                ax.annotate(
                    str(step), (w_k, b_k), (3, 3), textcoords="offset points"
                )
        ax_losses.plot(losses, "o-", color=color, ms=3, label=f"lr = {lr}")
    log_scale(ax_losses)
    ax_losses.set_title("Loss along each path")
    ax_losses.set_xlabel("steps taken")
    ax_losses.set_ylabel("MSE loss (log scale)")
    ax_losses.legend()
    fig.set_label(
        "Three maps of the loss contours, one path each from the same "
        "start. With lr 0.05 the path creeps a short way towards the red "
        "star; with lr 0.3 it runs straight to it; with lr 0.75, on a wider "
        "map, it bounces from left to right and back, further out each time, "
        "its points numbered 0, 2, 4 up to 12. Last panel: "
        "their losses, falling slowly, falling fast, and rising."
    )
    plt.show()


def draw_zig_zag(
    X_raw: torch.Tensor,
    X_std: torch.Tensor,
    y: torch.Tensor,
    path_raw: torch.Tensor,
    path_std: torch.Tensor,
) -> None:
    """Gradient descent on raw inputs (top) and standardized ones (bottom)."""
    fig, (ax_raw, ax_std) = plt.subplots(
        2, 1, figsize=(5.4, 10), layout="constrained"
    )
    draw_map(ax_raw, X_raw, y, path_raw, "raw x", (-3.5, 8.5, -3.0, 9.0))
    # the standardized problem has its own parameters, w' and b'
    window, names = (-4.0, 16.0, -4.0, 16.0), ("w'", "b'")
    draw_map(ax_std, X_std, y, path_std, "standardized x", window, names=names)
    fig.set_label(
        "Top: with raw inputs the contours are long, thin, slightly tilted "
        "ellipses and the path zig-zags across the narrow valley while "
        "creeping along it. Bottom: with standardized inputs, on axes for the "
        "new parameters, the contours are circles and the path runs straight "
        "to the minimum."
    )
    plt.show()


# --8<-- [end:plot-helpers]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_data(num_points=100, device=device)
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    # --8<-- [end:data]

    # --8<-- [start:grid]
    w_values = torch.linspace(-1, 5, 121, device=device)  # (121,)
    b_values = torch.linspace(-2, 4, 121, device=device)  # (121,)
    L = loss_grid(X, y, w_values, b_values)  # (121, 121)
    # flat index -> row, col
    row, col = divmod(int(L.argmin().item()), L.shape[1])
    print(
        f"loss grid: {tuple(L.shape)}, "
        f"from {L.min().item():.4f} to {L.max().item():.4f}"
    )
    print(
        f"lowest grid point: w = {w_values[col].item():.2f}, "
        f"b = {b_values[row].item():.2f}"
    )
    # --8<-- [end:grid]

    # --8<-- [start:plot-landscape]
    draw_landscape(w_values, b_values, L)
    # --8<-- [end:plot-landscape]

    # --8<-- [start:check-quadratic]
    theta_star = minimum(X, y)  # solves grad L = 0
    w_star, b_star = theta_star.tolist()
    H = hessian(X)
    H_autograd = torch.autograd.functional.hessian(
        lambda theta: mse(theta[0] * X + theta[1], y), theta_star
    )
    L_quadratic = quadratic_loss(X, y, w_values, b_values)
    print(
        "Hessian by formula:  "
        f"{[[round(v, 4) for v in row] for row in H.tolist()]}"
    )
    print(
        "Hessian by autograd: "
        f"{[[round(v, 4) for v in row] for row in H_autograd.tolist()]}"
    )
    print(f"minimum: w* = {w_star:.4f}, b* = {b_star:.4f}")
    print(
        "largest |grid loss - quadratic formula|: "
        f"{(L - L_quadratic).abs().max().item():.1e}"
    )
    # --8<-- [end:check-quadratic]

    # --8<-- [start:one-path]
    w0, b0 = -0.5, 3.5  # a start far from the minimum
    path, losses = descend(X, y, w0, b0, lr=0.1, num_steps=30)
    print(f"start:          w = {w0:.4f}, b = {b0:.4f}, loss {losses[0]:.4f}")
    print(
        f"after 30 steps: w = {path[-1, 0].item():.4f}, "
        f"b = {path[-1, 1].item():.4f}, loss {losses[-1]:.4f}"
    )
    draw_descent(X, y, path)
    # --8<-- [end:one-path]

    # --8<-- [start:eigenvalues]
    # smallest first; "h": for tables like H, equal across the diagonal
    eigenvalues = torch.linalg.eigvalsh(H)
    lr_max = 2 / eigenvalues[-1].item()
    print(
        "eigenvalues of H: "
        f"{eigenvalues[0].item():.4f} and {eigenvalues[1].item():.4f}"
    )
    print(f"largest stable learning rate 2 / lambda_max = {lr_max:.4f}")
    for lr in (0.99 * lr_max, 1.01 * lr_max):
        path, _ = descend(X, y, w0, b0, lr, num_steps=300)
        distance = (path[-1] - theta_star.cpu()).norm().item()
        print(
            f"lr = {lr:.4f}: "
            f"distance to the minimum after 300 steps {distance:.3g}"
        )
    # --8<-- [end:eigenvalues]

    # --8<-- [start:three-rates]
    runs: dict[float, tuple[torch.Tensor, list[float]]] = {}
    for lr in (0.05, 0.3, 0.75):
        runs[lr] = descend(X, y, w0, b0, lr, num_steps=12)
        print(f"lr = {lr}: loss after 12 steps {runs[lr][1][-1]:.4f}")
    draw_rates(X, y, runs)
    # --8<-- [end:three-rates]

    # --8<-- [start:wide-data]
    seed_everything(0)
    X_wide, y_wide = make_data(
        num_points=100, device=device, x_low=0.0, x_high=10.0
    )
    X_std = (X_wide - X_wide.mean()) / X_wide.std(correction=0)  # mean 0, std 1
    for name, inputs in (("x in [0, 10)", X_wide), ("standardized x", X_std)):
        low, high = torch.linalg.eigvalsh(hessian(inputs)).tolist()
        print(
            f"{name:<15} eigenvalues {low:8.4f} {high:8.4f}, "
            f"condition number {high / low:7.2f}"
        )
    # --8<-- [end:wide-data]

    # --8<-- [start:zig-zag]
    path_raw, _ = descend(X_wide, y_wide, -0.5, 8.0, lr=0.028, num_steps=40)
    path_std, _ = descend(X_std, y_wide, 0.0, 0.0, lr=0.25, num_steps=40)
    for name, inputs, path in (
        ("raw x", X_wide, path_raw),
        ("standardized x", X_std, path_std),
    ):
        target = minimum(inputs, y_wide).cpu()
        distance_start = (path[0] - target).norm().item()
        distance_end = (path[-1] - target).norm().item()
        print(
            f"{name:<15} distance to the minimum: "
            f"{distance_start:.4f} at the start, {distance_end:.4f} after 40"
        )
    draw_zig_zag(X_wide, X_std, y_wide, path_raw, path_std)
    # --8<-- [end:zig-zag]


if __name__ == "__main__":
    main()
