"""Lesson 2.1: every number and claim the page states is what the snippets compute."""

import math
from pathlib import Path

import from_linear_to_nonlinear as lesson
import from_linear_to_nonlinear_exercises as exercises
import torch
import torch.nn.functional as F
from course import flat_text
from helpers import get_device, seed_everything
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "from-linear-to-nonlinear.md"
LR, NUM_EPOCHS = 1.0, 500  # as in the lesson's fit section
X_LOW, X_HIGH = -math.pi, math.pi  # the sine's interval


def page() -> str:
    return flat_text(LESSON)


Data = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def lesson_data() -> Data:
    """The page's data fence: 200 points to train on, 1000 to test on."""
    seed_everything(0)
    device = get_device()
    X, y = lesson.make_moons(200, device)
    X_test, y_test = lesson.make_moons(1000, device)
    return X, y, X_test, y_test


def lesson_models() -> tuple[Data, nn.Linear, nn.Sequential]:
    """The data, then the two models as the page creates them (no random draw in between)."""
    data = lesson_data()
    device = get_device()
    linear = nn.Linear(2, 1).to(device)
    mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
    return data, linear, mlp


def pct(fraction: float) -> str:
    return f"{fraction:.1%}"


def test_the_moons() -> None:
    X, y, X_test, y_test = lesson_data()
    assert X.shape == (200, 2)
    assert y_test.shape == (1000, 1)
    assert y.shape == (200, 1)
    assert X_test.shape == (1000, 2)
    assert set(y.flatten().tolist()) == {0.0, 1.0}
    assert int(y.sum().item()) == 100
    assert "200 points to train on, half of them in each class" in page()
    # the noise-free moons: the upper moon's right tip lies inside a triangle of lower-moon points
    seed_everything(0)
    clean, labels = lesson.make_moons(2000, torch.device("cpu"), noise=0.0)
    upper, lower = clean[labels[:, 0] == 0], clean[labels[:, 0] == 1]
    assert ((upper.norm(dim=1) - 1).abs() < 1e-5).all()  # unit circle around (0, 0)
    shifted = lower - torch.tensor([1.0, 0.5])
    assert ((shifted.norm(dim=1) - 1).abs() < 1e-5).all()  # unit circle around (1, 0.5)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()  # flipped: below its centre


def test_binary_cross_entropy_by_hand_and_with_logits() -> None:
    text = page()
    logits = torch.tensor([[2.0], [-1.0], [0.5]], requires_grad=True)
    targets = torch.tensor([[1.0], [0.0], [0.0]])
    by_hand = lesson.bce_by_hand(logits, targets)
    builtin = F.binary_cross_entropy_with_logits(logits, targets)
    assert f"{by_hand.item():.4f}" == f"{builtin.item():.4f}"
    assert "The two losses agree, and each gradient is $p - y$" in text
    builtin.backward()
    assert logits.grad is not None
    p_minus_y = (torch.sigmoid(logits) - targets).detach()
    assert torch.allclose(3 * logits.grad, p_minus_y, atol=1e-6)
    first, second, third = p_minus_y.flatten().tolist()
    assert first < 0 < min(second, third)
    assert "negative for the class-1 example" in text
    assert "positive for the two class-0 examples" in text


