"""Lesson 3.4: every number and claim the page states is what the snippets compute.

The gradient profiles come from one float32 backward pass, which a GPU rounds a little
differently: the page states them to two digits or as powers of ten, far from any rounding edge
(checked below with the margins). The training runs are short but chaotic where they jump (the
clipped run, batch normalization), so the page states those results rounded, and they are
checked here with margins measured on the CPU by nudging every starting weight by a relative
1e-6 (eight nudges each). Exact claims about PyTorch (what clip_grad_norm_ returns, defaults)
are checked exactly, on the CPU where they are about bits."""

import copy
import inspect
import itertools
import math
import statistics
from functools import cache
from pathlib import Path

import deeper_networks_and_backprop_challenges as lesson
import deeper_networks_and_backprop_challenges_exercises as exercises
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from course import flat_text
from deeper_networks_and_backprop_challenges import DeepNet, Run, deep_net
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from quiz import page_problems
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "deeper-networks-and-backprop-challenges.md"
LR, NUM_STEPS, MAX_NORM = 0.1, 100, 0.25  # as on the page
CPU = torch.device("cpu")
Profile = tuple[list[float], list[float]]  # per layer: norm of dL/dz, norm of dL/dW


def page() -> str:
    return flat_text(LESSON)


def prose() -> str:
    """The page without its quiz fences (whose numbers must also appear above them)."""
    text = page()
    return text[: text.index("## Check yourself")]


def quiz() -> str:
    text = page()
    return text[text.index("## Check yourself") :]


def power_of_ten(value: float) -> str:
    """How the page writes a value it rounds to a power of ten: 1.1e-12 -> 10^{-12}."""
    return f"10^{{{round(math.log10(value))}}}"


@cache
def data() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return make_moons(200, get_device())


def net(name: str, **options: str | bool | int | None) -> DeepNet:
    """The page's networks by name, each a fresh copy of its start."""
    activation, scale = {
        "sigmoid": (torch.sigmoid, 1.0),
        "ReLU": (torch.relu, 1.0),
        "ReLU, weights x1.2": (torch.relu, 1.2),
    }[name]
    return deep_net(activation, get_device(), scale=scale, **options)


@cache
def profile(name: str, norm: str | None = None, residual: bool = False) -> Profile:
    X, y = data()
    return lesson.layer_gradients(net(name, norm=norm, residual=residual), X, y)


@cache
def trained_models(norm: str | None = None, residual: bool = False) -> tuple[DeepNet, DeepNet, Run]:
    """A sigmoid network's start, the trained copy, and its run on the page's settings."""
    X, y = data()
    start = net("sigmoid", norm=norm, residual=residual)
    model = copy.deepcopy(start)
    run = lesson.train(model, X, y, LR, NUM_STEPS)
    return start, model, run


def trained(norm: str | None = None, residual: bool = False) -> tuple[Run, list[float]]:
    """A sigmoid network's run on the page's settings, and how far each layer moved."""
    start, model, run = trained_models(norm, residual)
    return run, lesson.relative_change(start, model)


@cache
def clip_runs() -> dict[str, Run]:
    X, y = data()
    return {
        "no clipping": lesson.train(net("ReLU, weights x1.2"), X, y, LR, NUM_STEPS),
        "clipped": lesson.train(net("ReLU, weights x1.2"), X, y, LR, NUM_STEPS, max_norm=MAX_NORM),
    }


