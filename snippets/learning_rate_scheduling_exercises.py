"""Solutions to the exercises of lesson 3.2, Learning Rate Scheduling."""

import copy
from collections.abc import Callable

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler

# isort: split
from learning_rate_scheduling import (
    rates_used,
    warmup_cosine,
    warmup_cosine_lambda,
)


# --8<-- [start:ex2]
def resumed_rates(
    build: Callable[[Optimizer, int, int], LRScheduler], how: str
) -> list[float]:
    """The rates of a 240-step run that checkpoints after 100 steps and
    resumes in a new optimizer and scheduler, loading the states "scheduler
    first", "optimizer first", or with "no scheduler state"."""
    w = torch.zeros(1, requires_grad=True)
    rates: list[float] = []
    state: list[dict[str, object]] = []  # the checkpoint: optimizer, scheduler
    for first, end in ((0, 100), (100, 240)):  # two processes
        optimizer = torch.optim.AdamW([w], lr=2.0)
        if state and how == "optimizer first":
            optimizer.load_state_dict(state[0])
        scheduler = build(optimizer, 24, 240)
        if state and how != "optimizer first":
            optimizer.load_state_dict(state[0])
        if state and how != "no scheduler state":
            scheduler.load_state_dict(state[1])
        for _ in range(first, end):
            rates.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            scheduler.step()
        state = copy.deepcopy([optimizer.state_dict(), scheduler.state_dict()])
    return rates


# --8<-- [end:ex2]


def main() -> None:
    # --8<-- [start:ex1]
    def cosine(T_max: int) -> Callable[[Optimizer], LRScheduler]:
        return lambda o: CosineAnnealingLR(o, T_max)

    per_batch = rates_used(1.0, cosine(30), 30, steps_per_epoch=8)  # wrong
    bottoms = [k for k, lr in enumerate(per_batch) if lr < 1e-9]
    tops = [k for k, lr in enumerate(per_batch) if lr > 1 - 1e-9]
    print(f"rate 0 at steps {bottoms}, rate 1 at steps {tops}")
    print(f"steps 63 and 239: {per_batch[63]:.3f}, {per_batch[239]:.3f}")
    fixed = rates_used(1.0, cosine(30 * 8), 30, steps_per_epoch=8)
    print(f"T_max=240: {fixed[0]:.3f} at step 0, {fixed[-1]:.6f} at step 239")
    # --8<-- [end:ex1]

    # --8<-- [start:ex2-run]
    unbroken = rates_used(2.0, lambda o: warmup_cosine(o, 24, 240), 240)
    steps = (99, 100, 101, 123, 200)
    print(f"{'step:':<19}", " ".join(f"{k:>7}" for k in steps))
    for how, build in (
        ("scheduler first", warmup_cosine),
        ("optimizer first", warmup_cosine),
        ("no scheduler state", warmup_cosine),
        ("no scheduler state", warmup_cosine_lambda),
    ):
        rates = resumed_rates(build, how)
        gap = max(abs(a - b) for a, b in zip(rates, unbroken, strict=True))
        label = how if build is warmup_cosine else "LambdaLR, no state"
        shown = " ".join(f"{rates[k]:7.3g}" for k in steps)
        print(f"{label:<19} {shown}  gap {gap:.3g}")
    # --8<-- [end:ex2-run]


if __name__ == "__main__":
    main()