def test_confident_wrong_logits() -> None:
    """In float32 (on the CPU, as the build runs it) the sigmoid rounds to exactly 0 for a large
    negative logit, and to exactly 1 from a logit of about 17: the literal formula takes log 0."""
    text = page()
    for z, label, exact in ((-200.0, 1.0, 200.0), (20.0, 0.0, 20.0)):
        logit, target = torch.tensor([[z]]), torch.tensor([[label]])
        assert math.isinf(lesson.bce_by_hand(logit, target).item())
        assert F.binary_cross_entropy_with_logits(logit, target).item() == exact
    assert "the exact answers, 200.0 and 20.0" in text
    assert "once because the sigmoid rounded to 0 and once because it rounded to 1" in text
    assert torch.sigmoid(torch.tensor(-200.0)).item() == 0.0
    assert torch.sigmoid(torch.tensor(20.0)).item() == 1.0
    # "from about 17": below it the sigmoid is still under 1, from there on it is exactly 1
    assert torch.sigmoid(torch.tensor(16.0)).item() < 1.0
    assert (torch.sigmoid(torch.arange(17.0, 40.0)) == 1.0).all()
    assert "from about 17, $\\sigma(z)$ rounds to exactly 1" in text
    # binary_cross_entropy on probabilities caps each log at -100
    far, one = torch.tensor([[-200.0]]), torch.tensor([[1.0]])
    assert F.binary_cross_entropy(torch.sigmoid(far), one).item() == 100.0
    assert "so for the first it would report 100" in text


def test_the_loss_formulas_of_the_foundations() -> None:
    """l(z, y) = log(1 + e^z) - y z is the BCE; dBCE/dz = (p - y) / N; the MSE on p has the
    derivative 2 (p - y) p (1 - p); sigma' = sigma (1 - sigma). In float64 on the CPU."""
    z = torch.linspace(-8, 8, 161, dtype=torch.float64)
    for label in (0.0, 1.0):
        y = torch.full_like(z, label)
        literal = lesson.bce_by_hand(z, y)
        rewritten = (torch.log1p(torch.exp(z)) - y * z).mean()
        assert abs(literal.item() - rewritten.item()) < 1e-12
        z_grad = z.clone().requires_grad_(True)
        F.binary_cross_entropy_with_logits(z_grad, y).backward()
        assert z_grad.grad is not None
        p = torch.sigmoid(z)
        assert torch.allclose(z_grad.grad, (p - y) / len(z), atol=1e-15)
        z_mse = z.clone().requires_grad_(True)
        ((torch.sigmoid(z_mse) - y) ** 2).sum().backward()
        assert z_mse.grad is not None
        assert torch.allclose(z_mse.grad, 2 * (p - y) * p * (1 - p), atol=1e-15)
    assert "$2 (p - y)\\, p (1 - p)$" in page()
    assert abs(math.exp(-200) / 1e-87 - 1.38) < 0.01  # "about 10^-87"
    assert "about $10^{-87}$" in page()


def test_parameter_count_and_the_random_start() -> None:
    _, linear, mlp = lesson_models()
    shapes = {name: tuple(p.shape) for name, p in mlp.named_parameters()}
    assert shapes == {"0.weight": (16, 2), "0.bias": (16,), "2.weight": (1, 16), "2.bias": (1,)}
    counts = [p.numel() for p in mlp.parameters()]
    assert counts == [32, 16, 16, 1]
    assert sum(counts) == 65
    assert exercises.count_by_formula([2, 16, 1]) == 65
    assert exercises.count_parameters(linear) == 3
    text = page()
    assert "That is 65 parameters, as the formula said, against 3 for logistic regression" in text
    assert f"holds $2 \\cdot 16 + 16 = {counts[0] + counts[1]}$ numbers" in text
    assert f"$16 \\cdot 1 + 1 = {counts[2] + counts[3]}$, so $P = {sum(counts)}$" in text
    # nn.Linear draws weights and biases uniformly within +-1/sqrt(fan_in)
    first, second = mlp[0], mlp[2]
    assert isinstance(first, nn.Linear)
    assert isinstance(second, nn.Linear)
    for layer, bound in ((first, 1 / math.sqrt(2)), (second, 1 / math.sqrt(16))):
        for values in (layer.weight, layer.bias):
            assert values.abs().max().item() <= bound
    assert first.bias.abs().min().item() > 0  # biases do not start at zero
    assert f"$\\pm 1/\\sqrt{{2}} \\approx \\pm {1 / math.sqrt(2):.3f}$" in text
    assert "$\\pm 1/\\sqrt{16} = \\pm 0.25$" in text


