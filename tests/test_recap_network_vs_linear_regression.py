"""Lesson 2.7: every number the page states is what the snippets compute.

The network's numbers come from 500 steps of float32 training, whose last digits can differ
between machines, so the page states them rounded (to three decimals) and they are checked as
such; the line's converge to one answer, and are checked to the four decimals the page prints."""

import copy
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import linear_regression
import pytest
import recap_network_vs_linear_regression as lesson
import recap_network_vs_linear_regression_exercises as exercises
import torch
import torch.nn.functional as F
from course import flat_text
from from_linear_to_nonlinear import make_moons, train
from helpers import get_device, seed_everything
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "recap-network-vs-linear-regression.md"
SNIPPET = ROOT / "snippets" / "recap_network_vs_linear_regression.py"
EXERCISES = ROOT / "snippets" / "recap_network_vs_linear_regression_exercises.py"
# the lesson's settings, as its fit section sets them (checked in test_settings)
LR, LINE_STEPS, NET_STEPS, NUM_HIDDEN = 0.05, 200, 500, 64
Data = tuple[torch.Tensor, torch.Tensor]


def page() -> str:
    return flat_text(LESSON)


def source(path: Path) -> str:
    return " ".join(path.read_text(encoding="utf-8").split())


@cache
def data() -> dict[str, tuple[Data, Data]]:
    """name -> (training set, validation set), drawn as the page's data section draws them."""
    seed_everything(0)
    device = get_device()
    straight = linear_regression.make_data(100, device)
    wavy = lesson.make_wavy_data(100, device)
    straight_val = linear_regression.make_data(1000, device)
    wavy_val = lesson.make_wavy_data(1000, device)
    return {"straight": (straight, straight_val), "wavy": (wavy, wavy_val)}


@dataclass(frozen=True)
class Run:
    line: nn.Linear
    net: nn.Sequential
    line_losses: list[float]
    net_losses: list[float]


@cache
def fit(name: str) -> Run:
    (X, y), _ = data()[name]
    device = X.device
    line, net = lesson.make_line().to(device), lesson.make_net(NUM_HIDDEN, 0).to(device)
    line_losses = train(line, X, y, LR, LINE_STEPS, F.mse_loss)
    net_losses = train(net, X, y, LR, NET_STEPS, F.mse_loss)
    return Run(line, net, line_losses, net_losses)


@cache
def other_seeds() -> list[nn.Sequential]:
    (X, y), _ = data()["wavy"]
    nets = []
    for seed in (1, 2):
        nets.append(lesson.make_net(NUM_HIDDEN, seed).to(X.device))
        train(nets[-1], X, y, LR, NET_STEPS, F.mse_loss)
    return nets


def wavy() -> Data:
    return data()["wavy"][0]


def test_settings() -> None:
    """The constants above are the ones the page's code uses."""
    code = source(SNIPPET)
    assert "num_hidden, lr = 64, 0.05" in code
    assert 'num_epochs = {"line": 200, "net": 500}' in code
    text = page()
    assert "`nn.Sequential` with one input and 64 hidden ReLUs" in text
    assert "Both models get learning rate 0.05, the line 200 steps and the network 500" in text
    assert "both models train at 0.05" in text
    assert "| Done after | about 50 steps | 500 and more |" in text


def test_data() -> None:
    (X, y), (X_val, _) = data()["straight"]
    seed_everything(0)
    X12, y12 = linear_regression.make_data(num_points=100, device=get_device())
    assert torch.equal(X, X12)  # "the straight ones being lesson 1.2's very points"
    assert torch.equal(y, y12)
    assert len(X) == 100
    assert len(X_val) == 1000
    (Xw, yw), (Xw_val, _) = data()["wavy"]
    assert (len(Xw), len(Xw_val)) == (100, 1000)
    assert Xw.min().item() >= -2
    assert Xw.max().item() < 2
    noise = (yw - lesson.wavy_curve(Xw)).std().item()
    assert 0.15 < noise < 0.25  # drawn with standard deviation 0.2
    text = page()
    assert "plus noise of standard deviation 0.5" in text
    assert "$y = \\sin 2x + x/2$ plus noise of standard deviation 0.2" in text
    assert "We train on 100 points of each" in text
    assert "keep 1000 fresh points of each" in text


