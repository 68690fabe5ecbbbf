"""Lesson 1.3: every number the page states is what the snippets compute (timings excepted)."""

from pathlib import Path

import batch_vs_stochastic_gradient_descent as lesson
import batch_vs_stochastic_gradient_descent_exercises as exercises
import torch
from helpers import get_device, seed_everything

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-1" / "batch-vs-stochastic-gradient-descent.md"
LR, NUM_EPOCHS = 0.1, 30  # as in the lesson's run section
BATCH_SIZES = {"full batch": 100, "mini-batch": 10, "stochastic": 1}


def page() -> str:
    """The lesson's Markdown with every run of whitespace made one space (line breaks vary)."""
    return " ".join(LESSON.read_text(encoding="utf-8").split())


def lesson_data() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return lesson.make_data(num_points=100, device=get_device())


def run(X: torch.Tensor, y: torch.Tensor, batch_size: int, lr: float = LR) -> lesson.History:
    generator = torch.Generator().manual_seed(0)
    return lesson.train(X, y, batch_size, lr, NUM_EPOCHS, generator)


def excess_last_three_epochs(history: lesson.History, X: torch.Tensor, y: torch.Tensor) -> str:
    excess = lesson.full_losses(history, X, y)[-300:] - lesson.best_loss(X, y)
    return f"{excess.mean().item():.4f}"


def test_batches_cover_every_index_once() -> None:
    generator = torch.Generator().manual_seed(0)
    batches = lesson.make_batches(num_points=10, batch_size=4, generator=generator)
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    assert "three batches, with 4, 4 and 2 examples" in page()


def test_steps_and_final_losses() -> None:
    X, y = lesson_data()
    text = page()
    runs = {name: run(X, y, batch_size) for name, batch_size in BATCH_SIZES.items()}
    steps = {name: len(history.w) for name, history in runs.items()}
    assert steps == {"full batch": 30, "mini-batch": 300, "stochastic": 3000}
    assert [h.steps_per_epoch for h in runs.values()] == [1, 10, 100]
    assert "the full batch took 30 steps, the mini-batches 300 and SGD 3000" in text
    assert "1 step per epoch for the full batch, 10 for batches of 10, 100 for SGD" in text
    final = {name: f"{lesson.full_losses(h, X, y)[-1].item():.4f}" for name, h in runs.items()}
    best = f"{lesson.best_loss(X, y):.4f}"
    assert final["full batch"] == best
    assert f"full batch ends at {final['full batch']}" in text
    assert f"best possible loss on these points, {best}" in text
    assert f"mini-batch ends at {final['mini-batch']} and SGD at {final['stochastic']}" in text


def test_every_sgd_step_moves_both_parameters() -> None:
    X, y = lesson_data()
    sgd = run(X, y, batch_size=1)
    assert sgd.w[0] != 0.0
    assert sgd.b[0] != 0.0
    later = len(sgd.w) - 1
    w_moves = sum(a != b for a, b in zip(sgd.w, sgd.w[1:], strict=False))
    b_moves = sum(a != b for a, b in zip(sgd.b, sgd.b[1:], strict=False))
    assert w_moves == b_moves == later
    assert f"of the {later} later steps, $w$ changed on {w_moves} and $b$ on {b_moves}" in page()
    # The second step is tiny because its example's error was tiny.
    assert abs(sgd.b[1] - sgd.b[0]) < 1e-3
    assert abs(sgd.w[2] - sgd.w[1]) > 0.1


def test_sgd_noise_and_learning_rate() -> None:
    X, y = lesson_data()
    text = page()
    floor = lesson.best_loss(X, y)
    for lr in (0.1, 0.01):
        excess = lesson.full_losses(run(X, y, batch_size=1, lr=lr), X, y)[-300:] - floor
        assert excess.min().item() > -1e-6  # no line beats least squares
        mean, worst = f"{excess.mean().item():.4f}", f"{excess.max().item():.4f}"
        if lr == 0.1:
            assert f"on average {mean} above the best, and jumps as high as {worst}" in text
        else:
            assert f"shrinks to {mean} (at worst {worst})" in text


def test_exercise_1_counting() -> None:
    X, y = lesson_data()
    generator = torch.Generator().manual_seed(0)
    sizes = [len(b) for b in lesson.make_batches(len(X), batch_size=32, generator=generator)]
    assert sizes == [32, 32, 32, 4]
    history = run(X, y, batch_size=32)
    assert history.steps_per_epoch == 4
    assert len(history.w) == 120
    assert all(a != b for a, b in zip([0.0, *history.w], history.w, strict=False))
    assert all(a != b for a, b in zip([0.0, *history.b], history.b, strict=False))
    text = page()
    assert "batches of [32, 32, 32, 4], 4 steps per epoch, 120 steps in all" in text
    assert "each changed on all 120 of them" in text


def test_exercise_2_gradient_noise() -> None:
    X, y = lesson_data()
    w = torch.zeros((), requires_grad=True, device=X.device)
    lesson.mse(w * X + 0.0, y).backward()
    assert w.grad is not None
    full = w.grad.item()
    generator = torch.Generator().manual_seed(0)
    spreads = {}
    for batch_size in (1, 4, 16, 64):
        grads = exercises.batch_gradients(X, y, batch_size, num_batches=2000, generator=generator)
        assert abs(grads.mean().item() - full) < 0.2  # unbiased, up to the luck of the draw
        spreads[batch_size] = grads.std().item()
    assert 1.8 < spreads[1] / spreads[4] < 2.3  # "roughly halves"
    assert 1.8 < spreads[4] / spreads[16] < 2.3
    assert spreads[16] / spreads[64] > 2.5  # "falls faster than that"
    text = page()
    assert f"The full-batch gradient is ${full:.3f}$" in text
    assert f"{spreads[1]:.3f} for single examples" in text
    assert f"to {spreads[64]:.3f}, because" in text


def test_exercise_3_decaying_learning_rate() -> None:
    X, y = lesson_data()
    constant = run(X, y, batch_size=1)
    generator = torch.Generator().manual_seed(0)
    decaying = exercises.train_sgd_decaying(X, y, LR, decay=100, num_epochs=30, generator=generator)
    assert len(decaying.w) == 3000
    constant_gap = excess_last_three_epochs(constant, X, y)
    decaying_gap = excess_last_three_epochs(decaying, X, y)
    assert float(decaying_gap) < float(constant_gap) / 10
    assert (
        f"on average {constant_gap} above the best; with the decaying rate, only {decaying_gap}"
        in (page())
    )
