"""Lesson 3.8: every number the page derives is what the snippet computes.

The lesson's code is plain Python arithmetic in float64, the same on every machine, so the
numbers are checked as printed. The figures the page takes from papers are inputs here, written
once in the snippet's MODELS table, and checked to be the ones the page cites."""

import contextlib
import inspect
import io
import math
from pathlib import Path

import case_studies as lesson
import pytest
import torch
from case_studies import MODELS, training_flops
from course import flat_text
from large_scale_training import BYTES_PER_PARAMETER, ring_allreduce_seconds, training_bytes

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-3" / "case-studies.md"


def page() -> str:
    return flat_text(LESSON)


def prose() -> str:
    """The page above its questions (whose numbers must also appear here)."""
    text = page()
    return text[: text.index("## Check yourself")]


def printed(run: str) -> str:
    """What one of the page's run sections prints."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        getattr(lesson, run)()
    return output.getvalue()


def ratio(name: str) -> float:
    num_params, num_tokens = MODELS[name]
    return num_tokens / num_params


def power(value: float) -> str:
    """How the page writes 3.15e+23: 3.15 \\times 10^{23}."""
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def test_the_cited_figures_are_the_models_table() -> None:
    text = prose()
    for phrase in [
        "GPT-3, 175 billion parameters on 300 billion tokens",
        "Llama 3 405B, on 15.6 trillion tokens",
        "70B on 1.4T tokens",
        "Gopher, 280B on 300B tokens",
        "PaLM** (540B parameters, 780B tokens",
        "(992 80GB A100 GPUs, 180B tokens)",
    ]:
        assert phrase in text, phrase
    assert MODELS["Llama 2 70B"] == (70e9, 2e12)


def test_compute_by_the_six_n_d_rule() -> None:
    text = prose()
    gpt3 = training_flops(*MODELS["GPT-3"])
    llama = training_flops(*MODELS["Llama 3 405B"])
    assert math.isclose(gpt3, 3.15e23)
    assert power(gpt3) in text
    assert power(llama) in text  # 3.79, which the paper rounds to 3.8
    assert f"{llama:.1e}" == "3.8e+25"
    assert "3.8 \\times 10^{25}" in text
    output = printed("main")
    assert f"compute of Llama 3 405B / GPT-3: {llama / gpt3:.2f}" in output
    assert round(llama / gpt3) == 120
    assert "a hundred and twenty times GPT-3" in text
    chinchilla = training_flops(*MODELS["Chinchilla"])
    gopher = training_flops(*MODELS["Gopher"])
    assert f"6ND puts them at ${power(chinchilla)}$ and ${power(gopher)}$" in text
    assert f"compute of Chinchilla / Gopher: {chinchilla / gopher:.2f}" in output
    larger = round((chinchilla / gopher - 1) * 100)
    assert f"Chinchilla's about {larger}% larger" in text


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("GPT-3", "GPT-3 saw 1.7 tokens a parameter"),
        ("Gopher", "Gopher 1.1"),
        ("PaLM", "PaLM 1.4"),
        ("OPT-175B", "OPT-175B 1.0"),
        ("Chinchilla", "saw 20 and outperformed Gopher"),
        ("Llama 2 70B", "Llama 2 70B saw 28.6 tokens a parameter"),
        ("Llama 3 405B", "Llama 3 405B 38.5"),
    ],
)
def test_tokens_per_parameter(name: str, shown: str) -> None:
    value = ratio(name)
    number = f"{value:.1f}" if value < 20 or value > 20.05 else f"{value:.0f}"
    assert number in shown
    assert shown in prose()


def test_days_on_the_cluster() -> None:
    text = prose()
    C = training_flops(*MODELS["Llama 3 405B"])
    # Table 4 of the Llama 3 paper: 41% MFU on 16,384 GPUs (8K context)
    assert "43% on 8,192 GPUs, 41% on 16,384 and 38% on 16,384" in text
    days = lesson.training_days(C, 16384, 0.41)
    output = printed("main")
    assert f"16,384 GPUs at 41% MFU: {days:.1f} days" in output
    assert "At 41% MFU the 405B model's" in text
    assert f"take {days:.1f} days of the full cluster" in text
    gpu_hours = days * 24 * 16384 / 1e6
    assert f"about {gpu_hours:.1f}M GPU-hours" in text
    gpt3 = lesson.training_days(training_flops(*MODELS["GPT-3"]), 1024, 0.41)
    assert f"GPT-3 on 1,024 GPUs at 41% MFU: {gpt3:.1f} days" in output
    assert f"fit into {gpt3:.1f} days on 1,024" in text
    per_percent = lesson.training_days(C, 16384, 0.40) - days
    assert f"at 40% MFU instead: {per_percent:.1f} days more" in output
    assert f"each percent of MFU is worth {per_percent:.1f} days of the whole cluster" in text
    # "two months" in the summary
    assert 60 <= days <= 72
    assert "two months of 16,384 GPUs" in text


def test_feeding_the_cluster() -> None:
    text = prose()
    rate = lesson.tokens_per_second(405e9, 16384, 0.41)
    assert f"about {rate / 1e6:.1f}M tokens a second, {rate / 16384:.0f} per GPU" in text
    assert lesson.bits_per_token_id(50257) == 16
    assert "50,257 ids fit in 16 bits" in text
    assert lesson.bits_per_token_id(128000) == 17
    assert "128,000 needs 17" in text
    megabytes = 4 * rate / 1e6  # 4-byte ids
    assert round(megabytes) == 11
    assert "as 4-byte ids: 11 MB/s" in printed("main")
    assert "about 11 MB a second" in text


def test_the_peak_rate_against_pytorchs_default() -> None:
    default = inspect.signature(torch.optim.AdamW).parameters["lr"].default
    assert default == 1e-3
    assert "PyTorch's default for AdamW, $10^{-3}$" in prose()
    beta2 = inspect.signature(torch.optim.Adam).parameters["betas"].default[1]
    assert beta2 == 0.999
    assert "instead of PyTorch's default 0.999" in prose()


def test_averaging_steps_of_beta2() -> None:
    text = prose()
    assert round(lesson.averaging_steps(0.999)) == 1000
    assert round(lesson.averaging_steps(0.95)) == 20
    assert "With 0.999, $\\sqrt{v_t}$ averages about 1,000 steps" in text
    assert "with 0.95, about 20," in text


def test_layout_of_sixteen_thousand_gpus() -> None:
    text = prose()
    output = printed("main")
    # Table 4 of the Llama 3 paper: tensor, context, pipeline, data
    assert lesson.LLAMA3_LAYOUTS == {
        "row 1": (8, 1, 16, 64),
        "row 2": (8, 1, 16, 128),
        "row 3": (8, 16, 16, 8),
    }
    assert "row 1: 8 x 1 x 16 x 64 = 8,192 GPUs, 1,024 servers" in output
    assert "row 2: 8 x 1 x 16 x 128 = 16,384 GPUs, 2,048 servers" in output
    assert "row 3: 8 x 16 x 16 x 8 = 16,384 GPUs, 2,048 servers" in output
    assert "$8 \\times 16 \\times 128 = 16{,}384$ GPUs in 2,048 servers" in text
    assert "there happen to be 128 copies too" in text
    assert "its context groups of 16 span servers" in text
    per_gpu = 405e9 / (8 * 16)
    assert f"Each GPU holds {per_gpu / 1e9:.2f}B parameters" in text
    stage0 = lesson.gb_per_gpu(405e9, 8, 16, 128, 0)
    stage1 = lesson.gb_per_gpu(405e9, 8, 16, 128, 1)
    assert f"come to {stage0:.1f} GB per GPU" in text
    assert f"to {stage1:.1f} GB, and the rest" in text
    whole = training_bytes(405e9, "mixed Adam") / 1e9
    assert math.isclose(whole / 128, stage0)
    assert f"lesson 3.5's {whole:,.0f} GB for the 405B model" in text
    assert f"mixed Adam, whole model: {whole:,.0f} GB" in output


def test_exercise_2_rounding() -> None:
    text = page()
    fp16_sum = lesson.running_sum(0.0, 0.01, 10_000, "e")
    fp32_sum = lesson.running_sum(0.0, 0.01, 10_000, "f")
    assert fp16_sum == 32
    assert "the sum stops at 32 instead of 100" in text
    assert f"{fp32_sum:.4g}" == "100"
    assert "FP32, with 13 more mantissa bits, reaches 100" in text
    assert 32 * 2**-10 == 0.03125
    assert "$32 \\times 2^{-10} = 0.03125$" in text
    assert lesson.running_sum(1.0, 1e-4, 1000, "e") == 1.0
    fp32_weight = lesson.running_sum(1.0, 1e-4, 1000, "f")
    assert f"{fp32_weight:.4g}" == "1.1"
    assert "reaches 1.1" in text
    assert "leave the weight at 1," in text


def test_exercise_3_all_reduce() -> None:
    text = page()
    output = printed("ex3")
    assert "gradients 14 GB" in output
    assert "The gradients are 14 GB" in text
    backward = lesson.backward_seconds(7e9, 4 * 4096, 0.4)
    assert f"the backward pass takes {backward:.2f} s" in text
    for bandwidth, phrase in [
        (450e9, "Over NVLink the all-reduce takes {:.2f} s"),
        (50e9, "At 50 GB/s it takes {:.2f} s"),
        (12.5e9, "At 12.5 GB/s it takes {:.2f} s"),
    ]:
        seconds = ring_allreduce_seconds(14e9, 64, bandwidth)
        assert phrase.format(seconds) in text
    slow = ring_allreduce_seconds(14e9, 64, 12.5e9)
    assert 1.8 < slow / backward < 2
    assert "nearly twice the backward pass" in text
    assert 0.9 < slow - backward < 1.2
    assert "every step waits about a second for the network" in text
    factors = [f"{2 * (n - 1) / n:.3f}" for n in (8, 64, 1024)]
    assert f"{factors[0]} for 8 GPUs, {factors[1]} for 64, {factors[2]} for 1,024" in text


def test_exercise_4_memory() -> None:
    text = page()
    output = printed("ex4")
    assert "10 B x 175e9 = 1,750 GB = 21.88 GPUs of 80 GB -> 22" in output
    assert "16 B x 175e9 = 2,800 GB = 35.00 GPUs of 80 GB -> 35" in output
    assert "the difference: 6 B x 175e9 = 1,050 GB" in output
    assert "$175 \\times 10^9 \\times 10$ B $= 1{,}750$ GB, 21.88 GPUs' worth, so 22" in text
    assert "All four: 16 B a parameter, 2,800 GB, 35 GPUs" in text
    assert "The difference, 6 B a parameter or 1,050 GB" in text
    assert sum(lesson.BYTES.values()) == sum(BYTES_PER_PARAMETER["mixed Adam"]) == 16
    _, grads, state = BYTES_PER_PARAMETER["mixed Adam"]
    left_out = state - lesson.BYTES["FP32 Adam moments"]
    assert (grads, left_out, state) == (2, 4, 12)
    assert "leaves out its 2 bytes of gradients and 4 of its 12 bytes of state" in text
    assert math.isclose(training_bytes(175e9, "mixed Adam"), 2800e9)


def test_questions_state_what_the_lesson_computed() -> None:
    questions = page()[page().index("## Check yourself") :]
    assert f"Gopher about {ratio('Gopher'):.1f}" in questions
    assert f"Llama 3 405B saw {ratio('Llama 3 405B'):.1f}" in questions
    assert "1,000 updates of 0.0001 left an FP16 weight at 1" in questions
    assert "$8 \\times 16 \\times 128 = 16{,}384$" in questions


def test_the_snippet_runs_alone() -> None:
    output = printed("main")
    assert "all four agree with lesson 3.5's mixed Adam: True" in output
    assert "GPT-3        N 175B D  0.30T D/N   1.7 C 3.15e+23" in output


def test_pairs_of_a_billion_documents() -> None:
    pairs = math.comb(10**9, 2)
    assert f"{pairs:.0e}" == "5e+17"
    assert "$10^9 (10^9 - 1) / 2 \\approx 5 \\times 10^{17}$ of them for a billion" in prose()
