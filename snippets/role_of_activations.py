"""Lesson 2.4: one network trained with different activations; dead ReLUs,
saturated sigmoids and tanhs, gradients through a deep stack, and the
activations modern networks use."""

# --8<-- [start:imports]
import math
from collections.abc import Callable
from itertools import pairwise

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import draw_decision_boundary, make_moons
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
    """Weights and biases drawn as nn.Linear draws them by default: uniform on
    [-1/sqrt(fan_in), 1/sqrt(fan_in)]. The draw uses its own generator on the
    CPU, so every call with the same seed starts from the same numbers, on
    every device."""
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
    H = X  # (N, 2): the input is the first layer's "activation"
    Z_hidden = []
    for W, b in params[:-1]:
        Z = H @ W.T + b  # (N, fan_out): pre-activations
        Z_hidden.append(Z)
        H = activation(Z)  # (N, fan_out): activations
    W, b = params[-1]  # the output layer has no activation
    return H @ W.T + b, Z_hidden


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
    """The percentage of points on the right side of the boundary."""
    with torch.no_grad():
        logits, _ = forward(X, params, activation)
    return 100 * ((logits > 0).float() == y).float().mean().item()


# --8<-- [end:train]


# --8<-- [start:gradients]
def layer_gradient_norms(
    params: Params, X: torch.Tensor, y: torch.Tensor, activation: Activation
) -> list[float]:
    """The size (norm) of the loss's gradient for each layer's weights W,
    first layer first. Leaves the .grad of params untouched."""
    logits, _ = forward(X, params, activation)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grads = torch.autograd.grad(loss, [W for W, _ in params])
    return [grad.norm().item() for grad in grads]


# --8<-- [end:gradients]


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
    """For each hidden layer: the fraction of pre-activations (all examples,
    all units) in the flat tails, where the derivative is under a tenth of
    its largest value, and the mean derivative as a fraction of that
    largest value."""
    derivative, largest = DERIVATIVES[name]
    with torch.no_grad():
        _, Z_hidden = forward(X, params, ACTIVATIONS[name])
    result = []
    for Z in Z_hidden:
        relative = derivative(Z) / largest  # (N, width), between 0 and 1
        in_tails = (relative < 0.1).float().mean().item()
        result.append((in_tails, relative.mean().item()))
    return result


def scale_first_layer(params: Params, factor: float) -> Params:
    """A copy of params with the first layer's weights and biases multiplied
    by factor."""
    scaled = []
    for number, (W, b) in enumerate(params):
        f = factor if number == 0 else 1.0
        W, b = (f * W).detach(), (f * b).detach()
        scaled.append((W.requires_grad_(), b.requires_grad_()))
    return scaled


# --8<-- [end:saturation]