def test_the_network_and_its_start() -> None:
    model = net("sigmoid")
    linears = model.linears()
    assert len(linears) == 21  # 20 hidden layers and the output
    assert [layer.weight.shape[0] for layer in linears] == [32] * 20 + [1]
    assert linears[0].weight.shape[1] == 2
    # Kaiming normal: std sqrt(2 / fan_in), zero biases
    weights = torch.cat([layer.weight.flatten() for layer in linears[1:-1]])
    assert weights.std().item() == pytest.approx(math.sqrt(2 / 32), rel=0.03)
    assert all(torch.equal(layer.bias, torch.zeros_like(layer.bias)) for layer in linears)
    # the same draw for every network, and x1.2 is exactly 1.2 times it
    for other in (net("ReLU"), net("sigmoid", norm="batch"), net("sigmoid", residual=True)):
        for a, b in zip(linears, other.linears(), strict=True):
            assert torch.equal(a.weight, b.weight)
    for a, b in zip(linears, net("ReLU, weights x1.2").linears(), strict=True):
        assert torch.allclose(b.weight, 1.2 * a.weight, rtol=1e-6, atol=0)
    # the residual network adds the identity path; the plain one does not
    X, _ = data()
    with torch.no_grad():
        plain = net("sigmoid").pre_activations(X)
        residual = net("sigmoid", residual=True).pre_activations(X)
    assert torch.equal(plain[0], residual[0])  # layer 1 changes the width: no identity path
    assert torch.allclose(residual[1], residual[0] + plain[1], rtol=1e-5, atol=1e-6)
    text = prose()
    assert "20 hidden layers of 32 units and an output layer, 21 linear layers in all" in text
    assert "weights only 20% too large" in text
    assert "`seed_everything(0)`: every network in this lesson starts from the same draw" in text


def test_the_arithmetic_of_the_math_section() -> None:
    assert power_of_ten(0.3**19) == "10^{-10}"
    assert f"{1.2**19:.0f}" == "32"
    assert f"{math.sqrt(2 / 16):.2f}" == "0.35"
    assert f"{0.7**2:.1f}" == "0.5"
    assert power_of_ten(0.7**19) == "10^{-3}"
    assert round(1.3**19, -1) == 150
    assert f"{math.sqrt(1 + 0.3**2):.2f}" == "1.04"
    assert f"{torch.finfo(torch.float32).max:.1e}" == "3.4e+38"
    assert power_of_ten(torch.finfo(torch.float32).eps) == "10^{-7}"
    text = prose()
    assert "Nineteen factors of 0.3 give $0.3^{19} \\approx 10^{-10}$" in text
    assert "nineteen of 1.2 give $1.2^{19} \\approx 32$" in text
    assert "its factor is at most $\\sqrt{2/16} \\approx 0.35$" in text
    assert "($0.7^2 \\approx 0.5$) and all but a thousandth of it over 20 layers" in text
    assert "($0.7^{19} \\approx 10^{-3}$, nineteen factors)" in text
    assert (
        "We measure from the last hidden layer, layer 20, down to layer 1: nineteen factors" in text
    )
    assert (
        "With one unit and factors of 0.3 it could explode instead, $1.3^{19} \\approx 150$" in text
    )
    assert "about $\\sqrt{1 + f_l^2}$ per layer, 1.04 for $f_l = 0.3$" in text
    assert "overflow float32 (about $3.4 \\times 10^{38}$)" in text
    assert "near 1, about $10^{-7}$ of it" in text


