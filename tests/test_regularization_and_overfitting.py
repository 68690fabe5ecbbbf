"""Lesson 2.6: every number and claim the page states is what the snippets compute.

The three long runs are float32 training that a GPU rounds differently, and the dropout run draws
its masks from the device's generator, so the page states their results rounded or as ranges;
those are checked here with margins that a different rounding or a different draw of the masks
stays within (measured on the CPU by nudging the start by 1e-7 and by redrawing the masks). The
float64 checks run on the CPU and are checked tightly."""

import copy
import inspect
import itertools
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path

import from_linear_to_nonlinear as lesson_2_1
import pytest
import regularization_and_overfitting as lesson
import regularization_and_overfitting_exercises as exercises
import torch
import torch.nn.functional as F
from course import flat_text
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from regularization_and_overfitting import MLP, Data, History
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "regularization-and-overfitting.md"
LR, NUM_STEPS, LAM, P = 0.1, 1000, 0.01, 0.5  # as on the page
CPU = torch.device("cpu")


def page() -> str:
    return flat_text(LESSON)


def prose() -> str:
    """The page without its quiz fences (whose numbers must also appear above them)."""
    text = page()
    return text[: text.index("## Check yourself")]


@cache
def lesson_data() -> tuple[Data, Data, Data, MLP]:
    """The page's data and start fences: the three sets and the shared start."""
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(2100, device, noise=0.35)
    generator = torch.Generator().manual_seed(0)
    train, val, test = lesson.split(X_all, y_all, [100, 1000, 1000], generator)
    start = MLP(width=128).to(device)
    return train, val, test, start


@cache
def small_start() -> MLP:
    """The float64 network of the page's checks fence, after the same random draws as there:
    the data, `start`, and the overfit run's copy (an MLP draws its weights before it loads)."""
    seed_everything(0)
    make_moons(2100, CPU, noise=0.35)
    MLP(width=128)
    MLP(width=128)
    return MLP(width=16).to(CPU, torch.float64)


def data64() -> Data:
    (X, y), _, _, _ = lesson_data()
    return X.to(CPU, torch.float64), y.to(CPU, torch.float64)


@cache
def runs() -> dict[str, tuple[MLP, History]]:
    """The three runs, in the page's order, with the dropout masks drawn after the page's
    dropout demonstration reseeded the generators."""
    train, val, _, start = lesson_data()
    results = {}
    model = lesson.copy_of(start)
    results["no cure"] = (model, lesson.train_and_validate(model, train, val, LR, NUM_STEPS))
    seed_everything(0)  # the page's dropout demonstration
    dropout = nn.Dropout(p=P)
    dropout(torch.full((8,), 3.0))
    dropout(torch.full((1_000_000,), 3.0))
    model = lesson.copy_of(start)
    history = lesson.train_and_validate(model, train, val, LR, NUM_STEPS, weight_decay=LAM)
    results["weight decay"] = (model, history)
    model = lesson.copy_of(start, p=P)
    results["dropout"] = (model, lesson.train_and_validate(model, train, val, LR, NUM_STEPS))
    for model, _ in results.values():
        model.eval()
    return results


def history(name: str) -> History:
    return runs()[name][1]


def column(values: list[tuple[float, float]], index: int) -> list[float]:
    return [row[index] for row in values]


def test_the_three_sets() -> None:
    (X, _), (X_val, _), (X_test, _), _ = lesson_data()
    assert (len(X), len(X_val), len(X_test)) == (100, 1000, 1000)
    # one shuffled draw, cut in three: no point in two sets
    everything = torch.cat([X, X_val, X_test]).cpu()
    assert len(everything.unique(dim=0)) == 2100
    # the default noise is 0.15 and ours 0.35
    assert inspect.signature(make_moons).parameters["noise"].default == 0.15
    # "precise to about a point": the standard error of the measured accuracy on 1000 points
    _, acc = history("no cure").val[-1]
    assert 0.009 < math.sqrt(acc * (1 - acc) / len(X_val)) < 0.012
    text = prose()
    assert "noise 0.35 instead of 0.15" in text
    assert "cuts into 100 to train on, 1000 to validate on and 1000 to test on" in text
    assert "2100 points" in text
    assert "precise to about a point" in text


