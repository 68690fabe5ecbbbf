"""Lesson 3.1: momentum, RMSProp, Adam and AdamW written by hand, matched
step for step against torch.optim, raced on an ill-conditioned valley; what
each remembers per parameter and what that costs; why AdamW's decay differs
from Adam's L2 term."""

# --8<-- [start:imports]
import copy
from collections.abc import Callable, Iterable
from functools import partial

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# --8<-- [end:imports]
# isort: split
from helpers import get_device, log_scale, seed_everything

# --8<-- [start:hand]
Params = Iterable[torch.Tensor]  # what an optimizer is handed


class HandOptimizer:
    """What ours share with torch.optim's optimizers: they hold the
    parameters, zero_grad() forgets the gradients, step() moves."""

    def __init__(self, params: Params) -> None:
        self.params = list(params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None  # as torch.optim does by default

    def grads(self) -> list[torch.Tensor]:
        """Each parameter's gradient g. Unlike torch.optim, ours refuse a
        None gradient: zip(..., strict=True) in step() raises an error."""
        return [p.grad for p in self.params if p.grad is not None]

    def zeros(self) -> list[torch.Tensor]:
        """A tensor of zeros shaped like each parameter: memory to keep."""
        return [torch.zeros_like(p) for p in self.params]

    def step(self) -> None:
        raise NotImplementedError  # each optimizer writes its own


class HandMomentum(HandOptimizer):
    """PyTorch's momentum: b <- mu b + g; p <- p - lr b."""

    def __init__(self, params: Params, lr: float, momentum: float) -> None:
        super().__init__(params)
        self.lr, self.mu, self.b = lr, momentum, self.zeros()  # b: velocity

    def step(self) -> None:
        with torch.no_grad():  # the update is not part of the model
            for p, g, b in zip(self.params, self.grads(), self.b, strict=True):
                b.mul_(self.mu).add_(g)  # b starts at 0: the first b is g
                p.sub_(self.lr * b)


class HandRMSProp(HandOptimizer):
    """s <- alpha s + (1 - alpha) g^2; p <- p - lr g / (sqrt(s) + eps)."""

    def __init__(
        self, params: Params, lr: float, alpha: float = 0.99, eps: float = 1e-8
    ) -> None:
        super().__init__(params)
        self.lr, self.alpha, self.eps, self.s = lr, alpha, eps, self.zeros()

    def step(self) -> None:
        with torch.no_grad():
            for p, g, s in zip(self.params, self.grads(), self.s, strict=True):
                s.mul_(self.alpha).add_((1 - self.alpha) * g * g)
                p.sub_(self.lr * g / (s.sqrt() + self.eps))  # eps after sqrt


class HandAdam(HandOptimizer):
    """Adam; bias_correction=False is a deliberate mistake, a control."""

    decoupled = False  # AdamW sets it: decay outside the averages

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        bias_correction: bool = True,
    ) -> None:
        super().__init__(params)
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.weight_decay, self.bias_correction = weight_decay, bias_correction
        self.t, self.m, self.v = 0, self.zeros(), self.zeros()  # t: steps

    def step(self) -> None:
        self.t += 1
        beta1, beta2, t, lr = self.beta1, self.beta2, self.t, self.lr
        with torch.no_grad():
            for p, g, m, v in zip(
                self.params, self.grads(), self.m, self.v, strict=True
            ):
                if self.decoupled:  # AdamW: shrink p, apart from the rest
                    p.mul_(1 - lr * self.weight_decay)
                else:  # Adam: the L2 term joins the gradient
                    g = g + self.weight_decay * p
                m.mul_(beta1).add_((1 - beta1) * g)  # mean of g
                v.mul_(beta2).add_((1 - beta2) * g * g)  # mean of g^2
                m_hat, v_hat = m, v
                if self.bias_correction:
                    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + self.eps))


class HandAdamW(HandAdam):
    """AdamW: p <- (1 - lr wd) p, then Adam's step on the loss's g."""

    decoupled = True


# --8<-- [end:hand]


# --8<-- [start:match]
Stepper = HandOptimizer | torch.optim.Optimizer  # zero_grad(), step()
Maker = Callable[[list[torch.Tensor]], Stepper]  # parameters -> optimizer
AnyOptions = Callable[..., Stepper]  # a class still waiting for options


def make_mlp(w: int) -> nn.Sequential:
    """2 -> w -> w -> 1, with ReLUs: a logit per point."""
    return nn.Sequential(nn.Linear(2, w), nn.ReLU(), nn.Linear(w, w),
                         nn.ReLU(), nn.Linear(w, 1))  # fmt: skip


