"""Lesson 2.4: every number and claim the page states is what the snippets compute."""

import math
from functools import cache
from itertools import pairwise
from pathlib import Path

import role_of_activations as lesson
import torch
import torch.nn.functional as F
from course import flat_text
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
    return flat_text(LESSON)


@cache
def all_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The training points, then the fresh test points drawn after them, as on the page."""
    seed_everything(0)
    X, y = make_moons(200, get_device())
    X_test, y_test = make_moons(1000, get_device())
    return X, y, X_test, y_test


def data() -> tuple[torch.Tensor, torch.Tensor]:
    X, y, _, _ = all_data()
    return X, y


def fresh_points() -> tuple[torch.Tensor, torch.Tensor]:
    _, _, X_test, y_test = all_data()
    return X_test, y_test


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


def held_out_accuracy(name: str) -> str:
    X_test, y_test = fresh_points()
    params, _ = trained(name)
    return f"{lesson.accuracy(params, X_test, y_test, lesson.ACTIVATIONS[name]):.1f}%"


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
    assert "trains for 1000 epochs with learning rate 0.4" in page()
    # nn.Linear's default has a mean square of 1/(3 fan_in), the rule's 3
    (W, _), *_ = lesson.init_params([50, 4000], device)
    assert abs(W.pow(2).mean().item() * 3 * 50 - 1) < 0.02


def test_four_activations_final_loss_and_accuracy() -> None:
    text = page()
    for name in lesson.ACTIVATIONS:
        assert abs(trained(name)[1][0].item() - math.log(2)) < 0.05  # "all four start near ln 2"
    assert (
        f"ends at {final('identity')} and {accuracy('identity')} training accuracy "
        f"({held_out_accuracy('identity')} test)"
    ) in text
    assert accuracy("tanh") == accuracy("ReLU") == "99.5%"
    assert (
        f"both reach 99.5%, with losses of {final('tanh')} and {final('ReLU')}, and "
        f"{held_out_accuracy('tanh')} and {held_out_accuracy('ReLU')} on the test points"
    ) in text
    assert f"at this rate it is at {final('sigmoid')} and {accuracy('sigmoid')}, hardly" in text
    assert f"near the straight line's {accuracy('identity')}" in text  # the summary
    assert f"tanh and ReLU reached {accuracy('tanh')} of the training points" in text
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
    with torch.no_grad():
        Z_start = lesson.forward(X, start, torch.relu)[1][0]
        Z_end = lesson.forward(X, params, torch.relu)[1][0]
    dead_start = (Z_start <= 0).all(dim=0)
    dead = (Z_end <= 0).all(dim=0)
    assert torch.equal(dead, dead_start)  # the same three units
    # "every term is 0, and likewise for the bias": the dead units' rows of the gradient
    logits, _ = lesson.forward(X, params, torch.relu)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grad_W1, grad_b1 = torch.autograd.grad(loss, list(params[0]))
    assert grad_W1[dead].abs().max().item() == 0.0
    assert grad_b1[dead].abs().max().item() == 0.0
    assert grad_W1[~dead].abs().max().item() > 0.0


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
    assert "all but `b3`'s are exactly zero" in text
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
    assert (
        "mean derivatives are 0.92 and 0.98 of the largest at the start (tanh's 0.77 and 0.92)"
        in text
    )
    # the big start: first-layer weights and biases times 10
    big = lesson.scale_first_layer(start, 10)
    assert torch.equal(big[1][0], start[1][0])  # the other layers are untouched copies
    assert big[1][0] is not start[1][0]
    (tails, mean), (tails2, mean2) = measure(big, X, "tanh")
    assert tails2 == "0.0%"  # "the second layer is spared the tails"
    assert f"Now {tails} of the first layer's pre-activations start in the flat tails" in text
    assert f"mean derivative falls from 0.77 to {mean} of its largest" in text
    assert f"its mean derivative still drops, from 0.92 to {mean2}" in text
    grad_W1 = lesson.layer_gradient_norms(big, X, y, torch.tanh)[0]
    usual_W1 = lesson.layer_gradient_norms(start, X, y, torch.tanh)[0]
    assert f"gradient shrinks from {usual_W1:.4f} to {grad_W1:.4f}" in text
    big_W1_start = big[0][0].detach().clone()
    losses = lesson.train(big, X, y, torch.tanh, LR, NUM_EPOCHS)
    (tails, _), _ = measure(big, X, "tanh")
    assert f"after 1000 epochs {tails} are still in the tails" in text
    moved = (big[0][0] - big_W1_start).norm().item()
    size = big_W1_start.norm().item()
    usual = trained("tanh")[0][0][0]
    usual_moved = (usual - start[0][0]).norm().item()
    usual_size = start[0][0].norm().item()
    assert 0.7 < moved / usual_moved < 0.8  # "about three quarters as far"
    assert f"moves $W_1$ by {moved:.2f}, about three quarters" in text
    assert f"from the usual start ({usual_moved:.2f})" in text
    assert (
        f"{moved / size:.0%} of its starting size, against {usual_moved / usual_size:.0%}" in text
    )
    assert abs(size / usual_size - 10) < 1e-4  # "weights ten times larger"
    X_test, y_test = fresh_points()
    big_accuracy = lesson.accuracy(big, X, y, torch.tanh)
    big_test = lesson.accuracy(big, X_test, y_test, torch.tanh)
    usual_test = lesson.accuracy(trained("tanh")[0], X_test, y_test, torch.tanh)
    assert big_test >= usual_test  # "no worse, on these points"
    assert (
        f"ends at a loss of {losses[-1].item():.4f}, {big_accuracy:.1f}% training accuracy and "
        f"{big_test:.1f}% test accuracy, against {usual_test:.1f}% from the usual start"
    ) in text


def test_the_rule_for_the_default_weights() -> None:
    """The factors the mathematical foundations work out from sqrt(mean of phi'^2 / 3)."""
    text = page()
    assert f"{math.sqrt(1 / 6):.2f}" == "0.41"
    assert f"{math.sqrt(1 / 3):.2f}" == "0.58"
    assert f"{math.sqrt(1 / 48):.2f}" == "0.14"
    assert "$\\sqrt{1/6} \\approx 0.41$" in text
    assert "$\\sqrt{1/3} \\approx 0.58$" in text
    assert "$\\sqrt{1/48} \\approx 0.14$" in text
    # a number drawn uniformly between -c and c has a mean square of c^2 / 3
    generator = torch.Generator().manual_seed(0)
    c = 0.7
    draws = (2 * torch.rand(1_000_000, generator=generator, dtype=torch.float64) - 1) * c
    assert abs(draws.pow(2).mean().item() / (c**2 / 3) - 1) < 0.01
    # "shrinks about twofold per layer even with tanh and ReLU, and about sevenfold with sigmoid"
    assert 1.5 < 1 / math.sqrt(1 / 3) < 2.5
    assert 1.5 < 1 / math.sqrt(1 / 6) < 2.5
    assert 6.5 < 1 / math.sqrt(1 / 48) < 7.5


@cache
def deep_signals() -> dict[str, tuple[list[float], list[float]]]:
    X, y = data()
    return {
        name: lesson.backward_signals(
            lesson.init_params(DEEP_SIZES, X.device), X, y, lesson.ACTIVATIONS[name]
        )
        for name in ("sigmoid", "tanh", "ReLU")
    }


def test_the_backward_signal_through_eight_layers() -> None:
    X, y = data()
    text = page()
    signals = {name: found[0] for name, found in deep_signals().items()}
    sigmoid, tanh, relu = signals["sigmoid"], signals["tanh"], signals["ReLU"]
    # the signals agree with autograd's gradient with respect to each layer's Z
    params = lesson.init_params(DEEP_SIZES, X.device)
    logits, Z_hidden = lesson.forward(X, params, torch.tanh)
    loss = F.binary_cross_entropy_with_logits(logits, y)
    grads = torch.autograd.grad(loss, [*Z_hidden, logits])
    assert [f"{g.norm().item():.3e}" for g in grads] == [f"{v:.3e}" for v in tanh]
    # the same signal at the output, the loss's gradient on 200 logits near 0
    assert {f"{values[-1]:.1e}" for values in signals.values()} == {"3.5e-02"}
    assert logits.abs().max().item() < 1
    assert f"the same signal at the output, {sigmoid[-1]:.1e}" in text
    assert 5e5 < sigmoid[-1] / sigmoid[0] < 2e6  # "about a millionfold"
    assert f"the sigmoid stack's signal is {sigmoid[0]:.1e}, about a millionfold" in text
    assert f"to {tanh[0]:.1e} and {relu[0]:.1e}: about 70-fold and 700-fold" in text
    assert round(tanh[-1] / tanh[0], -1) == 70
    assert round(relu[-1] / relu[0], -2) == 700
    assert all(before < after for before, after in pairwise(sigmoid))  # every line climbs
    assert all(before < after for before, after in pairwise(tanh))
    assert all(before < after for before, after in pairwise(relu))
    # the rule's prediction against the measured shrinking per layer
    for name, mean_text, predicted_text, measured_text in (
        ("sigmoid", "0.24", "7.1", "7.2"),
        ("tanh", "0.95", "1.8", "1.8"),
        ("ReLU", "0.50", "2.4", "2.6"),
    ):
        derivative, _ = lesson.DERIVATIVES[name]
        with torch.no_grad():
            _, Z_deep = lesson.forward(
                X, lesson.init_params(DEEP_SIZES, X.device), lesson.ACTIVATIONS[name]
            )
        slopes = torch.cat([derivative(Z) for Z in Z_deep])
        assert f"{slopes.mean().item():.2f}" == mean_text
        assert f"{math.sqrt(3 / slopes.pow(2).mean().item()):.1f}" == predicted_text
        values = signals[name]
        assert f"{(values[-1] / values[0]) ** (1 / 7):.1f}" == measured_text
    assert "The sigmoid's derivatives average 0.24" in text
    assert "predicts a shrinking of 7.1 times per layer, and the signal shrank 7.2 times" in text
    assert "Tanh's average 0.95: predicted 1.8, measured 1.8" in text
    assert "ReLU's average 0.50, half the units on: predicted 2.4, measured 2.6" in text


def test_weight_gradients_hide_the_decline() -> None:
    X, _ = data()
    text = page()
    rms = {name: found[1] for name, found in deep_signals().items()}
    # tanh's and ReLU's typical entries of layers 1 to 7 within a factor of 2 and 4
    tanh, relu = rms["tanh"][:7], rms["ReLU"][:7]
    assert max(tanh) / min(tanh) < 2
    assert 2 < max(relu) / min(relu) < 4
    assert "stay within a factor of 2 and 4 of each other" in text
    sigmoid = rms["sigmoid"]
    assert f"from {sigmoid[-1]:.1e} at layer 8 to {sigmoid[0]:.1e} at layer 1" in text
    # root mean square is the norm over the square root of the number of entries
    params = lesson.init_params(DEEP_SIZES, X.device)
    assert all(W.numel() == 1024 for W, _ in params[1:-1])
    # "the activations shrink on the way forward": tanh and ReLU; sigmoid's sit near 1/2
    for name in ("tanh", "ReLU", "sigmoid"):
        activation = lesson.ACTIVATIONS[name]
        with torch.no_grad():
            _, Z_deep = lesson.forward(X, lesson.init_params(DEEP_SIZES, X.device), activation)
        A_rms = [activation(Z).pow(2).mean().sqrt().item() for Z in Z_deep]
        if name == "sigmoid":
            assert all(abs(activation(Z).mean().item() - 0.5) < 0.05 for Z in Z_deep)
        else:
            assert A_rms[0] > 3 * A_rms[3]


def test_modern_activations() -> None:
    Z = torch.linspace(-4, 3, 701)
    for name in ("GELU", "SiLU"):
        _, dA = lesson.curves(lesson.MODERN[name], Z)
        assert dA.min().item() < 0  # dips below 0 on the left
        assert dA.max().item() > 1  # overshoots 1 on the right
    _, d_leaky = lesson.curves(lesson.MODERN["Leaky ReLU (0.1)"], Z)
    assert d_leaky.min().item() > 0  # never 0
    # the figure's description: Leaky ReLU (slope 0.1) at -0.4 for z = -4
    values, _ = lesson.curves(lesson.MODERN["Leaky ReLU (0.1)"], torch.tensor([-4.0]))
    assert abs(values.item() + 0.4) < 1e-6


def test_exercise_1_the_sigmoid_at_its_own_learning_rate() -> None:
    X, y = data()
    X_test, y_test = fresh_points()
    found = {}
    for name, lr in (("sigmoid", 4 * LR), ("sigmoid", 16 * LR), ("tanh", 16 * LR)):
        activation = lesson.ACTIVATIONS[name]
        params = lesson.init_params(SIZES, X.device)
        losses = lesson.train(params, X, y, activation, lr, NUM_EPOCHS)
        found[name, f"{lr:.1f}"] = (
            f"{losses[-1].item():.4f}",
            f"{lesson.accuracy(params, X, y, activation):.1f}%",
            f"{lesson.accuracy(params, X_test, y_test, activation):.1f}%",
        )
    text = page()
    loss_16, train_16, test_16 = found["sigmoid", "1.6"]
    loss_64, train_64, test_64 = found["sigmoid", "6.4"]
    assert (
        f"At a rate of 1.6 the sigmoid network reaches a loss of {loss_16} and {train_16}" in text
    )
    # "about 0.02": its fourth digit differs between machines (0.0207 here, 0.0205 on a GPU)
    assert abs(float(loss_64) - 0.02) < 0.002
    assert f"at 6.4, about 0.02 and {train_64}, as tanh did at 0.4" in text
    assert train_64 == accuracy("tanh")
    assert f"Their test accuracies, {test_16} and {test_64}, straddle tanh's" in text
    assert f"straddle tanh's {held_out_accuracy('tanh')}" in text
    assert float(test_16[:-1]) > float(held_out_accuracy("tanh")[:-1]) > float(test_64[:-1])
    tanh_loss, tanh_train, _ = found["tanh", "6.4"]
    assert float(tanh_loss) > 10  # diverged: its digits are not worth stating
    assert f"which at 6.4 ends at a loss above 10 and {tanh_train}" in text
    assert "A rate 16 times larger made up for it" in text  # the summary


def test_exercise_2_modern_activations_on_the_moons() -> None:
    X, y = data()
    X_test, y_test = fresh_points()
    found = {}
    for name, activation in (("GELU", F.gelu), ("SiLU", F.silu)):
        params = lesson.init_params(SIZES, X.device)
        losses = lesson.train(params, X, y, activation, LR, NUM_EPOCHS)
        found[name] = (
            f"{losses[-1].item():.4f}",
            f"{lesson.accuracy(params, X, y, activation):.1f}%",
            f"{lesson.accuracy(params, X_test, y_test, activation):.1f}%",
        )
    text = page()
    assert (
        f"ReLU reached a loss of {final('ReLU')}, {accuracy('ReLU')} of the training points and "
        f"{held_out_accuracy('ReLU')} of the test points in the lesson"
    ) in text
    gelu_loss, gelu_accuracy, gelu_test = found["GELU"]
    silu_loss, silu_accuracy, silu_test = found["SiLU"]
    assert f"GELU also reaches {gelu_accuracy} (loss {gelu_loss}, test {gelu_test})" in text
    assert f"SiLU {silu_accuracy} (loss {silu_loss}, test {silu_test})" in text
    assert {gelu_accuracy, silu_accuracy, accuracy("ReLU")} == {"99.0%", "99.5%"}
    assert "found all three at 99.0% to 99.5% training accuracy" in text
