"""Lesson 2.2: every number and claim the page states is what the snippets compute."""

import contextlib
import io
from pathlib import Path

import forward_and_backward_passes as lesson
import forward_and_backward_passes_exercises as exercises
import torch
import torch.nn.functional as F
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "forward-and-backward-passes.md"
LR, NUM_EPOCHS = 0.5, 200  # as in the lesson's dead-unit and frozen-layer runs

# How the page writes each named number in LaTeX, and its gradient.
SYMBOL = {
    "L": "L",
    "y_hat": r"\hat{y}",
    "c": "c",
    **{f"{letter}_{j}": f"{letter}_{j}" for letter in "xzhbv" for j in "12"},
    **{f"w_{k}{j}": f"w_{{{k}{j}}}" for k in "12" for j in "12"},
}


def bar(name: str) -> str:
    r"""$\bar{h}_1$, $\bar{w}_{11}$, $\bar{\hat{y}}$: the page's gradient symbols."""
    symbol = SYMBOL[name]
    if "_" in symbol:
        letter, index = symbol.split("_", 1)
        return rf"\bar{{{letter}}}_{index}"
    return rf"\bar{{{symbol}}}"


def page() -> str:
    """The lesson's Markdown with every run of whitespace made one space (line breaks vary)."""
    return " ".join(LESSON.read_text(encoding="utf-8").split())


