"""Lesson 3.7: every number and claim the page states is what the snippets compute.

The early-stopping runs are full-batch float32 training, which a GPU rounds a little
differently: the page states their losses to three digits and accuracies rounded, checked here
with margins, and the steps it names are checked to be clear minima (no neighbour within 1e-3),
so rounding cannot move them. The batch-norm and augmentation runs are stated as rounded values
or ranges. The normalization formulas are checked exactly in float64 on the CPU."""

import inspect
import math
from functools import cache
from pathlib import Path

import modern_regularization as lesson
import modern_regularization_exercises as exercises
import pytest
import torch
from course import flat_text
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from modern_regularization import EarlyStopping
from regularization_and_overfitting import MLP, Data, copy_of, evaluate, split, train_and_validate
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "modern-regularization.md"
LR, MAX_STEPS = 0.1, 1000  # as on the page


def page() -> str:
    return flat_text(LESSON)


def prose() -> str:
    text = page()
    return text[: text.index("## Check yourself")]


@cache
def lesson_data() -> tuple[Data, Data, Data, MLP]:
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(2100, device, noise=0.35)
    generator = torch.Generator().manual_seed(0)
    train, val, test = split(X_all, y_all, [100, 1000, 1000], generator)
    return train, val, test, MLP(width=128).to(device)


@cache
def patience_runs() -> dict[int, tuple[EarlyStopping, list[float], MLP]]:
    train, val, _, start = lesson_data()
    runs = {}
    for patience in (5, 20, 50):
        stopper = EarlyStopping(patience)
        model = copy_of(start)
        losses = lesson.fit(model, train, val, LR, MAX_STEPS, stopper)
        runs[patience] = (stopper, losses, model)
    return runs


@cache
def images() -> tuple[Data, Data]:
    dice = torch.Generator().manual_seed(0)
    device = get_device()
    train = lesson.make_images(40, max_row=2, max_col=2, noise=0.2, generator=dice)
    val = lesson.make_images(1000, max_row=4, max_col=5, noise=0.2, generator=dice)
    return (train[0].to(device), train[1].to(device)), (val[0].to(device), val[1].to(device))


@cache
def val_columns_and_in_range() -> tuple[torch.Tensor, torch.Tensor]:
    """Each validation image's corner column, and whether its corner lies where training corners
    do (rows and columns 0 to 2): the same draws as images(), without the noise."""
    dice = torch.Generator().manual_seed(0)
    lesson.make_images(40, max_row=2, max_col=2, noise=0.0, generator=dice)
    clean = lesson.make_images(1000, max_row=4, max_col=5, noise=0.0, generator=dice)[0]
    first_row = clean.amax(dim=2).argmax(dim=1)
    first_col = clean.amax(dim=1).argmax(dim=1)
    in_range = (first_row <= 2) & (first_col <= 2)
    device = get_device()
    return first_col.to(device), in_range.to(device)


def accuracy_on(model: nn.Module, data: Data, mask: torch.Tensor) -> float:
    return evaluate(model, (data[0][mask], data[1][mask]))[1]


def test_early_stopping_helper() -> None:
    model = nn.Linear(1, 1)
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert not stopper.should_stop(1.0, 1, model)  # an improvement on inf
    with torch.no_grad():
        model.weight.fill_(7.0)  # later training changes the live tensors ...
    assert stopper.best_state["weight"].item() != 7.0  # ... not the copy
    assert not stopper.should_stop(0.95, 2, model)  # not better by more than 0.1
    assert stopper.should_stop(0.99, 3, model)  # a second bad evaluation: stop
    assert (stopper.best_step, stopper.best_loss) == (1, 1.0)
    # a reference instead of a copy would follow the live tensors
    live = model.state_dict()
    with torch.no_grad():
        model.weight.fill_(3.0)
    assert live["weight"].item() == 3.0


