"""Lesson 3.9: every number the page states is what the snippets compute.

The accuracies come from short float32 runs, which a GPU rounds a little
differently, so the page states means over 5 draws to two decimals with "about",
checked here within 0.02, and states a ranking only where it holds in every
draw with a margin; counts and exact claims are checked exactly."""

import math
from functools import cache
from pathlib import Path

import conclusion as lesson
import conclusion_exercises as exercises
import torch
import torch.nn.functional as F
from course import flat_text
from helpers import get_device, seed_everything

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "conclusion.md"
SIZES = [16, 64, 256]
HOWS = ["scratch", "frozen", "fine-tune"]
DRAWS = 5
Data = dict[str, torch.Tensor]
mean = lesson.mean


def page() -> str:
    return flat_text(LESSON)


@cache
def data() -> Data:
    device = get_device()
    world = lesson.make_world()
    X_source, z_source = lesson.make_signals(2048, world, seed=1)
    X_target, z_target = lesson.make_signals(256, world, seed=2)
    X_val, z_val = lesson.make_signals(2000, world, seed=3)
    return {
        "X_source": X_source.to(device),
        "y_source": lesson.sector(z_source).to(device),
        "X_target": X_target.to(device),
        "z_target": z_target,
        "y_target": lesson.same_sign(z_target).to(device),
        "X_val": X_val.to(device),
        "z_val": z_val,
        "y_val": lesson.same_sign(z_val).to(device),
    }


def target() -> tuple[torch.Tensor, ...]:
    d = data()
    return (d["X_target"], d["y_target"], d["X_val"], d["y_val"])


@cache
def pretrained() -> tuple[torch.nn.Sequential, torch.nn.Linear, list[float]]:
    d = data()
    return lesson.pretrain(d["X_source"], d["y_source"])


def body() -> torch.nn.Sequential:
    return pretrained()[0]


@cache
def sweep() -> dict[str, list[list[float]]]:
    return lesson.transfer_sweep(body(), target(), SIZES, HOWS, DRAWS)


def near(value: float, stated: float) -> bool:
    return abs(value - stated) <= 0.02


def test_data_and_counts() -> None:
    d, text = data(), page()
    assert "2048 labelled examples for the source task, 256 for the target task" in text
    assert "and 2000 for validation" in text
    assert d["X_source"].shape == (2048, 16)
    assert set(d["y_source"].tolist()) == set(range(8))
    assert 0.45 < d["y_val"].mean().item() < 0.55  # "about half"
    # sectors 0, 1, 4, 5 are exactly the same-sign points
    z = d["z_val"]
    in_sectors = torch.isin(lesson.sector(z), torch.tensor([0, 1, 4, 5]))
    assert torch.equal(in_sectors.float()[:, None], lesson.same_sign(z))
    count = sum(p.numel() for p in body().parameters())
    assert count == 1600 == (32 * 16 + 32) + (32 * 32 + 32)
    assert "The lesson's body has 1600 parameters and the new head 33" in text
    assert "544 and 1056" in text


def test_pretraining_and_zero_labels() -> None:
    d, text = data(), page()
    body_, head, losses = pretrained()
    assert abs(losses[0] - 2.1) < 0.02
    assert f"$\\ln 8 = {math.log(8):.3f}$" in text
    assert "The first epoch's loss is about 2.1, close to $\\ln 8 = 2.079$" in text
    said = lesson.source_says_same_sign(body_, head, d["X_val"])
    zero_label = (said == d["y_val"]).float().mean().item()
    assert abs(zero_label - 0.99) <= 0.01
    assert "About 0.99 of the validation examples are right, with no target label" in text


def test_frozen_body() -> None:
    d = data()
    model, _ = lesson.new_model(body(), "frozen", seed=1)
    model = model.to(d["X_target"].device)
    before = {k: v.clone() for k, v in model[0].state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(100):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(d["X_target"][:64]), d["y_target"][:64])
        loss.backward()
        optimizer.step()
    assert all(p.grad is None for p in model[0].parameters())
    assert len(list(model[0].parameters())) == 4
    after = model[0].state_dict()
    assert all(torch.equal(before[k], v) for k, v in after.items())
    assert len(optimizer.state) == 2
    text = page()
    assert "All 4 of the body's tensors keep `.grad` equal to `None`" in text
    assert "Adam holds state for 2 tensors only" in text
    assert "classifies about 96% of the validation examples correctly with 64 labels" in text
    assert near(lesson.accuracy(model, d["X_val"], d["y_val"]), 0.96)