def test_vanishing_and_exploding_at_the_start() -> None:
    signals = {name: profile(name)[0] for name in ("sigmoid", "ReLU", "ReLU, weights x1.2")}
    factors = {name: lesson.factor_per_layer(s) for name, s in signals.items()}
    # stated to two digits; each is at least 0.001 from a rounding edge
    assert f"{factors['sigmoid']:.2f}" == "0.30"
    assert f"{factors['ReLU']:.2f}" == "0.93"
    assert f"{factors['ReLU, weights x1.2']:.2f}" == "1.12"
    for value in factors.values():
        assert abs(value * 100 - round(value * 100) - 0.5) > 0.1
    assert 1.15 < factors["ReLU, weights x1.2"] / factors["ReLU"] < 1.25  # "close to 1.2 times"
    # the signal at the logits: 0.035 for the sigmoid and ReLU stacks
    assert f"{signals['sigmoid'][20]:.3f}" == f"{signals['ReLU'][20]:.3f}" == "0.035"
    sigmoid = signals["sigmoid"]
    assert power_of_ten(sigmoid[0]) == "10^{-12}"
    assert 3e9 < sigmoid[19] / sigmoid[0] < 3e10  # "ten billion times weaker than at layer 20"
    assert power_of_ten(sigmoid[19]) == "10^{-2}"  # the quiz: "about 10^-2 at layer 20"
    assert factors["sigmoid"] < math.sqrt(2 / 16)  # below the ceiling
    explode = signals["ReLU, weights x1.2"]
    assert 8 < explode[0] / explode[19] < 10  # "about 9 times"
    assert f"{(factors['ReLU, weights x1.2'] - 1) * 100:.0f}" == "12"  # "12% a layer on average"
    # going down from layer 20 to layer 1 it shrinks at three layers (each step > 2% from even)
    steps = [explode[i] / explode[i + 1] for i in range(19)]
    assert sum(step < 1 for step in steps) == 3
    assert all(abs(step - 1) > 0.01 for step in steps)
    healthy = signals["ReLU"]
    assert 3.5 < healthy[19] / healthy[0] < 4.5  # "falls only about fourfold"
    # the weight gradients: the large weights' are 50 to 300 times the healthy ReLU's
    ratios = [
        big / healthy
        for big, healthy in zip(profile("ReLU, weights x1.2")[1], profile("ReLU")[1], strict=True)
    ]
    assert min(ratios) > 40
    assert max(ratios) < 320
    text = prose()
    assert "ten billion times smaller than at the twentieth, or nine times larger" in text
    assert "grows, on average by about 12% a layer, on its way down" in text
    assert (
        "it is 0.035 for the sigmoid and ReLU stacks alike. Going down, the sigmoid's signal"
        " shrinks by 0.30 per layer, close to its ceiling of 0.35, to about $10^{-12}$ at layer"
        " 1: ten billion times weaker than at layer 20" in text
    )
    assert "ReLU's falls only about fourfold over the 19 layers, a factor of 0.93" in text
    # lesson 3.3's figure for a wide Kaiming ReLU stack, and the heading the link names
    other = " ".join((LESSON.parent / "weight-initialization.md").read_text().split())
    assert "### Twenty layers, six rules" in other
    assert "Kaiming's ReLU stack measures 0.98 forward and 1.00 backward" in other
    assert "through 20 layers of 256 units" in other
    assert "(weight-initialization.md#twenty-layers-six-rules) measures 1.00 with 256" in text
    # lesson 2.4's measured factors per layer, which the introduction quotes
    activations = " ".join((ROOT / "docs/module-2/role-of-activations.md").read_text().split())
    assert "predicted 1.8, measured 1.8" in activations
    assert "predicted 2.4, measured 2.6" in activations
    assert "the signal shrank 7.2 times per layer on average" in activations
    assert "about sevenfold per sigmoid layer, and still 1.8-fold with tanh and 2.6-fold" in text
    assert "For ReLU, whose slopes do not depend on the scale, multiplying every weight" in text
    assert "the factor is 1.12, close to 1.2 times ReLU's" in text
    assert "the signal at layer 1 is about 9 times the one at layer 20" in text
    assert "12% a layer on average, though going down it dips at three layers" in text
    assert "makes every layer's weight gradient 50 to 300 times the healthy ReLU's" in text
    assert "$0.3^{19}$" in quiz()
    assert "about $10^{-2}$ at layer 20 to about $10^{-12}$" in quiz()


def test_the_relu_passes_a_scale_through() -> None:
    """ReLU(c u) = c ReLU(u) for c > 0: with zero biases, the large-weights stack's hidden z are
    exactly 1.2 to the power of the layer times the healthy stack's."""
    X, _ = data()
    with torch.no_grad():
        healthy = net("ReLU").pre_activations(X)
        large = net("ReLU, weights x1.2").pre_activations(X)
    for layer, (a, b) in enumerate(zip(healthy, large, strict=True), start=1):
        assert torch.allclose(b, 1.2**layer * a, rtol=1e-4, atol=1e-6 * 1.2**layer)


