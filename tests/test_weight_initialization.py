"""Lesson 3.3: every number and claim the page states is what the snippets compute.

The symmetry runs are pinned to the CPU on the page, so their four-decimal numbers are checked as
printed. The deep stacks are drawn on the CPU and run on the device: float32 on a GPU may round
their sums differently, so the page states their sizes and factors rounded (two or three digits,
none near a rounding boundary) or as orders of magnitude, and they are checked with margins. The
20-layer training is stated rounded and checked with margins measured by nudging its start by
one part in a million (its loss moved by under 0.01)."""

import inspect
import itertools
import math
from fractions import Fraction
from functools import cache, partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import weight_initialization as lesson
import weight_initialization_exercises as exercises
from course import flat_text
from from_linear_to_nonlinear import accuracy, make_moons, train
from helpers import get_device, seed_everything
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "weight-initialization.md"
CPU = torch.device("cpu")
TANH_RULES = ["N(0, 0.01²)", "N(0, 1)", "PyTorch", "Xavier", "Xavier, 5/3"]
RELU_RULES = ["N(0, 0.01²)", "N(0, 1)", "PyTorch", "Kaiming"]
Sizes = dict[str, tuple[list[float], list[float]]]


def page() -> str:
    return flat_text(LESSON)


def prose() -> str:
    """The page without its questions (whose numbers must appear above them too)."""
    text = page()
    return text[: text.index("## Check yourself")]


def source(function: object) -> str:
    """A function's source with all whitespace removed."""
    return "".join(inspect.getsource(function).split())  # type: ignore[arg-type]


def factor(first: float, last: float) -> float:
    """The average factor per layer over the 19 steps between layer 1 and layer 20."""
    return math.pow(last / first, 1 / 19)


# ---------------------------------------------------------------- symmetry (pinned to the CPU)


@cache
def symmetry_runs() -> dict[str, tuple[nn.Module, list[float]]]:
    """The page's zero-start and symmetry-run fences: the same draws, in the same order."""
    seed_everything(0)
    X, y = make_moons(200, CPU)
    zero = lesson.tanh_net()
    lesson.set_every_weight(lesson.linears(zero), 0.0)
    equal, pytorch = lesson.tanh_net(), lesson.tanh_net()
    lesson.set_every_weight(lesson.linears(equal), 0.1)
    runs: dict[str, tuple[nn.Module, list[float]]] = {}
    for name, model in (("all zero", zero), ("every weight 0.1", equal), ("PyTorch's", pytorch)):
        losses = train(model, X, y, lr=1.0, num_epochs=500)
        runs[name] = (model, losses)
    return runs


def moons_on_cpu() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return make_moons(200, CPU)


def test_the_settings_are_the_pages() -> None:
    main = source(lesson.main)
    assert "train(model,X,y,lr=1.0,num_epochs=500)" in main
    assert 'set_every_weight(linears(models["everyweight0.1"]),0.1)' in main
    assert "measure(tanh_rules,torch.tanh,X_deep,G)" in main
    assert "X_deep=torch.randn(256,256,generator=generator)" in main
    # the inputs' generator is seeded apart from the weights' seed_everything(0)
    assert "generator=torch.Generator().manual_seed(2)" in main
    assert "generator=torch.Generator().manual_seed(2)" in source(exercises.main)
    assert "model.apply(redraw)" in source(lesson.initialize)
    assert "deep_relu_net(width=32,depth=20)" in main
    assert "lr=0.02,num_epochs=60" in main
    text = prose()
    assert "500 epochs each at learning rate 1.0" in text
    assert "every weight 0.1 (biases 0)" in text
    assert "Each trains 60 steps of the course's loop at learning rate 0.02" in text
    assert "a network of 20 hidden layers of 32 ReLUs" in text
    assert "Stacks of 20 layers of 256 units, biases 0" in text
    assert "runs 256 random inputs (from a generator of their own) through it" in text
    model = lesson.tanh_net()
    assert sum(p.numel() for p in model.parameters()) == 337
    assert "337 parameters" in text


def test_the_all_zero_start_gets_no_gradient() -> None:
    X, y = moons_on_cpu()
    zero = lesson.tanh_net()
    lesson.set_every_weight(lesson.linears(zero), 0.0)
    loss = F.binary_cross_entropy_with_logits(zero(X), y)
    grads = torch.autograd.grad(loss, list(zero.parameters()))
    assert len(grads) == 6
    assert all(torch.equal(g, torch.zeros_like(g)) for g in grads)
    assert y.mean().item() == 0.5  # "the 200 points are half of each class"
    # The derivation: with unbalanced classes only the output bias moves, by 1/2 - mean(y).
    X_odd, y_odd = make_moons(201, CPU)
    loss = F.binary_cross_entropy_with_logits(zero(X_odd), y_odd)
    *others, b3 = torch.autograd.grad(loss, list(zero.parameters()))
    assert all(torch.equal(g, torch.zeros_like(g)) for g in others)
    assert b3.item() == pytest.approx(0.5 - y_odd.mean().item(), abs=1e-7)
    assert b3.item() != 0
    text = prose()
    assert "All six gradients are exactly 0, the output bias's too" in text
    assert "as the 200 points are half of each class" in text


