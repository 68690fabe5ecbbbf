"""Lesson 2.2: a tiny network's forward and backward passes by hand, checked
against autograd; what reverse and forward mode cost; which parameters a
backward pass leaves at zero or without a gradient."""

# --8<-- [start:imports]
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import Tensor
from torch.autograd.graph import Node
from torch.utils.flop_counter import FlopCounterMode

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything


# --8<-- [start:example]
def example_tensors() -> list[Tensor]:
    """X, y, W1, b1, W2, b2 of the worked example, in float64 on the CPU
    (exact checks need float64, which MPS lacks); all but y need gradients."""
    X = [[3.0, 2.0]]  # (N, 2): one example per row
    y = [[1.5]]  # (N, 1)
    W1 = [[2.0, 0.5], [-0.5, 2.0]]  # (inputs, hidden): row k, column j is w_kj
    b1 = [-0.5, -0.5]  # (hidden,)
    W2 = [[2.0], [-1.0]]  # (hidden, 1): v_1, v_2
    b2 = [-1.0]  # (1,)
    return [
        torch.tensor(
            t, dtype=torch.float64, device="cpu", requires_grad=t is not y
        )
        for t in (X, y, W1, b1, W2, b2)
    ]


def forward(
    X: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The network's forward pass for a batch: z, h and the output."""
    z = X @ W1 + b1  # (N, hidden): z_j = x_1 w_1j + x_2 w_2j + b1_j
    h = torch.relu(z)  # (N, hidden)
    y_hat = h @ W2 + b2  # (N, 1)
    return z, h, y_hat


def mse(y_hat: Tensor, y: Tensor) -> Tensor:
    """Mean squared error: (y_hat - y)^2 for a single example."""
    return ((y_hat - y) ** 2).mean()


# Where each named number of the math lives: (tensor, index)
WHERE: dict[str, tuple[str, tuple[int, ...]]] = {"y": ("y", (0, 0))}
WHERE |= {f"x_{k}": ("X", (0, k - 1)) for k in (1, 2)}
WHERE |= {f"w_{k}{j}": ("W1", (k - 1, j - 1)) for k in (1, 2) for j in (1, 2)}
WHERE |= {f"b1_{j}": ("b1", (j - 1,)) for j in (1, 2)}
WHERE |= {f"v_{j}": ("W2", (j - 1, 0)) for j in (1, 2)}
WHERE |= {"b2": ("b2", (0,))}
PARAMETERS = [name for name, (t, _) in WHERE.items() if t not in ("X", "y")]
WHERE |= {f"z_{j}": ("z", (0, j - 1)) for j in (1, 2)}
WHERE |= {f"h_{j}": ("h", (0, j - 1)) for j in (1, 2)}
WHERE |= {"y_hat": ("y_hat", (0, 0)), "L": ("loss", ())}


def entry(tensors: dict[str, Tensor], name: str) -> Tensor:
    """The named number, as a 0-dimensional tensor still in the graph."""
    tensor, index = WHERE[name]
    return tensors[tensor][index]


def grad_of(t: Tensor) -> Tensor:
    """t.grad, which the type checker must be told is set."""
    assert t.grad is not None
    return t.grad


def grad_entry(tensors: dict[str, Tensor], name: str) -> float:
    """dL/d(named number), read from the .grad that backward() filled in."""
    tensor, index = WHERE[name]
    return grad_of(tensors[tensor])[index].item()


def worked_example() -> tuple[dict[str, Tensor], dict[str, float]]:
    """The worked example's forward pass: tensors and named numbers."""
    X, y, W1, b1, W2, b2 = example_tensors()
    z, h, y_hat = forward(X, W1, b1, W2, b2)
    tensors = {"X": X, "y": y, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
    tensors |= {"z": z, "h": h, "y_hat": y_hat, "loss": mse(y_hat, y)}
    return tensors, {name: entry(tensors, name).item() for name in WHERE}


# --8<-- [end:example]


# --8<-- [start:local]
def local_derivatives(values: dict[str, float]) -> dict[tuple[str, str], float]:
    """d(child)/d(parent) for every arrow but y -> L, from the loss back."""
    return {
        ("L", "y_hat"): 2 * (values["y_hat"] - values["y"]),  # (y_hat - y)^2
        ("y_hat", "h_1"): values["v_1"],  # y_hat = v_1 h_1 + v_2 h_2 + b2
        ("y_hat", "h_2"): values["v_2"],
        ("y_hat", "v_1"): values["h_1"],
        ("y_hat", "v_2"): values["h_2"],
        ("y_hat", "b2"): 1.0,
        ("h_1", "z_1"): float(values["z_1"] > 0),  # ReLU's slope: 1 on, 0 off
        ("h_2", "z_2"): float(values["z_2"] > 0),
        ("z_1", "w_11"): values["x_1"],  # z_1 = w_11 x_1 + w_21 x_2 + b1_1
        ("z_1", "w_21"): values["x_2"],
        ("z_1", "b1_1"): 1.0,
        ("z_1", "x_1"): values["w_11"],
        ("z_1", "x_2"): values["w_21"],
        ("z_2", "w_12"): values["x_1"],  # z_2 = w_12 x_1 + w_22 x_2 + b1_2
        ("z_2", "w_22"): values["x_2"],
        ("z_2", "b1_2"): 1.0,
        ("z_2", "x_1"): values["w_12"],
        ("z_2", "x_2"): values["w_22"],
    }


# --8<-- [end:local]


# --8<-- [start:backward-by-hand]
def backward_by_hand(values: dict[str, float]) -> dict[str, float]:
    """Reverse accumulation, from dL/dL = 1 back along every arrow."""
    grad = {"L": 1.0}
    for (child, parent), local in local_derivatives(values).items():
        # grad[child] is complete here: its arrows came earlier in the list
        grad[parent] = grad.get(parent, 0.0) + grad[child] * local
    return grad


# --8<-- [end:backward-by-hand]


# --8<-- [start:graph]
def print_graph(
    node: Node | None, names: dict[int, str], depth: int = 0
) -> None:
    """The graph autograd recorded, from the top node down, a node a line."""
    if node is None:  # an input that needs no gradient: not recorded
        return
    line = "  " * depth + node.name().removeprefix("torch::autograd::")
    leaf = getattr(node, "variable", None)  # only AccumulateGrad has one
    print(line if leaf is None else f"{line} ({names[id(leaf)]})")
    for child, _ in node.next_functions:
        print_graph(child, names, depth + 1)


# --8<-- [end:graph]


# --8<-- [start:forward-mode]
def forward_mode_gradient(
    X: Tensor, y: Tensor, params: list[Tensor]
) -> list[Tensor]:
    """The MSE's gradient by forward mode: one pass per parameter entry,
    carrying each value's derivative (its "dot") alongside the value."""
    W1, b1, W2, b2 = params
    grads = [torch.zeros_like(p) for p in params]
    for which, param in enumerate(params):
        for index in range(param.numel()):
            dots = [torch.zeros_like(p) for p in params]
            dots[which].view(-1)[index] = 1.0  # the seed
            dW1, db1, dW2, db2 = dots
            z, dz = X @ W1 + b1, X @ dW1 + db1
            h, dh = torch.relu(z), (z > 0) * dz
            y_hat = h @ W2 + b2
            dy_hat = dh @ W2 + h @ dW2 + db2  # the product rule
            grads[which].view(-1)[index] = (2 * (y_hat - y) * dy_hat).mean()
    return grads


def count_flops(num_hidden: int, num_examples: int) -> tuple[list[int], float]:
    """FLOPs of a forward pass, a backward pass and a forward-mode gradient
    of a random network (float64, CPU); and the gradients' difference."""
    generator = torch.Generator().manual_seed(0)
    shapes: list[tuple[int, ...]] = [(num_examples, 2), (num_examples, 1)]
    shapes += [(2, num_hidden), (num_hidden,), (num_hidden, 1), (1,)]
    X, y, *params = (
        torch.randn(s, generator=generator, dtype=torch.float64) for s in shapes
    )
    counters = [FlopCounterMode(display=False) for _ in range(3)]
    with counters[0]:
        loss = mse(forward(X, *[p.requires_grad_() for p in params])[2], y)
    with counters[1]:
        loss.backward()  # reverse mode: every gradient at once
    with torch.no_grad(), counters[2]:
        by_forward_mode = forward_mode_gradient(X, y, params)
    difference = max(
        (g - grad_of(p)).abs().max().item()
        for g, p in zip(by_forward_mode, params, strict=True)
    )
    return [counter.get_total_flops() for counter in counters], difference


# --8<-- [end:forward-mode]


# --8<-- [start:moons-network]
def init_network(num_hidden: int, device: torch.device) -> list[Tensor]:
    """W1, b1, W2, b2 for 2 -> num_hidden -> 1, drawn on the CPU so that
    every device gets the same numbers (lesson 3.3 chooses them better)."""
    shapes = [(2, num_hidden), (num_hidden,), (num_hidden, 1), (1,)]
    return [(0.5 * torch.randn(s)).to(device).requires_grad_() for s in shapes]


def train(
    X: Tensor, y: Tensor, params: list[Tensor], lr: float, num_epochs: int
) -> list[float]:
    """Full-batch gradient descent on binary cross-entropy; the losses."""
    optimizer = torch.optim.SGD(params, lr=lr)
    losses = []
    for _ in range(num_epochs):
        optimizer.zero_grad()  # zero the gradients
        _, _, logits = forward(X, *params)  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
        losses.append(loss.item())
    return losses


# --8<-- [end:moons-network]


# --8<-- [start:units]
def unit(tensors: list[Tensor], j: int) -> list[Tensor]:
    """Unit j's incoming weights, bias and outgoing weight in [W1, b1, W2]."""
    return [tensors[0][:, j], tensors[1][j], tensors[2][j]]


def report_units(X: Tensor, y: Tensor, params: list[Tensor]) -> None:
    """A fresh backward pass; for each hidden unit, on how many examples it
    is on and the sums of |gradient| reaching it."""
    for p in params:
        p.grad = None
    z, h, logits = forward(X, *params)
    z.retain_grad()
    h.retain_grad()
    F.binary_cross_entropy_with_logits(logits, y).backward()
    grads = [grad_of(p) for p in params]
    print("unit  on for  |dL/dh|  |dL/dz|  |dL/dW1|  |dL/db1|  |dL/dW2|")
    for j in range(z.shape[1]):
        on = int((z[:, j] > 0).sum().item())
        reaching = [grad_of(h)[:, j], grad_of(z)[:, j], *unit(grads, j)]
        sizes = "".join(f"  {g.abs().sum().item():>7.4f}" for g in reaching)
        print(f"{j + 1:>4}  {on:>3}/{len(X)}{sizes}")


# --8<-- [end:units]


# --8<-- [start:draw-graph]
POSITIONS = {
    "x_1": (0.0, 1.0),
    "x_2": (0.0, 0.0),
    "z_1": (1.5, 1.0),
    "z_2": (1.5, 0.0),
    "h_1": (2.5, 1.0),
    "h_2": (2.5, 0.0),
    "y_hat": (3.45, 0.5),
    "L": (4.55, 0.5),
}
LABELS = {name: f"${name}$" for name in POSITIONS} | {"y_hat": r"$\hat{y}$"}


def draw_panel(
    ax: Axes,
    values: dict[str, float],
    numbers: dict[str, float],
    title: str,
    backward: bool,
) -> None:
    """One copy of the graph: a box per value holding its name and number,
    arrows pointing the way the pass goes; going backward, each arrow is
    labelled with the local derivative it multiplies by."""
    local = local_derivatives(values)
    for (child, parent), derivative in local.items():
        if parent not in POSITIONS:  # a parameter: not drawn
            continue
        start, end = POSITIONS[child], POSITIONS[parent]  # backward
        if not backward:
            start, end = end, start
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "->",
                "shrinkA": 22,
                "shrinkB": 22,
                "linestyle": "--" if backward else "-",
            },
        )
        if backward:
            # a crossing arrow's label sits near its z end, so that each
            # label is next to its own arrow; the others' at the middle
            crossing = start[1] != end[1] and child.startswith("z")
            along = 0.25 if crossing else 0.5
            x = start[0] + along * (end[0] - start[0])
            y = start[1] + along * (end[1] - start[1])
            factor = (
                f"{derivative:g}" if derivative >= 0 else f"({derivative:g})"
            )
            ax.text(
                x,
                y,
                rf"$\times {factor}$",
                ha="center",
                va="center",
                fontsize=12,
                bbox={
                    "boxstyle": "square,pad=0.05",
                    "facecolor": "white",
                    "edgecolor": "none",
                },
            )
    for name, (x, y) in POSITIONS.items():
        ax.text(
            x,
            y,
            f"{LABELS[name]}\n{numbers[name]:g}",
            ha="center",
            va="center",
            fontsize=12,
            bbox={"boxstyle": "round", "facecolor": "white"},
        )
    ax.set_title(title, fontsize=11)
    ax.set_xlim(-0.3, 4.85)
    ax.set_ylim(-0.4, 1.4)
    ax.axis("off")


