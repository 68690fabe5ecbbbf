"""Lesson 3.5: the same training loop on several processes (real data
parallelism with DistributedDataParallel on the CPU), gradient accumulation,
mixed precision, checkpointing, the memory a model needs, and what the
interconnect and the other kinds of parallelism cost."""

import math
import sys

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn

# isort: split
# --8<-- [start:imports]
import json
import multiprocessing
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

# --8<-- [end:imports]
# isort: split
from helpers import seed_everything

# --8<-- [start:data]


def quadrants() -> tuple[torch.Tensor, torch.Tensor]:
    """200 points; label 1 where x1 and x2 have the same sign."""
    seed_everything(0)
    X = torch.randn(200, 2, dtype=torch.float64)
    return X, (X[:, :1] * X[:, 1:] > 0).double()


def make_model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)  # 2 -> 16 -> 16 -> 1, in float64
    return nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
        nn.Linear(16, 1),
    ).double()  # fmt: skip


# --8<-- [end:data]


# --8<-- [start:one-process]
def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_steps: int,
    autocast: bool = False,
) -> list[float]:
    """Full-batch SGD in this process; with autocast, in bf16 (CPU)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_steps):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            logits = model(X)
        loss = F.binary_cross_entropy_with_logits(logits.to(y.dtype), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def largest_difference(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a, b, strict=True))


# --8<-- [end:one-process]


# --8<-- [start:ddp]
# A forked worker knows the functions a notebook defined; spawn needs a file.
START_METHOD = (
    "fork" if "fork" in multiprocessing.get_all_start_methods() else None
)


def ddp_worker(
    rank: int, world_size: int, folder: str, setup: dict[str, Any]
) -> None:
    torch.set_num_threads(1)  # the ranks share this machine's cores
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/rendezvous", rank=rank,
        world_size=world_size, timeout=timedelta(seconds=30),
    )  # fmt: skip
    ready = time.time()
    X = torch.tensor(setup["X"], dtype=torch.float64)
    y = torch.tensor(setup["y"], dtype=torch.float64)
    shard = list(range(rank, len(X), world_size))  # every N-th row
    model = make_model(seed=rank)  # on purpose, the ranks start apart
    ddp_model = DistributedDataParallel(model, bucket_cap_mb=setup["cap"])
    buckets: list[Any] = []  # what each all-reduce carried
    everyone: Any = dist.group.WORLD

    def record(
        step: list[int],
        bucket: dist.GradBucket,  # type: ignore[name-defined]
    ) -> torch.futures.Future[torch.Tensor]:
        shapes = [list(p.shape) for p in bucket.parameters()]
        buckets.append((step[0], bucket.index(), shapes))
        return default_hooks.allreduce_hook(everyone, bucket)  # sum, / N

    step = [0]
    ddp_model.register_comm_hook(step, record)
    optimizer = torch.optim.SGD(ddp_model.parameters(), lr=setup["lr"])
    for step[0] in range(setup["num_steps"]):
        optimizer.zero_grad()
        logits = ddp_model(X[shard])
        loss = F.binary_cross_entropy_with_logits(logits, y[shard])
        loss.backward()  # all-reduces the gradients, bucket by bucket
        optimizer.step()
    result = {"ready": ready, "shard": shard, "buckets": buckets,
              "params": [p.tolist() for p in model.parameters()]}  # fmt: skip
    Path(folder, f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()
    # In a fresh (spawned) process, gloo's threads can outlive that, and
    # shutting Python down beside them can abort: leave as forked ranks do.
    os._exit(0)


def run_data_parallel(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int,
    world_size: int = 2, start_method: str | None = None,
    cap: float | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    setup = {"X": X.tolist(), "y": y.tolist(), "lr": lr, "cap": cap,
             "num_steps": num_steps}  # fmt: skip
    context: Any = multiprocessing.get_context(start_method or START_METHOD)
    with tempfile.TemporaryDirectory() as folder:  # a fresh rendezvous file
        start = time.time()
        workers = [context.Process(target=ddp_worker,
                                   args=(rank, world_size, folder, setup))
                   for rank in range(world_size)]  # fmt: skip
        for worker in workers:
            worker.start()
        for rank, worker in enumerate(workers):
            worker.join(timeout=120)  # never wait forever
            if worker.is_alive():
                worker.terminate()
            if worker.exitcode != 0:  # None if it had to be stopped
                raise RuntimeError(f"rank {rank} failed: {worker.exitcode}")
        results = [json.loads(Path(folder, f"rank{r}.json").read_text())
                   for r in range(world_size)]  # fmt: skip
    for result in results:
        result["start_up"] = result["ready"] - start
    return results


# --8<-- [end:ddp]


# --8<-- [start:accumulation]
def accumulated_grads(
    X: torch.Tensor, y: torch.Tensor, sizes: list[int], scaled: bool = True
) -> list[torch.Tensor]:
    """Gradients added over micro-batches of `sizes` rows (one step's)."""
    model = make_model(seed=0)
    model.zero_grad()
    for X_micro, y_micro in zip(X.split(sizes), y.split(sizes), strict=True):
        logits = model(X_micro)
        loss = F.binary_cross_entropy_with_logits(logits, y_micro)
        if scaled:
            loss = loss * len(X_micro) / len(X)  # 1/k for equal sizes
        loss.backward()  # adds into .grad
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


# --8<-- [end:accumulation]


# --8<-- [start:formats]
def bits(x: float, dtype: torch.dtype) -> str:
    """The bits of `x` stored in `dtype`: sign, exponent, mantissa."""
    width = torch.finfo(dtype).bits
    as_int = torch.int16 if width == 16 else torch.int32
    pattern = torch.tensor(x, dtype=dtype).view(as_int).item() % 2**width
    text, e = f"{pattern:0{width}b}", 5 if dtype == torch.float16 else 8
    return f"{text[0]} {text[1 : 1 + e]} {text[1 + e :]}"


# --8<-- [end:formats]


# --8<-- [start:running-sum]
def running_sum(value: float, count: int, dtype: torch.dtype) -> float:
    total = torch.zeros((), dtype=dtype)
    for _ in range(count):
        total += value  # rounded to dtype at every step
    return total.item()


# --8<-- [end:running-sum]


# --8<-- [start:checkpoint]
Run = tuple[nn.Module, torch.optim.Optimizer, Any, torch.Generator]


def make_run(seed: int = 0) -> Run:
    """Everything a run's future depends on, built fresh."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(32, 1)).double()  # fmt: skip
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 40)
    return model, optimizer, scheduler, torch.Generator().manual_seed(seed)


def train_steps(run: Run, X: torch.Tensor, y: torch.Tensor, n: int) -> None:
    model, optimizer, scheduler, shuffler = run
    for _ in range(n):
        rows = torch.randperm(len(X), generator=shuffler)[:32]
        optimizer.zero_grad()
        logits = model(X[rows])  # dropout draws from torch's global RNG
        loss = F.binary_cross_entropy_with_logits(logits, y[rows])
        loss.backward()
        optimizer.step()
        scheduler.step()


def save(path: Path, run: Run, step: int) -> None:
    model, optimizer, scheduler, shuffler = run
    torch.save({"step": step, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": [shuffler.get_state(), torch.get_rng_state()]},
               path)  # fmt: skip


def load(path: Path, run: Run, parts: tuple[str, ...]) -> int:
    """Load into fresh objects; `parts` may leave some out."""
    checkpoint = torch.load(path)  # weights_only=True: data, never code
    run[0].load_state_dict(checkpoint["model"])
    run[2].load_state_dict(checkpoint["scheduler"])
    if "optimizer" in parts:
        run[1].load_state_dict(checkpoint["optimizer"])
    if "rng" in parts:
        run[3].set_state(checkpoint["rng"][0])
        torch.set_rng_state(checkpoint["rng"][1])
    return int(checkpoint["step"])


def tensors(run: Run) -> list[torch.Tensor]:
    """Every parameter, then every tensor of the optimizer's state."""
    state = [t for s in run[1].state.values() for t in s.values()]
    return [*run[0].parameters(), *state]


def identical(a: Run, b: Run) -> bool:
    pairs = zip(tensors(a), tensors(b), strict=True)
    return all(torch.equal(p, q) for p, q in pairs)  # bit for bit


# --8<-- [end:checkpoint]


# --8<-- [start:memory]
BYTES_PER_PARAMETER = {  # weights, gradients, optimizer state (Adam)
    "fp32 Adam": (4, 4, 8),  # Adam's two moments in fp32
    "mixed Adam": (2, 2, 12),  # fp32 master weights + two moments
}


def training_bytes(
    num_params: float, recipe: str, zero_stage: int = 0, num_devices: int = 1
) -> float:
    """Bytes per device, activations not counted. ZeRO shards over the
    devices: stage 1 the optimizer state, 2 the gradients too, 3 all."""
    weights, grads, state = BYTES_PER_PARAMETER[recipe]
    shards = [num_devices if zero_stage >= k else 1 for k in (3, 2, 1)]
    return num_params * (weights / shards[0] + grads / shards[1]
                         + state / shards[2])  # fmt: skip


# --8<-- [end:memory]


# --8<-- [start:network]
def ring_allreduce_seconds(
    grad_bytes: float, num_devices: int, bandwidth: float
) -> float:
    sent = 2 * (num_devices - 1) / num_devices * grad_bytes  # per device
    return sent / bandwidth  # bandwidth in bytes per second


def overlapped_step(
    backward_s: float, allreduce_s: float, num_buckets: int
) -> list[tuple[float, float, float, float]]:
    """(compute start, end, all-reduce start, end) per bucket: a bucket's
    all-reduce starts when it is ready and the link is free."""
    compute, comm = backward_s / num_buckets, allreduce_s / num_buckets
    timeline, link_free = [], 0.0
    for i in range(num_buckets):
        start = max((i + 1) * compute, link_free)
        link_free = start + comm
        timeline.append((i * compute, (i + 1) * compute, start, link_free))
    return timeline


# --8<-- [end:network]


# --8<-- [start:draw-timeline]
def draw_timeline(
    ax: Axes, timeline: list[tuple[float, float, float, float]], title: str
) -> None:
    """Backward pieces on one row, all-reduces on the row below (in ms)."""
    for c0, c1, a0, a1 in timeline:
        ax.broken_barh([(1e3 * c0, 1e3 * (c1 - c0))], (1.1, 0.8),
                       facecolor="tab:blue", edgecolor="white")  # fmt: skip
        ax.broken_barh([(1e3 * a0, 1e3 * (a1 - a0))], (0.1, 0.8),
                       facecolor="tab:orange", edgecolor="black",
                       hatch="//")  # fmt: skip
    ax.set_yticks([0.5, 1.5], ["all-reduce", "backward"])
    ax.set_title(title)


def plot_timelines(
    fast: list[tuple[float, float, float, float]],
    slow: list[tuple[float, float, float, float]],
) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.4, 4.6), sharex=True)
    draw_timeline(top, fast, "fast link: the all-reduce hides")
    draw_timeline(bottom, slow, "slow link: the step waits")
    bottom.set_xlabel("time (ms)")
    bottom.set_xlim(0, 1e3 * max(fast[-1][3], slow[-1][3]) * 1.05)
    fig.set_label(
        f"Two timelines of one backward pass in {len(fast)} buckets with "
        f"each bucket's all-reduce below it: with the fast link the step "
        f"ends at {1e3 * fast[-1][3]:.0f} ms, just after the backward pass; "
        f"with the slow link at {1e3 * slow[-1][3]:.0f} ms."
    )
    fig.tight_layout()
    plt.show()


