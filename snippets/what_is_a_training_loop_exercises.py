"""Lesson 1.1, exercises: learning rates, a forgotten zero_grad, a second
parameter."""

import matplotlib.pyplot as plt
import torch

# isort: split
from helpers import get_device, log_scale, seed_everything
from what_is_a_training_loop import make_data, mse, train


# --8<-- [start:ex1-def]
def steps_to_reach(loss_history: list[float], threshold: float) -> int | None:
    """The first step whose loss is below threshold, or None if none does."""
    for step, loss in enumerate(loss_history):
        if loss < threshold:
            return step
    return None


# --8<-- [end:ex1-def]


# --8<-- [start:ex1-plot]
def draw_learning_rates(loss_histories: dict[float, list[float]]) -> None:
    """The loss per step for each learning rate, on a log scale."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    for lr, loss_history in loss_histories.items():
        ax.plot(loss_history, label=f"lr = {lr}")
    log_scale(ax)
    ax.set(
        title="One problem, five learning rates",
        xlabel="step",
        ylabel="loss L (log scale)",
    )
    ax.legend()
    fig.set_label(
        "Loss per step for five learning rates on a log scale. The smallest "
        "creeps down, the middle ones drop fast and level off, and the largest "
        "climbs steadily."
    )
    plt.show()


# --8<-- [end:ex1-plot]


# --8<-- [start:ex2-def]
def train_without_zero_grad(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> list[float]:
    """The loop of `train` with step 1 left out: gradients pile up in w.grad."""
    w = torch.zeros((), device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr)
    loss_history: list[float] = []
    for _ in range(num_steps):
        # 1. (forgotten) optimizer.zero_grad()
        y_hat = w * X  # 2. forward
        loss = mse(y_hat, y)  # 3. loss
        loss.backward()  # 4. backward: ADDS dL/dw to whatever w.grad holds
        loss_history.append(loss.item())
        optimizer.step()  # 5. step, with the sum of every gradient so far
    return loss_history


# --8<-- [end:ex2-def]


# --8<-- [start:ex2-plot]
def draw_zero_grad(
    with_zero_grad: list[float], without_zero_grad: list[float]
) -> None:
    """The loss per step of the loop with zero_grad and of the one without."""
    fig, ax = plt.subplots(figsize=(5.4, 3.6), layout="constrained")
    ax.plot(with_zero_grad, label="with zero_grad")
    ax.plot(without_zero_grad, label="without zero_grad")
    ax.set(
        title="Forgetting to zero the gradients", xlabel="step", ylabel="loss L"
    )
    # below the plot: the lines fill the box
    fig.legend(loc="outside lower center", ncols=2)
    fig.set_label(
        "Loss per step. With zero_grad the loss drops to near zero within a "
        "few steps and stays there; without it the loss swings between near "
        "zero and a little above where it started, again and again, and never "
        "settles."
    )
    plt.show()


# --8<-- [end:ex2-plot]


# --8<-- [start:ex3-def]
def train_with_bias(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> tuple[float, float, list[float]]:
    """Fit y_hat = w * X + b, starting from w = b = 0.

    Returns w, b and the loss per step.
    """
    w = torch.zeros((), device=X.device, requires_grad=True)
    b = torch.zeros((), device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)  # the optimizer now updates both
    loss_history: list[float] = []
    for _ in range(num_steps):
        optimizer.zero_grad()  # 1. zero the gradients (of w and of b)
        y_hat = w * X + b  # 2. forward
        loss = mse(y_hat, y)  # 3. loss
        loss.backward()  # 4. backward: fills w.grad and b.grad
        loss_history.append(loss.item())
        optimizer.step()  # 5. step: both parameters move
    return w.item(), b.item(), loss_history


# --8<-- [end:ex3-def]


# --8<-- [start:ex3-plot]
def draw_bias(
    X: torch.Tensor, y: torch.Tensor, w_only: float, w: float, b: float
) -> None:
    """The purchases with a bag fee and the fitted lines w x and w x + b."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    x_line = torch.linspace(0.0, 2.7, 50)
    ax.scatter(
        X.cpu(),
        y.cpu(),
        color="black",
        s=15,
        label="purchases with a bag fee",
    )
    ax.plot(
        x_line, w_only * x_line, "--", label=f"y_hat = w x  (w = {w_only:.2f})"
    )
    ax.plot(
        x_line,
        w * x_line + b,
        label=f"y_hat = w x + b  (w = {w:.2f}, b = {b:.2f})",
    )
    ax.set(
        title="Without a bias, the line cannot include the fee",
        xlabel="weight x (kg)",
    )
    ax.set_ylabel("price y (euros)")
    ax.legend()
    fig.set_label(
        "The purchases with a bag fee as dots. The line forced through the "
        "origin is too low for light purchases and too high for heavy ones; "
        "the line with a bias b runs through the dots."
    )
    plt.show()


# --8<-- [end:ex3-plot]


def main() -> None:
    # The lesson's data, as the page has it already.
    seed_everything(0)
    device = get_device()
    X, y = make_data()
    X, y = X.to(device), y.to(device)

    # --8<-- [start:ex1]
    threshold = 0.1
    loss_histories: dict[float, list[float]] = {}
    for lr in [0.01, 0.1, 0.3, 0.4, 0.5]:
        _, _, loss_history = train(X, y, lr=lr, num_steps=30)
        loss_histories[lr] = loss_history
        step = steps_to_reach(loss_history, threshold)
        reached = (
            f"loss < {threshold} at step {step}"
            if step is not None
            else "never"
        )
        print(f"lr = {lr:<5}  final loss = {loss_history[-1]:9.4f}   {reached}")
    draw_learning_rates(loss_histories)
    # --8<-- [end:ex1]

    # --8<-- [start:ex2]
    num_steps = 40
    _, _, with_zero_grad = train(X, y, lr=0.1, num_steps=num_steps)
    without_zero_grad = train_without_zero_grad(
        X, y, lr=0.1, num_steps=num_steps
    )
    for step in range(10):
        print(
            f"step {step:2d}   with zero_grad: {with_zero_grad[step]:8.4f}"
            f"   without: {without_zero_grad[step]:8.4f}"
        )
    draw_zero_grad(with_zero_grad, without_zero_grad)
    # --8<-- [end:ex2]

    # --8<-- [start:ex3]
    seed_everything(0)
    # the same purchases, plus a 1-euro bag fee
    X_bag, y_bag = make_data(true_b=1.0)
    X_bag, y_bag = X_bag.to(device), y_bag.to(device)
    w_only, _, loss_w_only = train(X_bag, y_bag, lr=0.1, num_steps=500)
    w, b, loss_w_b = train_with_bias(X_bag, y_bag, lr=0.2, num_steps=500)
    print(
        f"y_hat = w * x       w = {w_only:.2f}            "
        f"final loss = {loss_w_only[-1]:.4f}"
    )
    print(
        f"y_hat = w * x + b   w = {w:.2f}   "
        f"b = {b:.2f}   final loss = {loss_w_b[-1]:.4f}"
    )
    draw_bias(X_bag, y_bag, w_only, w, b)
    # --8<-- [end:ex3]


if __name__ == "__main__":
    main()
