"""Lesson 2.2: a tiny network's forward and backward passes by hand, checked
against autograd; what each mode of differentiation costs; which parameters a
backward pass leaves at zero or without a gradient."""

# --8<-- [start:imports]
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch.autograd.graph import Node
from torch.utils.flop_counter import FlopCounterMode

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything

# --8<-- [start:example]
# The worked example: one input (x_1, x_2), its target y and the nine
# parameters, named as in the math. w_kj connects input k to hidden unit j.
EXAMPLE = {
    "x_1": 3.0,
    "x_2": 2.0,
    "y": 1.5,
    "w_11": 2.0,  # into hidden unit 1
    "w_21": -0.5,
    "b_1": -0.5,
    "w_12": 0.5,  # into hidden unit 2
    "w_22": 2.0,
    "b_2": -0.5,
    "v_1": 2.0,  # into the output
    "v_2": -1.0,
    "c": -1.0,
}
PARAMETERS = [name for name in EXAMPLE if name not in ("x_1", "x_2", "y")]


def forward_by_hand(p: dict[str, float]) -> dict[str, float]:
    """The forward pass one number at a time: the example, the parameters and
    every value computed from them."""
    v = dict(p)
    v["z_1"] = p["w_11"] * p["x_1"] + p["w_21"] * p["x_2"] + p["b_1"]
    v["z_2"] = p["w_12"] * p["x_1"] + p["w_22"] * p["x_2"] + p["b_2"]
    v["h_1"] = max(0.0, v["z_1"])  # ReLU
    v["h_2"] = max(0.0, v["z_2"])
    v["y_hat"] = p["v_1"] * v["h_1"] + p["v_2"] * v["h_2"] + p["c"]
    v["L"] = (v["y_hat"] - p["y"]) ** 2
    return v


# --8<-- [end:example]


# --8<-- [start:local]
def local_derivatives(v: dict[str, float]) -> dict[tuple[str, str], float]:
    """d(child)/d(parent) for every arrow parent -> child of the graph, from
    the values of the forward pass. The arrows are listed child by child,
    from the loss back to the inputs."""
    # ReLU's slope: 1 where the unit is on, 0 where it is off
    on_1 = 1.0 if v["z_1"] > 0 else 0.0
    on_2 = 1.0 if v["z_2"] > 0 else 0.0
    return {
        ("L", "y_hat"): 2 * (v["y_hat"] - v["y"]),  # L = (y_hat - y)^2
        ("y_hat", "h_1"): v["v_1"],  # y_hat = v_1 h_1 + v_2 h_2 + c
        ("y_hat", "h_2"): v["v_2"],
        ("y_hat", "v_1"): v["h_1"],
        ("y_hat", "v_2"): v["h_2"],
        ("y_hat", "c"): 1.0,
        ("h_1", "z_1"): on_1,  # h_j = max(0, z_j)
        ("h_2", "z_2"): on_2,
        ("z_1", "w_11"): v["x_1"],  # z_1 = w_11 x_1 + w_21 x_2 + b_1
        ("z_1", "w_21"): v["x_2"],
        ("z_1", "b_1"): 1.0,
        ("z_1", "x_1"): v["w_11"],
        ("z_1", "x_2"): v["w_21"],
        ("z_2", "w_12"): v["x_1"],  # z_2 = w_12 x_1 + w_22 x_2 + b_2
        ("z_2", "w_22"): v["x_2"],
        ("z_2", "b_2"): 1.0,
        ("z_2", "x_1"): v["w_12"],
        ("z_2", "x_2"): v["w_22"],
    }


# --8<-- [end:local]


# --8<-- [start:backward-by-hand]
def backward_by_hand(v: dict[str, float]) -> dict[str, float]:
    """Reverse accumulation: start from dL/dL = 1 and walk the arrows from
    the loss back; each arrow adds (gradient of its child) x (its local
    derivative) to the gradient of its parent."""
    grad = {"L": 1.0}
    # local_derivatives lists the arrows leaving a value (towards the loss)
    # before those entering it, so grad[child] is complete when it is used
    for (child, parent), local in local_derivatives(v).items():
        # a value that feeds two children gets one term from each: the sum
        # over paths
        grad[parent] = grad.get(parent, 0.0) + grad[child] * local
    return grad