def test_parameter_counts() -> None:
    line, net = lesson.make_line(), lesson.make_net(NUM_HIDDEN, 0)
    assert sum(p.numel() for p in line.parameters()) == 2
    count = sum(p.numel() for p in net.parameters())
    assert count == 3 * NUM_HIDDEN + 1 == 193
    assert line.weight.item() == line.bias.item() == 0.0
    assert f"{float(math.factorial(NUM_HIDDEN)):.1e}" == "1.3e+89"
    text = page()
    assert "The line has 2 parameters, the network $3H + 1$: 193 for $H = 64$" in text
    assert "about $1.3 \\times 10^{89}$ for $H = 64$" in text
    assert "| Parameters | 2 | 193 |" in text


def test_fits_train_and_validation_losses() -> None:
    text = page()
    found = {}
    for name, truth in (("straight", lambda X: 2 * X + 1), ("wavy", lesson.wavy_curve)):
        (X, y), (X_val, y_val) = data()[name]
        run = fit(name)
        found[name] = {
            kind: (lesson.mse_on(f, X, y), lesson.mse_on(f, X_val, y_val))
            for kind, f in (("line", run.line), ("net", run.net), ("truth", truth))
        }
    s, w = found["straight"], found["wavy"]
    # the line converges: four decimals; the network: three ("about")
    assert f"the line trains to lesson 1.2's loss, {s['line'][0]:.4f}" in text
    _, _, losses12 = linear_regression.train_by_hand(*data()["straight"][0], 0.1, 100)
    assert f"{losses12[-1]:.4f}" == f"{s['line'][0]:.4f}"  # lesson 1.2's loss, indeed
    assert f"to about {s['net'][0]:.3f}, and higher on new ones, about {s['net'][1]:.3f}" in text
    assert f"against the line's {s['line'][1]:.4f} (the true line's: {s['truth'][1]:.4f})" in text
    assert s["net"][0] < s["line"][0]  # bent towards the noise: better on the training points
    assert s["net"][1] > s["line"][1]  # and worse on new ones
    assert f"On the wavy data the line stays at {w['line'][0]:.4f}" in text
    assert f"network gets down to about {w['net'][0]:.3f}" in text
    assert f"below even the true curve's {w['truth'][0]:.4f}" in text
    assert f"about {w['net'][1]:.3f} against the curve's {w['truth'][1]:.4f}" in text
    assert w["net"][0] < w["truth"][0]
    assert w["net"][1] > w["truth"][1]
    assert "Where the truth is a line, the network did not beat the line" in text
    # the summary
    assert f"on a wave it is stuck at {w['line'][0]:.4f}" in text


def test_loss_curves() -> None:
    text = page()
    settled = []
    for name in ("straight", "wavy"):
        run = fit(name)
        line, net = run.line_losses, run.net_losses
        # "From step 50 on, the line's loss does not change in its fourth decimal" (losses[i] is
        # the loss at step i + 1): on the straight data from step 50 exactly, earlier on the wavy
        settled.append(
            next(
                i
                for i in range(len(line))
                if all(f"{v:.4f}" == f"{line[-1]:.4f}" for v in line[i:])
            )
        )
        # "the network's is still falling at step 500"
        assert net[-1] < net[-2]
        assert net[399] - net[-1] > 1e-4
        # "In the first steps the network's loss falls faster than the line's"
        assert all(n < v for n, v in zip(net[1:10], line[1:10], strict=True))
    assert max(settled) == 49
    # the figure's alt text: on the straight data "the network's loss drops to near 0.2 within a
    # few steps, the line's within about 25"
    straight = fit("straight")
    assert straight.net_losses[3] < 0.22
    within = next(i for i, v in enumerate(straight.line_losses) if v < 0.22)
    assert 20 <= within <= 30
    wavy_run = fit("wavy")
    first_below = next(i for i, v in enumerate(wavy_run.net_losses) if v < wavy_run.line_losses[-1])
    assert first_below <= 2  # "below the line's final loss within 3 steps"
    assert "on the wavy data it is below the line's final loss within 3 steps" in text
    assert "From step 50 on, the line's loss does not change in its fourth decimal" in text