def test_the_network() -> None:
    _, _, _, start = lesson_data()
    count = sum(p.numel() for p in start.parameters())
    assert count == 2 * 128 + 128 + 128 * 128 + 128 + 128 + 1 == 17025
    assert round(count / 100) == 170
    # nn.Dropout(0.0) returns its input untouched, and draws no random numbers
    x = torch.randn(5, 5)
    state = torch.get_rng_state()
    assert nn.Dropout(0.0)(x) is x
    assert torch.equal(torch.get_rng_state(), state)
    # copy_of gives the same parameters whatever p is
    for p in (0.0, P):
        copied = lesson.copy_of(start, p)
        for a, b in zip(copied.parameters(), start.parameters(), strict=True):
            assert torch.equal(a, b)
    text = page()
    assert "17,025 parameters" in text
    assert "+ 128 + 1 = 17025$ parameters, 170 per training point" in text
    assert "`nn.Dropout(0.0)` returns its input untouched" in text


def test_training_loop_settings() -> None:
    source = inspect.getsource(lesson.train_and_validate)
    assert "momentum=0.9" in source
    assert "step % 20 == 0" in source
    assert len(history("no cure").steps) == 51  # "the lowest of 51 measurements"
    assert history("no cure").steps[-1] == NUM_STEPS
    # evaluate leaves the mode as it found it, and measures in evaluation mode
    model = lesson.copy_of(lesson_data()[3], p=P)
    train, _, _, _ = lesson_data()
    model.train()
    first = lesson.evaluate(model, train)
    assert model.training
    assert lesson.evaluate(model, train) == first  # dropout off while measuring
    model.eval()
    lesson.evaluate(model, train)
    assert not model.training
    assert "the lowest of 51 measurements" in page()


def test_overfitting() -> None:
    overfit = history("no cure")
    train_loss, train_acc = overfit.train[-1]
    val_loss, val_acc = overfit.val[-1]
    assert train_acc >= 0.985  # "99% or more"
    assert 0.03 < train_loss < 0.04  # "about 0.035"
    assert 1.1 < val_loss < 1.35  # "about 1.2"
    assert 1.05 < val_loss - train_loss < 1.3  # "a gap of about 1.2"
    best = overfit.steps.index(overfit.best_step)
    assert overfit.best_step in (40, 60)  # "near step 40": 40 here, with 60 a close second
    assert 0.32 < overfit.val[best][0] < 0.345  # "about 0.33"
    # after step 40 the training loss keeps falling and the validation loss climbs
    losses = column(overfit.train, 0)
    val_losses = column(overfit.val, 0)
    assert losses[-1] < losses[best] / 5
    assert all(b < a for a, b in zip(losses[best:], losses[best + 5 :], strict=False))
    assert val_losses[-1] > 3 * val_losses[best]
    # by step 20 the two had already parted: the validation loss was lowest at step 40, not 20
    assert val_losses[1] - losses[1] > 0.1
    # "peaking near 89% and slipping to about 86%"
    val_accs = column(overfit.val, 1)
    assert 0.88 <= max(val_accs) < 0.895
    assert 0.85 <= val_acc < 0.865
    text = prose()
    assert (
        "gets 99% or more of its training points right, with a training loss of about 0.035" in text
    )
    assert "its validation loss is about 1.2: a generalization gap of about 1.2" in text
    assert (
        "The validation loss bottoms out at about 0.33 near step 40 (dotted line) and climbs from"
        " there, while the training loss keeps falling" in text
    )
    assert "peaking near 89% and slipping to about 86%" in text


