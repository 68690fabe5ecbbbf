"""Lesson 2.2: every number and claim the page states is what the snippets compute."""

import contextlib
import io
import re
from pathlib import Path

import forward_and_backward_passes as lesson
import forward_and_backward_passes_exercises as exercises
import pytest
import torch
import torch.nn.functional as F
from course import flat_text
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "docs" / "module-2" / "forward-and-backward-passes.md"
LR, NUM_EPOCHS = 0.5, 200  # as in the lesson's dead-unit and frozen-layer runs

# How the page writes each named number in LaTeX.
SYMBOL = {
    "L": "L",
    "y": "y",
    "y_hat": r"\hat{y}",
    "b2": "b_2",
    **{f"{letter}_{j}": f"{letter}_{j}" for letter in "xzhv" for j in "12"},
    **{f"b1_{j}": f"b_{{1,{j}}}" for j in "12"},
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
    return flat_text(LESSON)


def table_rows() -> dict[str, list[str]]:
    """Every table row of the page, keyed by its first cell, as a list of its cells."""
    rows = {}
    for line in LESSON.read_text(encoding="utf-8").split("\n"):
        if line.startswith("| "):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


def number(x: float) -> str:
    """A factor as the tables write it: negative numbers in parentheses."""
    return f"{x:g}" if x >= 0 else f"({x:g})"


def worked() -> tuple[dict[str, torch.Tensor], dict[str, float], dict[str, float]]:
    """The worked example's tensors, named values and hand-computed gradients."""
    tensors, values = lesson.worked_example()
    return tensors, values, lesson.backward_by_hand(values)


def test_parameter_table_states_the_example() -> None:
    _, values, _ = worked()
    rows = table_rows()
    groups = {
        "example": ["x_1", "x_2", "y"],
        "into unit 1": ["w_11", "w_21", "b1_1"],
        "into unit 2": ["w_12", "w_22", "b1_2"],
        "into the output": ["v_1", "v_2", "b2"],
    }
    for group, names in groups.items():
        expected = ", ".join(f"${SYMBOL[n]} = {values[n]:g}$" for n in names)
        assert rows[group][1] == expected, group
    in_groups = [name for names in list(groups.values())[1:] for name in names]
    assert sorted(in_groups) == sorted(lesson.PARAMETERS)
    assert len(lesson.PARAMETERS) == 9
    assert "Nine parameters in all" in page()


def test_forward_table() -> None:
    _, v, _ = worked()
    rows = table_rows()

    def terms(*pairs: tuple[str, str], bias: str) -> str:
        products = [f"${number(v[a])} \\cdot {number(v[b])}$" for a, b in pairs]
        return " + ".join([*products, f"${number(v[bias])}$"])

    expected = {
        "z_1": terms(("w_11", "x_1"), ("w_21", "x_2"), bias="b1_1"),
        "z_2": terms(("w_12", "x_1"), ("w_22", "x_2"), bias="b1_2"),
        "h_1": f"$\\max(0, {v['z_1']:g})$",
        "h_2": f"$\\max(0, {v['z_2']:g})$",
        "y_hat": terms(("v_1", "h_1"), ("v_2", "h_2"), bias="b2"),
        "L": f"$({v['y_hat']:g} - {v['y']:g})^2$",
    }
    for name, formula in expected.items():
        cells = rows[f"${SYMBOL[name]}$"]
        assert cells[1] == formula, (name, cells)
        assert cells[2] == f"{v[name]:g}", name
    assert v["z_1"] > 0
    assert v["z_2"] > 0
    assert v["y_hat"] - v["y"] == 1.5
    text = page()
    assert "Both hidden units are on" in text
    assert f"the prediction, {v['y_hat']:g}, is too high by 1.5" in text


def test_backward_table_and_signs() -> None:
    _, v, grads = worked()
    local = lesson.local_derivatives(v)
    rows = table_rows()
    assert rows[f"${bar('L')}$"][1:] == ["(start)", "$1$"]
    # the local derivative each arrow's cell names, by the symbol the table uses
    named = {SYMBOL[n]: v[n] for n in v if n in SYMBOL} | {"1": 1.0}
    named[r"2(\hat{y} - y)"] = 2 * (v["y_hat"] - v["y"])
    for name, value in grads.items():
        if name == "L":
            continue
        cells = rows[f"${bar(name)}$"]
        arrows = [(child, d) for (child, parent), d in local.items() if parent == name]
        products = [f"{number(grads[child])} \\cdot {number(d)}" for child, d in arrows]
        if len(products) == 1:
            assert cells[2] == f"${products[0]} = {value:g}$", name
        else:
            joined = " + ".join(f"${p}$" for p in products)
            assert cells[2] == f"{joined} $= {value:g}$", name
        symbols = re.findall(r"\$([^$]*)\$", cells[1])
        assert [named[s] for s in symbols] == [d for _, d in arrows], name
        if name in ("z_1", "z_2"):  # "(on)": the unit is on, so ReLU's slope is 1
            assert cells[1].endswith("(on)") == (v[name] > 0), name
    text = page()
    assert f"so $\\bar{{\\hat{{y}}}} = {grads['y_hat']:g}$ is positive" in text
    assert f"($v_1 = {v['v_1']:g}$)" in text
    assert f"($v_2 = {v['v_2']:g}$)" in text
    # the signs the prose reads off, and the reason it gives (positive inputs)
    assert v["x_1"] > 0
    assert v["x_2"] > 0
    assert all(grads[n] > 0 for n in ("w_11", "w_21", "b1_1"))
    assert all(grads[n] < 0 for n in ("w_12", "w_22", "b1_2"))
    assert "as the inputs are positive" in text


def test_every_number_is_a_short_binary_fraction() -> None:
    """'Every number in the example is a binary fraction such as 0.25': no rounding anywhere."""
    _, v, grads = worked()
    local = lesson.local_derivatives(v)
    for x in [*v.values(), *local.values(), *grads.values()]:
        assert (4 * x).is_integer(), x
    assert "binary fraction such as 0.25" in page()


def test_autograd_agrees_with_every_local_derivative_and_gradient() -> None:
    tensors, v, grads = worked()
    assert v["L"] == 2.25
    local = lesson.local_derivatives(v)
    assert len(local) == 18
    assert ("L", "y") not in local  # the one arrow left out
    for (child, parent), d in local.items():
        tensor, index = lesson.WHERE[parent]
        (full,) = torch.autograd.grad(
            lesson.entry(tensors, child), tensors[tensor], retain_graph=True
        )
        assert full[index].item() == d, (child, parent)
    for name in ("z", "h", "y_hat", "loss"):
        tensors[name].retain_grad()
    tensors["loss"].backward()
    for name, value in grads.items():
        assert lesson.grad_entry(tensors, name) == value, name
    text = page()
    assert "All 18 agree exactly: the largest difference is 0" in text
    assert "lists 18 arrows, all but $y \\to L$" in text
    assert "matches autograd, with a largest difference of 0" in text


def test_retained_grad_collects_autograd_grad_too() -> None:
    """Why the lesson calls retain_grad() only after its torch.autograd.grad checks."""
    tensors, _, _ = worked()
    loss = tensors["loss"]
    loss.retain_grad()
    torch.autograd.grad(loss, tensors["y_hat"], retain_graph=True)
    loss.backward()
    assert loss.grad is not None
    assert loss.grad.item() == 2.0  # 1 from each pass
    assert lesson.grad_of(tensors["W1"])[0, 0].item() == 18.0  # the leaves got one pass


def test_a_second_backward_on_freed_saved_tensors_raises() -> None:
    """'calling backward() a second time on a graph whose saved tensors were freed (as here)'."""
    tensors, _, _ = worked()
    tensors["loss"].backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        tensors["loss"].backward()
    a = torch.tensor(1.0, requires_grad=True)
    b = a + 1  # an addition saves no tensors: a second backward runs
    b.backward()
    b.backward()
    assert a.grad is not None
    assert a.grad.item() == 2.0
    assert "whose saved tensors were freed (as here)" in page()


def test_parameters_outside_differentiable_operations_keep_none() -> None:
    """'one used only through .detach(), a comparison or argmax keeps None'."""
    for use in ("detach", "comparison", "argmax"):
        x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)  # so that the loss has a graph
        p = torch.tensor([0.5, -0.5, 1.0], requires_grad=True)
        if use == "detach":
            loss = (p.detach() * x).sum()
        elif use == "comparison":
            loss = ((p > 0) * x).sum()
        else:
            loss = (x * p.argmax()).sum()
        loss.backward()
        assert x.grad is not None, use
        assert p.grad is None, use
    assert "one used only through `.detach()`, a comparison or `argmax` keeps `None`" in page()