def test_three_starts() -> None:
    runs = symmetry_runs()
    X, y = moons_on_cpu()
    found = {
        name: (f"{losses[-1]:.4f}", f"{accuracy(model, X, y):.1%}", lesson.distinct_units(model))
        for name, (model, losses) in runs.items()
    }
    zero_losses = runs["all zero"][1]
    assert all(loss == zero_losses[0] for loss in zero_losses)  # "nothing moves"
    assert f"{zero_losses[0]:.4f}" == f"{math.log(2):.4f}" == "0.6931"
    assert found["all zero"] == ("0.6931", "50.0%", [1, 1])
    loss, acc, units = found["every weight 0.1"]
    assert units == [1, 1]
    loss_pt, acc_pt, units_pt = found["PyTorch's"]
    assert units_pt == [16, 16]
    equal = runs["every weight 0.1"][0]
    W1 = lesson.linears(equal)[0].weight.detach()
    assert all(torch.equal(row, W1[0]) for row in W1)  # equal to the last bit
    pair = f"({W1[0, 0].item():.4f}, {W1[0, 1].item():.4f})"
    text = prose()
    assert "the loss stays at $\\ln 2 \\approx 0.6931$, the accuracy at 50.0%" in text
    assert f"the network learns, to {loss} and {acc}, but each hidden layer still holds one" in text
    assert f"all 16 rows of $W_1$ moved to the same ${pair}$" in text
    assert f"From PyTorch's start: {loss_pt} and {acc_pt}, with 16 distinct units" in text


def test_the_equal_network_draws_a_straight_line() -> None:
    """All its units equal, the logit rises or falls with one weighted sum of the inputs; and it
    does no better than logistic regression on the same points."""
    model = symmetry_runs()["every weight 0.1"][0]
    W1, W2, W3 = (layer.weight.detach() for layer in lesson.linears(model))
    b1 = lesson.linears(model)[0].bias.detach()
    assert len(W2.unique()) == 1  # rows and columns equal: every entry equal
    assert len(W3.unique()) == 1
    grid = torch.cartesian_prod(torch.linspace(-2, 3, 60), torch.linspace(-1.5, 2, 60))
    with torch.no_grad():
        logits = model(grid)[:, 0]
    u = grid @ W1[0] + b1[0]  # the one weighted sum every unit computes
    order = u.argsort()
    steps = logits[order].diff()
    assert (steps >= -1e-6).all() or (steps <= 1e-6).all()  # monotone in u
    X, y = moons_on_cpu()
    seed_everything(0)
    logistic = nn.Linear(2, 1)
    train(logistic, X, y, lr=1.0, num_epochs=500)
    assert accuracy(logistic, X, y) >= accuracy(model, X, y)
    assert "doing no better than lesson 2.1's logistic regression" in prose()


def test_a_small_start_is_slow_to_leave() -> None:
    """In-depth: from N(0, 0.01^2) weights (biases 0) the tanh network's weight gradients are
    shrunk by the small weights, and after 100 epochs its loss is still far above the loss from
    PyTorch's own start, drawn next from the same seed."""
    X, y = moons_on_cpu()
    small, pytorch = lesson.tanh_net(), lesson.tanh_net()
    lesson.initialize(small, lesson.WEIGHT_INITS["N(0, 0.01²)"])

    def largest_weight_gradients(model: nn.Module) -> list[float]:
        loss = F.binary_cross_entropy_with_logits(model(X), y)
        weights = [layer.weight for layer in lesson.linears(model)]
        return [g.abs().max().item() for g in torch.autograd.grad(loss, weights)]

    assert max(largest_weight_gradients(small)) < min(largest_weight_gradients(pytorch)) / 10
    small_losses = train(small, X, y, lr=1.0, num_epochs=100)
    pytorch_losses = train(pytorch, X, y, lr=1.0, num_epochs=100)
    assert small_losses[-1] > 0.6  # still near ln 2
    assert small_losses[-1] > 3 * pytorch_losses[-1]
    assert "starts nearly linear and is slow to leave: each weight's gradient is shrunk" in prose()