def test_training_both_models() -> None:
    (X, y, X_test, y_test), linear, mlp = lesson_models()
    text = page()
    results = {}
    for name, model in (("linear", linear), ("mlp", mlp)):
        losses = lesson.train(model, X, y, LR, NUM_EPOCHS)
        assert len(losses) == NUM_EPOCHS
        results[name] = (
            losses[249],
            losses[-1],
            lesson.accuracy(model, X, y),
            lesson.accuracy(model, X_test, y_test),
        )
    at_250, at_500, train_acc, _ = results["linear"]
    assert abs(at_250 - at_500) < 0.002
    assert "Logistic regression has all but stopped learning" in text
    assert 0.09 <= 1 - train_acc <= 0.11
    assert "about one training point in ten is still on the wrong side" in text
    assert f"({pct(train_acc)} of the training points right" in text  # the summary
    at_250, at_500, train_acc, test_acc = results["mlp"]
    assert at_500 < 0.7 * at_250
    assert "The MLP's loss is still falling" in text
    assert min(train_acc, test_acc) > 0.975
    assert "it gets almost every point right, the unseen test points as well" in text
    assert pct(train_acc) == "99.0%"
    assert "gets 99.0% right" in text  # the summary


def test_half_the_rate_needs_twice_the_epochs() -> None:
    (X, y, _, _), _, mlp = lesson_models()
    slower = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1)).to(X.device)
    slower.load_state_dict(mlp.state_dict())  # the same start
    fast = lesson.train(mlp, X, y, LR, NUM_EPOCHS)[-1]
    slow = lesson.train(slower, X, y, LR / 2, 2 * NUM_EPOCHS)[-1]
    assert abs(slow - fast) / fast < 0.05
    assert "with half of it the MLP needs about twice as many epochs to get as far" in page()


def test_logistic_regression_errs_at_the_interlocking_tips() -> None:
    (X, y, _, _), linear, _ = lesson_models()
    lesson.train(linear, X, y, LR, NUM_EPOCHS)
    with torch.no_grad():
        wrong = ((linear(X) > 0).float() != y)[:, 0]
    X_wrong, y_wrong = X[wrong].cpu(), y[wrong, 0].cpu()
    # upper moon's right tip, near (1, 0); lower moon's left tip, near (0, 0.5)
    upper_tip = (y_wrong == 0) & ((X_wrong[:, 0] - 1).abs() < 0.5)
    lower_tip = (y_wrong == 1) & (X_wrong[:, 0].abs() < 0.5)
    num_wrong = len(y_wrong)
    at_tips = int((upper_tip | lower_tip).sum().item())
    assert upper_tip.any()
    assert lower_tip.any()
    assert num_wrong == round(200 * (1 - lesson.accuracy(linear, X, y)))
    assert (
        f"they hold all but {num_wrong - at_tips} of the {num_wrong} training points it gets wrong"
        in page()
    )


def test_stacked_linear_layers_collapse() -> None:
    """The page's collapse fence, in float64 on the CPU."""
    X, *_ = lesson_data()
    first = nn.Linear(2, 16, dtype=torch.float64)
    second = nn.Linear(16, 1, dtype=torch.float64)
    X64 = X.cpu().double()
    W = second.weight @ first.weight
    b = second.weight @ first.bias + second.bias
    gap = (second(first(X64)) - (X64 @ W.T + b)).abs().max().item()
    assert gap < 1e-15
    assert "up to a difference below $10^{-15}$" in page()


