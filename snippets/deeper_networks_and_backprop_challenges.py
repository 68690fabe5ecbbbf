"""Lesson 3.4: vanishing and exploding gradients measured layer by layer in a
20-layer network, what they do to training, and three remedies: batch
normalization, residual connections and gradient clipping."""

import math
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn

# isort: split
# --8<-- [start:imports]
import copy
from dataclasses import dataclass
from itertools import pairwise

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, log_scale, seed_everything

# --8<-- [start:model]
Activation = Callable[[torch.Tensor], torch.Tensor]


def make_norm(kind: str | None, width: int) -> nn.Module:
    """A normalization layer for `width` units, or one that does nothing."""
    if kind == "batch":
        return nn.BatchNorm1d(width)  # each unit, over the batch
    if kind == "layer":
        return nn.LayerNorm(width)  # each example, over its units
    return nn.Identity()


class DeepNet(nn.Module):
    """2 -> width -> ... -> width -> 1, with `depth` hidden layers. Hidden
    layer l computes z_l = norm(W_l a_{l-1} + b_l), then a_l = activation(z_l);
    with residual=True, layers 2 to depth add their input: z_{l-1} + ..."""

    def __init__(
        self,
        activation: Activation,
        depth: int = 20,
        width: int = 32,
        norm: str | None = None,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.activation, self.residual = activation, residual
        sizes = [2] + [width] * depth
        self.hidden = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in pairwise(sizes)
        )
        self.norms = nn.ModuleList(make_norm(norm, width) for _ in sizes[1:])
        self.output = nn.Linear(width, 1)

    def linears(self) -> list[nn.Linear]:
        """The depth + 1 linear layers, first to last."""
        return [*self.hidden, self.output]

    def pre_activations(self, X: torch.Tensor) -> list[torch.Tensor]:
        """z_1, ..., z_depth, each (N, width), then the logits (N, 1)."""
        Z = self.norms[0](self.hidden[0](X))
        Z_all = [Z]
        for linear, norm in zip(self.hidden[1:], self.norms[1:], strict=True):
            branch = norm(linear(self.activation(Z)))
            Z = Z + branch if self.residual else branch  # the identity path
            Z_all.append(Z)
        Z_all.append(self.output(self.activation(Z)))
        return Z_all

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.pre_activations(X)[-1]


def deep_net(
    activation: Activation,
    device: torch.device,
    scale: float = 1.0,
    **options: str | bool | int | None,
) -> DeepNet:
    """A DeepNet with Kaiming-normal weights (std sqrt(2 / fan_in), lesson
    3.3) times `scale` and zero biases: the same draw at every call."""
    seed_everything(0)
    model = DeepNet(activation, **options)  # type: ignore[arg-type]
    with torch.no_grad():  # setting a start is not part of any loss
        for layer in model.linears():
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            layer.weight.mul_(scale)
            nn.init.zeros_(layer.bias)
    return model.to(device)


# --8<-- [end:model]


# --8<-- [start:gradients]
def layer_gradients(
    model: DeepNet, X: torch.Tensor, y: torch.Tensor
) -> tuple[list[float], list[float]]:
    """Per layer, first layer first, from one backward pass: the norm of
    dL/dz and the norm of dL/dW. The .grad fields are left untouched."""
    Z_all = model.pre_activations(X)
    loss = F.binary_cross_entropy_with_logits(Z_all[-1], y)
    weights = [layer.weight for layer in model.linears()]
    grads = torch.autograd.grad(loss, [*Z_all, *weights])
    norms = [grad.norm().item() for grad in grads]
    return norms[: len(Z_all)], norms[len(Z_all) :]


def factor_per_layer(signals: list[float]) -> float:
    """The average factor by which dL/dz grows (> 1) or shrinks (< 1) per
    layer on the way back, from the last hidden layer to the first."""
    hidden = signals[:-1]  # z_1 ... z_depth, without the logits
    return math.pow(hidden[0] / hidden[-1], 1 / (len(hidden) - 1))


