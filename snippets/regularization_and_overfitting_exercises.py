"""Solutions to the exercises of lesson 2.6, Regularization and Overfitting."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from regularization_and_overfitting import (
    MLP,
    Data,
    copy_of,
    evaluate,
    l2_penalty,
    split,
    train_and_validate,
)


# --8<-- [start:ex2]
def clipped_step(
    start: nn.Module, data: Data, lr: float, lam: float, in_loss: bool
) -> tuple[list[torch.Tensor], float]:
    """One SGD step, clipped to norm 0.1: each parameter's change, and the
    norm before clipping."""
    X, y = data
    model = copy.deepcopy(start)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(
        model.parameters(), lr, weight_decay=0.0 if in_loss else lam
    )
    optimizer.zero_grad()  # zero the gradients
    logits = model(X)  # forward
    loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
    if in_loss:
        loss = loss + l2_penalty(model.parameters(), lam)
    loss.backward()  # backward
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1)
    optimizer.step()  # step
    after = [p.detach() for p in model.parameters()]
    return [a - b for a, b in zip(after, before, strict=True)], norm.item()


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def units_without_gradient(model: MLP, data: Data) -> int:
    """How many first-layer units get exactly zero gradient from one pass."""
    X, y = data
    model.train()
    model.zero_grad()
    F.binary_cross_entropy_with_logits(model(X), y).backward()
    grad = model.hidden1.weight.grad  # (width, 2): one row per unit
    assert grad is not None
    return int((grad == 0).all(dim=1).sum().item())


# --8<-- [end:ex3]


def main() -> None:
    # The lesson's data and first run, as on the page.
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(2100, device, noise=0.35)
    generator = torch.Generator().manual_seed(0)
    train, val, test = split(X_all, y_all, [100, 1000, 1000], generator)
    X, y = train
    start = MLP(width=128).to(device)
    lr, num_steps, lam = 0.1, 1000, 0.01
    models = {"no cure": copy_of(start)}
    histories = {
        "no cure": train_and_validate(
            models["no cure"], train, val, lr, num_steps
        )
    }
    cpu = torch.device("cpu")
    data64 = (X.to(cpu, torch.float64), y.to(cpu, torch.float64))
    small = MLP(width=16).to(cpu, torch.float64)

    # --8<-- [start:ex1-run]
    overfit = histories["no cure"]
    early = copy_of(start)
    early.load_state_dict(overfit.best_state)  # the lowest validation loss
    print(f"stopped at step {overfit.best_step}")
    compared = {"early stopping": early, "no cure": models["no cure"]}
    for name, model in compared.items():
        _, val_acc = evaluate(model, val)
        _, test_acc = evaluate(model, test)
        print(f"{name:<15} validation {val_acc:.1%}, test {test_acc:.1%}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    by_penalty, norm = clipped_step(small, data64, lr, lam, in_loss=True)
    print(f"penalty: clipped a norm of {norm:.3f}")
    by_decay, norm = clipped_step(small, data64, lr, lam, in_loss=False)
    print(f"weight_decay: clipped a norm of {norm:.3f}")
    pairs = zip(by_penalty, by_decay, strict=True)
    gap = max((a - b).abs().max().item() for a, b in pairs)
    print(f"the two steps differ by up to {gap:.1e}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    seed_everything(0)
    one_point = (X[:1], y[:1])
    for p in (0.5, 0.0):
        model = copy_of(start, p)
        for name, data in (("1 point", one_point), ("100 points", train)):
            count = units_without_gradient(model, data)
            print(f"p = {p}, {name:<10}: {count:>3} of 128 get no gradient")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