def test_activation_derivatives() -> None:
    u = torch.linspace(-4, 4, 801, dtype=torch.float64)
    for name, activation in lesson.ACTIVATIONS.items():
        by_autograd = lesson.derivative(activation, u)
        by_formula = lesson.derivative_by_formula(name, u)
        assert (by_autograd - by_formula).abs().max().item() < 1e-15
        # and against central differences, away from the ReLU's corner
        h = 1e-6
        numerical = (activation(u + h) - activation(u - h)) / (2 * h)
        away = u.abs() > 1e-3
        assert (numerical - by_autograd)[away].abs().max().item() < 1e-8
    assert lesson.derivative(torch.relu, torch.zeros(1)).item() == 0.0
    sigmoid_slope = lesson.derivative(torch.sigmoid, u)
    tanh_slope = lesson.derivative(torch.tanh, u)
    assert abs(sigmoid_slope.max().item() - 0.25) < 1e-12
    assert abs(tanh_slope.max().item() - 1.0) < 1e-12
    assert u[sigmoid_slope.argmax()].abs().item() < 1e-12  # both peak at 0
    assert u[tanh_slope.argmax()].abs().item() < 1e-12
    assert torch.allclose(torch.tanh(u), 2 * torch.sigmoid(2 * u) - 1, atol=1e-15)
    text = page()
    assert "agree to within $10^{-15}$ for all three" in text
    assert "autograd returns 0.0" in text
    assert "highest at 0 (0.25 and 1)" in text


def test_the_hinge_network_fits_the_sine() -> None:
    device = get_device()
    text = page()
    errors = {}
    for num_units in (2, 4, 8, 16, 32, 64):
        net = lesson.relu_interpolant(torch.sin, X_LOW, X_HIGH, num_units).to(device)
        errors[num_units] = lesson.max_error(net, torch.sin, X_LOW, X_HIGH, device)
        spacing = (X_HIGH - X_LOW) / num_units  # Delta on the page
        assert errors[num_units] <= spacing**2 / 8 + 1e-6  # the interpolation bound
        # it passes through the knots, and it is the interpolant between them
        knots = torch.linspace(X_LOW, X_HIGH, num_units + 1, device=device)
        with torch.no_grad():
            at_knots = net(knots[:, None])[:, 0]
            middle = net(((knots[:-1] + knots[1:]) / 2)[:, None])[:, 0]
        assert torch.allclose(at_knots, torch.sin(knots), atol=1e-5)
        chords = (torch.sin(knots[:-1]) + torch.sin(knots[1:])) / 2
        assert torch.allclose(middle, chords, atol=1e-5)
    assert f"{errors[2]:.4f}" == "1.0000"
    assert "misses by the sine's full height, 1.0000" in text
    for k in (8, 16, 32):
        assert 3.5 < errors[k] / errors[2 * k] < 4.5
    assert "From 8 units on, each doubling divides the error by about four" in text
    assert "it never exceeds the bound" in text  # checked in the loop above
    # the figure: from 8 units on the error is almost the bound itself
    bounds = {k: (X_HIGH - X_LOW) ** 2 / k**2 / 8 for k in errors}
    assert all(errors[k] / bounds[k] > 0.9 for k in (8, 16, 32, 64))
    assert errors[4] / bounds[4] < 0.9
    assert "from 8 units on it runs inside the pale band of the bound, almost on it" in text


def test_identical_units_stay_identical() -> None:
    """The page: hidden units that start with the same incoming weights, bias and outgoing weight
    get the same gradient and stay identical; with different outgoing weights they drift apart."""
    X, y, _, _ = lesson_data()
    text = page()
    start = torch.tensor([0.3, -0.2], device=X.device)
    for outgoing in ("equal", "random"):
        seed_everything(0)
        mlp = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)).to(X.device)
        hidden, output = mlp[0], mlp[2]
        assert isinstance(hidden, nn.Linear)
        assert isinstance(output, nn.Linear)
        with torch.no_grad():
            hidden.weight.copy_(start.expand(4, 2))
            hidden.bias.fill_(0.1)
            if outgoing == "equal":
                output.weight.fill_(0.5)
        lesson.train(mlp, X, y, LR, 50)
        spread = (hidden.weight - hidden.weight[0]).abs().max().item()
        if outgoing == "equal":
            # equal up to rounding (a matrix product may round its rows differently)
            assert spread < 1e-6
            assert (hidden.bias - hidden.bias[0]).abs().max().item() < 1e-6
            assert (output.weight - output.weight[0, 0]).abs().max().item() < 1e-6
            assert (hidden.weight[0] - start).abs().max() > 0.01  # they did move
        else:
            assert spread > 0.01
    assert "the same incoming weights, the same bias and the same outgoing weight" in text
    assert "get the same gradient and stay identical forever" in text
    assert "Equal incoming weights alone are not enough for this" in text