@pytest.mark.parametrize("optimizer", ["momentum", "Adam"])
def test_any_entrywise_optimizer_keeps_equal_units_equal(optimizer: str) -> None:
    X, y = moons_on_cpu()
    model = lesson.tanh_net()
    lesson.set_every_weight(lesson.linears(model), 0.1)
    params = list(model.parameters())
    opt: torch.optim.Optimizer = (
        torch.optim.SGD(params, lr=0.5, momentum=0.9)
        if optimizer == "momentum"
        else torch.optim.Adam(params, lr=0.01)
    )
    for _ in range(100):
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(model(X), y).backward()
        opt.step()
    assert lesson.distinct_units(model) == [1, 1]
    assert "as SGD, momentum and Adam do" in prose()


# ----------------------------------------------------------------------- the deep stacks


@cache
def stacks() -> tuple[Sizes, Sizes]:
    """The page's stack-run fence."""
    device = get_device()
    generator = torch.Generator().manual_seed(2)
    X_deep = torch.randn(256, 256, generator=generator).to(device)
    G = torch.randn(256, 256, generator=generator).to(device)
    return (
        lesson.measure(TANH_RULES, torch.tanh, X_deep, G),
        lesson.measure(RELU_RULES, torch.relu, X_deep, G),
    )


def test_the_math_examples() -> None:
    r_small = math.sqrt(256 * 0.0001 / 2)
    r_large = math.sqrt(128)
    assert f"{r_small:.3f}" == "0.113"
    assert f"{r_large:.1f}" == "11.3"
    assert 1e-19 < r_small**20 < 2e-19
    assert 1e21 < r_large**20 < 2e21
    assert 2**20 > 1e6
    assert 0.5**20 < 1e-6
    assert f"{math.sqrt(1 / 6):.3f}" == "0.408"
    assert f"{math.sqrt(1 / 3):.3f}" == "0.577"
    # ReLU keeps half the mean square of a symmetric input; a uniform draw has c^2 / 3
    z = torch.randn(1_000_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.relu(z).pow(2).mean().item() == pytest.approx(0.5, rel=0.01)
    c = 0.3
    u = (torch.rand(1_000_000, generator=torch.Generator().manual_seed(2)) * 2 - 1) * c
    assert u.pow(2).mean().item() == pytest.approx(c**2 / 3, rel=0.01)
    # tanh bends at a std of 0.6: E[tanh(z)^2] is only 0.62 of Var(z)
    assert f"{torch.tanh(0.6 * z).pow(2).mean().item() / 0.6**2:.2f}" == "0.62"
    # "Going deeper": Kaiming's forward rule, backward factors n_l / n_(l-1), telescope
    widths = [64, 256, 128, 512, 32]
    product = Fraction(1)
    for before, after in itertools.pairwise(widths):
        product *= after * Fraction(2, before) * Fraction(1, 2)
    assert product == Fraction(widths[-1], widths[0])
    text = prose()
    assert "r = \\sqrt{256 \\cdot 0.0001 / 2} \\approx 0.113" in text
    assert "$r = \\sqrt{128} \\approx 11.3$" in text
    assert "Twenty layers multiply by about $10^{-19}$ or $10^{21}$" in text
    assert "about 0.408 per ReLU layer and 0.577 per tanh layer" in text
    assert "a factor of 0.41 to 0.58 per layer" in text
    assert "when its input $z$ has a std of 0.6, $\\mathbb{E}[\\tanh(z)^2]$ is only 0.62 of" in text


def test_the_same_dice_scaled() -> None:
    """Every rule fills its stack from the same random numbers: the two normal stacks' weights are
    the same draws, 0.01 times, and the ReLU stacks' outputs 100^20 = 1e40 apart."""
    weights = []
    for std in (0.01, 1.0):
        seed_everything(0)
        stack = nn.Sequential(*(nn.Linear(8, 8) for _ in range(3)))
        lesson.initialize(stack, partial(nn.init.normal_, std=std))
        weights.append(torch.cat([layer.weight.flatten() for layer in lesson.linears(stack)]))
    assert torch.allclose(weights[0], 0.01 * weights[1], rtol=1e-6, atol=0)
    _, relu = stacks()
    ratio = relu["N(0, 1)"][0][-1] / relu["N(0, 0.01²)"][0][-1]
    assert ratio == pytest.approx(1e40, rel=1e-3)
    # nn.init's functions fill in place and record no graph
    layer = nn.Linear(4, 4)
    nn.init.normal_(layer.weight)
    assert layer.weight.is_leaf
    assert layer.weight.grad_fn is None
    assert "$100^{20} = 10^{40}$ times the $N(0, 0.01^2)$ stack drawn from the same dice" in prose()


def test_too_small_and_too_large() -> None:
    tanh, relu = stacks()
    forward, backward = tanh["N(0, 0.01²)"]
    assert f"{forward[0]:.2f}" == "0.16"
    assert 5e-17 < forward[-1] < 3e-16  # "about 1e-16"
    assert backward[0] < 1e-15
    forward, backward = relu["N(0, 0.01²)"]
    assert 3e-20 < forward[-1] < 3e-19  # "about 1e-19"
    assert backward[0] < 1e-18
    assert 6.5e20 < relu["N(0, 1)"][0][-1] < 7.5e20  # "about 7e20"
    for sizes, low, high in ((tanh, 5e-6, 5e-5), (relu, 5e-9, 5e-8)):  # "1e-5" and "1e-8"
        forward, backward = sizes["PyTorch"]
        assert low < forward[-1] < high
        assert low < backward[0] < high
    text = prose()
    assert "So $N(0, 0.01^2)$ kills both stacks both ways, and PyTorch's rule shrinks them" in text
    assert "to about $10^{-8}$ at ReLU's layer 20" in text
    assert "the ReLU stack explodes to about $7 \\times 10^{20}$" in text


def test_predictions_against_measurements() -> None:
    tanh, relu = stacks()
    n = 256

    def predicted(name: str, activation: str) -> float:
        return math.sqrt(n * lesson.VARIANCES[name](n) * lesson.Q[activation])

    def forward_r(sizes: Sizes, name: str) -> float:
        forward, _ = sizes[name]
        return factor(forward[0], forward[-1])

    def backward_r(sizes: Sizes, name: str) -> float:
        _, backward = sizes[name]
        return factor(backward[-1], backward[0])

    assert f"{predicted('N(0, 0.01²)', 'tanh'):.3f}" == "0.160"
    assert f"{predicted('N(0, 0.01²)', 'ReLU'):.3f}" == "0.113"
    assert f"{predicted('PyTorch', 'tanh'):.3f}" == "0.577"
    assert f"{predicted('PyTorch', 'ReLU'):.3f}" == "0.408"
    assert f"{predicted('N(0, 1)', 'ReLU'):.3f}" == "11.314"
    assert predicted("N(0, 1)", "tanh") == 16
    assert predicted("Xavier", "tanh") == predicted("Kaiming", "ReLU") == 1
    assert f"{predicted('Xavier, 5/3', 'tanh'):.3f}" == "1.667"
    # measured, in the page's rounding (no value near a rounding boundary)
    assert f"{forward_r(tanh, 'PyTorch'):.3f}" == "0.575"
    assert f"{forward_r(relu, 'PyTorch'):.3f}" == "0.412"
    assert f"{forward_r(relu, 'Kaiming'):.2f}" == "0.98"
    assert f"{backward_r(relu, 'Kaiming'):.2f}" == "1.00"
    # "predicts to a few percent, both ways" where the assumptions hold
    for sizes, activation, names in (
        (tanh, "tanh", ["N(0, 0.01²)", "PyTorch"]),
        (relu, "ReLU", RELU_RULES),
    ):
        for name in names:
            for measured in (forward_r(sizes, name), backward_r(sizes, name)):
                assert abs(measured / predicted(name, activation) - 1) < 0.03, name
    text = prose()
    assert "(ReLU, and tanh with a small signal), the measured factors match $r$ to a few" in text
    assert "for PyTorch's rule, 0.577 and 0.408 predicted, 0.575 and 0.412 measured forward" in text
    assert "Kaiming's ReLU stack measures 0.98 forward and 1.00 backward" in text


def test_the_rules_hold_the_line() -> None:
    tanh, relu = stacks()
    forward, backward = relu["Kaiming"]
    assert (f"{forward[0]:.2f}", f"{forward[-1]:.2f}") == ("0.82", "0.61")
    # "off by up to about 10% at random": the layer-to-layer factors of one draw
    steps = [after / before for before, after in itertools.pairwise(forward)]
    assert 0.05 < max(abs(step - 1) for step in steps) < 0.15
    # tanh with N(0, 1): saturated outputs, growing backward signal
    forward, backward = tanh["N(0, 1)"]
    assert all(0.97 < size < 0.976 for size in forward)  # "about 0.97" (0.973 to 0.975)
    assert f"{factor(forward[0], forward[-1]):.3f}" == "1.000"
    assert 2.9 < factor(backward[-1], backward[0]) < 3.05  # "about 3"
    assert 5e7 < backward[0] < 5e8  # "about 1e8"
    # Xavier's tanh stack: shrinks, faster in the first ten layers than in the last ten
    forward, _ = tanh["Xavier"]
    assert f"{factor(forward[0], forward[-1]):.2f}" == "0.93"
    assert (f"{forward[0]:.2f}", f"{forward[-1]:.2f}") == ("0.63", "0.16")
    assert math.pow(forward[9] / forward[0], 1 / 9) < math.pow(forward[-1] / forward[9], 1 / 10)
    _, xavier_backward = tanh["Xavier"]
    assert (f"{xavier_backward[-1]:.2f}", f"{xavier_backward[0]:.2f}") == ("0.98", "0.18")
    # the gain 5/3: settles near a std of 0.65, falling to it from 0.76; grows on the way back
    forward, backward = tanh["Xavier, 5/3"]
    assert f"{factor(forward[0], forward[-1]):.2f}" == "0.99"
    assert f"{forward[0]:.2f}" == "0.76"
    assert forward[0] > forward[1] > forward[2] > forward[3]
    assert all(0.64 < size < 0.66 for size in forward[3:])
    assert f"{factor(backward[-1], backward[0]):.2f}" == "1.08"
    assert (f"{backward[-1]:.2f}", f"{backward[0]:.1f}") == ("0.67", "3.0")
    text = prose()
    assert "its outputs go from 0.82 to 0.61, mostly the wobble of one random draw" in text
    assert "off by up to about 10% at random" in text
    assert "the outputs sit at a std of about 0.97, nearly all at $\\pm 1$" in text
    assert "grows by about 3 per layer, to about $10^{8}$ at layer 1" in text
    assert "shrinks by 0.93 per layer, from 0.63 to 0.16, faster in the first ten layers" in text
    assert "would grow by 1.667, comes out at 0.99" in text
    assert "near a std of 0.65, here from above, since inputs of std 1 start it at 0.76" in text
    assert (
        "grows by about 1.08 per layer, from 0.67 at layer 20 to 3.0 at layer 1, while Xavier's"
        " shrinks from 0.98 to 0.18" in text
    )


def test_kaimings_drift_is_mostly_one_draws_wobble() -> None:
    """Over 30 draws of the ReLU stack the factor per layer averages much nearer 1 than the
    lesson's one draw: "mostly the wobble of one random draw"."""
    _, relu = stacks()
    forward, _ = relu["Kaiming"]
    one_draw = factor(forward[0], forward[-1])
    X_deep = torch.randn(256, 256, generator=torch.Generator().manual_seed(2))
    factors = []
    with torch.no_grad():
        for seed in range(1, 31):
            torch.manual_seed(seed)
            A, sizes = X_deep, []
            for _ in range(20):
                W = nn.init.kaiming_normal_(torch.empty(256, 256), nonlinearity="relu")
                A = torch.relu(A @ W.T)
                sizes.append(A.std().item())
            factors.append(factor(sizes[0], sizes[-1]))
    average = sum(factors) / len(factors)
    assert abs(average - 1) < abs(one_draw - 1) / 2
    assert "(the rule holds on average over draws)" in prose()


def test_saturated_tanh_outputs_sit_at_the_ends() -> None:
    """'nearly all at +-1': the last layer's outputs of the N(0, 1) tanh stack."""
    generator = torch.Generator().manual_seed(2)
    X_deep = torch.randn(256, 256, generator=generator)
    seed_everything(0)
    stack = nn.Sequential(*(nn.Linear(256, 256) for _ in range(20)))
    lesson.initialize(stack, lesson.WEIGHT_INITS["N(0, 1)"])
    with torch.no_grad():
        A = X_deep
        for layer in stack:
            A = torch.tanh(layer(A))
    assert (A.abs() > 0.9).float().mean().item() > 0.9


# ------------------------------------------------------------------------- nn.init and defaults


def test_gains_and_rules() -> None:
    gain = nn.init.calculate_gain
    assert gain("linear") == gain("sigmoid") == 1
    assert f"{gain('relu'):.4f}" == "1.4142"
    assert gain("relu") == math.sqrt(2)
    assert f"{gain('tanh'):.4f}" == "1.6667"
    assert gain("tanh") == 5 / 3
    slope = math.sqrt(5)
    assert gain("leaky_relu", slope) == pytest.approx(math.sqrt(2 / (1 + slope**2)))
    assert f"{gain('leaky_relu', slope):.4f}" == "0.5774"
    assert gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert f"{math.sqrt(6 / 768):.4f}" == "0.0884" == f"{math.sqrt(2 / 256):.4f}"
    assert f"{math.sqrt(2 / 768):.4f}" == "0.0510"
    assert math.sqrt(2 / 512) == 0.0625
    W = torch.empty(512, 256)
    nn.init.xavier_uniform_(W)
    assert W.abs().max().item() <= math.sqrt(6 / 768)
    assert W.abs().max().item() > 0.999 * math.sqrt(6 / 768)
    assert f"{W.std().item():.4f}" == "0.0510"
    nn.init.kaiming_normal_(W, nonlinearity="relu")
    assert abs(W.std().item() - math.sqrt(2 / 256)) < 0.001
    nn.init.kaiming_normal_(W, mode="fan_out", nonlinearity="relu")
    assert abs(W.std().item() - 0.0625) < 0.001
    # the uniform versions draw within sqrt(3) std (kaiming_uniform_ here)
    nn.init.kaiming_uniform_(W, nonlinearity="relu")
    assert W.abs().max().item() <= math.sqrt(3) * math.sqrt(2 / 256)
    text = prose()
    assert (
        "`'relu'` gives $\\sqrt{2} \\approx 1.4142$, `'tanh'` $\\tfrac{5}{3} \\approx 1.6667$"
        in text
    )
    assert "with slope $\\sqrt{5}$ gives $1/\\sqrt{3} \\approx 0.5774$" in text
    assert (
        "bound, $\\sqrt{6/768} \\approx 0.0884$, with a std of $\\sqrt{2/768} \\approx 0.0510$"
        in text
    )
    assert (
        '$\\sqrt{2/256} \\approx 0.0884$, or with `mode="fan_out"` about $\\sqrt{2/512} = 0.0625$'
        in (text)
    )


def test_what_the_source_says() -> None:
    """The source lines the page quotes, in the installed PyTorch."""
    linear = source(nn.Linear.reset_parameters)
    assert "init.kaiming_uniform_(self.weight,a=math.sqrt(5))" in linear
    assert "bound=1/math.sqrt(fan_in)" in linear
    assert "init.uniform_(self.bias,-bound,bound)" in linear
    assert "57109" in inspect.getsource(nn.Linear.reset_parameters)
    assert inspect.signature(nn.init.kaiming_uniform_).parameters["nonlinearity"].default == (
        "leaky_relu"
    )
    assert inspect.signature(nn.init.kaiming_uniform_).parameters["mode"].default == "fan_in"
    conv = source(nn.Conv2d.reset_parameters)
    assert "kaiming_uniform_(self.weight,a=math.sqrt(5))" in conv
    assert "init.uniform_(self.bias,-bound,bound)" in conv
    assert "init.normal_(self.weight)" in source(nn.Embedding.reset_parameters)
    for norm in (nn.LayerNorm, nn.BatchNorm1d):
        code = source(norm.reset_parameters)
        assert "init.ones_(self.weight)" in code
        assert "init.zeros_(self.bias)" in code
    text = prose()
    assert "`init.kaiming_uniform_(self.weight, a=math.sqrt(5))`" in text
    assert "GitHub issue 57109" in text


@cache
def default_layers() -> dict[str, nn.Module]:
    """The page's random-start, default-bounds and other-layers fences, in order."""
    torch.manual_seed(0)
    layers: dict[str, nn.Module] = {"layer": nn.Linear(4, 3)}
    torch.manual_seed(0)
    layers["again"] = nn.Linear(4, 3)
    layers["after"] = nn.Linear(4, 3)
    layers["big"] = nn.Linear(1024, 1024)
    layers["conv"] = nn.Conv2d(16, 32, kernel_size=3)
    layers["embedding"] = nn.Embedding(1000, 64)
    return layers


def test_how_are_weights_and_biases_chosen() -> None:
    layers = default_layers()
    layer, again, after = (layers[name] for name in ("layer", "again", "after"))
    params = dict(layer.named_parameters())
    bias = params["bias"]
    assert bias.shape == (3,)
    assert (bias != 0).all()  # "none of them 0"
    for p in layer.parameters():
        assert p.abs().max().item() <= 0.5
    for a, b in zip(layer.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)  # the same seed, the same draw
    assert not torch.equal(params["weight"], dict(after.named_parameters())["weight"])
    text = prose()
    assert "A layer with 4 inputs draws within $\\pm 0.5$" in text
    assert "The bias holds three random numbers, none of them 0" in text
    assert "its biases do not start at 0" in text


def test_the_default_range_and_variance() -> None:
    big = default_layers()["big"]
    c = 1 / math.sqrt(1024)
    assert c == 0.03125
    for p in big.parameters():
        assert p.abs().max().item() <= c
        assert p.min().item() < -0.99 * c
        assert p.max().item() > 0.99 * c
        assert p.pow(2).mean().item() == pytest.approx(c**2 / 3, rel=0.02)
    assert f"{c**2 / 3:.3e}" == "3.255e-04"
    bound = nn.init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3 / 1024)
    assert f"{bound:.5f}" == "0.03125"
    text = prose()
    assert "With 1024 inputs the bound is $1/\\sqrt{1024} = 0.03125$" in text
    assert "The weights come within 1% of the bound, with a mean square close to" in text
    assert "$c^2/3 \\approx 3.255 \\times 10^{-4}$" in text


