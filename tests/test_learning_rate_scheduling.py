"""Lesson 3.2: every number and claim the page states is what the snippets compute.

The schedules are Python floats, the same on every device, and are checked to float precision.
The moons runs are float32 training that a GPU rounds differently, so the page states their
results rounded or as bounds, checked here with margins measured on the CPU by nudging the start
by up to 1e-4 (the constant rate 0.5 and the schedule were unmoved to the stated digits)."""

import copy
import inspect
import itertools
import math
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path

import learning_rate_scheduling as lesson
import learning_rate_scheduling_exercises as exercises
import pytest
import torch
import torch.nn.functional as F
from course import flat_text
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from learning_rate_scheduling import Run
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    OneCycleLR,
    StepLR,
)

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "learning-rate-scheduling.md"
W, T = 24, 240  # warmup steps, total steps, as on the page
BATCH_SIZE, STEPS_PER_EPOCH = 32, 8


def page() -> str:
    return flat_text(LESSON)


def prose() -> str:
    """The page without its quiz fences (whose numbers must also appear above them)."""
    text = page()
    return text[: text.index("## Check yourself")]


def main_source() -> str:
    return "".join(inspect.getsource(lesson.main).split())


def warmup(o: Optimizer) -> LRScheduler:
    return lesson.warmup_cosine(o, W, T)


# --- the schedules ---------------------------------------------------------------------------