def test_recorded_graph() -> None:
    tensors, _, _ = worked()
    names = {id(t): n for n, t in tensors.items()}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lesson.print_graph(tensors["loss"].grad_fn, names)
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


def test_where_matches_the_tensor_layout() -> None:
    """W1[k-1, j-1] is w_kj: column j holds the weights into hidden unit j."""
    tensors, v, _ = worked()
    assert tensors["W1"].tolist() == [[v["w_11"], v["w_12"]], [v["w_21"], v["w_22"]]]
    assert tensors["W1"][0, 1].item() == v["w_12"]
    assert tensors["b1"].tolist() == [v["b1_1"], v["b1_2"]]
    assert tensors["W2"].flatten().tolist() == [v["v_1"], v["v_2"]]
    assert tensors["b2"].tolist() == [v["b2"]]
    for name in ("X", "W1", "b1", "W2", "b2"):
        assert tensors[name].dtype == torch.float64
        assert tensors[name].device.type == "cpu"
        assert tensors[name].requires_grad
    assert not tensors["y"].requires_grad
    assert "(`W1[0, 1]` is $w_{12}$)" in page()


def flops(num_hidden: int) -> tuple[list[int], float, list[float]]:
    counts, difference = lesson.count_flops(num_hidden, num_examples=200)
    return counts, difference, [count / counts[0] for count in counts]