def test_the_sigmoid_network_does_not_learn() -> None:
    run, moved = trained()
    assert f"{run.losses[-1]:.4f}" == "0.6931" == f"{math.log(2):.4f}"
    assert all(abs(loss - math.log(2)) < 1e-3 for loss in run.losses[5:])
    # the first eight layers did not change by one bit (their largest update stays below a
    # fifth of half the gap between float32 numbers, so this holds on any device)
    assert moved[:8] == [0.0] * 8
    assert all(change > 0 for change in moved[8:])
    # in layers 9 to 11 only a handful of weights changed, all of them near 0
    start, model, _ = trained_models()
    for before, after in zip(start.linears()[8:11], model.linears()[8:11], strict=True):
        changed = before.weight != after.weight
        assert 1 <= changed.sum().item() <= 10
        assert before.weight[changed].abs().max().item() < 0.01
        assert before.weight.abs().median().item() > 0.1
    assert all(1e-12 <= change < 2e-4 for change in moved[8:20])  # "10^-12 to 10^-4"
    assert moved[20] > 1e-3  # "only the output layer moved by more than 0.1%"
    assert all(change < 1e-3 for change in moved[:20])
    X, _ = data()
    spread = lesson.spread_over_examples(net("sigmoid"), X)
    assert f"{spread[0]:.2f}" == "0.91"
    assert power_of_ten(spread[-1]) == "10^{-8}"
    text = prose()
    assert "The loss goes nowhere: 0.6931 is $\\ln 2$" in text
    assert "The first eight layers did not change at all, not by one bit" in text
    assert "Layers 9 to 20 moved by between $10^{-12}$ and $10^{-4}$ of their size" in text
    assert "in layers 9 to 11 only a handful of weights changed at all, ones so near 0" in text
    assert "only the output layer moved by more than 0.1%" in text
    assert "falls from 0.91 at layer 1 to about $10^{-8}$ at layer 20" in text
    assert "froze the first eight layers completely and held the loss at $\\ln 2$" in text


def test_the_cures() -> None:
    batch, residual = profile("sigmoid", norm="batch"), profile("sigmoid", residual=True)
    assert f"{lesson.factor_per_layer(batch[0]):.2f}" == "1.25"
    assert f"{lesson.factor_per_layer(residual[0]):.2f}" == "1.02"
    assert f"{batch[0][0] / batch[0][19]:.0f}" == "74"  # "grows 74 times from layer 20 to 1"
    assert f"{residual[0][0] / residual[0][19]:.1f}" == "1.5"  # "about 1.5 times as strong"
    explode = profile("ReLU, weights x1.2")[0]
    assert batch[0][0] / batch[0][19] > explode[0] / explode[19]  # "more than ... 9"
    # weight gradients at the start
    plain_w = profile("sigmoid")[1]
    assert round(math.log10(max(plain_w) / min(plain_w))) == 9  # "nine powers of ten"
    assert 0.15 < min(batch[1]) < 0.25  # "about 0.2 and 2"
    assert 1.5 < max(batch[1]) < 2.5
    assert 0.05 < min(residual[1]) < 0.07  # "about 0.06 and 0.4"
    assert 0.3 < max(residual[1]) < 0.45
    # training: the plain network stays at ln 2, both cured networks learn
    (batch_run, batch_moved), (res_run, res_moved) = trained("batch"), trained(residual=True)
    assert 0.075 < batch_run.losses[-1] < 0.095  # "below 0.1" (0.083 to 0.091 over nudges)
    assert f"{batch_run.losses[-1]:.1f}" == "0.1"  # as printed, to one digit
    assert 0.27 < res_run.losses[-1] < 0.31  # "about 0.3"
    assert f"{res_run.losses[-1]:.1f}" == "0.3"
    for moved in (batch_moved, res_moved):
        assert all(0.01 < change < 0.1 for change in moved[:20])  # "a few percent"
        assert moved[20] > 1  # "the output layer by more than its whole size"
    text = prose()
    assert "With residual connections the factor is 1.02" in text
    assert "the signal arrives at layer 1 about 1.5 times as strong" in text
    assert (
        "Batch normalization overshoots, to 1.25: its signal grows 74 times from layer 20 to"
        " layer 1, more than the exploding ReLU stack's 9" in text
    )
    assert "batch normalization has the loss below 0.1 and residual connections at about" in text
    assert "residual connections at about 0.3, where the plain network is still at" in text
    assert "which vary with the number of threads" in text
    assert "the plain network's weight gradients span nine powers of ten" in text
    assert "batch normalization's stay between about 0.2 and 2 at every layer" in text
    assert "held every layer's weight gradient between about 0.2 and 2" in text
    assert "started between about 0.2 and 2" in quiz()
    assert "the residual network's between about 0.06 and 0.4" in text
    assert "every layer of both cured networks moved by a few percent of its size" in text
    assert "the output layer by more than its whole size" in text
    assert "1.25" in quiz()
    assert "below 0.1 in 100 steps" in quiz()