def test_zero_start() -> None:
    X, y = wavy()
    line, net = lesson.make_line().to(X.device), lesson.make_net(NUM_HIDDEN, 0).to(X.device)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    for model in (line, net):
        F.mse_loss(model(X), y).backward()
    error = (line(X) - y).detach()
    assert line.weight.grad is not None
    assert line.bias.grad is not None
    assert line.weight.grad.item() == pytest.approx(2 * (error * X).mean().item(), rel=1e-5)
    assert line.bias.grad.item() == pytest.approx(2 * error.mean().item(), rel=1e-4)
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads)
    W1, b1, W2, b2 = (g for g in grads if g is not None)
    assert bool((W1 == 0).all() and (b1 == 0).all() and (W2 == 0).all())
    assert b2.item() == pytest.approx(line.bias.grad.item(), rel=1e-5)  # "the line's dL/db"
    losses = train(net, X, y, LR, NET_STEPS, F.mse_loss)
    best_constant = y.var(correction=0).item()
    assert f"{losses[-1]:.4f}" == f"{best_constant:.4f}"
    text = page()
    assert f"the average of $y$: loss {best_constant:.4f}, worse than the line" in text
    assert best_constant > lesson.mse_on(fit("wavy").line, X, y)
    assert f"the network learns a constant (loss {best_constant:.4f} on the wavy data)" in text


def test_symmetric_start() -> None:
    X, y = wavy()
    net = lesson.make_net(NUM_HIDDEN, 0).to(X.device)
    lesson.symmetric_start(net)
    W1, b1, W2, b2 = net.parameters()
    assert bool((W1 == 0.5).all() and (b1 == 0.1).all() and (W2 == 0.1).all() and (b2 == 0).all())
    losses = train(net, X, y, LR, NET_STEPS, F.mse_loss)
    assert lesson.unit_spread(net) < 1e-6  # "still identical" (exactly 0 on the CPU)
    line_loss = lesson.mse_on(fit("wavy").line, X, y)
    assert losses[-1] < line_loss  # "beats the line's"
    text = page()
    assert "weight 0.5, bias 0.1, outgoing weight 0.1" in text
    assert f"Its loss, about {losses[-1]:.3f}, beats the line's" in text
    assert f"far from the random start's {fit('wavy').net_losses[-1]:.3f}" in text


def test_symmetric_units_stay_exactly_equal_on_the_cpu() -> None:
    (X, y), _ = data()["wavy"]
    cpu = torch.device("cpu")  # exact equality: one device, one order of operations
    net = lesson.make_net(NUM_HIDDEN, 0)
    lesson.symmetric_start(net)
    train(net, X.to(cpu), y.to(cpu), LR, NET_STEPS, F.mse_loss)
    assert lesson.unit_spread(net) == 0.0


def test_line_from_any_start() -> None:
    X, y = wavy()
    zero_start = fit("wavy").line
    w, b = zero_start.weight.item(), zero_start.bias.item()
    for seed in (1, 2):
        seed_everything(seed)
        line = nn.Linear(1, 1).to(X.device)
        assert line.weight.item() != 0
        assert line.bias.item() != 0
        train(line, X, y, LR, LINE_STEPS, F.mse_loss)
        assert (f"{line.weight.item():.4f}", f"{line.bias.item():.4f}") == (f"{w:.4f}", f"{b:.4f}")
    text = page()
    assert f"Both end at $w = {w:.4f}$, $b = {b:.4f}$, where the zero start ended too" in text


def test_seeds_disagree_outside_the_data() -> None:
    X, y = wavy()
    nets = [fit("wavy").net, *other_seeds()]
    losses = [f"{lesson.mse_on(net, X, y):.3f}" for net in nets]
    edges = torch.tensor([[-3.0], [3.0]], device=X.device)
    with torch.no_grad():
        at_edges = [net(edges).flatten().tolist() for net in nets]
    truth = lesson.wavy_curve(edges).flatten().tolist()
    assert f"{truth[1]:+.2f}" == "+1.22"
    assert truth[0] < 0 < truth[1]
    for left, right in at_edges:
        assert left > 0 > right  # "even about the sign"
        assert -0.95 < right < -0.65  # "about -0.9 to -0.7 at x = 3"
    text = page()
    assert f"differ in the third decimal ({', '.join(losses)})" in text
    assert len(set(losses)) == 3
    assert "about $-0.9$ to $-0.7$ at $x = 3$, where the curve is at $+1.22$" in text


