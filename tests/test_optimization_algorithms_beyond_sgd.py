"""Lesson 3.1: every number and claim the page states is what the snippets compute.

The comparisons, the valley and the single weights run in float64 on the CPU, where they are the
same on every run; the one fence on the course's device counts bytes of optimizer state, which no
device changes. Where the page states a rounding-level gap it states a bound, checked as such."""

import inspect
import math
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path

import optimization_algorithms_beyond_sgd as lesson
import optimization_algorithms_beyond_sgd_exercises as exercises
import pytest
import torch
import torch.nn.functional as F
from course import flat_text
from helpers import get_device, seed_everything
from optimization_algorithms_beyond_sgd import (
    AnyOptions,
    HandAdam,
    HandAdamW,
    HandMomentum,
    HandRMSProp,
    Maker,
)
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "optimization-algorithms-beyond-sgd.md"
START, NUM_STEPS, KAPPA = (-9.0, 1.0), 100, 100.0  # the valley, as on the page


def page() -> str:
    return flat_text(LESSON)


def prose() -> str:
    """The page without its quiz fences (whose numbers must also appear above them)."""
    text = page()
    return text[: text.index("## Check yourself")]


@cache
def data() -> tuple[torch.Tensor, torch.Tensor, nn.Sequential]:
    """The page's data fence: the points, their labels and the shared start, in float64."""
    seed_everything(0)
    X = torch.randn(100, 2, dtype=torch.float64, device="cpu")
    y = (X[:, :1] * X[:, 1:] > 0).double()
    return X, y, lesson.make_mlp(16).double()


# The page's rows: name, ours, torch.optim's, the options both get (besides lr=0.01).
ROWS: list[tuple[str, AnyOptions, AnyOptions, dict[str, float]]] = [
    ("momentum", HandMomentum, torch.optim.SGD, {"momentum": 0.9}),
    ("RMSProp", HandRMSProp, torch.optim.RMSprop, {}),
    ("Adam", HandAdam, torch.optim.Adam, {}),
    ("Adam, L2", HandAdam, torch.optim.Adam, {"weight_decay": 0.1}),
    ("AdamW", HandAdamW, torch.optim.AdamW, {"weight_decay": 0.1}),
    ("control: beta2 0.99", partial(HandAdam, betas=(0.9, 0.99)), torch.optim.Adam, {}),
    ("control: uncorrected", partial(HandAdam, bias_correction=False), torch.optim.Adam, {}),
]


@cache
def gaps() -> dict[str, float]:
    X, y, start = data()
    return {
        name: lesson.largest_gap(
            partial(ours, lr=0.01, **options),
            partial(theirs, lr=0.01, **options),
            start,
            X,
            y,
            num_steps=50,
        )
        for name, ours, theirs, options in ROWS
    }


def test_the_rows_are_the_pages() -> None:
    shown = "".join(inspect.getsource(lesson.main).split())
    assert shown.count("),torch.optim.Adam,{}),") == 2  # the two controls
    for name, _, _, options in ROWS[:5]:
        assert f'("{"".join(name.split())}",' in shown, name
        assert "".join(str(options).split()).replace("'", '"') in shown, name
    assert "partial(HandAdam,betas=(0.9,0.99))" in shown
    assert "partial(HandAdam,bias_correction=False)" in shown
    assert "partial(ours,lr=0.01,**options)" in shown
    assert "partial(theirs,lr=0.01,**options)" in shown
    assert "num_steps=50" in shown


def test_hand_optimizers_match_torch_optim() -> None:
    found = gaps()
    for name in ("momentum", "RMSProp", "Adam", "Adam, L2", "AdamW"):
        assert found[name] < 1e-14, name  # "within 1e-14 after every one of the 50 steps"
    assert f"{found['control: beta2 0.99']:.1e}" == "2.5e-02"  # "part by 0.025"
    assert found["control: uncorrected"] > 1  # "by more than 1"
    text = prose()
    assert "within $10^{-14}$ after every one of the 50 steps" in text
    assert "The controls part by 0.025 with $\\beta_2 = 0.99$ and by more than 1" in text
    assert "two hidden layers of 16 units, on 100 random points labelled 1 where" in text