def test_layer_norm_and_batch_norm_as_pytorch_builds_them() -> None:
    """The defaults the page states: eps 1e-5, scale 1 and shift 0 at the start; in training
    the batch's variance divides by N; and the output does not depend on the weights' scale."""
    batch_norm, layer_norm = nn.BatchNorm1d(32), nn.LayerNorm(32)
    for module in (batch_norm, layer_norm):
        assert module.eps == 1e-5
        assert torch.equal(module.weight, torch.ones(32))
        assert torch.equal(module.bias, torch.zeros(32))
    generator = torch.Generator().manual_seed(0)
    Z = torch.randn(200, 32, generator=generator, dtype=torch.float64)
    by_hand = (Z - Z.mean(dim=0)) / torch.sqrt(Z.var(dim=0, unbiased=False) + 1e-5)
    assert torch.allclose(batch_norm.double()(Z), by_hand, rtol=0, atol=1e-12)
    # multiply a layer's weights by c > 0: the normalized output is the same, up to eps
    linear = nn.Linear(32, 32).double()
    A = torch.rand(200, 32, generator=generator, dtype=torch.float64)
    before = batch_norm(linear(A))
    with torch.no_grad():
        linear.weight.mul_(7.0)
        linear.bias.mul_(7.0)
    after = batch_norm(linear(A))
    assert not torch.equal(after, before)  # eps makes it not exact ...
    assert torch.allclose(after, before, rtol=0, atol=1e-3)  # ... only close
    text = prose()
    assert "$\\epsilon = 10^{-5}$ (PyTorch's default)" in text
    assert "which start at 1 and 0" in text
    assert "the mean and variance (dividing by $N$)" in text


def test_the_residual_derivative_is_one_plus_the_factor() -> None:
    """d(x + w sigma(x) + b)/dx = 1 + w sigma'(x), by autograd in float64."""
    x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    w, b = 0.4, -0.2
    (grad,) = torch.autograd.grad(x + w * torch.sigmoid(x) + b, x)
    slope = torch.sigmoid(x) * (1 - torch.sigmoid(x))
    assert grad.item() == pytest.approx(1 + w * slope.item(), abs=1e-15)


def test_the_residual_terms_add_in_square() -> None:
    """In the residual sigmoid network, each block's own term, (df/dx)^T delta_out, is about 0.2
    of delta_out's length and on average at right angles to it, so the factor is
    sqrt(1 + 0.2^2) = 1.02, the one measured."""
    X, y = data()
    model = net("sigmoid", residual=True)
    Z_all = model.pre_activations(X)
    loss = F.binary_cross_entropy_with_logits(Z_all[-1], y)
    deltas = torch.autograd.grad(loss, Z_all[:-1])  # layers 1 to 20
    sizes, cosines = [], []
    for below, above in itertools.pairwise(deltas):  # layers 2 to 20 add their input
        own = below - above  # the block's own term
        sizes.append((own.norm() / above.norm()).item())
        cosines.append(F.cosine_similarity(own.flatten(), above.flatten(), dim=0).item())
    f = statistics.mean(sizes)
    assert 0.15 < f < 0.25  # "about 0.2"
    assert abs(statistics.mean(cosines)) < 0.05  # "averages about 0"
    assert f"{math.sqrt(1 + 0.2**2):.2f}" == "1.02"
    assert (
        f"{math.sqrt(1 + f**2):.2f}"
        == f"{lesson.factor_per_layer(profile('sigmoid', residual=True)[0]):.2f}"
    )
    text = prose()
    assert (
        "In this lesson's residual network $f$ is about 0.2, the cosine between the two terms"
        in text
    )
    assert "averages about 0, and $\\sqrt{1 + 0.2^2} \\approx 1.02$ is the factor" in text