def test_other_layers() -> None:
    layers = default_layers()
    conv = layers["conv"]
    weight, bias = (dict(conv.named_parameters())[name] for name in ("weight", "bias"))
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
    assert fan_in == 16 * 3 * 3 == 144
    assert f"{1 / 12:.4f}" == "0.0833"
    assert 0.999 / 12 < weight.abs().max().item() <= 1 / 12  # "which its weights reach"
    assert bias.numel() == 32
    assert bias.abs().max().item() <= 1 / 12
    E = dict(layers["embedding"].named_parameters())["weight"]
    assert f"{E.std().item():.3f}" == "1.001"
    assert abs(E.mean().item()) < 0.01
    for norm in (nn.LayerNorm(64), nn.BatchNorm1d(64)):
        w, b = dict(norm.named_parameters()).values()
        assert bool((w == 1).all())
        assert bool((b == 0).all())
    text = prose()
    assert (
        "$16 \\cdot 3 \\cdot 3 = 144$ inputs per output give a bound of $1/12 \\approx 0.0833$"
        in text
    )
    assert "its 32 biases stay within" in text
    assert "a mean near 0 and a std of 1.001" in text


# ------------------------------------------------------------------------------ training


@cache
def deep_runs() -> dict[str, tuple[nn.Module, list[float]]]:
    """The page's deep-training fence."""
    device = get_device()
    seed_everything(0)
    X, y = make_moons(200, device)
    runs: dict[str, tuple[nn.Module, list[float]]] = {}
    for name in ("N(0, 0.01²)", "N(0, 1)", "PyTorch's own", "Kaiming"):
        seed_everything(0)
        model = lesson.deep_relu_net(width=32, depth=20)
        if name in lesson.WEIGHT_INITS:
            lesson.initialize(model, lesson.WEIGHT_INITS[name])
        runs[name] = (model, train(model.to(device), X, y, lr=0.02, num_epochs=60))
    return runs