def test_corners_outside_the_data() -> None:
    """Some corners may fall outside the data": the trained network bends beyond [-2, 2]
    (each unit's corner sits at x = -b1 / W1), then runs straight beyond the outermost corner."""
    for net in (fit("wavy").net, *other_seeds()):
        W1, b1, W2, _ = (p.detach().cpu() for p in net.parameters())
        corners = -b1 / W1[:, 0]
        outside = (corners.abs() > 2) & (corners.abs() < 3) & (W2[0].abs() > 1e-3)
        assert outside.sum().item() >= 3  # bends inside the plotted range, beyond the data
    text = page()
    assert (
        "Some corners may fall outside the data; beyond the outermost ones it is a straight" in text
    )
    assert "| Beyond the data | its line | more hinges, then straight |" in text
    assert "may still bend where no dot asked it to, then it runs straight on" in text
    # the seeds figure's alt text
    assert '"Outside it each still bends at corners no data placed there, then "' in (
        source(SNIPPET)
    )


def test_twin_and_the_hill_between() -> None:
    X, y = wavy()
    net = fit("wavy").net
    order = torch.randperm(NUM_HIDDEN, generator=torch.Generator().manual_seed(0))
    twin = lesson.permute_units(net, order.to(X.device))
    with torch.no_grad():  # the same function: the same output, up to float32 rounding
        assert (net(X) - twin(X)).abs().max().item() < 1e-5
    ts = torch.linspace(0, 1, 21).tolist()
    path = [lesson.mse_on(lesson.blend(net, twin, t), X, y) for t in ts]
    assert path[0] == pytest.approx(path[-1], rel=1e-5)
    assert max(path) == path[10]  # the hill peaks halfway
    assert f"{max(path):.1f}" == "1.4"  # the figure's alt text
    text = page()
    assert f"Network and twin score the same, about {path[0]:.3f}" in text
    assert (
        f"halfway between them the loss is about {path[10]:.2f}, {path[10] / path[0]:.0f} times"
        in (text)
    )
    # the line: convex, halfway below the average of the ends
    best, zero = fit("wavy").line, lesson.make_line().to(X.device)
    ends = [lesson.mse_on(m, X, y) for m in (best, zero)]
    halfway = lesson.mse_on(lesson.blend(best, zero, 0.5), X, y)
    assert halfway <= sum(ends) / 2
    assert f"and its zero start, the loss is {halfway:.4f}, below the average" in text


def test_exercise_1_a_network_without_activation() -> None:
    X, y = wavy()
    seed_everything(0)
    linear_net = nn.Sequential(nn.Linear(1, NUM_HIDDEN), nn.Linear(NUM_HIDDEN, 1)).to(X.device)
    assert sum(p.numel() for p in linear_net.parameters()) == 193
    losses = train(linear_net, X, y, 0.02, 500, F.mse_loss)
    W1, b1, W2, b2 = linear_net.parameters()
    w, b = (W2 @ W1).item(), (W2 @ b1 + b2).item()
    line = fit("wavy").line
    assert f"{losses[-1]:.4f}" == f"{lesson.mse_on(line, X, y):.4f}"
    assert (f"{w:.4f}", f"{b:.4f}") == (f"{line.weight.item():.4f}", f"{line.bias.item():.4f}")
    # "the ReLU, which switches off about half the units": of the network's (point, unit) pairs
    net = lesson.make_net(NUM_HIDDEN, 0).to(X.device)
    off = (net[0](X) <= 0).float().mean().item()
    assert 0.4 < off < 0.6
    assert "without the ReLU, which switches off about half the units" in page()
    # "at 0.05 its loss first leaps above 10 before it settles"
    seed_everything(0)
    at_005 = nn.Sequential(nn.Linear(1, NUM_HIDDEN), nn.Linear(NUM_HIDDEN, 1)).to(X.device)
    leaping = train(at_005, X, y, 0.05, 500, F.mse_loss)
    assert max(leaping) > 10
    assert leaping[-1] < 0.45
    assert "train(linear_net, X_wavy, y_wavy, 0.02, 500, F.mse_loss)" in source(EXERCISES)
    text = page()
    assert "We use a learning rate of 0.02" in text
    assert "this network's loss is steeper, and at 0.05 it first leaps above 10." in (text)
    assert f"the loss is the line's, {losses[-1]:.4f}: the same best line, $w = {w:.4f}$" in text
    assert f"$b = {b:.4f}$, reached by a longer road" in text
    assert "193 parameters, and the loss is the line's" in text