# --8<-- [end:gradients]


# --8<-- [start:train]
@dataclass
class Run:
    losses: list[float]  # the loss before each step
    norms: list[float]  # the gradients' total norm, before any clipping


def gradient_norm(model: nn.Module) -> float:
    """All the gradients' norm as one long vector: the norm of their norms."""
    norms = [p.grad.norm() for p in model.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm().item())


def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_steps: int,
    max_norm: float | None = None,
) -> Run:
    """Full-batch SGD; with max_norm, clip the gradients' total norm to it.
    Stops early if the loss stops being a finite number."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    run = Run([], [])
    for _ in range(num_steps):
        optimizer.zero_grad()  # zero the gradients
        logits = model(X)  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
        loss.backward()  # backward
        if max_norm is None:
            run.norms.append(gradient_norm(model))
        else:  # returns the total norm from before clipping
            total = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            run.norms.append(total.item())
        optimizer.step()  # step
        run.losses.append(loss.item())
        if not math.isfinite(run.losses[-1]):
            break  # inf or nan: nothing left to learn
    return run


def relative_change(start: DeepNet, trained: DeepNet) -> list[float]:
    """How far each layer's weights moved, as a fraction of their size."""
    pairs = zip(start.linears(), trained.linears(), strict=True)
    return [
        ((b.weight - a.weight).norm() / a.weight.norm()).item()
        for a, b in pairs
    ]


def spread_over_examples(model: DeepNet, X: torch.Tensor) -> list[float]:
    """Per hidden layer: how much z differs from one example to another (its
    standard deviation over the examples, averaged over the units)."""
    with torch.no_grad():
        Z_all = model.pre_activations(X)[:-1]
    return [Z.std(dim=0).mean().item() for Z in Z_all]


# --8<-- [end:train]


# --8<-- [start:clipping]
def gradients(model: nn.Module) -> list[torch.Tensor]:
    """Copies of the model's gradients, one tensor per parameter."""
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


def compare(after: list[torch.Tensor], before: list[torch.Tensor]) -> str:
    """What clipping did: per-tensor norm factors, total norm, and the cosine
    between the gradients before and after, each as one long vector."""
    pairs = zip(after, before, strict=True)
    factors = [(a.norm() / b.norm()).item() for a, b in pairs]
    total = torch.stack([a.norm() for a in after]).norm()
    flat_after = torch.cat([a.flatten() for a in after])
    flat_before = torch.cat([b.flatten() for b in before])
    cosine = F.cosine_similarity(flat_after, flat_before, dim=0)
    return (
        f"factors {min(factors):.4g} to {max(factors):.4g}, "
        f"norm {total:.4f}, cosine {cosine:.4f}"
    )


# --8<-- [end:clipping]


# --8<-- [start:draw-profiles]
# a line style and a marker per network, so that colour is not needed
STYLES = {
    "sigmoid": ("-", "o"),
    "ReLU": ("--", "s"),
    "ReLU, weights x1.2": (":", "^"),
    "sigmoid + BatchNorm": ("--", "s"),
    "sigmoid + residual": (":", "^"),
    "no clipping": ("-", "o"),
    "clipped": ("--", "s"),
}


def plot_per_layer(ax: Axes, values: dict[str, list[float]]) -> None:
    """One line per network against the layer number, on a log scale."""
    for name, per_layer in values.items():
        linestyle, marker = STYLES[name]
        layers = range(1, len(per_layer) + 1)
        ax.plot(layers, per_layer, ls=linestyle, marker=marker, label=name)
    log_scale(ax)
    ax.set_xticks([1, 5, 10, 15, 21])
    ax.set_xlabel("layer (1 = nearest the input, 21 = output)")


