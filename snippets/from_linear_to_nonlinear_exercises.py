"""Solutions to the exercises of lesson 2.1, From Linear to Nonlinear: Why
Neural Networks?"""

import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
from from_linear_to_nonlinear import (
    accuracy,
    draw_decision_boundary,
    make_moons,
    max_error,
    relu_interpolant,
    train,
)
from helpers import get_device, seed_everything


# --8<-- [start:ex1]
def count_parameters(model: nn.Module) -> int:
    """How many numbers training adjusts: every entry of every parameter."""
    return sum(p.numel() for p in model.parameters())


def count_by_formula(sizes: list[int]) -> int:
    """Layer sizes [n_0, n_1, ..., n_L]: each layer has n_in * n_out weights
    and n_out biases."""
    inputs, outputs = sizes[:-1], sizes[1:]  # each layer's n_in and n_out
    return sum(
        n_in * n_out + n_out
        for n_in, n_out in zip(inputs, outputs, strict=True)
    )


def make_mlp(sizes: list[int]) -> nn.Sequential:
    """nn.Linear layers of the given sizes with a ReLU between each two."""
    inputs, outputs = sizes[:-1], sizes[1:]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(inputs, outputs, strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no activation after the output


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def collapse(first: nn.Linear, second: nn.Linear) -> nn.Linear:
    """One nn.Linear that computes second(first(x)): weight W2 @ W1, bias
    W2 @ b1 + b2."""
    W1, b1, W2, b2 = first.weight, first.bias, second.weight, second.bias
    single = nn.Linear(first.in_features, second.out_features)
    with torch.no_grad():
        single.weight.copy_(W2 @ W1)
        single.bias.copy_(W2 @ b1 + b2)
    return single.to(W1.device)


# --8<-- [end:ex2]


# --8<-- [start:ex2-plot]
def draw_collapsed(
    single: nn.Linear, linear: nn.Linear, X: torch.Tensor, y: torch.Tensor
) -> None:
    """One panel: the collapsed layer's boundary over the points, with
    logistic regression's boundary dashed on top, and a legend below."""
    fig, ax = plt.subplots(figsize=(5.4, 4.6), layout="constrained")
    draw_decision_boundary(ax, single, X, y, "Two layers, no activation")
    x_lim, y_lim = ax.get_xlim(), ax.get_ylim()
    # logistic regression's boundary, logit 0: x2 = -(w1 x1 + b) / w2
    (w1, w2), b = linear.weight.flatten().tolist(), linear.bias.item()
    x1 = torch.linspace(x_lim[0], x_lim[1], 2)
    x2 = -(w1 * x1 + b) / w2
    ax.plot(x1, x2, "--", color="tab:red", lw=2, label="logistic regression")
    ax.plot([], [], "-", color="black", lw=1, label="two layers, collapsed")
    ax.set_xlim(x_lim)
    ax.set_ylim(y_lim)
    # a little larger than usual: a solution's fold narrows the figure
    ax.tick_params(labelsize=11)
    ax.title.set_fontsize(13)
    fig.legend(loc="outside lower center", ncols=2, fontsize=11)
    fig.set_label(
        "The two moons with the boundary of the two-layer network without an "
        "activation, a straight line, and logistic regression's boundary "
        "dashed: the two lines almost coincide, and both put the tip of each "
        "moon on the wrong side."
    )
    plt.show()


# --8<-- [end:ex2-plot]


# --8<-- [start:ex3]
def xor_network() -> nn.Sequential:
    """A 2 -> 2 -> 1 ReLU network with weights set by hand: logit
    ReLU(x1 + x2) - 2 ReLU(x1 + x2 - 1) - 0.5."""
    hidden = nn.Linear(2, 2)
    output = nn.Linear(2, 1)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
        hidden.bias.copy_(torch.tensor([0.0, -1.0]))
        output.weight.copy_(torch.tensor([[1.0, -2.0]]))
        output.bias.fill_(-0.5)
    return nn.Sequential(hidden, nn.ReLU(), output)


# --8<-- [end:ex3]


# --8<-- [start:ex4]
def train_regression(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_epochs: int,
) -> list[float]:
    """The lesson's loop with Module 1's loss, the mean squared error."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses: list[float] = []
    for _ in range(num_epochs):
        optimizer.zero_grad()  # 1. zero the gradients
        y_hat = model(x)  # 2. forward
        loss = F.mse_loss(y_hat, y)  # 3. loss
        loss.backward()  # 4. backward
        optimizer.step()  # 5. step
        losses.append(loss.item())
    return losses


# --8<-- [end:ex4]


def main() -> None:
    # The lesson's data and settings (the lesson page already has them).
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)
    X_test, y_test = make_moons(1000, device)
    lr, num_epochs = 1.0, 500
    x_low, x_high = -math.pi, math.pi
    linear = nn.Linear(2, 1).to(device)  # logistic regression, trained
    train(linear, X, y, lr, num_epochs)

    # --8<-- [start:ex1-run]
    for sizes in ([2, 64, 64, 1], [784, 128, 10]):
        model = make_mlp(sizes)
        print(
            f"{sizes}: formula {count_by_formula(sizes)}, "
            f"PyTorch {count_parameters(model)}"
        )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    seed_everything(0)  # the same start on every run
    first, second = nn.Linear(2, 16), nn.Linear(16, 1)
    no_activation = nn.Sequential(first, second).to(device)
    losses = train(no_activation, X, y, lr, num_epochs)
    print(
        f"no activation: loss {losses[-1]:.4f}, accuracy "
        f"{accuracy(no_activation, X, y):.1%} (train), "
        f"{accuracy(no_activation, X_test, y_test):.1%} (test)"
    )
    single = collapse(first, second)
    with torch.no_grad():
        gap = (no_activation(X) - single(X)).abs().max().item()
    print(f"largest difference between their logits: {gap:.1e}")
    for name, layer in (
        ("two layers as one", single),
        ("logistic regression", linear),
    ):
        (w1, w2), b = layer.weight.flatten().tolist(), layer.bias.item()
        print(f"{name:<19} w1 = {w1:+.3f}, w2 = {w2:+.3f}, b = {b:+.3f}")
        # the boundary, logit 0: w1 x1 + w2 x2 + b = 0, solved for x2
        print(f"{'':<19} boundary x2 = {-w1 / w2:.3f} x1 + {-b / w2:.3f}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex2-draw]
    draw_collapsed(single, linear, X, y)
    # --8<-- [end:ex2-draw]

    # --8<-- [start:ex3-run]
    X_xor = torch.tensor(
        [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=device
    )
    y_xor = torch.tensor([[0.0], [1.0], [1.0], [0.0]], device=device)
    xor_net = xor_network().to(device)
    with torch.no_grad():
        logits = xor_net(X_xor)
    for point, logit, label in zip(X_xor, logits, y_xor, strict=True):
        print(
            f"x = {point.tolist()}: logit {logit.item():+.1f}, "
            f"class {int(logit.item() > 0)}, label {int(label.item())}"
        )
    print(f"accuracy: {accuracy(xor_net, X_xor, y_xor):.0%}")
    # --8<-- [end:ex3-run]

    # --8<-- [start:ex4-run]
    x_train = torch.linspace(x_low, x_high, 200, device=device)[:, None]
    y_train = torch.sin(x_train)  # (200, 1)
    seed_everything(0)  # the same random start on every run
    trained = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 1)).to(
        device
    )
    losses = train_regression(
        trained, x_train, y_train, lr=0.05, num_epochs=3000
    )
    hand_made = relu_interpolant(torch.sin, x_low, x_high, 16).to(device)
    with torch.no_grad():
        hand_loss = F.mse_loss(hand_made(x_train), y_train).item()
    print(
        f"trained:   loss {losses[999]:.5f}, {losses[1999]:.5f}, "
        f"{losses[2999]:.5f} after 1000, 2000, 3000 epochs; largest error "
        f"{max_error(trained, torch.sin, x_low, x_high, device):.4f}"
    )
    print(
        f"hand-made: loss {hand_loss:.5f}; largest error "
        f"{max_error(hand_made, torch.sin, x_low, x_high, device):.4f}"
    )
    # --8<-- [end:ex4-run]


if __name__ == "__main__":
    main()