def test_exercise_2_flops_per_step() -> None:
    X, y = wavy()
    line_flops = exercises.flops_per_step(lesson.make_line().to(X.device), X, y)
    net_flops = exercises.flops_per_step(lesson.make_net(NUM_HIDDEN, 0).to(X.device), X, y)
    assert line_flops == (2 * 100 * 1 * 1, 2 * 100 * 1 * 1) == (200, 200)
    one_product = 2 * 100 * 1 * NUM_HIDDEN
    assert one_product == 12_800
    assert net_flops == (2 * one_product, 3 * one_product)
    line_total, net_total = sum(line_flops), sum(net_flops)
    assert (line_total, net_total) == (400, 64_000)
    assert net_total // line_total == 160
    text = page()
    assert "The line's forward pass is one product, $(100, 1)$ by $(1, 1)$: 200 FLOPs" in text
    assert "two products of 12,800 each, backward three" in text
    assert "That is 400 against 64,000, 160 times more work per step" in text
    assert "| Work per step | 400 FLOPs | 64,000 FLOPs |" in text
    assert "at 160 times the work per step" in text


def flat_loss(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """The model's MSE as a function of one float64 vector of all its parameters, on the CPU,
    written independently of the exercise's, and that vector at the model's values."""
    cpu = torch.device("cpu")
    model64 = copy.deepcopy(model).to(cpu, torch.float64)
    X64, y64 = X.to(cpu, torch.float64), y.to(cpu, torch.float64)
    names = [name for name, _ in model64.named_parameters()]
    shapes = [p.shape for p in model64.parameters()]

    def loss_of(theta: torch.Tensor) -> torch.Tensor:
        params, start = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            params[name] = theta[start : start + shape.numel()].view(shape)
            start += shape.numel()
        return F.mse_loss(torch.func.functional_call(model64, params, (X64,)), y64)

    theta = torch.cat([p.detach().flatten() for p in model64.parameters()])
    return loss_of, theta


@cache
def curvature_at_start() -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and eigenvectors of the network's Hessian at its start, on the wavy data."""
    X, y = wavy()
    loss_of, theta = flat_loss(lesson.make_net(NUM_HIDDEN, 0), X, y)
    H = torch.autograd.functional.hessian(loss_of, theta)
    assert isinstance(H, torch.Tensor)
    assert H.shape == (193, 193)
    assert torch.allclose(H, H.T)
    values, vectors = torch.linalg.eigh(H)
    return values, vectors


def test_exercise_3_the_line_limit() -> None:
    X, _ = wavy()
    y = wavy()[1]
    eig = exercises.hessian_eigenvalues(lesson.make_line(), X, y)
    # the line's Hessian in closed form, 2 [[mean x^2, mean x], [mean x, 1]] (lesson 1.4)
    x = X.cpu().double().flatten()
    closed = 2 * torch.tensor([[(x**2).mean(), x.mean()], [x.mean(), 1.0]], dtype=torch.float64)
    assert torch.allclose(eig, torch.linalg.eigvalsh(closed), rtol=1e-12)
    assert eig[0].item() > 0  # a bowl: convex
    limit = 2 / eig[-1].item()
    # "holds for the whole run": just below converges, just above diverges
    below = train(lesson.make_line().to(X.device), X, y, 0.95 * limit, 200, F.mse_loss)
    above = train(lesson.make_line().to(X.device), X, y, 1.05 * limit, 200, F.mse_loss)
    assert f"{below[-1]:.4f}" == f"{lesson.mse_on(fit('wavy').line, X, y):.4f}"
    assert above[-1] > 1e10
    text = page()
    assert f"so its limit, {limit:.4f}, holds for the whole run" in text
    assert f"| Largest stable rate | {limit:.2f}, by formula |" in text


def test_exercise_3_the_network_at_its_start() -> None:
    X, y = wavy()
    eig = exercises.hessian_eigenvalues(lesson.make_net(NUM_HIDDEN, 0), X, y)
    values, vectors = curvature_at_start()
    assert torch.allclose(eig, values, atol=1e-9)
    lambda_max, lambda_min = eig[-1].item(), eig[0].item()
    # the curvature along the extreme eigenvectors, by finite differences of the loss itself
    loss_of, theta = flat_loss(lesson.make_net(NUM_HIDDEN, 0), X, y)
    step = 1e-4
    for k, value in ((-1, lambda_max), (0, lambda_min)):
        v = vectors[:, k]
        second = (
            loss_of(theta + step * v) + loss_of(theta - step * v) - 2 * loss_of(theta)
        ) / step**2
        assert second.item() == pytest.approx(value, rel=1e-3)
    assert lambda_min < 0  # the loss curves downward: not convex
    limit = 2 / lambda_max
    text = page()
    assert f"at its start $\\lambda_{{\\max}} = {lambda_max:.2f}$, a limit of {limit:.4f}" in text
    assert f"The start also has $\\lambda_{{\\min}} = {lambda_min:.2f}$" in text
    assert f"a limit read off its start, {limit:.4f} here, only guides" in text
    assert f"| ≈ {limit:.2f} at the start, then moves |" in text
    # 0.05, below the limit, falls at every step; 0.1, past it, leaps; 0.2 overflows
    assert 0.05 < limit < 0.1
    at_005 = fit("wavy").net_losses
    assert all(b < a for a, b in itertools.pairwise(at_005))
    assert "At 0.05, below it, the loss falls at every step" in text
    net_01 = train(lesson.make_net(NUM_HIDDEN, 0).to(X.device), X, y, 0.1, 200, F.mse_loss)
    assert max(net_01) > 10
    assert net_01.index(max(net_01)) < 10  # "in the first steps"
    assert net_01[-1] < 0.1  # "before recovering"
    net_02 = train(lesson.make_net(NUM_HIDDEN, 0).to(X.device), X, y, 0.2, 200, F.mse_loss)
    assert math.inf in net_02
    assert math.isnan(net_02[-1])
    assert "the loss leaps above 10 in the first steps before recovering" in text
    assert "at 0.2 it overflows to `inf`, then `nan`" in text


def test_exercise_3_the_network_after_training() -> None:
    X, y = wavy()
    eig = exercises.hessian_eigenvalues(fit("wavy").net, X, y)
    lambda_max = eig[-1].item()
    assert 34 < lambda_max < 36  # "about 35" (float32 training: stated rounded)
    assert lambda_max > curvature_at_start()[0][-1].item() + 1  # "the limit has moved"
    flat = int((eig.abs() < 0.01).sum().item())
    assert 160 < flat < 193
    assert pytest.approx(1 / 2000) == 0.05 * 0.01  # one step removes eta * lambda
    text = page()
    assert "After training, $\\lambda_{\\max}$ is about 35: the limit has moved" in text
    assert "over 160 of the 193 curvatures are below 0.01 in size" in text
    assert "a step at 0.05 removes less than a two-thousandth of what is left" in text


def test_quick_check_learning_rate() -> None:
    """The question's line trains well at 0.5; the network at 0.5 does not train at all."""
    X, y = wavy()
    line_05 = train(lesson.make_line().to(X.device), X, y, 0.5, 200, F.mse_loss)
    assert f"{line_05[-1]:.4f}" == f"{lesson.mse_on(fit('wavy').line, X, y):.4f}"
    limit = 2 / curvature_at_start()[0][-1].item()
    assert limit < 0.5 / 8  # "far below 0.5"
    net_05 = train(lesson.make_net(NUM_HIDDEN, 0).to(X.device), X, y, 0.5, 50, F.mse_loss)
    assert not math.isfinite(net_05[-1])
    text = page()
    assert "The line trains well on the wavy data from zeros at learning rate 0.5" in text
    assert f"$2/\\lambda_{{\\max}}$ is {limit:.4f}, far below 0.5 (already 0.2 overflowed)" in text


def test_review_cross_entropy_against_mse() -> None:
    z = torch.tensor(-4.0, requires_grad=True)
    label = torch.tensor(1.0)
    p = torch.sigmoid(z)
    (grad_bce,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, label), z)
    (grad_mse,) = torch.autograd.grad((torch.sigmoid(z) - label) ** 2, z)
    # the formulas the answer uses
    assert grad_bce.item() == pytest.approx(p.item() - 1, rel=1e-6)
    q = p.item()
    assert grad_mse.item() == pytest.approx(2 * (q - 1) * q * (1 - q), rel=1e-5)
    text = page()
    assert f"$p = \\sigma(-4) = {q:.4f}$" in text
    assert f"$p - y = {grad_bce.item():.4f}$" in text
    ratio = grad_bce.item() / grad_mse.item()
    assert f"$2(p - y)\\,p\\,(1 - p) = {grad_mse.item():.4f}$, {ratio:.0f} times weaker" in text


