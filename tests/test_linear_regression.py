"""Lesson 1.2: every number and claim the page states is what the snippets compute."""

from itertools import pairwise
from pathlib import Path

import linear_regression as lesson
import linear_regression_exercises as exercises
import torch
from course import flat_text
from helpers import get_device, seed_everything
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-1" / "linear-regression.md"
SNIPPETS = ROOT / "snippets"
LR, NUM_STEPS = 0.1, 100  # as in the lesson's run-by-hand section


def page() -> str:
    return flat_text(LESSON)


def lesson_data() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return lesson.make_data(num_points=100, device=get_device())


def test_hand_gradients_match_autograd() -> None:
    X, y = lesson_data()
    by_hand, by_autograd = lesson.check_gradients(X, y, w_value=0.5, b_value=-0.3)
    assert (by_hand - by_autograd).abs().max().item() < 1e-12
    assert "below $10^{-12}$" in page()


def test_trained_line_loss_and_closed_form() -> None:
    X, y = lesson_data()
    w, b, losses = lesson.train_by_hand(X, y, LR, NUM_STEPS)
    text = page()
    assert f"lands on $w = {w.item():.2f}$ and $b = {b.item():.2f}$" in text
    assert f"settles at {losses[-1]:.3f}" in text
    assert f"scores {lesson.mse(2 * X + 1, y).item():.3f} on these" in text
    w_exact, b_exact = lesson.closed_form(X, y)
    assert f"{w.item():.4f}" == f"{w_exact:.4f}"
    assert f"{b.item():.4f}" == f"{b_exact:.4f}"
    assert "agree to four decimal places" in text


def test_autograd_loop_matches_hand_loop() -> None:
    X, y = lesson_data()
    w, b, _ = lesson.train_by_hand(X, y, LR, NUM_STEPS)
    w_auto, b_auto, _ = lesson.train_with_autograd(X, y, LR, NUM_STEPS)
    assert abs(w - w_auto).item() < 1e-5
    assert abs(b - b_auto).item() < 1e-5
    assert "a difference below $10^{-5}$" in page()


def test_nn_linear_draws_weight_and_bias_uniformly() -> None:
    seed_everything(0)
    small = [nn.Linear(1, 1) for _ in range(3)]
    assert all(0 < abs(layer.bias.item()) < 1 for layer in small)
    assert all(0 < abs(layer.weight.item()) < 1 for layer in small)
    layer = nn.Linear(100, 1000)
    for values in (layer.weight, layer.bias):
        assert values.abs().max().item() <= 0.1  # 1 / sqrt(in_features)
        assert values.min().item() < -0.099  # the range is filled, not just bounded
        assert values.max().item() > 0.099
    assert "inside $(-0.1, 0.1)$" in page()


def test_nn_linear_from_random_start_reaches_the_same_line() -> None:
    X, y = lesson_data()
    w, b, _ = lesson.train_by_hand(X, y, LR, NUM_STEPS)
    model = nn.Linear(1, 1).to(X.device)
    lesson.train_module(model, X, y, LR, NUM_STEPS)
    assert f"{model.weight.item():.4f}" == f"{w.item():.4f}"
    assert f"{model.bias.item():.4f}" == f"{b.item():.4f}"


def test_a_frozen_bias_gets_no_gradient_and_does_not_move() -> None:
    X, y = lesson_data()
    model = nn.Linear(1, 1).to(X.device)
    model.bias.requires_grad_(False)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    w_before, b_before = model.weight.item(), model.bias.item()
    optimizer.zero_grad()
    lesson.mse(model(X), y).backward()
    optimizer.step()
    assert model.bias.grad is None
    assert model.bias.item() == b_before
    assert model.weight.item() != w_before


def test_exercise_1_line_through_origin() -> None:
    X, y = lesson_data()
    w, losses = exercises.train_no_bias(X, y, lr=0.1, num_steps=100)
    w_formula = ((X * y).sum() / (X**2).sum()).item()
    assert abs(w.item() - w_formula) < 1e-4
    _, _, losses_with_b = lesson.train_by_hand(X, y, LR, NUM_STEPS)
    text = page()
    assert f"$w = {w.item():.2f}$. But the loss stays at {losses[-1]:.2f}" in text
    assert f"instead of {losses_with_b[-1]:.3f}" in text


def test_exercise_2_learning_rates() -> None:
    X, y = lesson_data()
    runs = exercises.compare_learning_rates(X, y, lrs=(0.01, 0.1, 0.5, 0.8), num_steps=30)
    floor = lesson.train_by_hand(X, y, LR, NUM_STEPS)[2][-1]
    slow, fast, faster, diverging = runs[0.01], runs[0.1], runs[0.5], runs[0.8]
    assert slow[-1] < slow[-2]  # still falling
    assert slow[-1] > 2 * floor  # and far from the floor
    assert abs(fast[-1] - floor) < 1e-3
    assert abs(faster[-1] - floor) < 1e-3
    assert all(later > earlier for earlier, later in pairwise(diverging))
    ceiling = 1 / (X**2).mean().item()
    assert 0.5 < ceiling < 0.8
    assert f"about {ceiling:.2f} for our data" in page()


def test_exercise_3_feature_scaling() -> None:
    seed_everything(0)
    X, y = lesson.make_data(100, get_device(), x_low=0.0, x_high=10.0)
    w_fast, _, _ = lesson.train_by_hand(X, y, lr=0.1, num_steps=100)
    assert torch.isnan(w_fast).item()
    _, b_slow, _ = lesson.train_by_hand(X, y, lr=0.01, num_steps=100)
    w_std, b_std = exercises.fit_standardized(X, y, lr=0.1, num_steps=100)
    w_exact, b_exact = lesson.closed_form(X, y)
    assert abs(b_slow.item() - b_exact) > 0.3
    assert f"{w_std:.4f}" == f"{w_exact:.4f}"
    assert f"{b_std:.4f}" == f"{b_exact:.4f}"
    mean_square = (X**2).mean().item()
    text = page()
    assert f"is around {mean_square:.0f}, so the limit is about {1 / mean_square:.2f}" in text


def test_exercise_4_mean_absolute_error() -> None:
    X, y = lesson_data()
    assert exercises.check_gradients_mae(X, y, w_value=0.5, b_value=-0.3) < 1e-12
    path = exercises.train_mae(X, y, lr=0.1, num_steps=300)
    assert path.shape == (301, 2)
    w_mae, b_mae = path[-1]
    w_mse, b_mse, _ = lesson.train_by_hand(X, y, LR, NUM_STEPS)
    distance = max(abs(w_mae - w_mse.cpu()).item(), abs(b_mae - b_mse.cpu()).item())
    assert 0.01 < distance < 0.1  # "close to, but not the same as, the MSE line"
    # "keep hopping": the printed last steps never settle, and repeat every four steps
    last = path[292:]
    w_printed = sorted({f"{v:.4f}" for v in last[:, 0].tolist()}, key=float)
    b_printed = sorted({f"{v:.4f}" for v in last[:, 1].tolist()}, key=float)
    text = page()
    assert f"$b$ jumps between {b_printed[0]} and {b_printed[-1]}" in text
    assert len(b_printed) == 2
    assert f"$w$ between {w_printed[0]} and {w_printed[-1]}" in text
    assert (last[4:] - last[:-4]).abs().max().item() < 5e-4  # a cycle of four steps
    assert (last[1:] - last[:-1]).abs().max().item() > 1e-3  # that never settles
