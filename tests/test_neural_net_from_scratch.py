"""Lesson 2.3: every number the page states is what the snippets compute, and the hand-written
backward pass is right (against autograd and against finite differences)."""

import math
from fractions import Fraction
from functools import cache
from pathlib import Path

import neural_net_from_scratch as lesson
import neural_net_from_scratch_exercises as exercises
import pytest
import torch
import torch.nn.functional as F
from course import flat_text
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from neural_net_from_scratch import Params

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "neural-net-from-scratch.md"
LR, NUM_EPOCHS, NUM_HIDDEN = 0.5, 2000, 16  # as in the lesson's train-run section
CPU = torch.device("cpu")
EPS64 = torch.finfo(torch.float64).eps


def page() -> str:
    return flat_text(LESSON)


def data() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return make_moons(200, get_device())


def init() -> Params:
    return lesson.init_params(2, NUM_HIDDEN, torch.Generator().manual_seed(0))


def data64() -> tuple[torch.Tensor, torch.Tensor, Params]:
    X, y = data()
    return (
        X.to(CPU, torch.float64),
        y.to(CPU, torch.float64),
        lesson.convert(init(), CPU, torch.float64),
    )


def largest_differences(by_hand: Params, reference: Params) -> dict[str, tuple[float, float]]:
    """As print_differences computes them: per parameter, the largest absolute difference and the
    largest relative one (0 where the two entries are equal)."""
    result = {}
    for name, hand, ref in zip(Params._fields, by_hand, reference, strict=True):
        diff = (hand - ref).abs()
        relative = torch.where(diff == 0, 0.0, diff / ref.abs())
        result[name] = (diff.max().item(), relative.max().item())
    return result


def dead(X: torch.Tensor, params: Params) -> torch.Tensor:
    """(H,) booleans: the hidden units that are off (pre-activation <= 0) for every point."""
    Z1, _, _ = lesson.forward(X, params)
    return (Z1 <= 0).all(dim=0)


@cache
def trained_on_device() -> tuple[Params, Params, list[float]]:
    """The lesson's training run: (start, trained parameters, losses), float32 on the device."""
    X, y = data()
    start = lesson.convert(init(), X.device, torch.float32)
    trained, losses = lesson.train_by_hand(X, y, start, LR, NUM_EPOCHS)
    return start, trained, losses


def test_parameters_and_shapes() -> None:
    params = init()
    assert [tuple(p.shape) for p in params] == [(2, 16), (16,), (16, 1), (1,)]
    assert sum(p.numel() for p in params) == 65
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in params)
    # drawn as nn.Linear draws: uniform within 1/sqrt(n_in), biases included
    for p, n_in in zip(params, (2, 2, 16, 16), strict=True):
        assert p.abs().max().item() < 1 / math.sqrt(n_in)
    assert params.b1.abs().min().item() > 0  # random biases, not zeros
    layer = torch.nn.Linear(2, 16)
    assert tuple(layer.weight.shape) == (16, 2)  # (out, in), as the page and quiz say
    assert layer.weight.abs().max().item() < 1 / math.sqrt(2)
    X, y = data()
    Z1, A1, logits = lesson.forward(X, lesson.convert(params, X.device, torch.float32))
    assert tuple(Z1.shape) == tuple(A1.shape) == (200, 16)
    assert tuple(logits.shape) == (200, 1)
    assert logits.abs().max().item() < 0.13
    assert int(y.sum().item()) == 100  # "half of them in each class", "exactly 100 points of each"
    text = page()
    assert "$2 \\times 16 + 16 + 16 + 1 = 65$ parameters" in text
    assert "the logits are all within 0.13 of zero" in text


