"""Lesson 2.4: every number and claim the page states is what the snippets compute."""

import math
from functools import cache
from itertools import pairwise
from pathlib import Path

import role_of_activations as lesson
import role_of_activations_exercises as exercises
import torch
import torch.nn.functional as F
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from role_of_activations import Params
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "role-of-activations.md"
SIZES = [2, 16, 16, 1]
DEEP_SIZES = [2] + [32] * 7 + [1]
LR, NUM_EPOCHS, BIG_LR = 0.4, 1000, 6.0  # as in the lesson's run sections


def page() -> str:
    """The lesson's Markdown with every run of whitespace made one space (line breaks vary)."""
    return " ".join(LESSON.read_text(encoding="utf-8").split())


@cache
def data() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return make_moons(200, get_device())


@cache
def trained(name: str) -> tuple[Params, torch.Tensor]:
    """The lesson's run for one activation: its trained weights and its losses. Tests must not
    train these weights further (they copy them first)."""
    X, y = data()
    params = lesson.init_params(SIZES, X.device)
    losses = lesson.train(params, X, y, lesson.ACTIVATIONS[name], LR, NUM_EPOCHS)
    return params, losses


def accuracy(name: str) -> str:
    X, y = data()
    params, _ = trained(name)
    return f"{lesson.accuracy(params, X, y, lesson.ACTIVATIONS[name]):.1f}%"


def final(name: str) -> str:
    return f"{trained(name)[1][-1].item():.4f}"


def test_every_run_starts_from_the_same_weights_drawn_as_nn_linear_draws_them() -> None:
    device = get_device()
    first, again = lesson.init_params(SIZES, device), lesson.init_params(SIZES, device)
    for (W, b), (W_again, b_again) in zip(first, again, strict=True):
        assert torch.equal(W, W_again)
        assert torch.equal(b, b_again)
    assert sum(W.numel() + b.numel() for W, b in first) == 337
    # the same range as nn.Linear's default: uniform on +-1/sqrt(fan_in), weights and biases
    (W, b), *_ = lesson.init_params([100, 1000], device)
    layer = nn.Linear(100, 1000)
    for values in (W, b, layer.weight, layer.bias):
        assert values.abs().max().item() <= 0.1
        assert values.abs().max().item() > 0.099
    assert "learning rate 0.4" in page()
    assert "trains for 1000 epochs" in page()


def test_four_activations_final_loss_and_accuracy() -> None:
    text = page()
    for name in lesson.ACTIVATIONS:
        assert abs(trained(name)[1][0].item() - math.log(2)) < 0.05  # "all four start near ln 2"
    assert f"ends at {final('identity')} and {accuracy('identity')}" in text
    assert accuracy("tanh") == accuracy("ReLU") == "99.5%"
    assert f"both reach 99.5%, with losses of {final('tanh')} and {final('ReLU')}" in text
    assert f"it is at {final('sigmoid')} and {accuracy('sigmoid')}, hardly better" in text
    assert "stayed a straight line at 89.5%" in text
    assert f"The sigmoid network stopped at {accuracy('sigmoid')}" in text


def test_loss_curves() -> None:
    identity, sigmoid = trained("identity")[1], trained("sigmoid")[1]
    tanh, relu = trained("tanh")[1], trained("ReLU")[1]
    # identity learns fastest at first, and is done after about 50 epochs
    assert identity[25] < min(sigmoid[25], tanh[25], relu[25])
    assert identity[50] - identity[-1] < 1e-3
    # tanh and ReLU pass it within 100 epochs, and stay close to each other
    assert max(tanh[100], relu[100]) < identity[100]
    for epoch in (100, 300, 999):
        assert 1 / 1.5 < tanh[epoch] / relu[epoch] < 1.5
    # sigmoid: near 0.69 for 100 epochs, near the line's loss by 400, still falling at the end
    assert sigmoid[100] > 0.65
    assert abs(sigmoid[400] - identity[-1]) < 0.02
    assert sigmoid[-1] < sigmoid[-101] - 0.005
    assert sigmoid[-1] < identity[-1]
    assert "after about 50 epochs it stops" in page()
    assert "drops to about the straight line's loss by epoch 400" in page()


