"""Lesson 1.1: a whole training loop that learns one number, the price per
kilogram."""

# --8<-- [start:imports]
import matplotlib.pyplot as plt
import torch

# --8<-- [end:imports]
# isort: split
from helpers import get_device, log_scale, seed_everything


# --8<-- [start:make-data]
def make_data(
    num_points: int = 20,
    true_w: float = 3.0,
    true_b: float = 0.0,
    noise: float = 0.3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights x in kg (between 0.5 and 2.5) and the noisy prices y paid."""
    # Drawn on the CPU so every device gets the same numbers from the same seed.
    X = 0.5 + 2.0 * torch.rand(num_points)  # (N,)
    y = true_w * X + true_b + noise * torch.randn(num_points)  # (N,)
    return X, y


# --8<-- [end:make-data]


# --8<-- [start:mse]
def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error: the mean squared gap between prediction and truth."""
    return ((y_hat - y) ** 2).mean()


# --8<-- [end:mse]


# --8<-- [start:train]
def train(
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_steps: int,
    print_every: int = 0,
) -> tuple[float, list[float], list[float]]:
    """Fit y_hat = w * X by gradient descent, starting from w = 0.

    Returns the final w, the w each step started from, and the loss each step
    measured.
    """
    # the one parameter
    w = torch.zeros((), device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr)
    w_history: list[float] = []
    loss_history: list[float] = []
    for step in range(num_steps):
        optimizer.zero_grad()  # 1. zero the gradients
        y_hat = w * X  # 2. forward: a predicted price for every weight
        loss = mse(y_hat, y)  # 3. loss: one number, how wrong w is
        loss.backward()  # 4. backward: autograd puts dL/dw into w.grad
        assert w.grad is not None  # set by backward; the check reassures mypy
        w_history.append(w.item())  # before the step: the w that gave this loss
        loss_history.append(loss.item())
        if print_every and step % print_every == 0:
            print(
                f"step {step:2d}   w = {w.item():7.4f}   "
                f"loss = {loss.item():8.4f}   grad_w = {w.grad.item():8.4f}"
            )
        optimizer.step()  # 5. step: w <- w - lr * w.grad
    return w.item(), w_history, loss_history


# --8<-- [end:train]


# --8<-- [start:plot-helpers]
def draw_training(
    X: torch.Tensor,
    y: torch.Tensor,
    w_fit: float,
    w_history: list[float],
    loss_history: list[float],
) -> None:
    """The line at the first steps and at the end (top), the loss (bottom)."""
    fig, (ax_fit, ax_loss) = plt.subplots(
        2, 1, figsize=(5.4, 7), layout="constrained"
    )
    x_line = torch.linspace(0.0, 2.7, 50)
    ax_fit.scatter(X.cpu(), y.cpu(), color="black", s=15, label="purchases")
    for step in [0, 1, 2]:
        w_step = w_history[step]
        ax_fit.plot(
            x_line,
            w_step * x_line,
            "--",
            alpha=0.6,
            label=f"step {step}: w = {w_step:.2f}",
        )
    ax_fit.plot(
        x_line,
        w_fit * x_line,
        color="tab:red",
        label=f"learned: w = {w_fit:.2f}",
    )
    ax_fit.set(
        title="The line at the start of each step",
        xlabel="weight x (kg)",
        ylabel="price y (euros)",
    )
    ax_fit.legend()
    ax_loss.plot(range(len(loss_history)), loss_history, "o-")
    log_scale(ax_loss)
    ax_loss.set(
        title="The loss at each step",
        xlabel="step",
        ylabel="loss L (log scale)",
    )
    fig.set_label(
        "Top: the purchases as dots, with the line y = w x drawn at the first "
        "steps and at the end; it starts flat and swings up onto the dots. "
        "Bottom: the loss at each step on a log scale, falling steeply over "
        "the first steps and then levelling off."
    )
    plt.show()


# --8<-- [end:plot-helpers]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_data()
    X, y = X.to(device), y.to(device)
    print(f"{len(X)} purchases; the first five:")
    for x_i, y_i in zip(X[:5].tolist(), y[:5].tolist(), strict=True):
        print(f"  {x_i:.2f} kg  ->  {y_i:.2f} euros")
    # --8<-- [end:data]

    # --8<-- [start:guesses]
    for w_guess in [0.0, 2.0, 3.0, 4.0]:
        y_hat = w_guess * X
        print(f"w = {w_guess:.1f}   loss = {mse(y_hat, y).item():.4f}")
    # --8<-- [end:guesses]

    # --8<-- [start:fit]
    lr = 0.1
    num_steps = 12
    w_fit, w_history, loss_history = train(
        X, y, lr=lr, num_steps=num_steps, print_every=1
    )
    print(f"learned w = {w_fit:.4f} euros per kg")
    # --8<-- [end:fit]

    # --8<-- [start:plot]
    draw_training(X, y, w_fit, w_history, loss_history)
    # --8<-- [end:plot]

    # --8<-- [start:too-large]
    _ = train(X, y, lr=0.6, num_steps=6, print_every=1)
    # --8<-- [end:too-large]


if __name__ == "__main__":
    main()