def test_clip_grad_norm_as_its_source_says() -> None:
    """Return value, defaults and the factor, checked against the source and in float64."""
    signature = inspect.signature(nn.utils.clip_grad_norm_)
    assert signature.parameters["norm_type"].default == 2.0
    assert signature.parameters["error_if_nonfinite"].default is False
    source = inspect.getsource(torch.nn.utils.clip_grad)
    assert "max_norm / (total_norm + 1e-6)" in source
    assert "torch.clamp(clip_coef, max=1.0)" in source
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(5, 3, dtype=torch.float64, generator=generator) for _ in range(3)]
    for p in params:
        p.grad = 10 * torch.randn(p.shape, dtype=torch.float64, generator=generator)
    grads = [p.grad.clone() for p in params if p.grad is not None]
    norm = math.sqrt(sum((g**2).sum().item() for g in grads))
    total = nn.utils.clip_grad_norm_(params, max_norm=0.25)
    assert total.item() == pytest.approx(norm, rel=1e-14)  # the norm before clipping
    for p, g in zip(params, grads, strict=True):
        assert p.grad is not None
        assert torch.allclose(p.grad, g * 0.25 / (norm + 1e-6), rtol=1e-14, atol=0)
    # below the limit: left as it was, exactly
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    nn.utils.clip_grad_norm_(params, max_norm=10 * norm)
    assert all(torch.equal(p.grad, g) for p, g in zip(params, grads, strict=True))  # type: ignore[arg-type]
    # clip_grad_value_ returns None and clamps each entry
    assert nn.utils.clip_grad_value_(params, clip_value=1.0) is None
    for p, g in zip(params, grads, strict=True):
        assert torch.equal(p.grad, g.clamp(-1.0, 1.0))  # type: ignore[arg-type]


def test_one_clipped_step_on_the_page() -> None:
    X, y = data()
    model = net("ReLU, weights x1.2")
    F.binary_cross_entropy_with_logits(model(X), y).backward()
    before = lesson.gradients(model)
    by_hand = lesson.gradient_norm(model)
    total = nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM).item()
    assert total == pytest.approx(by_hand, rel=1e-5)
    assert f"{total:.2f}" == f"{by_hand:.2f}" == "40.59"
    after = lesson.gradients(model)
    factors = [(a.norm() / b.norm()).item() for a, b in zip(after, before, strict=True)]
    assert max(factors) - min(factors) < 1e-6 * max(factors)
    assert factors[0] == pytest.approx(MAX_NORM / (total + 1e-6), rel=1e-5)
    assert f"{lesson.gradient_norm(model):.4f}" == "0.2500"
    report = lesson.compare(after, before)
    assert "norm 0.2500, cosine 1.0000" in report
    # clip_grad_value_ from the same gradients
    for p, grad in zip(model.parameters(), before, strict=True):
        p.grad = grad.clone()
    nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
    after = lesson.gradients(model)
    factors = [(a.norm() / b.norm()).item() for a, b in zip(after, before, strict=True)]
    assert f"{min(factors):.0%}" == "29%"
    assert max(factors) == 1.0  # tensors with no entry above 1 are left whole
    for factor, grad in zip(factors, before, strict=True):
        assert (factor == 1.0) == bool((grad.abs() <= 1.0).all())
    # the 29% is the output weights', over half of whose entries were beyond 1
    assert factors.index(min(factors)) == len(before) - 2
    assert (before[-2].abs() > 1.0).float().mean().item() > 0.5
    assert 0.29 < sorted(factors)[1] < 0.99  # the other cut tensors, each its own factor
    assert f"{lesson.gradient_norm(model):.1f}" == "30.9"
    flat_after = torch.cat([a.flatten() for a in after])
    flat_before = torch.cat([b.flatten() for b in before])
    cosine = F.cosine_similarity(flat_after, flat_before, dim=0).item()
    assert f"{cosine:.3f}" == "0.927"
    assert f"{math.degrees(math.acos(cosine)):.0f}" == "22"
    text = prose()
    assert "returns the total norm *before* clipping, 40.59, the same as ours by hand" in text
    assert "with `norm_type=2.0` by default" in text
    assert "every gradient by $0.25 / (40.59 + 10^{-6})$, capped at 1" in text
    assert "so the total norm is now 0.2500 and the cosine 1.0000" in text
    assert "With the default `error_if_nonfinite=False`" in text
    assert "Each tensor shrank by its own factor: not at all where no entry was beyond 1" in text
    assert "to 29% of its norm for the output weights, over half of whose entries were" in text
    assert "The total norm is still 30.9" in text
    assert "The cosine of 0.927 means the gradient now points about 22 degrees away" in text
    for number in ("40.59", "0.927", "30.9"):
        assert number in quiz()


