"""Lesson 3.5: every number and claim the page states is what the snippets compute.

The data-parallel runs, the gradient sums and the checkpoint are float64 or bit-level claims on
the CPU, where the page pins them; the page states the data-parallel difference only as a
power of ten, and the start-up time only as a bound. The memory, network and pipeline numbers
are exact arithmetic. Facts about PyTorch (GradScaler's defaults, DDP's bucket sizes,
`torch.load`'s default) are read from the installed torch."""

import contextlib
import gc
import inspect
import io
import json
import multiprocessing
import os
import pickle
import re
import sys
import tempfile
from functools import cache
from pathlib import Path
from unittest import mock

import large_scale_training as lesson
import large_scale_training_exercises as exercises
import matplotlib.pyplot as plt
import pytest
import torch
import torch.distributed as dist
from course import flat_text
from large_scale_training import (
    bits,
    bubble_fraction,
    quadrants,
    ring_allreduce_seconds,
    run_data_parallel,
    training_bytes,
)
from torch.nn.parallel import DistributedDataParallel
from torch.nn.parallel import distributed as ddp_module

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "large-scale-training.md"
LR, NUM_STEPS = 0.5, 20  # as on the page


def page() -> str:
    return flat_text(LESSON)


@cache
def printed() -> str:
    """Everything the snippet's main() prints, figures closed instead of shown."""
    out = io.StringIO()
    with (
        mock.patch.object(plt, "show", side_effect=lambda: plt.close("all")),
        contextlib.redirect_stdout(out),
    ):
        lesson.main()
    return out.getvalue()


@cache
def reference() -> list[torch.Tensor]:
    X, y = quadrants()
    model = lesson.make_model(seed=0)
    lesson.train(model, X, y, LR, NUM_STEPS)
    return [p.detach() for p in model.parameters()]


def check_data_parallel(start_method: str | None) -> list[float]:
    X, y = quadrants()
    gaps = []
    for result in run_data_parallel(X, y, LR, NUM_STEPS, start_method=start_method):
        params = [torch.tensor(p, dtype=torch.float64) for p in result["params"]]
        for p, q in zip(params, reference(), strict=True):
            assert torch.allclose(p, q, rtol=0, atol=1e-12)
        gaps.append(lesson.largest_difference(params, reference()))
    return gaps


def test_data_parallel_equals_one_process_to_the_last_bits() -> None:
    gaps = check_data_parallel(lesson.START_METHOD)
    # "within 10^{-12}", "around 10^{-16}": not bit for bit, but only in the last bits
    assert all(0 < gap < 1e-15 for gap in gaps), gaps
    text = page()
    assert "within $10^{-12}$ of one process" in text
    assert "around $10^{-16}$" in text
    assert "allclose True" in printed()


def test_the_script_path_works_with_spawn() -> None:
    """What a macOS or Windows reader runs: the imported module, spawned processes."""
    gaps = check_data_parallel("spawn")
    assert all(gap < 1e-15 for gap in gaps)
    assert "uv run python snippets/large_scale_training.py" in page()
    assert "(../index.md#run-it-yourself)" in page()


def _gloo_threads_after_destroy(rank: int, folder: str, wrap: bool) -> None:
    """One rank: meet, maybe wrap a model in DDP, destroy the group, list gloo's threads."""
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank,
                            world_size=2)  # fmt: skip
    if wrap:
        DistributedDataParallel(lesson.make_model(seed=0))
    dist.destroy_process_group()
    gc.collect()
    names = [Path(task, "comm").read_text().strip() for task in Path("/proc/self/task").iterdir()]
    Path(folder, f"threads{rank}.json").write_text(json.dumps([n for n in names if "gloo" in n]))
    os._exit(0)