def test_patience() -> None:
    runs = patience_runs()
    stop5, losses5, _ = runs[5]
    assert (stop5.best_step, len(losses5)) == (9, 14)
    for patience in (20, 50):
        stopper, losses, _ = runs[patience]
        assert (stopper.best_step, len(losses)) == (35, 35 + patience)
    assert f"{stop5.best_loss:.3f}" == "0.363"
    assert f"{runs[20][0].best_loss:.3f}" == "0.332"
    curve = runs[50][1]
    # the kept steps are clear minima: rounding cannot move them
    for step in (9, 35):
        loss = curve[step - 1]
        neighbours = curve[step - 6 : step - 1] + curve[step : step + 5]
        assert min(neighbours) > loss + 1e-3 or (step == 35 and min(neighbours) > loss + 1e-4)
    assert max(curve[:9]) > curve[8]
    assert min(curve[9:]) == curve[34]
    assert 0.44 < max(curve[9:30]) < 0.46  # "a bump of about 0.45"
    assert 16 <= curve.index(max(curve[9:30])) + 1 <= 20  # "around step 18"
    assert curve[-1] > curve[34]  # "creeps up after it"
    # the model handed back holds the kept step's weights
    _, val, _, _ = lesson_data()
    assert evaluate(runs[20][2], val)[0] == pytest.approx(runs[20][0].best_loss, abs=1e-6)
    text = prose()
    assert "Patience 5 stops after step 14 and keeps step 9, at a validation loss of 0.363" in text
    assert "both keep step 35, at 0.332; patience 50 pays 30 more steps" in text
    assert "climbs to a bump of about 0.45 around step 18" in text


def test_test_set_once() -> None:
    train, val, test, start = lesson_data()
    stopped = patience_runs()[20][2]
    final = copy_of(start)
    train_and_validate(final, train, val, LR, num_steps=1000)
    val_acc, final_val_acc = evaluate(stopped, val)[1], evaluate(final, val)[1]
    test_loss, test_acc = evaluate(stopped, test)
    final_loss, final_acc = evaluate(final, test)
    assert 0.84 <= test_acc <= 0.85  # "about 84 to 85%"
    assert 0.83 <= final_acc < 0.845  # "about 84%"
    assert 0.33 < test_loss < 0.37  # "about 0.35"
    assert 1.15 < final_loss < 1.35  # "about 1.25"
    assert 0.2 < test_loss / final_loss < 1 / 3  # "under a third"
    # "Both networks score about two points lower on test than on validation"
    gap, final_gap = val_acc - test_acc, final_val_acc - final_acc
    assert 0.015 <= gap <= 0.03
    assert 0.015 <= final_gap <= 0.03
    # "choosing the step by validation loss adds at most about half a point"
    assert -0.005 <= gap - final_gap <= 0.007
    text = prose()
    assert "scores about 84 to 85% against about 84% for the one trained" in text
    assert "test loss is about 0.35 against about 1.25" in text
    assert "Both networks score about two points lower on test than on validation" in text
    assert "choosing the step by validation loss adds at most about half a point here" in text
    assert "with under a third of the fully trained network's test loss" in text


