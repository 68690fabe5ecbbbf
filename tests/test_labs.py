"""Each module's lab (docs/module-N/lab.py): a notebook in percent format, in the navigation,
that also runs as a plain script and then prints what the build's kernel printed."""

import os
import re
import subprocess
import sys
from pathlib import Path

import course
import jupytext
import pytest
from course import printed
from course import printed_number as number


def label(path: Path) -> str:
    return path.relative_to(course.DOCS).as_posix()


@pytest.mark.parametrize("path", course.labs(), ids=label)
def test_lab_is_a_notebook_in_the_navigation(path: Path) -> None:
    notebook = jupytext.read(path)
    module = path.parent.name
    number = module.removeprefix("module-")
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# Module {number} lab: ")
    assert (f"Module {number} lab", f"{module}/lab.ipynb") in course.nav_pages()
    assert course.outcome(path).failure is None, course.outcome(path).failure


@pytest.mark.parametrize("path", course.labs(), ids=label)
def test_lab_carries_the_lessons_helpers_word_for_word(path: Path) -> None:
    """A lab runs alone (Colab has no snippets/), so it copies the one helpers block as a cell;
    the copy must stay the block, so that there is still one device, seed and log-axis helper."""
    helpers = (course.SNIPPETS / "helpers.py").read_text(encoding="utf-8")
    block = helpers.split("# --8<-- [start:helpers]\n")[1].split("# --8<-- [end:helpers]")[0]
    cells = [cell.source for cell in jupytext.read(path).cells if cell.cell_type == "code"]
    assert block.strip("\n") in cells


@pytest.mark.slow
@pytest.mark.parametrize("path", course.labs(), ids=label)
def test_lab_runs_as_a_script(path: Path, tmp_path: Path) -> None:
    """From an empty folder, with no display: what a reader who copies the file gets."""
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    built = "".join(result.output for result in course.outcome(path).results if result)
    assert done.stdout == built


def test_module_1_lab_states_what_it_printed() -> None:
    """Every number the Module 1 lab's prose states, against the build's output."""
    out = printed(course.DOCS / "module-1" / "lab.py")
    best = number(r"lowest possible loss, degree 3: ([\d.]+)", out)
    assert best == 0.2309  # "0.2309", "close to 0.25", "about half the parabola's"
    assert 1.8 < number(r"lowest possible loss, degree 2: ([\d.]+)", out) / best < 2.2
    for rate in ("1e-02", "1e-06", "1e-10"):  # "every learning rate you try fails"
        assert re.search(rf"lr {rate}: .* after 100 epochs nan", out)
    assert number(r"lr 1e-12: .* after 100 epochs ([\d.]+)", out) < 83.29
    limit = number(r"raw powers .*2/lambda_max ([\d.e+-]+)", out)
    assert 1e-12 < limit < 1e-10  # "of step 1's rates only 1e-12 lies below it"
    assert 1.5e6 < number(r"speeds [\d.]+ to ([\d.]+) km/h", out) ** 3 < 2.5e6  # "2 million"
    kappa_raw = number(r"raw powers .*kappa ([\d.e+]+)", out)
    assert kappa_raw > 1e12  # "far above 10^12"
    assert 10**-14.5 < 1 / kappa_raw < 10**-13.5  # "about 10^-14 of the distance"
    raw = re.search(r"raw powers +(r\(x, x\^2\).*)", out)
    standardized = re.search(r"standardized powers +(r\(x, x\^2\).*)", out)
    assert raw
    assert standardized
    assert raw[1] == standardized[1]  # "exactly as they were"
    assert min(float(r) for r in re.findall(r"\) ([\d.]+)", raw[1])) > 0.94  # "above 0.94"
    assert 7500 < number(r"standardized powers .*kappa ([\d.e+]+)", out) < 8500  # "8,000"
    assert number(r"r\(z, z\^2\) ([\d.]+)", out) == 0.013
    assert number(r"r\(z, z\^3\) ([\d.]+)", out) == 0.911
    assert 21 < number(r"centered powers .*kappa ([\d.e+]+)", out) < 23  # "about 22"
    assert number(r"centered powers .*epoch 100: ([\d.]+)", out) == best  # "within 100 epochs"
    full_1 = number(r"epoch  1  full batch ([\d.]+)", out)  # mini-batches "win early"
    assert number(r"epoch  1 .*mini-batches of 10 ([\d.]+)", out) < full_1
    # "about 10^-9": 1.5e-09 here, 1.4e-09 when CUDA prepared the data (rounding differs)
    assert 5e-10 < number(r"autograd vs central differences .*error ([\d.e-]+)", out) < 5e-9
    speeds = [float(s) for s in re.findall(r"lowest [\d.]+ L/100 km at ([\d.]+) km/h", out)]
    assert len(speeds) == 3
    assert max(speeds) - min(speeds) <= 1.2  # "within about a km/h of each other"