def largest_gap(
    make_a: Maker,
    make_b: Maker,
    start: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    num_steps: int,
) -> float:
    """Train two copies of `start` side by side, one with each optimizer:
    the largest difference between their parameters after any step."""
    a, b = copy.deepcopy(start), copy.deepcopy(start)
    runs = [
        (a, make_a(list(a.parameters()))),
        (b, make_b(list(b.parameters()))),
    ]
    gap = 0.0
    for _ in range(num_steps):
        for model, optimizer in runs:
            optimizer.zero_grad()  # zero the gradients
            logits = model(X)  # forward
            loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
            loss.backward()  # backward
            optimizer.step()  # step
        pairs = zip(a.parameters(), b.parameters(), strict=True)
        gap = max(gap, *((p - q).abs().max().item() for p, q in pairs))
    return gap


# --8<-- [end:match]


# --8<-- [start:valley]
def valley_loss(theta: torch.Tensor, kappa: float) -> torch.Tensor:
    """(theta1^2 + kappa theta2^2) / 2: curvature 1 along the floor, kappa
    across it."""
    return (theta[0] ** 2 + kappa * theta[1] ** 2) / 2


def descend(
    make: Maker,
    start: tuple[float, float],
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    num_steps: int,
) -> torch.Tensor:
    """The points an optimizer visits on loss_fn: (num_steps + 1, 2)."""
    # two numbers: float64 on the CPU, the same on every machine
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = make([theta])
    path = [theta.detach().clone()]
    for _ in range(num_steps):
        optimizer.zero_grad()  # zero the gradients
        loss = loss_fn(theta)  # forward and loss
        loss.backward()  # backward
        optimizer.step()  # step
        path.append(theta.detach().clone())
    return torch.stack(path)


def valley_makers(kappa: float) -> dict[str, Maker]:
    """The four optimizers of the race (SGD's limit is 2 / kappa)."""
    return {
        "SGD": partial(torch.optim.SGD, lr=1.9 / kappa),
        "momentum": partial(torch.optim.SGD, lr=1.9 / kappa, momentum=0.9),
        "RMSProp": partial(torch.optim.RMSprop, lr=0.1),
        "Adam": partial(torch.optim.Adam, lr=0.3),
    }


# --8<-- [end:valley]


# --8<-- [start:one-weight]
def step_sizes(make: Maker, gradients: list[float]) -> list[float]:
    """How far an optimizer moves a lone weight at each step, when the
    gradients at those steps are the given numbers."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = make([w])
    sizes = []
    for g in gradients:
        before = w.item()
        optimizer.zero_grad()  # zero the gradients
        loss = g * w.sum()  # forward and loss: a slope of exactly g
        loss.backward()  # backward
        optimizer.step()  # step
        sizes.append(abs(w.item() - before))
    return sizes


# --8<-- [end:one-weight]


# --8<-- [start:memory]
def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes the tensors' entries take: count times bytes per entry."""
    return sum(t.numel() * t.element_size() for t in tensors)


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of every tensor in the optimizer's state, all parameters."""
    per_param = optimizer.state.values()  # a dict of tensors per parameter
    return tensor_bytes(
        v for s in per_param for v in s.values() if isinstance(v, torch.Tensor)
    )


# --8<-- [end:memory]


# --8<-- [start:decay]
def decay_by_scale(
    make: Maker, scales: list[float], num_steps: int
) -> torch.Tensor:
    """Weights that start at 1 and get the gradients +s, -s, +s, ... (one
    scale s each, no net pull): where they are after num_steps."""
    w = torch.ones(len(scales), dtype=torch.float64, requires_grad=True)
    s = torch.tensor(scales, dtype=torch.float64)
    optimizer = make([w])
    for t in range(num_steps):
        optimizer.zero_grad()  # zero the gradients
        loss = (-1) ** t * (s * w).sum()  # forward and loss: gradient +-s
        loss.backward()  # backward
        optimizer.step()  # step
    return w.detach()


# --8<-- [end:decay]


# --8<-- [start:draw-valley]
STYLES = {  # line style and marker: the curves differ without colour
    "SGD": ("-", "o"),
    "momentum": ("--", "s"),
    "RMSProp": (":", "^"),
    "Adam": ("-.", "D"),
}


