"""Lesson 3.3: why a network's starting weights must differ from one another,
how large they should be (Xavier/Glorot and Kaiming/He, from keeping the
variance constant through the layers), and what PyTorch's layers draw."""

import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
# --8<-- [start:imports]
from functools import partial

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import (
    accuracy,
    draw_decision_boundary,
    make_moons,
    train,
)
from helpers import get_device, log_scale, seed_everything


# --8<-- [start:symmetry]
def tanh_net() -> nn.Sequential:
    """2 -> 16 -> 16 -> 1 with tanh, from PyTorch's own random start."""
    layers = [nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(16, 1))


def linears(model: nn.Module) -> list[nn.Linear]:
    """The model's nn.Linear layers, first to last."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def set_every_weight(layers: list[nn.Linear], c: float) -> None:
    """Every weight of these layers c, every bias 0."""
    for layer in layers:
        nn.init.constant_(layer.weight, c)
        nn.init.zeros_(layer.bias)


def distinct_units(model: nn.Module) -> list[int]:
    """Per hidden layer, how many units differ in incoming weights and bias
    (unique keeps one of each set of equal rows)."""
    rows = [torch.cat([m.weight, m.bias[:, None]], 1) for m in linears(model)]
    return [len(unit_rows.unique(dim=0)) for unit_rows in rows[:-1]]


# --8<-- [end:symmetry]


# --8<-- [start:stack]
Activation = Callable[[torch.Tensor], torch.Tensor]
WeightInit = Callable[[torch.Tensor], torch.Tensor]

# Each rule fills a weight matrix in place; nn.init's functions skip autograd.
WEIGHT_INITS: dict[str, WeightInit] = {
    "N(0, 0.01²)": partial(nn.init.normal_, std=0.01),
    "N(0, 1)": partial(nn.init.normal_, std=1.0),
    "PyTorch": partial(nn.init.kaiming_uniform_, a=math.sqrt(5)),  # nn.Linear's
    "Xavier": nn.init.xavier_uniform_,
    "Xavier, 5/3": partial(
        nn.init.xavier_uniform_, gain=nn.init.calculate_gain("tanh")
    ),
    "Kaiming": partial(nn.init.kaiming_normal_, nonlinearity="relu"),
}


def initialize(model: nn.Module, init: WeightInit) -> None:
    """Redraw every nn.Linear's weight with `init`; every bias starts at 0."""

    def redraw(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            init(module.weight)
            nn.init.zeros_(module.bias)

    model.apply(redraw)  # calls redraw on every submodule, in order


def signal_sizes(
    stack: nn.Sequential,
    X: torch.Tensor,
    G: torch.Tensor,
    activation: Activation,
) -> tuple[list[float], list[float]]:
    """Per layer: the std of its outputs going forward, and of dL/dz going
    back, for the loss L = sum(G * last outputs)."""
    A, Z_all, A_all = X, [], []
    for layer in stack:
        Z = layer(A)  # (N, width)
        A = activation(Z)
        Z_all.append(Z)
        A_all.append(A)
    grads = torch.autograd.grad(A, Z_all, grad_outputs=G)
    forward = [outputs.std().item() for outputs in A_all]
    backward = [grad.std().item() for grad in grads]
    return forward, backward


def measure(
    names: list[str], activation: Activation, X: torch.Tensor, G: torch.Tensor
) -> dict[str, tuple[list[float], list[float]]]:
    """For each rule: 20 square layers drawn by it on the CPU after
    seed_everything(0), moved to X's device, and their signal sizes."""
    sizes = {}
    for name in names:
        seed_everything(0)
        stack = nn.Sequential(
            *(nn.Linear(X.shape[1], X.shape[1]) for _ in range(20))
        )
        initialize(stack, WEIGHT_INITS[name])
        sizes[name] = signal_sizes(stack.to(X.device), X, G, activation)
    return sizes


# --8<-- [end:stack]


# --8<-- [start:predict]
# Var(w) for a square layer of n units, as each rule draws it.
VARIANCES: dict[str, Callable[[int], float]] = {
    "N(0, 0.01²)": lambda n: 0.01**2,
    "N(0, 1)": lambda n: 1.0,
    "PyTorch": lambda n: 1 / (3 * n),  # uniform within ±1/sqrt(n)
    "Xavier": lambda n: 2 / (n + n),
    "Xavier, 5/3": lambda n: (5 / 3) ** 2 * 2 / (n + n),
    "Kaiming": lambda n: 2 / n,
}
Q = {"tanh": 1.0, "ReLU": 0.5}  # E[a²] / Var(z) for small z, and E[φ'²]


def report(
    activation: str,
    sizes: dict[str, tuple[list[float], list[float]]],
    n: int,
) -> None:
    """Per rule: r predicted; r measured forward and backward (the 19th root
    of the change); the sizes where each trip starts and ends."""
    print(f"{activation:<12}{'r':>7}{'fwd r':>7}{'back r':>8}", end="")
    print(f"{'fwd 1':>9}{'fwd 20':>9}{'back 20':>9}{'back 1':>9}")
    for name, (forward, backward) in sizes.items():
        r = math.sqrt(n * VARIANCES[name](n) * Q[activation])
        forward_r = math.pow(forward[-1] / forward[0], 1 / 19)
        backward_r = math.pow(backward[0] / backward[-1], 1 / 19)
        ends = [forward[0], forward[-1], backward[-1], backward[0]]
        print(f"{name:<12}{r:>7.3f}{forward_r:>7.3f}{backward_r:>8.3f}", end="")
        print("".join(f"{size:>9.1e}" for size in ends))


# --8<-- [end:predict]


# --8<-- [start:deep-net]
def deep_relu_net(width: int, depth: int) -> nn.Sequential:
    """2 -> width -> ... -> width -> 1, `depth` hidden layers with ReLUs,
    from PyTorch's own start (weights and biases)."""
    layers: list[nn.Module] = []
    for n_in in [2] + [width] * (depth - 1):
        layers += [nn.Linear(n_in, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


# --8<-- [end:deep-net]


# --8<-- [start:draw-symmetry]
def on_cpu(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model's predictions for inputs on any device (it lives on the
    CPU)."""
    return lambda grid: model(grid.cpu())


def draw_symmetry(
    models: dict[str, nn.Module], X: torch.Tensor, y: torch.Tensor
) -> None:
    """Two stacked panels: the decision boundaries of two models."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 8), layout="constrained")
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        draw_decision_boundary(ax, on_cpu(model), X, y, name)
    axes[0].legend(loc="lower left")
    accs = [f"{accuracy(model, X, y):.1%}" for model in models.values()]
    fig.set_label(
        "Two panels over the two moons. Top, the network that started with "
        "every weight equal: its boundary is a single straight line across "
        f"both moons, and it gets {accs[0]} of the points right. Bottom, the "
        "same network from PyTorch's random start: a curved boundary that "
        f"winds between the moons, {accs[1]} right."
    )
    plt.show()


# --8<-- [end:draw-symmetry]


# --8<-- [start:draw-signals]
LineStyle = str | tuple[int, tuple[int, ...]]
STYLES: dict[str, tuple[LineStyle, str]] = {  # line style, marker per rule
    "N(0, 0.01²)": (":", "v"),
    "N(0, 1)": ("--", "^"),
    "PyTorch": ("-.", "s"),
    "Xavier": ("-", "o"),
    "Xavier, 5/3": ((0, (4, 1, 1, 1, 1, 1)), "D"),  # dash, dot, dot
    "Kaiming": ("-", "o"),
}


def draw_signals(
    activation: str, sizes: dict[str, tuple[list[float], list[float]]]
) -> None:
    """Two stacked panels, on log scales: each rule's forward size per
    layer, then its backward size per layer."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 7.4), layout="constrained")
    for direction, ax in enumerate(axes):
        for name, both in sizes.items():
            values = both[direction]
            style, marker = STYLES[name]
            color = f"C{list(STYLES).index(name)}"  # the same in every figure
            layers = range(1, len(values) + 1)
            ax.plot(
                layers,
                values,
                ls=style,
                marker=marker,
                ms=4,
                c=color,
                label=name,
            )
        log_scale(ax)
        ax.set_xlabel("layer")
        ax.set_xticks([1, 5, 10, 15, 20])
    axes[0].set_title(f"{activation}: outputs on the way forward")
    axes[0].set_ylabel("std of the outputs")
    axes[1].set_title(f"{activation}: dL/dz on the way back (lines as above)")
    axes[1].set_ylabel("std of dL/dz")
    axes[0].legend(loc="best")
    ends = "; ".join(
        f"{name} from {f[0]:.1g} to {f[-1]:.1g} forward and from {b[-1]:.1g} "
        f"to {b[0]:.1g} backward"
        for name, (f, b) in sizes.items()
    )
    fig.set_label(
        f"Two panels for a stack of 20 {activation} layers, on log scales "
        "against the layer: the standard deviation of each layer's outputs "
        "(top) and of the gradient dL/dz sent back to it (bottom), one line "
        f"per starting rule. Layer 1 to layer 20, and back: {ends}."
    )
    plt.show()


# --8<-- [end:draw-signals]


# --8<-- [start:draw-training]
def draw_training(curves: dict[str, list[float]]) -> None:
    """One panel: each start's training loss per step; a loss off the axis
    is given in the legend instead."""
    fig, ax = plt.subplots(figsize=(5.4, 3.8), layout="constrained")
    for i, (name, losses) in enumerate(curves.items()):
        style, marker = STYLES.get(name, ("-.", "s"))
        label = name
        if not all(0.3 < loss < 0.8 for loss in losses):
            label = f"{name}: {losses[0]:.0e}, then {losses[-1]}"
        ax.plot(
            losses, ls=style, marker=marker, markevery=(i, 4), ms=5, label=label
        )
    ax.set_ylim(0.3, 0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("A 20-layer ReLU network on the moons")
    ax.legend(loc="lower left")
    ends = ", ".join(
        f"{name} {losses[0]:.3g} to {losses[-1]:.3g}"
        for name, losses in curves.items()
    )
    fig.set_label(
        "The training loss of the same 20-layer ReLU network from four "
        "starts, over 60 steps, on an axis from 0.3 to 0.8. The start with "
        "N(0, 1) weights is off the axis: its first loss is enormous and "
        "the next ones are not finite, as its legend entry says. The tiny "
        "start and PyTorch's own lie on top of each other, flat near ln 2, "
        "about 0.69; only "
        f"Kaiming's falls. First to last step: {ends}."
    )
    plt.show()


# --8<-- [end:draw-training]


def main() -> None:
    # --8<-- [start:zero-start]
    # On the CPU: "equal" here means equal to the last bit, which one CPU
    # keeps, run after run; a GPU may round two equal units' sums apart.
    cpu = torch.device("cpu")
    seed_everything(0)
    X, y = make_moons(200, cpu)
    zero = tanh_net()
    set_every_weight(linears(zero), 0.0)
    loss = F.binary_cross_entropy_with_logits(zero(X), y)
    grads = torch.autograd.grad(loss, list(zero.parameters()))  # W1, b1, ...
    print(
        f"largest |gradient| of each: {[g.abs().max().item() for g in grads]}"
    )
    # --8<-- [end:zero-start]

    # --8<-- [start:symmetry-run]
    models: dict[str, nn.Module] = {
        "every weight 0.1": tanh_net(),
        "PyTorch's start": tanh_net(),
    }
    set_every_weight(linears(models["every weight 0.1"]), 0.1)
    for name, model in {"all zero": zero, **models}.items():
        losses = train(model, X, y, lr=1.0, num_epochs=500)
        print(
            f"{name:<17} loss {losses[0]:.4f} -> {losses[-1]:.4f}, "
            f"accuracy {accuracy(model, X, y):.1%}, "
            f"distinct units {distinct_units(model)}"
        )
    W1 = linears(models["every weight 0.1"])[0].weight.detach()  # (16, 2)
    print(f"W1, first three units of 16:\n{W1[:3]}")
    # --8<-- [end:symmetry-run]

    # --8<-- [start:plot-symmetry]
    draw_symmetry(models, X, y)
    # --8<-- [end:plot-symmetry]

    # --8<-- [start:stack-run]
    device = get_device()
    # The inputs' own dice, seeded 2, not 0: the stacks are drawn after
    # seed_everything(0), and a CPU generator seeded 0 would replay the same
    # random numbers in the inputs as in the weights.
    generator = torch.Generator().manual_seed(2)
    X_deep = torch.randn(256, 256, generator=generator).to(device)  # (N, n)
    G = torch.randn(256, 256, generator=generator).to(device)
    tanh_rules = ["N(0, 0.01²)", "N(0, 1)", "PyTorch", "Xavier", "Xavier, 5/3"]
    relu_rules = ["N(0, 0.01²)", "N(0, 1)", "PyTorch", "Kaiming"]
    tanh_sizes = measure(tanh_rules, torch.tanh, X_deep, G)
    relu_sizes = measure(relu_rules, torch.relu, X_deep, G)
    report("tanh", tanh_sizes, n=256)
    report("ReLU", relu_sizes, n=256)
    # --8<-- [end:stack-run]

    # --8<-- [start:plot-signals]
    draw_signals("tanh", tanh_sizes)
    draw_signals("ReLU", relu_sizes)
    # --8<-- [end:plot-signals]

    # --8<-- [start:plot-zoom]
    bounded = {name: tanh_sizes[name] for name in ("Xavier", "Xavier, 5/3")}
    draw_signals("tanh", bounded)
    # --8<-- [end:plot-zoom]

    # --8<-- [start:gains]
    gain = nn.init.calculate_gain
    print(f"linear {gain('linear')}, sigmoid {gain('sigmoid')}")
    print(f"tanh {gain('tanh'):.4f}, relu {gain('relu'):.4f}")
    print(f"leaky_relu with a = √5: {gain('leaky_relu', math.sqrt(5)):.4f}")
    # --8<-- [end:gains]

    # --8<-- [start:init-functions]
    W = torch.empty(512, 256)  # (fan_out, fan_in): a layer from 256 to 512
    nn.init.xavier_uniform_(W)
    print(
        f"xavier_uniform_: largest |w| {W.abs().max():.4f}, std {W.std():.4f}"
    )
    nn.init.kaiming_normal_(W, nonlinearity="relu")
    print(f"kaiming_normal_: std {W.std():.4f}")
    nn.init.kaiming_normal_(W, mode="fan_out", nonlinearity="relu")
    print(f"kaiming_normal_, mode='fan_out': std {W.std():.4f}")
    # --8<-- [end:init-functions]

    # --8<-- [start:random-start]
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)  # 4 inputs: every entry within ±1/sqrt(4) = ±0.5
    print(f"weight:\n{layer.weight.detach()}")
    print(f"bias: {layer.bias.detach()}")
    torch.manual_seed(0)
    again = nn.Linear(4, 3)
    same = torch.equal(again.weight, layer.weight)
    print(
        f"same seed: same draw? {same and torch.equal(again.bias, layer.bias)}"
    )
    after = nn.Linear(4, 3)  # not reseeded: the generator has moved on
    print(f"next layer: same draw? {torch.equal(after.weight, layer.weight)}")
    # --8<-- [end:random-start]

    # --8<-- [start:default-bounds]
    W = nn.Linear(1024, 1024).weight  # bound 1/sqrt(1024) = 0.03125
    print(f"largest |w| {W.abs().max():.5f}, mean square {W.pow(2).mean():.3e}")
    # --8<-- [end:default-bounds]

    # --8<-- [start:other-layers]
    conv = nn.Conv2d(16, 32, kernel_size=3)  # weight (32, 16, 3, 3)
    conv_w, conv_b = conv.weight, conv.bias
    assert conv_b is not None  # it has a bias (bias=True, the default)
    print(f"Conv2d: fan_in 16*3*3 = 144, 1/sqrt(144) = {1 / 12:.4f}")
    print(
        f"  largest |w| {conv_w.abs().max():.4f}, |b| {conv_b.abs().max():.4f}"
    )
    embedding = nn.Embedding(1000, 64)
    E = embedding.weight
    print(f"Embedding: mean {E.mean():+.3f}, std {E.std():.3f}")
    for norm in (nn.LayerNorm(64), nn.BatchNorm1d(64)):
        ones = bool((norm.weight == 1).all())
        zeros = bool((norm.bias == 0).all())
        print(f"{type(norm).__name__}: weight all 1 {ones}, bias all 0 {zeros}")
    # --8<-- [end:other-layers]

    # --8<-- [start:deep-training]
    seed_everything(0)
    X, y = make_moons(200, device)  # the moons of the first demonstration
    curves = {}
    for name in ("N(0, 0.01²)", "N(0, 1)", "PyTorch's own", "Kaiming"):
        seed_everything(0)
        model = deep_relu_net(width=32, depth=20)  # drawn on the CPU
        if name in WEIGHT_INITS:  # else keep PyTorch's weights and biases
            initialize(model, WEIGHT_INITS[name])
        curves[name] = train(model.to(device), X, y, lr=0.02, num_epochs=60)
        print(
            f"{name:<14} loss {curves[name][0]:.3g} -> {curves[name][-1]:.3g},"
            f" accuracy {accuracy(model, X, y):.1%}"
        )
    # --8<-- [end:deep-training]

    # --8<-- [start:plot-training]
    draw_training(curves)
    # --8<-- [end:plot-training]


if __name__ == "__main__":
    main()
