"""Lesson 1.4: every number and claim the page states is what the snippets compute."""

import itertools
import math
from pathlib import Path

import torch
import visualizing_the_loss_landscape as lesson
import visualizing_the_loss_landscape_exercises as exercises
from course import flat_text
from helpers import get_device, seed_everything
from linear_regression import make_data, mse

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-1" / "visualizing-the-loss-landscape.md"
SNIPPET = ROOT / "snippets" / "visualizing_the_loss_landscape.py"
EXERCISES = ROOT / "snippets" / "visualizing_the_loss_landscape_exercises.py"
START = (-0.5, 3.5)  # the start of the lesson's paths on lesson 1.2's data


def page() -> str:
    return flat_text(LESSON)


def lesson_data() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return make_data(num_points=100, device=get_device())


def wide_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x in [0, 10), y, and the standardized x, as in the lesson's wide-data section."""
    seed_everything(0)
    X, y = make_data(num_points=100, device=get_device(), x_low=0.0, x_high=10.0)
    return X, y, (X - X.mean()) / X.std(correction=0)


def grid(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.linspace(-1, 5, 121, device=device), torch.linspace(-2, 4, 121, device=device)


def test_grid_minimum_and_size() -> None:
    X, y = lesson_data()
    w_values, b_values = grid(X.device)
    L = lesson.loss_grid(X, y, w_values, b_values)
    assert L.shape == (121, 121)
    row, col = divmod(int(L.argmin().item()), L.shape[1])
    text = page()
    assert f"$w = {w_values[col].item():.2f}$, $b = {b_values[row].item():.2f}$" in text
    # "The grid points are 0.05 apart, and this is the one closest to" lesson 1.2's (w*, b*)
    assert (
        f"{(w_values[1] - w_values[0]).item():.2f}"
        == f"{(b_values[1] - b_values[0]).item():.2f}"
        == "0.05"
    )
    assert "The grid points are 0.05 apart" in text
    w_star, b_star = lesson.minimum(X, y).tolist()
    assert f"lesson 1.2's loop found, $w = {w_star:.2f}$ and $b = {b_star:.2f}$" in text
    assert (w_values - w_star).abs().argmin().item() == col
    assert (b_values - b_star).abs().argmin().item() == row
    assert f"{121 * 121:,}" in text
    assert "$121^2 = 14{,}641$" in text
    assert 121 * 121 * 100 == 1_464_100  # "about 1.5 million squared errors"
    assert "about 1.5 million squared errors" in text


def test_loss_grid_matches_mse_pointwise() -> None:
    X, y = lesson_data()
    w_values, b_values = grid(X.device)
    L = lesson.loss_grid(X, y, w_values, b_values)
    for row, col in ((0, 0), (60, 17), (120, 120)):
        expected = mse(w_values[col] * X + b_values[row], y)
        assert torch.isclose(L[row, col], expected, rtol=1e-5)


def test_hessian_formula_matches_autograd_and_the_surface_is_quadratic() -> None:
    X, y = lesson_data()
    H = lesson.hessian(X)
    theta_star = lesson.minimum(X, y)
    H_autograd = torch.autograd.functional.hessian(
        lambda theta: mse(theta[0] * X + theta[1], y), theta_star
    )
    assert torch.allclose(H, H_autograd, atol=1e-5)
    w_values, b_values = grid(X.device)
    L = lesson.loss_grid(X, y, w_values, b_values)
    L_quadratic = lesson.quadratic_loss(X, y, w_values, b_values)
    assert (L - L_quadratic).abs().max().item() < 1e-4
    text = page()
    assert "below $10^{-4}$ on losses as large as 23" in text
    assert f"{L.max().item():.0f}" == "23"
    w_star, b_star = theta_star.tolist()
    assert f"$w^\\star = {w_star:.2f}$, $b^\\star = {b_star:.2f}$" in text
    # The minimum is the least-squares line: the gradient vanishes there.
    y_hat = w_star * X + b_star
    assert abs(2 * ((y_hat - y) * X).mean().item()) < 1e-4
    assert abs(2 * (y_hat - y).mean().item()) < 1e-4


def test_input_averages_stated_in_the_prose() -> None:
    X, _ = lesson_data()
    X_wide, _, _ = wide_data()
    text = page()
    assert f"(${X.mean().item():.2f}$ for our points)" in text
    assert f"$\\overline{{x^2}}$ is {(X**2).mean().item():.2f}, not far" in text
    assert f"around {(X_wide**2).mean().item():.0f} while" in text
    assert f"$\\overline{{x}} = {X_wide.mean().item():.1f}$ couples" in text


def test_surface_uses_every_sixth_grid_line() -> None:
    source = SNIPPET.read_text(encoding="utf-8")
    assert source.count("[::6, ::6]") == 3
    assert len(range(0, 121, 6)) == 21
    assert "every sixth grid line" in page()


def test_path_reaches_the_minimum() -> None:
    X, y = lesson_data()
    path, losses = lesson.descend(X, y, *START, lr=0.1, num_steps=30)
    assert path.shape == (31, 2)
    # losses[k] is the loss after k steps, one per point of the path
    assert len(losses) == 31
    for k in (0, 17, 30):
        assert math.isclose(
            losses[k], mse(path[k, 0] * X.cpu() + path[k, 1], y.cpu()).item(), rel_tol=1e-5
        )
    assert (path[-1] - lesson.minimum(X, y).cpu()).norm().item() < 0.01
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))