def test_normalization_by_hand() -> None:
    # defaults, from the signatures
    params = inspect.signature(nn.BatchNorm1d).parameters
    assert params["momentum"].default == 0.1
    assert params["eps"].default == 1e-5
    assert inspect.signature(nn.LayerNorm).parameters["eps"].default == 1e-5
    Z = torch.tensor([[1, 10, -2], [2, 30, 0], [3, 20, 4], [6, 0, 2]], dtype=torch.float64)
    bn = nn.BatchNorm1d(3, dtype=torch.float64)
    out = bn(Z)
    biased = Z.var(0, correction=0)
    assert torch.allclose(out, (Z - Z.mean(0)) / torch.sqrt(biased + 1e-5), rtol=1e-12)
    assert Z.mean(0).tolist() == [3.0, 15.0, 1.0]
    assert bn.running_mean is not None
    assert bn.running_var is not None
    assert torch.allclose(bn.running_mean, 0.1 * Z.mean(0), rtol=1e-12)
    unbiased = Z.var(0, correction=1)
    assert torch.allclose(bn.running_var, 0.9 + 0.1 * unbiased, rtol=1e-12)
    assert f"{unbiased[0]:.3f}" == "4.667"
    assert f"{biased[0]:.1f}" == "3.5"
    assert f"{0.9 + 0.1 * unbiased[0].item():.4f}" == "1.3667"
    assert f"{0.9 + 0.1 * biased[0].item():.2f}" == "1.25"
    # a batch of two: each feature to about +-1
    pair = nn.BatchNorm1d(3, dtype=torch.float64)(Z[:2])
    assert torch.allclose(pair.abs(), torch.ones_like(pair), atol=1e-4)
    # batch of one in training mode: the error the page shows
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(torch.randn(1, 3))
    text = prose()
    assert "the batch means (3, 15, 1)" in text
    assert "unbiased variance 4.667, so $0.9 + 0.4667 = 1.3667$; the biased one, 3.5" in text
    assert "would have given 1.25" in text
    assert "$\\alpha = 0.1$ is PyTorch's `momentum`" in text
    assert "$\\epsilon = 10^{-5}$ (`eps`)" in text


@cache
def bn_net() -> nn.Sequential:
    train, val, _, _ = lesson_data()
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 1))
    model = model.to(get_device())
    train_and_validate(model, train, val, lr=0.1, num_steps=100)
    model.eval()
    return model


def test_forgotten_eval() -> None:
    _, val, _, _ = lesson_data()
    X_val, y_val = val
    model = bn_net()
    bn = model[1]
    assert isinstance(bn, nn.BatchNorm1d)
    assert bn.running_mean is not None
    eval_loss, eval_acc = evaluate(model, val)
    before = bn.running_mean.clone()
    model.train()
    accs = {}
    try:
        for batch_size in (1000, 100, 10, 2):
            with torch.no_grad():
                logits = torch.cat([model(Xb) for Xb in X_val.split(batch_size)])
            accs[batch_size] = ((logits > 0).float() == y_val).float().mean().item()
        moved = (bn.running_mean - before).abs().max().item()
    finally:
        model.eval()
    after_loss, after_acc = evaluate(model, val)  # in evaluation mode again
    assert all(abs(accs[b] - eval_acc) < 0.02 for b in (1000, 100))  # "a couple of points"
    assert eval_acc - accs[2] > 0.10  # "over ten points"
    assert moved > 0.05
    # "each of the 611 batches moved the running estimates 10% of the way": 1 + 10 + 100 + 500
    assert sum(math.ceil(len(X_val) / b) for b in (1000, 100, 10, 2)) == 611
    assert bn.momentum == 0.1
    # "mostly from the last twenty or so batches of 2": the last 20 weigh 1 - 0.9**20
    assert 1 - 0.9**20 > 0.85
    assert abs(after_acc - eval_acc) < 0.01  # "the accuracy hardly changes"
    assert 0.33 < eval_loss < 0.37  # "from about 0.35"
    assert 0.38 < after_loss < 0.42  # "to about 0.40"
    assert after_loss - eval_loss > 0.03
    text = prose()
    assert "the accuracy stays within a couple of points of the evaluation-mode" in text
    assert "with batches of 2 it drops by over ten points" in text
    assert "lost over ten points with batches of" in text
    assert "each of the 611\nbatches moved the running estimates 10% of the way" in page() or (
        "each of the 611 batches moved the running estimates 10% of the way" in text
    )
    assert "the validation loss has risen from about 0.35 to about 0.40" in text
    assert "mostly from the last twenty or so batches of 2" in text


