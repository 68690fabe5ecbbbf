"""Lesson 2.1: a data set no line can separate, a linear model that fails on
it and a small network that succeeds; what a multi-layer perceptron is, its
activations, and a sum of ReLUs that fits a curve."""

# --8<-- [start:imports]
import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn

# --8<-- [end:imports]
# isort: split
from helpers import get_device, log_scale, seed_everything


# --8<-- [start:make-moons]
def make_moons(
    num_points: int, device: torch.device, noise: float = 0.15
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles ("moons"), half the points each, plus
    Gaussian noise of standard deviation `noise`. Labels are 0.0 (upper moon)
    and 1.0 (lower moon), shaped (N, 1) like a model's output."""
    angle = torch.pi * torch.rand(num_points)  # (N,)
    y = (torch.arange(num_points) % 2).float()  # (N,): 0, 1, 0, 1, ...
    upper = torch.stack([angle.cos(), angle.sin()], dim=1)  # (N, 2)
    lower = torch.stack([1 - angle.cos(), 0.5 - angle.sin()], dim=1)
    X = torch.where(y[:, None] == 0, upper, lower)
    X = X + noise * torch.randn(num_points, 2)
    # Drawn on the CPU, then moved: the same seed gives the same points on
    # every device.
    return X.to(device), y[:, None].to(device)


# --8<-- [end:make-moons]


# --8<-- [start:draw-boundary]
def draw_decision_boundary(
    ax: Axes,
    predict: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    title: str,
) -> None:
    """Shade where `predict` (inputs (M, 2) -> logits (M, 1)) says class 1,
    draw its boundary (logit 0), and the points with a marker per class."""
    X, y = X.cpu(), y.cpu()
    low, high = X.min(dim=0).values - 0.5, X.max(dim=0).values + 0.5
    g0 = torch.linspace(low[0].item(), high[0].item(), 200)
    g1 = torch.linspace(low[1].item(), high[1].item(), 200)
    G0, G1 = torch.meshgrid(g0, g1, indexing="xy")
    grid = torch.stack([G0.flatten(), G1.flatten()], dim=1)  # (M, 2)
    with torch.no_grad():
        logits = predict(grid.to(get_device())).cpu().reshape(G0.shape)
    ax.contourf(
        G0,
        G1,
        logits > 0,
        levels=[-0.5, 0.5, 1.5],
        alpha=0.25,
        colors=["tab:blue", "tab:orange"],
    )
    ax.contour(G0, G1, logits, levels=[0.0], colors="black", linewidths=1.0)
    first = y[:, 0] == 0
    ax.scatter(
        X[first, 0],
        X[first, 1],
        s=12,
        marker="o",
        c="tab:blue",
        label="class 0",
    )
    ax.scatter(
        X[~first, 0],
        X[~first, 1],
        s=12,
        marker="^",
        c="tab:orange",
        label="class 1",
    )
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


# --8<-- [end:draw-boundary]


# --8<-- [start:bce]
def bce_by_hand(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy straight from its formula: sigmoid, then logs."""
    p = torch.sigmoid(logits)  # (N, 1): the probability of class 1
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


# --8<-- [end:bce]


# --8<-- [start:train]
def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_epochs: int,
    loss_fn: Callable[
        [torch.Tensor, torch.Tensor], torch.Tensor
    ] = F.binary_cross_entropy_with_logits,
) -> list[float]:
    """Full-batch gradient descent on `loss_fn` (by default the BCE on
    logits); returns every epoch's loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses: list[float] = []
    for _ in range(num_epochs):
        optimizer.zero_grad()  # 1. zero the gradients
        logits = model(X)  # 2. forward: (N, 1), one logit per point
        # 3. loss: the BCE applies the sigmoid inside, in a numerically safe way
        loss = loss_fn(logits, y)
        loss.backward()  # 4. backward: a .grad for every parameter
        optimizer.step()  # 5. step: every parameter moves against its grad
        losses.append(loss.item())
    return losses


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of points whose logit has the right sign."""
    with torch.no_grad():
        logits: torch.Tensor = model(X)  # (N, 1)
    predicted = (logits > 0).float()  # (N, 1): 0.0 or 1.0
    return (predicted == y).float().mean().item()


# --8<-- [end:train]


# --8<-- [start:draw-boundaries]
def draw_boundaries(
    models: dict[str, nn.Module], X: torch.Tensor, y: torch.Tensor
) -> None:
    """Two stacked panels: each model's decision boundary over the points."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 7), layout="constrained")
    for ax, (title, model) in zip(axes, models.items(), strict=True):
        draw_decision_boundary(ax, model, X, y, title)
    axes[0].legend(loc="lower left")
    fig.set_label(
        "Two panels over the two moons. Top: logistic regression's boundary "
        "is a straight line that cuts both moons, so the tip of each moon "
        "falls on the wrong side. Bottom: the network's boundary is made of "
        "straight pieces joined at corners; it zigzags between the moons, "
        "leaving almost every point on its own side."
    )
    plt.show()


# --8<-- [end:draw-boundaries]


# --8<-- [start:activations]
def derivative(
    activation: Callable[[torch.Tensor], torch.Tensor], u: torch.Tensor
) -> torch.Tensor:
    """Autograd's derivative at every entry of u: each output depends on its
    own input only, so the gradient of their sum holds them all."""
    u = u.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(activation(u).sum(), u)
    return grad


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ReLU": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


def derivative_by_formula(name: str, u: torch.Tensor) -> torch.Tensor:
    """The derivatives written out in the mathematical foundations."""
    if name == "ReLU":
        return (u > 0).to(u.dtype)  # 1 where u > 0, else 0 (0 at u = 0 too)
    if name == "sigmoid":
        s = torch.sigmoid(u)
        return s * (1 - s)
    t = torch.tanh(u)
    return 1 - t**2


# --8<-- [end:activations]


# --8<-- [start:draw-activations]
def draw_activations(
    u: torch.Tensor, derivatives: dict[str, torch.Tensor]
) -> None:
    """Two stacked panels: the three activations, then their derivatives."""
    fig, (ax_f, ax_d) = plt.subplots(
        2, 1, figsize=(5.4, 6.4), layout="constrained"
    )
    styles = {"ReLU": "-", "sigmoid": "--", "tanh": ":"}
    u = u.detach().cpu()
    for name, activation in ACTIVATIONS.items():
        ax_f.plot(u, activation(u), styles[name], lw=2, label=name)
        ax_d.plot(u, derivatives[name].cpu(), styles[name], lw=2, label=name)
    ax_f.set_title("Activation functions")
    ax_f.set_ylabel("$\\phi(u)$")
    ax_d.set_title("Their derivatives (autograd)")
    ax_d.set_ylabel("$\\phi'(u)$")
    for ax in (ax_f, ax_d):
        ax.set_xlabel("$u$")
        ax.axhline(0, color="gray", lw=0.5)
        ax.legend(loc="upper left")
    fig.set_label(
        "Top: ReLU is zero for negative u and equal to u for positive u; "
        "sigmoid rises smoothly from 0 to 1, through 0.5 at u = 0; tanh rises "
        "from -1 to 1, through 0. Bottom: ReLU's derivative jumps from 0 to 1 "
        "at u = 0; sigmoid's is a low bump with its peak of 0.25 at 0; tanh's "
        "is a taller bump with its peak of 1 at 0. Both bumps fall towards 0 "
        "far from the origin."
    )
    plt.show()


# --8<-- [end:draw-activations]


# --8<-- [start:hinges]
def relu_interpolant(
    f: Callable[[torch.Tensor], torch.Tensor],
    x_low: float,
    x_high: float,
    num_units: int,
) -> nn.Sequential:
    """A 1 -> H -> 1 ReLU network, set by hand, joining (t_j, f(t_j)) at
    H + 1 evenly spaced knots t_j; hidden unit j is a hinge at t_j."""
    knots = torch.linspace(x_low, x_high, num_units + 1)  # (H + 1,)
    values = f(knots)  # (H + 1,)
    slopes = values.diff() / knots.diff()  # (H,): slope of each segment
    # (H,): the first slope, then the change of slope at each inner knot
    bends = torch.cat([slopes[:1], slopes.diff()])
    hidden = nn.Linear(1, num_units)
    output = nn.Linear(num_units, 1)
    with torch.no_grad():  # setting weights is not part of any loss
        hidden.weight.fill_(1.0)  # (H, 1): every unit sees x itself
        hidden.bias.copy_(-knots[:-1])  # unit j computes ReLU(x - t_j)
        output.weight.copy_(bends[None, :])  # (1, H): c_j
        output.bias.fill_(values[0].item())  # f(t_0)
    return nn.Sequential(hidden, nn.ReLU(), output)


def max_error(
    net: nn.Module,
    f: Callable[[torch.Tensor], torch.Tensor],
    x_low: float,
    x_high: float,
    device: torch.device,
) -> float:
    """The largest gap between net and f on 10,001 evenly spaced points."""
    x = torch.linspace(x_low, x_high, 10_001, device=device)[:, None]
    with torch.no_grad():
        y_hat: torch.Tensor = net(x)  # (M, 1)
    return (y_hat - f(x)).abs().max().item()


# --8<-- [end:hinges]


# --8<-- [start:draw-hinges]
def draw_hinges(
    nets: dict[int, nn.Module],
    errors: dict[int, float],
    x_low: float,
    x_high: float,
    device: torch.device,
) -> None:
    """Top: the sine and two of the hand-made fits. Bottom: the largest error
    against the number of hidden units, over the bound spacing^2 / 8."""
    fig, (ax_fit, ax_err) = plt.subplots(
        2, 1, figsize=(5.4, 6.8), layout="constrained"
    )
    x = torch.linspace(x_low, x_high, 501, device=device)[:, None]
    ax_fit.plot(
        x.cpu(), torch.sin(x).cpu(), "-", color="0.55", lw=1, label="sin x"
    )
    # 4 units: dashed, open circles at its knots; 8 units: dash-dot, squares
    for num_units, style, marker, size in (
        (4, "--", "o", 10),
        (8, "-.", "s", 5),
    ):
        knots = torch.linspace(x_low, x_high, num_units + 1, device=device)
        with torch.no_grad():
            fit, at_knots = nets[num_units](x), nets[num_units](knots[:, None])
        (line,) = ax_fit.plot(
            x.cpu(), fit.cpu(), style, lw=2, label=f"{num_units} ReLUs"
        )
        ax_fit.plot(
            knots.cpu(),
            at_knots.cpu(),
            marker,
            ms=size,
            mfc="none" if marker == "o" else line.get_color(),
            color=line.get_color(),
        )
    ax_fit.set_title("Sums of ReLUs, one hinge per unit")
    ax_fit.set_xlabel("$x$")
    ax_fit.legend(loc="upper left")
    units = list(errors)
    bounds = [((x_high - x_low) / k) ** 2 / 8 for k in units]
    # the bound as a wide pale band underneath, the error on top of it
    ax_err.plot(
        units, bounds, "-", color="0.8", lw=9, label="bound $\\Delta^2/8$"
    )
    ax_err.plot(units, list(errors.values()), "-o", label="largest error")
    log_scale(ax_err, "x")
    log_scale(ax_err)
    ax_err.set_xticks(units, labels=[str(k) for k in units])  # at the data
    ax_err.set_xticks([], minor=True)
    ax_err.set_title("Error against hidden units")
    ax_err.set_xlabel("hidden units (log scale)")
    ax_err.set_ylabel("largest error (log scale)")
    ax_err.legend(loc="lower left")
    fig.set_label(
        "Top: the sine on minus pi to pi, with the hand-made network of 4 "
        "ReLUs (a zigzag through 5 knots) and of 8 ReLUs (much closer, 9 "
        "knots). Bottom, on log-log axes: the largest error falls in a "
        "straight line as the hidden units double from 2 to 64, about four "
        "times smaller at each doubling, and never above the bound, drawn "
        "as a wide pale band: from 8 units on, the error runs inside the "
        "band, almost on the bound itself."
    )
    plt.show()


# --8<-- [end:draw-hinges]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)  # to train on
    X_test, y_test = make_moons(1000, device)  # fresh points, to test on
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    print(f"class 1: {int(y.sum().item())} of {len(y)} training points")
    # --8<-- [end:data]

    # --8<-- [start:bce-check]
    logits = torch.tensor([[2.0], [-1.0], [0.5]], device=device)
    targets = torch.tensor([[1.0], [0.0], [0.0]], device=device)
    by_hand = bce_by_hand(logits, targets)
    builtin = F.binary_cross_entropy_with_logits(logits, targets)
    print(f"by hand: {by_hand.item():.4f}   with logits: {builtin.item():.4f}")
    # the gradient with respect to each logit, times N, against p - y
    logits.requires_grad_(True)
    F.binary_cross_entropy_with_logits(logits, targets).backward()
    assert logits.grad is not None
    grad_z = len(logits) * logits.grad.flatten()  # N * dL/dz_i, each example
    p_minus_y = (torch.sigmoid(logits) - targets).flatten()
    for g, d in zip(grad_z.tolist(), p_minus_y.tolist(), strict=True):
        print(f"N * dL/dz = {g:+.4f}   p - y = {d:+.4f}")
    # confident, wrong logits
    for z, label in ((-200.0, 1.0), (20.0, 0.0)):
        far = torch.tensor([[z]], device=device)
        target = torch.tensor([[label]], device=device)
        literal = bce_by_hand(far, target).item()
        safe = F.binary_cross_entropy_with_logits(far, target).item()
        print(
            f"logit {z:g}, y = {label:g}: by hand {literal}, with logits {safe}"
        )
    # --8<-- [end:bce-check]

    # --8<-- [start:models]
    linear = nn.Linear(2, 1).to(device)  # logistic regression
    mlp = nn.Sequential(
        nn.Linear(2, 16),  # 2 inputs -> 16 hidden units
        nn.ReLU(),  # the activation: the only nonlinear part
        nn.Linear(16, 1),  # 16 hidden units -> 1 logit
    ).to(device)
    print(mlp)
    # --8<-- [end:models]

    # --8<-- [start:count]
    for name, p in mlp.named_parameters():
        print(
            f"{name:<8} shape {tuple(p.shape)!s:<8} count {p.numel():>2},"
            f" from {p.min().item():+.3f} to {p.max().item():+.3f}"
        )
    print(f"MLP: {sum(p.numel() for p in mlp.parameters())} parameters")
    print(f"logistic regression: {sum(p.numel() for p in linear.parameters())}")
    # --8<-- [end:count]

    # --8<-- [start:fit]
    lr, num_epochs = 1.0, 500
    for name, model in (("logistic regression", linear), ("MLP", mlp)):
        losses = train(model, X, y, lr, num_epochs)
        print(
            f"{name}: loss {losses[249]:.4f} at epoch 250, "
            f"{losses[-1]:.4f} at epoch {num_epochs}; accuracy "
            f"{accuracy(model, X, y):.1%} (train), "
            f"{accuracy(model, X_test, y_test):.1%} (test)"
        )
    # --8<-- [end:fit]

    # --8<-- [start:plot-boundaries]
    draw_boundaries(
        {"Logistic regression": linear, "MLP, 16 hidden ReLUs": mlp}, X, y
    )
    # --8<-- [end:plot-boundaries]

    # --8<-- [start:collapse]
    # float64 on the CPU (Apple GPUs have no float64): tiny rounding
    first = nn.Linear(2, 16, dtype=torch.float64)
    second = nn.Linear(16, 1, dtype=torch.float64)
    W1, b1 = first.weight, first.bias  # (16, 2), (16,)
    W2, b2 = second.weight, second.bias  # (1, 16), (1,)
    X64 = X.cpu().double()
    stacked = second(first(X64))  # (N, 1): two layers, no activation
    W = W2 @ W1  # (1, 2): one layer's weights
    b = W2 @ b1 + b2  # (1,): and its bias
    # one point per row, so W transposed (W.T), as nn.Linear computes it
    single = X64 @ W.T + b  # (N, 2) @ (2, 1) + (1,) -> (N, 1)
    gap = (stacked - single).abs().max().item()
    w1, w2 = W.flatten().tolist()
    print(f"as one layer: w1 = {w1:+.4f}, w2 = {w2:+.4f}, b = {b.item():+.4f}")
    print(f"largest difference from the two layers: {gap:.1e}")
    # --8<-- [end:collapse]

    # --8<-- [start:derivatives]
    # float64 on the CPU (Apple GPUs have no float64)
    u = torch.linspace(-4, 4, 801, dtype=torch.float64)
    derivatives = {}
    for name, activation in ACTIVATIONS.items():
        derivatives[name] = derivative(activation, u)
        by_formula = derivative_by_formula(name, u)
        gap = (derivatives[name] - by_formula).abs().max().item()
        print(f"{name:<7} autograd against formula: largest gap {gap:.1e}")
    at_zero = derivative(torch.relu, torch.zeros(1)).item()
    print(f"ReLU's derivative at exactly 0, by autograd: {at_zero}")
    # --8<-- [end:derivatives]

    # --8<-- [start:plot-activations]
    draw_activations(u, derivatives)
    # --8<-- [end:plot-activations]

    # --8<-- [start:fit-sine]
    x_low, x_high = -math.pi, math.pi
    nets: dict[int, nn.Module] = {}
    errors: dict[int, float] = {}
    for num_units in (2, 4, 8, 16, 32, 64):
        net = relu_interpolant(torch.sin, x_low, x_high, num_units)
        nets[num_units] = net.to(device)
        errors[num_units] = max_error(net, torch.sin, x_low, x_high, device)
        spacing = (x_high - x_low) / num_units  # between knots
        print(
            f"{num_units:>2} hidden units: largest error "
            f"{errors[num_units]:.4f}, bound {spacing**2 / 8:.4f}"
        )
    # --8<-- [end:fit-sine]

    # --8<-- [start:plot-sine]
    draw_hinges(nets, errors, x_low, x_high, device)
    # --8<-- [end:plot-sine]


if __name__ == "__main__":
    main()