def test_threshold_is_two_over_the_largest_eigenvalue() -> None:
    X, y = lesson_data()
    low, high = torch.linalg.eigvalsh(lesson.hessian(X)).tolist()
    lr_max = 2 / high
    theta_star = lesson.minimum(X, y).cpu()
    below, _ = lesson.descend(X, y, *START, 0.99 * lr_max, num_steps=300)
    above, _ = lesson.descend(X, y, *START, 1.01 * lr_max, num_steps=300)
    assert (below[-1] - theta_star).norm().item() < (below[0] - theta_star).norm().item() / 100
    assert (above[-1] - theta_star).norm().item() > 1000
    text = page()
    assert f"The eigenvalues are {low:.2f} and {high:.2f}" in text
    assert f"condition number is only {high / low:.2f}" in text
    assert f"$2 / {high:.2f} = {lr_max:.2f}$" in text
    assert "has grown past 1,000" in text
    assert f"just over the limit of {lr_max:.2f}" in text


def test_crawl_converge_diverge() -> None:
    X, y = lesson_data()
    low, high = torch.linalg.eigvalsh(lesson.hessian(X)).tolist()
    floor = mse(lesson.minimum(X, y)[0] * X + lesson.minimum(X, y)[1], y).item()
    _, crawl = lesson.descend(X, y, *START, lr=0.05, num_steps=12)
    _, good = lesson.descend(X, y, *START, lr=0.3, num_steps=12)
    _, bad = lesson.descend(X, y, *START, lr=0.75, num_steps=12)
    assert crawl[-1] < crawl[0]
    assert crawl[-1] > 3 * floor
    assert abs(good[-1] - floor) < 1e-3
    assert bad[-1] > bad[0]
    assert 0.3 < 2 / high < 0.75  # 0.75 is over the limit, 0.3 comfortably inside
    assert 1 - 0.75 * high < -1 < 1 - 0.75 * low  # steep direction diverges, flat one settles
    text = page()
    assert len(crawl) == 13  # the loss after 0, 1, ..., 12 steps
    assert f"its loss has fallen from {crawl[0]:.2f} to {crawl[-1]:.2f}" in text
    assert crawl[-1] > 4 * floor
    assert f"more than four times the lowest loss of {floor:.2f}" in text
    # "The loss dips on the first step ... and then grows"
    assert bad[1] < bad[0]
    assert all(later > earlier for earlier, later in itertools.pairwise(bad[1:]))
    assert f"and then grows, to {bad[-1]:.2f} after 12 steps" in text
    assert f"$1 - 0.75 \\times {high:.2f}$ is below $-1$" in text