def test_torch_defaults_and_rules() -> None:
    w = [torch.zeros(1, requires_grad=True)]
    rmsprop = torch.optim.RMSprop(w).defaults
    assert (rmsprop["lr"], rmsprop["alpha"], rmsprop["eps"]) == (0.01, 0.99, 1e-8)
    adam = torch.optim.Adam(w).defaults
    assert (adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"]) == (
        1e-3,
        (0.9, 0.999),
        1e-8,
        0,
    )
    assert torch.optim.AdamW(w).defaults["weight_decay"] == 0.01
    assert torch.optim.SGD(w).defaults["dampening"] == 0
    text = prose()
    assert "`lr=0.01`, `alpha=0.99`, `eps=1e-8`" in text
    assert "`lr=1e-3`, `betas=(0.9, 0.999)`, `eps=1e-8`, `weight_decay=0`" in text
    assert "AdamW instead multiplies $\\theta$ by $1 - \\eta\\lambda$ at every step" in text
    assert "averages, with `weight_decay` 0.01 by default" in text
    assert "Here $\\lambda$ is the decay rate, not a curvature." in text
    # the first momentum step sets b = g, and the buffer is what the page says it is
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    (3 * p[0] - 5 * p[1]).backward()
    optimizer.step()
    assert torch.equal(optimizer.state[p]["momentum_buffer"], torch.tensor([3.0, -5.0]).double())
    assert "the first step sets $b = g$" in text


def test_adam_folds_its_correction_into_the_step() -> None:
    """Torch's step size and denominator against the textbook's m-hat / (sqrt(v-hat) + eps)."""
    beta1, beta2, eps, lr, t = 0.9, 0.999, 1e-8, 0.01, 7
    m = torch.tensor([0.3, -1e-3, 2.0], dtype=torch.float64)
    v = torch.tensor([0.2, 1e-9, 5.0], dtype=torch.float64)
    textbook = lr * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)
    folded = (lr / (1 - beta1**t)) * m / (v.sqrt() / math.sqrt(1 - beta2**t) + eps)
    assert torch.allclose(textbook, folded, rtol=1e-15, atol=0)


def test_the_buffer() -> None:
    mu = 0.9
    steady = alternating = 0.0
    for t in range(1, 51):
        steady = mu * steady + 1.0
        alternating = mu * alternating + (-1.0) ** (t - 1)
        # the page's two formulas for |b_t|, at every t, odd and even
        assert steady == pytest.approx((1 - mu**t) / (1 - mu))
        assert abs(alternating) == pytest.approx((1 - (-mu) ** t) / (1 + mu))
    assert f"{steady:+.3f} {alternating:+.3f}" == "+9.948 -0.524"
    assert f"{1 / (1 - mu):g} {1 / (1 + mu):.2f}" == "10 0.53"
    text = prose()
    assert "\\frac{1 - \\mu^t}{1 - \\mu} \\quad \\text{or}" in text
    assert "\\text{or} \\quad |g| \\, \\frac{1 - (-\\mu)^t}{1 + \\mu}" in text
    assert "a steady gradient builds up to $10g$, an alternating one tends only to" in text
    assert f"$g/1.9 \\approx {1 / (1 + mu):.2f}g$ ({abs(alternating):.3f} after 50 steps)" in text
    assert "The steady gradient has built up to 9.948, near its limit of 10" in text
    assert "the alternating one has size 0.524, near $1/1.9$" in text


def test_running_averages() -> None:
    for beta, memory in ((0.9, 10), (0.999, 1000)):
        assert 1 / (1 - beta) == pytest.approx(memory)
        a = 0.0
        for _ in range(20):
            a = beta * a + (1 - beta) * 3.0
        assert a == pytest.approx((1 - beta**20) * 3.0)
    assert "10 for $\\beta = 0.9$, 1000 for $\\beta = 0.999$" in prose()


def test_first_steps_without_correction() -> None:
    assert f"{0.1 / math.sqrt(0.001):.2f}" == "3.16"
    assert 1 / math.sqrt(0.01) == pytest.approx(10)
    text = prose()
    assert "\\approx 3.16\\, \\eta" in text
    assert "its first step is $\\eta / \\sqrt{0.01} = 10\\eta$" in text