@cache
def schedules() -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """The page's schedules fence: recorded rates and formulas."""
    rates = {
        "StepLR": lesson.rates_used(1.0, lambda o: StepLR(o, 10, gamma=0.5), 30),
        "ExponentialLR": lesson.rates_used(1.0, lambda o: ExponentialLR(o, 0.9), 30),
        "warmup, cosine": lesson.rates_used(2.0, warmup, T),
        "LambdaLR": lesson.rates_used(2.0, lambda o: lesson.warmup_cosine_lambda(o, W, T), T),
        "OneCycleLR": lesson.rates_used(2.0, lambda o: OneCycleLR(o, 2.0, T), T),
    }
    formulas = {
        "StepLR": [0.5 ** (t // 10) for t in range(30)],
        "ExponentialLR": [0.9**t for t in range(30)],
        "warmup, cosine": [lesson.warmup_then_cosine(t, 2.0, W, T) for t in range(T)],
        "OneCycleLR": [lesson.one_cycle(t, 2.0, T) for t in range(T)],
    }
    formulas["LambdaLR"] = formulas["warmup, cosine"]
    return rates, formulas


def test_the_page_runs_these_schedules() -> None:
    source = main_source()
    for line in (
        "W,T=24,240",
        '"StepLR":rates_used(1.0,lambdao:StepLR(o,10,gamma=0.5),30)',
        '"ExponentialLR":rates_used(1.0,lambdao:ExponentialLR(o,0.9),30)',
        '"warmup,cosine":rates_used(2.0,lambdao:warmup_cosine(o,W,T),T)',
        '"LambdaLR":rates_used(2.0,lambdao:warmup_cosine_lambda(o,W,T),T)',
        '"OneCycleLR":rates_used(2.0,lambdao:OneCycleLR(o,2.0,T),T)',
        '"StepLR":[0.5**(t//10)fortinrange(30)]',
        '"ExponentialLR":[0.9**tfortinrange(30)]',
        '"warmup,cosine":[warmup_then_cosine(t,2.0,W,T)fortinrange(T)]',
        '"OneCycleLR":[one_cycle(t,2.0,T)fortinrange(T)]',
    ):
        assert line in source, line


def test_schedulers_follow_their_formulas() -> None:
    rates, formulas = schedules()
    for name, recorded in rates.items():
        gap = max(abs(a - b) for a, b in zip(recorded, formulas[name], strict=True))
        assert gap < 1e-15, name
    assert "Every gap is below $10^{-15}$" in prose()
    assert "matched to below $10^{-15}$" in prose()


def test_the_formulas_are_the_math() -> None:
    """The functions are the display formulas: c's end points and middle, the warmup line, the
    cosine's end, one-cycle's first, peak and last rates."""
    c = lesson.cosine_between
    assert c(3.0, 1.0, 0.0) == 3.0
    assert c(3.0, 1.0, 1.0) == 1.0
    assert c(3.0, 1.0, 0.5) == pytest.approx(2.0, abs=1e-15)
    f, lr = 0.01, 2.0
    for t in range(W):
        assert lesson.warmup_then_cosine(t, lr, W, T) == pytest.approx(lr * (f + (1 - f) * t / W))
    assert lesson.warmup_then_cosine(W, lr, W, T) == lr
    assert lesson.warmup_then_cosine(T, lr, W, T) == pytest.approx(0.0, abs=1e-15)
    t_1 = 0.3 * T - 1
    assert t_1 == 71
    assert lesson.one_cycle(0, 2.0, T) == pytest.approx(2.0 / 25)
    assert lesson.one_cycle(71, 2.0, T) == 2.0
    assert lesson.one_cycle(T - 1, 2.0, T) == pytest.approx(2.0 / 25 / 1e4)
    # half a cosine: zero slope at both ends, fastest in the middle
    slopes = [c(1.0, 0.0, (k + 1) / 100) - c(1.0, 0.0, k / 100) for k in range(100)]
    steepest = min(range(100), key=lambda k: slopes[k])
    assert steepest in (49, 50)
    assert abs(slopes[0]) < abs(slopes[50]) / 50
    assert math.log(2) / math.log(1 / 0.9) == pytest.approx(6.58, abs=0.01)  # "about 6.6"
    assert "about 6.6 for $\\gamma = 0.9$" in prose()


def test_pytorch_defaults_the_page_states() -> None:
    def defaults(cls: type) -> dict[str, object]:
        return {
            name: p.default
            for name, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty
        }

    linear = defaults(LinearLR)
    assert linear["start_factor"] == pytest.approx(1 / 3)
    assert linear["end_factor"] == 1.0
    assert linear["total_iters"] == 5
    assert defaults(CosineAnnealingLR)["eta_min"] == 0.0
    cycle = defaults(OneCycleLR)
    assert cycle["pct_start"] == 0.3
    assert cycle["anneal_strategy"] == "cos"
    assert cycle["div_factor"] == 25.0
    assert cycle["final_div_factor"] == 1e4
    assert cycle["three_phase"] is False
    assert cycle["cycle_momentum"] is True
    assert cycle["base_momentum"] == 0.85
    assert cycle["max_momentum"] == 0.95
    assert torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults["betas"] == (0.9, 0.999)
    assert torch.optim.SGD([torch.zeros(1, requires_grad=True)]).defaults["momentum"] == 0
    # LinearLR refuses a start factor of 0
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        LinearLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), start_factor=0.0)
    text = prose()
    assert "its defaults are $f = 1/3$ and $W = 5$, and it refuses $f = 0$" in text
    assert "$t_1 = 0.3\\,T - 1$ the step at the peak (`pct_start=0.3`)" in text
    assert "$\\eta_0 = \\eta_{\\max} / 25$ the first rate (`div_factor=25`)" in text
    assert "$\\eta_{\\text{end}} = \\eta_0 / 10^4$" in text
    assert "(`final_div_factor=1e4`)" in text
    assert '`anneal_strategy="cos"` and `three_phase=False`' in text
    assert "from 0.95 down to 0.85 at the peak and back to 0.95" in text
    assert "Adam's default $\\beta_1 = 0.9$ is gone" in text


def test_one_cycle_ignores_the_optimizers_rate_and_stops_at_total_steps() -> None:
    a = lesson.rates_used(0.1, lambda o: OneCycleLR(o, 2.0, T), T)
    b = lesson.rates_used(5.0, lambda o: OneCycleLR(o, 2.0, T), T)
    assert a == b
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = OneCycleLR(optimizer, 2.0, total_steps=T)
    for _ in range(T):  # as many calls as steps: fine
        optimizer.step()
        scheduler.step()
    optimizer.step()
    with pytest.raises(ValueError, match="Tried to step"):
        scheduler.step()  # one past total_steps
    assert "the rate you gave the optimizer is ignored" in prose()
    assert "raises a `ValueError` when stepped past `total_steps`" in prose()