def test_new_model_groups_are_lists() -> None:
    """The groups can be counted and then still handed to an optimizer."""
    for how in HOWS:
        _, groups = lesson.new_model(body(), how, seed=0)
        for group in groups:
            assert isinstance(group["params"], list)


def test_sweep() -> None:
    r, text = sweep(), page()
    assert "With 16 labels, the means are about 0.79 for scratch, 0.84 for the frozen body" in text
    assert "and 0.83 for\nfine-tuning" in text or "and 0.83 for fine-tuning" in text
    assert near(mean(r["scratch"][0]), 0.79)
    assert near(mean(r["frozen"][0]), 0.84)
    assert near(mean(r["fine-tune"][0]), 0.83)
    assert "each pretrained start beats scratch in every one of the 5 draws" in text
    for how in ("frozen", "fine-tune"):
        assert all(a > s for a, s in zip(r[how][0], r["scratch"][0], strict=True))
    assert "The draws span more than a tenth" in text
    assert all(max(r[how][0]) - min(r[how][0]) > 0.1 for how in HOWS)
    assert abs(mean(r["frozen"][0]) - mean(r["fine-tune"][0])) < 0.03  # not told apart
    assert "From 64 labels on, the three means are within about 0.01 of one another" in text
    for i in (1, 2):
        means = [mean(r[how][i]) for how in HOWS]
        assert max(means) - min(means) <= 0.015


def test_pretext() -> None:
    d, text = data(), page()
    ssl_body = lesson.pretrain_by_masking(d["X_source"])

    def random_body(draw: int) -> torch.nn.Sequential:
        seed_everything(100 + draw)
        return lesson.make_body().to(d["X_source"].device)

    frozen = lesson.draws(lambda _: ssl_body, "frozen", target(), 16, DRAWS)
    random = lesson.draws(random_body, "frozen", target(), 16, DRAWS)
    tuned = lesson.draws(lambda _: ssl_body, "fine-tune", target(), 16, DRAWS)
    scratch = sweep()["scratch"][0]
    assert "restoring 4 hidden features of 16" in text
    assert "from about 0.60 on random features to about 0.78" in text
    assert near(mean(random), 0.60)
    assert near(mean(frozen), 0.78)
    assert "the pretext body beats the random one in every draw" in text
    assert all(f > r for f, r in zip(frozen, random, strict=True))
    assert "Frozen, they do not beat scratch with the same 16 labels (about 0.79)" in text
    assert mean(frozen) <= mean(scratch)
    assert "the pretext body reaches about 0.81, a little above scratch on average" in text
    assert near(mean(tuned), 0.81)
    assert mean(scratch) < mean(tuned) < mean(scratch) + (max(scratch) - min(scratch))


def test_review_state_is_measured() -> None:
    d, text = data(), page()
    counts = {}
    for how in ("fine-tune", "frozen"):
        model, groups = lesson.new_model(body(), how, seed=0)
        model = model.to(d["X_target"].device)
        optimizer = torch.optim.Adam(groups)
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(d["X_target"]), d["y_target"]).backward()
        optimizer.step()
        states = list(optimizer.state.values())
        buffers = sum(s["exp_avg"].numel() + s["exp_avg_sq"].numel() for s in states)
        counts[how] = (len(states), buffers)
    assert counts == {"fine-tune": (6, 3266), "frozen": (2, 66)}
    assert "$1600 + 33 = 1633$ parameters in 6 tensors: $2 \\times 1633 = 3266$" in text
    assert "only the head's 2 tensors: $2 \\times 33 = 66$" in text