def draw_valley(paths: dict[str, torch.Tensor], kappa: float) -> None:
    """Two stacked panels: the paths over the valley's contours, then the
    loss along each path against the step (log scale); one legend above."""
    with plt.rc_context({"font.size": 11}):  # above the default 10: phones
        fig, (ax_map, ax_loss) = plt.subplots(
            2, 1, figsize=(5.4, 7.0), layout="constrained"
        )
        t1 = torch.linspace(-10, 3, 200, dtype=torch.float64)
        t2 = torch.linspace(-1.3, 1.3, 200, dtype=torch.float64)
        T1, T2 = torch.meshgrid(t1, t2, indexing="xy")
        heights = valley_loss(torch.stack([T1, T2]), kappa)
        levels = [0.5, 2, 8, 20, 45, 80]
        ax_map.contour(T1, T2, heights, levels, colors="0.75", linewidths=0.8)
        losses = {}
        for name, path in paths.items():
            style, marker = STYLES[name]
            losses[name] = valley_loss(path.T, kappa)
            for ax, xs, ys in (
                (ax_map, path[:, 0], path[:, 1]),
                (ax_loss, range(len(path)), losses[name]),
            ):
                ax.plot(xs, ys, ls=style, marker=marker, markevery=10, ms=5,
                        lw=1.4, label=name)  # fmt: skip
        start = next(iter(paths.values()))[0]
        ax_map.plot(start[0], start[1], "ko", mfc="none", ms=9)
        ax_map.plot(0, 0, "k*", ms=16, mec="w", zorder=5)  # over the paths
        ax_map.set_title(f"Paths on the valley, $\\kappa$ = {kappa:g}")
        ax_map.set_xlabel("$\\theta_1$ (along the floor)")
        ax_map.set_ylabel("$\\theta_2$ (across)")
        log_scale(ax_loss)
        ax_loss.set_title("Loss along each path")
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("loss (log scale)")
        fig.legend(  # one legend for both panels, above them
            *ax_loss.get_legend_handles_labels(),
            loc="outside upper center",
            ncols=4,
            columnspacing=1.2,
            handlelength=1.8,
        )
        final = ", ".join(f"{n} {v[-1]:.2g}" for n, v in losses.items())
        fig.set_label(
            "A legend above names the four optimizers. Top: elliptical "
            "contours of the valley, long along theta 1, and four paths from "
            f"the open circle at ({start[0]:g}, {start[1]:g}) to the star at "
            "(0, 0). SGD zig-zags across the valley, then creeps along its "
            "floor; momentum jumps from wall to wall, two steps on each wall, "
            "in a shrinking square wave, while it runs along the floor, "
            "overshoots the star and swings back; RMSProp drops onto the "
            "floor in its first step and runs along it; Adam runs along the "
            "floor while swinging across it in long waves. Bottom: the loss "
            "along each path against the step, on a log scale; after "
            f"{len(losses['SGD']) - 1} steps: {final}."
        )
        plt.show()


