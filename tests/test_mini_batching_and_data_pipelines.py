"""Lesson 2.5: every number and claim the page states is what the snippets compute, and every
DataLoader behaviour it describes is what PyTorch does (timings: their shape only)."""

import inspect
import math
import multiprocessing
import statistics
import sys
from collections.abc import Callable, Iterator
from functools import cache
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import mini_batching_and_data_pipelines as lesson
import mini_batching_and_data_pipelines_exercises as exercises
import pytest
import torch
import torch.nn.functional as F
from course import flat_text
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from torch import nn
from torch.utils.data import (
    DataLoader,
    Dataset,
    TensorDataset,
    default_collate,
    get_worker_info,
)

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "mini-batching-and-data-pipelines.md"
CPU = torch.device("cpu")
LR, NUM_EPOCHS = 0.5, 50  # as in the lesson's training section


def page() -> str:
    return flat_text(LESSON)


@cache
def data() -> tuple[torch.Tensor, torch.Tensor]:
    """The lesson's 200 moons, on the CPU, as its first fence draws them."""
    seed_everything(0)
    return make_moons(200, CPU)


def on_device() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = data()
    return X.to(get_device()), y.to(get_device())


def shuffled(batch_size: int, seed: int = 0, **options: Any) -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        lesson.Moons(*data()), batch_size=batch_size, shuffle=True, generator=generator, **options
    )


@cache
def run(batch_size: int, lr: float = LR) -> tuple[list[float], list[int]]:
    """A training run as the lesson's: the same start, a loader shuffled from seed 0."""
    X_all, y_all = on_device()
    model = lesson.make_mlp().to(get_device())
    return lesson.train(model, shuffled(batch_size), X_all, y_all, lr, NUM_EPOCHS)


def rises(losses: list[float]) -> int:
    return sum(later > earlier for earlier, later in pairwise(losses))


def test_the_network_and_its_65_parameters() -> None:
    model, again = lesson.make_mlp(), lesson.make_mlp()
    assert sum(p.numel() for p in model.parameters()) == 65
    for p, q in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)  # "the same seed, the same start"
    assert [type(layer) for layer in model] == [nn.Linear, nn.ReLU, nn.Linear]
    assert "the 65 weights and biases of lesson 2.1's network" in page()


def test_a_batch_gradient_is_the_mean_of_its_examples_and_the_scaling_identity() -> None:
    """The formula g_B = mean of g_i, and the step of the scaling rule: the average of k batch
    gradients (equal sizes) is the gradient of their kB examples together. Float64 on the CPU:
    exact enough to compare, the same on every machine."""
    X, y = data()
    model = lesson.make_mlp().double()
    X64, y64 = X.double(), y.double()

    def gradient(rows: torch.Tensor) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(model(X64[rows]), y64[rows])
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(model.parameters()))])

    rows = torch.randperm(200, generator=torch.Generator().manual_seed(0))[:64]
    per_example = torch.stack([gradient(rows[i : i + 1]) for i in range(64)])
    assert torch.allclose(per_example.mean(dim=0), gradient(rows), rtol=0, atol=1e-15)
    quarters = torch.stack([gradient(part) for part in rows.split(16)])
    assert torch.allclose(quarters.mean(dim=0), gradient(rows), rtol=0, atol=1e-15)
    text = page()
    assert "the derivative of a sum is the sum of the derivatives" in text
    assert "the gradient of all $kB$ examples together" in text


