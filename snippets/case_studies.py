"""Lesson 3.8: the arithmetic of training at scale. Compute from the 6ND rule,
tokens per parameter, days on a cluster, how a cluster is split three ways,
what rounding does to a running sum, the cost of an all-reduce and the memory
of a 175-billion-parameter model. Plain Python: no tensor is needed."""

# --8<-- [start:imports]
import math
import struct

# --8<-- [end:imports]
# isort: split
from large_scale_training import (
    BYTES_PER_PARAMETER,
    ring_allreduce_seconds,
    training_bytes,
)

# --8<-- [start:compute]
MODELS = {  # parameters N and training tokens D, as each paper reports them
    "GPT-3": (175e9, 300e9),
    "Gopher": (280e9, 300e9),
    "Chinchilla": (70e9, 1.4e12),
    "PaLM": (540e9, 780e9),
    "OPT-175B": (175e9, 180e9),
    "Llama 2 70B": (70e9, 2e12),
    "Llama 3 405B": (405e9, 15.6e12),
}


def training_flops(num_params: float, num_tokens: float) -> float:
    """C = 6 N D: 2N operations forward and 4N backward, per token."""
    return 6 * num_params * num_tokens


# --8<-- [end:compute]


# --8<-- [start:time]
H100_BF16 = 989e12  # dense BF16 operations a second, NVIDIA's datasheet


def training_days(
    flops: float, num_gpus: int, mfu: float, peak: float = H100_BF16
) -> float:
    """Days to do `flops` when the GPUs reach a share `mfu` of their peak."""
    return flops / (num_gpus * peak * mfu) / 86400


def tokens_per_second(
    num_params: float, num_gpus: int, mfu: float, peak: float = H100_BF16
) -> float:
    """Tokens the cluster trains on each second, at 6N operations a token."""
    return num_gpus * peak * mfu / (6 * num_params)


def bits_per_token_id(vocab_size: int) -> int:
    return math.ceil(math.log2(vocab_size))


# --8<-- [end:time]


# --8<-- [start:beta2]
def averaging_steps(beta: float) -> float:
    """About how many recent steps a running average with factor beta
    remembers: its newest step weighs 1 - beta, as in a plain average of
    1 / (1 - beta) steps."""
    return 1 / (1 - beta)


# --8<-- [end:beta2]


# --8<-- [start:layout]
LLAMA3_LAYOUTS = {  # Table 4 of the Llama 3 paper: tensor, context,
    "row 1": (8, 1, 16, 64),  # pipeline and data degrees
    "row 2": (8, 1, 16, 128),
    "row 3": (8, 16, 16, 8),  # long context
}


def gb_per_gpu(
    num_params: float, tensor: int, pipeline: int, data: int, zero_stage: int
) -> float:
    """Mixed-precision Adam per GPU: tensor x pipeline GPUs share one copy of
    the model; ZeRO shards each piece over the `data` copies."""
    piece = num_params / (tensor * pipeline)  # parameters on one GPU
    return training_bytes(piece, "mixed Adam", zero_stage, data) / 1e9


# --8<-- [end:layout]


# --8<-- [start:rounding]
def rounded(x: float, fmt: str) -> float:
    """x rounded to FP16 (fmt "e") or FP32 ("f"), by packing its bytes."""
    value: float = struct.unpack(fmt, struct.pack(fmt, x))[0]
    return value


def running_sum(start: float, value: float, count: int, fmt: str) -> float:
    total, value = rounded(start, fmt), rounded(value, fmt)
    for _ in range(count):
        total = rounded(total + value, fmt)  # every sum rounded to the format
    return total


# --8<-- [end:rounding]


# --8<-- [start:ex3]
def backward_seconds(num_params: float, tokens: float, mfu: float) -> float:
    return 4 * num_params * tokens / (H100_BF16 * mfu)  # 4N per token


def ex3() -> None:
    N, num_gpus, tokens = 7e9, 64, 4 * 4096  # 4 sequences of 4096 per GPU
    grad_bytes = 2 * N  # BF16 gradients
    print(f"gradients {grad_bytes / 1e9:.0f} GB; backward pass at 40% MFU: "
          f"{backward_seconds(N, tokens, 0.4):.2f} s")  # fmt: skip
    for name, bandwidth in [("NVLink", 450e9), ("400 Gbit/s", 50e9),
                            ("100 Gbit/s", 12.5e9)]:  # fmt: skip
        seconds = ring_allreduce_seconds(grad_bytes, num_gpus, bandwidth)
        print(f"all-reduce at {name:>10}: {seconds:5.2f} s")
    for num_gpus in (8, 64, 1024):
        factor = 2 * (num_gpus - 1) / num_gpus
        print(f"{num_gpus:4} GPUs: each sends {factor:.3f} x the gradients")


# --8<-- [end:ex3]


