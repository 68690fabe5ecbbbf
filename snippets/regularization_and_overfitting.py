"""Lesson 2.6: a big network overfits a small, noisy data set; an L2 penalty,
weight decay (and how PyTorch's weight_decay relates to the penalty in SGD,
Adam and AdamW) and dropout cure it, measured on held-out data."""

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
# --8<-- [start:imports]
import copy
from collections.abc import Iterable
from dataclasses import dataclass, field

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import draw_decision_boundary, make_moons
from helpers import get_device, log_scale, seed_everything

# --8<-- [start:split]
Data = tuple[torch.Tensor, torch.Tensor]  # (X, y)


def split(
    X: torch.Tensor,
    y: torch.Tensor,
    sizes: list[int],
    generator: torch.Generator,
) -> list[Data]:
    """Shuffle the points with `generator`, cut them into parts of `sizes`."""
    order = torch.randperm(len(X), generator=generator).to(X.device)
    return [(X[part], y[part]) for part in order.split(sizes)]


# --8<-- [end:split]


# --8<-- [start:model]
class MLP(nn.Module):
    """2 -> width -> width -> 1, ReLUs, dropout after each hidden layer."""

    def __init__(self, width: int = 128, p: float = 0.0) -> None:
        super().__init__()
        self.width = width
        self.hidden1 = nn.Linear(2, width)
        self.hidden2 = nn.Linear(width, width)
        self.output = nn.Linear(width, 1)
        self.dropout = nn.Dropout(p)  # no parameters: only a probability

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        A1 = self.dropout(torch.relu(self.hidden1(X)))  # (N, width)
        A2 = self.dropout(torch.relu(self.hidden2(A1)))  # (N, width)
        logits: torch.Tensor = self.output(A2)  # (N, 1)
        return logits


def copy_of(start: MLP, p: float = 0.0) -> MLP:
    """A network with the parameters of `start`, and dropout p."""
    model = MLP(start.width, p).to(start.output.weight.device)
    model.load_state_dict(start.state_dict())
    return model


# --8<-- [end:model]


# --8<-- [start:train]
def evaluate(model: nn.Module, data: Data) -> tuple[float, float]:
    """Loss and accuracy in evaluation mode; the model's mode is restored."""
    X, y = data
    was_training = model.training
    model.eval()  # dropout off: the network we would use
    with torch.no_grad():  # no graph to record: we only want numbers
        logits = model(X)
        loss = F.binary_cross_entropy_with_logits(logits, y).item()
        acc = ((logits > 0).float() == y).float().mean().item()
    model.train(was_training)
    return loss, acc


@dataclass
class History:
    """(loss, accuracy) per set; parameters at the lowest validation loss."""

    steps: list[int] = field(default_factory=list)
    train: list[tuple[float, float]] = field(default_factory=list)
    val: list[tuple[float, float]] = field(default_factory=list)
    best_step: int = 0
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)

    def record(
        self, step: int, model: nn.Module, train: Data, val: Data
    ) -> None:
        self.steps.append(step)
        self.train.append(evaluate(model, train))
        self.val.append(evaluate(model, val))
        if self.val[-1][0] <= min(loss for loss, _ in self.val):
            self.best_step = step
            self.best_state = copy.deepcopy(model.state_dict())


def train_and_validate(
    model: nn.Module,
    train: Data,
    val: Data,
    lr: float,
    num_steps: int,
    weight_decay: float = 0.0,
) -> History:
    """Full-batch SGD with momentum, measuring both sets every 20 steps."""
    X, y = train
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay
    )
    history = History()
    model.train()  # dropout on, if the model has any
    for step in range(num_steps):
        if step % 20 == 0:
            history.record(step, model, train, val)
        optimizer.zero_grad()  # zero the gradients
        logits = model(X)  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
    history.record(num_steps, model, train, val)
    return history