@pytest.mark.skipif(sys.platform != "linux", reason="lists threads through Linux's /proc")
def test_gloo_threads_can_outlive_destroy_process_group() -> None:
    """Why a rank ends with os._exit: in a fresh process (a spawned rank), the first DDP keeps
    gloo's threads running after destroy_process_group."""
    context = multiprocessing.get_context("spawn")  # fresh, as a spawned rank is
    left = {}
    for wrap in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            workers = [context.Process(target=_gloo_threads_after_destroy,
                                       args=(rank, folder, wrap))
                       for rank in range(2)]  # fmt: skip
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=60)
                assert worker.exitcode == 0
            left[wrap] = [json.loads(Path(folder, f"threads{r}.json").read_text()) for r in (0, 1)]
    assert left[False] == [[], []]  # without DDP, destroying the group stops its threads
    assert all(names for names in left[True]), left
    assert "os._exit(0)" in inspect.getsource(lesson.ddp_worker)
    assert "gloo's threads can keep running after `destroy_process_group()`" in page()


class _StartedError(Exception):
    pass


def test_the_script_spawns_everywhere_but_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() starts its ranks with spawn off Linux, with START_METHOD (fork) on Linux."""
    asked: list[str | None] = []

    def get_context(method: str | None) -> None:
        asked.append(method)
        raise _StartedError

    monkeypatch.setattr(lesson, "START_METHOD", lesson.START_METHOD)  # restored afterwards
    monkeypatch.setattr(multiprocessing, "get_context", get_context)
    for platform in ("darwin", "win32", "linux"):
        monkeypatch.setattr(sys, "platform", platform)
        monkeypatch.setattr(lesson, "START_METHOD", "fork")
        with pytest.raises(_StartedError):
            lesson.main()
    assert asked == ["spawn", "spawn", "fork"]
    assert "the script spawns its ranks everywhere but Linux" in page()


def test_a_failing_rank_raises_a_clear_error_instead_of_hanging() -> None:
    X, y = quadrants()
    with pytest.raises(RuntimeError, match=r"rank \d failed"):
        run_data_parallel(torch.cat([X, X], dim=1), y, LR, 1)  # 4 inputs, not 2


def test_start_up_is_paid_once_and_is_short_when_forked() -> None:
    """The page states no number for the (machine-dependent) start-up; a generous bound."""
    X, y = quadrants()
    results = run_data_parallel(X, y, LR, 1, start_method=lesson.START_METHOD)
    assert 0 < max(result["start_up"] for result in results) < 5.0
    assert "That is the start-up cost on the machine that built this page" in page()


def test_buckets_are_rebuilt_last_layer_first() -> None:
    lines = re.findall(r"step (\d), bucket (\d): (.*)", printed())
    assert lines[0] == ("0", "0", "[[16, 2], [16], [16, 16], [16], [1, 16], [1]]")
    assert [line[0] for line in lines].count("0") == 1  # step 0: one bucket
    assert lines[1][:2] == ("1", "0")
    assert lines[1][2].startswith("[[1], [1, 16]")  # the output layer first
    assert len(lines) > 2  # the small cap made several buckets
    assert "`[1]` and `[1, 16]`" in page()


def test_ddp_defaults_and_no_sync_are_as_stated() -> None:
    assert ddp_module._DEFAULT_BUCKET_CAP_MB == 25
    assert getattr(dist, "_DEFAULT_FIRST_BUCKET_BYTES") == 2**20  # noqa: B009
    doc = " ".join((inspect.getdoc(ddp_module.DistributedDataParallel.no_sync) or "").split())
    assert "first forward-backward pass exiting the context" in doc
    assert "forward pass should be included inside the context manager" in doc
    text = page()
    assert "`bucket_cap_mb`, 25 MiB by default, the first 1 MiB" in text
    assert "off for forward and backward passes run inside it" in text
    assert "the first forward and backward outside it all-reduce" in text


def test_accumulation_equals_the_full_batch() -> None:
    X, y = quadrants()
    full = lesson.accumulated_grads(X, y, [200])
    for sizes in ([50] * 4, [80, 60, 40, 20]):
        gap = lesson.largest_difference(lesson.accumulated_grads(X, y, sizes), full)
        assert gap < 1e-15
    unscaled = lesson.accumulated_grads(X, y, [50] * 4, scaled=False)
    for g, h in zip(unscaled, full, strict=True):
        assert torch.allclose(g, 4 * h, rtol=1e-12, atol=0)
    assert "4.0000 times the gradient" in printed()
    assert "4.0000 times too large" in page()


def test_formats_as_stated() -> None:
    fp16, bf16 = torch.finfo(torch.float16), torch.finfo(torch.bfloat16)
    assert fp16.max == 65504
    assert bf16.eps == 2**-7
    assert f"{fp16.tiny:.3g}" == "6.1e-05"
    assert f"{bf16.max:.3g}" == "3.39e+38"
    assert f"{bf16.eps:.3g}" == "0.00781"
    assert bits(1.0, torch.float32) == "0 01111111 " + "0" * 23  # bias 127
    assert bits(1.0, torch.float16) == "0 01111 " + "0" * 10  # bias 15
    assert bits(1.0, torch.bfloat16) == "0 01111111 " + "0" * 7
    assert torch.tensor(70000.0).half().item() == float("inf")
    assert torch.tensor(70000.0).bfloat16().item() == 70144
    # Cutting FP32's last 16 bits off would give 69632: the conversion rounds instead.
    cut = torch.tensor(70000.0).view(torch.int32) & ~0xFFFF
    assert cut.view(torch.float32).item() == 69632
    assert "converting rounds to the nearest BF16 number" in page()
    assert "(127 for 8 exponent bits, 15 for 5)" in page()
    assert torch.tensor(1e-8).half().item() == 0 != torch.tensor(1e-8).bfloat16().item()
    assert torch.tensor(1 + 2**-8).bfloat16().item() == 1.0
    assert torch.tensor(1 + 2**-8).half().item() == 1 + 2**-8
    text = page()
    for number in ("65504", "6.1e-05", "3.39e+38", "0.00781", "127", "70144"):
        assert number in text, number


def test_running_sums_stall_in_16_bits() -> None:
    assert lesson.running_sum(0.01, 10_000, torch.bfloat16) == 4
    assert lesson.running_sum(0.01, 10_000, torch.float16) == 32
    assert abs(lesson.running_sum(0.01, 10_000, torch.float32) - 100) < 0.01
    assert "BF16 stalls at 4 and FP16 at 32" in page()
    assert "FP32 reaches 100" in page()


def test_loss_scaling_saves_small_gradients() -> None:
    grad = torch.tensor([1e-3, 1e-5, 1e-7, 1e-8, 1e-9])
    plain = grad.half().float()
    scaled = (grad * 2.0**16).half().float() / 2.0**16
    assert plain[3] == 0
    assert plain[4] == 0
    assert bool((plain[:3] > 0).all())
    assert torch.allclose(scaled, grad, rtol=1e-2, atol=0)
    # 1e-7 is below FP16's smallest normal number: a subnormal, with fewer digits
    assert grad[2] < torch.finfo(torch.float16).tiny
    assert f"{plain[2].item():.3g}" == "1.19e-07"
    assert "1.1920928955078125e-07" in printed()
    smallest = 2.0**-24  # FP16's smallest subnormal
    assert torch.tensor(smallest).half().item() == smallest
    assert torch.tensor(smallest * 0.49).half().item() == 0
    assert f"{smallest:.0e}" == "6e-08"
    text = page()
    assert "down to about 6e-08" in text
    assert "came back as 1.19e-07" in text


def test_grad_scaler_defaults_and_skipped_step() -> None:
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(torch.amp.GradScaler).parameters.items()
    }
    assert defaults["init_scale"] == 2.0**16 == 65536
    assert defaults["growth_factor"] == 2.0
    assert defaults["backoff_factor"] == 0.5
    assert defaults["growth_interval"] == 2000
    out = printed()
    assert out.count("w = [0.8999999761581421, 0.800000011920929, 0.699999988079071]") == 2
    assert "scale now 65536" in out
    assert "scale now 32768" in out
    text = page()
    for phrase in ("`init_scale=2.0**16` (65536)", "`growth_interval=2000`", "32768"):
        assert phrase in text


def test_autocast_dtypes_and_training() -> None:
    line = (
        "linear: torch.bfloat16, relu: torch.bfloat16, softmax: torch.bfloat16, "
        "loss: torch.float32, weight: torch.float32"
    )
    assert line in printed()
    # The lists differ by device: softmax has a CUDA autocast kernel (to float32), no CPU one;
    # the loss has both. CUDA autocast defaults to float16.
    softmax = torch._C._dispatch_dump("aten::softmax.int")
    assert "AutocastCUDA" in softmax
    assert "AutocastCPU" not in softmax
    assert "AutocastCPU" in torch._C._dispatch_dump("aten::binary_cross_entropy_with_logits")
    assert torch.get_autocast_dtype("cuda") == torch.float16
    assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    text = page()
    assert "where it defaults to FP16" in text
    assert "CUDA's runs softmax in FP32" in text
    X, y = quadrants()
    X32, y32 = X.float(), y.float()
    fp32 = lesson.train(lesson.make_model().float(), X32, y32, 0.5, 150)
    bf16 = lesson.train(lesson.make_model().float(), X32, y32, 0.5, 150, autocast=True)
    assert max(abs(a - b) for a, b in zip(fp32, bf16, strict=True)) < 0.0025
    assert "within about 0.001 of each other over all 150 steps" in text


def test_checkpoint_resumes_bit_for_bit_and_the_controls_differ() -> None:
    out = printed()
    assert "model + scheduler + optimizer + rng: lr 0.005, identical True" in out
    assert "model + scheduler + rng: lr 0.01, identical False" in out
    assert "model + scheduler + optimizer: lr 0.005, identical False" in out
    text = page()
    assert "defaults to `weights_only=True`" in text
    assert "the learning rate from 0.01 instead of 0.005" in text
    assert "so it stays twice too large" in text


def test_without_the_optimizer_the_learning_rate_stays_twice_too_large(tmp_path: Path) -> None:
    X, y = quadrants()
    uninterrupted = lesson.make_run()
    first = lesson.make_run()
    lesson.train_steps(first, X, y, 20)
    lesson.save(tmp_path / "checkpoint.pt", first, step=20)
    resumed = lesson.make_run(seed=1)
    lesson.load(tmp_path / "checkpoint.pt", resumed, ("rng",))
    lesson.train_steps(uninterrupted, X, y, 20)
    for _ in range(15):  # the scheduler scales the optimizer's lr from its current value
        lesson.train_steps(uninterrupted, X, y, 1)
        lesson.train_steps(resumed, X, y, 1)
        ratio = resumed[1].param_groups[0]["lr"] / uninterrupted[1].param_groups[0]["lr"]
        assert ratio == pytest.approx(2)


def test_torch_load_refuses_code_by_default_and_loads_the_checkpoint(tmp_path: Path) -> None:
    X, y = quadrants()
    run = lesson.make_run()
    lesson.train_steps(run, X, y, 2)
    lesson.save(tmp_path / "checkpoint.pt", run, step=2)
    torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # plain data only
    torch.save({"code": Path("anything")}, tmp_path / "other.pt")
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        torch.load(tmp_path / "other.pt")  # the default refuses a class it does not know


def test_memory_arithmetic() -> None:
    # The formula's 16 bytes for FP32 Adam, against Adam's real state after one step
    X, y = quadrants()
    model = lesson.make_model().float()
    adam = torch.optim.Adam(model.parameters())
    torch.nn.functional.binary_cross_entropy_with_logits(model(X.float()), y.float()).backward()
    adam.step()
    tensors = [t for p in model.parameters() for t in (p, p.grad)]
    tensors += [t for s in adam.state.values() for t in s.values() if t.dim() > 0]
    num_params = sum(p.numel() for p in model.parameters())
    assert sum(t.nbytes for t in tensors if t is not None) == training_bytes(
        num_params, "fp32 Adam"
    )
    assert training_bytes(num_params, "fp32 Adam") == 16 * num_params
    assert training_bytes(8e9, "mixed Adam") == 128e9
    assert training_bytes(70e9, "mixed Adam") == 1120e9
    assert training_bytes(405e9, "mixed Adam") == 6.48e12
    assert training_bytes(8e9, "mixed Adam", 1, 8) == 44e9
    assert training_bytes(8e9, "mixed Adam", 3, 8) == 16e9
    out = printed()
    assert "Llama 3 405B: weights 810 + gradients 810 + state 4,860 = 6,480 GB" in out
    assert "Llama 3 8B: weights 16 + gradients 16 + state 96 = 128 GB" in out
    assert "Llama 3 70B: weights 140 + gradients 140 + state 840 = 1,120 GB" in out
    text = page()
    for phrase in ("128 GB", "6,480 GB", "4,860 GB of it optimizer state", "8B, 70B and 405B"):
        assert phrase in text, phrase
    assert 44e9 < 80e9  # "Stage 1 alone fits in an 80 GB H100"
    assert "Stage 1 alone fits in an 80 GB H100" in text


def test_network_arithmetic() -> None:
    """One-way bandwidths: NVLink's 900 GB/s counts both directions, 450 GB/s each way."""
    assert 900e9 / 2 == 450e9
    assert 400e9 / 8 == 50e9  # 400 Gbps in bytes
    backward_s = 4 * 8e9 * 4096 / 989e12  # Kaplan et al.: 4P per token backward
    fast = ring_allreduce_seconds(2 * 8e9, 8, 450e9)
    slow = ring_allreduce_seconds(2 * 8e9, 8, 50e9)
    assert (round(1e3 * fast), round(1e3 * backward_s), round(1e3 * slow)) == (62, 133, 560)
    assert "backward 133 ms; all-reduce at 450 GB/s 62 ms, at 50 GB/s 560 ms" in printed()
    text = page()
    assert "At 450 GB/s the all-reduce takes 62 ms, under the 133 ms backward pass" in text
    assert "at 50 GB/s, 560 ms" in text
    assert "NVLink moves 450 GB/s each way" in text
    assert "about $2P$ operations per token forward and $4P$ backward" in text
    timeline = lesson.overlapped_step(backward_s, fast, 8)
    assert timeline[-1][3] - backward_s == pytest.approx(fast / 8)  # hides all but one