# --8<-- [start:modern]
def leaky_relu_01(Z: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with slope 0.1 for negative inputs (PyTorch's default is
    0.01, too flat to see on a plot)."""
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
    H = activation(Z)
    # each H_i depends only on Z_i, so the gradient of the sum is each dH_i/dZ_i
    (dH,) = torch.autograd.grad(H.sum(), Z)
    return H.detach(), dH


# --8<-- [end:modern]


# --8<-- [start:swiglu]
def swiglu(
    X: torch.Tensor, W: torch.Tensor, V: torch.Tensor, W2: torch.Tensor
) -> torch.Tensor:
    """A SwiGLU feed-forward block: SiLU of one projection of X, times a
    second projection of X, projected back. X is (N, d); W and V are
    (hidden, d); W2 is (d, hidden)."""
    gate = F.silu(X @ W.T)  # (N, hidden)
    value = X @ V.T  # (N, hidden)
    return (gate * value) @ W2.T  # (N, d)


# --8<-- [end:swiglu]


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
def predictor(params: Params, activation: Activation) -> Activation:
    """The network as a function from inputs (M, 2) to logits (M, 1)."""
    return lambda grid: forward(grid, params, activation)[0]


def draw_boundaries(
    runs: dict[str, Params], X: torch.Tensor, y: torch.Tensor
) -> None:
    """A small decision-boundary panel per activation, in a 2 x 2 grid."""
    fig, axes = plt.subplots(
        2, 2, figsize=(5.4, 5.0), sharex=True, sharey=True, layout="constrained"
    )
    for ax, (name, params) in zip(axes.flat, runs.items(), strict=True):
        predict = predictor(params, ACTIVATIONS[name])
        draw_decision_boundary(ax, predict, X, y, name)
        ax.set_xlabel("")  # the panels are small: no axis labels
        ax.set_ylabel("")
    fig.set_label(
        "Four decision boundaries on the two moons. Identity: a straight "
        "line through the tips of both moons. Sigmoid: almost the same line, "
        "barely bent. Tanh: a smooth S-shaped curve between the moons. ReLU: "
        "nearly the same S, made of straight pieces with corners."
    )
    plt.show()


# --8<-- [end:draw-boundaries]


# --8<-- [start:draw-tails]
def draw_tails(Z_small: torch.Tensor, Z_large: torch.Tensor) -> None:
    """Histograms of first-layer tanh pre-activations for the usual start
    and for first-layer weights times 10, with the flat tails (tanh' < 0.1)
    shaded."""
    edge = math.atanh(math.sqrt(0.9))  # where tanh' = 1 - tanh^2 = 0.1
    fig, (ax_top, ax_bottom) = plt.subplots(
        2, 1, figsize=(5.4, 5.4), layout="constrained"
    )
    for ax, Z, title in (
        (ax_top, Z_small, "the usual start"),
        (ax_bottom, Z_large, "weights times 10"),
    ):
        shade_tails(ax, Z, edge)
        ax.set_title(f"tanh, first layer: {title}")
        ax.set_ylabel("count")
    ax_bottom.set_xlabel("pre-activation $z$ (shaded: where tanh' < 0.1)")
    fig.set_label(
        "Histograms of the first layer's pre-activations at the start, for "
        "all 200 points and 16 units. From the usual start, all of them lie "
        "between about -1.6 and 1.6, clear of the shaded flat tails. With "
        "the first layer's weights and biases times 10, they spread from "
        "about -16 to 16 and most fall in the shaded tails."
    )
    plt.show()


def shade_tails(ax: Axes, Z: torch.Tensor, edge: float) -> None:
    values = Z.detach().flatten().cpu()
    reach = max(values.abs().max().item(), edge) * 1.05
    ax.hist(values, bins=40, range=(-reach, reach), color="tab:gray")
    ax.axvspan(-reach, -edge, color="tab:red", alpha=0.2)
    ax.axvspan(edge, reach, color="tab:red", alpha=0.2)
    ax.set_xlim(-reach, reach)


# --8<-- [end:draw-tails]


# --8<-- [start:draw-gradients]
def draw_gradients(norms: dict[str, list[float]]) -> None:
    """Each layer's weight-gradient norm at the start, one line per
    activation, log scale."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    for name, values in norms.items():
        layers = range(1, len(values) + 1)
        linestyle, marker = STYLES[name]
        ax.plot(layers, values, label=name, ls=linestyle, marker=marker)
    log_scale(ax)
    ax.set_xticks(list(range(1, 9)))
    ax.set_title("Gradients at the start, 8 layers")
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.set_ylabel("norm of dL/dW (log scale)")
    ax.legend()
    fig.set_label(
        "The size of each layer's weight gradient at the start, eight "
        "layers, log scale. The sigmoid line climbs steeply from about "
        "0.0000003 at layer 1 to about 0.1 at layer 8. The tanh and ReLU "
        "lines are almost flat, tanh around 0.01 to 0.02 and ReLU around "
        "0.001 to 0.003, each with a lower first layer."
    )
    plt.show()


# --8<-- [end:draw-gradients]


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
        H, dH = curves(activation, Z)
        ls, color = MODERN_STYLES[name]
        ax_value.plot(Z.cpu(), H.cpu(), label=name, lw=2, ls=ls, color=color)
        ax_slope.plot(Z.cpu(), dH.cpu(), lw=2, ls=ls, color=color)
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
        "All are close to zero for large negative inputs and close to the "
        "identity for large positive ones; Leaky ReLU slopes gently below "
        "zero; GELU and SiLU curve smoothly and dip slightly below zero "
        "before rising. Bottom: their derivatives. ReLU's jumps from 0 to 1 "
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
    X, y = make_moons(200, device)
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    # --8<-- [end:data]

    # --8<-- [start:same-start]
    sizes = [2, 16, 16, 1]
    first = init_params(sizes, device)
    again = init_params(sizes, device)
    same = all(
        torch.equal(W, W_again) and torch.equal(b, b_again)
        for (W, b), (W_again, b_again) in zip(first, again, strict=True)
    )
    count = sum(W.numel() + b.numel() for W, b in first)
    print(f"{count} parameters; the same numbers on every call: {same}")
    # --8<-- [end:same-start]

    # --8<-- [start:run]
    lr = 0.4
    num_epochs = 1000
    runs: dict[str, Params] = {}
    losses: dict[str, torch.Tensor] = {}
    print(f"{'':<9} {'first loss':>10} {'final loss':>10} {'accuracy':>9}")
    for name, activation in ACTIVATIONS.items():
        params = init_params(sizes, device)  # the same start for every run
        losses[name] = train(params, X, y, activation, lr, num_epochs)
        runs[name] = params
        print(
            f"{name:<9} {losses[name][0].item():>10.4f} "
            f"{losses[name][-1].item():>10.4f} "
            f"{accuracy(params, X, y, activation):>8.1f}%"
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
    width = sizes[1]
    at_start = dead_units(init_params(sizes, device), X)
    trained = dead_units(runs["ReLU"], X)
    print(f"dead units (of {width}) per hidden layer, at the start: {at_start}")
    print(
        f"dead units (of {width}) per hidden layer, after training: {trained}"
    )
    # --8<-- [end:dead-count]

    # --8<-- [start:dead-gradient]
    params = runs["ReLU"]
    logits, Z_hidden = forward(X, params, torch.relu)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grads = torch.autograd.grad(loss, [t for layer in params for t in layer])
    grad_W1, grad_b1 = grads[0], grads[1]  # (16, 2) and (16,)
    dead = (Z_hidden[0] <= 0).all(dim=0)  # (16,): the dead units of layer 1
    print(f"dead units of layer 1: {dead.nonzero().flatten().tolist()}")
    print(f"their largest |gradient| in W1: {grad_W1[dead].abs().max().item()}")
    print(f"their largest |gradient| in b1: {grad_b1[dead].abs().max().item()}")
    alive = grad_W1[~dead].abs().max().item()
    print(f"the live units' largest |gradient| in W1: {alive:.4f}")
    # --8<-- [end:dead-gradient]

    # --8<-- [start:dead-lr]
    big_lr = 6.0
    params = init_params(sizes, device)
    print(f"lr = {big_lr}: dead units per hidden layer after each step")
    for step in range(1, 7):
        loss_before = train(params, X, y, torch.relu, big_lr, num_epochs=1)
        print(
            f"  step {step}: loss before it {loss_before.item():.3f}, ", end=""
        )
        print(f"dead after it {dead_units(params, X)}")
    later = train(params, X, y, torch.relu, big_lr, num_epochs - 6)
    print(f"after {num_epochs} steps: dead {dead_units(params, X)}, ", end="")
    print(f"loss {later[-1].item():.4f}, ", end="")
    print(f"accuracy {accuracy(params, X, y, torch.relu):.1f}%")
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
    print(f"{'':<26} {'layer 1':>8} {'layer 2':>9}", end="")
    print(f"  {'layer 1':>9} {'layer 2':>9}")

    def report(label: str, measured: list[tuple[float, float]]) -> None:
        (tails1, mean1), (tails2, mean2) = measured
        print(
            f"{label:<26} {tails1:>8.1%} {tails2:>9.1%}  "
            f"{mean1:>9.2f} {mean2:>9.2f}"
        )

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
        f"final loss {big_losses[-1].item():.4f}, "
        f"accuracy {accuracy(big, X, y, torch.tanh):.1f}%"
    )
    # how far training moved W1, as a fraction of its starting size
    usual_W1_start = init_params(sizes, device)[0][0]
    for label, W1, W1_start in (
        ("usual start", runs["tanh"][0][0], usual_W1_start),
        ("10x layer 1", big[0][0], big_W1_start),
    ):
        moved = ((W1 - W1_start).norm() / W1_start.norm()).item()
        print(f"{label}: W1 moved by {moved:.0%} of its starting size")
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
    deep_norms: dict[str, list[float]] = {}
    print("norm of dL/dW at the start, layer 1 (input) ... layer 8 (output):")
    for name in ("sigmoid", "tanh", "ReLU"):
        params = init_params(deep_sizes, device)  # the same start for all
        deep_norms[name] = layer_gradient_norms(params, X, y, ACTIVATIONS[name])
        print(f"{name:<8}", " ".join(f"{n:.1e}" for n in deep_norms[name]))
    # --8<-- [end:deep]

    # --8<-- [start:deep-derivatives]
    for name in ("sigmoid", "tanh", "ReLU"):
        derivative, largest = DERIVATIVES[name]
        with torch.no_grad():
            _, Z_hidden = forward(
                X, init_params(deep_sizes, device), ACTIVATIONS[name]
            )
        mean = torch.cat([derivative(Z) for Z in Z_hidden]).mean().item()
        print(f"{name:<8} mean derivative {mean:.2f} (its largest: {largest})")
    # --8<-- [end:deep-derivatives]

    # --8<-- [start:plot-gradients]
    draw_gradients(deep_norms)
    # --8<-- [end:plot-gradients]

    # --8<-- [start:plot-modern]
    draw_modern(torch.linspace(-4, 3, 701))
    # --8<-- [end:plot-modern]

    # --8<-- [start:gelu]
    # float64 on the CPU, so that the comparison is not blurred by rounding
    # (Apple's MPS has no float64)
    Z = torch.linspace(-6, 6, 12001, dtype=torch.float64)
    exact = Z * 0.5 * (1 + torch.erf(Z / math.sqrt(2)))  # z * Phi(z)
    print(f"nn.GELU() default: approximate={torch.nn.GELU().approximate!r}")
    print(f"F.gelu against z * Phi(z): {(F.gelu(Z) - exact).abs().max():.1e}")
    gap = (F.gelu(Z, approximate="tanh") - F.gelu(Z)).abs()
    print(
        f"tanh form against exact: {gap.max():.5f} at z = {Z[gap.argmax()]:.2f}"
    )
    for name, activation in (("GELU", F.gelu), ("SiLU", F.silu)):
        H = activation(Z)
        print(f"{name} is lowest at z = {Z[H.argmin()]:.2f}: {H.min():.3f}")
    # --8<-- [end:gelu]

    # --8<-- [start:swiglu-run]
    d = 12  # the width of the data flowing through the block
    hidden_plain = 4 * d  # a plain block: d -> 4d -> d, 2 matrices
    hidden_gated = 2 * 4 * d // 3  # a gated block: 3 matrices of (2/3)(4d)
    generator = torch.Generator().manual_seed(0)
    W = torch.randn(hidden_gated, d, generator=generator)
    V = torch.randn(hidden_gated, d, generator=generator)
    W2 = torch.randn(d, hidden_gated, generator=generator)
    X_tokens = torch.randn(5, d, generator=generator)  # 5 inputs of width d
    print(f"SwiGLU block: {tuple(X_tokens.shape)} -> ", end="")
    print(f"{tuple(swiglu(X_tokens, W, V, W2).shape)}")
    plain, gated = 2 * d * hidden_plain, 3 * d * hidden_gated
    print(f"weights, plain block: 2 x {d} x {hidden_plain} = {plain}")
    print(f"weights, gated block: 3 x {d} x {hidden_gated} = {gated}")
    # --8<-- [end:swiglu-run]


if __name__ == "__main__":
    main()