def report(histories: dict[str, History]) -> None:
    """A table: each run's last losses and accuracies."""
    print(f"{'':<13}{'loss: train':>12}{'val':>7}{'acc: train':>12}{'val':>7}")
    for name, history in histories.items():
        (loss, acc), (val_loss, val_acc) = history.train[-1], history.val[-1]
        print(
            f"{name:<13}{loss:>12.3f}{val_loss:>7.3f}{acc:>12.1%}{val_acc:>7.1%}"
        )


# --8<-- [end:train]


# --8<-- [start:penalty]
def l2_penalty(params: Iterable[torch.Tensor], lam: float) -> torch.Tensor:
    """(lam / 2) times the sum of the squares of every entry of params."""
    return lam / 2 * torch.stack([p.pow(2).sum() for p in params]).sum()


def weights(model: nn.Module) -> list[torch.Tensor]:
    """The weight matrices of the model's nn.Linear layers."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def biases(model: nn.Module) -> list[torch.Tensor]:
    """The biases of the model's nn.Linear layers."""
    return [m.bias for m in model.modules() if isinstance(m, nn.Linear)]


def weight_norm(model: nn.Module) -> float:
    """The square root of the sum of every weight squared (no biases)."""
    squares = torch.stack([w.pow(2).sum() for w in weights(model)])
    return squares.sum().sqrt().item()