def test_decision_boundaries() -> None:
    """Sigmoid's boundary is almost the identity's line; ReLU's S is nearly tanh's."""
    X, _ = data()
    low, high = X.min(dim=0).values - 0.5, X.max(dim=0).values + 0.5
    g0 = torch.linspace(low[0].item(), high[0].item(), 100)
    g1 = torch.linspace(low[1].item(), high[1].item(), 100)
    G0, G1 = torch.meshgrid(g0, g1, indexing="xy")
    grid = torch.stack([G0.flatten(), G1.flatten()], dim=1).to(X.device)
    sides = {}
    for name, activation in lesson.ACTIVATIONS.items():
        params = trained(name)[0]  # trains on first use, so not under no_grad
        with torch.no_grad():
            sides[name] = lesson.forward(grid, params, activation)[0] > 0
    agree = {
        pair: (sides[pair[0]] == sides[pair[1]]).float().mean().item()
        for pair in (("identity", "sigmoid"), ("tanh", "ReLU"), ("identity", "tanh"))
    }
    assert agree["identity", "sigmoid"] > 0.97
    assert agree["tanh", "ReLU"] > 0.95
    assert agree["identity", "tanh"] < 0.9


def test_first_gradients() -> None:
    X, y = data()
    norms = {
        name: lesson.layer_gradient_norms(lesson.init_params(SIZES, X.device), X, y, activation)
        for name, activation in lesson.ACTIVATIONS.items()
    }
    sigmoid, tanh = norms["sigmoid"], norms["tanh"]
    text = page()
    assert f"first-layer gradient is {sigmoid[0]:.4f}, against {tanh[0]:.4f} for tanh" in text
    assert 12.5 < tanh[0] / sigmoid[0] < 14  # "about 13 times smaller"
    assert f"is {sigmoid[1]:.4f} against {tanh[1]:.4f}" in text


def test_dead_relus_at_the_start_and_after_training() -> None:
    X, y = data()
    start = lesson.init_params(SIZES, X.device)
    params, _ = trained("ReLU")
    assert lesson.dead_units(start, X) == [3, 2]
    assert lesson.dead_units(params, X) == [3, 4]
    text = page()
    assert "3 of the first layer's 16 units and 2 of the second layer's are already dead" in text
    assert "the first layer still has the same 3 dead units and the second layer has 4" in text
    assert "started with 5 of its 32 hidden units dead" in text
    with torch.no_grad():
        Z_start = lesson.forward(X, start, torch.relu)[1][0]
        Z_end = lesson.forward(X, params, torch.relu)[1][0]
    dead_start = (Z_start <= 0).all(dim=0)
    dead = (Z_end <= 0).all(dim=0)
    assert torch.equal(dead, dead_start)  # the same three units
    assert dead.nonzero().flatten().tolist() == [2, 4, 12]
    assert "Units 2, 4 and 12 of the first layer are dead" in text
    logits, _ = lesson.forward(X, params, torch.relu)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grad_W1, grad_b1 = torch.autograd.grad(loss, list(params[0]))
    assert grad_W1[dead].abs().max().item() == 0.0
    assert grad_b1[dead].abs().max().item() == 0.0
    assert f"as large as {grad_W1[~dead].abs().max().item():.4f}" in text


