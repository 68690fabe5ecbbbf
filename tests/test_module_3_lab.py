"""Every number and comparison the Module 3 lab's prose states, against the build's output.

The text, the vocabulary, the split and the baselines are the same on every device (and change a
little with the Python version, whose help pages they are). Training is float32 arithmetic whose
last digits depend on the order of its sums, so what depends on it is stated rounded or as a
comparison, and tested with margins; the sample is described only where the build ran on the CPU.
"""

import itertools
import math
import re
from pydoc_data.topics import topics

import course
from course import printed_number as number

LAB = course.DOCS / "module-3" / "lab.py"


def printed() -> str:
    return course.printed(LAB)


def prose() -> str:
    """The lab's markdown, with the comment marks and line breaks taken out."""
    lines = LAB.read_text(encoding="utf-8").splitlines()
    text = " ".join(line.removeprefix("#").strip() for line in lines if line.startswith("#"))
    return re.sub(r"\s+", " ", text)


def test_text_and_baselines() -> None:
    out, text = printed(), prose()
    vocab_size = number(r"(\d+) distinct", out)
    assert vocab_size == 103  # "ln 103 = 4.635", "all 103"
    assert f"ln {vocab_size:.0f} = {math.log(vocab_size):.3f}" in text
    characters = number(r"(\d+) characters", out)
    held_out = number(r"held out: (\d+)", out)
    assert 0.099 < held_out / characters < 0.101  # "the last tenth"
    train = number(r"training: (\d+)", out)
    assert round(train, -3) == 419_000  # "about 419,000" windows and characters
    assert "419,000" in text
    assert "held out: the end of 'typesmapping', then typesmethods" in out
    assert re.search(r"then typesmethods, .*while.*, yield\n", out)  # "`while` among them"
    assert "eight topics after it, from `typesmethods` to `yield`" in text
    uniform = number(r"uniform guess: ([\d.]+)", out)
    unigram = number(r"unigram guess: ([\d.]+)", out)
    assert uniform == round(math.log(vocab_size), 3)
    assert round(uniform - unigram, 1) == 1.4  # "about 1.4 nats less per character"
    space = number(r"most common: ' ' ([\d.]+)%", out)
    assert round(100 / space) == 6  # "about one character in six"
    assert "about one character in six" in text


def test_model_and_optimizer() -> None:
    out, text = printed(), prose()
    parameters = number(r"parameters: (\d+)", out)
    assert parameters == 61143
    assert "61,143" in text
    assert 103 * 16 == 1648
    assert "$103 \\times 16 = 1648$" in text
    assert parameters == 1648 + (8 * 16 * 256 + 256) + (256 * 103 + 103)
    start = number(r"held-out loss at the start: ([\d.]+)", out)
    assert abs(start - math.log(103)) < 0.15  # "close to the uniform guess's"
    assert "initial_lr: 0.003" in out
    assert number(r"lr at step 0: ([\d.e+-]+)", out) == 0.01 * 0.003  # "1% of initial_lr"
    for default in ("betas: (0.9, 0.999)", "eps: 1e-08", "weight_decay: 0.01"):
        assert default in out


