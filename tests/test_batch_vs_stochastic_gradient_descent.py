"""Lesson 1.3: every number the page states is what the snippets compute (timings excepted)."""

import statistics
from collections.abc import Callable
from pathlib import Path

import batch_vs_stochastic_gradient_descent as lesson
import batch_vs_stochastic_gradient_descent_exercises as exercises
import torch
from course import flat_text
from helpers import get_device, seed_everything
from linear_regression import make_data, mse

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-1" / "batch-vs-stochastic-gradient-descent.md"
LR, NUM_EPOCHS = 0.1, 30  # as in the lesson's run section
BATCH_SIZES = {"full batch": 100, "mini-batch": 10, "stochastic": 1}


def page() -> str:
    return flat_text(LESSON)


def lesson_data() -> tuple[torch.Tensor, torch.Tensor]:
    seed_everything(0)
    return make_data(num_points=100, device=get_device())


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
    steps = {name: history.num_steps for name, history in runs.items()}
    assert steps == {"full batch": 30, "mini-batch": 300, "stochastic": 3000}
    assert [h.steps_per_epoch for h in runs.values()] == [1, 10, 100]
    assert all(len(h.w) == len(h.b) == h.num_steps + 1 for h in runs.values())  # start + steps
    assert all(len(h.epoch_seconds) == NUM_EPOCHS for h in runs.values())
    # The one timing claim, with a wide margin: a full-batch step costs far less than 100 SGD steps.
    step = {
        name: statistics.median(h.epoch_seconds) / h.steps_per_epoch for name, h in runs.items()
    }
    assert step["full batch"] < 10 * step["stochastic"]
    assert "the full batch took 30 steps, the mini-batches 300 and SGD 3000" in text
    assert "1 step per epoch for the full batch, 10 for batches of 10, 100 for SGD" in text
    final = {name: f"{lesson.full_losses(h, X, y)[-1].item():.4f}" for name, h in runs.items()}
    best = f"{lesson.best_loss(X, y):.4f}"
    assert final["full batch"] == best
    assert (
        f"full batch ends at {final['full batch']}, which matches the best possible loss on "
        "these points to all four decimals" in text
    )
    assert f"mini-batch ends at {final['mini-batch']} and SGD at {final['stochastic']}" in text


def test_every_sgd_step_moves_both_parameters() -> None:
    X, y = lesson_data()
    sgd = run(X, y, batch_size=1)
    assert sgd.w[0] == sgd.b[0] == 0.0  # entry 0 is the start
    assert sgd.w[1] != 0.0
    assert sgd.b[1] != 0.0
    steps = sgd.num_steps
    w_moves, b_moves = lesson.count_moves(sgd.w), lesson.count_moves(sgd.b)
    assert w_moves == b_moves == steps == 3000
    text = page()
    assert f"each of the {steps} steps is checked exactly once" in text
    assert f"of the {steps} steps, $w$ changed on {w_moves} and $b$ on {b_moves}" in text
    # Step 2 is tiny because its example's error was tiny; step 3 is not.
    assert abs(sgd.b[2] - sgd.b[1]) < 1e-3
    assert abs(sgd.w[2] - sgd.w[1]) < 1e-3
    assert abs(sgd.w[3] - sgd.w[2]) > 0.1
    # count_moves compares with the start too: a frozen first step would count as no move.
    assert lesson.count_moves([0.0, 0.0, 1.0]) == 1


def test_loss_curves_per_update() -> None:
    X, y = lesson_data()
    best = lesson.best_loss(X, y)
    losses = {
        name: lesson.full_losses(run(X, y, batch_size), X, y)
        for name, batch_size in BATCH_SIZES.items()
    }
    full, mini, sgd = losses["full batch"], losses["mini-batch"], losses["stochastic"]
    # the same loss at step 0
    assert full[0].item() == mini[0].item() == sgd[0].item()
    # SGD's first step lowers the loss less than the others', its second barely changes it
    assert full[0] > sgd[1] > max(full[1], mini[1])
    assert abs(sgd[2] - sgd[1]) < 1e-3
    # ... yet a few steps later it has caught up
    assert sgd[6] < min(full[6], mini[6])
    # all three fall steeply over the first ten to twenty steps (to within 10% of the floor)
    for curve in losses.values():
        assert curve[:5].min().item() > 2 * best  # still far from it after four steps
        assert curve[:21].min().item() < 1.1 * best
    assert "all three fall steeply over the first ten to twenty steps" in page()