def deep_start(name: str) -> nn.Module:
    seed_everything(0)
    model = lesson.deep_relu_net(width=32, depth=20)
    if name in lesson.WEIGHT_INITS:
        lesson.initialize(model, lesson.WEIGHT_INITS[name])
    return model.to(get_device())


def test_only_kaiming_trains() -> None:
    runs = deep_runs()
    seed_everything(0)
    X, y = make_moons(200, get_device())
    model, losses = runs["Kaiming"]
    assert f"{losses[0]:.3f}" == "0.675"
    assert all(b < a for a, b in itertools.pairwise(losses))  # "falls steadily"
    assert 0.39 < losses[-1] < 0.43  # "about 0.41"
    assert 0.845 <= accuracy(model, X, y) <= 0.875  # "about 86%"
    for name in ("N(0, 0.01²)", "PyTorch's own"):
        model, losses = runs[name]
        assert all(abs(loss - math.log(2)) < 0.002 for loss in losses), name  # "near 0.693"
        assert f"{accuracy(model, X, y):.1%}" == "50.0%"
    _, losses = runs["N(0, 1)"]
    assert 5e10 < losses[0] < 7e10  # "about 6e10"
    assert not any(math.isfinite(loss) for loss in losses[1:])
    text = prose()
    assert "its loss falls steadily from 0.675 to about 0.41, with about 86% of the points" in text
    assert "the loss stays near 0.693, $\\ln 2$, with 50.0%" in text
    assert "the first loss is about $6 \\times 10^{10}$" in text