def test_the_stable_loss() -> None:
    # naive, stable and PyTorch's loss on the demonstration's float32 cases
    def three(z: float, label: float) -> tuple[float, float, float]:
        Z, Y = torch.tensor([[z]]), torch.tensor([[label]])
        return (
            lesson.bce_naive(Z, Y).item(),
            lesson.bce_with_logits(Z, Y).item(),
            F.binary_cross_entropy_with_logits(Z, Y).item(),
        )

    naive, stable, pytorch = three(2.0, 0.0)
    assert naive == pytest.approx(stable, rel=1e-6)
    assert stable == pytest.approx(pytorch, rel=1e-6)
    naive, stable, pytorch = three(20.0, 0.0)
    assert naive == math.inf
    assert stable == pytorch == pytest.approx(20.0)
    naive, stable, pytorch = three(20.0, 1.0)
    assert math.isnan(naive)
    assert stable == 0.0  # 20 + 2e-9 rounds to 20 in float32
    assert f"{pytorch:.4g}" == "2.061e-09"
    assert pytorch == pytest.approx(math.log1p(math.exp(-20)), rel=1e-6)
    naive, stable, pytorch = three(-120.0, 1.0)
    assert naive == math.inf
    assert stable == pytorch == pytest.approx(120.0)
    # the stable form equals the definition wherever the definition can be computed (float64)
    z = torch.linspace(-30, 30, 601, dtype=torch.float64)[:, None]
    for label in (0.0, 1.0):
        Y = torch.full_like(z, label)
        per_point = torch.log(1 + torch.exp(z)) - Y * z
        for i in range(0, 601, 50):
            ours = lesson.bce_with_logits(z[i : i + 1], Y[i : i + 1]).item()
            assert ours == pytest.approx(per_point[i].item(), rel=1e-12, abs=1e-15)
    # the thresholds the math section states
    assert torch.exp(torch.tensor(88.7)).isfinite()
    assert torch.exp(torch.tensor(88.75)).isinf()
    assert torch.sigmoid(torch.tensor(16.0)).item() < 1.0
    assert torch.sigmoid(torch.tensor(17.0)).item() == 1.0
    assert torch.sigmoid(torch.tensor(36.0, dtype=torch.float64)).item() < 1.0
    assert torch.sigmoid(torch.tensor(37.0, dtype=torch.float64)).item() == 1.0
    # "an infinite loss and a gradient of nan"
    Z = torch.tensor([[20.0]], requires_grad=True)
    lesson.bce_naive(Z, torch.zeros(1, 1)).backward()
    assert Z.grad is not None
    assert math.isnan(Z.grad.item())
    # our network at the start
    X, y = data()
    _, _, logits = lesson.forward(X, lesson.convert(init(), X.device, torch.float32))
    start = lesson.bce_with_logits(logits, y).item()
    assert f"{start:.4f}" == f"{F.binary_cross_entropy_with_logits(logits, y).item():.4f}"
    text = page()
    assert "in float32 once $z$ is above about 88.7" in text
    assert "from about $z = 17$ on (in float64, from about $z = 37$)" in text
    assert "In float32, $\\sigma(z)$ rounds to exactly 1 from about $z = 17$ on" in text
    assert "\\log(1 + e^{-20}) \\approx 2 \\times 10^{-9}" in text
    assert f"the loss starts at {start:.4f}, close to $\\log 2 \\approx {math.log(2):.4f}$" in text


def test_relu_and_the_loss_at_their_corners() -> None:
    Z = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    torch.relu(Z).sum().backward()
    assert Z.grad is not None
    assert Z.grad.tolist() == [0.0, 0.0, 1.0] == (Z > 0).float().tolist()
    z = torch.zeros(1, 1, requires_grad=True)
    lesson.bce_with_logits(z, torch.ones(1, 1)).backward()
    assert z.grad is not None
    # the slope of max(z, 0) at 0 is a convention that PyTorch versions have changed: 0 or 1
    assert z.grad.item() in (-1.0, 0.0)
    u = torch.zeros((), requires_grad=True)
    u.abs().backward()
    assert u.grad is not None
    assert u.grad.item() == 0.0  # |z| at its corner
    u = torch.zeros((), requires_grad=True)
    u.clamp(min=0).backward()
    assert u.grad is not None
    assert u.grad.item() in (0.0, 1.0)  # max(z, 0) at its corner: version-dependent
    truth = torch.sigmoid(torch.zeros(())).item() - 1
    assert truth == -0.5
    # PyTorch's own loss gets the corner right
    z = torch.zeros(1, 1, requires_grad=True)
    F.binary_cross_entropy_with_logits(z, torch.ones(1, 1)).backward()
    assert z.grad is not None
    assert z.grad.item() == -0.5
    assert "so it answers $-1$ or $0$: either way" in page()