# --8<-- [end:draw-timeline]


# --8<-- [start:tensor-parallel]
def column_parallel(X: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    A1, A2 = A.chunk(2, dim=1)  # device 1 holds A1, device 2 A2
    return torch.cat([X @ A1, X @ A2], dim=1)  # an all-gather


def row_parallel(X: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    (A1, A2), (X1, X2) = A.chunk(2, dim=0), X.chunk(2, dim=1)
    return X1 @ A1 + X2 @ A2  # an all-reduce


def bubble_fraction(num_stages: int, num_micro: int) -> float:
    return (num_stages - 1) / (num_micro + num_stages - 1)


# --8<-- [end:tensor-parallel]


def script_start_method() -> str | None:
    """As a script, spawn everywhere but Linux: fork is unsafe on macOS."""
    return START_METHOD if sys.platform == "linux" else "spawn"


def main() -> None:
    global START_METHOD  # run_data_parallel's default start method
    START_METHOD = script_start_method()
    # --8<-- [start:ddp-run]
    X, y = quadrants()
    lr, num_steps = 0.5, 20
    results = run_data_parallel(X, y, lr, num_steps)
    one_process = make_model(seed=0)
    train(one_process, X, y, lr, num_steps)
    reference = [p.detach() for p in one_process.parameters()]
    for result in results:
        params = [torch.tensor(p, dtype=torch.float64)
                  for p in result["params"]]  # fmt: skip
        pairs = zip(params, reference, strict=True)
        close = all(torch.allclose(p, q, rtol=0, atol=1e-12) for p, q in pairs)
        gap = largest_difference(params, reference)
        print(f"rows {result['shard'][:3]}...: allclose {close}, "
              f"largest difference {gap:.1e}")  # fmt: skip
    # --8<-- [end:ddp-run]

    # --8<-- [start:ddp-timing]
    start_up = max(result["start_up"] for result in results)
    print(f"starting 2 processes and meeting: {start_up:.2f} s")
    # --8<-- [end:ddp-timing]

    # --8<-- [start:buckets]
    results = run_data_parallel(X, y, lr, num_steps=2, cap=0.0003)
    for step, index, shapes in results[0]["buckets"]:  # in the order sent
        print(f"step {step}, bucket {index}: {shapes}")
    # --8<-- [end:buckets]

    # --8<-- [start:accumulation-run]
    full = accumulated_grads(X, y, [200])  # one micro-batch: the batch
    for sizes in ([50, 50, 50, 50], [80, 60, 40, 20]):
        accumulated = accumulated_grads(X, y, sizes)
        gap = largest_difference(accumulated, full)
        print(f"micro-batches {sizes}: largest difference {gap:.1e}")
    unscaled = accumulated_grads(X, y, [50, 50, 50, 50], scaled=False)
    ratio = unscaled[0].norm() / full[0].norm()
    print(f"without dividing by k: {ratio:.4f} times the gradient")
    # --8<-- [end:accumulation-run]

    # --8<-- [start:finfo]
    print(f"{'':9} {'max':>9} {'smallest normal':>16} {'eps':>9}")
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        info = torch.finfo(dtype)
        print(f"{str(dtype)[6:]:9} {info.max:9.3g} {info.tiny:16.3g} "
              f"{info.eps:9.3g}")  # fmt: skip
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        print(f"{str(dtype)[6:]:9} 1.0 = {bits(1.0, dtype)}")
    # --8<-- [end:finfo]

    # --8<-- [start:range]
    for number in (70000.0, 1e-8, 1 + 2**-8):
        value = torch.tensor(number)
        print(f"{number:.9g} in fp16: {value.half().item():.9g}, "
              f"in bf16: {value.bfloat16().item():.9g}")  # fmt: skip
    # --8<-- [end:range]

    # --8<-- [start:accumulate-sum]
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        total = running_sum(0.01, 10_000, dtype)
        print(f"10000 x 0.01 added in {str(dtype)[6:]}: {total:.4g}")
    # --8<-- [end:accumulate-sum]

    # --8<-- [start:loss-scaling]
    grad = torch.tensor([1e-3, 1e-5, 1e-7, 1e-8, 1e-9])
    scale = 2.0**16
    plain = grad.half().float()
    scaled = (grad * scale).half().float() / scale  # unscaled in fp32
    print(f"fp16 alone:       {plain.tolist()}")
    print(f"scaled by 2^16:   {[f'{g:.3g}' for g in scaled.tolist()]}")
    # --8<-- [end:loss-scaling]

    # --8<-- [start:grad-scaler]
    scaler = torch.amp.GradScaler("cpu")
    w = nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([w], lr=0.1)
    for x in (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, math.inf, 3])):
        optimizer.zero_grad()
        loss = (w * x).sum()
        scaler.scale(loss).backward()  # the loss times the scale
        scaler.step(optimizer)  # unscales; skips the step on inf or nan
        scaler.update()  # halves the scale after inf/nan
        print(f"w = {w.tolist()}, scale now {scaler.get_scale():g}")
    # --8<-- [end:grad-scaler]

    # --8<-- [start:autocast]
    torch.manual_seed(0)
    layer = nn.Linear(2, 4)
    X32, y32 = X.float(), y.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = layer(X32)
        a = torch.relu(z)
        loss = F.binary_cross_entropy_with_logits(a[:, :1], y32)
        probs = torch.softmax(a, dim=1)
    print(f"linear: {z.dtype}, relu: {a.dtype}, softmax: {probs.dtype}, "
          f"loss: {loss.dtype}, weight: {layer.weight.dtype}")  # fmt: skip
    # --8<-- [end:autocast]

    # --8<-- [start:autocast-run]
    fp32_losses = train(make_model().float(), X32, y32, 0.5, 150)
    bf16_losses = train(make_model().float(), X32, y32, 0.5, 150, autocast=True)
    gap = max(abs(a - b) for a, b in zip(fp32_losses, bf16_losses, strict=True))
    print(f"final loss fp32 {fp32_losses[-1]:.3f}, bf16 autocast "
          f"{bf16_losses[-1]:.3f}; largest gap {gap:.3f}")  # fmt: skip
    # --8<-- [end:autocast-run]

    # --8<-- [start:checkpoint-run]
    uninterrupted = make_run()
    train_steps(uninterrupted, X, y, 40)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "checkpoint.pt")
        first = make_run()
        train_steps(first, X, y, 20)
        save(path, first, step=20)
        for parts in [("optimizer", "rng"), ("rng",), ("optimizer",)]:
            resumed = make_run(seed=1)  # fresh objects, other weights
            torch.manual_seed(123)  # as a new process would be
            step = load(path, resumed, parts)
            lr = resumed[1].param_groups[0]["lr"]  # kept by the optimizer
            train_steps(resumed, X, y, 40 - step)
            print(f"model + scheduler + {' + '.join(parts)}: lr {lr:.3g}, "
                  f"identical {identical(uninterrupted, resumed)}")  # fmt: skip
    # --8<-- [end:checkpoint-run]

    # --8<-- [start:memory-llms]
    for name, n in [("Llama 3 8B", 8e9), ("Llama 3 70B", 70e9),
                    ("Llama 3 405B", 405e9)]:  # fmt: skip
        weights, grads, state = (b * n / 1e9 for b in
                                 BYTES_PER_PARAMETER["mixed Adam"])  # fmt: skip
        total = training_bytes(n, "mixed Adam") / 1e9
        print(f"{name}: weights {weights:,.0f} + gradients {grads:,.0f} + "
              f"state {state:,.0f} = {total:,.0f} GB")  # fmt: skip
    # --8<-- [end:memory-llms]

    # --8<-- [start:allreduce]
    grad_bytes = 2 * 8e9  # bf16 gradients of an 8B model
    backward_s = 4 * 8e9 * 4096 / 989e12  # 4 FLOPs per parameter per token
    allreduce_s = [ring_allreduce_seconds(grad_bytes, 8, bandwidth)
                   for bandwidth in (450e9, 50e9)]  # fmt: skip
    print(f"backward {1e3 * backward_s:.0f} ms; all-reduce at 450 GB/s "
          f"{1e3 * allreduce_s[0]:.0f} ms, at 50 GB/s "
          f"{1e3 * allreduce_s[1]:.0f} ms")  # fmt: skip
    # --8<-- [end:allreduce]

    # --8<-- [start:plot-timeline]
    fast, slow = (overlapped_step(backward_s, t, 8) for t in allreduce_s)
    plot_timelines(fast, slow)
    # --8<-- [end:plot-timeline]

    # --8<-- [start:zero]
    for stage in range(4):
        gb = training_bytes(8e9, "mixed Adam", stage, num_devices=8) / 1e9
        print(f"ZeRO stage {stage}: {gb:5.1f} GB per GPU (8B model, 8 GPUs)")
    # --8<-- [end:zero]

    # --8<-- [start:tensor-parallel-run]
    generator = torch.Generator().manual_seed(0)
    X_tp = torch.randn(5, 6, dtype=torch.float64, generator=generator)
    A = torch.randn(6, 4, dtype=torch.float64, generator=generator)
    for split in (column_parallel, row_parallel):
        gap = (split(X_tp, A) - X_tp @ A).abs().max().item()
        print(f"{split.__name__}: largest difference {gap:.1e}")
    for num_micro in (1, 4, 16, 64):
        print(f"4 stages, {num_micro:2} micro-batches: idle "
              f"{bubble_fraction(4, num_micro):.1%}")  # fmt: skip
    # --8<-- [end:tensor-parallel-run]


if __name__ == "__main__":
    main()