def test_flop_counts() -> None:
    (forward, backward, forward_mode), difference, ratios = flops(16)
    # one matrix product forward per layer; backward: one per weight matrix and one for h
    assert forward == 2 * 200 * 2 * 16 + 2 * 200 * 16 * 1
    assert difference < 1e-13
    text = page()
    assert "With 16 hidden units (65 parameters)" in text
    assert f"the forward pass does {forward:,} FLOPs and the backward pass {backward:,}" in text
    assert f"only {ratios[1]:.2f} times as many" in text
    assert f"Forward mode does {forward_mode:,}, {ratios[2]:.2f} times the forward pass" in text
    assert "in 65 passes" in text
    assert "agree to better than $10^{-13}$" in text
    assert f"in our count for {ratios[1]:.2f} times" in text
    assert f"forward mode took {ratios[2]:.2f} times" in text
    (_, _, forward_mode_32), difference_32, ratios_32 = flops(32)
    assert difference_32 < 1e-13
    assert f"{ratios_32[1]:.2f}" == f"{ratios[1]:.2f}"
    assert 4 * 32 + 1 == 129
    assert 3.5 < forward_mode_32 / forward_mode < 4.5  # "roughly quadruple"
    assert f"With 32 hidden units the backward pass still costs {ratios[1]:.2f} forward passes" in (
        text
    )
    assert f"needs 129 passes, about {ratios_32[2]:.0f} forward passes' worth" in text


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
    assert "unit 3 by setting its bias to $-4$" in text
    # the test's network is the snippet's: the same bias, the same seed, 200 points
    snippet = (ROOT / "snippets" / "forward_and_backward_passes.py").read_text(encoding="utf-8")
    assert "params[1][2] = -4.0" in snippet
    assert "X, y = make_moons(200, device)" in snippet


def test_a_dead_unit_never_moves_under_plain_sgd() -> None:
    X, y, params = moons_network()
    before = [p.detach().clone() for p in params]
    losses = lesson.train(X, y, params, LR, NUM_EPOCHS)
    assert losses[-1] < losses[0]
    for j in range(4):
        moved = [
            not torch.equal(a, b)
            for a, b in zip(lesson.unit(params, j), lesson.unit(before, j), strict=True)
        ]
        assert moved == ([False] * 3 if j == 2 else [True] * 3), j
    with torch.no_grad():
        z = lesson.forward(X, *params)[0]
    assert (z[:, 2] <= 0).all()
    text = page()
    assert "it is still on for 0 of 200 points" in text
    assert "Units 1, 2 and 4 change everything they have" in text
    assert "We train for 200 full-batch steps of plain SGD" in text