def test_momentum_swings_and_its_limit() -> None:
    """Heavy ball on one direction of curvature lam: z^2 - (1 + mu - lr lam) z + mu = 0. Its roots
    are complex, of size sqrt(mu), for lr lam between (1 - sqrt(mu))^2 and (1 + sqrt(mu))^2, most
    of the stable range (0, 2 (1 + mu)); and torch's momentum diverges just past that range."""
    mu = 0.9
    low, high = (1 - math.sqrt(mu)) ** 2, (1 + math.sqrt(mu)) ** 2
    assert low < 0.003
    assert high > 3.78
    assert 2 * (1 + mu) == pytest.approx(3.8)
    for h in (0.01, 0.019, 1.0, 1.9, 3.7):
        roots = torch.linalg.eigvals(torch.tensor([[1 + mu - h, -mu], [1.0, 0.0]]).double())
        assert torch.allclose(roots.abs(), torch.full((2,), math.sqrt(mu)).double())
    assert f"{math.sqrt(mu):.2f}" == "0.95"
    lam = 100.0

    def final(lr: float) -> float:
        w = torch.ones(1, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=lr, momentum=mu)
        for _ in range(400):
            optimizer.zero_grad()
            (lam * w**2 / 2).sum().backward()
            optimizer.step()
        return abs(w.item())

    limit = 2 * (1 + mu) / lam
    assert final(0.99 * limit) < 1e-3
    assert final(1.01 * limit) > 1e3
    assert (2 * (1 + mu)) / 2 == pytest.approx(1.9)  # "nearly twice SGD's limit"
    # the note's rule: torch's momentum on lam theta^2 / 2 obeys
    # theta_{t+1} = (1 + mu - lr lam) theta_t - mu theta_{t-1}
    lr = 0.013
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=mu)
    thetas = [1.0]
    for _ in range(30):
        optimizer.zero_grad()
        (lam * w**2 / 2).sum().backward()
        optimizer.step()
        thetas.append(w.item())
    for t in range(1, 30):
        rule = (1 + mu - lr * lam) * thetas[t] - mu * thetas[t - 1]
        assert thetas[t + 1] == pytest.approx(rule, rel=1e-9, abs=1e-12)
    text = prose()
    assert "\\theta_{t+1} = (1 + \\mu - \\eta\\lambda)\\,\\theta_t - \\mu\\,\\theta_{t-1}" in text
    assert (
        "at $1 + (1 + \\mu - \\eta\\lambda) + \\mu = 0$, or $\\eta\\lambda = 2(1 + \\mu)$" in text
    )
    assert "the swing shrinks by only $\\sqrt{\\mu} \\approx 0.95$ a step" in text
    assert "stable up to $\\eta = 2(1+\\mu)/\\lambda_{\\max}$, nearly twice SGD's limit" in text


@cache
def paths() -> dict[float, dict[str, torch.Tensor]]:
    return {
        kappa: {
            name: lesson.descend(make, START, partial(lesson.valley_loss, kappa=kappa), NUM_STEPS)
            for name, make in lesson.valley_makers(kappa).items()
        }
        for kappa in (KAPPA, 100 * KAPPA)
    }


def distance(kappa: float, name: str) -> float:
    return float(paths()[kappa][name][-1].norm())