def test_review_chain_rule() -> None:
    x, y_true = torch.tensor(2.0), torch.tensor(1.0)
    results = {}
    for b_start in (-0.5, -1.5):
        w, b, v = (torch.tensor(t, requires_grad=True) for t in (0.5, b_start, 3.0))
        y_hat = v * torch.relu(w * x + b)
        loss = (y_hat - y_true) ** 2
        grads = torch.autograd.grad(loss, [w, b, v])
        results[b_start] = (y_hat.item(), loss.item(), [g.item() for g in grads])
    assert results[-0.5] == (1.5, 0.25, [6.0, 3.0, 0.5])
    assert results[-1.5][:2] == (0.0, 1.0)
    assert all(g == 0 for g in results[-1.5][2])
    text = page()
    assert "$\\hat{y} = 1.5$, loss 0.25" in text
    assert "$\\partial L / \\partial \\hat{y} = 2(1.5 - 1) = 1$" in text
    assert "$\\partial L / \\partial v = 1 \\cdot h = 0.5$" in text
    assert "$\\partial L / \\partial h = 1 \\cdot v = 3$" in text
    assert "$\\partial L / \\partial b = 3$ and $\\partial L / \\partial w = 3x = 6$" in text
    assert (
        "the unit is off, $\\hat{y} = 0$, the loss is 1, and all three gradients are exactly 0"
        in (text)
    )