def draw_profiles(profiles: dict[str, tuple[list[float], list[float]]]) -> None:
    """Two stacked panels: the norm of dL/dz per layer, then of dL/dW."""
    fig, (ax_z, ax_w) = plt.subplots(
        2, 1, figsize=(5.4, 6.8), layout="constrained"
    )
    plot_per_layer(ax_z, {n: z for n, (z, _) in profiles.items()})
    plot_per_layer(ax_w, {n: w for n, (_, w) in profiles.items()})
    ax_z.set_title("Backward signal dL/dz, at the start")
    ax_z.set_ylabel("norm (log scale)")
    ax_w.set_title("Weight gradient dL/dW, at the start")
    ax_w.set_ylabel("norm (log scale)")
    ax_z.legend(loc="lower right")
    described = "; ".join(
        f"{name}: dL/dz from {z[-1]:.0e} at the output to {z[0]:.0e} at "
        f"layer 1, dL/dW from {w[0]:.0e} at layer 1 to {w[-1]:.0e}"
        for name, (z, w) in profiles.items()
    )
    fig.set_label(
        "Two panels, log scale, against the layer number from 1 to 21. "
        f"{described}. The sigmoid's lines fall steadily towards layer 1, "
        "the ReLU's stay nearly flat, and with weights 1.2 times larger the "
        "backward signal rises towards layer 1 while every weight gradient "
        "sits far above the ReLU's."
    )
    plt.show()


# --8<-- [end:draw-profiles]


# --8<-- [start:draw-cures]
def draw_cure_gradients(weight_grads: dict[str, list[float]]) -> None:
    """The norm of dL/dW per layer at the start, one line per network."""
    fig, ax = plt.subplots(figsize=(5.4, 3.6), layout="constrained")
    plot_per_layer(ax, weight_grads)
    ax.set_title("Weight gradients at the start")
    ax.set_ylabel("norm of dL/dW (log scale)")
    ax.legend(loc="lower right")
    span = {name: max(w) / min(w) for name, w in weight_grads.items()}
    described = "; ".join(
        f"{name} from {w[0]:.0e} at layer 1 to {w[-1]:.0e} at the output"
        for name, w in weight_grads.items()
    )
    fig.set_label(
        "The norm of each layer's weight gradient at the start, log scale, "
        f"against the layer number: {described}. The plain sigmoid's line "
        f"climbs through {math.log10(span['sigmoid']):.0f} powers of ten; "
        "both cured networks' lines stay within about one."
    )
    plt.show()


def draw_cure_training(
    runs: dict[str, Run], moved: dict[str, list[float]]
) -> None:
    """Two stacked panels: the loss per step, then how far each layer's
    weights moved during training, one line per network."""
    fig, (ax_loss, ax_moved) = plt.subplots(
        2, 1, figsize=(5.4, 6.8), layout="constrained"
    )
    for name, run in runs.items():
        linestyle, marker = STYLES[name]
        ax_loss.plot(
            run.losses, ls=linestyle, marker=marker, markevery=25, label=name
        )
    log_scale(ax_loss)
    ax_loss.set_title("Training loss")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.legend(loc="lower left")
    plot_per_layer(ax_moved, moved)
    unmoved = sum(change == 0 for change in moved["sigmoid"])
    ax_moved.text(
        0.03,
        0.05,
        f"sigmoid, layers 1 to {unmoved}:\nno change at all",
        transform=ax_moved.transAxes,
    )
    ax_moved.set_title("How far each layer moved")
    ax_moved.set_ylabel("change / size (log scale)")
    loss = {name: run.losses[-1] for name, run in runs.items()}
    first = {name: values[0] for name, values in moved.items()}
    fig.set_label(
        "Top: training loss over "
        f"{len(next(iter(runs.values())).losses)} steps, log scale. The "
        f"plain sigmoid network stays flat at {loss['sigmoid']:.2f}; with "
        f"BatchNorm it falls to {loss['sigmoid + BatchNorm']:.2f} and with "
        f"residual connections to {loss['sigmoid + residual']:.2f}. Bottom: "
        "each layer's change as a fraction of its starting size, log scale. "
        f"The plain sigmoid's layers 1 to {unmoved} did not change at all, "
        "so its line starts at the first layer that moved, with a tiny "
        "change, and climbs to the output layer. In the cured networks every "
        f"layer moved, the first by {first['sigmoid + BatchNorm']:.0%} of its "
        f"size with BatchNorm and {first['sigmoid + residual']:.0%} with "
        "residual connections, the output layer by more than its size."
    )
    plt.show()