def test_the_race() -> None:
    near = {name: distance(KAPPA, name) for name in ("SGD", "momentum", "RMSProp", "Adam")}
    far = {name: distance(100 * KAPPA, name) for name in near}
    assert [f"{near[n]:.3f}" for n in near] == ["1.322", "0.047", "0.044", "0.058"]
    assert [f"{far[n]:.3f}" for n in far] == ["8.831", "7.550", "0.044", "0.058"]
    assert round(near["SGD"] / near["momentum"]) == 28
    # the learning rates: SGD's limit is 2 / kappa
    makers = lesson.valley_makers(KAPPA)
    lrs = {n: partial_lr(makers[n]) for n in makers}
    assert lrs == pytest.approx({"SGD": 0.019, "momentum": 0.019, "RMSProp": 0.1, "Adam": 0.3})
    sgd, momentum = paths()[KAPPA]["SGD"], paths()[KAPPA]["momentum"]
    rmsprop, adam = paths()[KAPPA]["RMSProp"], paths()[KAPPA]["Adam"]
    # SGD's first steps land on alternate walls: theta2 times -0.9 a step
    assert torch.allclose(sgd[1:12, 1], -0.9 * sgd[:11, 1])
    # then it loses under 2% of the distance a step along the floor
    ratios = sgd[50:, 0] / sgd[49:-1, 0]
    assert torch.allclose(ratios, torch.full_like(ratios, 0.981))
    # momentum overshoots the minimum along the floor and swings back
    peak = int(momentum[:, 0].argmax())
    assert momentum[peak, 0] > 2
    assert momentum[-1, 0].abs() < 0.1
    assert peak < 50
    # across the valley momentum follows theta_{t+1} = -0.9 theta_{t-1}: a square wave
    assert torch.allclose(momentum[2:, 1], -0.9 * momentum[:-2, 1], rtol=1e-9, atol=1e-12)
    wave = [f"{v:.2f}" for v in momentum[:5, 1].tolist()]
    assert wave == ["1.00", "-0.90", "-0.90", "0.81", "0.81"]
    # RMSProp's first step (ten times its rate) takes theta2 from 1 to the floor
    assert abs(rmsprop[1, 1].item()) < 1e-8  # 0 but for epsilon
    # Adam swings across the floor in long waves while running along it
    assert adam[10:60, 1].abs().max() > 0.3
    assert (adam[1:, 1].sign() != adam[:-1, 1].sign()).sum() < 15  # long waves: few crossings
    # on the steeper valley the adaptive paths are the same but for epsilon
    for name in ("RMSProp", "Adam"):
        differ = (paths()[KAPPA][name] - paths()[100 * KAPPA][name]).abs().max().item()
        assert 0 < differ < 1e-9, name
    text = prose()
    assert "SGD and momentum get $1.9/\\kappa$" in text
    assert "get 0.1 and 0.3" in text
    assert "the steep direction's factor is $1 - 1.9 = -0.9$" in text
    assert "losing under 2% of the distance a step, and ends 1.322 from the minimum" in text
    assert "it ends 0.047 away, 28 times closer" in text
    assert "two steps on each wall (1, $-0.9$, $-0.9$, 0.81, 0.81, ...)" in text
    assert (
        "with $1 + \\mu - 1.9 = 0$ the note's rule becomes $\\theta_{t+1} = -0.9\\,\\theta_{t-1}$"
        in text
    )
    assert "takes $\\theta_2$ from 1 straight to the floor, and it ends 0.044 away" in text
    assert "swinging across it in long waves and ends 0.058 away" in text
    assert "barely move along the floor: 8.831 and 7.550 away" in text
    assert "their paths differ by at most $10^{-9}$, from $\\epsilon$ alone" in text
    assert "momentum ended 28 times closer than SGD" in text


def partial_lr(make: Maker) -> float:
    assert isinstance(make, partial)
    lr = make.keywords["lr"]
    assert isinstance(lr, float)
    return lr


@cache
def sizes() -> dict[str, list[float]]:
    ones = [1.0] * 1000
    return {
        "Adam": lesson.step_sizes(partial(torch.optim.Adam, lr=0.01), ones),
        "uncorrected": lesson.step_sizes(partial(HandAdam, lr=0.01, bias_correction=False), ones),
        "RMSProp": lesson.step_sizes(partial(torch.optim.RMSprop, lr=0.01), ones),
    }


def test_bias_correction() -> None:
    ratio = {name: [s / 0.01 for s in steps] for name, steps in sizes().items()}
    assert all(f"{r:.2f}" == "1.00" for r in ratio["Adam"])
    at = {name: [f"{r[t - 1]:.2f}" for t in (1, 2, 10, 100, 1000)] for name, r in ratio.items()}
    assert at["uncorrected"] == ["3.16", "4.25", "6.53", "3.24", "1.26"]
    assert at["RMSProp"] == ["10.00", "7.09", "3.23", "1.26", "1.00"]
    # the uncorrected steps match (1 - beta1^t) / sqrt(1 - beta2^t)
    for t in (1, 10, 1000):
        expected = (1 - 0.9**t) / math.sqrt(1 - 0.999**t)
        assert ratio["uncorrected"][t - 1] == pytest.approx(expected, rel=1e-6)
    text = prose()
    assert "Adam's steps are 1.00 times the learning rate from the first" in text
    assert "the first step is 3.16 times too long, the tenth 6.53 times, and the thousandth" in text
    assert "still 1.26 times, because $v$ remembers about 1000 steps" in text
    assert "RMSProp's first step is 10.00 times its rate" in text


