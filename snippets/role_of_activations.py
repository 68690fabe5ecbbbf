"""Lesson 2.4: one network trained with different activations; dead ReLUs,
saturated sigmoids and tanhs, the backward signal through a deep stack, and
the activations modern networks use."""

# --8<-- [start:imports]
import math
from collections.abc import Callable
from itertools import pairwise

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, log_scale, seed_everything

# --8<-- [start:activations]
Activation = Callable[[torch.Tensor], torch.Tensor]


def identity(Z: torch.Tensor) -> torch.Tensor:
    """No activation at all: the control."""
    return Z


ACTIVATIONS: dict[str, Activation] = {
    "identity": identity,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "ReLU": torch.relu,
}


# --8<-- [end:activations]


# --8<-- [start:model]
# One (W, b) pair per layer: W is (fan_out, fan_in), b is (fan_out,).
Params = list[tuple[torch.Tensor, torch.Tensor]]


def init_params(
    sizes: list[int], device: torch.device, seed: int = 0
) -> Params:
    """Drawn as nn.Linear draws them: uniform on +-1/sqrt(fan_in), by a
    seeded CPU generator, so every call and device gets the same start."""
    generator = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in pairwise(sizes):
        bound = 1 / math.sqrt(fan_in)
        W = (2 * torch.rand(fan_out, fan_in, generator=generator) - 1) * bound
        b = (2 * torch.rand(fan_out, generator=generator) - 1) * bound
        W, b = W.to(device).requires_grad_(), b.to(device).requires_grad_()
        params.append((W, b))
    return params