def test_the_timeline_figure_shares_its_time_axis() -> None:
    backward_s = 4 * 8e9 * 4096 / 989e12
    fast, slow = (
        lesson.overlapped_step(backward_s, ring_allreduce_seconds(2 * 8e9, 8, bw), 8)
        for bw in (450e9, 50e9)
    )
    figures = []
    with mock.patch.object(plt, "show", side_effect=lambda: figures.append(plt.gcf())):
        lesson.plot_timelines(fast, slow)
    fig = figures[0]
    top, bottom = fig.axes
    assert top.get_xlim() == bottom.get_xlim()
    label = str(fig.get_label())
    assert "ends at 140 ms" in label
    assert "at 577 ms" in label
    plt.close(fig)


def test_tensor_parallel_and_bubble() -> None:
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(5, 6, dtype=torch.float64, generator=generator)
    A = torch.randn(6, 4, dtype=torch.float64, generator=generator)
    assert (lesson.column_parallel(X, A) - X @ A).abs().max() == 0
    assert 0 < (lesson.row_parallel(X, A) - X @ A).abs().max() < 5e-15
    assert [f"{bubble_fraction(4, m):.1%}" for m in (1, 4, 16, 64)] == [
        "75.0%",
        "42.9%",
        "15.8%",
        "4.5%",
    ]
    assert "75.0% of the time with one micro-batch, 4.5% with 64" in page()


def test_exercise_numbers() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exercises.ex1()
    for phrase in ("every 3.1 h", "5 min: 21.3%", "19 min: 10.4%", "60 min: 17.8%"):
        assert phrase in out.getvalue(), phrase
    text = page()
    for phrase in ("3.1 hours", "21.3%", "17.8%", "19 minutes", "10.4%"):
        assert phrase in text, phrase


def test_the_shard_is_what_distributed_sampler_takes() -> None:
    """The page: each rank takes every N-th row, as DistributedSampler with shuffle=False."""
    from torch.utils.data import DistributedSampler, TensorDataset

    rows = TensorDataset(torch.arange(200))
    for rank in range(2):
        sampler: DistributedSampler[int] = DistributedSampler(
            rows, num_replicas=2, rank=rank, shuffle=False
        )
        assert list(sampler) == list(range(rank, 200, 2))
    assert "as `DistributedSampler` with `shuffle=False` does" in page()