# --8<-- [end:draw-cures]


# --8<-- [start:draw-clipping]
def draw_clipping(runs: dict[str, Run], max_norm: float) -> None:
    """Two stacked panels: the loss per step, then the gradients' total
    norm before clipping, for the run without and the run with clipping."""
    fig, (ax_loss, ax_norm) = plt.subplots(
        2, 1, figsize=(5.4, 6.4), layout="constrained"
    )
    for name, run in runs.items():
        linestyle, marker = STYLES[name]
        every = 1 if len(run.losses) < 10 else 20  # the short run: each step
        for ax, values in ((ax_loss, run.losses), (ax_norm, run.norms)):
            finite = [v if math.isfinite(v) else math.nan for v in values]
            ax.plot(
                finite, ls=linestyle, marker=marker, markevery=every, label=name
            )
    limit = ax_norm.axhline(
        max_norm, color="gray", ls="-.", lw=1, label=f"limit {max_norm:g}"
    )
    for ax, title in ((ax_loss, "Loss"), (ax_norm, "Total gradient norm")):
        log_scale(ax)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(f"{title.split()[-1].lower()} (log scale)")
    ax_loss.legend(loc="upper right")
    ax_norm.legend(handles=[limit], loc="upper right")
    clipped, plain = runs["clipped"], runs["no clipping"]
    last = len(plain.losses) - 2  # the last finite loss of the plain run
    ax_loss.annotate(
        f"no clipping: nan at step {last + 1}",
        xy=(last, plain.losses[last]),
        xytext=(10, plain.losses[last] / 30),
        arrowprops={"arrowstyle": "->"},
    )
    later = clipped.norms[10:]
    acted = sum(norm > max_norm for norm in clipped.norms)
    steps = len(clipped.norms)
    when = "every step" if acted == steps else f"{acted} of {steps} steps"
    fig.set_label(
        "Two panels, log scale, against the step. Without clipping the loss "
        f"goes from {plain.losses[0]:.2f} to {plain.losses[1]:.0f} and "
        f"{plain.losses[2]:.1e}, then is no longer a number, so its line "
        f"stops after {len(plain.losses) - 1} steps. With clipping the loss "
        f"falls to {clipped.losses[-1]:.2f} after {len(clipped.losses)} "
        "steps, with small bumps. Bottom: the norm before clipping starts "
        f"at {clipped.norms[0]:.0f}; from step 10 on it stays between "
        f"{min(later):.1f} and {max(later):.1f}, above the limit of "
        f"{max_norm:g} (a dash-dotted line) at {when}."
    )
    plt.show()


