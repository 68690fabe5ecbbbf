"""Lesson 3.9: transfer learning and self-supervised pretraining in
miniature, on signals that share one hidden structure."""

from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
# --8<-- [start:imports]
import copy

# --8<-- [end:imports]
# isort: split
from helpers import get_device, seed_everything


# --8<-- [start:data]
def make_world(num_features: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed map from a hidden point z (2 numbers) to the signal x that
    we observe: frequencies A (2, D) and phases c (D,), from their own seed."""
    generator = torch.Generator().manual_seed(1234)
    A = 2 * torch.randn(2, num_features, generator=generator)
    c = 2 * torch.pi * torch.rand(num_features, generator=generator)
    return A, c


def make_signals(
    num_points: int, world: tuple[torch.Tensor, torch.Tensor], seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """z uniform in the square [-1, 1]^2; x = sin(z A + c) plus a little
    noise. Returns x (N, D) and the hidden z (N, 2), on the CPU."""
    A, c = world
    generator = torch.Generator().manual_seed(seed)
    z = 2 * torch.rand(num_points, 2, generator=generator) - 1
    noise = 0.05 * torch.randn(num_points, A.shape[1], generator=generator)
    X = torch.sin(z @ A + c) + noise  # (N, D)
    return X, z


def sector(z: torch.Tensor) -> torch.Tensor:
    """The source task's label: which of 8 equal angular sectors z is in."""
    angle = torch.atan2(z[:, 1], z[:, 0]) % (2 * torch.pi)  # in [0, 2 pi)
    return (angle / (torch.pi / 4)).long().clamp(max=7)  # (N,): 0 to 7


def same_sign(z: torch.Tensor) -> torch.Tensor:
    """The related target task: are z's two coordinates of the same sign?
    (sectors 0, 1, 4 and 5). Float labels (N, 1) for the BCE on logits."""
    return (z[:, :1] * z[:, 1:] > 0).float()


def near_centre(z: torch.Tensor) -> torch.Tensor:
    """An unrelated target task: is z within 0.6 of the centre? The angle,
    all the source task needs, says nothing about it."""
    radius: torch.Tensor = torch.linalg.vector_norm(z, dim=1, keepdim=True)
    return (radius < 0.6).float()


# --8<-- [end:data]


# --8<-- [start:model]
def make_body(num_features: int = 16, width: int = 32) -> nn.Sequential:
    """The shared part: two hidden ReLU layers that turn x into features."""
    return nn.Sequential(
        nn.Linear(num_features, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
    )


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def fit(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn,
    num_epochs: int,
    param_groups: list[dict[str, object]],
) -> list[float]:
    """Full-batch Adam on the given parameter groups; returns each epoch's
    loss. The optimizer sees only what it is given."""
    optimizer = torch.optim.Adam(param_groups)
    losses: list[float] = []
    for _ in range(num_epochs):
        optimizer.zero_grad()  # 1. zero the gradients
        y_hat = model(X)  # 2. forward
        loss = loss_fn(y_hat, y)  # 3. loss
        loss.backward()  # 4. backward
        optimizer.step()  # 5. step
        losses.append(loss.item())
    return losses


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of points whose logit has the right sign."""
    with torch.no_grad():
        logits: torch.Tensor = model(X)  # (N, 1)
    correct = ((logits > 0).float() == y).float()
    return correct.mean().item()


# --8<-- [end:model]


# --8<-- [start:pretrain]
def pretrain(
    X: torch.Tensor, labels: torch.Tensor, num_epochs: int = 200
) -> tuple[nn.Sequential, nn.Linear, list[float]]:
    """Train body + an 8-way head on the source task; return the body, the
    head and each epoch's loss."""
    seed_everything(0)
    body = make_body().to(X.device)
    head = nn.Linear(32, 8).to(X.device)
    model = nn.Sequential(body, head)
    groups: list[dict[str, object]] = [
        {"params": list(model.parameters()), "lr": 0.01}
    ]
    losses = fit(model, X, labels, F.cross_entropy, num_epochs, groups)
    return body, head, losses


def source_says_same_sign(
    body: nn.Module, head: nn.Module, X: torch.Tensor
) -> torch.Tensor:
    """The source network's answer to the target question, with no target
    label: is its predicted sector one of 0, 1, 4 and 5?"""
    with torch.no_grad():
        logits: torch.Tensor = head(body(X))  # (N, 8)
    sectors = logits.argmax(dim=1)  # (N,): 0 to 7
    same = (sectors % 4 == 0) | (sectors % 4 == 1)
    return same.float()[:, None]  # (N, 1), like the labels


# --8<-- [end:pretrain]


# --8<-- [start:transfer]
def new_model(
    body: nn.Sequential, how: str, seed: int
) -> tuple[nn.Sequential, list[dict[str, object]]]:
    """A body and a fresh head for the target task, with the optimizer's
    parameter groups for one of three ways to train it:
    "scratch" (a new random body), "frozen" (a copy of `body`, fixed),
    "fine-tune" (a copy of `body` at a tenth of the head's rate)."""
    seed_everything(seed)
    head = nn.Linear(32, 1)
    if how == "scratch":
        new_body = make_body()
        params = [*new_body.parameters(), *head.parameters()]
        groups: list[dict[str, object]] = [{"params": params, "lr": 0.01}]
    elif how == "frozen":
        new_body = copy.deepcopy(body).requires_grad_(False)
        groups = [{"params": list(head.parameters()), "lr": 0.01}]
    else:
        new_body = copy.deepcopy(body)
        groups = [
            {"params": list(new_body.parameters()), "lr": 0.001},
            {"params": list(head.parameters()), "lr": 0.01},
        ]
    device = next(new_body.parameters()).device
    return nn.Sequential(new_body, head.to(device)), groups


def draws(
    body_for: Callable[[int], nn.Sequential],
    how: str,
    data: tuple[torch.Tensor, ...],
    n: int,
    num_draws: int,
    num_epochs: int = 100,
) -> list[float]:
    """Validation accuracy of one way of training, once per draw: draw d
    takes its own n labelled examples and starts from seed d."""
    X, y, X_val, y_val = data
    accs = []
    for draw in range(num_draws):
        generator = torch.Generator().manual_seed(draw)
        index = torch.randperm(len(X), generator=generator)[:n].to(X.device)
        model, groups = new_model(body_for(draw), how, seed=draw)
        model = model.to(X.device)
        loss_fn = F.binary_cross_entropy_with_logits
        fit(model, X[index], y[index], loss_fn, num_epochs, groups)
        accs.append(accuracy(model, X_val, y_val))
    return accs


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def transfer_sweep(
    body: nn.Sequential,
    data: tuple[torch.Tensor, ...],
    sizes: list[int],
    hows: list[str],
    num_draws: int,
) -> dict[str, list[list[float]]]:
    """For each way and each n in `sizes`, the accuracies of all draws."""
    return {
        how: [draws(lambda d: body, how, data, n, num_draws) for n in sizes]
        for how in hows
    }


# --8<-- [end:transfer]


# --8<-- [start:pretext]
def mask_features(
    X: torch.Tensor, num_masked: int, generator: torch.Generator
) -> torch.Tensor:
    """Zero `num_masked` randomly chosen features of every example."""
    scores = torch.rand(X.shape, generator=generator).to(X.device)
    hidden = scores.argsort(dim=1)[:, :num_masked]  # (N, num_masked)
    return X.scatter(1, hidden, 0.0)


def pretrain_by_masking(
    X: torch.Tensor, num_epochs: int = 200, num_masked: int = 4
) -> nn.Sequential:
    """Self-supervised: a body + a 16-number head learn to fill in masked
    features, with a new mask each epoch. No label is used."""
    seed_everything(0)
    generator = torch.Generator().manual_seed(0)
    body = make_body().to(X.device)
    model = nn.Sequential(body, nn.Linear(32, X.shape[1]).to(X.device))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(num_epochs):
        X_masked = mask_features(X, num_masked, generator)
        optimizer.zero_grad()  # 1. zero the gradients
        X_hat = model(X_masked)  # 2. forward: (N, 16), the whole signal
        loss = F.mse_loss(X_hat, X)  # 3. loss: against the unmasked signal
        loss.backward()  # 4. backward
        optimizer.step()  # 5. step
    return body


# --8<-- [end:pretext]


# --8<-- [start:draw-sweep]
def draw_sweep(sizes: list[int], results: dict[str, list[list[float]]]) -> None:
    """Mean validation accuracy against the number of labelled examples, with
    bars from the lowest to the highest draw."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    styles = {"scratch": "o-", "frozen": "s--", "fine-tune": "^:"}
    for k, (how, per_size) in enumerate(results.items()):
        means = [mean(accs) for accs in per_size]
        low = [m - min(a) for m, a in zip(means, per_size, strict=True)]
        high = [max(a) - m for m, a in zip(means, per_size, strict=True)]
        shifted = [n * 1.08 ** (k - 1) for n in sizes]  # side by side
        ax.errorbar(
            shifted, means, yerr=[low, high], fmt=styles[how], capsize=3,
            label=how,
        )  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xlabel("labelled examples of the target task")
    ax.set_ylabel("validation accuracy")
    ax.legend(loc="lower right")
    summary = "; ".join(
        f"{how}: "
        + ", ".join(f"{mean(a):.2f} ({min(a):.2f}-{max(a):.2f})" for a in accs)
        for how, accs in results.items()
    )
    fig.set_label(
        "Mean validation accuracy on the same-sign task, with the lowest and "
        "highest of the draws, against the number of labelled examples "
        f"({', '.join(map(str, sizes))}). {summary}."
    )
    plt.show()


# --8<-- [end:draw-sweep]


def main() -> None:
    # --8<-- [start:make-data]
    device = get_device()
    world = make_world()
    X_source, z_source = make_signals(2048, world, seed=1)
    X_target, z_target = make_signals(256, world, seed=2)
    X_val, z_val = make_signals(2000, world, seed=3)
    y_source = sector(z_source).to(device)  # (2048,): 8 classes
    y_target = same_sign(z_target).to(device)  # (256, 1): 0. or 1.
    y_val = same_sign(z_val).to(device)
    X_source, X_target, X_val = (
        X.to(device) for X in (X_source, X_target, X_val)
    )
    print(f"source: {tuple(X_source.shape)}, target: {tuple(X_target.shape)}")
    print(f"share of same-sign examples: {y_val.mean().item():.3f}")
    # --8<-- [end:make-data]

    # --8<-- [start:run-pretrain]
    body, source_head, losses = pretrain(X_source, y_source)
    print(f"body: {sum(p.numel() for p in body.parameters())} parameters")
    print(f"source loss: first epoch {losses[0]:.3f}, last {losses[-1]:.3f}")
    # --8<-- [end:run-pretrain]

    # --8<-- [start:zero-labels]
    said = source_says_same_sign(body, source_head, X_val)
    zero_label = (said == y_val).float().mean().item()
    print(f"source network, 0 target labels: {zero_label:.3f}")
    # --8<-- [end:zero-labels]

    # --8<-- [start:freeze]
    model, groups = new_model(body, "frozen", seed=1)
    model = model.to(device)
    before = copy.deepcopy(model[0].state_dict())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)  # all of them
    for _ in range(100):
        optimizer.zero_grad()  # 1. zero the gradients
        logits = model(X_target[:64])  # 2. forward: (64, 1)
        loss = F.binary_cross_entropy_with_logits(logits, y_target[:64])  # 3.
        loss.backward()  # 4. backward
        optimizer.step()  # 5. step
    grads = [p.grad is None for p in model[0].parameters()]
    print(f"body's gradients that are None: {sum(grads)} of {len(grads)}")
    unchanged = all(
        torch.equal(before[name], value)
        for name, value in model[0].state_dict().items()
    )
    print(f"body unchanged after 100 steps: {unchanged}")
    print(f"tensors with Adam state: {len(optimizer.state)}")
    print(f"validation accuracy: {accuracy(model, X_val, y_val):.3f}")
    # --8<-- [end:freeze]

    # --8<-- [start:sweep]
    data = (X_target, y_target, X_val, y_val)
    sizes, num_draws = [16, 64, 256], 5
    hows = ["scratch", "frozen", "fine-tune"]
    results = transfer_sweep(body, data, sizes, hows, num_draws)
    for how, per_size in results.items():
        print(f"{how:>9}: " + "  ".join(f"{mean(a):.3f}" for a in per_size))
    for how in hows[1:]:  # each pretrained start against scratch, draw by draw
        pairs = zip(results[how][0], results["scratch"][0], strict=True)
        ahead = sum(a > s for a, s in pairs)
        print(f"16 labels, {how} above scratch in {ahead} of {num_draws}")
    # --8<-- [end:sweep]
    # --8<-- [start:plot-sweep]
    draw_sweep(sizes, results)
    # --8<-- [end:plot-sweep]

    # --8<-- [start:run-pretext]
    ssl_body = pretrain_by_masking(X_source)  # z_source and labels unused

    def random_body(draw: int) -> nn.Sequential:
        seed_everything(100 + draw)  # a new random body for every draw
        return make_body().to(device)

    n = 16
    rows = {
        "pretext, frozen": draws(lambda d: ssl_body, "frozen", data, n, 5),
        "random, frozen": draws(random_body, "frozen", data, n, 5),
        "pretext, fine-tune": draws(
            lambda d: ssl_body, "fine-tune", data, n, 5
        ),
        "scratch": results["scratch"][0],
    }
    for name, accs in rows.items():
        spread = f"{min(accs):.3f}-{max(accs):.3f}"
        print(f"{name:>18}: mean {mean(accs):.3f}, {spread}")
    # --8<-- [end:run-pretext]

    # --8<-- [start:review-state]
    for how in ("fine-tune", "frozen"):
        model, groups = new_model(body, how, seed=0)
        model = model.to(device)
        optimizer = torch.optim.Adam(groups)
        optimizer.zero_grad()
        loss_fn = F.binary_cross_entropy_with_logits
        loss_fn(model(X_target), y_target).backward()
        optimizer.step()
        states = optimizer.state.values()
        buffers = sum(
            s["exp_avg"].numel() + s["exp_avg_sq"].numel() for s in states
        )
        print(f"{how}: {len(states)} tensors with state, {buffers} numbers")
    # --8<-- [end:review-state]


if __name__ == "__main__":
    main()