def test_training_with_and_without_clipping() -> None:
    runs = clip_runs()
    plain, clipped = runs["no clipping"], runs["clipped"]
    # three steps, then nan (the same over every nudge of the start)
    assert len(plain.losses) == 4
    assert math.isnan(plain.losses[-1])
    assert f"{plain.losses[0]:.2f}" == "2.59"
    assert f"{plain.losses[1]:.0f}" == "118"
    assert 1e9 <= plain.losses[2] < 1e12  # "billions"
    assert len(clipped.losses) == NUM_STEPS
    assert all(map(math.isfinite, clipped.losses))
    assert 0.13 < clipped.losses[-1] < 0.18  # "about 0.15" (0.145 to 0.164 over nudges)
    assert max(clipped.losses[30:]) < 0.4  # "small bumps": none above 0.4 after step 30
    assert sum(norm > MAX_NORM for norm in clipped.norms) == NUM_STEPS  # "on every step"
    assert 40 < clipped.norms[0] < 42  # "starts at about 41"
    later = clipped.norms[20:]
    assert 2 < statistics.median(later) < 4.5  # "around 3"
    assert max(later) > 1.5 * statistics.median(later)  # "with the odd jump"
    # a clipped step moves the weights by lr * max_norm = 0.025
    X, y = data()
    model = net("ReLU, weights x1.2")
    start = [p.detach().clone() for p in model.parameters()]
    lesson.train(model, X, y, LR, 1, max_norm=MAX_NORM)
    moved = torch.stack([(p - q).norm() for p, q in zip(model.parameters(), start, strict=True)])
    assert moved.norm().item() == pytest.approx(LR * MAX_NORM, rel=1e-4)
    text = prose()
    assert "Without clipping the loss jumps from 2.59 to 118, then to billions, then `nan`" in text
    assert "it falls, with small bumps, to about 0.15 after 100 steps" in text
    assert "Clipping acted on every step" in text
    assert "by $\\eta \\cdot 0.25 = 0.025$ per step (a hair less, for the $10^{-6}$)" in text
    assert "It starts at about 41, falls to around 3 within 20 steps" in text
    assert "diverge in three steps" in text