# --8<-- [end:backward-by-hand]


# --8<-- [start:tensors]
# Where each named number lives in the tensors: (tensor, index). W1[k-1, j-1]
# is w_kj, so column j of W1 holds the weights into hidden unit j.
WHERE: dict[str, tuple[str, tuple[int, ...]]] = {
    "x_1": ("X", (0, 0)),
    "x_2": ("X", (0, 1)),
    "w_11": ("W1", (0, 0)),
    "w_12": ("W1", (0, 1)),
    "w_21": ("W1", (1, 0)),
    "w_22": ("W1", (1, 1)),
    "b_1": ("b1", (0,)),
    "b_2": ("b1", (1,)),
    "v_1": ("W2", (0, 0)),
    "v_2": ("W2", (1, 0)),
    "c": ("b2", (0,)),
    "z_1": ("z", (0, 0)),
    "z_2": ("z", (0, 1)),
    "h_1": ("h", (0, 0)),
    "h_2": ("h", (0, 1)),
    "y_hat": ("y_hat", (0, 0)),
    "L": ("loss", ()),
}


def example_tensors(
    p: dict[str, float],
) -> tuple[
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
]:
    """X, y, W1, b1, W2, b2 for the worked example, filled in from p through
    WHERE; all but y require gradients (X too, to see dL/dx)."""

    def zeros(*shape: int) -> torch.Tensor:
        # float64 on the CPU: exact checks need float64, which MPS lacks
        return torch.zeros(shape, dtype=torch.float64, device="cpu")

    X = zeros(1, 2)  # (N, 2): one example per row
    W1 = zeros(2, 2)  # (inputs, hidden units)
    b1 = zeros(2)  # (hidden units,)
    W2 = zeros(2, 1)  # (hidden units, outputs)
    b2 = zeros(1)  # (outputs,)
    tensors = {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
    for name, (tensor, index) in WHERE.items():
        if tensor in tensors:
            tensors[tensor][index] = p[name]
    for t in tensors.values():
        t.requires_grad_()
    y = torch.tensor([[p["y"]]], dtype=torch.float64)  # (N, 1)
    return X, y, W1, b1, W2, b2


def forward(
    X: torch.Tensor,
    W1: torch.Tensor,
    b1: torch.Tensor,
    W2: torch.Tensor,
    b2: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The network's forward pass for a batch: z, h and the output."""
    z = X @ W1 + b1  # (N, hidden): z_j = sum over k of x_k w_kj, plus b_j
    h = torch.relu(z)  # (N, hidden)
    y_hat = h @ W2 + b2  # (N, 1)
    return z, h, y_hat


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error: (y_hat - y)^2 for a single example."""
    return ((y_hat - y) ** 2).mean()


# --8<-- [end:tensors]


# --8<-- [start:graph]
def print_graph(
    node: Node | None, names: dict[int, str], depth: int = 0
) -> None:
    """The backward graph autograd recorded, from the loss down, one node a
    line; a leaf tensor that needs a gradient appears as AccumulateGrad."""
    if node is None:  # an input that needs no gradient (y): not recorded
        return
    # C++ nodes' names start with torch::autograd::, which we leave out
    line = "  " * depth + node.name().removeprefix("torch::autograd::")
    leaf = getattr(node, "variable", None)  # only AccumulateGrad has one
    if leaf is not None:
        line += f" ({names[id(leaf)]})"
    print(line)
    for child, _ in node.next_functions:
        print_graph(child, names, depth + 1)


# --8<-- [end:graph]


# --8<-- [start:lookup]
def entry(tensors: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """The named number, as a 0-dimensional tensor still in the graph."""
    tensor, index = WHERE[name]
    return tensors[tensor][index]


def grad_of(t: torch.Tensor) -> torch.Tensor:
    """t.grad, which the type checker must be told is set."""
    assert t.grad is not None
    return t.grad


def grad_entry(tensors: dict[str, torch.Tensor], name: str) -> float:
    """dL/d(named number), from the .grad that backward() filled in."""
    tensor, index = WHERE[name]
    return grad_of(tensors[tensor])[index].item()


# --8<-- [end:lookup]


# --8<-- [start:forward-mode]
def forward_mode_by_hand(v: dict[str, float], wrt: str) -> float:
    """dL/d(wrt) by forward mode: seed d(wrt)/d(wrt) = 1, then walk the same
    arrows from the inputs to the loss, carrying d(value)/d(wrt) along."""
    dot = {wrt: 1.0}
    # the arrows in the opposite order: child by child, inputs first
    for (child, parent), local in reversed(local_derivatives(v).items()):
        dot[child] = dot.get(child, 0.0) + local * dot.get(parent, 0.0)
    return dot["L"]


# --8<-- [end:forward-mode]


# --8<-- [start:forward-mode-tensors]
def forward_mode_gradient(
    X: torch.Tensor,
    y: torch.Tensor,
    params: list[torch.Tensor],
) -> tuple[list[torch.Tensor], int]:
    """The gradient of the mean squared error by forward mode: one pass per
    parameter entry, each carrying the derivative of every value with
    respect to that one entry (the "dot") alongside the value."""
    W1, b1, W2, b2 = params
    grads = [torch.zeros_like(p) for p in params]
    passes = 0
    for which, param in enumerate(params):
        for index in range(param.numel()):
            dots = [torch.zeros_like(p) for p in params]
            dots[which].view(-1)[index] = 1.0  # the seed
            dW1, db1, dW2, db2 = dots
            z = X @ W1 + b1
            dz = X @ dW1 + db1
            h = torch.relu(z)
            dh = (z > 0) * dz
            y_hat = h @ W2 + b2
            dy_hat = dh @ W2 + h @ dW2 + db2  # the product rule
            dloss = (2 * (y_hat - y) * dy_hat).mean()
            grads[which].view(-1)[index] = dloss
            passes += 1
    return grads, passes


def wide_network(
    num_hidden: int, num_examples: int
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Random inputs, targets and parameters for 2 -> num_hidden -> 1, in
    float64 on the CPU, from a fixed seed."""
    generator = torch.Generator().manual_seed(0)

    def draw(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=torch.float64)

    X, y = draw(num_examples, 2), draw(num_examples, 1)
    params = [draw(2, num_hidden), draw(num_hidden), draw(num_hidden, 1)]
    params.append(draw(1))
    return X, y, [p.requires_grad_() for p in params]


def count_flops(
    X: torch.Tensor, y: torch.Tensor, params: list[torch.Tensor]
) -> tuple[dict[str, int], float]:
    """FLOPs of the matrix products in one forward pass, one backward pass
    and a whole forward-mode gradient; and the largest difference between
    the two gradients."""
    with FlopCounterMode(display=False) as count_forward:
        loss = mse(forward(X, *params)[2], y)
    with FlopCounterMode(display=False) as count_backward:
        loss.backward()  # reverse mode: every gradient at once
    with torch.no_grad(), FlopCounterMode(display=False) as count_fwd_mode:
        fwd_grads, passes = forward_mode_gradient(X, y, params)
    difference = max(
        (g - grad_of(p)).abs().max().item()
        for g, p in zip(fwd_grads, params, strict=True)
    )
    flops = {
        "forward pass": count_forward.get_total_flops(),
        "backward pass": count_backward.get_total_flops(),
        f"forward mode ({passes} passes)": count_fwd_mode.get_total_flops(),
    }
    return flops, difference


# --8<-- [end:forward-mode-tensors]


# --8<-- [start:moons-network]
def init_network(num_hidden: int, device: torch.device) -> list[torch.Tensor]:
    """W1, b1, W2, b2 for 2 inputs -> num_hidden ReLU units -> 1 logit: normal
    draws of standard deviation 0.5, made on the CPU so that every device
    gets the same numbers (lesson 3.3 is about choosing them well)."""
    shapes = [(2, num_hidden), (num_hidden,), (num_hidden, 1), (1,)]
    return [
        (0.5 * torch.randn(shape)).to(device).requires_grad_()
        for shape in shapes
    ]


def train(
    X: torch.Tensor,
    y: torch.Tensor,
    params: list[torch.Tensor],
    lr: float,
    num_epochs: int,
) -> list[float]:
    """Full-batch gradient descent with binary cross-entropy on the logits;
    returns the loss of every epoch."""
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
def report_units(
    X: torch.Tensor, y: torch.Tensor, params: list[torch.Tensor]
) -> None:
    """One backward pass, then, for every hidden unit: on how many examples
    it is on, and the size of the gradient reaching each of its values and
    parameters (sums of absolute values)."""
    W1, b1, W2, b2 = params
    z, h, logits = forward(X, W1, b1, W2, b2)
    z.retain_grad()
    h.retain_grad()
    F.binary_cross_entropy_with_logits(logits, y).backward()
    print("unit  on for  |dL/dh|  |dL/dz|  |dL/dW1|  |dL/db1|  |dL/dW2|")
    for j in range(W1.shape[1]):
        on = int((z[:, j] > 0).sum().item())
        # every gradient that reaches unit j: column j of h, z and W1, entry
        # j of b1, row j of W2
        reaching = [
            grad_of(h)[:, j],
            grad_of(z)[:, j],
            grad_of(W1)[:, j],
            grad_of(b1)[j],
            grad_of(W2)[j],
        ]
        sizes = [g.abs().sum().item() for g in reaching]
        print(
            f"{j + 1:>4}  {on:>3}/{len(X)}"
            + "".join(f"  {size:>7.4f}" for size in sizes)
        )


def compare_units(
    X: torch.Tensor, params: list[torch.Tensor], before: list[torch.Tensor]
) -> None:
    """For every hidden unit: on how many examples it is on now, and whether
    its incoming weights, its bias and its outgoing weight have moved."""
    W1, b1, W2, _ = params
    with torch.no_grad():
        z = forward(X, *params)[0]
    for j in range(W1.shape[1]):
        on = int((z[:, j] > 0).sum().item())
        moved = [
            not torch.equal(now, then)
            for now, then in (
                (W1[:, j], before[0][:, j]),
                (b1[j], before[1][j]),
                (W2[j], before[2][j]),
            )
        ]
        print(
            f"unit {j + 1}: on for {on:>3}/{len(X)}; moved: incoming "
            f"{moved[0]}, bias {moved[1]}, outgoing {moved[2]}"
        )


# --8<-- [end:units]


# --8<-- [start:draw-graph]
POSITIONS = {
    "x_1": (0.0, 1.0),
    "x_2": (0.0, 0.0),
    "z_1": (1.0, 1.0),
    "z_2": (1.0, 0.0),
    "h_1": (2.0, 1.0),
    "h_2": (2.0, 0.0),
    "y_hat": (3.0, 0.5),
    "L": (4.0, 0.5),
}
LABELS = {name: f"${name}$" for name in POSITIONS} | {"y_hat": r"$\hat{y}$"}


def draw_panel(
    ax: Axes, numbers: dict[str, float], title: str, backward: bool
) -> None:
    """One copy of the graph: a box per value holding its name and number,
    arrows pointing the way the pass goes; going backward, each arrow is
    labelled with the local derivative it multiplies by."""
    local = local_derivatives(forward_by_hand(EXAMPLE))
    for (child, parent), derivative in local.items():
        if parent not in POSITIONS:  # a parameter: not drawn
            continue
        start, end = POSITIONS[parent], POSITIONS[child]
        if backward:
            start, end = end, start
        style = "--" if backward else "-"
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "->",
                "shrinkA": 20,
                "shrinkB": 20,
                "linestyle": style,
            },
        )
        if backward:
            # a third of the way along, so that crossing arrows' labels
            # stay apart
            x = start[0] + 0.35 * (end[0] - start[0])
            y = start[1] + 0.35 * (end[1] - start[1])
            factor = (
                f"{derivative:g}" if derivative >= 0 else f"({derivative:g})"
            )
            ax.text(
                x,
                y,
                rf"$\times {factor}$",
                ha="center",
                va="center",
                fontsize=10,
                bbox={
                    "boxstyle": "square,pad=0.1",
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
            fontsize=11,
            bbox={"boxstyle": "round", "facecolor": "white"},
        )
    ax.set_title(title, fontsize=11)
    ax.set_xlim(-0.4, 4.4)
    ax.set_ylim(-0.45, 1.45)
    ax.axis("off")


def draw_graph(values: dict[str, float], grads: dict[str, float]) -> None:
    """The worked example's graph twice: the forward pass's values on top,
    the backward pass's gradients below."""
    fig, (ax_forward, ax_backward) = plt.subplots(
        2, 1, figsize=(5.4, 5.0), layout="constrained"
    )
    draw_panel(ax_forward, values, "Forward pass: each value", False)
    draw_panel(
        ax_backward,
        grads,
        "Backward pass: dL/d(each value)\neach arrow multiplies by its label",
        backward=True,
    )
    forward_numbers = ", ".join(f"{n} = {values[n]:g}" for n in POSITIONS)
    backward_numbers = ", ".join(f"{n}: {grads[n]:g}" for n in POSITIONS)
    fig.set_label(
        "The computation graph of the worked example, drawn twice. Top, the "
        "forward pass, with arrows pointing right from x_1 and x_2 to both "
        "z_1 and z_2, from z_j to h_j, from h_1 and h_2 to y_hat, and to L; "
        f"each box holds its value: {forward_numbers}. Bottom, the backward "
        "pass, with dashed arrows pointing left, each labelled with the "
        "local derivative it multiplies by; each box holds the gradient of "
        f"L with respect to its value: {backward_numbers}."
    )
    plt.show()


# --8<-- [end:draw-graph]


def main() -> None:
    # --8<-- [start:run-by-hand]
    values = forward_by_hand(EXAMPLE)
    for name in ("z_1", "z_2", "h_1", "h_2", "y_hat", "L"):
        print(f"{name:>5} = {values[name]:g}")
    # --8<-- [end:run-by-hand]

    # --8<-- [start:run-tensors]
    X, y, W1, b1, W2, b2 = example_tensors(EXAMPLE)
    z, h, y_hat = forward(X, W1, b1, W2, b2)
    loss = mse(y_hat, y)
    print(f"W1 = {W1.tolist()}, b1 = {b1.tolist()}")
    print(f"W2 = {W2.tolist()}, b2 = {b2.tolist()}")
    tensors = {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
    tensors |= {"z": z, "h": h, "y_hat": y_hat, "loss": loss}
    for name in ("z_1", "z_2", "h_1", "h_2", "y_hat", "L"):
        print(f"{name:>5} = {entry(tensors, name).item():g}")
    # --8<-- [end:run-tensors]

    # --8<-- [start:run-graph]
    assert loss.grad_fn is not None  # loss was computed from tensors
    print(f"loss.grad_fn: {loss.grad_fn.name()}")
    names = {id(tensor): name for name, tensor in tensors.items()}
    print_graph(loss.grad_fn, names)
    # --8<-- [end:run-graph]

    # --8<-- [start:run-local]
    print(f"{'local derivative':<18} {'by hand':>8} {'autograd':>9}")
    largest = 0.0
    for (child, parent), by_hand in local_derivatives(values).items():
        # d(child)/d(parent) by autograd: only the arrow's own operation
        # lies between them; retain_graph keeps the graph for the next one
        parent_tensor, index = WHERE[parent]
        (full,) = torch.autograd.grad(
            entry(tensors, child), tensors[parent_tensor], retain_graph=True
        )
        by_autograd = full[index].item()
        largest = max(largest, abs(by_hand - by_autograd))
        arrow = f"d{child}/d{parent}"
        print(f"{arrow:<18} {by_hand:>8g} {by_autograd:>9g}")
    print(f"largest difference: {largest:g}")
    # --8<-- [end:run-local]

    # --8<-- [start:run-backward]
    grads = backward_by_hand(values)
    # keep the gradients of values that are not leaves (asked only now: a
    # retained .grad also collects what torch.autograd.grad sends through)
    for t in (z, h, y_hat, loss):
        t.retain_grad()
    loss.backward()  # fills .grad of every leaf and every retained value
    print(f"{'gradient':<10} {'by hand':>8} {'autograd':>9}")
    largest = 0.0
    for name, by_hand in grads.items():
        by_autograd = grad_entry(tensors, name)
        largest = max(largest, abs(by_hand - by_autograd))
        print(f"{'dL/d' + name:<10} {by_hand:>8g} {by_autograd:>9g}")
    print(f"largest difference: {largest:g}")
    # --8<-- [end:run-backward]

    # --8<-- [start:run-draw]
    draw_graph(values, grads)
    # --8<-- [end:run-draw]

    # --8<-- [start:run-forward-mode]
    by_forward_mode = {n: forward_mode_by_hand(values, n) for n in PARAMETERS}
    for name, derivative in by_forward_mode.items():
        reverse = grads[name]
        print(
            f"dL/d{name:<4} forward mode {derivative:>5g}, reverse {reverse:g}"
        )
    print(f"forward mode: {len(PARAMETERS)} passes; reverse mode: 1 pass")
    # --8<-- [end:run-forward-mode]

    # --8<-- [start:run-flops]
    X_wide, y_wide, params = wide_network(num_hidden=16, num_examples=200)
    flops, difference = count_flops(X_wide, y_wide, params)
    for name, count in flops.items():
        ratio = count / flops["forward pass"]
        print(f"{name:<26} {count:>9,} FLOPs = {ratio:6.2f} x forward")
    print(f"largest difference between the two gradients: {difference:.1e}")
    # --8<-- [end:run-flops]

    # --8<-- [start:dead-unit]
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)
    params = init_network(num_hidden=4, device=device)
    W1, b1, W2, b2 = params
    with torch.no_grad():
        b1[2] = -4.0  # unit 3's bias: so low that no point turns it on
    report_units(X, y, params)
    # --8<-- [end:dead-unit]

    # --8<-- [start:dead-train]
    lr, num_epochs = 0.5, 200
    before = [p.detach().clone() for p in params]
    losses = train(X, y, params, lr, num_epochs)
    print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.3f} at the end")
    compare_units(X, params, before)
    # --8<-- [end:dead-train]

    # --8<-- [start:frozen]
    params = init_network(num_hidden=4, device=device)
    W1, b1, W2, b2 = params
    W1.requires_grad_(False)  # freeze the first layer
    b1.requires_grad_(False)
    before = [p.detach().clone() for p in params]
    losses = train(X, y, params, lr, num_epochs)
    print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.3f} at the end")
    param_names = ("W1", "b1", "W2", "b2")
    for name, p, p_before in zip(param_names, params, before, strict=True):
        grad = "None" if p.grad is None else "a tensor"
        moved = not torch.equal(p, p_before)
        print(f"{name}: .grad is {grad}, moved: {moved}")
    z, h, logits = forward(X, W1, b1, W2, b2)
    print(f"z.grad_fn: {z.grad_fn}, h.grad_fn: {h.grad_fn}")
    assert logits.grad_fn is not None
    print(f"logits.grad_fn: {logits.grad_fn.name()}")
    # --8<-- [end:frozen]


if __name__ == "__main__":
    main()