def test_epsilon() -> None:
    zeros = [0.0] * 3
    assert lesson.step_sizes(partial(torch.optim.Adam), zeros) == [0.0, 0.0, 0.0]
    moved = lesson.step_sizes(partial(torch.optim.Adam, eps=0.0), zeros)
    assert all(math.isnan(m) for m in moved)
    assert "With $\\epsilon = 0$ each step is $0/0$: the weight becomes `nan`" in prose()


def test_a_zero_gradient_after_a_steady_one() -> None:
    gradients = [1.0] * 20 + [0.0] * 30
    makers: dict[str, Maker] = {
        "SGD": partial(torch.optim.SGD, lr=0.01),
        "momentum": partial(torch.optim.SGD, lr=0.01, momentum=0.9),
        "RMSProp": partial(torch.optim.RMSprop, lr=0.01),
        "Adam": partial(torch.optim.Adam, lr=0.01),
    }
    flat = {name: lesson.step_sizes(make, gradients)[20:] for name, make in makers.items()}
    assert sum(flat["SGD"]) == sum(flat["RMSProp"]) == 0
    assert all(s > 0 for s in flat["momentum"] + flat["Adam"])
    assert f"{sum(flat['momentum']):.4f} {sum(flat['Adam']):.4f}" == "0.7571 0.0958"
    # the momentum buffer after 20 steps of 1, fading by 0.9 a step
    b20 = (1 - 0.9**20) / 0.1
    assert sum(flat["momentum"]) == pytest.approx(0.01 * b20 * sum(0.9**k for k in range(1, 31)))
    assert sum(flat["momentum"][:10]) > 2 * sum(flat["momentum"][10:])  # most of it early
    text = prose()
    assert "SGD and RMSProp stop at once" in text
    assert "Momentum moves on all thirty steps, 0.7571 in all" in text
    assert "Adam moves 0.0958 as $\\hat{m}$ fades" in text


MakeOptimizer = Callable[[list[torch.Tensor]], torch.optim.Optimizer]


def one_step(
    make: MakeOptimizer, frozen: bool = False
) -> tuple[nn.Sequential, torch.optim.Optimizer]:
    """The page's state fence for one optimizer: a 128-unit network, one step."""
    X, y, _ = data()
    device = get_device()
    model = lesson.make_mlp(128).to(device)
    if frozen:
        model[2].requires_grad_(False)
    optimizer = make(list(model.parameters()))
    optimizer.zero_grad()
    F.binary_cross_entropy_with_logits(model(X.float().to(device)), y.float().to(device)).backward()
    optimizer.step()
    return model, optimizer


def test_what_each_one_remembers() -> None:
    bytes_per_parameter, state = {}, {}
    choices: dict[str, MakeOptimizer] = {
        "SGD": partial(torch.optim.SGD, lr=0.1),
        "momentum": partial(torch.optim.SGD, lr=0.1, momentum=0.9),
        "RMSProp": torch.optim.RMSprop,
        "Adam": torch.optim.Adam,
        "AdamW": torch.optim.AdamW,
    }
    averages = {}
    for name, make in choices.items():
        model, optimizer = one_step(make)
        params = list(model.parameters())
        grads = [p.grad for p in params if p.grad is not None]
        num = sum(p.numel() for p in params)
        assert num == 17025
        assert lesson.tensor_bytes(params) == 68100
        state[name] = lesson.state_bytes(optimizer)
        total = lesson.tensor_bytes(params + grads) + state[name]
        bytes_per_parameter[name] = f"{total / num:.2f}"
        if name != "SGD" and name != "momentum":  # one 4-byte step counter per tensor
            steps = [s["step"] for s in optimizer.state.values()]
            assert len(steps) == 6
            assert all(t.numel() == 1 and t.element_size() == 4 for t in steps)
            averages[name] = state[name] - lesson.tensor_bytes(steps)
    assert state == {
        "SGD": 0,
        "momentum": 68100,
        "RMSProp": 68124,
        "Adam": 136224,
        "AdamW": 136224,
    }
    assert bytes_per_parameter == {
        "SGD": "8.00",
        "momentum": "12.00",
        "RMSProp": "12.00",
        "Adam": "16.00",
        "AdamW": "16.00",
    }
    assert averages == {"RMSProp": 68100, "Adam": 136200, "AdamW": 136200}
    assert 1e9 * (4 + 4 + 8) / 1e9 == 16  # a billion float32 parameters with Adam: 16 GB
    text = prose()
    # "The bytes per parameter match the table": 8.00, 12.00, 12.00, 16.00 printed
    assert "The bytes per parameter match the table" in text
    for row in (
        "| SGD | none | 4 + 4 = 8 |",
        "| SGD with momentum | $b$ | 8 + 4 = 12 |",
        "| RMSProp | $s$ | 8 + 4 = 12 |",
        "| Adam, AdamW | $m$, $v$ | 8 + 8 = 16 |",
    ):
        assert row in text, row
    assert "one more copy of the weights, 68100 bytes" in text
    assert "plus a 4-byte `step` for each of the 6 tensors, 68124 bytes" in text
    assert "take 136200 bytes, 136224 with the step counters (AdamW's the same)" in text
    assert "A billion float32 parameters would take 16 GB with Adam" in text