# --8<-- [start:ex4]
BYTES = {  # per parameter
    "16-bit weights": 2,
    "FP32 Adam moments": 8,  # two of 4 bytes
    "16-bit gradients": 2,
    "FP32 master weights": 4,
}


def ex4() -> None:
    N, gpu_bytes = 175e9, 80e9
    for counted in (["16-bit weights", "FP32 Adam moments"], list(BYTES)):
        per_param = sum(BYTES[name] for name in counted)
        total = N * per_param
        print(f"{' + '.join(counted)}")
        print(f"  {per_param} B x 175e9 = {total / 1e9:,.0f} GB = "
              f"{total / gpu_bytes:.2f} GPUs of 80 GB "
              f"-> {math.ceil(total / gpu_bytes)}")  # fmt: skip
    extra = BYTES["16-bit gradients"] + BYTES["FP32 master weights"]
    print(f"the difference: {extra} B x 175e9 = {extra * N / 1e9:,.0f} GB")


# --8<-- [end:ex4]


def main() -> None:
    # --8<-- [start:compute-run]
    for name, (N, D) in MODELS.items():
        print(f"{name:12} N {N / 1e9:3.0f}B D {D / 1e12:5.2f}T "
              f"D/N {D / N:5.1f} C {training_flops(N, D):.2e}")  # fmt: skip
    flops = {name: training_flops(N, D) for name, (N, D) in MODELS.items()}
    for a, b in [("Llama 3 405B", "GPT-3"), ("Chinchilla", "Gopher")]:
        print(f"compute of {a} / {b}: {flops[a] / flops[b]:.2f}")
    # --8<-- [end:compute-run]

    # --8<-- [start:time-run]
    C = flops["Llama 3 405B"]
    days = training_days(C, 16384, 0.41)
    print(f"Llama 3 405B, 16,384 GPUs at 41% MFU: {days:.1f} days, "
          f"{days * 24 * 16384 / 1e6:.1f}M GPU-hours")  # fmt: skip
    one_percent = training_days(C, 16384, 0.40) - days
    print(f"at 40% MFU instead: {one_percent:.1f} days more")
    gpt3_days = training_days(flops["GPT-3"], 1024, 0.41)
    print(f"GPT-3 on 1,024 GPUs at 41% MFU: {gpt3_days:.1f} days")
    # --8<-- [end:time-run]

    # --8<-- [start:pipeline-run]
    rate = tokens_per_second(405e9, 16384, 0.41)
    print(f"{rate / 1e6:.1f}M tokens/s, {rate / 16384:.0f} per GPU")
    for vocab_size in (50257, 128000):
        print(f"vocabulary {vocab_size:,}: {bits_per_token_id(vocab_size)} "
              f"bits a token id")  # fmt: skip
    print(f"as 4-byte ids: {4 * rate / 1e6:.0f} MB/s")
    # --8<-- [end:pipeline-run]

    # --8<-- [start:beta2-run]
    for beta2 in (0.999, 0.95):
        print(f"beta2 = {beta2}: averages about "
              f"{averaging_steps(beta2):,.0f} steps")  # fmt: skip
    # --8<-- [end:beta2-run]

    # --8<-- [start:layout-run]
    for name, degrees in LLAMA3_LAYOUTS.items():
        num_gpus = math.prod(degrees)
        print(f"{name}: {' x '.join(map(str, degrees))} = "
              f"{num_gpus:,} GPUs, {num_gpus // 8:,} servers")  # fmt: skip
    tensor, _, pipeline, data = LLAMA3_LAYOUTS["row 2"]
    print(f"parameters per GPU: {405e9 / (tensor * pipeline) / 1e9:.2f}B")
    whole = training_bytes(405e9, "mixed Adam") / 1e9
    print(f"mixed Adam, whole model: {whole:,.0f} GB")
    for stage in (0, 1):
        gb = gb_per_gpu(405e9, tensor, pipeline, data, stage)
        print(f"ZeRO stage {stage}: {gb:.1f} GB per GPU before activations")
    # --8<-- [end:layout-run]

    # --8<-- [start:ex2-run]
    for fmt, name in [("e", "FP16"), ("f", "FP32")]:
        total = running_sum(0.0, 0.01, 10_000, fmt)
        weight = running_sum(1.0, 1e-4, 1_000, fmt)
        print(f"{name}: 0 + 10,000 x 0.01 = {total:.4g}; "
              f"1 + 1,000 x 0.0001 = {weight:.4g}")  # fmt: skip
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    ex3()
    # --8<-- [end:ex3-run]

    # --8<-- [start:ex4-run]
    ex4()
    same = sum(BYTES.values()) == sum(BYTES_PER_PARAMETER["mixed Adam"])
    print(f"all four agree with lesson 3.5's mixed Adam: {same}")
    # --8<-- [end:ex4-run]


if __name__ == "__main__":
    main()
