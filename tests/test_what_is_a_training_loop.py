"""Lesson 1.1: every number the page states comes from the lesson's code."""

from itertools import pairwise
from pathlib import Path

import torch
import what_is_a_training_loop as lesson
import what_is_a_training_loop_exercises as exercises
from helpers import get_device, seed_everything

LESSON = Path(__file__).resolve().parents[1] / "docs" / "module-1" / "what-is-a-training-loop.md"
TEXT = LESSON.read_text(encoding="utf-8")


def lesson_data(true_b: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The purchases exactly as the page makes them: seed 0, then moved to the device."""
    seed_everything(0)
    X, y = lesson.make_data(true_b=true_b)
    device = get_device()
    return X.to(device), y.to(device)


def test_first_step_follows_the_update_rule() -> None:
    X, y = lesson_data()
    _, w_history, _ = lesson.train(X, y, lr=0.1, num_steps=2)
    grad_w = 2 * (X * (w_history[0] * X - y)).mean().item()  # dL/dw at w = 0
    assert w_history[0] == 0.0
    assert abs(w_history[1] - (0.0 - 0.1 * grad_w)) < 1e-5
    assert f"$w = 0 - 0.1 \\times ({grad_w:.4f}) = {w_history[1]:.4f}$" in TEXT


def test_learned_price_and_loss() -> None:
    X, y = lesson_data()
    w_fit, _, loss_history = lesson.train(X, y, lr=0.1, num_steps=12)
    w_best = ((X * y).mean() / (X**2).mean()).item()  # the bottom of L(w)
    assert f"{w_fit:.2f}" == f"{w_best:.2f}"  # twelve steps reach the best fit, to the cent
    assert f"learned $w = {w_fit:.2f}$ euros per kilogram" in TEXT
    assert f"to {w_fit:.2f} euros" in TEXT
    assert f"the last loss it measured, on step 11, was {loss_history[-1]:.4f}" in TEXT
    assert f"fell from {loss_history[0]:.2f} to {loss_history[-1]:.4f}" in TEXT
    # The true price, w = 3, scores slightly worse than the learned one.
    assert lesson.mse(3.0 * X, y).item() > loss_history[-1]


def test_too_large_learning_rate_diverges() -> None:
    X, y = lesson_data()
    _, w_history, loss_history = lesson.train(X, y, lr=0.6, num_steps=6)
    assert w_history[1] > 3.0  # overshoots past the best price
    assert w_history[2] < 0.0  # then lands below zero
    assert all(b > a for a, b in pairwise(loss_history))
    assert len(loss_history) == 6  # six losses, five updates between them
    stated = f"five updates apart, climb from {loss_history[0]:.2f} to {loss_history[-1]:.2f}"
    assert stated in " ".join(TEXT.split())


def test_exercise_1_steps_to_reach_the_threshold() -> None:
    X, y = lesson_data()
    reached = {}
    for lr in [0.01, 0.1, 0.3, 0.4, 0.5]:
        _, _, loss_history = lesson.train(X, y, lr=lr, num_steps=30)
        reached[lr] = exercises.steps_to_reach(loss_history, 0.1)
    assert reached[0.01] is None
    assert reached[0.5] is None
    assert f"With `lr = 0.1` it gets there at step {reached[0.1]}" in TEXT
    assert f"`lr = 0.3` already at step {reached[0.3]}" in TEXT
    assert f"(step {reached[0.4]})" in TEXT
    assert reached[0.3] is not None
    assert reached[0.4] is not None
    assert reached[0.3] < reached[0.4]


def test_exercise_2_forgotten_zero_grad_never_settles() -> None:
    X, y = lesson_data()
    _, _, with_zero_grad = lesson.train(X, y, lr=0.1, num_steps=40)
    without = exercises.train_without_zero_grad(X, y, lr=0.1, num_steps=40)
    assert without[:2] == with_zero_grad[:2]  # the first two losses agree
    assert max(without) > without[0]  # it climbs above where it started
    assert max(without[-10:]) > 100 * with_zero_grad[-1]  # and is still swinging at the end


def test_exercise_3_bias_learns_the_fee() -> None:
    X, y = lesson_data(true_b=1.0)
    w_only, _, loss_w_only = lesson.train(X, y, lr=0.1, num_steps=500)
    w, b, loss_w_b = exercises.train_with_bias(X, y, lr=0.2, num_steps=500)
    assert f"$w = {w_only:.2f}$" in TEXT
    assert f"$w = {w:.2f}$ and $b = {b:.2f}$" in TEXT
    assert loss_w_b[-1] < loss_w_only[-1] / 2


def test_loop_has_the_five_steps_in_order() -> None:
    source = Path(lesson.__file__).read_text(encoding="utf-8")
    steps = ["# 1. zero", "# 2. forward", "# 3. loss", "# 4. backward", "# 5. step"]
    positions = [source.index(step) for step in steps]
    assert positions == sorted(positions)