def test_why_the_others_do_not_train() -> None:
    seed_everything(0)
    X, y = make_moons(200, get_device())
    for name in ("N(0, 0.01²)", "PyTorch's own"):
        model = deep_start(name)
        first = lesson.linears(model)[0]
        loss = F.binary_cross_entropy_with_logits(model(X), y)
        (grad,) = torch.autograd.grad(loss, [first.weight])
        assert grad.abs().max().item() < 1e-7, name  # "hardly any gradient reaches"
        with torch.no_grad():
            logits = model(X)
        # "the output is nearly the same for every point"
        assert logits.std().item() < 1e-6, name
    # N(0, 1): one step makes some weights enormous, and the next forward pass overflows
    model = deep_start("N(0, 1)")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    F.binary_cross_entropy_with_logits(model(X), y).backward()
    optimizer.step()
    assert max(p.abs().max().item() for p in model.parameters()) > 1e6
    with torch.no_grad():
        assert not torch.isfinite(model(X)).all()
    text = prose()
    assert "hardly any gradient reaches the lower layers" in text
    assert "the next forward pass overflows" in text


# ------------------------------------------------------------------------------ exercises


def test_exercise_1_which_equal_weights_keep_units_identical() -> None:
    X, y = moons_on_cpu()
    found = {}
    for name, equal in {"W1 equal": [0], "W2, W3 equal": [1, 2]}.items():
        model = lesson.tanh_net()
        lesson.set_every_weight([lesson.linears(model)[i] for i in equal], 0.1)
        before = lesson.distinct_units(model)
        train(model, X, y, lr=1.0, num_epochs=500)
        found[name] = (before, lesson.distinct_units(model), f"{accuracy(model, X, y):.1%}")
    assert found["W1 equal"] == ([1, 16], [16, 16], "99.5%")
    assert found["W2, W3 equal"] == ([16, 1], [16, 1], "99.5%")
    text = prose()
    assert "the first layer starts with one distinct unit and ends with 16" in text
    assert "Both reach 99.5%" in text
    assert "Lesson 2.1 said that equal incoming weights alone do not keep units identical" in text