def test_a_learning_rate_of_6_kills_the_second_layer() -> None:
    X, y = data()
    params = lesson.init_params(SIZES, X.device)
    before, dead = [], []
    for _ in range(6):
        before.append(lesson.train(params, X, y, torch.relu, BIG_LR, num_epochs=1).item())
        dead.append(lesson.dead_units(params, X)[1])
    losses = lesson.train(params, X, y, torch.relu, BIG_LR, NUM_EPOCHS - 6)
    assert before[1] < before[0]
    assert before[2] < before[1]
    assert before[3] > before[0]
    assert dead[3:] == [9, 15, 15]
    assert lesson.dead_units(params, X)[1] == 16
    assert abs(losses[-1].item() - math.log(2)) < 1e-4
    dead_accuracy = lesson.accuracy(params, X, y, torch.relu)
    text = page()
    assert f"from {before[0]:.3f} to {before[2]:.3f}; the third overshoots" in text
    assert f"the loss before step 4 is {before[3]:.3f}" in text
    assert "9 dead after step 4, 15 after step 5, and all 16 by the end" in text
    assert f"its loss is {losses[-1].item():.4f}, that is $\\ln 2$" in text
    assert f"accuracy {dead_accuracy:.1f}%, a coin toss" in text
    assert "killed 15 of the second layer's 16 units within five steps" in text
    # every gradient is exactly zero but the output bias's, which is tiny; one output for all
    logits, _ = lesson.forward(X, params, torch.relu)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grads = torch.autograd.grad(loss, [t for layer in params for t in layer])
    assert all(grad.abs().max().item() == 0.0 for grad in grads[:5])
    assert 0 < grads[5].abs().item() < 1e-5
    assert len(logits.unique()) == 1


def test_flat_tails_thresholds() -> None:
    edge = math.atanh(math.sqrt(0.9))  # tanh' = 0.1
    assert abs(1 - math.tanh(edge) ** 2 - 0.1) < 1e-12
    z = torch.tensor([2 * edge], dtype=torch.float64)
    assert abs(lesson.sigmoid_derivative(z).item() - 0.025) < 1e-12  # a tenth of 1/4
    text = page()
    assert f"means $|z| > {edge:.2f}$" in text
    assert f"at $|z| > {2 * edge:.2f}$" in text
    # sigmoid is a shifted, rescaled tanh; PyTorch's ReLU has derivative 0 at 0
    Z = torch.linspace(-8, 8, 1001, dtype=torch.float64)
    assert torch.allclose(torch.sigmoid(Z), (1 + torch.tanh(Z / 2)) / 2, rtol=0, atol=1e-15)
    zero = torch.zeros(1, requires_grad=True)
    torch.relu(zero).sum().backward()
    assert zero.grad is not None
    assert zero.grad.item() == 0.0
    assert "PyTorch uses 0" in text
    assert 4**7 == 16384
    assert "$(1/4)^7 = 1/16384$, about 0.000061" in text
    assert f"{0.25**7:.6f}" == "0.000061"