# --8<-- [end:draw-clipping]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    # --8<-- [end:data]

    # --8<-- [start:profiles]
    nets = {
        "sigmoid": deep_net(torch.sigmoid, device),
        "ReLU": deep_net(torch.relu, device),
        "ReLU, weights x1.2": deep_net(torch.relu, device, scale=1.2),
    }
    profiles = {name: layer_gradients(m, X, y) for name, m in nets.items()}
    header = "".join(f"{layer:>9}" for layer in (21, 20, 10, 1))
    print(f"{'dL/dz at layer':<19}{header} | factor")
    for name, (signals, _) in profiles.items():
        row = "".join(f"{signals[i]:>9.1e}" for i in (20, 19, 9, 0))
        print(f"{name:<19}{row} | {factor_per_layer(signals):.2f}")
    # --8<-- [end:profiles]

    # --8<-- [start:plot-profiles]
    draw_profiles(profiles)
    # --8<-- [end:plot-profiles]

    # --8<-- [start:stall]
    lr, num_steps = 0.1, 100
    start = deep_net(torch.sigmoid, device)
    model = copy.deepcopy(start)  # train a copy: keep the start to compare
    runs = {"sigmoid": train(model, X, y, lr, num_steps)}
    losses = runs["sigmoid"].losses
    print(f"loss: {losses[0]:.4f} at the start, {losses[-1]:.4f} at the end")
    moved = {"sigmoid": relative_change(start, model)}
    for first in (0, 7, 14):  # layers 1-7, 8-14, 15-21
        shown = " ".join(
            f"{c:.0e}" for c in moved["sigmoid"][first : first + 7]
        )
        print(f"moved, layers {first + 1}-{first + 7}: {shown}")
    spread = spread_over_examples(start, X)
    print(f"spread over examples: z_1 {spread[0]:.2f}, z_20 {spread[-1]:.0e}")
    # --8<-- [end:stall]

    # --8<-- [start:cures]
    cured = {
        "sigmoid + BatchNorm": deep_net(torch.sigmoid, device, norm="batch"),
        "sigmoid + residual": deep_net(torch.sigmoid, device, residual=True),
    }
    weight_grads = {"sigmoid": profiles["sigmoid"][1]}
    for name, start in cured.items():
        signals, weight_grads[name] = layer_gradients(start, X, y)
        print(f"{name:<20} factor per layer: {factor_per_layer(signals):.2f}")
        model = copy.deepcopy(start)
        runs[name] = train(model, X, y, lr, num_steps)
        moved[name] = relative_change(start, model)
    for name, run in runs.items():  # to one digit: see the text below
        print(f"{name:<20} loss after {num_steps} steps: {run.losses[-1]:.1f}")
    # --8<-- [end:cures]

    # --8<-- [start:plot-cures]
    draw_cure_gradients(weight_grads)
    draw_cure_training(runs, moved)
    # --8<-- [end:plot-cures]

    # --8<-- [start:clip-one-step]
    max_norm = 0.25  # the limit on the gradients' total norm
    model = deep_net(torch.relu, device, scale=1.2)
    F.binary_cross_entropy_with_logits(model(X), y).backward()
    before = gradients(model)
    print(f"total norm, by hand: {gradient_norm(model):.2f}")
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    print(f"clip_grad_norm_ returned {total.item():.2f}")
    print(f"max_norm / (total + 1e-6) = {max_norm / (total.item() + 1e-6):.4g}")
    print(f"clip_grad_norm_:  {compare(gradients(model), before)}")
    # --8<-- [end:clip-one-step]

    # --8<-- [start:clip-value]
    for p, grad in zip(model.parameters(), before, strict=True):
        p.grad = grad.clone()  # the unclipped gradients, back in place
    nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
    print(f"clip_grad_value_: {compare(gradients(model), before)}")
    # --8<-- [end:clip-value]

    # --8<-- [start:clip-train]
    clip_runs = {}
    for name, limit in (("no clipping", None), ("clipped", max_norm)):
        model = deep_net(torch.relu, device, scale=1.2)  # the same start
        clip_runs[name] = train(model, X, y, lr, num_steps, max_norm=limit)
        losses = clip_runs[name].losses
        shown = ", ".join(f"{loss:.3g}" for loss in losses[:4])
        print(f"{name:<11} losses {shown}, ...; at the end {losses[-1]:.3g}")
    acted = sum(norm > max_norm for norm in clip_runs["clipped"].norms)
    print(f"clipping acted on {acted} of {num_steps} steps")
    # --8<-- [end:clip-train]

    # --8<-- [start:plot-clipping]
    draw_clipping(clip_runs, max_norm)
    # --8<-- [end:plot-clipping]


if __name__ == "__main__":
    main()