def test_review_batches_and_weight_decay() -> None:
    (X, y), _ = data()["straight"]
    dataset = torch.utils.data.TensorDataset(X, y)
    sizes = {}
    for drop_last in (False, True):
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=32,
            shuffle=True,
            drop_last=drop_last,
            generator=torch.Generator().manual_seed(0),
        )
        sizes[drop_last] = [len(X_batch) for X_batch, _ in loader]
    assert sizes == {False: [32, 32, 32, 4], True: [32, 32, 32]}
    assert math.ceil(100 / 32) == 4
    w = torch.tensor(1.0, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1, weight_decay=0.01)
    w.grad = torch.tensor(0.5)
    optimizer.step()
    assert f"{w.item():.4f}" == "0.9490"
    seed_everything(0)
    dropout = nn.Dropout(p=0.5)
    kept = dropout(torch.ones(1000))
    assert set(kept.tolist()) == {0.0, 2.0}  # zeroed, or scaled by 1 / (1 - 0.5)
    dropout.eval()
    assert torch.equal(dropout(torch.ones(8)), torch.ones(8))
    text = page()
    assert "$\\lceil 100 / 32 \\rceil = 4$ updates, on 32, 32, 32 and 4 points" in text
    assert "with `drop_last=True`, 3" in text
    # the epoch's loss: batch losses weighted by batch size, against their plain mean
    batch_losses = [0.20, 0.20, 0.20, 0.60]
    weighted = sum(size * loss for size, loss in zip(sizes[False], batch_losses, strict=True)) / 100
    plain = sum(batch_losses) / len(batch_losses)
    assert f"{weighted:.3f}" == "0.216"
    assert f"{plain:.2f}" == "0.30"
    assert sizes[False][0] // sizes[False][-1] == 8
    assert "losses are 0.20, 0.20, 0.20 and 0.60" in text
    assert "$(3 \\cdot 32 \\cdot 0.20 + 4 \\cdot 0.60) / 100 = 0.216$" in text
    assert (
        "The plain mean of the four batch losses, 0.30, counts each of the last 4 points 8 times"
        in (text)
    )
    assert "$w \\leftarrow 1 - 0.1\\,(0.5 + 0.01 \\cdot 1) = 0.9490$, against 0.95 without" in text
    assert "multiplies the survivors by $1 / (1 - 0.5) = 2$" in text