def make_optimizer(
    name: str, model: nn.Module, lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """A new optimizer for the model's parameters, chosen by name."""
    params = list(model.parameters())
    if name == "SGD":
        return torch.optim.SGD(params, lr, weight_decay=weight_decay)
    if name == "SGD, momentum":
        return torch.optim.SGD(
            params, lr, momentum=0.9, weight_decay=weight_decay
        )
    if name == "SGD, 2 groups":  # decay for the weights, none for the biases
        groups = [
            {"params": weights(model), "weight_decay": weight_decay},
            {"params": biases(model), "weight_decay": 0.0},
        ]
        return torch.optim.SGD(groups, lr)
    if name == "Adam":
        return torch.optim.Adam(params, lr / 10, weight_decay=weight_decay)
    if name == "AdamW":
        return torch.optim.AdamW(params, lr / 10, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}")


# --8<-- [end:penalty]


# --8<-- [start:checks]
def largest_gap(
    start: nn.Module,
    data: Data,
    lr: float,
    name: str,
    weight_decay: float,
    penalty_lam: float,
    penalty_on: str,
    num_steps: int = 50,
) -> float:
    """a: the loss plus l2_penalty(penalty_lam) on "all" params or "weights";
    b: the loss alone, with weight_decay. The largest gap after any step."""
    X, y = data
    a, b = copy.deepcopy(start), copy.deepcopy(start)
    optimizer_a = make_optimizer(name, a, lr)  # no decay (AdamW is then Adam)
    optimizer_b = make_optimizer(name, b, lr, weight_decay)
    gap = 0.0
    for _ in range(num_steps):
        for model, optimizer in ((a, optimizer_a), (b, optimizer_b)):
            optimizer.zero_grad()  # zero the gradients
            logits = model(X)  # forward
            loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
            if model is a:  # ... plus the penalty
                on = a.parameters() if penalty_on == "all" else weights(a)
                loss = loss + l2_penalty(on, penalty_lam)
            loss.backward()  # backward
            optimizer.step()  # step
        pairs = zip(a.parameters(), b.parameters(), strict=True)
        gap = max(gap, *((p - q).abs().max().item() for p, q in pairs))
    return gap


def decay_alone(name: str, lam: float, lr: float, num_steps: int) -> float:
    """Where the decay alone takes a lone weight from 1 (its gradient is 0)."""
    lone = nn.Linear(1, 1, bias=False, dtype=torch.float64)
    nn.init.ones_(lone.weight)  # w = 1
    optimizer = make_optimizer(name, lone, lr, weight_decay=lam)
    for _ in range(num_steps):
        optimizer.zero_grad()  # zero the gradients
        loss = 0 * lone.weight.sum()  # forward and loss: 0, whatever w is
        loss.backward()  # backward: the gradient is 0
        optimizer.step()  # step: only the decay moves w
    return lone.weight.item()


# --8<-- [end:checks]


# --8<-- [start:draw-overfit]
def draw_overfit(history: History) -> None:
    """Two stacked panels: training and validation loss (log scale), then
    training and validation accuracy, against the step."""
    train_loss, train_acc = zip(*history.train, strict=True)
    val_loss, val_acc = zip(*history.val, strict=True)
    fig, (ax_loss, ax_acc) = plt.subplots(
        2, 1, figsize=(5.4, 6.4), layout="constrained"
    )
    for ax, train, val in (
        (ax_loss, train_loss, val_loss),
        (ax_acc, train_acc, val_acc),
    ):
        ax.plot(history.steps, train, "-", lw=2, label="training")
        ax.plot(history.steps, val, "--", lw=2, label="validation")
        ax.axvline(history.best_step, color="gray", ls=":", lw=1)
        ax.set_xlabel("step")
    log_scale(ax_loss)
    ax_loss.set_title("Loss")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.legend(loc="lower left")
    ax_acc.set_title("Accuracy")
    ax_acc.set_ylabel("accuracy (from 0.8)")
    ax_acc.set_ylim(0.8, 1.01)
    ax_acc.legend(loc="lower right")
    best = history.steps.index(history.best_step)
    fig.set_label(
        "Top, on a log scale: the training loss falls steadily from "
        f"{train_loss[0]:.2f} to {train_loss[-1]:.2f}; the "
        f"validation loss falls only to {val_loss[best]:.2f}, at step "
        f"{history.best_step} (a dotted vertical line), then climbs to "
        f"{val_loss[-1]:.2f}. Bottom, on an axis from 80% (the first "
        "measurements lie below it): the training accuracy climbs "
        f"to {train_acc[-1]:.0%}, while the validation accuracy stays "
        f"between {min(val_acc[best:]):.0%} and "
        f"{max(val_acc[best:]):.0%} after that step."
    )
    plt.show()


def draw_boundary(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> None:
    """One panel: the model's decision boundary over the training points."""
    fig, ax = plt.subplots(figsize=(5.4, 4.2), layout="constrained")
    draw_decision_boundary(ax, model, X, y, "No cure")
    ax.legend(loc="lower left")
    fig.set_label(
        "The overfit network's decision boundary over the 100 training "
        "points: besides the main curve between the moons, it reaches out in "
        "narrow tongues and pockets around single points that the noise "
        "carried into the other class's region."
    )
    plt.show()


# --8<-- [end:draw-overfit]


# --8<-- [start:draw-cures]
STYLES = {
    "no cure": ("-", "o"),
    "weight decay": ("--", "s"),
    "dropout": (":", "^"),
}


def draw_cures(histories: dict[str, History]) -> None:
    """Two stacked panels: each run's validation loss (log scale), then its
    validation accuracy, against the step; a line style and marker each."""
    fig, (ax_loss, ax_acc) = plt.subplots(
        2, 1, figsize=(5.4, 6.4), layout="constrained"
    )
    for i, (name, history) in enumerate(histories.items()):
        style, marker = STYLES[name]
        for ax, values in (
            (ax_loss, [loss for loss, _ in history.val]),
            (ax_acc, [acc for _, acc in history.val]),
        ):
            ax.plot(
                history.steps,
                values,
                ls=style,
                marker=marker,
                markevery=(2 * i, 5),  # staggered, so none hides
                lw=2,
                label=name,
            )
            ax.set_xlabel("step")
    log_scale(ax_loss)
    ax_loss.set_title("Validation loss")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.legend(loc="upper left")
    ax_acc.set_title("Validation accuracy")
    ax_acc.set_ylabel("accuracy (from 0.8)")
    ax_acc.set_ylim(0.8, 0.91)
    ax_acc.legend(loc="lower right")
    loss = {name: h.val[-1][0] for name, h in histories.items()}
    low = {name: min(v for v, _ in h.val) for name, h in histories.items()}
    acc = {name: h.val[-1][1] for name, h in histories.items()}
    fig.set_label(
        "Top, on a log scale: the three validation losses fall together at "
        f"first; then without a cure the loss climbs to {loss['no cure']:.2f}, "
        f"with weight decay it settles at {loss['weight decay']:.2f}, and "
        f"with dropout it dips to {low['dropout']:.2f}, then rises slowly to "
        f"{loss['dropout']:.2f}. Bottom, on an axis from 80% (the first "
        "measurements lie below it): the three validation accuracies run "
        "close together at first; they end at "
        f"{acc['no cure']:.1%} without a cure, "
        f"{acc['weight decay']:.1%} with weight decay and {acc['dropout']:.1%} "
        "with dropout."
    )
    plt.show()


def draw_cured_boundaries(
    models: dict[str, MLP], X: torch.Tensor, y: torch.Tensor
) -> None:
    """Two stacked panels: the decision boundaries of two models."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 8), layout="constrained")
    for ax, (name, model) in zip(axes, models.items(), strict=True):
        draw_decision_boundary(ax, model, X, y, f"With {name}")
    axes[0].legend(loc="lower left")
    fig.set_label(
        "Two panels over the same 100 training points. Top, with weight "
        "decay: one smooth curve winds between the moons, without pockets, "
        "and leaves the points that the noise carried across on the wrong "
        "side. Bottom, with dropout: much the same path, with a sharper dip "
        "in the middle, and one narrow tongue of the class-1 region reaching "
        "up to the left, to a stray class-1 point that weight decay leaves "
        "on the wrong side."
    )
    plt.show()


# --8<-- [end:draw-cures]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(2100, device, noise=0.35)
    generator = torch.Generator().manual_seed(0)  # the split's own dice
    train, val, test = split(X_all, y_all, [100, 1000, 1000], generator)
    X, y = train
    X_val, y_val = val
    print(f"points: {len(X)} train, {len(X_val)} val, {len(test[0])} test")
    print(f"class 1 among the training points: {y.mean():.0%}")
    # --8<-- [end:data]

    # --8<-- [start:start]
    start = MLP(width=128).to(device)  # the one start every run copies
    print(f"parameters: {sum(p.numel() for p in start.parameters())}")
    # --8<-- [end:start]

    # --8<-- [start:overfit]
    lr, num_steps = 0.1, 1000
    models = {"no cure": copy_of(start)}
    histories = {
        "no cure": train_and_validate(
            models["no cure"], train, val, lr, num_steps
        )
    }
    report(histories)
    overfit = histories["no cure"]
    val_loss, _ = overfit.val[overfit.steps.index(overfit.best_step)]
    print(f"lowest validation loss: {val_loss:.3f} at step {overfit.best_step}")
    # --8<-- [end:overfit]

    # --8<-- [start:plot-overfit]
    draw_overfit(overfit)
    draw_boundary(models["no cure"], X, y)
    # --8<-- [end:plot-overfit]

    # --8<-- [start:checks-run]
    # Exact comparisons run in float64 on the CPU: Apple GPUs have no float64,
    # and one CPU gives the same bits on every run.
    cpu = torch.device("cpu")
    data64 = (X.to(cpu, torch.float64), y.to(cpu, torch.float64))
    small = MLP(width=16).to(cpu, torch.float64)  # a small net is enough here
    lam = 0.01
    rows = [  # optimizer, its weight_decay; the penalty's lambda, on what
        ("SGD", lam, lam, "all"),
        ("SGD, momentum", lam, lam, "all"),
        ("SGD", lam, 2 * lam, "all"),  # lam * sum w^2, without the 1/2
        ("SGD", 2 * lam, 2 * lam, "all"),
        ("SGD", lam, lam, "weights"),
        ("SGD, 2 groups", lam, lam, "weights"),
        ("Adam", lam, lam, "all"),
        ("AdamW", lam, lam, "all"),
    ]
    print("optimizer     weight_decay | penalty: lambda on      | gap")
    for name, decay, penalty_lam, on in rows:
        gap = largest_gap(small, data64, lr, name, decay, penalty_lam, on)
        print(f"{name:<14}{decay:<13}| {penalty_lam:<16}{on:<8}| {gap:.1e}")
    # --8<-- [end:checks-run]

    # --8<-- [start:decay-alone]
    tries = [("SGD", lam), ("SGD, momentum", lam)]
    tries += [(name, wd) for name in ("Adam", "AdamW") for wd in (0.001, 0.1)]
    for name, lam_tried in tries:
        w = decay_alone(name, lam_tried, lr, num_steps=100)
        print(f"{name:<14} weight_decay={lam_tried:<5}: w = {w:.3f}")
    # --8<-- [end:decay-alone]

    # --8<-- [start:dropout-basics]
    seed_everything(0)
    dropout = nn.Dropout(p=0.5)  # a new module is in training mode
    A = torch.full((8,), 3.0)  # eight activations of 3.0
    print(f"training mode:   {dropout(A).tolist()}")
    dropout.eval()
    print(f"evaluation mode: {dropout(A).tolist()}")
    dropout.train()
    many = dropout(torch.full((1_000_000,), 3.0))
    zeros = (many == 0).float().mean()
    print(f"a million of them: mean {many.mean():.4f}, zeros {zeros:.4f}")
    print(f"parameters: {list(dropout.parameters())}")
    # --8<-- [end:dropout-basics]

    # --8<-- [start:cures]
    models["weight decay"] = copy_of(start)
    histories["weight decay"] = train_and_validate(
        models["weight decay"], train, val, lr, num_steps, weight_decay=lam
    )
    models["dropout"] = copy_of(start, p=0.5)
    histories["dropout"] = train_and_validate(
        models["dropout"], train, val, lr, num_steps
    )
    report(histories)
    print(f"size of the weights: {weight_norm(start):.1f} at the start,")
    sizes = [f"{weight_norm(m):.1f} {name}" for name, m in models.items()]
    print(", ".join(sizes))
    # --8<-- [end:cures]

    # --8<-- [start:plot-cures]
    for model in models.values():
        model.eval()  # training is over: from here on we only predict
    draw_cures(histories)
    cured = {name: models[name] for name in ("weight decay", "dropout")}
    draw_cured_boundaries(cured, X, y)
    # --8<-- [end:plot-cures]

    # --8<-- [start:forget-eval]
    model = models["dropout"]
    model.train()  # as if we had forgotten model.eval()
    with torch.no_grad():  # no graph is recorded, yet dropout is on
        logits = [model(X_val) for _ in range(3)]
    accs = [((z > 0).float() == y_val).float().mean().item() for z in logits]
    flips = ((logits[0] > 0) != (logits[1] > 0)).float().mean()
    change = (logits[0] - logits[1]).abs().max()
    print(f"largest change of a logit: {change:.0f}")
    print(f"points that change class: {flips:.1%}")
    print(f"training mode: {', '.join(f'{a:.1%}' for a in accs)}")
    model.eval()
    with torch.no_grad():
        same = torch.equal(model(X_val), model(X_val))
    print(f"evaluation mode: {evaluate(model, val)[1]:.1%}, repeatable: {same}")
    print(f"eval() alone records a graph: {model(X_val).requires_grad}")
    # --8<-- [end:forget-eval]

    # --8<-- [start:test]
    for name, model in models.items():
        test_loss, test_acc = evaluate(model, test)
        print(f"{name:<13} test loss {test_loss:.3f}, accuracy {test_acc:.1%}")
    # --8<-- [end:test]


if __name__ == "__main__":
    main()