def test_cosine_recursion_and_the_hand_over() -> None:
    """CosineAnnealingLR's rates follow eta_{t+1} - eta_min = (eta_t - eta_min) r_{t+1} / r_t,
    and SequentialLR starts the cosine exactly at the peak at step W."""
    T_max, lr, lr_min = 50, 1.5, 0.1
    recorded = lesson.rates_used(lr, lambda o: CosineAnnealingLR(o, T_max, lr_min), T_max + 1)

    def r(t: int) -> float:
        return 1 + math.cos(math.pi * t / T_max)

    eta = [lr]
    for t in range(T_max):
        eta.append(lr_min + (eta[-1] - lr_min) * r(t + 1) / r(t))
    assert max(abs(a - b) for a, b in zip(recorded, eta, strict=True)) < 1e-14
    rates, _ = schedules()
    assert rates["warmup, cosine"][W] == 2.0
    assert rates["warmup, cosine"][W - 1] < 2.0
    assert "r_t = 1 + \\cos(\\pi t / T_{\\max})$ and $t$ counts this scheduler's steps" in prose()


def test_the_figures_numbers() -> None:
    rates, _ = schedules()
    step, exponential = rates["StepLR"], rates["ExponentialLR"]
    assert [step[k] for k in (9, 10, 19, 20, 29)] == [1.0, 0.5, 0.5, 0.25, 0.25]
    assert exponential[-1] == pytest.approx(0.9**29)
    assert f"{0.9**29:.3f}" == "0.047"
    warm = rates["warmup, cosine"]
    assert warm[0] == pytest.approx(0.02)
    assert max(warm) == warm[24] == 2.0
    assert 0.5e-4 < warm[-1] < 2e-4  # "about 10^-4 at step 239"
    cycle = rates["OneCycleLR"]
    assert cycle[0] == pytest.approx(0.08)
    assert cycle.index(max(cycle)) == 71
    assert cycle[-1] == pytest.approx(8e-6)
    text = prose()
    assert "`StepLR` halves at epochs 10 and 20, ending at 0.25" in text
    assert "$0.9^{29} \\approx 0.047$" in text
    assert "Warmup climbs from 0.02 to 2.0 in 24 steps" in text
    assert "about $10^{-4}$ at step 239" in text
    assert "One-cycle starts at $2.0/25 = 0.08$, peaks at step $0.3 \\cdot 240 - 1 = 71$" in text
    assert "ends at $0.08 / 10^4 = 8 \\times 10^{-6}$" in text


def test_a_scheduler_writes_the_optimizers_rate() -> None:
    a = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([a], lr=2.0)
    optimizer.add_param_group({"params": [b], "lr": 0.2})
    scheduler = lesson.warmup_cosine(optimizer, 24, total_steps=240)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.02, 0.002])
    assert [g["initial_lr"] for g in optimizer.param_groups] == [2.0, 0.2]
    assert scheduler.get_last_lr() == pytest.approx([0.02, 0.002])
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.2675, 0.02675])
    assert [g["lr"] for g in optimizer.param_groups] == scheduler.get_last_lr()
    assert abs(2.0 * (0.01 + 0.99 * 3 / 24) - 0.2675) < 1e-15
    text = prose()
    assert "Two parameter groups, at rates 2.0 and 0.2" in text
    assert "set both rates to 1% (the warmup's step 0)" in text
    # a group that already has "initial_lr" (as after loading an optimizer's state) keeps it,
    # and SequentialLR starts the schedule from it
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    optimizer.param_groups[0]["initial_lr"] = 5.0
    lesson.warmup_cosine(optimizer, 24, total_steps=240)
    assert optimizer.param_groups[0]["initial_lr"] == 5.0
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    assert "(unless the group already has one, as after loading an optimizer's state)" in text
    assert "$2.0 \\cdot (0.01 + 0.99 \\cdot 3/24) = 0.2675$, and a tenth of that" in text


def test_one_cycle_moves_the_momentum() -> None:
    w = torch.zeros(1, requires_grad=True)
    adam = torch.optim.Adam([w], lr=0.001)
    scheduler = OneCycleLR(adam, max_lr=2.0, total_steps=T)
    beta1 = []
    for _ in range(T):
        beta1.append(adam.param_groups[0]["betas"][0])
        adam.step()
        scheduler.step()
    assert beta1[0] == pytest.approx(0.95)
    assert beta1[71] == pytest.approx(0.85)
    assert min(beta1) == beta1[71]
    assert beta1[-1] == pytest.approx(0.95)
    sgd = torch.optim.SGD([w], lr=0.1)
    assert sgd.param_groups[0]["momentum"] == 0
    OneCycleLR(sgd, max_lr=2.0, total_steps=T)
    assert sgd.param_groups[0]["momentum"] == 0.95
    assert round(1 / (1 - 0.95), 9) == 20
    sgd = torch.optim.SGD([w], lr=0.1)
    OneCycleLR(sgd, max_lr=2.0, total_steps=T, cycle_momentum=False)
    assert sgd.param_groups[0]["momentum"] == 0
    text = prose()
    assert "0.95 at the start, 0.85 at the peak." in text
    assert "Plain SGD's momentum, 0 by default, became 0.95" in text
    assert "$1/(1 - 0.95) = 20$" in text