def test_the_penalty_and_its_gradient() -> None:
    w = torch.tensor([0.5, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(lesson.l2_penalty([w], LAM), w)
    assert torch.allclose(grad, LAM * w.detach(), rtol=0, atol=1e-18)
    (grad,) = torch.autograd.grad(2 * lesson.l2_penalty([w], LAM), w)
    assert torch.allclose(grad, 2 * LAM * w.detach(), rtol=0, atol=1e-18)
    # weights and biases are the nn.Linear layers' parameters, split
    start = small_start()
    assert len(lesson.weights(start)) == len(lesson.biases(start)) == 3
    assert sum(p.numel() for p in lesson.weights(start) + lesson.biases(start)) == sum(
        p.numel() for p in start.parameters()
    )


# The page's rows: optimizer, its weight_decay; the penalty's lambda, on what.
ROWS = [
    ("SGD", LAM, LAM, "all"),
    ("SGD, momentum", LAM, LAM, "all"),
    ("SGD", LAM, 2 * LAM, "all"),
    ("SGD", 2 * LAM, 2 * LAM, "all"),
    ("SGD", LAM, LAM, "weights"),
    ("SGD, 2 groups", LAM, LAM, "weights"),
    ("Adam", LAM, LAM, "all"),
    ("AdamW", LAM, LAM, "all"),
]


@cache
def gaps() -> list[float]:
    return [lesson.largest_gap(small_start(), data64(), LR, *row) for row in ROWS]


def test_the_rows_are_the_pages() -> None:
    source = inspect.getsource(lesson.main)
    shown = "".join(source.split())
    for name, decay, penalty_lam, on in ROWS:
        written = [{LAM: "lam", 2 * LAM: "2*lam"}[value] for value in (decay, penalty_lam)]
        assert f'("{"".join(name.split())}",{written[0]},{written[1]},"{on}"),' in shown, name
    assert shown.count(',"all"),') + shown.count(',"weights"),') == len(ROWS)


def test_penalty_against_weight_decay() -> None:
    found = gaps()
    same = [0, 1, 3, 5, 6]  # the math says "the same"
    mismatches = [2, 4]  # "the third and fifth rows are deliberate mismatches"
    for index in same:
        assert found[index] < 1e-15, ROWS[index]  # "a few 1e-16 or better"
    for index in mismatches:
        assert 0.02 < found[index] < 0.05, ROWS[index]  # "about 0.03"
    assert ROWS[2][2] == 2 * LAM == 0.02  # lam sum w^2 is the penalty (2 lam / 2) sum w^2
    assert 0.5 < found[7] < 0.9  # AdamW: "about 0.7"
    # the penalty's run uses the same optimizer with weight_decay 0: AdamW without decay is
    # Adam, and two groups without decay are plain SGD, exactly
    for name, plain in (("AdamW", "Adam"), ("SGD, 2 groups", "SGD")):
        X, y = data64()
        models = [copy.deepcopy(small_start()) for _ in range(2)]
        optimizers = [
            lesson.make_optimizer(n, m, LR) for n, m in zip((name, plain), models, strict=True)
        ]
        for _ in range(5):
            for model, optimizer in zip(models, optimizers, strict=True):
                optimizer.zero_grad()
                F.binary_cross_entropy_with_logits(model(X), y).backward()
                optimizer.step()
        for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
            assert torch.equal(p, q), name
    text = prose()
    assert "agree to a few $10^{-16}$ or better at every step" in text
    assert "The mismatches part by about 0.03 in 50 steps" in text
    assert "the third and fifth rows are deliberate mismatches" in text
    assert "(penalty $\\lambda$ 0.02 in the table) needs `weight_decay=2λ`, here 0.02" in text
    assert "AdamW parts from it by about 0.7" in text
    for name in ("Adam", "AdamW"):
        optimizer = lesson.make_optimizer(name, small_start(), LR)
        assert optimizer.defaults["lr"] == pytest.approx(LR / 10)
    assert "so it gets a tenth of SGD's: 0.1 would be far too big" in text
    with pytest.raises(ValueError, match="unknown optimizer"):
        lesson.make_optimizer("SGDW", small_start(), LR)


def test_adam_and_adamw_defaults() -> None:
    """AdamW's weight_decay defaults to 0.01, Adam's to 0; where Adam has the flag,
    Adam(..., decoupled_weight_decay=True) is AdamW."""
    w = [torch.zeros(1, requires_grad=True)]
    assert torch.optim.AdamW(w).defaults["weight_decay"] == 0.01
    assert torch.optim.Adam(w).defaults["weight_decay"] == 0
    assert "AdamW's `weight_decay` is 0.01 and Adam's 0" in prose()
    assert "`Adam(..., decoupled_weight_decay=True)`" in prose()
    if "decoupled_weight_decay" not in inspect.signature(torch.optim.Adam).parameters:
        pytest.skip("this torch's Adam has no decoupled_weight_decay")
    X, y = data64()
    models = [copy.deepcopy(small_start()) for _ in range(2)]
    optimizers = [
        torch.optim.AdamW(models[0].parameters(), lr=0.01, weight_decay=0.1),
        torch.optim.Adam(
            models[1].parameters(), lr=0.01, weight_decay=0.1, decoupled_weight_decay=True
        ),
    ]
    for _ in range(5):
        for model, optimizer in zip(models, optimizers, strict=True):
            optimizer.zero_grad()
            F.binary_cross_entropy_with_logits(model(X), y).backward()
            optimizer.step()
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(p, q)


def test_momentum_piles_up() -> None:
    """The decay goes into the buffer: once it has filled, each step shrinks a weight with no
    loss gradient by about lr lam / (1 - mu), ten times plain SGD's; and with a steady gradient,
    momentum's steps build up to about ten times the learning rate."""
    lr, mu = LR, 0.9
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=mu, weight_decay=LAM)
    values = []
    for _ in range(150):
        optimizer.zero_grad()
        (0 * w).sum().backward()
        optimizer.step()
        values.append(w.item())
    shrink = [1 - b / a for a, b in itertools.pairwise(values[50:])]
    assert all(0.008 < x < 0.013 for x in shrink)  # "about 1% a step"
    assert lr * LAM == pytest.approx(0.001)  # "not 0.1%"
    assert lr * LAM / (1 - mu) == pytest.approx(10 * lr * LAM)
    # a steady gradient g: the step grows to about lr g / (1 - mu), as plain SGD at lr 1.0
    g = 0.4
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=mu)
    for _ in range(100):
        before = w.item()
        optimizer.zero_grad()
        (g * w).sum().backward()
        optimizer.step()
    assert (before - w.item()) / (lr * g) == pytest.approx(10, rel=1e-3)
    # lesson 2.1's plain rate
    assert "lr, num_epochs = 1.0, 500" in inspect.getsource(lesson_2_1.main)
    text = prose()
    assert "ten times plain SGD's $\\eta\\lambda$ at $\\mu = 0.9$" in text
    assert "momentum multiplies it by $1/(1 - \\mu)$: in our runs about 1% a step, not 0.1%" in text
    assert "build up to about $1/(1 - \\mu) = 10$ times the learning rate" in text
    assert "`lr=0.1` goes about as far as lesson 2.1's plain 1.0" in text