def test_feature_scale_and_condition_number() -> None:
    X_wide, _y_wide, X_std = wide_data()
    low, high = torch.linalg.eigvalsh(lesson.hessian(X_wide)).tolist()
    low_std, high_std = torch.linalg.eigvalsh(lesson.hessian(X_std)).tolist()
    kappa = high / low
    text = page()
    assert f"the eigenvalues are {low:.2f} and {high:.2f}" in text
    assert f"a condition number of about {kappa:.0f}" in text
    assert f"$\\sqrt{{{kappa:.0f}}} \\approx {math.sqrt(kappa):.0f}$" in text
    assert f"$2 / {high:.2f} = {2 / high:.3f}$" in text
    assert abs(low_std - 2) < 1e-4
    assert abs(high_std - 2) < 1e-4
    assert f"condition number is {high_std / low_std:.2f}." in text
    assert f"{1 - 0.028 * high:.2f}" == "-0.86"
    assert f"{1 - 0.028 * low:.3f}" == "0.986"
    assert f"$1 - 0.028 \\times {low:.4f} \\approx 0.986$" in text
    assert 2 / high > 0.028  # "just under its limit"
    # The flat direction's factor is more than 1 - 2 / kappa for every stable rate.
    for lr in (0.028, 0.0299, 0.999 * 2 / high):
        assert 1 - lr * low > 1 - 2 / kappa
    assert "which is more than $1 - 2 / \\kappa$" in text


def test_zig_zag_versus_straight_path() -> None:
    X_wide, y_wide, X_std = wide_data()
    raw, _ = lesson.descend(X_wide, y_wide, -0.5, 8.0, lr=0.028, num_steps=40)
    target = lesson.minimum(X_wide, y_wide).cpu()
    start, end = (raw[0] - target).norm().item(), (raw[-1] - target).norm().item()
    assert f"fallen from {start:.2f} to {end:.2f}" in page()
    # The zig-zag: the weight's step changes sign at (almost) every step.
    steps_w = raw[1:, 0] - raw[:-1, 0]
    assert (steps_w[1:] * steps_w[:-1] < 0).float().mean().item() > 0.9
    straight, _ = lesson.descend(X_std, y_wide, 0.0, 0.0, lr=0.25, num_steps=40)
    target_std = lesson.minimum(X_std, y_wide).cpu()
    assert (straight[-1] - target_std).norm().item() < 1e-4
    assert "the distance is below 0.0001" in page()
    # Every step halves the distance.
    first = (straight[0] - target_std).norm().item()
    second = (straight[1] - target_std).norm().item()
    assert abs(second / first - 0.5) < 1e-4


def test_exercise_1_autograd_path() -> None:
    X, y = lesson_data()
    by_hand, _ = lesson.descend(X, y, *START, lr=0.1, num_steps=30)
    by_autograd = exercises.descend_with_autograd(X, y, *START, lr=0.1, num_steps=30)
    assert (by_hand - by_autograd).abs().max().item() < 1e-5
    assert "a difference below $10^{-5}$" in page()


def test_exercise_2_best_learning_rate() -> None:
    X_wide, _, _ = wide_data()
    H = lesson.hessian(X_wide)
    lrs = torch.linspace(0, 0.035, 701, device=X_wide.device)
    factors = exercises.shrink_factor(H, lrs)
    best = int(factors.argmin().item())
    low, high = torch.linalg.eigvalsh(H).tolist()
    lr_best, rho = 2 / (low + high), (high - low) / (high + low)
    assert abs(lrs[best].item() - lr_best) < 1e-4
    assert abs(factors[best].item() - rho) < 1e-3
    steps = math.ceil(math.log(1000) / -math.log(rho))
    text = page()
    assert f"$\\eta_{{\\text{{best}}}} = {lr_best:.4f}$" in text
    assert f"$2 / \\lambda_{{\\max}} = {2 / high:.4f}$" in text
    assert "set_ylim(0.975, 1.01)" in EXERCISES.read_text(encoding="utf-8")
    assert "factors between 0.975 and 1.01" in text
    assert f"$\\rho_{{\\text{{best}}}} = {rho:.3f}$" in text
    assert f"about {100 * (1 - rho):.1f}% of the" in text
    assert f"takes {steps} steps" in text


def test_exercise_3_newton_step() -> None:
    X, y = lesson_data()
    X_wide, y_wide, _ = wide_data()
    for inputs, targets in ((X, y), (X_wide, y_wide)):
        landed = exercises.newton_step(inputs, targets, w=-0.5, b=8.0)
        target = lesson.minimum(inputs, targets)
        assert [f"{v:.4f}" for v in landed.tolist()] == [f"{v:.4f}" for v in target.tolist()]
    assert "to four decimals for both data sets" in page()