@cache
def exercise_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    X_deep = torch.randn(256, 256, generator=generator).to(get_device())
    G = torch.randn(256, 256, generator=generator).to(get_device())
    return X_deep, G


def test_exercise_2_the_rules_swapped() -> None:
    X_deep, G = exercise_inputs()
    forward, backward = lesson.measure(["Xavier"], torch.relu, X_deep, G)["Xavier"]
    assert f"{math.sqrt(1 / 2):.3f}" == "0.707"
    assert f"{factor(forward[0], forward[-1]):.2f}" == "0.71"
    assert 5e-4 < forward[-1] < 2e-3  # "about 1e-3"
    forward, backward = lesson.measure(["Kaiming"], torch.tanh, X_deep, G)["Kaiming"]
    assert f"{math.sqrt(2):.3f}" == "1.414"
    assert f"{factor(forward[0], forward[-1]):.2f}" == "0.99"
    assert f"{factor(backward[-1], backward[0]):.2f}" == "1.03"
    assert f"{forward[0]:.2f}" == "0.72"
    assert all(0.55 < size < 0.57 for size in forward[5:])  # "settling between 0.55 and 0.57"
    text = prose()
    assert "the stack shrinks by about 0.71 per layer, to about $10^{-3}$ at layer 20" in text
    assert "predicts 1.414 for tanh, but tanh's bending holds the signal back" in text
    assert (
        "0.99 forward, falling from 0.72 and settling between 0.55 and 0.57, and 1.03 backward"
        in text
    )