def test_exercise_1_counts() -> None:
    text = page()
    for sizes, expected in (([2, 64, 64, 1], 4417), ([784, 128, 10], 101770)):
        assert exercises.count_by_formula(sizes) == expected
        assert exercises.count_parameters(exercises.make_mlp(sizes)) == expected
    model = exercises.make_mlp([2, 64, 64, 1])
    assert [type(layer) for layer in model] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    for sizes in ([2, 64, 64, 1], [784, 128, 10]):
        layers = [m for m in exercises.make_mlp(sizes) if isinstance(m, nn.Linear)]
        for layer in layers:  # each layer's count, as the solution works it out
            count = sum(p.numel() for p in layer.parameters())
            n_in, n_out = layer.in_features, layer.out_features
            assert f"${n_in} \\cdot {n_out} + {n_out} = {count}$" in text
        assert f"{exercises.count_by_formula(sizes)} in all" in text
    assert "PyTorch agrees." in text


def test_exercise_2_xor() -> None:
    X_xor = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y_xor = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    net = exercises.xor_network()
    with torch.no_grad():
        logits = net(X_xor)[:, 0].tolist()
    assert logits == [-0.5, 0.5, 0.5, -0.5]
    assert lesson.accuracy(net, X_xor, y_xor) == 1.0
    assert "All four points are on the right side, 100%" in page()
    # the best a line can do is 3 of 4: the midpoint argument, checked on many random lines
    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(10_000, 2, generator=generator)
    biases = torch.randn(10_000, generator=generator)
    right = ((X_xor @ weights.T + biases > 0).float() == y_xor).sum(dim=0)
    assert right.max().item() == 3
    assert "The best a line can do is three points out of four" in page()


def test_exercise_3_trained_against_hand_made() -> None:
    device = get_device()
    x_train = torch.linspace(X_LOW, X_HIGH, 200, device=device)[:, None]
    y_train = torch.sin(x_train)
    seed_everything(0)
    trained = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
    losses = lesson.train(trained, x_train, y_train, 0.05, 3000, loss_fn=F.mse_loss)
    trained_error = lesson.max_error(trained, torch.sin, X_LOW, X_HIGH, device)
    hand_made = lesson.relu_interpolant(torch.sin, X_LOW, X_HIGH, 16).to(device)
    with torch.no_grad():
        hand_loss = F.mse_loss(hand_made(x_train), y_train).item()
    hand_error = lesson.max_error(hand_made, torch.sin, X_LOW, X_HIGH, device)
    text = page()
    at_1000, at_2000, at_3000 = losses[999], losses[1999], losses[2999]
    assert at_2000 - at_3000 < (at_1000 - at_2000) / 5  # levelling off
    assert (
        "from epoch 2000 to 3000 the loss falls less than a fifth as much as from 1000 to 2000"
        in text
    )
    curve = torch.tensor(losses)
    assert (curve[1:] <= curve[:-1] * (1 + 1e-6)).all()  # smoothly down at this rate
    assert hand_loss < at_3000
    assert 3.5 < trained_error / hand_error < 4.5
    assert "its largest error ends about four times that of the network we built by hand" in text
    assert "found a 16-unit fit about four times worse" in text  # the last question
    # a larger learning rate: the loss repeatedly climbs back up, once to over 3 times its best
    seed_everything(0)
    jumpy = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
    fast = torch.tensor(lesson.train(jumpy, x_train, y_train, 0.1, 1000, loss_fn=F.mse_loss))
    assert (fast[1:] > fast[:-1]).sum().item() > 100
    assert (fast > 3 * fast.cummin(dim=0).values).any()
    assert "at 0.1 the loss repeatedly climbs back up on the way" in text
