"""Lesson 2.3: every number the page states is what the snippets compute, and the hand-written
backward pass is right (against autograd and against finite differences)."""

import math
from functools import cache
from pathlib import Path

import neural_net_from_scratch as lesson
import neural_net_from_scratch_exercises as exercises
import pytest
import torch
import torch.nn.functional as F
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from neural_net_from_scratch import Params

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "neural-net-from-scratch.md"
LR, NUM_EPOCHS, NUM_HIDDEN = 0.5, 2000, 16  # as in the lesson's train-run section
CPU = torch.device("cpu")
EPS64 = torch.finfo(torch.float64).eps


def page() -> str:
    """The lesson's Markdown with every run of whitespace made one space (line breaks vary)."""
    return " ".join(LESSON.read_text(encoding="utf-8").split())


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
    assert (logits != 0).all()  # "no logit is exactly 0" in the check
    by_hand = lesson.backward(X64, y64, Z1, A1, logits, params64)
    for grad, p in zip(by_hand, params64, strict=True):
        assert grad.shape == p.shape
    ours = lesson.largest_differences(
        by_hand, lesson.gradients_by_autograd(X64, y64, params64, lesson.bce_with_logits)
    )
    in_eps = {name: rel / EPS64 for name, (_, rel) in ours.items()}
    # "a few eps at most, and some exactly 0" (5.5 at most on one machine, 3.2 on another)
    assert max(in_eps.values()) < 8
    assert min(in_eps.values()) == 0
    assert all(abs_diff < 1e-16 for abs_diff, _ in ours.values())
    pytorch = lesson.largest_differences(
        by_hand,
        lesson.gradients_by_autograd(X64, y64, params64, F.binary_cross_entropy_with_logits),
    )
    assert all(diff == (0.0, 0.0) for diff in pytorch.values())
    # PyTorch's gradient on the logits is the same formula, bit for bit
    leaf = logits.detach().clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(leaf, y64).backward()
    assert leaf.grad is not None
    assert torch.equal(leaf.grad, (torch.sigmoid(logits) - y64) / len(X64))
    assert leaf.grad_fn is None  # a leaf; the loss's own node:
    loss = F.binary_cross_entropy_with_logits(leaf, y64)
    assert loss.grad_fn is not None
    assert loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    text = page()
    assert (
        "every relative difference is a few $\\varepsilon$ at most, and some are exactly 0" in text
    )
    assert "the difference is exactly 0 for every parameter" in text
    # the eps the page quotes
    assert f"{EPS64:.2g}" == "2.2e-16"
    assert "about $2.2 \\times 10^{-16}$" in text


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
    rises = L[1:] > L[:-1]  # rises[s]: the loss before step s + 2 is above the one before s + 1
    first_rise = int(rises.nonzero()[0].item())
    assert 770 <= first_rise <= 780  # "without a single rise" until "about step 775"
    assert rises[775:1100].float().mean().item() > 0.4  # about every other step
    assert 0.2 < rises[1100:].float().mean().item() < 0.45  # about a third
    assert 780 <= int((L[1:] - L[:-1]).argmax().item()) <= 820  # the bump: the largest rise
    assert L[:50].max().item() == L[0].item()
    assert 0.24 - 0.005 < L[50:300].min().item() < L[50:300].max().item() < 0.27 + 0.005
    text = page()
    assert f"The loss falls from {losses[0]:.4f} to {losses[-1]:.4f}, and {acc:.1%}" in text
    assert f"all but {wrong} of the 200" in text
    assert "for 2000 full-batch steps with learning rate 0.5" in text
    assert f"network reached a loss of {losses[-1]:.4f} and {acc:.1%} accuracy" in text
    # the page's figure: the model's logits on any grid, through lesson 2.1's helper
    assert "From about step 775 it zigzags, with a small bump near step 800" in text
    assert f"{L[-1].item():.2f}" == "0.04"  # the figure's alt text: "about 0.04 at step 2000"
    assert f"{L[50:300].mean().item():.2f}" == "0.25"  # "a slow stretch near 0.25"


def test_dead_units() -> None:
    X, _ = data()
    start, trained, _ = trained_on_device()
    dead = lesson.dead_units(X, start)
    assert int(dead.sum()) == 3
    assert torch.equal(trained.W1[:, dead], start.W1[:, dead])
    assert torch.equal(trained.b1[dead], start.b1[dead])
    assert torch.equal(trained.W2[dead], start.W2[dead])
    dead_after = lesson.dead_units(X, trained)
    assert int(dead_after.sum()) == 6
    assert bool(dead_after[dead].all())  # the first three stayed dead
    text = page()
    assert "The random start left 3 of the 16 units off for all 200 points" in text
    assert "Training switched off 3 more, so 10 units do all the work" in text


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
    assert module_losses[0] == hand_losses[0]  # "equal to every printed digit"
    assert gaps.max().item() < 1e-14
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
        "never differ by more than $10^{-14}$, a relative difference under 100 $\\varepsilon$"
        in (text)
    )
    assert "agreeing to 13 significant digits or more at every one of 2000 steps" in text
    assert "adds its bias in one fused call, `torch.addmm`" in text


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