def test_module_2_lab_states_what_it_printed() -> None:
    """Every number and comparison the Module 2 lab's prose states, against the build's output.
    Training is chaotic (float32 sums in another order on a GPU, the GPU's own dropout masks), so
    what depends on it is stated rounded or as a comparison, tested with margins that held across
    training seeds 0 to 6; the data, the split and the counts of flipped labels are the same on
    every device."""
    out = printed(course.DOCS / "module-2" / "lab.py")
    assert "X: (1650, 2), y: (1650, 1)" in out
    total = number(r"labels flipped: (\d+)", out)
    assert 0.09 < total / 1650 < 0.11  # "1 label in 10", "a ceiling of about 90%"
    assert number(r"training: +150 points, +(\d+) flipped", out) == 10  # "10 wrong labels"
    assert number(r"validation: +500 points, +(\d+) flipped", out) == 45  # "45 of the 500, 9.0%"
    assert number(r"test: +1000 points, +(\d+) flipped", out) == 112  # "112 of the 1000, 11.2%"
    assert number(r"(\d+) batches per epoch", out) == 6  # "6 batches an epoch, 2400 steps"
    assert re.search(r"batch 1: X \(25, 2\), y \(25, 1\)", out)
    assert number(r"parameters: (\d+)", out) == 17025  # "17,025"
    # the printouts the prose discusses fit a phone: 40 characters a line
    assert max(len(line) for line in out.split("no regularization\n")[1].splitlines()) <= 40

    names = {"none": "no regularization", "decay": "weight decay 0.003", "dropout": "dropout 0.5"}

    def final(run: str) -> float:
        """A run's training loss after its last epoch, as it printed while training."""
        return number(r"epoch 400\n +train loss ([\d.]+)", out.split(f"{names[run]}\n")[1])

    def summary(run: str, pattern: str) -> float:
        """A number from a run's six summary lines, printed after all three runs."""
        found = re.search(rf"^{re.escape(names[run])}:\n((?:  .*\n){{6}})", out, re.MULTILINE)
        assert found, f"no summary for {names[run]}"
        return number(pattern, found[1])

    runs = list(names)
    # the training loss "ends the lowest of the three, about 0.1"; "both cures end higher"
    assert 0.07 < final("none") < 0.12
    assert final("none") < min(final("decay"), final("dropout"))
    learned = {run: summary(run, r"wrong labels learned: (\d+) of 10") for run in runs}
    assert learned["none"] >= 5  # "half or more of the 10 wrong training labels"
    assert learned["none"] > max(learned["decay"], learned["dropout"])  # "more than either cure"
    lowest = {run: summary(run, r"val loss, lowest: ([\d.]+)") for run in runs}
    average = {run: summary(run, r"val loss, last 50 epochs: ([\d.]+)") for run in runs}
    assert summary("none", r"\(epoch (\d+)\)") <= 100  # "lowest within the first 100 epochs"
    assert 1.6 < average["none"] / lowest["none"] <= 2.0  # "nearly twice that"
    assert average["decay"] < min(average["none"], average["dropout"])  # "keeps the lowest"
    # dropout's validation loss "still climbs, less than without regularization"
    assert 0 < average["dropout"] - lowest["dropout"] < average["none"] - lowest["none"]
    accuracy = {run: summary(run, r"val accuracy, last 50 epochs: ([\d.]+)%") for run in runs}
    best = {run: summary(run, r"val accuracy, best 50 epochs: ([\d.]+)%") for run in runs}
    overconfidence = {run: summary(run, r"confidence: ([\d.]+)%") - accuracy[run] for run in runs}
    assert 7.5 < overconfidence["none"] < 11.5  # "roughly 10 points above its accuracy"
    assert abs(overconfidence["decay"]) < 3.5  # "within a few points of its accuracy"
    assert 0 < overconfidence["dropout"] < overconfidence["none"]  # "it too ..., only less so"
    # "uncertain by about 1.5 points": the standard error of an accuracy on 500 points
    assert 85 < accuracy["dropout"] < 89.5  # "at about 87%"
    share = accuracy["dropout"] / 100
    standard_error = 100 * (share * (1 - share) / 500) ** 0.5
    assert 1.3 < standard_error < 1.7
    # weight decay's accuracy is "close to no regularization's, closer than the 1.5 points"
    assert abs(accuracy["decay"] - accuracy["none"]) < 1.5
    assert accuracy["dropout"] > max(accuracy["none"], accuracy["decay"])  # "the highest"
    assert "chosen: dropout 0.5" in out
    # no regularization's best 50 epochs came "well before the end", and scored "about as well
    # as dropout's last 50, or better"
    assert best["none"] > accuracy["none"] + 1.5
    assert best["none"] > accuracy["dropout"] - 1
    test_accuracy = number(r"1000 test points:\n  loss [\d.]+, accuracy ([\d.]+)%", out)
    assert 83 <= test_accuracy <= 87.5  # "about 85%"
    assert test_accuracy < accuracy["dropout"]  # "below the validation average"
    missed = number(r"labels missed: (\d+)", out)
    assert number(r"of them wrong labels: (\d+)", out) > missed / 2  # "most of the labels"
    arm_val = number(r"true arm predicted:\n  validation points: ([\d.]+)%", out)
    arm_test = number(r"\n  test points: ([\d.]+)%", out)
    assert arm_test > 90  # "more than 9 in 10 of them"
    assert abs(arm_val - arm_test) < 1.6  # "within about a point of its score on validation"