def test_what_the_optimizers_do_in_one_step() -> None:
    """The update rules the page writes down, against PyTorch, from w = 1.5 with gradient 0.4."""
    w0, g, lr, lam = 1.5, 0.4, 0.1, LAM

    def one_step(
        optimizer_class: Callable[..., torch.optim.Optimizer], steps: int = 1, **options: float
    ) -> float:
        w = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
        optimizer = optimizer_class([w], **options)
        for _ in range(steps):
            optimizer.zero_grad()
            (g * w).sum().backward()  # a loss whose gradient is g
            optimizer.step()
        return w.item()

    # SGD: (1 - lr lam) w - lr g
    assert one_step(torch.optim.SGD, lr=lr, weight_decay=lam) == pytest.approx(
        (1 - lr * lam) * w0 - lr * g, abs=1e-15
    )
    # momentum: the first step sets b = g + lam w; the second b = 0.9 b + g + lam w
    w1 = w0 - lr * (g + lam * w0)
    w2 = w1 - lr * (0.9 * (g + lam * w0) + g + lam * w1)
    got = one_step(torch.optim.SGD, steps=2, lr=lr, momentum=0.9, weight_decay=lam)
    assert got == pytest.approx(w2, abs=1e-15)
    # AdamW: (1 - lr lam) w - lr m/(sqrt(v) + eps), and m/sqrt(v) = g/|g| on the first step
    eps = torch.optim.Adam([torch.zeros(1, requires_grad=True)]).defaults["eps"]
    assert eps == 1e-8
    got = one_step(torch.optim.AdamW, lr=0.01, weight_decay=lam)
    assert got == pytest.approx((1 - 0.01 * lam) * w0 - 0.01 * g / (g + eps), abs=1e-15)
    # Adam's L2 term is divided like the rest: with a large gradient it hardly acts
    with_decay = one_step(torch.optim.Adam, lr=0.01, weight_decay=lam)
    without = one_step(torch.optim.Adam, lr=0.01)
    assert abs(with_decay - without) < 1e-9
    # "Scale every gradient by the same number and the step hardly changes"
    for scale in (1e-2, 1e2):
        w = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([w], lr=0.01)
        for step in range(5):
            optimizer.zero_grad()
            (scale * (g + 0.1 * step) * w).sum().backward()
            optimizer.step()
        w_ref = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
        reference = torch.optim.Adam([w_ref], lr=0.01)
        for step in range(5):
            reference.zero_grad()
            ((g + 0.1 * step) * w_ref).sum().backward()
            reference.step()
        assert abs(w.item() - w_ref.item()) < 1e-6
    assert "$\\epsilon = 10^{-8}$" in page()
    assert "$\\mu$ (mu, here 0.9)" in page()