def table_rows() -> dict[str, list[str]]:
    """Every table row of the page, keyed by its first cell, as a list of its cells."""
    rows = {}
    for line in LESSON.read_text(encoding="utf-8").split("\n"):
        if line.startswith("| $"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


def number(x: float) -> str:
    """A factor as the tables write it: negative numbers in parentheses."""
    return f"{x:g}" if x >= 0 else f"({x:g})"


def test_parameters_row_states_the_example() -> None:
    text = page()
    for name, value in lesson.EXAMPLE.items():
        symbol = "y" if name == "y" else SYMBOL[name]
        assert f"${symbol} = {value:g}$" in text, name
    assert len(lesson.PARAMETERS) == 9
    assert "That makes nine parameters" in text


def test_forward_table() -> None:
    p = lesson.EXAMPLE
    v = lesson.forward_by_hand(p)
    rows = table_rows()
    expected = {
        "z_1": f"{number(p['w_11'])} \\cdot {number(p['x_1'])} + "
        f"{number(p['w_21'])} \\cdot {number(p['x_2'])} + {number(p['b_1'])}$",
        "z_2": f"{number(p['w_12'])} \\cdot {number(p['x_1'])} + "
        f"{number(p['w_22'])} \\cdot {number(p['x_2'])} + {number(p['b_2'])}$",
        "h_1": f"\\max(0, {v['z_1']:g})$",
        "h_2": f"\\max(0, {v['z_2']:g})$",
        "y_hat": f"{number(p['v_1'])} \\cdot {v['h_1']:g} + "
        f"{number(p['v_2'])} \\cdot {v['h_2']:g} + {number(p['c'])}$",
        "L": f"({v['y_hat']:g} - {p['y']:g})^2$",
    }
    for name, formula in expected.items():
        cells = rows[f"${SYMBOL[name]}$"]
        assert cells[1].endswith("= " + formula), (name, cells)
        assert cells[2] == f"{v[name]:g}", name
    assert v["z_1"] > 0
    assert v["z_2"] > 0
    assert v["y_hat"] - p["y"] == 1.5
    text = page()
    assert "Both hidden units are on" in text
    assert f"the prediction, {v['y_hat']:g}, is too high by 1.5" in text


def test_backward_table_and_paths() -> None:
    v = lesson.forward_by_hand(lesson.EXAMPLE)
    grads = lesson.backward_by_hand(v)
    local = lesson.local_derivatives(v)
    rows = table_rows()
    assert rows[f"${bar('L')}$"][2:] == ["$1$", "1"]
    for name, value in grads.items():
        if name == "L":
            continue
        cells = rows[f"${bar(name)}$"]
        arrows = [(child, d) for (child, parent), d in local.items() if parent == name]
        product = " + ".join(f"{number(grads[child])} \\cdot {number(d)}" for child, d in arrows)
        assert cells[2] == f"${product}$", name
        assert cells[3] == f"{value:g}", name
        for _, d in arrows:  # each local derivative's value, as its cell states it
            assert f"= {d:g}$" in cells[1] or f"= {d:g}$ (unit on)" in cells[1], name
    text = page()
    assert f"$\\bar{{x}}_1 = {grads['x_1']:g}$ and $\\bar{{x}}_2 = {grads['x_2']:g}$" in text
    through_1 = grads["z_1"] * v["w_11"]
    through_2 = grads["z_2"] * v["w_12"]
    assert f"{through_1:g} through unit 1, ${through_2:g}$ through unit 2" in text
    assert f"$\\bar{{\\hat{{y}}}} = {grads['y_hat']:g}$ is positive" in text
    # the signs the prose reads off
    assert all(grads[n] > 0 for n in ("w_11", "w_21", "b_1"))
    assert all(grads[n] < 0 for n in ("w_12", "w_22", "b_2"))


def test_autograd_agrees_with_every_local_derivative_and_gradient() -> None:
    v = lesson.forward_by_hand(lesson.EXAMPLE)
    X, y, W1, b1, W2, b2 = lesson.example_tensors(lesson.EXAMPLE)
    z, h, y_hat = lesson.forward(X, W1, b1, W2, b2)
    loss = lesson.mse(y_hat, y)
    tensors = {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
    tensors |= {"z": z, "h": h, "y_hat": y_hat, "loss": loss}
    for name in ("z_1", "z_2", "h_1", "h_2", "y_hat", "L"):
        assert lesson.entry(tensors, name).item() == v[name]
    local = lesson.local_derivatives(v)
    assert len(local) == 18
    for (child, parent), d in local.items():
        tensor, index = lesson.WHERE[parent]
        (full,) = torch.autograd.grad(
            lesson.entry(tensors, child), tensors[tensor], retain_graph=True
        )
        assert full[index].item() == d, (child, parent)
    for t in (z, h, y_hat, loss):
        t.retain_grad()
    loss.backward()
    grads = lesson.backward_by_hand(v)
    for name, value in grads.items():
        assert lesson.grad_entry(tensors, name) == value, name
    text = page()
    assert "All 18 agree exactly: the largest difference is 0" in text
    assert "lists all 18 arrows of the graph" in text
    assert "matches autograd with a largest difference of 0" in text


def test_retained_grad_collects_autograd_grad_too() -> None:
    """Why the lesson calls retain_grad() only after its torch.autograd.grad checks."""
    X, y, W1, b1, W2, b2 = lesson.example_tensors(lesson.EXAMPLE)
    _, _, y_hat = lesson.forward(X, W1, b1, W2, b2)
    loss = lesson.mse(y_hat, y)
    loss.retain_grad()
    torch.autograd.grad(loss, y_hat, retain_graph=True)
    loss.backward()
    assert loss.grad is not None
    assert loss.grad.item() == 2.0  # 1 from each pass
    assert W1.grad is not None  # while torch.autograd.grad added nothing to the leaves
    assert W1.grad[0, 0].item() == 18.0


def test_recorded_graph() -> None:
    X, y, W1, b1, W2, b2 = lesson.example_tensors(lesson.EXAMPLE)
    _, _, y_hat = lesson.forward(X, W1, b1, W2, b2)
    loss = lesson.mse(y_hat, y)
    names = {id(t): n for n, t in {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}.items()}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lesson.print_graph(loss.grad_fn, names)
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert lines == [
        "MeanBackward0",
        "PowBackward0",
        "SubBackward0",
        "AddBackward0",
        "MmBackward0",
        "ReluBackward0",
        "AddBackward0",
        "MmBackward0",
        "AccumulateGrad (X)",
        "AccumulateGrad (W1)",
        "AccumulateGrad (b1)",
        "AccumulateGrad (W2)",
        "AccumulateGrad (b2)",
    ]
    assert "`MmBackward0` for `X @ W1`, `AddBackward0` for `+ b1`, `ReluBackward0`" in page()


def test_forward_mode_gives_the_same_gradients() -> None:
    v = lesson.forward_by_hand(lesson.EXAMPLE)
    grads = lesson.backward_by_hand(v)
    for name in lesson.PARAMETERS:
        assert lesson.forward_mode_by_hand(v, name) == grads[name]
    text = page()
    assert (
        f"forward mode needed {len(lesson.PARAMETERS)} passes where reverse mode needed 1" in text
    )


def flop_ratios(num_hidden: int) -> tuple[dict[str, int], float, list[float]]:
    X, y, params = lesson.wide_network(num_hidden=num_hidden, num_examples=200)
    flops, difference = lesson.count_flops(X, y, params)
    forward = flops["forward pass"]
    return flops, difference, [count / forward for count in flops.values()]


def test_flop_counts() -> None:
    flops, difference, ratios = flop_ratios(16)
    assert sum(p.numel() for p in lesson.wide_network(16, 200)[2]) == 65
    assert list(flops) == ["forward pass", "backward pass", "forward mode (65 passes)"]
    forward, backward, forward_mode = flops.values()
    # one matrix product forward per layer; backward: one per weight matrix and one for h
    assert forward == 2 * 200 * 2 * 16 + 2 * 200 * 16 * 1
    assert difference < 1e-13
    text = page()
    assert f"The forward pass does {forward:,} FLOPs, the backward pass {backward:,}" in text
    assert f"only {ratios[1]:.2f} times as many" in text
    assert f"Forward mode does {forward_mode:,} FLOPs, {ratios[2]:.2f} times the" in text
    assert "each of its 65 passes" in text
    assert "agree to better than $10^{-13}$" in text
    assert f"in our count it did {ratios[1]:.2f} times" in text
    assert f"did {ratios[2]:.2f} times" in text
    # "Double the hidden units and the backward pass still costs 1.33 forward passes, while
    # forward mode's bill doubles again."
    _, _, doubled = flop_ratios(32)
    assert f"{doubled[1]:.2f}" == f"{ratios[1]:.2f}"
    assert 1.9 < doubled[2] / ratios[2] < 2.1
    assert f"still costs {ratios[1]:.2f} forward passes" in text


def moons_network() -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The dead-unit demonstration's data and network, unit 3 killed."""
    seed_everything(0)
    X, y = make_moons(200, get_device())
    params = lesson.init_network(num_hidden=4, device=get_device())
    with torch.no_grad():
        params[1][2] = -4.0
    return X, y, params


def test_a_dead_unit_gets_exactly_zero() -> None:
    X, y, params = moons_network()
    W1, b1, W2, b2 = params
    z, h, logits = lesson.forward(X, W1, b1, W2, b2)
    z.retain_grad()
    h.retain_grad()
    F.binary_cross_entropy_with_logits(logits, y).backward()
    on = (z > 0).sum(dim=0).tolist()
    assert on[2] == 0
    assert all(count > 0 for j, count in enumerate(on) if j != 2)
    for grad in (lesson.grad_of(z)[:, 2], lesson.grad_of(W1)[:, 2], lesson.grad_of(b1)[2]):
        assert (grad == 0).all()
    assert (lesson.grad_of(W2)[2] == 0).all()
    assert (lesson.grad_of(h)[:, 2] != 0).all()  # the gradient reaches h_3
    for j in (0, 1, 3):  # the live units get gradients
        assert (lesson.grad_of(W1)[:, j] != 0).all()
        assert lesson.grad_of(b1)[j] != 0
        assert lesson.grad_of(W2)[j] != 0
    text = page()
    assert "Unit 3 is on for 0 of the 200 points" in text
    assert "unit 3 on purpose by setting its bias to $-4$" in text
    # the test's network is the snippet's: the same bias, the same seed, 200 points
    snippet = (ROOT / "snippets" / "forward_and_backward_passes.py").read_text(encoding="utf-8")
    assert "b1[2] = -4.0" in snippet
    assert "X, y = make_moons(200, device)" in snippet


def test_a_dead_unit_never_moves_under_plain_sgd() -> None:
    X, y, params = moons_network()
    before = [p.detach().clone() for p in params]
    losses = lesson.train(X, y, params, LR, NUM_EPOCHS)
    assert losses[-1] < losses[0]
    W1, b1, W2, _ = params
    assert torch.equal(W1[:, 2], before[0][:, 2])
    assert torch.equal(b1[2], before[1][2])
    assert torch.equal(W2[2], before[2][2])
    for j in (0, 1, 3):
        assert not torch.equal(W1[:, j], before[0][:, j])
        assert not torch.equal(b1[j], before[1][j])
        assert not torch.equal(W2[j], before[2][j])
    with torch.no_grad():
        z = lesson.forward(X, *params)[0]
    assert (z[:, 2] <= 0).all()
    assert "it is still on for 0 of 200 points" in page()
    assert "We train for 200 full-batch steps of plain SGD" in page()


def test_a_frozen_layer_gets_no_gradient() -> None:
    X, y, _ = moons_network()
    params = lesson.init_network(num_hidden=4, device=get_device())
    W1, b1, W2, b2 = params
    W1.requires_grad_(False)
    b1.requires_grad_(False)
    before = [p.detach().clone() for p in params]
    losses = lesson.train(X, y, params, LR, NUM_EPOCHS)
    assert losses[-1] < losses[0]
    assert W1.grad is None
    assert b1.grad is None
    assert torch.equal(W1, before[0])
    assert torch.equal(b1, before[1])
    assert not torch.equal(W2, before[2])
    assert not torch.equal(b2, before[3])
    z, h, logits = lesson.forward(X, W1, b1, W2, b2)
    assert z.grad_fn is None
    assert h.grad_fn is None
    assert logits.grad_fn is not None
    assert logits.grad_fn.name() == "AddBackward0"
    assert "the graph starts at the second layer's `AddBackward0`" in page()


def test_exercise_1_sigmoid() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        by_hand, by_autograd = exercises.sigmoid_gradient_w_11(lesson.EXAMPLE)
    assert abs(by_hand - by_autograd) < 1e-15
    p = lesson.EXAMPLE
    z_1 = lesson.forward_by_hand(p)["z_1"]
    slope = exercises.sigmoid(z_1) * (1 - exercises.sigmoid(z_1))
    h = [exercises.sigmoid(lesson.forward_by_hand(p)[f"z_{j}"]) for j in (1, 2)]
    y_hat = p["v_1"] * h[0] + p["v_2"] * h[1] + p["c"]
    grad_y_hat = 2 * (y_hat - p["y"])
    relu = lesson.backward_by_hand(lesson.forward_by_hand(p))["w_11"]
    text = page()
    assert f"The path product gives ${by_hand:.6f}$" in text
    assert f"$\\bar{{\\hat{{y}}}} = {grad_y_hat:.6f}$ has the opposite sign" in text
    assert f"the sigmoid's slope, {slope:.6f} at $z_1 = {z_1:g}$" in text
    assert "almost a hundredfold" in text
    assert 80 < relu / abs(by_hand) < 100
    assert abs(abs(grad_y_hat) - 3) < 0.1  # "close to the ReLU network's 3"
    assert f"compare it with the ReLU network's {relu:g}" in text


def test_exercise_2_cross_entropy() -> None:
    squared = lesson.backward_by_hand(lesson.forward_by_hand(lesson.EXAMPLE))
    text = page()
    for label in (0.0, 1.0):
        by_formula, by_autograd, grads = exercises.cross_entropy_gradients(lesson.EXAMPLE, label)
        assert abs(by_formula - by_autograd) < 1e-15
        ratios = [grads[n] / squared[n] for n in lesson.PARAMETERS]
        assert max(ratios) - min(ratios) < 1e-12  # one and the same factor
        assert abs(ratios[0] - by_formula / squared["y_hat"]) < 1e-12
        if label == 0.0:
            assert (
                f"With label 0, $\\bar{{\\hat{{y}}}} = \\sigma(3) - 0 = {by_formula:.4f}$" in text
            )
            assert f"{ratios[0]:.4f} ($= {by_formula:.4f} / 3$) for label 0" in text
        else:
            assert f"with label 1, ${by_formula:.4f}$" in text
            assert f"and ${ratios[0]:.4f}$ for label 1" in text
    assert "0.3175 ($= 0.9526 / 3$) for label 0 and $-0.0158$ for label 1" in text


def test_exercise_3_freeze_the_second_layer() -> None:
    trainable = exercises.first_layer_gradients(lesson.EXAMPLE, freeze_second=False)
    frozen = exercises.first_layer_gradients(lesson.EXAMPLE, freeze_second=True)
    assert frozen["W2"] is None
    assert frozen["b2"] is None
    for name in ("W1", "b1"):
        before, after = trainable[name], frozen[name]
        assert before is not None
        assert after is not None
        assert torch.equal(before, after)
    W1_grad = frozen["W1"]
    assert W1_grad is not None
    shown = ", ".join(f"{g:g}" for g in W1_grad.flatten().tolist())
    text = page()
    assert f"({shown} for `W1`)" in text
    assert shown == "18, -9, 12, -6"


def test_where_matches_the_tensor_layout() -> None:
    """W1[k-1, j-1] is w_kj: column j holds the weights into hidden unit j."""
    X, y, W1, b1, W2, b2 = lesson.example_tensors(lesson.EXAMPLE)
    assert W1.tolist() == [[2.0, 0.5], [-0.5, 2.0]]
    assert W1[0, 1].item() == lesson.EXAMPLE["w_12"]
    assert W1[1, 0].item() == lesson.EXAMPLE["w_21"]
    assert W2[1, 0].item() == lesson.EXAMPLE["v_2"]
    assert b1.tolist() == [lesson.EXAMPLE["b_1"], lesson.EXAMPLE["b_2"]]
    assert b2.item() == lesson.EXAMPLE["c"]
    assert y.item() == lesson.EXAMPLE["y"]
    for t in (X, W1, b1, W2, b2):
        assert t.dtype == torch.float64
        assert t.device.type == "cpu"
        assert t.requires_grad
    assert "`W1[0, 1]` is $w_{12}$" in page()