# --- where scheduler.step() goes ---------------------------------------------------------------


def test_step_before_the_optimizer_warns_and_skips_the_first_rate() -> None:
    after = lesson.rates_used(2.0, warmup, 30, 8, "batch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = lesson.rates_used(2.0, warmup, 30, 8, "before")
    assert len(caught) == 1
    assert caught[0].category is UserWarning
    message = str(caught[0].message)
    assert "Detected call of `lr_scheduler.step()` before `optimizer.step()`" in message
    assert "skipping the first value of the learning rate schedule" in message
    assert after[0] == pytest.approx(0.02)
    assert before[:-1] == after[1:]  # every step uses the rate meant for the next
    assert before[-1] == pytest.approx(0.0, abs=1e-15)  # step 240's rate
    assert lesson.warmup_then_cosine(240, 2.0, W, T) == pytest.approx(0.0, abs=1e-15)
    # the right order raises no warning (warnings are errors in the tests)
    lesson.rates_used(2.0, warmup, 30, 8, "batch")
    text = prose()
    assert "the first step uses the warmup's first rate, 0.02" in text
    assert "0.02 is skipped, and the last step uses step 240's rate, 0" in text


def test_step_per_batch_and_never() -> None:
    def halve(o: Optimizer) -> LRScheduler:
        return StepLR(o, step_size=10, gamma=0.5)

    per_epoch = lesson.rates_used(1.0, halve, 30, 8, "epoch")
    per_batch = lesson.rates_used(1.0, halve, 30, 8, "batch")
    firsts = [8 * (epoch - 1) for epoch in (1, 2, 3, 11, 21, 30)]
    assert [per_epoch[k] for k in firsts] == [1, 1, 1, 0.5, 0.25, 0.25]
    assert [per_batch[k] for k in firsts][:3] == [1, 1, 0.5]
    # 0.5 from step 10 (counting from 0): epoch 2's steps are 8 to 15, so its third batch
    assert per_batch.index(0.5) == 10 == 8 * (2 - 1) + (3 - 1)
    assert per_batch[80] == 0.5**8
    assert f"{0.5**8:.4f}" == "0.0039"
    assert 0.5e-7 < per_batch[232] < 2e-7  # "about 10^-7 in epoch 30"
    never = lesson.rates_used(2.0, warmup, 30, 8, "never")
    assert len(never) == 240
    assert len(set(never)) == 1
    assert never[0] == pytest.approx(0.02)
    text = prose()
    assert "0.5 from the third batch of epoch 2, $0.5^8 \\approx 0.0039$ in epoch 11" in text
    assert "the rate at each epoch's first step" in inspect.getsource(lesson.main)
    assert "about $10^{-7}$ in epoch 30, where it should be 0.25" in text
    assert "stays at the schedule's step 0 for all 240 steps: 0.02, 1% of the rate" in text


# --- the moons ---------------------------------------------------------------------------------


@cache
def moons() -> tuple[torch.Tensor, torch.Tensor, nn.Sequential]:
    """The page's moons fence."""
    seed_everything(0)
    device = get_device()
    X, y = make_moons(256, device)
    start = nn.Sequential(
        nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    ).to(device)
    return X, y, start


def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@cache
def range_test() -> tuple[Run, bool]:
    """The page's range-run fence: the run, and whether the weights came back."""
    X, y, start = moons()
    model = copy.deepcopy(start)
    saved = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
    grow = ExponentialLR(optimizer, (100 / 0.001) ** (1 / 99))
    test = lesson.train(model, X, y, optimizer, grow, 100, BATCH_SIZE, generator(), 4.0)
    moved = not all(
        torch.equal(p, q) for p, q in zip(model.parameters(), start.parameters(), strict=True)
    )
    model.load_state_dict(saved)
    back = all(
        torch.equal(p, q) for p, q in zip(model.parameters(), start.parameters(), strict=True)
    )
    return test, moved and back


def test_the_moons_and_the_network() -> None:
    X, y, start = moons()
    assert len(X) == 256
    assert y.sum().item() == 128  # balanced classes: a constant guess scores ln 2 at best
    assert [m.out_features for m in start if isinstance(m, nn.Linear)] == [32, 32, 1]
    assert "Lesson 2.1's moons, 256 points, and a network with two hidden layers of 32" in prose()
    assert "batch_size,steps_per_epoch=32,8" in main_source()
    assert 256 // BATCH_SIZE == STEPS_PER_EPOCH


def test_the_range_test() -> None:
    source = main_source()
    assert "lr=0.001)" in source
    assert "gamma=(100/0.001)**(1/99)" in source
    assert "train(model,X,y,optimizer,grow,100,batch_size,generator,4.0)" in source
    test, restored = range_test()
    assert restored  # the test moved the weights, and they came back
    rates, losses = test.rates, test.losses
    assert rates[0] == 0.001
    ratio = (100 / 0.001) ** (1 / 99)
    assert all(b / a == pytest.approx(ratio) for a, b in itertools.pairwise(rates))
    assert len(rates) < 100  # stopped before the last rate
    # stopped at the blow-up: the last loss above 4 times the lowest, the rate past 4
    assert losses[-1] > 4 * min(losses)
    assert 3.5 < rates[-1] < 10
    # flat near 0.71 up to about 0.01, then falling
    assert 0.70 < losses[0] < 0.72
    flat = [loss for rate, loss in zip(rates, losses[1:], strict=True) if rate <= 0.0105]
    assert max(flat) - min(flat) < 0.01
    steepest = lesson.steepest_fall(test)
    assert 0.4 < steepest < 0.6  # "fastest near 0.5"
    # ragged near 1: a spike at about 1.35 well above the curve around it
    window = [(rate, loss) for rate, loss in zip(rates, losses[1:], strict=True) if 1 < rate < 2]
    spike_rate, spike = max(window, key=lambda pair: pair[1])
    assert 1.2 < spike_rate < 1.6
    assert spike > 1.5 * min(loss for _, loss in window)
    text = prose()
    assert "from 0.001 towards 100 in 100 steps, stopping at 4 times the lowest loss" in text
    assert "Up to about 0.01 the loss hardly moves from 0.71" in text
    assert "fastest near 0.5 (dashed line)" in text
    assert "Near 1 it turns ragged, with a spike at about 1.35, and past 4 it shoots up" in text
    assert "a constant rate of about 0.5, or a schedule peaking at 2" in text
    # 2 sits where the curve is ragged (past 1) and below the blow-up (past 4)
    near_2 = [loss for rate, loss in zip(rates, losses[1:], strict=True) if 1.5 < rate < 2.5]
    assert near_2
    assert max(near_2) < losses[0]  # ragged there, but not blown up
    assert rates[-1] > 2 * 2.0
    assert text.count("in the ragged stretch below the blow-up") == 2


@cache
def runs() -> dict[float, Run]:
    """The page's runs fence: 240 steps of plain SGD at 0.01, 0.5 and 8, and at 2.0 under
    warmup_cosine."""
    X, y, start = moons()
    results = {}
    for lr in (0.01, 0.5, 8.0, 2.0):
        model = copy.deepcopy(start)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        schedule = lesson.warmup_cosine(optimizer, W, T) if lr == 2.0 else None
        results[lr] = lesson.train(model, X, y, optimizer, schedule, T, BATCH_SIZE, generator())
    return results


def last_five_epochs(run: Run) -> list[float]:
    return run.losses[-5 * STEPS_PER_EPOCH :]


def test_the_runs_are_the_pages() -> None:
    source = main_source()
    assert "forlrin(0.01,0.5,8.0,2.0):" in source
    assert "schedule=warmup_cosine(optimizer,W,T)iflr==2.0elseNone" in source
    assert "train(model,X,y,optimizer,schedule,T,batch_size,generator)" in source
    for run in runs().values():
        assert len(run.rates) == T
        assert len(run.losses) == T + 1
    assert runs()[2.0].rates == schedules()[0]["warmup, cosine"]
    assert "Plain SGD for 240 steps (30 epochs) at a constant 0.01, 0.5 and 8" in prose()


def test_too_small_and_too_large() -> None:
    slow, fast = runs()[0.01], runs()[8.0]
    assert 0.70 < slow.losses[0] < 0.72
    assert 0.54 < slow.losses[-1] < 0.58  # "about 0.56"
    # at 8 the loss never gets below ln 2, and within five steps the second layer died
    assert min(fast.losses) >= math.log(2) - 1e-6
    X, y, start = moons()
    model = copy.deepcopy(start)
    optimizer = torch.optim.SGD(model.parameters(), lr=8.0)
    lesson.train(model, X, y, optimizer, None, 5, BATCH_SIZE, generator())
    with torch.no_grad():
        A2 = torch.relu(model[2](torch.relu(model[0](X))))
        logits = model(X)
    assert int((A2 > 0).any(dim=0).sum()) == 0
    assert (logits.max() - logits.min()).item() < 1e-6  # the same logit for every point
    assert f"{math.log(2):.3f}" == "0.693"
    text = prose()
    assert "At 0.01 the loss creeps from 0.71 to about 0.56" in text
    assert "At 8 it never gets below $\\ln 2 \\approx 0.693$" in text
    assert "within five steps every unit of the second hidden layer was off for every" in text


def test_constant_against_scheduled() -> None:
    constant, scheduled = runs()[0.5], runs()[2.0]
    assert 0.09 < constant.losses[-1] < 0.15  # "about 0.12"
    last = last_five_epochs(constant)
    assert 0.03 < min(last) < 0.05  # "about 0.04"
    assert 0.13 < max(last) < 0.18  # "about 0.15"
    assert 0.022 < scheduled.losses[-1] < 0.028  # "about 0.025"
    settled = last_five_epochs(scheduled)
    assert max(settled) - min(settled) < 0.001
    assert scheduled.losses[-1] < min(last)
    text = prose()
    assert "The range test's 0.5 trains well, to about 0.12, but keeps jumping" in text
    assert "between about 0.04 and 0.15 over the last five epochs" in text
    assert "then settles at about 0.025, changing by less than 0.001 over the last five" in text
    assert "warmup and cosine decay from 2.0 settled at about 0.025" in text


def test_the_noise_band() -> None:
    """Going deeper: E[e^2] settles at eta sigma^2 / (lambda (2 - eta lambda)); simulated."""
    gen = torch.Generator().manual_seed(0)
    lam, sigma = 1.0, 1.0
    for eta in (0.05, 0.1):
        e = torch.zeros(20_000, dtype=torch.float64)
        for _ in range(400):
            xi = sigma * torch.randn(20_000, generator=gen, dtype=torch.float64)
            e = (1 - eta * lam) * e - eta * xi
        predicted = eta * sigma**2 / (lam * (2 - eta * lam))
        assert e.pow(2).mean().item() == pytest.approx(predicted, rel=0.04)
    assert "\\eta \\sigma^2 / \\bigl(\\lambda (2 - \\eta\\lambda)\\bigr)" in prose()


# --- Adam and warmup ---------------------------------------------------------------------------


def test_adams_first_step() -> None:
    X, y, start = moons()
    model = copy.deepcopy(start)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.3)
    w0 = nn.utils.parameters_to_vector(model.parameters()).detach()
    lesson.train(model, X, y, optimizer, None, 1, BATCH_SIZE, generator())
    moves = (nn.utils.parameters_to_vector(model.parameters()) - w0).abs()
    grads = [p.grad.flatten() for p in model.parameters() if p.grad is not None]
    g = torch.cat(grads).abs()
    moved = g > 0
    assert 0.07 < g.max().item() < 0.09  # "about 0.08"
    assert g[moved].min().item() < 1e-6
    assert moves[moved].max().item() == pytest.approx(0.3, abs=1e-6)
    assert (moves[g > 1e-6] > 0.297).all()  # "nearly the full 0.3"
    assert (moves[~moved] == 0).all()
    # less than 0.3 only for the tiniest gradients: where |g| / (|g| + 1e-8) < 0.99
    short = moved & (moves < 0.297)
    assert (g[short] < 1e-6).all()
    median = w0.abs().median().item()
    assert f"{median:.3f}" == "0.094"
    assert 2.5 < 0.3 / median < 3.5  # "three times"
    # a zero gradient: on every point of the batch an off ReLU blocks the way to the output,
    # so each point's own gradient is zero there too
    batch = torch.randperm(len(X), generator=generator()).to(X.device)[:BATCH_SIZE]
    blocked = torch.ones_like(g, dtype=torch.bool)
    for i in batch.tolist():
        point = copy.deepcopy(start)
        loss = F.binary_cross_entropy_with_logits(point(X[i : i + 1]), y[i : i + 1])
        one = torch.autograd.grad(loss, list(point.parameters()))
        blocked &= torch.cat([d.flatten() for d in one]) == 0
    assert torch.equal(~moved, blocked)
    # "or fed them a 0": no ReLU follows an output weight; those with a zero gradient read a unit
    # of the second hidden layer that is 0 on every point of the batch
    with torch.no_grad():
        A2 = torch.relu(start[2](torch.relu(start[0](X[batch]))))
    fed_zeros = (A2 == 0).all(dim=0)
    assert fed_zeros.any()
    output_layer = model[4]
    assert isinstance(output_layer, nn.Linear)
    assert output_layer.weight.grad is not None
    assert torch.equal(output_layer.weight.grad[0] == 0, fed_zeros)
    # a deliberately large rate: 300 times Adam's default
    assert torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults["lr"] == 0.001
    assert round(0.3 / 0.001) == 300
    text = prose()
    assert "at a deliberately large rate, 0.3 (300 times its default)" in text
    assert "The gradients range from about 0.08 down to below $10^{-6}$" in text
    assert "moved by nearly the full 0.3" in text
    assert "three times a typical parameter's size, 0.094" in text
    assert (
        "on every point of the batch, an off ReLU either stood between them and the output or fed"
        " them a 0" in text
    )