def test_decay_alone() -> None:
    def alone(name: str, lam: float) -> float:
        return lesson.decay_alone(name, lam, LR, num_steps=100)

    sgd, momentum = alone("SGD", LAM), alone("SGD, momentum", LAM)
    adam = [alone("Adam", lam) for lam in (0.001, 0.1)]
    adamw = [alone("AdamW", lam) for lam in (0.001, 0.1)]
    assert pytest.approx(0.999) == 1 - LR * LAM
    assert sgd == pytest.approx(0.999**100, rel=1e-12)
    assert f"{sgd:.3f}" == "0.905"
    assert f"{momentum:.3f}" == "0.369"
    assert f"{adam[0]:.3f}" == f"{adam[1]:.3f}" == "0.224"
    assert abs(adam[0] - adam[1]) < 1e-4  # whatever lambda: Adam ignores the scale
    assert adamw[0] == pytest.approx((1 - 0.01 * 0.001) ** 100, rel=1e-12)
    assert adamw[1] == pytest.approx((1 - 0.01 * 0.1) ** 100, rel=1e-12)
    assert (f"{adamw[0]:.3f}", f"{adamw[1]:.3f}") == ("0.999", "0.905")
    # "a bit less than lr a step, since v-hat still remembers the larger gradients of earlier
    # steps": the last step is smaller than lr, and sqrt(v-hat) is larger than |g| now
    lr = LR / 10
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=lr, weight_decay=0.1)
    num_steps = 100
    for _ in range(num_steps):
        before = w.item()
        optimizer.zero_grad()
        (0 * w).sum().backward()
        optimizer.step()
    assert 0.4 * lr < before - w.item() < 0.9 * lr
    assert 1 - adam[1] < 100 * lr
    v_hat = optimizer.state[w]["exp_avg_sq"].item() / (1 - 0.999**num_steps)
    assert math.sqrt(v_hat) > 1.5 * 0.1 * before  # the gradient now is lam * w
    text = prose()
    assert "100 steps from 1, with $\\eta = 0.1$ ($\\eta = 0.01$ for Adam and AdamW)" in text
    assert (
        "Plain SGD shrinks it by $1 - \\eta\\lambda = 0.999$ a step, to $0.999^{100} \\approx"
        " 0.905$; with momentum the decay piles up in the buffer and leaves 0.369" in text
    )
    assert (
        "$\\lambda = 0.001$ and $0.1$ both leave it at 0.224, moved a bit less than $\\eta$ a step"
        in text
    )
    assert "$(1 - 10^{-5})^{100} \\approx 0.999$ and $(1 - 10^{-3})^{100} \\approx 0.905$" in text


def test_dropout_module() -> None:
    seed_everything(0)
    dropout = nn.Dropout(p=P)
    A = torch.full((8,), 3.0)
    assert set(dropout(A).tolist()) <= {0.0, 6.0}
    dropout.eval()
    assert torch.equal(dropout(A), A)
    dropout.train()
    many = dropout(torch.full((1_000_000,), 3.0))
    assert abs(many.mean().item() - 3.0) < 0.01
    assert abs((many == 0).float().mean().item() - 0.5) < 0.002
    assert list(dropout.parameters()) == []
    # no_grad does not switch dropout off
    with torch.no_grad():
        assert (dropout(torch.full((100,), 3.0)) == 0).any()
    text = prose()
    assert "each entry becomes 0 or $3.0 / (1 - 0.5) = 6.0$" in text
    assert "half are zeros and the mean stays within 0.01 of 3.0" in text