def test_standardized_but_correlated_inputs_stay_elongated() -> None:
    """Two standardized inputs with correlation r: the MSE Hessian of (w1, w2, b) is twice
    [[1, r, 0], [r, 1, 0], [0, 0, 1]], so its condition number is (1 + r) / (1 - r)."""
    r = 0.995
    generator = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 100_000, generator=generator, dtype=torch.float64)
    x1, x2 = z1, r * z1 + math.sqrt(1 - r**2) * z2
    X = torch.stack([x1, x2, torch.ones_like(x1)], dim=1)
    X[:, :2] = (X[:, :2] - X[:, :2].mean(0)) / X[:, :2].std(0, correction=0)
    H = 2 * X.T @ X / len(X)  # the Hessian of mean((X @ theta - y)^2), for any y
    eigenvalues = torch.linalg.eigvalsh(H)
    condition = (eigenvalues.max() / eigenvalues.min()).item()
    assert abs(condition - (1 + r) / (1 - r)) / condition < 0.05  # sampling noise in r
    assert round((1 + r) / (1 - r)) == 399
    assert "a condition number of $(1 + r) / (1 - r)$, about 400 at $r = 0.995$" in page()


def test_curvature_formula_and_the_tilt() -> None:
    """The 2 x 2 formula for the curvatures gives eigvalsh's eigenvalues, and on raw inputs the
    coupling makes the flattest direction flatter than both w and b alone."""
    X_wide, _, _ = wide_data()
    for inputs in (lesson_data()[0], X_wide):
        H = lesson.hessian(inputs).double()
        mean = (H[0, 0] + H[1, 1]) / 2
        spread = torch.sqrt(((H[0, 0] - H[1, 1]) / 2) ** 2 + H[0, 1] ** 2)
        formula = torch.stack([mean - spread, mean + spread])
        assert torch.allclose(formula, torch.linalg.eigvalsh(H), rtol=1e-6)
    H = lesson.hessian(X_wide)
    low, high = torch.linalg.eigvalsh(H).tolist()
    assert low < min(H[0, 0].item(), H[1, 1].item()) / 3
    assert high > max(H[0, 0].item(), H[1, 1].item())
    assert "$\\lambda_{\\min}$ comes out far below both $H_{ww}$ and $H_{bb}$" in page()


def test_correlated_inputs_curvatures() -> None:
    """Two standardized inputs with correlation r: curvatures 2(1 + r) and 2(1 - r)."""
    r = 0.995
    H = 2 * torch.tensor([[1.0, r], [r, 1.0]], dtype=torch.float64)
    low, high = torch.linalg.eigvalsh(H).tolist()
    assert math.isclose(high, 2 * (1 + r))
    assert math.isclose(low, 2 * (1 - r))
    text = page()
    assert "(curvature $2(1 + r)$)" in text
    assert "(curvature $2(1 - r)$)" in text


def test_check_yourself_arithmetic() -> None:
    """The worked numbers in the questions: a curvature of 4 at lr 0.4, and the eigenvalues."""
    X, _ = lesson_data()
    X_wide, _, _ = wide_data()
    low, high = torch.linalg.eigvalsh(lesson.hessian(X)).tolist()
    low_wide, high_wide = torch.linalg.eigvalsh(lesson.hessian(X_wide)).tolist()
    quiz = page().split("## Check yourself", 1)[1]
    assert f"{1 - 0.4 * 4:.1f}" == "-0.6"
    assert "$1 - 0.4 \\times 4 = -0.6$" in quiz
    assert "$\\eta \\lambda = 1.6$" in quiz
    assert f"{1 - 1.0 * high:.1f}" == "-1.8"
    assert f"{2 / (low + high):.2f}" == "0.42"
    assert f"{1 / high:.2f}" == "0.36"
    assert "eigenvalues 1.99 and 2.76" in quiz
    assert f"{1 - 2 / (high_wide / low_wide):.3f}" == "0.984"
    assert f"{100 * 2 / (high_wide / low_wide):.1f}" == "1.6"
    assert "about 1.6% of the distance" in quiz