def test_training_and_log() -> None:
    out = printed()
    val = [float(v) for v in re.findall(r"step +\d+ +lr [\d.e+-]+ +held-out ([\d.]+)", out)]
    assert len(val) == 8  # every 250 of 2000 steps
    assert all(a > b for a, b in itertools.pairwise(val))  # "still falls" to the end
    assert "{'loss/val': 9, 'loss/train': 2000, 'grad_norm': 2000, 'lr': 2000}" in out
    change = number(r"median change per step: ([\d.]+)", out)
    assert 0.1 <= change < 0.2  # "changes by about a tenth or more"
    start = number(r"gradient norm: ([\d.]+) at step 1,", out)
    low = number(r"gradient norm: [\d.]+ at step 1, ([\d.]+) at step", out)
    low_step = number(r"gradient norm: [\d.]+ at step 1, [\d.]+ at step (\d+)", out)
    high = number(r"largest norm ([\d.]+)", out)
    assert low < start
    assert low_step <= 100
    assert high / low < 2  # "within a factor of two"
    first = number(r"median, first 500 steps: ([\d.]+)", out)
    last = number(r"last 500: ([\d.]+)", out)
    assert first < last  # "drifts slowly up"
    assert first < 1.4
    assert last < 1.4
    clipped = number(r"clipped: (\d+) of 2000 steps", out)
    assert round(100 * clipped / 2000) == 2  # "about 2% of the steps"
    quarters = [int(n) for n in re.findall(r"per 500 steps: ([\d, ]+)", out)[0].split(", ")]
    assert sum(quarters) == clipped
    assert quarters[0] < min(quarters[2:])  # few early, "most in the last 1000"
    assert sum(quarters[2:]) > clipped / 2
    shrink = number(r"shrunk by (\d+)%", out)
    assert shrink == round(100 * (1 - 1.4 / high))
    assert shrink < 10  # "by a few percent"
    text = prose()
    assert "dip during the warmup, to 0.84" in text
    assert "max_norm = 100, 2000, 1.4" in LAB.read_text()
    if out.startswith("training on: cpu"):  # the run's exact path; a GPU's differs a little
        assert low == 0.84
        assert quarters[0] == 1
        assert "first at step 3" in out
        assert "(step 3, during the warmup)" in text
        assert shrink == 7
        assert "(7% at most)" in text


def test_held_out_score() -> None:
    out = printed()
    unigram = number(r"unigram: +([\d.]+) nats", out)
    train = number(r"model, training text: +([\d.]+) nats", out)
    val = number(r"model, held-out text: +([\d.]+) nats", out)
    assert 0.01 < val - train < 0.1  # "only a few hundredths lower"
    assert round(math.exp(val)) == 5  # "as unsure as a choice among 5 characters"
    assert round(math.exp(unigram)) in (25, 26)  # "about 25"
    assert 1.55 < val < 1.7


def test_checkpoint_and_resume() -> None:
    out = printed()
    assert "after step 200: identical True" in out  # the resume continues bit for bit
    assert "saved at step 120" in out
    size = number(r"saved at step 120: ([\d.]+) MB", out)
    weights = 61143 * 4 / 1e6  # float32
    assert 2.8 < size / weights < 3.3  # "about three times the size of the weights"


def test_samples() -> None:
    out = printed()
    cool = out.split("temperature 0.5:\n")[1].split("temperature 1.0:\n")[0]
    hot = out.split("temperature 1.0:\n")[1]
    corpus = "\n".join(topics.values()).lower()
    vocabulary = set(re.findall(r"[a-z]+", corpus))  # the help pages' words

    def real(sample: str) -> float:
        words = re.findall(r"[a-z]+", sample.lower().split("used for", 1)[1])
        return sum(word in vocabulary for word in words) / len(words)

    assert real(cool) > real(hot)  # "mostly real words", then "more invented words"
    if out.startswith("training on: cpu"):
        assert real(cool) > 0.5
        for phrase in ("a string of the list", "built-in operator", "a class"):
            assert phrase in cool
            assert phrase in prose()
        for word in ("sunction", "surrent"):  # "near misses"
            assert word in cool
            assert word not in vocabulary


def test_prompt_reaches_the_model() -> None:
    """The prompt is held-out text; only "used for" reaches the model, a common phrase."""
    text = "\n".join(topics[name] for name in sorted(topics))
    page = topics["while"]
    prompt = 'The "while" statement is used for'
    assert page.split("\n")[3].startswith(prompt)  # the first sentence, after the title
    assert f"prompt = '{prompt}'" in LAB.read_text()
    assert prompt[-8:] == "used for"
    assert "`used for`" in prose()
    num_train = int(0.9 * len(text))
    assert text.index(page) > num_train  # held out
    assert text[:num_train].count("used for") >= 10  # "common in the training text"