def test_the_cures() -> None:
    start = lesson_data()[3]
    overfit, decay, dropout = history("no cure"), history("weight decay"), history("dropout")
    gap = {name: h.val[-1][0] - h.train[-1][0] for name, h in runs_histories().items()}
    assert gap["weight decay"] < gap["no cure"] / 4  # "Both cures shrink the gap"
    assert gap["dropout"] < gap["no cure"] / 1.5
    assert 0.30 < decay.val[-1][0] < 0.32  # "about 0.31"
    assert 0.2 < decay.val[-1][0] / overfit.val[-1][0] < 0.3  # "a quarter"
    assert 0.875 <= decay.val[-1][1] < 0.89  # "about 88%"
    assert 0.18 < decay.train[-1][0] < 0.20  # "near 0.19"
    assert 0.55 < dropout.val[-1][0] < 0.7  # "near 0.6"
    assert 0.86 <= dropout.val[-1][1] < 0.88  # "about 87%"
    models = {name: model for name, (model, _) in runs().items()}
    norms = {name: lesson.weight_norm(model) for name, model in models.items()}
    assert f"{lesson.weight_norm(start):.1f}" == "9.5"
    assert 4.4 < norms["weight decay"] < 4.8  # "about 4.6, half of the start's"
    assert 16 < norms["no cure"] < 17.5  # "about 17"
    assert 14 < norms["dropout"] < 16  # "about 15"
    text = prose()
    assert "holds the validation loss at about 0.31, a quarter of the overfit network's" in text
    assert "with about 88% validation accuracy against 86%" in text
    assert "its training loss stays near 0.19" in text
    assert "Dropout ends near 0.6 and about 87%" in text
    assert "shrunk the weights to about 4.6, half of the start's 9.5" in text
    assert "grew to about 17, and dropout's to about 15" in text
    assert "$\\lambda = 0.01$ on every parameter (biases included" in text


def test_the_curves_of_the_cures() -> None:
    overfit, decay, dropout = history("no cure"), history("weight decay"), history("dropout")
    losses = {name: column(h.val, 0) for name, h in runs_histories().items()}
    steps = overfit.steps
    # all three fall to about 0.34 by step 40 (the third measurement)
    assert steps[2] == 40
    assert all(0.32 < values[2] < 0.36 for values in losses.values())
    # then: the overfit one climbs, weight decay's settles near 0.31
    assert losses["no cure"][-1] > 3 * losses["no cure"][2]
    settled = losses["weight decay"][steps.index(140) :]
    assert all(0.30 < value < 0.32 for value in settled)
    assert max(settled) - min(settled) < 0.01
    # dropout's dips to about 0.31 around steps 100 to 200, below the overfit network's best,
    # before rising slowly (the dip's depth and step depend on the masks: measured over redraws)
    dip = min(losses["dropout"])
    assert 0.295 < dip < 0.325
    assert 80 <= steps[losses["dropout"].index(dip)] <= 220
    assert dip < min(losses["no cure"]) - 0.01
    assert losses["dropout"][-1] > dip + 0.2
    assert losses["dropout"][-1] < losses["no cure"][-1] / 1.5
    # the accuracies stay within about a point of one another from step 60 until about step 300
    # (up to 1.3 points over redrawn masks)
    accs = [column(h.val, 1) for h in (overfit, decay, dropout)]
    for index in range(steps.index(60), steps.index(300) + 1):
        values = [acc[index] for acc in accs]
        assert max(values) - min(values) < 0.016, steps[index]
    assert decay.val[-1][1] - overfit.val[-1][1] > 0.02  # later, they part
    text = prose()
    assert "The three validation losses all fall to about 0.34 by step 40" in text
    assert (
        "weight decay's settles near 0.31, and dropout's dips to about 0.31 around steps 100 to"
        " 200, below the overfit network's best, before rising slowly" in text
    )
    assert (
        "The accuracies stay within about a point of one another from step 60 until about step 300"
        in text
    )


def test_the_cured_boundaries() -> None:
    """The stray class-1 training point at about (-0.4, 0.7): the overfit network and the
    dropout network put it on its own side, weight decay leaves it on the wrong side (the dropout
    network's logit there stayed above 0.9 over redrawn masks)."""
    (X, y), _, _, _ = lesson_data()
    index = int((X - torch.tensor([-0.4, 0.7], device=X.device)).norm(dim=1).argmin())
    assert y[index].item() == 1.0
    assert (X[index] - torch.tensor([-0.4, 0.7], device=X.device)).norm() < 0.05
    models = {name: model for name, (model, _) in runs().items()}
    with torch.no_grad():
        logit = {name: model(X[index : index + 1]).item() for name, model in models.items()}
    assert logit["no cure"] > 0
    assert logit["weight decay"] < 0
    assert logit["dropout"] > 0
    # weight decay leaves stray points on the wrong side: several training errors
    assert history("weight decay").train[-1][1] <= 0.95
    assert "dropout's still stretches one tongue up to a stray class-1 point at about" in prose()
    assert "$(-0.4, 0.7)$, a milder version of the overfit network's" in prose()


