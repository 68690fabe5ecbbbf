"""Lesson 1.5: every number the page states is what the snippets compute."""

import math
import warnings
from pathlib import Path

import numerical_vs_analytical_gradients as lesson
import numerical_vs_analytical_gradients_exercises as exercises
import torch
from course import flat_text
from helpers import get_device, seed_everything
from linear_regression import make_data, mse

LESSON = (
    Path(__file__).resolve().parents[1]
    / "docs"
    / "module-1"
    / ("numerical-vs-analytical-gradients.md")
)
HS = [10 ** (-k / 4) for k in range(48, -1, -1)]  # the sweep of the page


def page() -> str:
    return flat_text(LESSON)


def sci(x: float, digits: int = 1) -> str:
    """x as the page writes it: 1.4e-06 becomes '1.4 \\times 10^{-6}'."""
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def lesson_setup() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    seed_everything(0)
    X, y = make_data(num_points=100, device=get_device())
    theta = torch.tensor([0.5, -0.3], dtype=torch.float64)
    return X.cpu().double(), y.cpu().double(), theta


def test_three_gradients_agree() -> None:
    X, y, theta = lesson_setup()
    loss = lesson.make_loss(X, y)
    by_hand = lesson.gradients_by_hand(X, y, theta[0], theta[1])
    forward = lesson.numerical_gradient(loss, theta, 1e-6, central=False)
    central = lesson.numerical_gradient(loss, theta, 1e-6, central=True)
    by_autograd = lesson.gradient_by_autograd(loss, theta)
    assert (by_autograd - by_hand).abs().max().item() < 1e-12
    assert ((forward - by_hand).abs() / by_hand.abs()).max().item() < 1e-5  # six digits
    forward_error = (forward - by_hand).abs().max().item()
    central_error = (central - by_hand).abs().max().item()
    # the forward error is the truncation (h/2) d2L/dw2 = h * mean(x^2)
    assert abs(forward_error - 1e-6 * (X**2).mean().item()) < 1e-8
    text = page()
    assert f"off by about ${sci(forward_error)}$" in text
    assert f"only about ${sci(central_error)}$" in text


def test_machine_epsilon() -> None:
    eps32, eps64 = torch.finfo(torch.float32).eps, torch.finfo(torch.float64).eps
    assert eps32 == 2**-23
    assert eps64 == 2**-52
    text = page()
    assert f"2^{{-23}} \\approx {sci(eps32, 2)}" in text
    assert f"2^{{-52}} \\approx {sci(eps64, 2)}" in text
    for eps in (eps32, eps64):
        assert f"\\sqrt{{\\varepsilon}} \\approx {sci(eps**0.5)}" in text
        assert f"\\varepsilon^{{1/3}} \\approx {sci(eps ** (1 / 3))}" in text
    assert f"{eps32 ** (2 / 3):.0e}" == "2e-05"
    assert "is about $2 \\times 10^{-5}$" in text
    # orders of magnitude stated in the math section
    assert round(math.log10(eps64**0.5)) == -8
    assert f"{eps64 ** (1 / 3):.0e}" == "6e-06"
    assert f"{eps32**0.5:.0e}" == "3e-04"
    assert f"{eps32 ** (1 / 3):.0e}" == "5e-03"
    assert "$h^\\star \\sim 10^{-8}$ for forward and $h^\\star \\sim 6 \\times 10^{-6}$" in text
    assert "about $3 \\times 10^{-4}$ and $5 \\times 10^{-3}$" in text


def test_step_size_sweep() -> None:
    text = page()
    best = {}
    for dtype in (torch.float32, torch.float64):
        eps = torch.finfo(dtype).eps
        forward, central = lesson.step_size_sweep(torch.exp, 1.0, math.e, HS, dtype)
        best_forward = HS[forward.index(min(forward))]
        best_central = HS[central.index(min(central))]
        # the best step of the sweep lies within a factor 100 of the prediction
        assert 0.01 < best_forward / eps**0.5 < 100
        assert 0.01 < best_central / eps ** (1 / 3) < 100
        best[dtype] = (best_forward, best_central, min(forward), min(central))
        if dtype == torch.float64:
            slope_forward = lesson.loglog_slope(HS, forward, 1e-3, 1e-1)
            slope_central = lesson.loglog_slope(HS, central, 1e-3, 1e-1)
            assert round(slope_forward) == 1
            assert round(slope_central) == 2
            assert f"{slope_forward:.2f} for forward and {slope_central:.2f} for central" in text
            assert lesson.loglog_slope(HS, forward, 1e-12, 1e-10) < -0.5  # round-off rises
        else:
            assert forward[0] == 1.0  # 1 + 1e-12 rounds to 1 in float32: the estimate is 0

    def s(x: float) -> str:
        mantissa, exponent = f"{x:.0e}".split("e")
        return f"{mantissa} \\times 10^{{{int(exponent)}}}"

    f64, f32 = best[torch.float64], best[torch.float32]
    assert f"{f64[0]:.0e}" == "1e-08"
    assert "best forward step of the sweep is $10^{-8}$" in text
    assert f"with an error of ${s(f64[2])}$; the best central step is ${s(f64[1])}$" in text
    assert f"with an error of ${s(f64[3])}$. In float32" in text
    assert (
        f"are ${s(f32[0])}$ and ${s(f32[1])}$, and the best errors only ${s(f32[2])}$ and" in text
    )
    assert f"${s(f32[3])}$. Notice" in text
    # the float32 central minimum is a lucky dip, about ten times below eps^(2/3)
    eps32 = torch.finfo(torch.float32).eps
    assert f"minimum of ${s(f32[3])}$ is about ten times better" in text
    assert 5 < eps32 ** (2 / 3) / f32[3] < 20
    assert f"\\varepsilon^{{2/3}} \\approx {sci(eps32 ** (2 / 3))}$ only because" in text