def test_frozen_parameters_get_no_state() -> None:
    model, optimizer = one_step(torch.optim.Adam, frozen=True)
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert len(frozen) == 2
    assert all(p.grad is None for p in frozen)
    assert not any(p in optimizer.state for p in frozen)
    assert len(optimizer.state) == 4
    assert "optimizer skip it; most (not Adagrad) give it no state" in prose()
    model, optimizer = one_step(torch.optim.Adagrad, frozen=True)
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert all(p.grad is None for p in frozen)
    assert all(p in optimizer.state for p in frozen)  # Adagrad: state, though skipped


def test_our_optimizers_refuse_a_none_gradient() -> None:
    """The page: unlike torch.optim, ours refuse a parameter whose gradient is None."""
    used = torch.ones(2, requires_grad=True)
    unused = torch.ones(2, requires_grad=True)  # takes no part in the loss: its grad stays None
    for make in (
        partial(HandMomentum, lr=0.1, momentum=0.9),
        partial(HandRMSProp, lr=0.1),
        HandAdam,
        HandAdamW,
    ):
        optimizer = make([used, unused])
        optimizer.zero_grad()
        used.sum().backward()
        with pytest.raises(ValueError, match="shorter"):
            optimizer.step()
    torch.optim.Adam([used, unused]).step()  # torch.optim skips it
    assert (
        "Unlike `torch.optim`, which skips a parameter whose gradient is `None`, ours refuse one"
        in prose()
    )


@cache
def decay() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    scales = [0.01, 0.1, 1.0, 10.0, 100.0]
    plain = lesson.decay_by_scale(partial(torch.optim.Adam, lr=0.01), scales, 500)
    kept = {
        name: lesson.decay_by_scale(partial(cls, lr=0.01, weight_decay=0.1), scales, 500) / plain
        for name, cls in (("Adam", torch.optim.Adam), ("AdamW", torch.optim.AdamW))
    }
    return plain, kept


def test_adam_l2_against_adamw_decay() -> None:
    plain, kept = decay()
    assert torch.allclose(plain, plain[0].expand(5))
    assert f"{plain[0]:.3f}" == "0.982"
    assert f"{(1 - 0.01 * 0.1) ** 500:.3f}" == "0.606"
    assert all(f"{k:.3f}" == "0.606" for k in kept["AdamW"])
    adam = kept["Adam"]
    assert [f"{k:.3f}" for k in adam[2:]] == ["0.606", "0.951", "0.995"]
    assert all(abs(k) < 0.01 for k in adam[:2])  # "under 1% of those at 0.01 and 0.1"
    # at the start (w = 1) the L2 term 0.1 * w is as large as the gradient or larger there
    assert all(s <= 0.1 * 1.0 for s in (0.01, 0.1))
    # the L2 term's share of a step is about lr lam w / sqrt(v-hat), and sqrt(v-hat) ~ s
    for k, s in zip(adam[2:], (1.0, 10.0, 100.0), strict=True):
        assert k == pytest.approx((1 - 0.01 * 0.1 / s) ** 500, abs=0.002)
    # Adam's L2 term is what torch's Adam computes with weight_decay: the page's rule
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=0.01, weight_decay=0.1)
    (0 * w).sum().backward()
    optimizer.step()
    assert optimizer.state[w]["exp_avg"].item() == pytest.approx(0.1 * 0.1)
    text = prose()
    assert "Without decay every weight ends at 0.982, whatever its scale" in text
    assert "AdamW leaves 0.606 of each, $(1 - 0.01 \\times 0.1)^{500}$" in text
    assert "0.995 of the weight with gradients of 100 and 0.951 of the one at 10" in text
    assert "leaves under 1% of those at 0.01 and 0.1" in text
    assert "$\\lambda\\theta$ starts as large as the gradient or larger" in text
    assert "After 500 steps of `lr=0.01` and `weight_decay=0.1`" in text