def test_worked_questions() -> None:
    text = page()
    # Question 2: warmup then cosine, and clipping by norm
    eta, W, T = 0.01, 100, 1100
    assert eta * 50 / W == 0.005
    progress = (600 - W) / (T - W)
    assert progress == 0.5
    assert math.isclose(0.5 * eta * (1 + math.cos(math.pi * progress)), 0.005)
    assert "$0.01 \\cdot 50/100 = 0.005$" in text
    assert "$(600 - 100)/(1100 - 100) = 0.5$" in text
    g = torch.tensor([3.0, 4.0], requires_grad=True)
    g.grad = torch.tensor([3.0, 4.0])
    norm = torch.nn.utils.clip_grad_norm_([g], max_norm=1.0)
    assert norm.item() == 5.0
    assert torch.allclose(g.grad, torch.tensor([0.6, 0.8]), atol=1e-6)
    assert "$\\sqrt{9 + 16} = 5 > 1$" in text
    assert "(0.6,\n0.8)" in text or "(0.6, 0.8)" in text
    # Question 3: Kaiming against PyTorch's default for a fan-in of 32
    assert math.sqrt(2 / 32) == 0.25
    assert "$\\sqrt{2/32} = 0.25$" in text
    bound = 1 / math.sqrt(32)
    assert f"$\\pm 1/\\sqrt{{32}} = \\pm {bound:.3f}$" in text
    assert f"{bound:.3f}/\\sqrt{{3}} = {bound / math.sqrt(3):.3f}$" in text
    layer = torch.nn.Linear(32, 20000, dtype=torch.float64)  # float64: CPU only
    assert abs(layer.weight.abs().max().item() - bound) < 1e-3
    assert abs(layer.weight.std().item() - bound / math.sqrt(3)) < 1e-3
    # Question 4: patience 3, min_delta 0
    losses = [0.50, 0.42, 0.40, 0.41, 0.39, 0.40, 0.40, 0.41]
    best, best_at, misses, stopped = math.inf, 0, 0, 0
    for t, loss in enumerate(losses, start=1):
        if loss < best:
            best, best_at, misses = loss, t, 0
        else:
            misses += 1
            if misses == 3:
                stopped = t
                break
    assert (best, best_at, stopped) == (0.39, 5, 8)
    assert "0.50, 0.42, 0.40, 0.41, 0.39, 0.40, 0.40, 0.41" in text
    assert "The best is 0.39 at measurement 5" in text
    assert "stops after measurement 8 and returns the weights saved at measurement 5" in text
    # Question 5: accumulation and 6ND
    assert 256 // 64 == 4
    assert "$256/64 = 4$" in text
    assert "$64/256 = 1/4$" in text
    assert math.isclose(6 * 1e9 * (20 * 1e9), 1.2e20)
    assert "1.2 \\times 10^{20}$" in text


def test_exercises() -> None:
    d, text = data(), page()
    r = exercises.unrelated(body(), d["X_target"], d["z_target"], d["X_val"], d["z_val"])
    share = lesson.near_centre(d["z_val"]).mean().item()
    assert abs(share - 0.30) < 0.01
    assert "About 30% of the validation points are near the centre" in text
    assert 'always answering "not near" scores about 0.70' in text
    assert "With 256 labels scratch averages about 0.98, the frozen body only about 0.89" in text
    assert near(mean(r["scratch"][1]), 0.98)
    assert near(mean(r["frozen"][1]), 0.89)
    assert near(mean(r["fine-tune"][1]), 0.97)
    assert "with 16 labels scratch again leads (about 0.88, frozen about 0.76)" in text
    assert near(mean(r["scratch"][0]), 0.88)
    assert near(mean(r["frozen"][0]), 0.76)
    assert mean(r["scratch"][0]) > mean(r["fine-tune"][0]) > mean(r["frozen"][0])
    # Exercise 2
    partly = exercises.first_layer_frozen(body())
    assert partly[0].weight.requires_grad is False
    assert partly[2].weight.requires_grad
    accs = lesson.draws(lambda _: partly, "fine-tune", target(), 16, DRAWS)
    assert "About 0.84 on average, level with fine-tuning and the fully frozen body" in text
    assert near(mean(accs), 0.84)
    s = sweep()
    for how in ("frozen", "fine-tune"):
        assert abs(mean(accs) - mean(s[how][0])) <= 0.02
    # Exercise 3
    more = lesson.transfer_sweep(body(), target(), [32, 128], ["scratch", "fine-tune"], DRAWS)
    gaps = {
        16: mean(s["fine-tune"][0]) - mean(s["scratch"][0]),
        32: mean(more["fine-tune"][0]) - mean(more["scratch"][0]),
        64: mean(s["fine-tune"][1]) - mean(s["scratch"][1]),
        128: mean(more["fine-tune"][1]) - mean(more["scratch"][1]),
        256: mean(s["fine-tune"][2]) - mean(s["scratch"][2]),
    }
    assert "from about 0.04 at 16 labels to about 0.02 at 32" in text
    assert near(gaps[16], 0.04)
    assert abs(gaps[32] - 0.02) <= 0.01
    assert (
        "from 64 labels on it\nis within 0.01" in text
        or "from 64 labels on it is within 0.01" in text
    )
    assert all(abs(gaps[n]) <= 0.01 for n in (64, 128, 256))