def draw_graph(values: dict[str, float], grads: dict[str, float]) -> None:
    """The worked example's graph twice: the forward pass's values on top,
    the backward pass's gradients below."""
    fig, (ax_forward, ax_backward) = plt.subplots(
        2, 1, figsize=(5.4, 5.6), layout="constrained"
    )
    draw_panel(ax_forward, values, values, "Forward pass: each value", False)
    draw_panel(
        ax_backward,
        values,
        grads,
        "Backward pass: dL/d(each value)\neach arrow multiplies by its label",
        backward=True,
    )
    forward_numbers = ", ".join(f"{n} = {values[n]:g}" for n in POSITIONS)
    backward_numbers = ", ".join(f"{n}: {grads[n]:g}" for n in POSITIONS)
    fig.set_label(
        "The computation graph of the worked example, drawn twice, without "
        "the parameters and y. Top, the forward pass, with arrows pointing "
        "right from x_1 and x_2 to both z_1 and z_2, from z_j to h_j, from "
        "h_1 and h_2 to y_hat, and to L; each box holds its value: "
        f"{forward_numbers}. Bottom, the backward pass, with dashed arrows "
        "pointing left, each labelled with the local derivative it "
        "multiplies by; each box holds the gradient of L with respect to "
        f"its value: {backward_numbers}."
    )
    plt.show()