@cache
def warmup_runs() -> dict[int, Run]:
    X, y, start = moons()
    results = {}
    for warmup_steps in (1, 20):
        model = copy.deepcopy(start)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.3)
        ramp = LinearLR(optimizer, 1 / warmup_steps, total_iters=warmup_steps)
        results[warmup_steps] = lesson.train(
            model, X, y, optimizer, ramp, 40, BATCH_SIZE, generator()
        )
    return results


def test_warmup_keeps_the_first_steps_down() -> None:
    source = main_source()
    assert "forwarmup_stepsin(1,20):" in source
    assert "ramp=LinearLR(optimizer,1/warmup_steps,total_iters=warmup_steps)" in source
    none, warm = warmup_runs()[1], warmup_runs()[20]
    assert set(none.rates) == {0.3}  # LinearLR over 1 step is constant
    assert warm.rates[0] == pytest.approx(0.3 / 20)
    assert warm.rates[20] == pytest.approx(0.3)
    assert 0.70 < none.losses[0] < 0.72
    top = max(none.losses)
    assert none.losses.index(top) == 2
    assert 2.8 < top < 3.0  # "about 2.9"
    assert max(warm.losses) == warm.losses[0]  # never above its start
    assert warm.losses[-1] < none.losses[-1] < 2 * warm.losses[-1]  # "a little higher"
    text = prose()
    assert "`LinearLR` over 1 step is constant" in text
    assert "Without warmup the loss jumps from 0.71 to about 2.9 in two steps" in text
    assert "with warmup it never rises above its start" in text
    assert "the run without warmup ending a little higher" in text
    assert "steps sent the loss from 0.71 to about 2.9" in text