def forward(
    X: torch.Tensor, params: Params, activation: Activation
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The logits (N, 1), and each hidden layer's pre-activations Z."""
    A = X  # (N, 2): the input is the first layer's "activation"
    Z_hidden = []
    for W, b in params[:-1]:
        Z = A @ W.T + b  # (N, fan_out): pre-activations
        Z_hidden.append(Z)
        A = activation(Z)  # (N, fan_out): activations
    W, b = params[-1]  # the output layer has no activation
    return A @ W.T + b, Z_hidden


# --8<-- [end:model]


# --8<-- [start:train]
def train(
    params: Params,
    X: torch.Tensor,
    y: torch.Tensor,
    activation: Activation,
    lr: float,
    num_epochs: int,
) -> torch.Tensor:
    """Full-batch gradient descent on the binary cross-entropy; updates
    params in place and returns the loss before each step, (num_epochs,)."""
    optimizer = torch.optim.SGD([t for layer in params for t in layer], lr=lr)
    losses = []
    for _ in range(num_epochs):
        optimizer.zero_grad()  # zero the gradients
        logits, _ = forward(X, params, activation)  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
        losses.append(loss.detach())
    return torch.stack(losses).cpu()


def accuracy(
    params: Params, X: torch.Tensor, y: torch.Tensor, activation: Activation
) -> float:
    """The percentage of the points X on the right side of the boundary."""
    with torch.no_grad():
        logits, _ = forward(X, params, activation)
    return 100 * ((logits > 0).float() == y).float().mean().item()


# --8<-- [end:train]


# --8<-- [start:gradients]
def layer_gradient_norms(
    params: Params, X: torch.Tensor, y: torch.Tensor, activation: Activation
) -> list[float]:
    """The norm of dL/dW per layer, first layer first; .grad untouched."""
    logits, _ = forward(X, params, activation)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grads = torch.autograd.grad(loss, [W for W, _ in params])
    return [grad.norm().item() for grad in grads]


# --8<-- [end:gradients]


# --8<-- [start:signals]
def backward_signals(
    params: Params, X: torch.Tensor, y: torch.Tensor, activation: Activation
) -> tuple[list[float], list[float]]:
    """Per layer, first layer first: the norm of dL/dZ and the root mean
    square of dL/dW (a typical entry's size); .grad untouched."""
    logits, Z_hidden = forward(X, params, activation)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    Z_all = [*Z_hidden, logits]  # the last layer's "pre-activations": logits
    W_all = [W for W, _ in params]
    grads = torch.autograd.grad(loss, Z_all + W_all)
    signals = [grad.norm().item() for grad in grads[: len(Z_all)]]
    rms = [grad.pow(2).mean().sqrt().item() for grad in grads[len(Z_all) :]]
    return signals, rms


# --8<-- [end:signals]


# --8<-- [start:dead]
def dead_units(params: Params, X: torch.Tensor) -> list[int]:
    """For each hidden layer of a ReLU network: how many units output 0 for
    every example in X (their pre-activation is never positive)."""
    with torch.no_grad():
        _, Z_hidden = forward(X, params, torch.relu)
    # (N, width) -> (width,): True where the column is <= 0 all the way down
    return [int((Z <= 0).all(dim=0).sum().item()) for Z in Z_hidden]


# --8<-- [end:dead]


# --8<-- [start:saturation]
def sigmoid_derivative(Z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(Z) * (1 - torch.sigmoid(Z))  # at most 1/4, at 0


def tanh_derivative(Z: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(Z) ** 2  # at most 1, at 0


def relu_derivative(Z: torch.Tensor) -> torch.Tensor:
    return (Z > 0).float()  # 1 or 0; PyTorch also uses 0 at exactly 0


DERIVATIVES: dict[str, tuple[Activation, float]] = {
    # name: (derivative, its largest value)
    "sigmoid": (sigmoid_derivative, 0.25),
    "tanh": (tanh_derivative, 1.0),
    "ReLU": (relu_derivative, 1.0),
}


def saturation(
    params: Params, X: torch.Tensor, name: str
) -> list[tuple[float, float]]:
    """Per hidden layer: the fraction of pre-activations in the flat tails
    (derivative under a tenth of its largest), and the mean derivative
    as a fraction of its largest."""
    derivative, largest = DERIVATIVES[name]
    with torch.no_grad():
        _, Z_hidden = forward(X, params, ACTIVATIONS[name])
    result = []
    for Z in Z_hidden:
        relative = derivative(Z) / largest  # (N, width), between 0 and 1
        in_tails = (relative < 0.1).float().mean().item()
        result.append((in_tails, relative.mean().item()))
    return result


def report(label: str, measured: list[tuple[float, float]]) -> None:
    """Print one row of saturation's results for two hidden layers."""
    (t1, m1), (t2, m2) = measured
    print(f"{label:<26} {t1:>8.1%} {t2:>9.1%}  {m1:>9.2f} {m2:>9.2f}")


def scale_first_layer(params: Params, factor: float) -> Params:
    """A copy of params with the first layer's W and b times factor."""
    scaled = [(W.detach().clone(), b.detach().clone()) for W, b in params]
    scaled[0] = (factor * scaled[0][0], factor * scaled[0][1])
    return [(W.requires_grad_(), b.requires_grad_()) for W, b in scaled]


# --8<-- [end:saturation]


# --8<-- [start:modern]
def leaky_relu_01(Z: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with slope 0.1 (the default, 0.01, is too flat to see)."""
    return F.leaky_relu(Z, negative_slope=0.1)


MODERN: dict[str, Activation] = {
    "ReLU": F.relu,
    "Leaky ReLU (0.1)": leaky_relu_01,
    "GELU": F.gelu,
    "SiLU": F.silu,
}


def curves(
    activation: Activation, Z: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The activation's values at Z and its derivative there, by autograd."""
    Z = Z.detach().clone().requires_grad_()
    A = activation(Z)
    # each A_i depends only on Z_i, so the gradient of the sum is each dA_i/dZ_i
    (dA,) = torch.autograd.grad(A.sum(), Z)
    return A.detach(), dA


# --8<-- [end:modern]


# --8<-- [start:draw-losses]
# a line style and a marker per activation, so that colour is not needed
STYLES = {
    "identity": (":", "s"),
    "sigmoid": ("--", "o"),
    "tanh": ("-.", "^"),
    "ReLU": ("-", "D"),
}


def draw_losses(losses: dict[str, torch.Tensor]) -> None:
    """The training loss per epoch, one curve per activation, log scale."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    for name, loss in losses.items():
        linestyle, marker = STYLES[name]
        ax.plot(loss, label=name, ls=linestyle, marker=marker, markevery=100)
    log_scale(ax)
    ax.set_title("The same network, four activations")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (log scale)")
    ax.legend()
    fig.set_label(
        "Training loss over 1000 epochs, log scale. Identity drops fastest "
        "at first, to about 0.26, and stays flat from epoch 50 on. Sigmoid "
        "stays near 0.69 for about a hundred epochs, falls to about the "
        "identity's level by epoch 400, then creeps down to 0.25. Tanh and "
        "ReLU fall steadily, almost together, to below 0.02."
    )
    plt.show()


# --8<-- [end:draw-losses]


# --8<-- [start:draw-boundaries]
def draw_boundaries(
    runs: dict[str, Params], X: torch.Tensor, y: torch.Tensor
) -> None:
    """The training points and the decision boundaries (logit 0) of two
    networks per panel: identity and sigmoid on top, tanh and ReLU below."""
    X_cpu, labels = X.cpu(), y[:, 0].cpu()
    low, high = X_cpu.min(dim=0).values - 0.5, X_cpu.max(dim=0).values + 0.5
    g0 = torch.linspace(low[0].item(), high[0].item(), 200)
    g1 = torch.linspace(low[1].item(), high[1].item(), 200)
    G0, G1 = torch.meshgrid(g0, g1, indexing="xy")
    grid = torch.stack([G0.flatten(), G1.flatten()], dim=1).to(X.device)
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 6.4), layout="constrained")
    # two networks per panel: the first drawn dotted or dashed, the second solid
    panels = [
        ("identity", "sigmoid", ":", "dotted"),
        ("tanh", "ReLU", "--", "dashed"),
    ]
    for ax, (first, second, style, style_name) in zip(
        axes, panels, strict=True
    ):
        for label, marker in ((0, "o"), (1, "^")):
            points = X_cpu[labels == label]
            ax.scatter(
                points[:, 0], points[:, 1], s=36, marker=marker, alpha=0.7
            )
        for name, linestyle in ((first, style), (second, "-")):
            with torch.no_grad():
                logits = forward(grid, runs[name], ACTIVATIONS[name])[0]
            Z = logits.cpu().reshape(G0.shape)
            ax.contour(
                G0,
                G1,
                Z,
                levels=[0.0],
                colors="black",
                linestyles=linestyle,
                linewidths=2.5,
            )
        ax.set_title(f"Boundaries: {first} ({style_name}), {second} (solid)")
        ax.set_ylabel("$x_2$")
    axes[1].set_xlabel("$x_1$ (circles: class 0, triangles: class 1)")
    fig.set_label(
        "The two moons, circles for class 0 and triangles for class 1, with "
        "the decision boundaries after 1000 epochs. Top: the identity "
        "network's boundary, dotted, is a straight line through the tips of "
        "both moons, and the sigmoid network's, solid, is almost the same "
        "line, barely bent. Bottom: tanh, dashed, draws a smooth S-shaped "
        "curve between the moons; ReLU, solid, draws nearly the same S out "
        "of straight pieces with corners."
    )
    plt.show()


# --8<-- [end:draw-boundaries]


# --8<-- [start:draw-tails]
def draw_tails(Z_small: torch.Tensor, Z_large: torch.Tensor) -> None:
    """Histograms, on one x-axis, of first-layer tanh pre-activations for the
    usual start and for first-layer weights times 10, with the flat tails
    (tanh' < 0.1) shaded."""
    edge = math.atanh(math.sqrt(0.9))  # where tanh' = 1 - tanh^2 = 0.1
    small, large = (
        Z_small.detach().flatten().cpu(),
        Z_large.detach().flatten().cpu(),
    )
    reach = large.abs().max().item() * 1.05
    fig, axes = plt.subplots(
        2, 1, figsize=(5.4, 5.4), sharex=True, layout="constrained"
    )
    for ax, values, title in (
        (axes[0], small, "the usual start"),
        (axes[1], large, "weights times 10"),
    ):
        ax.hist(values, bins=80, range=(-reach, reach), color="tab:gray")
        ax.axvspan(-reach, -edge, color="tab:red", alpha=0.2)
        ax.axvspan(edge, reach, color="tab:red", alpha=0.2)
        for side in (-edge, edge):
            ax.axvline(side, color="tab:red", ls="--", lw=1.5)
        ax.set_title(f"tanh, first layer: {title}")
        ax.set_ylabel("count")
    axes[0].text(
        edge,
        0.9,
        f"  flat tails beyond ±{edge:.2f}",
        transform=axes[0].get_xaxis_transform(),
        va="top",
    )
    axes[1].set_xlim(-reach, reach)
    axes[1].set_xlabel("pre-activation $z$ (shaded: where tanh' < 0.1)")
    fig.set_label(
        "Histograms of the first layer's pre-activations at the start, for "
        "all 200 points and 16 units, on one axis from "
        f"{-reach:.0f} to {reach:.0f}, with the flat tails beyond "
        f"-{edge:.2f} and {edge:.2f} shaded. From the usual start, all of "
        f"them lie between {small.min():.2f} and {small.max():.2f}, a narrow "
        "peak clear of the tails. With the first layer's weights and biases "
        f"times 10, they spread from {large.min():.1f} to {large.max():.1f} "
        "and most fall in the shaded tails."
    )
    plt.show()


# --8<-- [end:draw-tails]


# --8<-- [start:draw-signals]
def draw_signals(signals: dict[str, list[float]]) -> None:
    """The norm of each layer's backward signal at the start, one line per
    activation, log scale."""
    fig, ax = plt.subplots(figsize=(5.4, 3.6), layout="constrained")
    for name, values in signals.items():
        layers = range(1, len(values) + 1)
        linestyle, marker = STYLES[name]
        ax.plot(layers, values, label=name, ls=linestyle, marker=marker)
    log_scale(ax)
    ax.set_xticks(list(range(1, len(values) + 1)))
    ax.set_title("The backward signal at the start, 8 layers")
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.set_ylabel("norm of dL/dz (log scale)")
    ax.legend()
    described = ", ".join(
        f"{name} from {values[0]:.1e} to {values[-1]:.1e}"
        for name, values in signals.items()
    )
    fig.set_label(
        "The size of the backward signal dL/dz at each of eight layers at "
        "the start, log scale. Every line climbs from layer 1 to layer 8: "
        f"{described}. The sigmoid line climbs steepest; tanh's is the "
        "flattest, ReLU's in between."
    )
    plt.show()


# --8<-- [end:draw-signals]


# --8<-- [start:draw-modern]
MODERN_STYLES = {  # a line style and a colour per activation
    "ReLU": ("-", "black"),
    "Leaky ReLU (0.1)": (":", "tab:green"),
    "GELU": ("--", "tab:blue"),
    "SiLU": ("-.", "tab:orange"),
}


def draw_modern(Z: torch.Tensor) -> None:
    """The modern activations (top) and their derivatives (bottom)."""
    fig, (ax_value, ax_slope) = plt.subplots(
        2, 1, figsize=(5.4, 6.0), sharex=True, layout="constrained"
    )
    for name, activation in MODERN.items():
        A, dA = curves(activation, Z)
        ls, color = MODERN_STYLES[name]
        ax_value.plot(Z.cpu(), A.cpu(), label=name, lw=2, ls=ls, color=color)
        ax_slope.plot(Z.cpu(), dA.cpu(), lw=2, ls=ls, color=color)
    ax_value.set_title("ReLU and its smoother cousins")
    ax_value.set_ylabel("activation $\\phi(z)$")
    ax_value.legend()
    ax_slope.set_title("Their derivatives")
    ax_slope.set_ylabel("$\\phi'(z)$")
    ax_slope.set_xlabel("pre-activation $z$")
    for ax in (ax_value, ax_slope):
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
    fig.set_label(
        "Top: ReLU, Leaky ReLU with slope 0.1, GELU and SiLU from -4 to 3. "
        "All four are close to the identity for large positive inputs. For "
        "large negative ones ReLU is 0 and GELU and SiLU are close to 0, "
        "while Leaky ReLU slopes gently below zero, to -0.4 at -4; GELU "
        "and SiLU curve smoothly and dip slightly below zero before rising. "
        "Bottom: their derivatives. ReLU's jumps from 0 to 1 "
        "at zero, Leaky ReLU's from 0.1 to 1; GELU's and SiLU's rise "
        "smoothly, dip a little below zero on the left and overshoot 1 on "
        "the right."
    )
    plt.show()


# --8<-- [end:draw-modern]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)  # to train on
    X_test, y_test = make_moons(1000, device)  # fresh points, to test on
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    print(f"X_test: {tuple(X_test.shape)}, y_test: {tuple(y_test.shape)}")
    # --8<-- [end:data]

    # --8<-- [start:run]
    sizes = [2, 16, 16, 1]  # 2 inputs, two hidden layers of 16, 1 logit
    lr = 0.4
    num_epochs = 1000
    runs: dict[str, Params] = {}
    losses: dict[str, torch.Tensor] = {}
    print(f"{'':<9} {'first loss':>10} {'final loss':>10}", end="")
    print(f" {'training':>9} {'test':>6}")
    for name, activation in ACTIVATIONS.items():
        params = init_params(sizes, device)  # the same start for every run
        losses[name] = train(params, X, y, activation, lr, num_epochs)
        runs[name] = params
        print(
            f"{name:<9} {losses[name][0].item():>10.4f} "
            f"{losses[name][-1].item():>10.4f} "
            f"{accuracy(params, X, y, activation):>8.1f}% "
            f"{accuracy(params, X_test, y_test, activation):>5.1f}%"
        )
    # --8<-- [end:run]

    # --8<-- [start:plot-losses]
    draw_losses(losses)
    # --8<-- [end:plot-losses]

    # --8<-- [start:plot-boundaries]
    draw_boundaries(runs, X, y)
    # --8<-- [end:plot-boundaries]

    # --8<-- [start:first-gradients]
    print("norm of dL/dW at the start, layers 1, 2, 3:")
    for name, activation in ACTIVATIONS.items():
        norms = layer_gradient_norms(
            init_params(sizes, device), X, y, activation
        )
        print(f"{name:<9}", "  ".join(f"{norm:.4f}" for norm in norms))
    # --8<-- [end:first-gradients]

    # --8<-- [start:dead-count]
    print("dead units per hidden layer, at the start and after training:")
    print(
        dead_units(init_params(sizes, device), X), dead_units(runs["ReLU"], X)
    )
    # --8<-- [end:dead-count]

    # --8<-- [start:dead-lr]
    big_lr = 6.0
    params = init_params(sizes, device)
    print(f"lr = {big_lr}: dead units per hidden layer after each step")
    for step in range(1, 7):
        before = train(params, X, y, torch.relu, big_lr, num_epochs=1).item()
        print(f"  step {step}: loss before it {before:.3f}, ", end="")
        print(f"dead after it {dead_units(params, X)}")
    later = train(params, X, y, torch.relu, big_lr, num_epochs - 6)
    print(f"after {num_epochs} steps: dead {dead_units(params, X)}, ", end="")
    print(f"loss {later[-1].item():.4f}, ", end="")
    print(f"training accuracy {accuracy(params, X, y, torch.relu):.1f}%")
    # --8<-- [end:dead-lr]

    # --8<-- [start:dead-lr-gradients]
    logits, _ = forward(X, params, torch.relu)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grads = torch.autograd.grad(loss, [t for layer in params for t in layer])
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    for name, grad in zip(names, grads, strict=True):
        print(f"norm of dL/d{name}: {grad.norm().item():.2e}")
    outputs = logits.unique()
    print(f"distinct outputs over the {len(X)} points: {len(outputs)}")
    # --8<-- [end:dead-lr-gradients]

    # --8<-- [start:saturation-run]
    print(f"{'':<26} {'in the flat tails':>18}  {'mean derivative/max':>19}")
    print(" " * 27 + " layer 1   layer 2    layer 1   layer 2")
    for name in ("sigmoid", "tanh"):
        report(
            f"{name}, start", saturation(init_params(sizes, device), X, name)
        )
        report(f"{name}, trained", saturation(runs[name], X, name))
    # --8<-- [end:saturation-run]

    # --8<-- [start:big-start]
    # the same start, but the first layer's weights and biases times 10
    big = scale_first_layer(init_params(sizes, device), 10)
    big_W1_start = big[0][0].detach().clone()
    report("tanh, 10x layer 1, start", saturation(big, X, "tanh"))
    big_norms = layer_gradient_norms(big, X, y, torch.tanh)
    big_losses = train(big, X, y, torch.tanh, lr, num_epochs)
    report("tanh, 10x layer 1, trained", saturation(big, X, "tanh"))
    print(f"first-layer gradient at the start: {big_norms[0]:.4f}")
    print(
        f"final loss {big_losses[-1].item():.4f}, accuracy: training "
        f"{accuracy(big, X, y, torch.tanh):.1f}%, "
        f"test {accuracy(big, X_test, y_test, torch.tanh):.1f}%"
    )
    # how far training moved W1, and that as a fraction of its starting size
    for label, W1, W1_start in (
        ("usual start", runs["tanh"][0][0], init_params(sizes, device)[0][0]),
        ("10x layer 1", big[0][0], big_W1_start),
    ):
        moved, size = (W1 - W1_start).norm().item(), W1_start.norm().item()
        print(
            f"{label}: W1 moved by {moved:.2f}, {moved / size:.0%} of its size"
        )
    # --8<-- [end:big-start]

    # --8<-- [start:plot-tails]
    start = init_params(sizes, device)
    draw_tails(
        forward(X, start, torch.tanh)[1][0],
        forward(X, scale_first_layer(start, 10), torch.tanh)[1][0],
    )
    # --8<-- [end:plot-tails]

    # --8<-- [start:deep]
    deep_sizes = [2] + [32] * 7 + [1]  # 8 layers of weights, 7 hidden
    signals: dict[str, list[float]] = {}
    weight_rms: dict[str, list[float]] = {}
    for name in ("sigmoid", "tanh", "ReLU"):
        params = init_params(deep_sizes, device)  # the same start for all
        signals[name], weight_rms[name] = backward_signals(
            params, X, y, ACTIVATIONS[name]
        )
    tables = {"norm of dL/dz": signals, "rms of dL/dW": weight_rms}
    for title, table in tables.items():
        print(f"{title}, layer 1 (input) ... layer 8 (output):")
        for name, values in table.items():
            print(f"{name:<8}", " ".join(f"{value:.1e}" for value in values))
    # --8<-- [end:deep]

    # --8<-- [start:deep-factors]
    print("         mean phi'  mean phi'^2  predicted  measured")
    for name in ("sigmoid", "tanh", "ReLU"):
        derivative, _ = DERIVATIVES[name]
        start = init_params(deep_sizes, device)
        with torch.no_grad():
            _, Z_hidden = forward(X, start, ACTIVATIONS[name])
        slopes = torch.cat([derivative(Z) for Z in Z_hidden])  # all units
        mean, mean_square = slopes.mean().item(), (slopes**2).mean().item()
        predicted = math.sqrt(3 / mean_square)  # shrinking per layer, by rule
        steps = len(signals[name]) - 1  # 7 steps back, layer 8 to layer 1
        measured = (signals[name][-1] / signals[name][0]) ** (1 / steps)
        print(f"{name:<8} {mean:>9.2f} {mean_square:>12.3f}", end="")
        print(f" {predicted:>9.1f}x {measured:>8.1f}x")
    # --8<-- [end:deep-factors]

    # --8<-- [start:plot-signals]
    draw_signals(signals)
    # --8<-- [end:plot-signals]

    # --8<-- [start:plot-modern]
    draw_modern(torch.linspace(-4, 3, 701))
    # --8<-- [end:plot-modern]


if __name__ == "__main__":
    main()