def test_gradient_check_in_float64() -> None:
    X64, y64, params64 = data64()
    Z1, A1, logits = lesson.forward(X64, params64)
    assert (logits != 0).all()  # "no logit in the check below is exactly 0"
    by_hand = lesson.backward(X64, y64, Z1, A1, logits, params64)
    for grad, p in zip(by_hand, params64, strict=True):
        assert grad.shape == p.shape
    by_autograd = lesson.gradients_by_autograd(X64, y64, params64, lesson.bce_with_logits)
    ours = largest_differences(by_hand, by_autograd)
    in_eps = {name: rel / EPS64 for name, (_, rel) in ours.items()}
    # "a few eps at most, and some exactly 0" (5.5 at most on one machine, 3.2 on another)
    assert max(in_eps.values()) < 8
    assert min(in_eps.values()) == 0
    assert all(abs_diff < 1e-16 for abs_diff, _ in ours.values())
    # "The differences enter in one place, the gradient on the logits": many entries of autograd's
    # grad_logits differ from ours by a rounding step or two...
    leaf = logits.detach().clone().requires_grad_(True)
    (autograd_logits,) = torch.autograd.grad(lesson.bce_with_logits(leaf, y64), leaf)
    grad_logits = (torch.sigmoid(logits) - y64) / len(X64)
    assert int((autograd_logits != grad_logits).sum()) > 10
    relative = ((autograd_logits - grad_logits).abs() / grad_logits.abs()).max().item()
    assert relative < 3 * EPS64
    # ...and from there on both do the same operations: our formulas fed autograd's grad_logits
    # give autograd's gradients bit for bit
    grad_Z1 = (autograd_logits @ params64.W2.T) * (Z1 > 0)
    assert torch.equal(A1.T @ autograd_logits, by_autograd.W2)
    assert torch.equal(autograd_logits.sum(dim=0), by_autograd.b2)
    assert torch.equal(X64.T @ grad_Z1, by_autograd.W1)
    assert torch.equal(grad_Z1.sum(dim=0), by_autograd.b1)
    # "a difference grows only where a sum of terms nearly cancels, ... as in the entry that shows
    # the most here": each gradient entry is a sum over the points; find the worst entry's terms
    grad_Z1 = (grad_logits @ params64.W2.T) * (Z1 > 0)
    terms_of = {  # name -> (N, entries of the parameter): the terms each entry sums
        "W1": (X64[:, :, None] * grad_Z1[:, None, :]).flatten(1),
        "b1": grad_Z1,
        "W2": A1 * grad_logits,
        "b2": grad_logits,
    }
    name = max(in_eps, key=lambda name: in_eps[name])
    hand, ref = getattr(by_hand, name).flatten(), getattr(by_autograd, name).flatten()
    worst = int(((hand - ref).abs() / ref.abs()).nan_to_num(0.0).argmax())
    terms = terms_of[name][:, worst]
    assert terms.sum().item() == pytest.approx(hand[worst].item(), rel=1e-12)
    assert (terms.abs().sum() / terms.sum().abs()).item() > 3
    # through PyTorch's own loss: exactly 0
    pytorch = largest_differences(
        by_hand,
        lesson.gradients_by_autograd(X64, y64, params64, F.binary_cross_entropy_with_logits),
    )
    assert all(diff == (0.0, 0.0) for diff in pytorch.values())
    # PyTorch's gradient on the logits is the same formula, bit for bit, from its own backward node
    leaf = logits.detach().clone().requires_grad_(True)
    loss = F.binary_cross_entropy_with_logits(leaf, y64)
    assert loss.grad_fn is not None
    assert loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    loss.backward()
    assert leaf.grad is not None
    assert torch.equal(leaf.grad, grad_logits)
    text = page()
    assert (
        "every relative difference is a few $\\varepsilon$ at most, and some are exactly 0" in text
    )
    assert "the difference is exactly 0 for every parameter" in text