# --- exercises ---------------------------------------------------------------------------------


def test_exercise_1_cosine_stepped_per_batch() -> None:
    def cosine(T_max: int) -> Callable[[Optimizer], LRScheduler]:
        return lambda o: CosineAnnealingLR(o, T_max)

    per_batch = lesson.rates_used(1.0, cosine(30), 30, steps_per_epoch=8)
    assert [k for k, lr in enumerate(per_batch) if lr < 1e-9] == [30, 90, 150, 210]
    assert [k for k, lr in enumerate(per_batch) if lr > 1 - 1e-9] == [0, 60, 120, 180]
    assert 30 // 8 + 1 == 4  # step 30 is in epoch 4
    assert f"{per_batch[63]:.3f}" == "0.976"
    assert f"{per_batch[239]:.3f}" == "0.997"
    fixed = lesson.rates_used(1.0, cosine(240), 30, steps_per_epoch=8)
    assert all(b < a for a, b in itertools.pairwise(fixed))  # one smooth fall
    assert 3.5e-5 < fixed[-1] < 4.5e-5
    text = prose()
    assert "The rate reaches 0 at step 30, in epoch 4" in text
    assert "back to the peak at step 60, a period of $2\\,T_{\\max} = 60$ steps" in text
    assert "0.976 of the peak, the last step of all at 0.997" in text
    assert "to about $4 \\times 10^{-5}$ at step 239" in text