def test_exercise_3_pytorchs_own_biases() -> None:
    X_deep, G = exercise_inputs()
    n = 256
    # the fixed points of Var(z) = q/3 Var(z) + 1/(3n)
    tanh_var = Fraction(1, 3 * n) / (1 - Fraction(1, 3))
    relu_var = Fraction(1, 3 * n) / (1 - Fraction(1, 6))
    assert tanh_var == Fraction(1, 2 * n)
    assert relu_var == Fraction(2, 5 * n)
    assert f"{1 / math.sqrt(512):.3f}" == "0.044"
    assert f"{math.sqrt(0.4 / n):.3f}" == "0.040"
    relu_share = math.sqrt(1 / 2 - 1 / (2 * math.pi))  # the std of max(0, z) for z ~ N(0, 1)
    assert f"{relu_share:.2f}" == "0.58"
    shares = {}
    for name, activation, low, high in (
        ("tanh", torch.tanh, 0.040, 0.048),
        ("ReLU", torch.relu, 0.020, 0.024),
    ):
        seed_everything(0)
        stack = nn.Sequential(*(nn.Linear(n, n) for _ in range(20))).to(X_deep.device)
        forward, _ = lesson.signal_sizes(stack, X_deep, G, activation)
        assert all(low < size < high for size in forward[9:]), name  # "settle near"
        with torch.no_grad():
            A = X_deep
            for layer in stack:
                A = activation(layer(A))
        shares[name] = (A.std(dim=0).mean() / A.std()).item()
    assert f"{shares['tanh']:.1e}" == "2.4e-04"
    assert 2e-7 < shares["ReLU"] < 5e-7  # "about 3e-7" (float32 rounding shows at this size)
    text = prose()
    assert "settle near 0.044 for tanh and 0.022 for ReLU" in text
    assert "a std of $1/\\sqrt{512} \\approx 0.044$; $0.4/n$ for ReLU, a std of about 0.040" in text
    assert "ReLU's outputs keep about 0.58" in text
    assert "$2.4 \\times 10^{-4}$ and about $3 \\times 10^{-7}$" in text


def test_the_exercise_file_runs_the_pages_code() -> None:
    code = source(exercises.main)
    assert "set_every_weight([linears(model)[i]foriinequal],0.1)" in code
    assert 'measure(["Xavier"],torch.relu,X_deep,G)' in code
    assert "share=A.std(dim=0).mean()/A.std()" in code


def test_questions_state_the_lessons_numbers() -> None:
    text = page()
    questions = text[text.index("## Check yourself") :]
    for number in ("0.2661", "89.0%", "about 0.97", "about 3 per layer", "$\\pm 0.5$"):
        assert number in questions
        assert number in prose()