def test_machine_epsilon() -> None:
    """The introduction's and the in-depth part's statements about eps."""
    # "the relative gap between 1 and the next float64"
    assert math.nextafter(1.0, 2.0) - 1.0 == EPS64 == 2.0**-52
    assert f"{EPS64:.2g}" == "2.2e-16"
    # "every operation may round its result by up to about eps of its size (more precisely eps/2)"
    generator = torch.Generator().manual_seed(0)
    us = (torch.rand(2000, generator=generator, dtype=torch.float64) + 0.5).tolist()
    vs = (torch.rand(2000, generator=generator, dtype=torch.float64) * 100).tolist()
    worst = Fraction(0)
    for u, v in zip(us, vs, strict=True):
        for exact, rounded in (
            (Fraction(u) * Fraction(v), u * v),
            (Fraction(u) + Fraction(v), u + v),
        ):
            worst = max(worst, abs(Fraction(rounded) - exact) / exact)
    assert Fraction(EPS64) / 4 < worst <= Fraction(EPS64) / 2  # the bound, and nearly reached
    text = page()
    assert "the relative gap between 1 and the next float64" in text
    assert "about $2.2 \\times 10^{-16}$" in text
    assert "(more precisely $\\varepsilon / 2$)" in text


def test_backward_against_finite_differences() -> None:
    """A third, independent opinion: central differences of the loss, entry by entry."""
    X64, y64, params64 = data64()
    by_hand = lesson.backward(X64, y64, *lesson.forward(X64, params64), params64)
    h = 1e-6
    for index, (p, grad) in enumerate(zip(params64, by_hand, strict=True)):
        for entry in range(p.numel()):
            values = []
            for sign in (1, -1):
                moved = [q.clone() for q in params64]
                moved[index].view(-1)[entry] += sign * h
                _, _, logits = lesson.forward(X64, Params(*moved))
                values.append(lesson.bce_with_logits(logits, y64).item())
            numerical = (values[0] - values[1]) / (2 * h)
            assert numerical == pytest.approx(grad.view(-1)[entry].item(), abs=1e-8)


def test_training_run() -> None:
    X, y = data()
    _, trained, losses = trained_on_device()
    assert len(losses) == NUM_EPOCHS
    acc = lesson.accuracy(X, y, trained)
    wrong = round((1 - acc) * len(X))
    assert wrong == 3
    L = torch.tensor(losses)
    # rise[i]: the loss at step i (the one before update i) is above the one at step i - 1
    rise = torch.zeros(NUM_EPOCHS, dtype=torch.bool)
    rise[1:] = L[1:] > L[:-1]
    steps = rise.nonzero().flatten()
    first, last = int(steps[0]), int(steps[-1])
    assert 765 <= first <= 785  # "without a single rise" until "about step 775"
    assert 790 <= int((L[1:] - L[:-1]).argmax()) + 1 <= 810  # the bump: the largest rise
    # "rising on every other step until about step 1600": rises and falls alternate, a few
    # hiccups aside (the bump), from the first rise to the end of the alternation
    same = (rise[first + 10 : -1] == rise[first + 11 :]).nonzero().flatten()
    end = first + 10 + int(same[0])  # the first step where two rises or two falls follow
    assert 1550 <= end <= 1650
    assert rise[first + 10 : end].float().mean().item() == pytest.approx(0.5, abs=0.01)
    # "the jumps shrinking all the while": the rises near the end are far smaller than early on
    jumps = (L[1:] - L[:-1]).clamp(min=0)
    largest = [jumps[a : a + 100].max().item() for a in range(800, 1600, 100)]
    assert largest == sorted(largest, reverse=True)
    assert largest[-1] < largest[0] / 100
    # "then ever more rarely; from about step 1700 it falls steadily again"
    assert 0.05 < rise[1600:1700].float().mean().item() < 0.3
    assert 1650 <= last <= 1750
    assert L[:50].max().item() == L[0].item()
    assert 0.24 - 0.005 < L[50:300].min().item() < L[50:300].max().item() < 0.27 + 0.005
    assert not rise[300:first].any()
    text = page()
    assert f"The loss falls from {losses[0]:.4f} to {losses[-1]:.4f}, and {acc:.1%}" in text
    assert f"all but {wrong} of the 200" in text
    assert "for 2000 full-batch steps with learning rate 0.5" in text
    assert f"network reached a loss of {losses[-1]:.4f} and {acc:.1%} accuracy" in text
    assert "From about step 775 it zigzags, with a small bump near step 800" in text
    assert "rising on every other step until about step 1600, the jumps shrinking" in text
    assert "then ever more rarely; from about step 1700 it falls steadily again" in text
    assert f"{L[-1].item():.2f}" == "0.04"  # the figure's alt text: "about 0.04 at step 2000"
    assert f"{L[50:300].mean().item():.2f}" == "0.25"  # "a slow stretch near 0.25"