# --8<-- [end:draw-graph]


def main() -> None:
    # --8<-- [start:run-tensors]
    tensors, values = worked_example()
    for name in ("z_1", "z_2", "h_1", "h_2", "y_hat", "L"):
        print(f"{name:>5} = {values[name]:g}")
    # --8<-- [end:run-tensors]

    # --8<-- [start:run-graph]
    names = {id(tensor): name for name, tensor in tensors.items()}
    print_graph(tensors["loss"].grad_fn, names)
    # --8<-- [end:run-graph]

    # --8<-- [start:run-local]
    largest = 0.0
    for (child, parent), by_hand in local_derivatives(values).items():
        # d(child)/d(parent) by autograd; retain_graph keeps the graph
        parent_tensor, index = WHERE[parent]
        (full,) = torch.autograd.grad(
            entry(tensors, child), tensors[parent_tensor], retain_graph=True
        )
        by_autograd = full[index].item()
        largest = max(largest, abs(by_hand - by_autograd))
        print(f"d{child}/d{parent}: hand {by_hand:g}, autograd {by_autograd:g}")
    print(f"largest difference: {largest:g}")
    # --8<-- [end:run-local]

    # --8<-- [start:run-backward]
    grads = backward_by_hand(values)
    # keep the gradients of values that are not leaves (asked only now: a
    # retained .grad also collects what torch.autograd.grad sends through)
    for name in ("z", "h", "y_hat", "loss"):
        tensors[name].retain_grad()
    tensors["loss"].backward()  # fills .grad of leaves and retained values
    largest = 0.0
    for name, by_hand in grads.items():
        by_autograd = grad_entry(tensors, name)
        largest = max(largest, abs(by_hand - by_autograd))
        print(f"dL/d{name}: hand {by_hand:g}, autograd {by_autograd:g}")
    print(f"largest difference: {largest:g}")
    # --8<-- [end:run-backward]

    # --8<-- [start:run-draw]
    draw_graph(values, grads)
    # --8<-- [end:run-draw]

    # --8<-- [start:run-flops]
    for num_hidden in (16, 32):
        flops, difference = count_flops(num_hidden, num_examples=200)
        counts = ", ".join(f"{count:,}" for count in flops)
        ratios = ", ".join(f"{count / flops[0]:.2f}" for count in flops)
        print(f"{num_hidden} hidden units ({4 * num_hidden + 1} parameters)")
        print(f"  FLOPs of forward, backward, forward mode: {counts}")
        # its last digits depend on the machine, so the bound, not the value
        agree = difference < 1e-13
        print(f"  = {ratios} forward passes; agree to 1e-13: {agree}")
    # --8<-- [end:run-flops]

    # --8<-- [start:dead-unit]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)
    params = init_network(num_hidden=4, device=device)
    with torch.no_grad():
        params[1][2] = -4.0  # unit 3's bias: so low that no point turns it on
    report_units(X, y, params)
    # --8<-- [end:dead-unit]

    # --8<-- [start:dead-train]
    lr, num_epochs = 0.5, 200
    before = [p.detach().clone() for p in params]
    losses = train(X, y, params, lr, num_epochs)
    print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.3f} at the end")
    for j in range(4):
        now, then = unit(params, j), unit(before, j)
        moved = [not torch.equal(a, b) for a, b in zip(now, then, strict=True)]
        print(f"unit {j + 1} moved (incoming, bias, outgoing): {moved}")
    report_units(X, y, params)
    # --8<-- [end:dead-train]

    # --8<-- [start:frozen]
    params = init_network(num_hidden=4, device=device)
    W1, b1, W2, b2 = params
    W1.requires_grad_(False)  # freeze the first layer
    b1.requires_grad_(False)
    before = [p.detach().clone() for p in params]
    losses = train(X, y, params, lr, num_epochs)
    print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.3f} at the end")
    for i, name in enumerate(("W1", "b1", "W2", "b2")):
        grad = "None" if params[i].grad is None else "a tensor"
        same = torch.equal(params[i], before[i])
        print(f"{name}: .grad is {grad}, moved: {not same}")
    z, h, logits = forward(X, W1, b1, W2, b2)
    print(f"z.grad_fn: {z.grad_fn}, h.grad_fn: {h.grad_fn}; the graph:")
    print_graph(logits.grad_fn, {id(W2): "W2", id(b2): "b2"})
    # --8<-- [end:frozen]


if __name__ == "__main__":
    main()