def test_exercise_2_resuming() -> None:
    unbroken = lesson.rates_used(2.0, warmup, 240)
    right = exercises.resumed_rates(lesson.warmup_cosine, "scheduler first")
    assert right == unbroken  # "gap 0"
    early = exercises.resumed_rates(lesson.warmup_cosine, "optimizer first")
    assert early[:100] == unbroken[:100]
    assert early[100] == pytest.approx(0.02)
    assert all(65 < u / e < 75 for u, e in zip(unbroken[100:], early[100:], strict=True))
    forgot = exercises.resumed_rates(lesson.warmup_cosine, "no scheduler state")
    assert f"{unbroken[100]:.2f}" == "1.45"
    assert forgot[100] == unbroken[100]
    assert 138 < forgot[123] < 140
    assert max(forgot) == forgot[123]
    assert 65 < forgot[123] / 2.0 < 75  # "about 70 times the peak"
    restarted = exercises.resumed_rates(lesson.warmup_cosine_lambda, "no scheduler state")
    assert restarted[101] == pytest.approx(unbroken[1])  # the schedule starts over
    assert f"{restarted[101]:.3f}" == "0.103"
    text = prose()
    assert "Only the first way continues exactly (gap 0)" in text
    assert "carry on from 0.02, about 70 times too slow" in text
    assert "the new warmup multiplies the restored 1.45 as it would 0.02" in text
    assert "up to 139 at step 123, about 70 times the peak" in text
    assert "restarts the schedule (0.103 at step 101)" in text
    # at the hand-over the cosine starts at initial_lr, then runs exactly 100 steps late
    assert forgot[124] == 2.0
    assert all(forgot[100 + k] == unbroken[k] for k in range(24, 140))
    assert f"{forgot[200]:.2f}" == "1.45"
    assert 'at the hand-over, step 124, the cosine starts at `"initial_lr"`, 2.0' in text
    assert "then runs 100 steps late (1.45 again at step 200)" in text