def test_module_follows_the_same_path() -> None:
    X64, y64, params64 = data64()
    model = lesson.MLP(2, NUM_HIDDEN).to(CPU, torch.float64)
    lesson.copy_into(model, params64)
    # the copied module computes our forward pass; its layer is one fused call, torch.addmm
    _, _, logits = lesson.forward(X64, params64)
    with torch.no_grad():
        assert (model(X64) - logits).abs().max().item() < 1e-15
        hidden = model.hidden
        assert torch.equal(hidden(X64), torch.addmm(hidden.bias, X64, hidden.weight.T))
    module_losses = lesson.train_module(model, X64, y64, LR, NUM_EPOCHS)
    trained64, hand_losses = lesson.train_by_hand(X64, y64, params64, LR, NUM_EPOCHS)
    hand = torch.tensor(hand_losses, dtype=torch.float64)
    gaps = (torch.tensor(module_losses, dtype=torch.float64) - hand).abs()
    # "never differ by more than about 1e-15" (1.1e-15 here), "under 100 eps" (70 here)
    assert gaps.max().item() < 3e-15  # 1.1e-15 here, 1.1e-16 on a GPU: rounding
    assert (gaps / hand).max().item() < 100 * EPS64
    assert (gaps / hand).max().item() < 1e-13  # 13 significant digits or more
    # the parameters too
    module_params = (
        model.hidden.weight.T,
        model.hidden.bias,
        model.output.weight.T,
        model.output.bias,
    )
    for ours, theirs in zip(trained64, module_params, strict=True):
        assert (ours - theirs.detach()).abs().max().item() < 1e-12
    # torch.optim.SGD has no momentum unless asked for (quiz)
    assert torch.optim.SGD(model.parameters(), lr=LR).defaults["momentum"] == 0
    text = page()
    assert (
        "never differ by more than about $10^{-15}$, a relative difference under 100 $\\varepsilon$"
        in text
    )
    assert "they never differ by more than about $10^{-15}$" in text  # the quiz
    assert "the losses agree to 13 significant digits or more at every one of 2000 steps" in text
    assert "adds its bias in one fused call with the product, `torch.addmm`" in text