def test_worked_questions_are_answered_and_folded() -> None:
    review = LESSON.read_text(encoding="utf-8").split("### Worked questions", 1)[1]
    questions = review.count("**Question ")
    assert 4 <= questions <= 8
    assert review.count('\n??? success "Answer"\n') == questions
    numbers = [int(n) for n in re.findall(r"\*\*Question (\d+) ", review)]
    assert numbers == list(range(1, questions + 1))


def test_review_batch_backward_rules() -> None:
    """Question 5: lesson 2.3's rules for a whole batch agree with autograd in float64."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(200, 2, dtype=torch.float64, generator=gen)
    grad_Z1 = torch.randn(200, 16, dtype=torch.float64, generator=gen)
    W1 = torch.randn(2, 16, dtype=torch.float64, generator=gen, requires_grad=True)
    b1 = torch.randn(16, dtype=torch.float64, generator=gen, requires_grad=True)
    grad_W1, grad_b1 = torch.autograd.grad(X @ W1 + b1, [W1, b1], grad_Z1)
    rule_W1, rule_b1 = X.T @ grad_Z1, grad_Z1.sum(dim=0)
    assert rule_W1.shape == W1.shape == (2, 16)
    assert rule_b1.shape == b1.shape == (16,)
    assert (rule_W1 - grad_W1).abs().max().item() < 1e-12
    assert (rule_b1 - grad_b1).abs().max().item() < 1e-12
    assert 'rules = {"W1": X_batch.T @ grad_Z1, "b1": grad_Z1.sum(dim=0)}' in source(SNIPPET)
    text = page()
    assert "$X$ of shape $(200, 2)$, $W_1$ of shape $(2, 16)$, $b_1$ with 16 entries" in text
    assert "$\\bar{W}_1 = X^\\top \\bar{Z}_1$, $(2, 200) \\,@\\, (200, 16) \\to (2, 16)$" in text
    assert "$\\bar{b}_1$ sums the rows of $\\bar{Z}_1$: 16 entries" in text


def test_quick_check_dead_unit_and_frozen_layer() -> None:
    """The lesson 2.2 question: a 2 -> 4 -> 1 ReLU network on 200 points, unit 3 off for all."""
    cpu = torch.device("cpu")
    X, y = make_moons(200, cpu)
    seed_everything(0)
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    first, last = net[0], net[2]
    assert isinstance(first, nn.Linear)
    assert isinstance(last, nn.Linear)
    with torch.no_grad():
        first.weight[2] = torch.tensor([0.1, 0.1])
        first.bias[2] = -4.0  # unit 3 (index 2) off for every point
    assert bool((first(X)[:, 2] <= 0).all())
    F.binary_cross_entropy_with_logits(net(X), y).backward()
    assert first.weight.grad is not None  # a gradient, full of zeros, not None
    assert first.bias.grad is not None
    assert last.weight.grad is not None
    assert bool((first.weight.grad[2] == 0).all())
    assert first.bias.grad[2].item() == 0
    assert last.weight.grad[0, 2].item() == 0
    assert bool((first.weight.grad[[0, 1, 3]] != 0).any())
    # freezing the second layer still lets the gradient through to the first
    net.zero_grad(set_to_none=True)
    last.requires_grad_(False)
    F.binary_cross_entropy_with_logits(net(X), y).backward()
    assert last.weight.grad is None
    assert first.weight.grad is not None
    assert bool((first.weight.grad[0] != 0).any())
    text = page()
    assert "A 2 → 4 → 1 ReLU network is trained on 200 points" in text
    assert "Hidden unit 3 is off for all 200" in text


def test_quick_check_vanishing_signal() -> None:
    """The lesson 2.4 question: seven hidden layers, a sigmoid slope of at most 1/4."""
    z = torch.linspace(-10, 10, 2001, dtype=torch.float64)
    slope = torch.sigmoid(z) * (1 - torch.sigmoid(z))
    assert slope.max().item() == pytest.approx(0.25)
    assert 4**7 == 16384
    role = (ROOT / "snippets" / "role_of_activations.py").read_text(encoding="utf-8")
    assert "deep_sizes = [2] + [32] * 7 + [1]  # 8 layers of weights, 7 hidden" in role
    text = page()
    assert "a stack of seven hidden layers" in text
    assert "at most $(1/4)^7 = 1/16384$ from the slopes alone" in text