def runs_histories() -> dict[str, History]:
    return {name: h for name, (_, h) in runs().items()}


def test_gains_on_validation_and_test() -> None:
    _, val, test, _ = lesson_data()
    models = {name: model for name, (model, _) in runs().items()}
    scores = {
        name: (lesson.evaluate(m, val), lesson.evaluate(m, test)) for name, m in models.items()
    }
    (_, val_acc), (test_loss, test_acc) = scores["no cure"]
    for name in ("weight decay", "dropout"):  # "one to three points" on both sets
        assert 0.005 < scores[name][0][1] - val_acc < 0.035, name
        assert 0.005 < scores[name][1][1] - test_acc < 0.035, name
    for name, ((_, val_acc_of), (_, test_acc_of)) in scores.items():
        assert 0.005 < val_acc_of - test_acc_of < 0.025, name  # "a point or two lower"
    assert 0.83 <= test_acc < 0.845  # "about 84%"
    assert 0.855 <= scores["weight decay"][1][1] < 0.865  # "about 86%"
    assert 0.85 <= scores["dropout"][1][1] < 0.865  # "85 to 86%"
    assert 3.3 < test_loss / scores["weight decay"][1][0] < 4.7  # "about four times"
    text = prose()
    assert "All three score a point or two lower than on validation" in text
    assert "about 84% without a cure, about 86% with weight decay, 85 to 86% with dropout" in text
    assert "test loss is again about four times weight decay's" in text
    assert "both gained one to three points of accuracy on validation and test data" in text


def test_forgetting_eval() -> None:
    model, _ = runs()["dropout"]
    _, val, _, _ = lesson_data()
    X_val, y_val = val
    model.train()
    try:
        with torch.no_grad():
            logits = [model(X_val) for _ in range(5)]
    finally:
        model.eval()
    accs = [((z > 0).float() == y_val).float().mean().item() for z in logits]
    _, eval_acc = lesson.evaluate(model, val)
    largest = (logits[0] - logits[1]).abs().max().item()
    flips = ((logits[0] > 0) != (logits[1] > 0)).float().mean().item()
    assert 10 <= largest < 200  # "moves by tens"
    assert 0.01 < flips < 0.08  # "a few percent"
    assert len(set(accs)) > 1  # "each call reports another accuracy"
    assert all(abs(a - eval_acc) < 0.015 for a in accs)  # "within about a point"
    with torch.no_grad():
        assert torch.equal(model(X_val), model(X_val))  # evaluation mode: repeatable
    assert model(X_val).requires_grad  # eval() alone records a graph
    text = prose()
    assert (
        "a logit moves by tens between two calls, a few percent of the points change class" in text
    )
    assert "within about a point of the evaluation-mode number" in text


def test_exercise_1_early_stopping() -> None:
    train, val, test, start = lesson_data()
    overfit = history("no cure")
    early = lesson.copy_of(start)
    early.load_state_dict(overfit.best_state)
    # the saved parameters are those of step 40: training 40 steps again gives them
    again = lesson.copy_of(start)
    lesson.train_and_validate(again, train, val, LR, overfit.best_step)
    for a, b in zip(early.parameters(), again.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-6)
    (_, val_acc), (_, test_acc) = lesson.evaluate(early, val), lesson.evaluate(early, test)
    _, final_test = lesson.evaluate(runs()["no cure"][0], test)
    assert 0.87 <= val_acc < 0.885  # "about 88%"
    assert 0.845 <= test_acc < 0.86  # "about 85%"
    assert test_acc > final_test + 0.005
    assert val_acc > test_acc
    text = prose()
    assert "Stopping near step 40 spares the network its pockets: about 85% on the test set" in text
    assert "against about 84% at step 1000" in text
    assert "Its validation accuracy, about 88%, flatters" in text