def test_transposes_when_copying() -> None:
    params = init()
    layer = torch.nn.Linear(2, 16)
    with torch.no_grad(), pytest.raises(RuntimeError):
        layer.weight.copy_(params.W1)  # (2, 16) into (16, 2): refused
    square = torch.nn.Linear(16, 16)
    W = torch.randn(16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        square.weight.copy_(W)  # the wrong orientation, accepted silently
        wrong = square(torch.ones(1, 16))
        square.weight.copy_(W.T)
        right = square(torch.ones(1, 16))
    assert not torch.allclose(wrong, right)
    assert "PyTorch refuses to copy a $(2, 16)$ matrix into a $(16, 2)$ one" in page()


def test_exercise_1_a_bug_that_trains() -> None:
    X64, y64, params64 = data64()
    Z1, A1, logits = lesson.forward(X64, params64)
    buggy = exercises.backward_no_mask(X64, y64, Z1, A1, logits, params64)
    right = lesson.gradients_by_autograd(X64, y64, params64, F.binary_cross_entropy_with_logits)
    differences = largest_differences(buggy, right)
    assert differences["W2"] == differences["b2"] == (0.0, 0.0)
    assert differences["W1"][1] == differences["b1"][1] == math.inf
    # inf exactly where the true gradient is 0: the units off for every point
    off = dead(X64, params64)
    assert int(off.sum()) == 3
    assert bool((right.W1[:, off] == 0).all())
    assert bool((buggy.W1[:, off] != 0).all())
    assert bool((right.W1[:, ~off] != 0).all())
    w1, b1 = f"{differences['W1'][0]:.2g}", f"{differences['b1'][0]:.2g}"
    X, y = data()
    start, trained, losses = trained_on_device()
    trained_buggy, losses_buggy = lesson.train_by_hand(
        X, y, start, LR, NUM_EPOCHS, backward_fn=exercises.backward_no_mask
    )
    text = page()
    assert f"$W_1$ and $b_1$ are off by up to {w1} and {b1}" in text
    assert "3 of the 16 units are off for every point" in text
    assert (
        f"loss falls from {losses_buggy[0]:.4f} to {losses_buggy[-1]:.4f} and "
        f"{lesson.accuracy(X, y, trained_buggy):.1%} of the points end up right" in text
    )
    right_run = f"({losses[-1]:.4f} and {lesson.accuracy(X, y, trained):.1%})"
    assert f"It is simply worse than the real thing {right_run}" in text


def test_exercise_2_start_from_zero() -> None:
    X, y = data()
    start, _, _ = trained_on_device()
    zeros = Params(*(torch.zeros_like(p) for p in start))
    grads = lesson.backward(X, y, *lesson.forward(X, zeros), zeros)
    assert all(bool((g == 0).all()) for g in grads)
    _, losses = lesson.train_by_hand(X, y, zeros, LR, 100)
    assert losses[0] == losses[-1] == pytest.approx(math.log(2))
    half = start._replace(W1=zeros.W1, b1=zeros.b1)
    grads = lesson.backward(X, y, *lesson.forward(X, half), half)
    assert all(bool((g == 0).all()) for g in (grads.W1, grads.b1, grads.W2))
    b2_grad = f"{grads.b2.abs().max().item():.3g}"
    trained_half, losses_half = lesson.train_by_hand(X, y, half, LR, 100)
    assert bool((trained_half.W1 == 0).all())
    loss, acc = f"{losses_half[-1]:.4f}", f"{lesson.accuracy(X, y, trained_half):.1%}"
    assert (loss, acc) == (f"{math.log(2):.4f}", "50.0%")

    # ReLU's slope at 0 matters only here: a mask Z1 >= 0 changes nothing from all zeros (W2 = 0
    # blocks every gradient anyway), but gives W1 and b1 gradients when only the hidden layer is 0
    def backward_slope_1_at_0(X: torch.Tensor, y: torch.Tensor, params: Params) -> Params:
        Z1, A1, logits = lesson.forward(X, params)
        grad_logits = (torch.sigmoid(logits) - y) / len(X)
        grad_Z1 = (grad_logits @ params.W2.T) * (Z1 >= 0)
        return Params(X.T @ grad_Z1, grad_Z1.sum(dim=0), A1.T @ grad_logits, grad_logits.sum(0))

    assert all(bool((g == 0).all()) for g in backward_slope_1_at_0(X, y, zeros))
    other = backward_slope_1_at_0(X, y, half)
    assert other.W1.abs().max().item() > 0.01
    assert other.b1.abs().max().item() > 0.001
    text = page()
    assert f"The loss stays at $\\log 2 \\approx {math.log(2):.4f}$" in text
    assert f"Only $b_2$ gets a gradient ({b2_grad} at the start)" in text
    assert f"the loss is {loss} and the accuracy {acc}" in text
    assert "with a mask `Z1 >= 0`, a slope of 1 at 0, they would get gradients" in text
    assert "but it does when the hidden layer starts at zero (Exercise 2, second part)" in text