def test_gradient_check() -> None:
    X, y, theta = lesson_setup()
    loss = lesson.make_loss(X, y)
    by_hand = lesson.gradients_by_hand(X, y, theta[0], theta[1])
    correct = lesson.gradient_check(loss, theta, by_hand)
    assert correct < 1e-8
    assert lesson.gradient_check(loss, theta, lesson.gradient_by_autograd(loss, theta)) < 1e-8
    assert abs(lesson.gradient_check(loss, theta, by_hand / 2) - 1 / 3) < 1e-6
    assert abs(lesson.gradient_check(loss, theta, -by_hand) - 1) < 1e-12
    text = page()
    assert f"The correct gradients score ${sci(correct)}$" in text


def test_gradient_check_on_a_matrix_counts_two_calls_per_entry() -> None:
    seed_everything(0)
    A = torch.randn(5, 3, dtype=torch.float64)

    def g(W: torch.Tensor) -> torch.Tensor:
        return torch.tanh(A @ W).pow(2).sum()

    W = torch.randn(3, 4, dtype=torch.float64)
    counted = lesson.CountCalls(g)
    error = lesson.gradient_check(counted, W, lesson.gradient_by_autograd(g, W))
    assert error < 1e-8
    assert counted.calls == 2 * W.numel() == 24
    assert f"to ${sci(error)}$, and the check evaluated the function 24 times for 12" in page()


def test_gradcheck_passes_the_line_and_catches_the_wrong_backward() -> None:
    X, y, _ = lesson_setup()
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)

    def line_loss(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return mse(w * X + b, y)

    assert torch.autograd.gradcheck(line_loss, (w, b))
    seed_everything(0)
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    wrong = lesson.SquareWithWrongBackward.apply
    assert not torch.autograd.gradcheck(wrong, (x,), raise_exception=False)


def test_gradcheck_fails_a_correct_gradient_in_float32_and_warns() -> None:
    X, y, _ = lesson_setup()
    X32, y32 = X.float(), y.float()
    w = torch.tensor(0.5, requires_grad=True)
    b = torch.tensor(-0.3, requires_grad=True)

    def line_loss32(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return mse(w * X32 + b, y32)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        passed = torch.autograd.gradcheck(line_loss32, (w, b), raise_exception=False)
    assert passed is False
    first_sentences = [str(warning.message).split(".")[0] for warning in caught]
    assert len(first_sentences) == 2
    text = page()
    assert "yet `gradcheck` returns `False`, after warning" in text
    assert f'warning "{first_sentences[0]}" (and the same for input #1)' in text
    assert first_sentences[1] == first_sentences[0].replace("#0", "#1")


def test_exercise_1_central_is_exact_for_a_quadratic() -> None:
    X, y, theta = lesson_setup()
    mean_square = (X**2).mean().item()
    for h, forward_error, central_error in exercises.difference_errors(X, y, theta, [1, 0.1, 0.01]):
        assert central_error < 1e-13
        assert abs(forward_error - h * mean_square) < 1e-9
    assert f"which is {mean_square:.2f} for $h = 1$" in page()


def test_exercise_2_three_inputs() -> None:
    seed_everything(0)
    X, y = exercises.make_data_3d(num_points=100, device=get_device())
    X, y = X.cpu().double(), y.cpu().double()
    theta = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)

    def f(theta: torch.Tensor) -> torch.Tensor:
        return exercises.loss_3d(theta, X, y)

    correct = lesson.gradient_check(f, theta, exercises.gradients_3d(theta, X, y))
    assert correct < 1e-8
    wrong = lesson.gradient_check(f, theta, exercises.gradients_3d(theta, X, y, use_sum=True))
    assert abs(wrong - 99 / 101) < 1e-6
    text = page()
    assert f"scores ${sci(correct)}$. With a sum" in text
    assert f"= {wrong:.4f}$, unmistakably" in text


def test_exercise_3_float32_check_is_noise() -> None:
    seed_everything(0)
    X, y = make_data(num_points=100, device=get_device())
    theta = torch.tensor([0.5, -0.3], dtype=torch.float64)
    rows = exercises.float32_versus_float64(X, y, theta, [1e-6, 1e-3, 1e-2])
    h, error32, error64 = rows[0]
    assert h == 1e-6
    assert error32 > 1e-3
    assert error64 < 1e-9
    text = page()
    assert f"reports $r = {sci(error32)}$ for a perfectly" in text
    assert f"reports ${sci(error64)}$ at $h = 10^{{-6}}$" in text