def test_which_schedulers_compute_from_the_current_rate() -> None:
    """Change the group's rate by hand after 3 steps: the recursive schedulers carry the change
    on, LambdaLR and OneCycleLR compute from the formula and ignore it."""

    def next_rate(build: Callable[[Optimizer], LRScheduler], meddle: bool) -> float:
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        scheduler = build(optimizer)
        for _ in range(3):
            optimizer.step()
            scheduler.step()
        if meddle:
            optimizer.param_groups[0]["lr"] *= 0.5
        optimizer.step()
        scheduler.step()
        return float(optimizer.param_groups[0]["lr"])

    recursive = {
        "StepLR": lambda o: StepLR(o, 2, gamma=0.5),
        "ExponentialLR": lambda o: ExponentialLR(o, 0.9),
        "LinearLR": lambda o: LinearLR(o, 0.1, total_iters=10),
        "CosineAnnealingLR": lambda o: CosineAnnealingLR(o, 20),
    }
    closed: dict[str, Callable[[Optimizer], LRScheduler]] = {
        "LambdaLR": lambda o: lesson.warmup_cosine_lambda(o, 5, 20),
        "OneCycleLR": lambda o: OneCycleLR(o, 1.0, 20),
    }
    for name, build in recursive.items():
        assert next_rate(build, True) == pytest.approx(next_rate(build, False) / 2), name
    for name, build in closed.items():
        assert next_rate(build, True) == next_rate(build, False), name
    text = prose()
    assert "`StepLR`, `ExponentialLR`, `LinearLR` and `CosineAnnealingLR` compute the next" in text
    assert "(`LambdaLR` and `OneCycleLR` from the formula)" in text


def test_loading_a_schedulers_state_writes_no_rate() -> None:
    """What Exercise 2's discussion rests on: the optimizer's state dict carries "lr" and
    "initial_lr"; a scheduler's load_state_dict leaves the group's rate as it was."""
    optimizer = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=2.0)
    scheduler = lesson.warmup_cosine(optimizer, W, T)
    for _ in range(100):
        optimizer.step()
        scheduler.step()
    state = copy.deepcopy(scheduler.state_dict())
    group = optimizer.state_dict()["param_groups"][0]
    assert group["lr"] == pytest.approx(1.449, abs=1e-3)
    assert group["initial_lr"] == 2.0
    fresh = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=2.0)
    rebuilt = lesson.warmup_cosine(fresh, W, T)
    rebuilt.load_state_dict(state)
    assert fresh.param_groups[0]["lr"] == pytest.approx(0.02)
    assert "loading a scheduler's state writes no rate back" in prose()