def test_steps_per_epoch_and_the_last_batch() -> None:
    N, B = 200, 64
    assert (math.ceil(N / B), N - (math.ceil(N / B) - 1) * B, N // B) == (4, 8, 3)
    kept = shuffled(B)
    assert len(kept) == 4
    assert [len(X_batch) for X_batch, _ in kept] == [64, 64, 64, 8]
    dropped = shuffled(B, drop_last=True)
    assert len(dropped) == 3
    X, _ = data()
    left_out = []
    for _ in range(2):  # two epochs: which 8 points are left out of each
        seen = torch.cat([X_batch for X_batch, _ in dropped])
        assert seen.shape == (192, 2)
        missing = [i for i in range(N) if not (seen == X[i]).all(dim=1).any()]
        assert len(missing) == 8
        left_out.append(missing)
    assert left_out[0] != left_out[1]  # "different ones each epoch"
    assert 64 / 8 == 8
    text = page()
    assert "4 steps, the last on 8 examples, or 3 steps with 8 examples left out" in text
    assert "different ones each epoch, since every epoch reshuffles" in text
    assert "has each of the last 8 examples count $64 / 8 = 8$ times as much as any other" in text
    assert "$\\lceil 200/64 \\rceil = 4$: three batches of 64 and the 8 left over" in text


def test_the_loss_of_an_epoch_plain_and_weighted() -> None:
    """The drop_last demonstration: the same untrained network scores every batch."""
    X_all, y_all = on_device()
    model = lesson.make_mlp().to(get_device())
    means = {}
    for drop_last in (False, True):
        sizes, losses = [], []
        for X_batch, y_batch in shuffled(64, drop_last=drop_last):
            sizes.append(len(X_batch))
            losses.append(
                lesson.full_loss(model, X_batch.to(get_device()), y_batch.to(get_device()))
            )
        plain = sum(losses) / len(losses)
        weighted = sum(n * ell for n, ell in zip(sizes, losses, strict=True)) / sum(sizes)
        means[drop_last] = (plain, weighted)
    full = lesson.full_loss(model, X_all, y_all)
    assert abs(means[False][1] - full) < 1e-6  # "the weighted mean is, to float rounding"
    assert f"{means[False][0]:.4f}" != f"{full:.4f}"
    # dropped: both means agree, and give the loss on the 192 points kept
    kept = torch.cat([X_batch for X_batch, _ in shuffled(64, drop_last=True)])
    assert abs(means[True][0] - means[True][1]) < 1e-6
    text = page()
    assert (
        f"the plain mean of the 4 batch losses, {means[False][0]:.4f}, is not the loss on the "
        f"data, {full:.4f}" in text
    )
    assert f"both means give {means[True][1]:.4f}, the loss on the {len(kept)} points" in text
    assert (
        f"the number of examples the epoch saw (200, or {len(kept)} with `drop_last=True`)" in text
    )
    assert f"the lesson got {means[False][0]:.4f} that way, against {full:.4f}" in text  # quiz


def test_shuffling_with_a_seeded_generator() -> None:
    indices = TensorDataset(torch.arange(10))

    def epochs(generator: torch.Generator | None, count: int = 2) -> list[list[list[int]]]:
        loader = DataLoader(indices, 4, shuffle=True, generator=generator)
        return [[batch.tolist() for (batch,) in loader] for _ in range(count)]

    first = epochs(torch.Generator().manual_seed(0))
    assert [len(batch) for batch in first[0]] == [4, 4, 2]
    assert all(sorted(chain(*epoch)) == list(range(10)) for epoch in first)
    assert first[0] != first[1]  # each epoch reshuffles
    assert epochs(torch.Generator().manual_seed(0)) == first  # a new loader repeats both epochs
    # The loader draws one int64 (the base seed) from its generator before each permutation, so
    # its order is not torch.randperm's with the same seed.
    generator = torch.Generator().manual_seed(0)
    assert list(chain(*first[0])) != torch.randperm(10, generator=generator).tolist()
    generator = torch.Generator().manual_seed(0)
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    assert list(chain(*first[0])) == torch.randperm(10, generator=generator).tolist()
    # Without a generator the shuffles come from the global generator: any other draw moves them.
    torch.manual_seed(0)
    plain = epochs(None, count=1)
    torch.manual_seed(0)
    assert epochs(None, count=1) == plain
    torch.manual_seed(0)
    torch.rand(1)  # "creating a model, or any new line that draws from it"
    assert epochs(None, count=1) != plain
    text = page()
    assert "Three batches per epoch, with 4, 4 and 2 samples, and every index once" in text
    assert "the new loader repeats both epochs exactly" in text
    assert "(so its order is not `torch.randperm`'s with the same seed)" in text
    assert "a loader with the same seed and the same settings repeats every epoch's order" in text


def test_what_the_default_collate_builds() -> None:
    dataset = lesson.Moons(*data())
    samples = [dataset[i] for i in range(4)]
    batch = default_collate(samples)
    assert type(batch) is list
    assert [tuple(t.shape) for t in batch] == [(4, 2), (4, 1)]
    as_dicts = default_collate([{"x": x, "label": label.item()} for x, label in samples])
    assert set(as_dicts) == {"x", "label"}
    assert as_dicts["x"].dtype == torch.float32
    assert as_dicts["label"].dtype == torch.float64
    assert default_collate([1, 2]).dtype == torch.int64
    # the labels lost their dimension: the loss refuses them next to (4, 1) logits
    assert as_dicts["label"].shape == (4,)
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(torch.zeros(4, 1), as_dicts["label"])
    # reshaped, float64 targets make the loss float64 on the CPU
    loss = F.binary_cross_entropy_with_logits(torch.zeros(4, 1), as_dicts["label"][:, None])
    assert loss.dtype == torch.float64
    # the quiz: collate_fn=lambda samples: samples keeps the list of tuples
    loader = DataLoader(dataset, batch_size=16, collate_fn=lambda samples: samples)
    first = next(iter(loader))
    assert isinstance(first, list)
    assert len(first) == 16
    assert isinstance(first[0], tuple)
    text = page()
    assert "The tuples became a *list* of two stacked tensors" in text
    assert "The Python floats became float64" in text
    assert (
        "The Python floats became float64 labels of shape (4,), where the logits are (4, 1)" in text
    )
    assert (
        "the loss refuses the shape, and reshaped, the labels would make the loss float64" in text
    )


class Sequences(Dataset[torch.Tensor]):
    """The pad demonstration's samples, as a data set."""

    def __init__(self, sequences: list[torch.Tensor]) -> None:
        self.sequences = sequences

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.sequences[i]


def test_a_custom_collate_pads() -> None:
    sequences = [torch.tensor(s) for s in ([2.0, 4, 6], [5.0], [1.0, 1, 1, 1], [3.0, 9])]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate(sequences)
    padded, lengths = lesson.pad_collate(sequences)
    assert padded.shape == (4, 4)
    assert lengths.tolist() == [3, 1, 4, 2]
    mask = torch.arange(padded.shape[1]) < lengths[:, None]
    assert ((padded * mask).sum(dim=1) / lengths).tolist() == [4.0, 5.0, 1.0, 6.0]
    assert padded.mean(dim=1).tolist() == [3.0, 1.25, 1.0, 3.0]
    # a DataLoader with collate_fn=pad_collate calls it on each batch's list of samples
    loader = DataLoader(Sequences(sequences), batch_size=4, collate_fn=lesson.pad_collate)
    from_loader, lengths_from_loader = next(iter(loader))
    assert torch.equal(from_loader, padded)
    assert torch.equal(lengths_from_loader, lengths)
    text = page()
    assert "gives the true means, 4, 5, 1 and 6" in text
    assert "`default_collate` cannot stack a length-3 and a length-1 tensor" in text


def test_training_with_a_dataloader() -> None:
    full, full_steps = run(200)
    small, small_steps = run(16)
    assert (sum(full_steps), sum(small_steps)) == (50, 650)
    assert (full_steps[0], small_steps[0]) == (1, 13)
    # "about 0.28" (a smooth run) and "about 0.05" (a noisy one, whose last digits may differ on
    # another machine or a GPU): stated rounded, tested so
    assert f"{full[-1]:.2f}" == "0.28"
    assert abs(small[-1] - 0.05) < 0.015
    # the figure: the full batch falls smoothly, the small batches much faster, with bumps
    assert rises(full) == 0
    assert rises(small) >= 2
    assert small[-1] < full[-1] / 3
    text = page()
    assert "with learning rate 0.5 for 50 epochs; only the batch size differs" in text
    assert (
        "The full batch took 50 steps and reached a loss of about 0.28; batches of 16 took 650 "
        "steps and got to about 0.05" in text
    )
    assert "The full batch falls slowly and smoothly; batches of 16 fall much faster" in text


def test_the_one_shot_iterator_trains_one_epoch_then_nothing() -> None:
    X_all, y_all = on_device()
    loader = shuffled(16)
    model = lesson.make_mlp().to(get_device())
    stuck, steps = lesson.train(model, iter(loader), X_all, y_all, LR, NUM_EPOCHS)
    assert steps == [13] + [0] * (NUM_EPOCHS - 1)
    assert len(set(stuck)) == 1  # the network never changes after epoch 1
    correct, _ = run(16)
    assert stuck[0] == pytest.approx(correct[0], abs=1e-6)  # "ends where the correct run did"

    # A generator function called once before the epochs does the same.
    def batches() -> Iterator[list[torch.Tensor]]:
        yield from loader

    model = lesson.make_mlp().to(get_device())
    _, steps = lesson.train(model, batches(), X_all, y_all, LR, 3)
    assert steps == [13, 0, 0]
    # A running loss divided by len(loader) reads 0.0 for the empty epochs.
    one_pass = iter(loader)
    reported = []
    for _ in range(2):
        running = 0.0
        for X_batch, y_batch in one_pass:
            running += lesson.full_loss(model, X_batch.to(get_device()), y_batch.to(get_device()))
        reported.append(running / len(loader))
    assert reported[0] > 0
    assert reported[1] == 0.0

    # A for loop ends quietly on StopIteration (the quiz); next() on the empty iterator raises.
    with pytest.raises(StopIteration):
        next(one_pass)
    loss = f"{stuck[0]:.4f}"
    text = page()
    assert (
        f"The first epoch takes its 13 steps and ends where the correct run did, at {loss}" in text
    )
    assert f"the loss stays at {loss} for 49 epochs, without an error" in text
    assert "would print 0.0 for those epochs" in text
    assert f"The lesson''s run took 13 steps, then none, and stayed at {loss}" in text  # quiz


def test_a_small_batch_leaves_more_units_without_a_gradient() -> None:
    X_all, _ = on_device()
    model = lesson.make_mlp().to(get_device())
    dataset = lesson.Moons(*data())
    averages = {}
    for batch_size in (1, 16, 200):
        counts = lesson.units_with_zero_gradient(model, DataLoader(dataset, batch_size=batch_size))
        assert len(counts) == math.ceil(200 / batch_size)
        averages[batch_size] = statistics.mean(counts)
    with torch.no_grad():
        off_everywhere = (model[0](X_all) <= 0).all(dim=0)  # (16,)
    assert int(off_everywhere.sum()) == averages[200] == 3
    # a unit with no gradient in: its outgoing weight gets none either (4 parameters per unit)
    X, y = data()
    for i in range(0, 200, 25):
        model.zero_grad()
        logits = model(X[i : i + 1].to(get_device()))
        F.binary_cross_entropy_with_logits(logits, y[i : i + 1].to(get_device())).backward()
        hidden, output = model[0], model[2]
        assert isinstance(hidden, nn.Linear)
        assert isinstance(output, nn.Linear)
        assert hidden.weight.grad is not None
        assert output.weight.grad is not None
        dead = (hidden.weight.grad == 0).all(dim=1)
        assert bool((output.weight.grad[0, dead] == 0).all())
        # with one example, "zero gradient" is "off for that example"
        with torch.no_grad():
            off = (model[0](X[i : i + 1].to(get_device())) <= 0)[0]
        assert torch.equal(dead, off)
    single, sixteen = f"{averages[1]:.1f}", f"{averages[16]:.1f}"
    assert abs(4 * averages[1] - 40) < 1  # about 40 parameters
    text = page()
    assert f"on average {single} of the 16 units get no gradient" in text
    assert "about 40 of the 65 parameters (4 per unit, with its outgoing weight)" in text
    assert f"With batches of 16, {sixteen} units; with the full batch, 3" in text
    assert f"With 16 examples, {sixteen} units on average; with all 200, only the 3" in text
    assert "about 10 of the network''s 16 hidden units" in text  # quiz: 10.1


def shape_on_some_try(measure: Callable[[], dict[str, bool]], tries: int = 3) -> list[str]:
    """Timings on a busy machine (other test workers share its cores) are noisy, and noise
    only slows things: a claim about their shape holds if one of a few measurements shows
    all of it. Returns the claims the last try broke."""
    broken: list[str] = []
    for _ in range(tries):
        broken = [claim for claim, holds in measure().items() if not holds]
        if not broken:
            break
    return broken


def samples_per_second_shape() -> dict[str, bool]:
    X_big, y_big = make_moons(4096, CPU)
    big = TensorDataset(X_big, y_big)
    model = lesson.make_mlp().to(get_device())
    step, load = {}, {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for B in (1, 64, 1024, 4096):
            X_batch, y_batch = X_big[:B].to(get_device()), y_big[:B].to(get_device())
            step[B] = lesson.seconds_per_step(model, X_batch, y_batch)
            num_batches = max(1, 1024 // B)
            loader = DataLoader(big, batch_size=B)
            timings = [lesson.seconds_to_load(loader, num_batches) for _ in range(3)]
            load[B] = min(timings) / num_batches
    finally:
        torch.set_num_threads(threads)
    return {
        "about as long at batch size 64 as at 1": step[64] < 3 * step[1],
        "several hundredfold by 1024": 1024 / step[1024] > 200 / step[1],
        "the loader levels off": 4096 / load[4096] < 4 * 64 / load[64],
        "loading a batch takes longer than training on it": load[1024] > step[1024]
        and load[4096] > step[4096],
    }


def test_samples_per_second_has_the_shape_the_page_describes() -> None:
    """Timings vary; what the page says about their shape holds, with wide margins. One CPU
    thread: on a machine whose cores are busy with other work, torch's thread pool waits for
    them, and the timings would measure that contention instead of the step."""
    assert shape_on_some_try(samples_per_second_shape) == []
    text = page()
    assert "A training step takes about as long at batch size 64 as at 1" in text
    assert "several hundredfold by 1024" in text
    assert "a step on 64 samples took about as long as a step on one" in text  # the summary
    assert "at the largest sizes loading a batch takes longer than training on it" in text


def tag_worker(samples: list[Any]) -> tuple[int, int, int, Any]:
    """Collate as usual, noting the worker (-1: the main process), its seed and torch's."""
    info = get_worker_info()
    if info is None:
        return -1, -1, -1, default_collate(samples)
    return info.id, info.seed, torch.initial_seed(), default_collate(samples)


def with_workers(dataset: Dataset[Any], num_workers: int, **options: Any) -> DataLoader[Any]:
    return DataLoader(
        dataset,
        batch_size=16,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        num_workers=num_workers,
        multiprocessing_context=lesson.START_METHOD if num_workers else None,
        **options,
    )


INIT_SEEDS: list[int] = []


def note_seed(worker_id: int) -> None:
    """A worker_init_fn: runs in the worker, after PyTorch seeded it."""
    INIT_SEEDS.append(torch.initial_seed())


class SeedAtInit(Dataset[torch.Tensor]):
    """Returns the seed worker_init_fn saw in this process."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor(INIT_SEEDS[-1])


def test_workers_take_turns_and_change_nothing_the_loop_sees() -> None:
    dataset = lesson.Moons(*data())
    by_workers = list(with_workers(dataset, 2, collate_fn=tag_worker))
    alone = list(with_workers(dataset, 0, collate_fn=tag_worker))
    assert [worker for worker, *_ in by_workers] == [k % 2 for k in range(13)]  # 0, 1, 0, 1
    assert all(worker == -1 for worker, *_ in alone)
    for (*_, (X_a, y_a)), (*_, (X_b, y_b)) in zip(by_workers, alone, strict=True):
        assert torch.equal(X_a, X_b)
        assert torch.equal(y_a, y_b)
    # each worker: torch seeded with the base seed plus its number
    seeds = {worker: (seed, torch_seed) for worker, seed, torch_seed, _ in by_workers}
    assert seeds[1][0] == seeds[0][0] + 1
    assert all(seed == torch_seed for seed, torch_seed in seeds.values())
    # the base seed is the generator's first draw of the epoch
    generator = torch.Generator().manual_seed(0)
    base = int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())
    assert seeds[0][0] == base
    # worker_init_fn runs after that seeding
    loader = DataLoader(
        SeedAtInit(),
        batch_size=2,
        num_workers=2,
        multiprocessing_context=lesson.START_METHOD,
        worker_init_fn=note_seed,
        generator=torch.Generator().manual_seed(0),
    )
    assert [int(batch[0]) for batch in loader] == [base, base + 1]
    assert with_workers(dataset, 2).prefetch_factor == 2
    text = page()
    assert "(worker 0 builds batches 1, 3, 5, ...) and keep two each ready ahead" in text
    assert "with the default `in_order=True`" in text
    assert with_workers(dataset, 2).in_order
    assert "gives the loop the batches it would get without workers" in text
    assert "plus its number, before any `worker_init_fn` runs" in text


def test_persistent_workers_draw_the_base_seed_once() -> None:
    indices = TensorDataset(torch.arange(12))

    def orders(num_workers: int, persistent: bool) -> list[list[int]]:
        loader = DataLoader(
            indices,
            batch_size=4,
            shuffle=True,
            generator=torch.Generator().manual_seed(0),
            num_workers=num_workers,
            multiprocessing_context=lesson.START_METHOD if num_workers else None,
            persistent_workers=persistent,
        )
        return [torch.cat([b for (b,) in loader]).tolist() for _ in range(2)]

    assert orders(0, False) == orders(2, False)
    persistent = orders(2, True)
    assert persistent[0] == orders(0, False)[0]
    assert persistent[1] != orders(0, False)[1]  # no new base seed drawn before epoch 2
    # each pass draws the base seed (not again with persistent workers), then the permutation,
    # then RandomSampler's permutation for the remainder of num_samples (none here)
    generator = torch.Generator().manual_seed(0)

    def draw_seed() -> None:
        torch.empty((), dtype=torch.int64).random_(generator=generator)

    def permutation() -> list[int]:
        order = torch.randperm(12, generator=generator).tolist()
        torch.randperm(12, generator=generator)  # the remainder's, of which none is used
        return order

    draw_seed()
    first = permutation()
    assert persistent == [first, permutation()]
    # a persistent loader hands every loop the same iterator, reset
    loader = lesson.loader_with_workers(indices, 4, num_workers=2)
    assert iter(loader) is iter(loader)
    assert iter(DataLoader(indices, 4)) is not iter(DataLoader(indices, 4))
    text = page()
    assert "which keeps worker processes alive between epochs, the same one, reset" in text
    assert "also changes the shuffles from epoch 2 on (Exercise 2 shows why)" in text
    assert "but with persistent workers, as here, once only" in text
    assert "later permutations differ from a loader's without them" in text


@pytest.mark.skipif(torch.accelerator.is_available(), reason="pinning works here")
def test_pin_memory_without_a_gpu_warns_and_is_ignored() -> None:
    loader = DataLoader(TensorDataset(torch.zeros(4, 2)), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="pin_memory"):
        (batch,) = next(iter(loader))
    assert not batch.is_pinned()
    assert "without one, and on an Apple GPU, PyTorch warns and ignores it" in page()


def test_pin_memory_is_turned_off_on_an_apple_gpu() -> None:
    """No Apple GPU here: read the check in the installed torch's DataLoader."""
    source = inspect.getsource(torch.utils.data.dataloader._BaseDataLoaderIter.__init__)
    assert 'if self._pin_memory_device == "mps":' in source
    assert "self._pin_memory = False" in source
    assert "not supported on MPS" in source


def workers_shape() -> dict[str, bool]:
    X, y = data()
    times = {}
    for name, dataset in (
        ("slow", lesson.SlowMoons(X[:100], y[:100], seconds=0.002)),
        ("memory", lesson.Moons(X, y)),
    ):
        for num_workers in (0, 2):
            loader = lesson.loader_with_workers(dataset, 10, num_workers)
            times[name, num_workers] = [
                lesson.seconds_to_load(loader, len(loader)) for _ in range(2)
            ]
    slow_alone, slow_workers = times["slow", 0], times["slow", 2]
    return {
        "100 samples at 2 ms: at least 0.2 s alone": min(slow_alone) >= 0.2,
        "with two workers the second epoch about halves": 0.35 * slow_alone[1]
        < slow_workers[1]
        < 0.8 * slow_alone[1],
        "the first epoch starts the workers": slow_workers[0] > slow_workers[1],
        "workers make every epoch slower in memory": times["memory", 2][0] > times["memory", 0][0]
        and times["memory", 2][1] > times["memory", 0][1],
    }


def test_workers_help_slow_samples_and_slow_down_tensors_in_memory() -> None:
    """The timing table's shape, with wide margins."""
    assert shape_on_some_try(workers_shape) == []
    text = page()
    assert "and the second epoch takes about half as long" in text
    assert "With data in memory, workers make every epoch slower" in text


def test_exercise_1_the_linear_scaling_rule() -> None:
    assert 0.5 * 64 / 16 == 2.0
    assert 0.5 * 200 / 16 == 6.25
    base, base_steps = run(16)
    scaled, scaled_steps = run(64, 2.0)
    unscaled, _ = run(64, 0.5)
    full, _ = run(200, 6.25)
    assert (sum(scaled_steps), sum(base_steps)) == (200, 650)
    assert sum(scaled_steps) < sum(base_steps) / 3

    def median(losses: list[float], first: int, last: int) -> float:
        return statistics.median(losses[first - 1 : last])  # epochs first to last

    # "tracks the B = 16 run between spikes, of which there are about eight (epochs where its
    # loss is over 1.5 times B = 16's)": chaotic in its last digits, so counted loosely
    ratios = [s / b for s, b in zip(scaled, base, strict=True)]
    spikes = sum(ratio > 1.5 for ratio in ratios)
    assert 5 <= spikes <= 12
    assert min(ratios) > 1 / 1.5  # never far below either
    for first in (1, 11, 21, 31, 41):  # the medians of every ten epochs agree
        ratio = median(scaled, first, first + 9) / median(base, first, first + 9)
        assert 1 / 1.6 < ratio < 1.6
    assert median(base, 41, 50) < median(base, 1, 10) / 5
    # "lags far behind"
    assert median(unscaled, 41, 50) > 2.5 * median(base, 41, 50)
    # the full batch at 6.25 "jumps about, then stalls near 0.25, about five times B = 16's loss"
    assert rises(full) >= 10
    assert all(0.2 < loss < 0.32 for loss in full[30:])
    assert 3.5 < median(full, 41, 50) / median(base, 41, 50) < 7
    text = page()
    assert "The rule gives $0.5 \\times 64/16 = 2.0$ for B = 64" in text
    assert "$0.5 \\times 200/16 = 6.25$ for the full batch" in text
    assert "B = 64 tracks the B = 16 run between spikes, of which there are about eight" in text
    assert "(epochs where its loss is over 1.5 times B = 16's)" in text
    assert "then stalls near 0.25, about five times B = 16's loss" in text
    assert "in under a third of the steps (200 against 650)" in text
    assert "The rule held from 16 to 64 and broke at 200" in text


def test_exercise_2_random_augmentation_in_workers() -> None:
    X, y = data()
    jittered = exercises.JitteredMoons(X, y)

    def one_epoch(loader: DataLoader[Any]) -> torch.Tensor:
        return torch.cat([X_batch for X_batch, _ in loader])

    loader = lesson.loader_with_workers(jittered, 4, num_workers=2)
    epoch_1, epoch_2 = one_epoch(loader), one_epoch(loader)
    again = one_epoch(lesson.loader_with_workers(jittered, 4, num_workers=2))
    alone = one_epoch(lesson.loader_with_workers(jittered, 4, num_workers=0))
    assert torch.equal(epoch_1, again)
    assert not torch.equal(epoch_1, epoch_2)
    assert not torch.equal(epoch_1, alone)
    assert (epoch_1 - alone).abs().max().item() < 0.5  # the same points, other noise
    zeros = exercises.JitteredMoons(torch.zeros(8, 2), torch.zeros(8, 1))
    (noise_0, _), (noise_1, _) = lesson.loader_with_workers(zeros, 4, num_workers=2)
    assert not torch.equal(noise_0, noise_1)
    text = page()
    assert "the same seed, the same noise; each worker, its own" in text
    assert "changing `num_workers` changes the augmented data even with the same seed" in text


class CountingTensors(TensorDataset):
    """Counts the calls to __getitem__."""

    calls = 0

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, ...]:
        CountingTensors.calls += 1
        return tuple(tensor[index] for tensor in self.tensors)


def test_exercise_3_whole_batches() -> None:
    X, y = data()
    counting = CountingTensors(X, y)
    usual = DataLoader(counting, 16, shuffle=True, generator=torch.Generator().manual_seed(0))
    fast = exercises.whole_batches(counting, batch_size=16, seed=0)
    calls = {}
    epochs = {}
    for name, loader in (("usual", usual), ("fast", fast)):
        CountingTensors.calls = 0
        epochs[name] = [[X_batch for X_batch, _ in loader] for _ in range(2)]
        calls[name] = CountingTensors.calls // 2
    assert calls == {"usual": 200, "fast": 13}
    for a, b in zip(epochs["usual"], epochs["fast"], strict=True):
        assert len(a) == len(b) == 13
        assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    text = page()
    assert "Each epoch takes 13 calls instead of 200, for the same batches" in text
    assert not callable(getattr(counting, "__getitems__", None))
    assert "`TensorDataset` does not" in text


class ManyAtOnce(CountingTensors):
    """Defines __getitems__: a batch's indices in one call."""

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, ...]]:
        CountingTensors.calls += 1
        rows = torch.tensor(indices)
        return [tuple(tensor[i] for tensor in self.tensors) for i in rows]


def test_a_dataset_with_getitems_is_called_once_per_batch() -> None:
    X, y = data()
    CountingTensors.calls = 0
    batches = list(DataLoader(ManyAtOnce(X, y), batch_size=16))
    assert CountingTensors.calls == len(batches) == 13
    assert torch.equal(torch.cat([X_batch for X_batch, _ in batches]), X)
    assert "(or a whole group in one call, if the data set defines `__getitems__`)" in page()


def test_the_start_method() -> None:
    """fork wherever the system can (a notebook's classes reach the workers); the defaults
    the page states are the ones Python reports (the first listed is the default)."""
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    assert ("fork" if can_fork else None) == lesson.START_METHOD
    default = multiprocessing.get_all_start_methods()[0]
    if sys.platform == "linux" and sys.version_info < (3, 14):
        assert default == "fork"
    if sys.platform in ("darwin", "win32"):
        assert default == "spawn"
    text = " ".join(page().split())
    assert "spawn (the default on macOS and Windows)" in text
    assert "forkserver (Linux's default from Python 3.14; fork up to 3.13)" in text
    assert "Python's documentation calls fork unsafe on macOS" in text
    assert "run `snippets/mini_batching_and_data_pipelines.py` as a script" in text