def test_exercise_1_tanh() -> None:
    X64, y64, params64 = data64()
    Z1, A1, logits = exercises.forward_tanh(X64, params64)
    by_hand = exercises.backward_tanh(X64, y64, Z1, A1, logits, params64)
    differences = lesson.largest_differences(
        by_hand,
        lesson.gradients_by_autograd(
            X64, y64, params64, F.binary_cross_entropy_with_logits, exercises.forward_tanh
        ),
    )
    in_eps = {name: rel / EPS64 for name, (_, rel) in differences.items()}
    assert max(in_eps.values()) < 16  # 10.5 at most on one machine, 2.4 on another
    # the third entry of b1 nearly cancels: its terms' sizes add up to ~900 times the result
    terms = ((torch.sigmoid(logits) - y64) / len(X64) @ params64.W2.T * (1 - A1**2))[:, 2]
    assert terms.sum().item() == pytest.approx(by_hand.b1[2].item(), rel=1e-12)
    assert 850 < (terms.abs().sum() / terms.sum().abs()).item() < 950
    assert max(value for name, value in in_eps.items() if name != "b1") < 4
    X, y = data()
    start, trained, losses = trained_on_device()
    trained_tanh, losses_tanh = exercises.train_tanh(X, y, start, LR, NUM_EPOCHS)
    relu = (f"{losses[-1]:.4f}", f"{lesson.accuracy(X, y, trained):.1%}")
    tanh = (f"{losses_tanh[-1]:.4f}", f"{exercises.accuracy_tanh(X, y, trained_tanh):.1%}")
    text = page()
    assert "about 900 times smaller than the sum of their sizes" in text
    assert (
        f"ends at a loss of {tanh[0]} and {tanh[1]} accuracy, against {relu[0]} and {relu[1]} "
        "for ReLU" in text
    )


def test_exercise_2_a_bug_that_trains() -> None:
    X64, y64, params64 = data64()
    Z1, A1, logits = lesson.forward(X64, params64)
    buggy = exercises.backward_no_mask(X64, y64, Z1, A1, logits, params64)
    right = lesson.gradients_by_autograd(X64, y64, params64, F.binary_cross_entropy_with_logits)
    differences = lesson.largest_differences(buggy, right)
    assert differences["W2"] == differences["b2"] == (0.0, 0.0)
    assert differences["W1"][1] == differences["b1"][1] == math.inf
    # inf exactly where the true gradient is 0: the dead units
    dead = lesson.dead_units(X64, params64)
    assert bool((right.W1[:, dead] == 0).all())
    assert bool((buggy.W1[:, dead] != 0).all())
    w1, b1 = f"{differences['W1'][0]:.2g}", f"{differences['b1'][0]:.2g}"
    X, y = data()
    start, _, _ = trained_on_device()
    trained_buggy, losses_buggy = exercises.train_no_mask(X, y, start, LR, NUM_EPOCHS)
    text = page()
    assert f"$W_1$ and $b_1$ are off by up to {w1} and {b1}" in text
    assert (
        f"the loss falls from {losses_buggy[0]:.4f} to {losses_buggy[-1]:.4f} and "
        f"{lesson.accuracy(X, y, trained_buggy):.1%} of the points end up right" in text
    )
    assert f"lowered the loss from {losses_buggy[0]:.4f} to {losses_buggy[-1]:.4f}" in text
    _, trained, losses = trained_on_device()
    right_run = f"({losses[-1]:.4f} and {lesson.accuracy(X, y, trained):.1%})"
    assert f"It is simply worse than the real thing {right_run}" in text


def test_exercise_3_start_from_zero() -> None:
    X, y = data()
    start, _, _ = trained_on_device()
    zeros = Params(*(torch.zeros_like(p) for p in start))
    grads = lesson.backward(X, y, *lesson.forward(X, zeros), zeros)
    assert exercises.all_gradients_zero(grads)
    _, losses = lesson.train_by_hand(X, y, zeros, LR, 100)
    assert losses[0] == losses[-1] == pytest.approx(math.log(2))
    half = start._replace(W1=zeros.W1, b1=zeros.b1)
    grads = lesson.backward(X, y, *lesson.forward(X, half), half)
    assert all(bool((g == 0).all()) for g in (grads.W1, grads.b1, grads.W2))
    b2_grad = f"{grads.b2.abs().max().item():.4f}"
    trained_half, losses_half = lesson.train_by_hand(X, y, half, LR, 100)
    assert bool((trained_half.W1 == 0).all())
    loss, acc = f"{losses_half[-1]:.4f}", f"{lesson.accuracy(X, y, trained_half):.1%}"
    assert (loss, acc) == (f"{math.log(2):.4f}", "50.0%")
    text = page()
    assert f"The loss stays at $\\log 2 \\approx {math.log(2):.4f}$" in text
    assert f"Only $b_2$ gets a gradient ({b2_grad} at the start)" in text
    assert f"the loss is {loss} and the accuracy {acc}" in text