# --8<-- [end:draw-valley]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    # Exact comparisons run in float64 on the CPU: Apple GPUs have no
    # float64, and one CPU gives the same bits on every run.
    X = torch.randn(100, 2, dtype=torch.float64, device="cpu")  # (N, 2)
    y = (X[:, :1] * X[:, 1:] > 0).double()  # (N, 1): 1 where x1 x2 > 0
    start = make_mlp(16).double()  # the start both copies take
    # --8<-- [end:data]

    # --8<-- [start:match-run]
    rows: list[tuple[str, AnyOptions, AnyOptions, dict[str, float]]] = [
        # name, ours, torch.optim's, the hyperparameters both get
        ("momentum", HandMomentum, torch.optim.SGD, {"momentum": 0.9}),
        ("RMSProp", HandRMSProp, torch.optim.RMSprop, {}),
        ("Adam", HandAdam, torch.optim.Adam, {}),
        ("Adam, L2", HandAdam, torch.optim.Adam, {"weight_decay": 0.1}),
        ("AdamW", HandAdamW, torch.optim.AdamW, {"weight_decay": 0.1}),
        # two deliberate mistakes: torch's beta2 is 0.999, and it corrects
        ("control: beta2 0.99", partial(HandAdam, betas=(0.9, 0.99)),
         torch.optim.Adam, {}),
        ("control: uncorrected", partial(HandAdam, bias_correction=False),
         torch.optim.Adam, {}),
    ]  # fmt: skip
    for name, ours, theirs, options in rows:
        gap = largest_gap(
            partial(ours, lr=0.01, **options),
            partial(theirs, lr=0.01, **options),
            start, X, y, num_steps=50,
        )  # fmt: skip
        print(f"{name:<21} largest gap in 50 steps: {gap:.1e}")
    # --8<-- [end:match-run]

    # --8<-- [start:buffer]
    mu = 0.9
    for name, sign in (("steady", 1.0), ("alternating", -1.0)):
        b = 0.0
        for t in range(50):
            b = mu * b + sign**t  # gradients 1, 1, 1, ... or 1, -1, 1, ...
        print(f"{name:<12} gradients of size 1: b = {b:+.3f} after 50")
    # --8<-- [end:buffer]

    # --8<-- [start:valley-run]
    start_point, num_steps = (-9.0, 1.0), 100
    paths: dict[float, dict[str, torch.Tensor]] = {}
    for kappa in (100.0, 10_000.0):
        loss_fn = partial(valley_loss, kappa=kappa)
        paths[kappa] = {
            name: descend(make, start_point, loss_fn, num_steps)
            for name, make in valley_makers(kappa).items()
        }
    print(f"distance to the minimum after {num_steps} steps:")
    print("           kappa 100   kappa 10000")
    for name in paths[100.0]:
        distances = [paths[kappa][name][-1].norm() for kappa in paths]
        print(f"{name:<9}" + "".join(f"{d:12.3f}" for d in distances))
    for name in ("RMSProp", "Adam"):
        differ = (paths[100.0][name] - paths[10_000.0][name]).abs().max()
        print(f"{name}'s two paths differ by at most {differ:.0e}")
    # --8<-- [end:valley-run]

    # --8<-- [start:plot-valley]
    draw_valley(paths[100.0], 100.0)
    # --8<-- [end:plot-valley]

    # --8<-- [start:bias-correction]
    ones = [1.0] * 1000  # a steady gradient of 1, for 1000 steps
    sizes: dict[str, list[float]] = {
        "Adam": step_sizes(partial(torch.optim.Adam, lr=0.01), ones),
        "Adam, uncorrected": step_sizes(
            partial(HandAdam, lr=0.01, bias_correction=False), ones
        ),
        "RMSProp": step_sizes(partial(torch.optim.RMSprop, lr=0.01), ones),
    }
    print("step size / lr at step:    1      2     10    100   1000")
    for name, steps in sizes.items():
        ratios = [steps[t - 1] / 0.01 for t in (1, 2, 10, 100, 1000)]
        print(f"{name:<22}" + "".join(f"{r:7.2f}" for r in ratios))
    # --8<-- [end:bias-correction]

    # --8<-- [start:eps]
    zeros = [0.0] * 3  # a weight whose gradient is always exactly 0
    for eps in (1e-8, 0.0):
        moved = step_sizes(partial(torch.optim.Adam, eps=eps), zeros)
        print(f"Adam, eps={eps:g}: the weight moves by {moved}")
    # --8<-- [end:eps]

    # --8<-- [start:zero-gradient]
    gradients = [1.0] * 20 + [0.0] * 30  # 20 steps of slope 1, then flat
    optimizers: dict[str, Maker] = {
        "SGD": partial(torch.optim.SGD, lr=0.01),
        "momentum": partial(torch.optim.SGD, lr=0.01, momentum=0.9),
        "RMSProp": partial(torch.optim.RMSprop, lr=0.01),
        "Adam": partial(torch.optim.Adam, lr=0.01),
    }
    for name, make in optimizers.items():
        flat = step_sizes(make, gradients)[20:]  # the 30 zero-gradient steps
        moving = sum(size > 0 for size in flat)
        print(f"{name:<9} moves {sum(flat):.4f} on {moving} of the 30 steps")
    # --8<-- [end:zero-gradient]

    # --8<-- [start:state]
    device = get_device()
    X_dev, y_dev = X.float().to(device), y.float().to(device)
    model = make_mlp(128).to(device)  # float32: 4 bytes an entry
    params = list(model.parameters())
    num_params = sum(p.numel() for p in params)
    print(f"{num_params} parameters: {tensor_bytes(params)} bytes")
    choices: dict[str, Callable[..., torch.optim.Optimizer]] = {
        "SGD": partial(torch.optim.SGD, lr=0.1),
        "SGD, momentum": partial(torch.optim.SGD, lr=0.1, momentum=0.9),
        "RMSProp": torch.optim.RMSprop,
        "Adam": torch.optim.Adam,
    }
    for name, make_optimizer in choices.items():
        optimizer = make_optimizer(params)
        optimizer.zero_grad()  # zero the gradients
        logits = model(X_dev)  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y_dev)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
        grads = [p.grad for p in params if p.grad is not None]
        total = tensor_bytes(params + grads) + state_bytes(optimizer)
        print(
            f"{name:<14}{state_bytes(optimizer):>7} bytes of state, "
            f"{total / num_params:.2f} a parameter, "
            f"{sorted(optimizer.state[params[0]])}"
        )
    # --8<-- [end:state]

    # --8<-- [start:decay-run]
    scales = [0.01, 0.1, 1.0, 10.0, 100.0]
    plain = decay_by_scale(partial(torch.optim.Adam, lr=0.01), scales, 500)
    print(f"no decay: every weight ends at {plain[0]:.3f}")
    print("gradient scale s:     " + "".join(f"{s:>7g}" for s in scales))
    decays: dict[str, Maker] = {
        "Adam": partial(torch.optim.Adam, lr=0.01, weight_decay=0.1),
        "AdamW": partial(torch.optim.AdamW, lr=0.01, weight_decay=0.1),
    }
    for name, make in decays.items():
        kept = decay_by_scale(make, scales, 500) / plain  # what decay left
        print(f"{name:<6}w / no decay:  " + "".join(f"{k:7.3f}" for k in kept))
    # --8<-- [end:decay-run]


if __name__ == "__main__":
    main()
