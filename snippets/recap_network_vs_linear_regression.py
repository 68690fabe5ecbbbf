"""Lesson 2.7: Module 1's line and Module 2's network, trained by one loop
on the same data: what changes between them, and what does not."""

from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
# --8<-- [start:imports]
import copy

from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.utils.data import DataLoader, TensorDataset

# --8<-- [end:imports]
# isort: split
from from_linear_to_nonlinear import train
from helpers import get_device, log_scale, seed_everything
from linear_regression import make_data


# --8<-- [start:make-wavy]
def wavy_curve(X: torch.Tensor) -> torch.Tensor:
    """The trend of the wavy data: y = sin(2x) + x / 2."""
    return torch.sin(2 * X) + 0.5 * X


def make_wavy_data(
    num_points: int, device: torch.device, noise: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points around the wave: x uniform on [-2, 2), plus Gaussian noise."""
    X = -2 + 4 * torch.rand(num_points, 1)  # (N, 1)
    y = wavy_curve(X) + noise * torch.randn(num_points, 1)  # (N, 1)
    # drawn on the CPU, then moved: the same points on every device
    return X.to(device), y.to(device)


# --8<-- [end:make-wavy]


# --8<-- [start:models]
def make_line() -> nn.Linear:
    """Module 1's model, y_hat = w x + b, started at w = b = 0."""
    line = nn.Linear(1, 1)
    with torch.no_grad():  # setting a start is not part of any loss
        line.weight.zero_()
        line.bias.zero_()
    return line


def make_net(num_hidden: int, seed: int) -> nn.Sequential:
    """1 -> H -> 1 with ReLU, PyTorch's random start for this seed (CPU)."""
    seed_everything(seed)
    return nn.Sequential(
        nn.Linear(1, num_hidden), nn.ReLU(), nn.Linear(num_hidden, 1)
    )


def mse_on(
    model: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
) -> float:
    """The model's mean squared error on (X, y), without training on it."""
    with torch.no_grad():
        return F.mse_loss(model(X), y).item()


# --8<-- [end:models]


# --8<-- [start:units]
def symmetric_start(net: nn.Sequential) -> None:
    """Give every hidden unit the same weight, bias and outgoing weight."""
    with torch.no_grad():
        for p, value in zip(
            net.parameters(), (0.5, 0.1, 0.1, 0.0), strict=True
        ):
            p.fill_(value)  # W1, b1, W2, b2 in turn


def unit_spread(net: nn.Sequential) -> float:
    """How far any unit's (weight, bias, outgoing weight) is from unit 0's."""
    W1, b1, W2, _ = net.parameters()
    units = torch.cat([W1, b1[:, None], W2.T], dim=1)  # (H, 3): row = unit
    return (units - units[0]).abs().max().item()


# --8<-- [end:units]


# --8<-- [start:twin]
def permute_units(net: nn.Sequential, order: torch.Tensor) -> nn.Sequential:
    """The same network with its hidden units listed in another order."""
    twin = copy.deepcopy(net)
    W1, b1, W2, _ = twin.parameters()
    with torch.no_grad():
        W1.copy_(W1[order])  # (H, 1): a row per unit
        b1.copy_(b1[order])  # (H,)
        W2.copy_(W2[:, order])  # (1, H): a column per unit
    return twin


def blend(a: nn.Module, b: nn.Module, t: float) -> nn.Module:
    """The model a fraction t of the way from a to b, in every parameter."""
    mixed = copy.deepcopy(a)
    theta_a = parameters_to_vector(a.parameters())  # all parameters, 1-D
    theta_b = parameters_to_vector(b.parameters())
    vector_to_parameters((1 - t) * theta_a + t * theta_b, mixed.parameters())
    return mixed


# --8<-- [end:twin]


# --8<-- [start:draw-fits]
def draw_fits(
    data: dict[str, tuple[torch.Tensor, torch.Tensor]],
    models: dict[str, tuple[nn.Linear, nn.Sequential]],
) -> None:
    """One panel per data set: the points, the trained line (dashed) and
    the trained network (solid)."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 6.4), layout="constrained")
    for ax, (name, (X, y)) in zip(axes, data.items(), strict=True):
        line, net = models[name]
        grid = torch.linspace(-2, 2, 201, device=X.device)[:, None]
        with torch.no_grad():
            line_fit, net_fit = line(grid).cpu(), net(grid).cpu()
        ax.scatter(X.cpu(), y.cpu(), s=10, color="0.6", label="data")
        ax.plot(grid.cpu(), line_fit, "--", lw=2, label="line")
        ax.plot(grid.cpu(), net_fit, "-", lw=2, label="network")
        ax.set_title(f"{name.capitalize()} data")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    axes[0].legend(loc="upper left")
    fig.set_label(
        "Top: the straight data, points rising from about -3 at x = -2 to "
        "about 5 at x = 2; the line (dashed) and the network (solid) lie on "
        "top of each other. Bottom: the wavy "
        "data, which fall, rise and fall again; the line cuts straight "
        "through the wave, while the network follows it."
    )
    plt.show()


# --8<-- [end:draw-fits]


# --8<-- [start:draw-losses]
def draw_losses(losses: dict[str, dict[str, list[float]]]) -> None:
    """One panel per data set: each model's training loss at every step."""
    fig, axes = plt.subplots(
        2, 1, figsize=(5.4, 6.4), sharex=True, layout="constrained"
    )
    for ax, (name, runs) in zip(axes, losses.items(), strict=True):
        ax.plot(runs["line"], "--", lw=2, label="line")
        ax.plot(runs["net"], "-", lw=2, label="network")
        log_scale(ax)
        ax.set_title(f"{name.capitalize()} data")
        ax.set_ylabel("training loss (log)")
    axes[1].set_xlabel("step")
    axes[0].legend(loc="upper right")
    straight, wavy = losses["straight"], losses["wavy"]
    fig.set_label(
        "Training loss at every step, log scale. Top, straight data: the "
        "network's loss drops to near 0.2 within a few steps, the line's "
        "within about 25; both then stay there, the network's creeping "
        f"lower, to {straight['net'][-1]:.2f}, the line's flat at "
        f"{straight['line'][-1]:.2f} until it stops at step 200. Bottom, "
        f"wavy data: the line's loss flattens at {wavy['line'][-1]:.2f} "
        "within 50 steps; the network's drops below it within a few steps "
        "and keeps falling through step 500, to about "
        f"{wavy['net'][-1]:.3f}."
    )
    plt.show()


# --8<-- [end:draw-losses]


# --8<-- [start:draw-seeds]
def draw_seeds(nets: list[nn.Sequential], line: nn.Linear) -> None:
    """Three trained networks and the line, inside and beyond the data."""
    fig, ax = plt.subplots(figsize=(5.4, 4.0), layout="constrained")
    device = next(line.parameters()).device
    grid = torch.linspace(-3, 3, 301, device=device)[:, None]
    ax.axvspan(-2, 2, color="0.92")  # where the training data lie
    ax.plot(grid.cpu(), wavy_curve(grid).cpu(), color="0.6", lw=5)
    with torch.no_grad():
        ax.plot(grid.cpu(), line(grid).cpu(), "--", lw=2, label="line")
        styles = ["-", "-.", ":"]
        for seed, net in enumerate(nets):
            y_hat = net(grid).cpu()
            ax.plot(grid.cpu(), y_hat, styles[seed], lw=2, label=f"seed {seed}")
    ax.plot([], [], color="0.6", lw=5, label="true curve")
    ax.set_title("Three seeds, inside and outside the data")
    ax.set_xlabel("x (data only in the shaded band)")
    ax.set_ylabel("y")
    fig.legend(loc="outside lower center", ncols=3)
    fig.set_label(
        "The true wavy curve as a thick grey band from x = -3 to 3, the "
        "training data's range from -2 to 2 shaded. Inside the band the "
        "three trained networks lie on top of one another and of the curve. "
        "Outside it each still bends at corners no data placed there, then "
        "runs straight, away from the curve, and the three spread apart; "
        "the line is a single straight dashed line across the whole plot."
    )
    plt.show()


# --8<-- [end:draw-seeds]


# --8<-- [start:draw-path]
def draw_path(ts: list[float], losses: list[float]) -> None:
    """The loss along the straight path from a network to its twin."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    ax.plot(ts, losses, "-o", lw=2, label="loss on the path")
    ax.axhline(losses[0], ls=":", color="black", label="the two ends")
    ax.set_title("From a network to its twin, in a straight line")
    ax.set_xlabel("t (0: the network, 1: its twin)")
    ax.set_ylabel("training loss")
    ax.legend(loc="upper right")
    fig.set_label(
        f"The loss is {losses[0]:.3f} at both ends of the path and rises in "
        f"between, a single hill peaking at about {max(losses):.1f} near the "
        "middle: the straight path between two equally good networks climbs "
        "far above them."
    )
    plt.show()


# --8<-- [end:draw-path]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_data(100, device)  # lesson 1.2's points around y = 2x + 1
    X_wavy, y_wavy = make_wavy_data(100, device)
    train_sets = {"straight": (X, y), "wavy": (X_wavy, y_wavy)}
    # 1000 fresh points from each source, never trained on
    val_sets = {
        "straight": make_data(1000, device),
        "wavy": make_wavy_data(1000, device),
    }
    # --8<-- [end:data]

    # --8<-- [start:fit]
    num_hidden, lr = 64, 0.05
    num_epochs = {"line": 200, "net": 500}
    truths = {"straight": lambda X: 2 * X + 1, "wavy": wavy_curve}
    models: dict[str, tuple[nn.Linear, nn.Sequential]] = {}
    losses: dict[str, dict[str, list[float]]] = {}
    print(f"{'data':<9}{'model':<6}{'train loss':>11}{'val loss':>10}")
    for name, (X_train, y_train) in train_sets.items():
        line, net = make_line().to(device), make_net(num_hidden, 0).to(device)
        models[name], losses[name] = (line, net), {}
        for kind, model in (("line", line), ("net", net)):
            # lesson 2.1's loop, with Module 1's loss
            losses[name][kind] = train(
                model, X_train, y_train, lr, num_epochs[kind], F.mse_loss
            )
        for kind, f in (("line", line), ("net", net), ("truth", truths[name])):
            train_loss = mse_on(f, X_train, y_train)
            val_loss = mse_on(f, *val_sets[name])
            print(f"{name:<9}{kind:<6}{train_loss:>11.4f}{val_loss:>10.4f}")
    # --8<-- [end:fit]

    # --8<-- [start:plot-fits]
    draw_fits(train_sets, models)
    # --8<-- [end:plot-fits]

    # --8<-- [start:plot-losses]
    draw_losses(losses)
    # --8<-- [end:plot-losses]

    # --8<-- [start:zero-start]
    line, net = make_line().to(device), make_net(num_hidden, 0).to(device)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()  # the network from zeros too, like the line
    for model in (line, net):
        F.mse_loss(model(X_wavy), y_wavy).backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        print([round(g.abs().max().item(), 4) for g in grads])  # largest |.|
    losses_zero = train(net, X_wavy, y_wavy, lr, num_epochs["net"], F.mse_loss)
    print(f"net from zeros, 500 steps: loss {losses_zero[-1]:.4f}")
    print(f"the best constant, mean(y): loss {y_wavy.var(correction=0):.4f}")
    # --8<-- [end:zero-start]

    # --8<-- [start:symmetric]
    net = make_net(num_hidden, 0).to(device)
    symmetric_start(net)  # 64 copies of one unit
    losses_sym = train(net, X_wavy, y_wavy, lr, num_epochs["net"], F.mse_loss)
    print(f"symmetric start, 500 steps: loss {losses_sym[-1]:.4f}")
    print(f"largest difference from unit 0: {unit_spread(net):.2g}")
    # --8<-- [end:symmetric]

    # --8<-- [start:line-starts]
    for seed in (1, 2):
        seed_everything(seed)
        line = nn.Linear(1, 1).to(device)  # a random start: weight and bias
        start = (line.weight.item(), line.bias.item())
        train(line, X_wavy, y_wavy, lr, num_epochs["line"], F.mse_loss)
        print(
            f"line from w = {start[0]:+.2f}, b = {start[1]:+.2f}: ends at "
            f"w = {line.weight.item():.4f}, b = {line.bias.item():.4f}"
        )
    # --8<-- [end:line-starts]

    # --8<-- [start:net-seeds]
    nets = [models["wavy"][1]]  # seed 0, trained above
    for seed in (1, 2):
        nets.append(make_net(num_hidden, seed).to(device))
        train(nets[-1], X_wavy, y_wavy, lr, num_epochs["net"], F.mse_loss)
    edges = torch.tensor([[-3.0], [3.0]], device=device)  # outside the data
    for seed, net in enumerate(nets):
        with torch.no_grad():
            at_edges = net(edges).flatten().tolist()
        print(
            f"seed {seed}: loss {mse_on(net, X_wavy, y_wavy):.4f}, "
            f"y_hat(-3) = {at_edges[0]:+.2f}, y_hat(3) = {at_edges[1]:+.2f}"
        )
    truth = wavy_curve(edges).flatten().tolist()
    print(f"true curve: y(-3) = {truth[0]:+.2f}, y(3) = {truth[1]:+.2f}")
    # --8<-- [end:net-seeds]

    # --8<-- [start:plot-seeds]
    draw_seeds(nets, models["wavy"][0])
    # --8<-- [end:plot-seeds]

    # --8<-- [start:path]
    shuffle = torch.Generator().manual_seed(0)
    order = torch.randperm(num_hidden, generator=shuffle)  # 0..63, shuffled
    twin = permute_units(nets[0], order.to(device))
    ts = torch.linspace(0, 1, 21).tolist()
    path = [mse_on(blend(nets[0], twin, t), X_wavy, y_wavy) for t in ts]
    print(f"network {path[0]:.4f}, twin {path[-1]:.4f}, halfway {path[10]:.4f}")
    # the line, for contrast: halfway between its best and its zero start
    best, zero = models["wavy"][0], make_line().to(device)
    ends = [mse_on(m, X_wavy, y_wavy) for m in (best, zero)]
    halfway = mse_on(blend(best, zero, 0.5), X_wavy, y_wavy)
    print(f"line: ends {ends[0]:.4f} and {ends[1]:.4f}, halfway {halfway:.4f}")
    # --8<-- [end:path]

    # --8<-- [start:plot-path]
    draw_path(ts, path)
    # --8<-- [end:plot-path]

    # --8<-- [start:review-batches]
    dataset = TensorDataset(X, y)  # lesson 1.2's 100 points
    for drop_last in (False, True):
        loader = DataLoader(
            dataset,
            batch_size=32,
            shuffle=True,
            drop_last=drop_last,
            generator=torch.Generator().manual_seed(0),
        )
        sizes = [len(X_batch) for X_batch, _ in loader]
        print(f"drop_last={drop_last}: {len(loader)} batches of {sizes}")
    # --8<-- [end:review-batches]

    # --8<-- [start:review-decay]
    w = torch.tensor(1.0, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1, weight_decay=0.01)
    w.grad = torch.tensor(0.5)  # as if backward had computed it
    optimizer.step()  # w - lr * (grad + weight_decay * w)
    print(f"one step with weight decay: w = {w.item():.4f}")
    seed_everything(0)
    dropout = nn.Dropout(p=0.5)  # a new module is in training mode
    print(f"dropout, training:   {dropout(torch.ones(8)).tolist()}")
    dropout.eval()
    print(f"dropout, evaluation: {dropout(torch.ones(8)).tolist()}")
    # --8<-- [end:review-decay]

    # --8<-- [start:review-backward]
    # float64 on the CPU, so that only rounding separates two right answers
    gen = torch.Generator().manual_seed(0)
    X_batch = torch.randn(200, 2, dtype=torch.float64, generator=gen)
    grad_Z1 = torch.randn(200, 16, dtype=torch.float64, generator=gen)
    W1 = torch.randn(2, 16, dtype=torch.float64, generator=gen).requires_grad_()
    b1 = torch.randn(16, dtype=torch.float64, generator=gen).requires_grad_()
    Z1 = X_batch @ W1 + b1  # (200, 16): b1 added to every row
    Z1.backward(grad_Z1)  # autograd, given the gradient arriving from above
    rules = {"W1": X_batch.T @ grad_Z1, "b1": grad_Z1.sum(dim=0)}  # by hand
    for name, param in (("W1", W1), ("b1", b1)):
        assert param.grad is not None
        gap = (rules[name] - param.grad).abs().max().item()
        print(f"{name}: {tuple(rules[name].shape)}, largest gap {gap:.1e}")
    # --8<-- [end:review-backward]


if __name__ == "__main__":
    main()