def test_noisy_statistics() -> None:
    _, val, _, _ = lesson_data()
    first_layer = bn_net()[0]  # trained outside no_grad: the first test to ask trains it
    with torch.no_grad():
        Z_val = first_layer(val[0])[:, 0]
    spread = {b: Z_val.reshape(-1, b).mean(1).std().item() for b in (2, 10, 100)}
    std = Z_val.std().item()
    assert 0.16 < spread[2] < 0.2  # "about 0.18"
    assert 0.015 < spread[100] < 0.025  # "about 0.02"
    assert spread[2] > spread[10] > spread[100]
    assert 0.65 < spread[2] / std < 0.75  # "about 70%"
    assert f"{std:.2f}" == "0.24"
    assert f"{1 / math.sqrt(2):.2f}" == "0.71"
    text = prose()
    assert "about 0.18 in batches of 2, about 0.02 in batches of" in text
    assert "moves by about 70% of the feature's own\nspread of 0.24" in page() or (
        "moves by about 70% of the feature's own spread of 0.24" in text
    )


def test_augmentations_are_what_they_say() -> None:
    gen = torch.Generator().manual_seed(0)
    (X, y), (X_val, _) = images()
    assert X.shape == (40, 8, 8)
    assert X_val.shape == (1000, 8, 8)
    assert y.mean().item() == 0.5
    clean, _ = lesson.make_images(4, 0, 0, 0.0, gen)
    assert torch.equal(clean[1, :4, :3], clean[0, :4, :3].flip(-1))  # J: the L mirrored
    shifted = lesson.random_shift(clean, gen)
    assert shifted.shape == clean.shape
    assert (shifted.sum(dim=(1, 2)) <= clean.sum(dim=(1, 2))).all()  # moved, maybe cut
    flipped = lesson.random_flip(clean, gen)
    assert all(
        torch.equal(f, c) or torch.equal(f, c.flip(-1))
        for f, c in zip(flipped, clean, strict=False)
    )


def test_augmentation_runs() -> None:
    train, val = images()
    augments = {
        "none": None,
        "shift": lesson.random_shift,
        "shift + noise": lesson.chain(lesson.random_shift, lesson.add_noise),
        "shift + flip": lesson.chain(lesson.random_shift, lesson.random_flip),
    }
    acc, models = {}, {}
    for name, augment in augments.items():
        model = lesson.train_images(augment, train, num_epochs=400)
        acc[name] = (evaluate(model, train)[1], evaluate(model, val)[1])
        models[name] = model
    columns, in_range = val_columns_and_in_range()
    # "most validation shapes sit where no training shape does"
    assert in_range.float().mean().item() < 0.5
    # "right on about 80% of the shapes placed where training shapes were, worse than chance
    # elsewhere"
    assert 0.75 < accuracy_on(models["none"], val, in_range) < 0.86
    assert accuracy_on(models["none"], val, ~in_range) < 0.5
    # the flip: "the network learns that a J on the right is an L"
    assert accuracy_on(models["shift + flip"], val, columns == 5) < 0.1
    assert acc["none"][0] == 1.0
    assert 0.52 < acc["none"][1] < 0.58  # "about 55%"
    assert 0.81 < acc["shift"][1] < 0.85  # "about 83%"
    assert abs(acc["shift + noise"][1] - acc["shift"][1]) < 0.02  # "changes little"
    assert 0.9 < acc["shift + flip"][0] < 0.95  # "about 92%"
    assert 0.53 < acc["shift + flip"][1] < 0.59  # "about 56%"
    text = prose()
    assert "every training image right and about 55% of the validation" in text
    assert "lift it to about 83%; fresh noise on top changes" in text
    assert "set (about 92%), and validation falls back to about 56%" in text
    assert "from about 55% to about 83%" in text
    assert "right on about 80% of the shapes placed where training" in text
    assert "shapes were, worse than chance elsewhere" in text
    assert "so the network learns that a J on the right is an L" in text
    assert "most validation shapes sit where no training shape does" in text