def test_saturation() -> None:
    X, y = data()
    text = page()

    def measure(params: Params, X: torch.Tensor, name: str) -> list[tuple[str, str]]:
        return [(f"{t:.1%}", f"{m:.2f}") for t, m in lesson.saturation(params, X, name)]

    start = lesson.init_params(SIZES, X.device)
    assert measure(start, X, "sigmoid") == [("0.0%", "0.92"), ("0.0%", "0.98")]
    assert measure(start, X, "tanh") == [("0.0%", "0.77"), ("0.0%", "0.92")]
    (s1, _), (s2, _) = measure(trained("sigmoid")[0], X, "sigmoid")
    (t1, _), (t2, _) = measure(trained("tanh")[0], X, "tanh")
    assert s2 == "0.0%"
    assert t2 == "1.2%"
    assert f"only {s1} of the sigmoid's first layer and {t1} of tanh's are" in text
    assert "mean derivatives: 0.92 and 0.98 of the largest at the start" in text
    assert "(Tanh's are 0.77 and 0.92 of 1.)" in text
    # the big start: first-layer weights and biases times 10
    big = lesson.scale_first_layer(start, 10)
    assert torch.equal(big[1][0], start[1][0])  # the other layers are untouched copies
    assert big[1][0] is not start[1][0]
    (tails, mean), (tails2, _) = measure(big, X, "tanh")
    assert tails2 == "0.0%"  # "the second layer is spared"
    assert f"Now {tails} of the first layer's pre-activations start in the flat tails" in text
    assert f"mean derivative falls from 0.77 to {mean} of its largest" in text
    grad_W1 = lesson.layer_gradient_norms(big, X, y, torch.tanh)[0]
    usual_W1 = lesson.layer_gradient_norms(start, X, y, torch.tanh)[0]
    assert f"shrinks with it, from {usual_W1:.4f} to {grad_W1:.4f}" in text
    big_W1_start = big[0][0].detach().clone()
    losses = lesson.train(big, X, y, torch.tanh, LR, NUM_EPOCHS)
    (tails, _), _ = measure(big, X, "tanh")
    assert f"after 1000 epochs {tails} are still in the tails" in text
    moved = ((big[0][0] - big_W1_start).norm() / big_W1_start.norm()).item()
    usual = trained("tanh")[0][0][0]
    usual_moved = ((usual - start[0][0]).norm() / start[0][0].norm()).item()
    assert f"moved by only {moved:.0%} of its starting size, against {usual_moved:.0%}" in text
    big_accuracy = lesson.accuracy(big, X, y, torch.tanh)
    assert f"ends at a loss of {losses[-1].item():.4f} and {big_accuracy:.1f}%" in text
    assert losses[-1].item() < trained("tanh")[1][-1].item()  # "better than from the usual start"
    assert "put 81.8% of tanh's first-layer pre-activations there" in text
    # the histogram's description: about -1.6 to 1.6, and about -16 to 16
    with torch.no_grad():
        Z_small = lesson.forward(X, start, torch.tanh)[1][0]
        Z_large = lesson.forward(X, lesson.scale_first_layer(start, 10), torch.tanh)[1][0]
    assert 1.4 < Z_small.abs().max().item() < 1.8
    assert 14 < Z_large.abs().max().item() < 18


def test_gradients_through_eight_layers() -> None:
    X, y = data()
    norms = {
        name: lesson.layer_gradient_norms(
            lesson.init_params(DEEP_SIZES, X.device), X, y, lesson.ACTIVATIONS[name]
        )
        for name in ("sigmoid", "tanh", "ReLU")
    }
    sigmoid, tanh, relu = norms["sigmoid"], norms["tanh"], norms["ReLU"]
    text = page()
    # sigmoid: a factor of about 4 to 9 per layer, more than 300,000 in all
    ratios = [after / before for before, after in pairwise(sigmoid)]
    assert all(3.5 < ratio < 10 for ratio in ratios)
    assert 300_000 < sigmoid[-1] / sigmoid[0] < 1_000_000
    assert f"from {sigmoid[-1]:.1e} to {sigmoid[0]:.1e}" in text
    assert f"tanh's gradients stay between {min(tanh):.1e} and {max(tanh):.1e}" in text
    assert f"ReLU's between {min(relu):.1e} and {max(relu):.1e}" in text
    assert round(max(tanh) / min(tanh)) == 6
    assert round(max(relu) / min(relu)) == 11
    assert "a spread of about 6 and 11 times" in text
    assert min(tanh) == tanh[0]  # the first layer is the lowest
    assert min(relu) == relu[0]
    # the figure's description: layers 2 to 8 around 0.01 to 0.02 (tanh), 0.001 to 0.003 (ReLU)
    assert all(0.01 < n < 0.025 for n in tanh[1:])
    assert all(0.0009 < n < 0.0035 for n in relu[1:])
    for name, mean in (("sigmoid", "0.24"), ("tanh", "0.95"), ("ReLU", "0.50")):
        derivative, _ = lesson.DERIVATIVES[name]
        with torch.no_grad():
            _, Z_hidden = lesson.forward(
                X, lesson.init_params(DEEP_SIZES, X.device), lesson.ACTIVATIONS[name]
            )
        measured = torch.cat([derivative(Z) for Z in Z_hidden]).mean().item()
        assert f"{measured:.2f}" == mean
    assert "The sigmoid's derivatives average 0.24" in text
    assert "Tanh's average 0.95" in text
    assert "ReLU's average 0.50" in text