def test_exercise_2_clipping() -> None:
    small, data, lr, lam = small_start(), data64(), LR, LAM
    by_penalty, norm_penalty = exercises.clipped_step(small, data, lr, lam, in_loss=True)
    by_decay, norm_decay = exercises.clipped_step(small, data, lr, lam, in_loss=False)
    assert norm_penalty > 0.1
    assert norm_decay > 0.1
    gap = max((a - b).abs().max().item() for a, b in zip(by_penalty, by_decay, strict=True))
    assert 3.4e-4 < gap < 3.6e-4  # "up to about 3.5e-4" (float64 on the CPU)
    # the two formulas, with clip_grad_norm_'s rule: times max_norm / (norm + 1e-6) if below 1
    X, y = data
    params = [p.detach() for p in small.parameters()]
    loss = F.binary_cross_entropy_with_logits(small(X), y)
    grads = list(torch.autograd.grad(loss, list(small.parameters())))

    def clip(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        norm = torch.stack([t.pow(2).sum() for t in tensors]).sum().sqrt().item()
        return [min(1.0, 0.1 / (norm + 1e-6)) * t for t in tensors]

    total = [g + lam * p for g, p in zip(grads, params, strict=True)]
    expected_penalty = [-lr * c for c in clip(total)]
    expected_decay = [-lr * (c + lam * p) for c, p in zip(clip(grads), params, strict=True)]
    for got, expected in ((by_penalty, expected_penalty), (by_decay, expected_decay)):
        for a, b in zip(got, expected, strict=True):
            assert (a - b).abs().max().item() < 1e-15
    text = prose()
    assert "Both norms are above 0.1, so clipping acts" in text
    assert "the steps differ, by up to about $3.5 \\times 10^{-4}$" in text
    assert "$0.1 / (\\text{norm} + 10^{-6})$ when that is below 1.)" in text


def test_exercise_3_which_units_get_a_gradient() -> None:
    train, _, _, start = lesson_data()
    X, y = train
    one_point = (X[:1], y[:1])
    seed_everything(0)
    model = lesson.copy_of(start, P)
    with_dropout_one = exercises.units_without_gradient(model, one_point)
    with_dropout_all = exercises.units_without_gradient(model, train)
    plain = lesson.copy_of(start)
    without_one = exercises.units_without_gradient(plain, one_point)
    without_all = exercises.units_without_gradient(plain, train)
    with torch.no_grad():
        Z1 = start.hidden1(X)
    off_for_point = int((Z1[0] <= 0).sum().item())
    dead = int((Z1 <= 0).all(dim=0).sum().item())
    assert without_one == off_for_point == 61
    assert without_all == dead == 9
    # "about half of the other 67": a binomial draw, 33.5 on average
    assert 128 - 61 == 67
    assert 15 <= with_dropout_one - 61 <= 52
    assert 9 <= with_dropout_all <= 11  # "few if any"
    # "fewer than one on average": a live unit joins them only if dropped on every point where
    # it is on, with chance 1/2 to the power of that number of points
    on_points = (Z1 > 0).sum(dim=0)
    expected = (0.5 ** on_points[on_points > 0].double()).sum().item()
    assert expected < 1
    # weight_decay still moves a weight whose gradient is exactly 0
    w = torch.ones(2, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=LR, weight_decay=LAM)
    (0 * w).sum().backward()
    optimizer.step()
    assert torch.allclose(w.detach(), torch.full((2,), 1 - LR * LAM))
    text = prose()
    assert "(61 of 128 units) or dropout drops it (about half of the other 67)" in text
    assert "On 100 points, 9 units get none without dropout" in text
    assert "Dropout adds few if any, fewer than one on average" in text


def test_mean_loss_scaling() -> None:
    """ "Summed, its gradient would be N times larger"."""
    (X, y), _, _, _ = lesson_data()
    model = copy.deepcopy(small_start()).to(CPU, torch.float64)
    X64, y64 = X.to(CPU, torch.float64), y.to(CPU, torch.float64)
    params = list(model.parameters())
    mean = torch.autograd.grad(F.binary_cross_entropy_with_logits(model(X64), y64), params)
    total = torch.autograd.grad(
        F.binary_cross_entropy_with_logits(model(X64), y64, reduction="sum"), params
    )
    for m, t in zip(mean, total, strict=True):
        assert torch.allclose(t, len(X64) * m, rtol=1e-12, atol=1e-15)
    assert "its gradient would be $N$ times larger" in prose()