def test_exercises() -> None:
    train, val, _, start = lesson_data()
    kept = []
    for min_delta in (0.0, 0.001, 0.01):
        stopper = EarlyStopping(patience=20, min_delta=min_delta)
        losses = lesson.fit(copy_of(start), train, val, LR, MAX_STEPS, stopper)
        kept.append((stopper.best_step, len(losses), f"{stopper.best_loss:.3f}"))
    assert kept == [(35, 55, "0.332"), (34, 54, "0.333"), (32, 52, "0.336")]
    train_images, val_images = images()
    accs, accs5 = [], []
    columns, _ = val_columns_and_in_range()
    for max_shift in (1, 2, 4):
        model = lesson.train_images(exercises.shifts_of(max_shift), train_images, 400)
        accs.append(evaluate(model, val_images)[1])
        accs5.append(accuracy_on(model, val_images, columns == 5))
    assert 0.6 < accs[0] < 0.66  # "about 63%"
    assert 0.81 < accs[1] < 0.85  # "about 83%"
    assert accs[2] > 0.9  # "over 90%"
    assert 0.1 < accs5[1] < 0.2  # column 5 "mostly misread (about 15% right)"
    # "Training corners lie in columns 0 to 2: shifts of 2 move a corner to row 4 but only to
    # column 4"; validation corners reach row 4 and column 5, so shifts of 4 cover them all
    clean, _ = lesson.make_images(40, 2, 2, 0.0, torch.Generator().manual_seed(0))
    train_rows, train_cols = clean.amax(dim=2).argmax(dim=1), clean.amax(dim=1).argmax(dim=1)
    assert (train_rows.min().item(), train_rows.max().item()) == (0, 2)
    assert (train_cols.min().item(), train_cols.max().item()) == (0, 2)
    assert columns.max().item() == 5 > train_cols.max().item() + 2
    assert train_cols.max().item() + 4 >= 5
    # "about one in seven vanishing entirely" under shifts of 4: the clean training shapes
    shifted = exercises.shifts_of(4)(clean.repeat(50, 1, 1), torch.Generator().manual_seed(1))
    gone = (shifted.abs().sum(dim=(1, 2)) == 0).float().mean().item()
    assert 0.1 < gone < 0.18
    # exercise 3, exactly on the CPU
    seed_everything(0)
    Z = torch.randn(8, 3, dtype=torch.float64)
    bn = nn.BatchNorm1d(3, dtype=torch.float64)
    bn(torch.randn(8, 3, dtype=torch.float64))
    bn.eval()
    assert torch.equal(bn(Z[:1]), bn(Z)[:1])
    in_eval = bn(Z)
    bn.train()  # the same batch, now normalized with its own statistics
    assert not torch.allclose(bn(Z), in_eval)
    ln = nn.LayerNorm(3, dtype=torch.float64)
    assert torch.equal(ln.eval()(Z), ln.train()(Z))
    assert (
        "In training mode it uses this batch's statistics instead, so its output differs; "
        "layer norm's does not."
    ) in page()
    # the introduction's account of lesson 3.4: batch norm cured, layer norm (Exercise 1) failed
    assert "cured a deep network with **batch normalization**; its [Exercise 1]" in page()
    assert "saw **layer normalization** fail" in page()
    earlier = flat_text(LESSON.parent / "deeper-networks-and-backprop-challenges.md")
    assert "It does not: the factor rises from 0.30 to 0.40" in earlier
    text = prose()
    assert "the earlier the kept step (35, 34, 32) and the stop (55, 54, 52)" in text
    assert "slightly higher validation loss (0.332 to 0.336)" in text
    assert "One pixel gives about 63%, two about 83%, four over 90%" in text
    assert "shifts of 2 move a corner to row 4 but only to column 4" in text
    assert "never seen and mostly misread (about 15% right)" in text
    assert "about one in seven vanishing entirely" in text