def test_the_clipping_figure_describes_its_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The alt text says at how many steps the norm was above the limit: every one."""
    monkeypatch.setattr(plt, "show", lambda: None)
    lesson.draw_clipping(clip_runs(), MAX_NORM)
    figure = plt.gcf()
    label = str(figure.get_label())
    plt.close(figure)
    assert "above the limit of 0.25 (a dash-dotted line) at every step." in label
    assert "Two panels" in label


def test_exercise_1_layer_norm() -> None:
    X, y = data()
    signals, weight_grads = profile("sigmoid", norm="layer")
    assert f"{lesson.factor_per_layer(signals):.2f}" == "0.40"
    assert f"{weight_grads[0]:.0e}" == "2e-09"
    run = lesson.train(net("sigmoid", norm="layer"), X, y, LR, NUM_STEPS)
    assert f"{run.losses[-1]:.4f}" == "0.6931"
    layer = exercises.spreads(net("sigmoid", norm="layer"), X, layer=20)
    batch = exercises.spreads(net("sigmoid", norm="batch"), X, layer=20)
    assert power_of_ten(layer[0]) == "10^{-7}"
    assert 0.9 < layer[1] < 1.1
    assert 0.9 < batch[0] < 1.1
    text = prose()
    assert "the factor rises from 0.30 to 0.40, the first layer's gradient is still about" in text
    assert "$2 \\times 10^{-9}$, and the loss stays at $\\ln 2$" in text
    assert "still about $10^{-7}$ at layer 20" in text
    assert "0.40" in quiz()


def test_exercise_2_depth() -> None:
    X, y = data()
    ratios = {}
    for depth in (5, 10, 15, 20, 25):
        for residual in (False, True):
            model = deep_net(torch.sigmoid, get_device(), depth=depth, residual=residual)
            signals, _ = lesson.layer_gradients(model, X, y)
            ratios[depth, residual] = signals[0] / signals[depth - 1]
    assert f"{ratios[5, False]:.0e}" == "7e-03"
    assert f"{ratios[25, False]:.0e}" == "4e-13"
    plain = [ratios[d, False] for d in (5, 10, 15, 20, 25)]
    assert all(b < a for a, b in itertools.pairwise(plain))
    per_layer = [(ratios[d, False]) ** (1 / (d - 1)) for d in (5, 10, 15, 20, 25)]
    assert all(0.25 < f < 0.35 for f in per_layer)  # "about 0.3 per layer"
    assert all(1 < ratios[d, True] < 2 for d in (5, 10, 15, 20, 25))
    text = prose()
    assert (
        "from about $7 \\times 10^{-3}$ at depth 5 to about $4 \\times 10^{-13}$ at depth 25"
        in (text)
    )
    assert "The residual network's ratio stays between 1 and 2 at every depth" in text
    assert "$4 \\times 10^{-13}$ at depth 25" in quiz()


def test_exercise_3_a_gradient_that_is_not_a_number() -> None:
    w = torch.ones(2, requires_grad=True)
    w.grad = torch.tensor([math.inf, 3.0])
    total = nn.utils.clip_grad_norm_([w], max_norm=1.0)
    assert math.isinf(total.item())
    assert math.isnan(w.grad[0].item())
    assert w.grad[1].item() == 0.0
    w.grad = torch.tensor([math.inf, 3.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([w], max_norm=1.0, error_if_nonfinite=True)
    # GradScaler skips optimizer.step() when it finds inf or nan gradients (its documentation)
    assert "skips the underlying ``optimizer.step()``" in inspect.getsource(torch.amp.GradScaler)
    text = prose()
    assert "the finite entry becomes 0, the infinite one `nan`" in text
    assert "With `error_if_nonfinite=True` it raises a `RuntimeError` instead" in text


def test_the_page_shows_what_the_snippet_runs() -> None:
    """The settings the prose names are the ones main() uses."""
    source = "".join(inspect.getsource(lesson.main).split())
    assert "lr,num_steps=0.1,100" in source
    assert "max_norm=0.25" in source
    assert "clip_value=1.0" in source
    assert '"ReLU,weightsx1.2":deep_net(torch.relu,device,scale=1.2)' in source
    text = prose()
    assert "`clip_grad_norm_` to a total norm of 0.25" in text
    assert "clipping each entry to $[-1, 1]$ instead" in text
    assert "after 100 steps" in text


def test_the_questions_pass_the_builds_checks() -> None:
    """The build refuses a page whose single-answer questions all have the answer in the same
    position, or any broken question."""
    assert page_problems(LESSON.read_text(encoding="utf-8"), LESSON.name) == []