def test_exercise_1_textbook_momentum() -> None:
    a = torch.tensor([-9.0, 1.0], dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    pytorch = torch.optim.SGD([a], lr=0.019, momentum=0.9)
    textbook = exercises.TextbookMomentum([b], lr=0.019, momentum=0.9)
    gaps, steps = [], []
    for step in range(100):
        if step == 50:
            pytorch.param_groups[0]["lr"] = textbook.lr = 0.019 / 2
        before = (a.detach().clone(), b.detach().clone())
        for theta, optimizer in ((a, pytorch), (b, textbook)):
            optimizer.zero_grad()
            lesson.valley_loss(theta, KAPPA).backward()
            optimizer.step()
        steps.append(((a - before[0]).norm().item(), (b - before[1]).norm().item()))
        gaps.append((a - b).norm().item())
    assert max(gaps[:50]) < 1e-14
    assert f"{max(gaps[50:]):.1e}" == "7.1e-02"
    # PyTorch's step right after the change is exactly half what it would have been
    again = torch.tensor([-9.0, 1.0], dtype=torch.float64, requires_grad=True)
    unchanged = torch.optim.SGD([again], lr=0.019, momentum=0.9)
    for _ in range(51):
        prev = again.detach().clone()
        unchanged.zero_grad()
        lesson.valley_loss(again, KAPPA).backward()
        unchanged.step()
    full = (again - prev).norm().item()
    assert steps[50][0] == pytest.approx(full / 2, rel=1e-12)
    assert steps[50][1] > 1.05 * full / 2  # the textbook's: not half, the old rate lingers
    text = page()
    assert "For 50 steps the two agree to float64 rounding, within $10^{-14}$" in text
    assert "they part by up to 0.071" in text
    assert "so its next step is exactly half what it would have been" in text


def test_exercise_2_a_turned_valley() -> None:
    angle = math.pi / 4
    start = (-10 / math.sqrt(2), -8 / math.sqrt(2))
    c, s = math.cos(angle), math.sin(angle)
    assert start == pytest.approx((c * -9 - s * 1, s * -9 + c * 1))  # (-9, 1), turned
    loss = partial(exercises.turned_valley_loss, kappa=KAPPA, angle=angle)
    turned = {
        name: lesson.descend(make, start, loss, NUM_STEPS)[-1].norm().item()
        for name, make in lesson.valley_makers(KAPPA).items()
    }
    for name in ("SGD", "momentum"):
        assert turned[name] == pytest.approx(distance(KAPPA, name), abs=1e-9)
    assert f"{turned['RMSProp']:.3f} {turned['Adam']:.3f}" == "1.966 1.392"
    assert turned["RMSProp"] > distance(KAPPA, "SGD")
    assert turned["Adam"] > distance(KAPPA, "SGD")
    text = page()
    assert "SGD and momentum end as far away as before, 1.322 and 0.047" in text
    assert "RMSProp and Adam end 1.966 and 1.392 away instead of 0.044 and 0.058" in text


def test_the_figure_states_its_numbers() -> None:
    losses = {n: lesson.valley_loss(p.T, KAPPA)[-1].item() for n, p in paths()[KAPPA].items()}
    assert [f"{v:.2g}" for v in losses.values()] == ["0.87", "0.0024", "0.00098", "0.0018"]


def test_what_the_page_quotes_from_lesson_2_4() -> None:
    """Lesson 2.4's sigmoid stack: weight gradients from 2.0e-02 at layer 8 to 3.6e-08 at layer 1
    (checked by that lesson's own test), a ratio above 100,000."""
    other = " ".join(
        (ROOT / "docs" / "module-2" / "role-of-activations.md").read_text(encoding="utf-8").split()
    )
    assert "from 2.0e-02 at layer 8 to 3.6e-08 at layer 1" in other
    assert 2.0e-02 / 3.6e-08 > 100_000
    assert "weight gradients spanned more than a factor of 100,000" in prose()