def test_modern_activations() -> None:
    Z = torch.linspace(-4, 3, 701)
    for name in ("GELU", "SiLU"):
        _, dH = lesson.curves(lesson.MODERN[name], Z)
        assert dH.min().item() < 0  # dips below 0 on the left
        assert dH.max().item() > 1  # overshoots 1 on the right
    _, d_leaky = lesson.curves(lesson.MODERN["Leaky ReLU (0.1)"], Z)
    assert d_leaky.min().item() > 0  # never 0
    # float64 on the CPU, as on the page
    Z64 = torch.linspace(-6, 6, 12001, dtype=torch.float64)
    assert nn.GELU().approximate == "none"
    exact = Z64 * 0.5 * (1 + torch.erf(Z64 / math.sqrt(2)))
    text = page()
    assert f"to {(F.gelu(Z64) - exact).abs().max().item():.1e}, rounding error" in text
    gap = (F.gelu(Z64, approximate="tanh") - F.gelu(Z64)).abs()
    assert f"off by at most {gap.max().item():.5f}, at $z = {Z64[gap.argmax()].item():.2f}$" in text
    gelu, silu = F.gelu(Z64), F.silu(Z64)
    assert (
        f"GELU dips to ${gelu.min().item():.3f}$ at $z = {Z64[gelu.argmin()].item():.2f}$" in text
    )
    assert f"SiLU to ${silu.min().item():.3f}$ at $z = {Z64[silu.argmin()].item():.2f}$" in text
    # the SwiGLU block keeps its width and the classic block's weight count
    d = 12
    generator = torch.Generator().manual_seed(0)
    W, V = torch.randn(32, d, generator=generator), torch.randn(32, d, generator=generator)
    W2 = torch.randn(d, 32, generator=generator)
    assert lesson.swiglu(torch.randn(5, d), W, V, W2).shape == (5, d)
    assert 2 * d * (4 * d) == 3 * d * (2 * 4 * d // 3) == 1152
    assert "Both blocks hold 1152 weights" in text
    assert "$\\tfrac{2}{3} \\cdot 4d = 32$ instead of 48" in text


def test_exercise_1_sigmoid_is_slow_not_unable() -> None:
    X, y = data()
    params = exercises.copy_params(trained("sigmoid")[0])
    results = []
    for _ in range(2):
        losses = lesson.train(params, X, y, torch.sigmoid, LR, num_epochs=1000)
        results.append((losses[-1].item(), lesson.accuracy(params, X, y, torch.sigmoid)))
    text = page()
    assert f"After 2000 epochs the sigmoid network is at {results[0][1]:.1f}%" in text
    assert f"after 3000 at {results[1][1]:.1f}%, with a loss of {results[1][0]:.4f}" in text
    # copying left the lesson's run as it was
    assert f"{lesson.accuracy(trained('sigmoid')[0], X, y, torch.sigmoid):.1f}%" == "90.0%"


def test_exercise_2_modern_activations_on_the_moons() -> None:
    X, y = data()
    found = {}
    for name, activation in (("GELU", F.gelu), ("SiLU", F.silu)):
        params = lesson.init_params(SIZES, X.device)
        losses = lesson.train(params, X, y, activation, LR, NUM_EPOCHS)
        found[name] = (
            f"{losses[-1].item():.4f}",
            f"{lesson.accuracy(params, X, y, activation):.1f}%",
        )
    text = page()
    assert f"ReLU reached a loss of {final('ReLU')} and {accuracy('ReLU')} in the lesson" in text
    gelu_loss, gelu_accuracy = found["GELU"]
    silu_loss, silu_accuracy = found["SiLU"]
    assert f"GELU also reaches {gelu_accuracy} (loss {gelu_loss})" in text
    assert f"SiLU {silu_accuracy} (loss {silu_loss})" in text
    assert "found them all at 99.0% to 99.5%" in text


def test_exercise_3_leaky_relu_and_a_dead_layer() -> None:
    X, y = data()
    start = lesson.init_params(SIZES, X.device)
    with torch.no_grad():
        start[1][1].sub_(1.0)
    assert lesson.dead_units(start, X) == [3, 16]
    text = page()
    assert "The shift kills all 16 units of the second layer" in text
    relu = exercises.copy_params(start)
    relu_grads = lesson.layer_gradient_norms(relu, X, y, torch.relu)
    assert relu_grads[0] == relu_grads[1] == 0.0  # W2, and W1 behind it
    # "nothing but the output layer's bias can ever move": a few steps change nothing else
    lesson.train(relu, X, y, torch.relu, LR, num_epochs=20)
    for (W, b), (W0, b0) in zip(relu[:2], start[:2], strict=True):
        assert torch.equal(W, W0)
        assert torch.equal(b, b0)
    assert torch.equal(relu[2][0], start[2][0])
    assert not torch.equal(relu[2][1], start[2][1])
    assert "nothing but the output layer's bias can ever move" in text
    leaky = exercises.copy_params(start)
    grad_W2 = lesson.layer_gradient_norms(leaky, X, y, F.leaky_relu)[1]
    assert f"starts at {grad_W2:.1e} instead of 0" in text
    losses = lesson.train(leaky, X, y, F.leaky_relu, LR, NUM_EPOCHS)
    # "for more than 800 epochs the loss stays near 0.69, hardly moving"
    assert 0.69 < losses[:850].min().item() < losses[:850].max().item() < 0.70
    assert losses[950].item() < 0.3  # "then, within a few dozen epochs, it drops"
    leaky_accuracy = lesson.accuracy(leaky, X, y, F.leaky_relu)
    assert f"ends at {losses[-1].item():.4f} and {leaky_accuracy:.1f}%" in text
    assert exercises.never_positive(leaky, X, F.leaky_relu) == [3, 15]
    assert "with one of the 16 units back on for some points" in text
    assert f"got a gradient of {grad_W2:.1e} under Leaky ReLU" in text


def test_exercise_4_a_sigmoid_network_is_a_tanh_network() -> None:
    X, _ = data()
    X64 = X.cpu().double()  # float64 on the CPU, as on the page
    sigmoid_net = [
        (W.detach().cpu().double(), b.detach().cpu().double()) for W, b in trained("sigmoid")[0]
    ]
    tanh_net = exercises.sigmoid_as_tanh(sigmoid_net)
    gap = (
        lesson.forward(X64, sigmoid_net, torch.sigmoid)[0]
        - lesson.forward(X64, tanh_net, torch.tanh)[0]
    )
    assert 1e-16 < gap.abs().max().item() < 1e-14  # "about 10^-15"
    assert "The logits agree to about $10^{-15}$" in page()
    # "weights a half or a quarter as large"
    scales = [
        (W_tanh / W_sigmoid).unique().tolist()
        for (W_sigmoid, _), (W_tanh, _) in zip(sigmoid_net, tanh_net, strict=True)
    ]
    assert scales == [[0.5], [0.25], [0.5]]
    # any weights convert, not just trained ones
    fresh = [(W.double(), b.double()) for W, b in lesson.init_params(SIZES, torch.device("cpu"))]
    with torch.no_grad():
        assert torch.allclose(
            lesson.forward(X64, fresh, torch.sigmoid)[0],
            lesson.forward(X64, exercises.sigmoid_as_tanh(fresh), torch.tanh)[0],
            rtol=0,
            atol=1e-13,
        )