def test_single_examples_agreement() -> None:
    X, y = lesson_data()
    # per-example gradients at w = b = 0, by autograd one example at a time
    grad_w, grad_b = [], []
    for i in range(len(X)):
        w = torch.zeros((), requires_grad=True, device=X.device)
        b = torch.zeros((), requires_grad=True, device=X.device)
        mse(w * X[i] + b, y[i]).backward()
        assert w.grad is not None
        assert b.grad is not None
        grad_w.append(w.grad.item())
        grad_b.append(b.grad.item())
    gw, gb = torch.tensor(grad_w), torch.tensor(grad_b)
    full_w, full_b = gw.mean().item(), gb.mean().item()
    assert full_w < 0  # w should grow
    assert full_b < 0  # b should grow
    opposite_w = int((gw > 0).sum().item())
    opposite_b = int((gb > 0).sum().item())
    assert (opposite_w, opposite_b) == (8, 42)
    text = page()
    assert f"{100 - opposite_w} of the 100 ask for $w$ to grow" in text
    assert f"only {opposite_w} ask for the opposite" in text
    assert f"{opposite_b} of the 100 examples would push $b$ the wrong way" in text
    # SGD's first step: b the wrong way (the best b is near 1), w the right way
    sgd = run(X, y, batch_size=1)
    A = torch.cat([X, torch.ones_like(X)], dim=1).cpu().double()
    best_w, best_b = torch.linalg.lstsq(A, y.cpu().double()).solution.flatten().tolist()
    assert 0.9 < best_b < 1.1
    assert sgd.b[1] < 0 < sgd.w[1] < best_w
    assert f"it moved $b$ from 0 to ${sgd.b[1]:.4f}$" in text
    # Exercise 2: single examples' dL/dw range from nearly 4 times the full one to almost 0.
    ratios = gw / full_w
    assert 3.5 < ratios.max().item() < 4
    assert ratios[ratios > 0].min().item() < 0.01
    assert "range from nearly four times the full gradient down to almost zero" in text
    assert f"demonstrations, {opposite_w} of the 100 even have the opposite sign" in text


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
    assert history.num_steps == 120
    assert lesson.count_moves(history.w) == lesson.count_moves(history.b) == 120
    text = page()
    assert "batches of [32, 32, 32, 4], 4 steps per epoch, 120 steps in all" in text
    assert "each changed on all 120 of them" in text


def test_exercise_2_gradient_noise() -> None:
    X, y = lesson_data()
    w = torch.zeros((), requires_grad=True, device=X.device)
    mse(w * X + 0.0, y).backward()
    assert w.grad is not None
    full = w.grad.item()
    generator = torch.Generator().manual_seed(0)
    spreads, gaps = {}, {}
    for batch_size in (1, 4, 16, 64):
        grads = exercises.batch_gradients(X, y, batch_size, num_batches=2000, generator=generator)
        spreads[batch_size] = grads.std().item()
        # the gap between the mean and the full gradient, in standard errors
        gaps[batch_size] = abs(grads.mean().item() - full) / (spreads[batch_size] / 2000**0.5)
    assert max(gaps.values()) < 3  # "every gap here is under three standard errors"
    assert max(gaps, key=gaps.__getitem__) == 4  # "the largest, at B = 4"
    assert 2.25 < gaps[4] < 2.75  # "about two and a half"
    assert 1.8 < spreads[1] / spreads[4] < 2.3  # "roughly halves"
    assert 1.8 < spreads[4] / spreads[16] < 2.3
    assert spreads[16] / spreads[64] > 2.5  # "falls faster than that"
    text = page()
    assert f"The full-batch gradient is ${full:.3f}$" in text
    assert f"{spreads[1]:.3f} for single examples" in text
    assert "Every gap here is under three standard errors" in text
    assert "the largest, at $B = 4$, is about two and a half" in text
    assert f"to {spreads[64]:.3f}, because" in text


def test_exercise_3_decaying_learning_rate() -> None:
    X, y = lesson_data()
    constant = run(X, y, batch_size=1)
    generator = torch.Generator().manual_seed(0)
    decaying = exercises.train_sgd_decaying(X, y, LR, decay=100, num_epochs=30, generator=generator)
    assert decaying.num_steps == 3000
    constant_gap = excess_last_three_epochs(constant, X, y)
    decaying_gap = excess_last_three_epochs(decaying, X, y)
    assert float(decaying_gap) < float(constant_gap) / 10
    assert (
        f"on average {constant_gap} above the best; with the decaying rate, only {decaying_gap}"
        in (page())
    )


def test_what_a_zero_or_missing_gradient_does_to_each_optimizer() -> None:
    """The prose: plain SGD leaves a parameter with a zero gradient where it is; momentum, Adam
    and weight decay still move it; a None gradient is skipped by all of them."""

    Make = Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer]

    def moves(make: Make) -> list[bool]:
        p = torch.nn.Parameter(torch.tensor(1.0))
        optimizer = make([p])
        p.grad = torch.tensor(1.0)  # a first step builds up any momentum
        optimizer.step()
        moved = []
        for grad in (torch.tensor(0.0), None):
            before = p.item()
            p.grad = grad
            optimizer.step()
            moved.append(p.item() != before)
        return moved  # [moved on a zero gradient, moved on a None gradient]

    assert moves(lambda ps: torch.optim.SGD(ps, lr=0.1)) == [False, False]
    assert moves(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)) == [True, False]
    assert moves(lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.1)) == [True, False]
    assert moves(lambda ps: torch.optim.Adam(ps, lr=0.1)) == [True, False]
    assert "With plain SGD, as here, that weight then stays where it was." in page()