def test_report_units_starts_from_fresh_gradients() -> None:
    """After training, report_units must not add its gradients to the last step's."""
    X, y, params = moons_network()
    lesson.train(X, y, params, LR, 1)
    with contextlib.redirect_stdout(io.StringIO()):
        lesson.report_units(X, y, params)
    reported = [lesson.grad_of(p).clone() for p in params]
    for p in params:
        p.grad = None
    _, _, logits = lesson.forward(X, *params)
    F.binary_cross_entropy_with_logits(logits, y).backward()
    for fresh, got in zip(params, reported, strict=True):
        assert torch.equal(lesson.grad_of(fresh), got)


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
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lesson.print_graph(logits.grad_fn, {id(W2): "W2", id(b2): "b2"})
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert lines == ["AddBackward0", "MmBackward0", "AccumulateGrad (W2)", "AccumulateGrad (b2)"]
    assert "the graph holds only the second layer's operations; its top node is `AddBackward0`" in (
        page()
    )


def test_exercise_1_sigmoid() -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        by_hand, by_autograd = exercises.sigmoid_gradient_w_11()
    assert abs(by_hand - by_autograd) < 1e-15
    _, v, grads = worked()
    sigmoid = [torch.sigmoid(torch.tensor(v[f"z_{j}"], dtype=torch.float64)).item() for j in (1, 2)]
    slope = sigmoid[0] * (1 - sigmoid[0])
    y_hat = v["v_1"] * sigmoid[0] + v["v_2"] * sigmoid[1] + v["b2"]
    grad_y_hat = 2 * (y_hat - v["y"])
    relu = grads["w_11"]
    text = page()
    assert f"The path product gives ${by_hand:.6f}$" in text
    assert f"$\\bar{{\\hat{{y}}}} = {grad_y_hat:.6f}$ has the opposite sign" in text
    assert y_hat < v["y"]  # "the prediction is now too low"
    assert f"the ReLU network's size, {grads['y_hat']:g}" in text
    assert abs(abs(grad_y_hat) - grads["y_hat"]) < 0.1
    assert f"The sigmoid's slope, {slope:.6f} at $z_1 = {v['z_1']:g}$" in text
    assert "almost a hundredfold" in text
    assert 80 < relu / abs(by_hand) < 100
    assert f"compare it with the ReLU network's {relu:g}" in text


def test_exercise_2_cross_entropy() -> None:
    _, v, squared = worked()
    text = page()
    for label in (0.0, 1.0):
        by_autograd, grads = exercises.cross_entropy_gradients(label)
        by_formula = torch.sigmoid(torch.tensor(v["y_hat"])).item() - label
        assert abs(by_formula - by_autograd) < 1e-6
        ratios = [grads[n] / squared[n] for n in lesson.PARAMETERS]
        assert max(ratios) - min(ratios) < 1e-12  # one and the same factor
        assert abs(ratios[0] - by_autograd / squared["y_hat"]) < 1e-12
        if label == 0.0:
            assert (
                f"With label 0, $\\bar{{\\hat{{y}}}} = \\sigma(3) - 0 = {by_autograd:.4f}$" in text
            )
            assert f"{ratios[0]:.4f} ($= {by_autograd:.4f} / 3$) for label 0" in text
        else:
            assert f"with label 1, ${by_autograd:.4f}$" in text
            assert f"and ${ratios[0]:.4f}$ for label 1" in text
    assert v["y_hat"] == 3.0


def test_exercise_3_freeze_the_second_layer() -> None:
    trainable = exercises.layer_gradients(freeze_second=False)
    frozen = exercises.layer_gradients(freeze_second=True)
    assert frozen["W2"] is None
    assert frozen["b2"] is None
    for name in ("W1", "b1"):
        before, after = trainable[name], frozen[name]
        assert before is not None
        assert after is not None
        assert torch.equal(before, after)
    _, _, grads = worked()
    W1_grad, b1_grad = frozen["W1"], frozen["b1"]
    assert W1_grad is not None
    assert b1_grad is not None
    shown = ", ".join(f"{g:g}" for g in W1_grad.flatten().tolist())
    assert W1_grad.flatten().tolist() == [grads[n] for n in ("w_11", "w_12", "w_21", "w_22")]
    assert b1_grad.tolist() == [grads["b1_1"], grads["b1_2"]]
    text = page()
    assert f"{shown} for `W1`" in text
    assert shown == "18, -9, 12, -6"
    assert f"{', '.join(f'{g:g}' for g in b1_grad.tolist())} for `b1`" in text
