"""Lesson 1.2: fit a line by gradient descent, first with hand-derived
gradients, then autograd."""

# --8<-- [start:imports]
import matplotlib.pyplot as plt
import torch
from torch import nn

# --8<-- [end:imports]
# isort: split
from helpers import get_device, seed_everything


# --8<-- [start:make-data]
def make_data(
    num_points: int,
    device: torch.device,
    x_low: float = -2.0,
    x_high: float = 2.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw points around the line y = 2x + 1: x uniform on [x_low, x_high),
    plus Gaussian noise of standard deviation 0.5."""
    X = x_low + (x_high - x_low) * torch.rand(num_points, 1)  # (N, 1)
    noise = 0.5 * torch.randn(num_points, 1)  # (N, 1)
    y = 2 * X + 1 + noise  # (N, 1)
    # Drawn on the CPU, then moved: the same seed gives the same points on
    # every device.
    return X.to(device), y.to(device)


# --8<-- [end:make-data]


# --8<-- [start:loss]
def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error: the average of the squared differences."""
    return ((y_hat - y) ** 2).mean()


# --8<-- [end:loss]


# --8<-- [start:gradients]
def gradients_by_hand(
    X: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The partial derivatives of the MSE in w and b, derived by hand above."""
    error = y_hat - y  # (N, 1): e_i = y_hat_i - y_i
    grad_w = 2 * (error * X).mean()  # (2/N) * sum of e_i * x_i
    grad_b = 2 * error.mean()  # (2/N) * sum of e_i
    return grad_w, grad_b


# --8<-- [end:gradients]


# --8<-- [start:check-gradients-def]
def check_gradients(
    X: torch.Tensor, y: torch.Tensor, w_value: float, b_value: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (by hand, by autograd) gradients at one point (w, b).

    Each is a tensor [dL/dw, dL/db].

    The check runs in float64 on the CPU: double precision makes rounding noise
    tiny, and Apple GPUs (MPS) have no float64.
    """
    X, y = X.cpu().double(), y.cpu().double()
    w = torch.tensor(w_value, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b_value, dtype=torch.float64, requires_grad=True)
    y_hat = w * X + b
    loss = mse(y_hat, y)
    loss.backward()  # autograd fills w.grad and b.grad
    # detach: the hand formula needs only y_hat's values, not autograd's
    # record of them
    grad_w, grad_b = gradients_by_hand(X, y, y_hat.detach())
    # .grad is optional; tell the type checker it is set
    assert w.grad is not None
    assert b.grad is not None
    by_hand = torch.stack([grad_w, grad_b])
    by_autograd = torch.stack([w.grad, b.grad])
    return by_hand, by_autograd


# --8<-- [end:check-gradients-def]


# --8<-- [start:train-by-hand]
def train_by_hand(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Full-batch gradient descent with the hand-derived gradients: no autograd,
    no optimizer."""
    w = torch.zeros((), device=X.device)  # a 0-dimensional tensor: one number
    b = torch.zeros((), device=X.device)
    losses = []
    for _ in range(num_steps):
        # (no gradients to zero: we compute them from scratch on every step)
        y_hat = w * X + b  # forward, (N, 1)
        loss = mse(y_hat, y)  # loss
        grad_w, grad_b = gradients_by_hand(X, y, y_hat)  # backward, by hand
        w = w - lr * grad_w  # step: move against the gradient
        b = b - lr * grad_b
        losses.append(loss.item())
    return w, b, losses


# --8<-- [end:train-by-hand]


# --8<-- [start:train-with-autograd]
def train_with_autograd(
    X: torch.Tensor, y: torch.Tensor, lr: float, num_steps: int
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """The same loop, with autograd computing the gradients and torch.optim.SGD
    taking the step."""
    w = torch.zeros((), device=X.device, requires_grad=True)
    b = torch.zeros((), device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    losses = []
    for _ in range(num_steps):
        optimizer.zero_grad()  # zero the gradients
        y_hat = w * X + b  # forward
        loss = mse(y_hat, y)  # loss
        loss.backward()  # backward: fills w.grad and b.grad
        optimizer.step()  # step: w -= lr * w.grad, b -= lr * b.grad
        losses.append(loss.item())
    # detach: plain values, no longer tracked
    return w.detach(), b.detach(), losses


# --8<-- [end:train-with-autograd]


# --8<-- [start:closed-form-def]
def closed_form(X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The exact least-squares line, solved in one shot (float64, CPU)."""
    # (N, 2): columns x and 1
    A = torch.cat([X, torch.ones_like(X)], dim=1).cpu().double()
    # (2, 1): [w, b]
    solution = torch.linalg.lstsq(A, y.cpu().double()).solution
    return solution[0].item(), solution[1].item()


# --8<-- [end:closed-form-def]


# --8<-- [start:train-module]
def train_module(
    model: nn.Linear,
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_steps: int,
) -> list[float]:
    """The same loop once more, on an nn.Linear(1, 1): its weight is w, its
    bias is b."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(num_steps):
        optimizer.zero_grad()  # zero the gradients
        y_hat = model(X)  # forward: X @ weight.T + bias
        loss = mse(y_hat, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
        losses.append(loss.item())
    return losses


# --8<-- [end:train-module]


# --8<-- [start:plot-data-def]
def draw_data(X: torch.Tensor, y: torch.Tensor) -> None:
    """A scatter plot of the points (x, y) around the line y = 2x + 1."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    ax.scatter(X.cpu(), y.cpu(), s=12, alpha=0.7, label="data")
    ax.set_title("Synthetic data around the line y = 2x + 1")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    fig.set_label(
        "A scatter plot of points that rise from lower left to upper right, "
        "spread in a band around a straight line."
    )
    plt.show()


# --8<-- [end:plot-data-def]


# --8<-- [start:plot-results-def]
def draw_results(
    X: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor,
    losses: list[float],
) -> None:
    """The fitted line over the data (top) and the loss per step (bottom)."""
    fig, (ax_fit, ax_loss) = plt.subplots(
        2, 1, figsize=(5.4, 7), layout="constrained"
    )
    x_line = torch.linspace(-2, 2, 50)
    ax_fit.scatter(X.cpu(), y.cpu(), s=12, alpha=0.5, label="data")
    ax_fit.plot(x_line, 2 * x_line + 1, "k--", label="true line y = 2x + 1")
    ax_fit.plot(
        x_line, w.item() * x_line + b.item(), "C1", lw=2, label="fitted line"
    )
    ax_fit.set_title("The fitted line")
    ax_fit.set_xlabel("x")
    ax_fit.set_ylabel("y")
    ax_fit.legend()
    ax_loss.plot(losses)
    ax_loss.set_title("Training loss")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("MSE loss")
    fig.set_label(
        "Top: the data, the true line (dashed) and the fitted line, which "
        "nearly coincide. Bottom: the loss falls steeply in the first steps, "
        "then flattens at a value above zero."
    )
    plt.show()


# --8<-- [end:plot-results-def]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_data(num_points=100, device=device)
    print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, on {device}")
    print(f"first point: x = {X[0].item():.3f}, y = {y[0].item():.3f}")
    # --8<-- [end:data]

    # --8<-- [start:plot-data]
    draw_data(X, y)
    # --8<-- [end:plot-data]

    # --8<-- [start:check-gradients]
    by_hand, by_autograd = check_gradients(X, y, w_value=0.5, b_value=-0.3)
    print(
        f"by hand:     dL/dw = {by_hand[0].item():.6f}, "
        f"dL/db = {by_hand[1].item():.6f}"
    )
    print(
        f"by autograd: dL/dw = {by_autograd[0].item():.6f}, "
        f"dL/db = {by_autograd[1].item():.6f}"
    )
    print(
        "max absolute difference: "
        f"{(by_hand - by_autograd).abs().max().item():.1e}"
    )
    # --8<-- [end:check-gradients]

    # --8<-- [start:run-by-hand]
    lr = 0.1
    num_steps = 100
    w, b, losses = train_by_hand(X, y, lr, num_steps)
    for step in (0, 5, 10, 20, 50, num_steps - 1):
        print(f"step {step:3d}: loss {losses[step]:.4f}")
    print(
        f"learned: w = {w.item():.4f}, "
        f"b = {b.item():.4f}   (true line: w = 2, b = 1)"
    )
    print(
        "loss of the true line y = 2x + 1 on these points: "
        f"{mse(2 * X + 1, y).item():.4f}"
    )
    # --8<-- [end:run-by-hand]

    # --8<-- [start:plot-results]
    draw_results(X, y, w, b, losses)
    # --8<-- [end:plot-results]

    # --8<-- [start:closed-form]
    w_exact, b_exact = closed_form(X, y)
    print(f"gradient descent: w = {w.item():.4f}, b = {b.item():.4f}")
    print(f"least squares:    w = {w_exact:.4f}, b = {b_exact:.4f}")
    # --8<-- [end:closed-form]

    # --8<-- [start:run-with-autograd]
    w_auto, b_auto, _ = train_with_autograd(X, y, lr, num_steps)
    print(f"by hand:  w = {w.item():.6f}, b = {b.item():.6f}")
    print(f"autograd: w = {w_auto.item():.6f}, b = {b_auto.item():.6f}")
    difference = torch.stack([w - w_auto, b - b_auto]).abs().max().item()
    print(f"max absolute difference: {difference:.1e}")
    # --8<-- [end:run-with-autograd]

    # --8<-- [start:linear-init]
    for _ in range(3):
        layer = nn.Linear(1, 1)  # in_features = 1: bound 1 / sqrt(1) = 1
        print(
            f"a new nn.Linear(1, 1): w = {layer.weight.item():+.4f}, "
            f"b = {layer.bias.item():+.4f}"
        )
    layer = nn.Linear(100, 1000)  # in_features = 100: bound 1 / sqrt(100) = 0.1
    print(
        f"nn.Linear(100, 1000) weight: min {layer.weight.min().item():+.4f}, ",
        end="",
    )
    print(f"max {layer.weight.max().item():+.4f}")
    print(
        f"nn.Linear(100, 1000) bias:   min {layer.bias.min().item():+.4f}, ",
        end="",
    )
    print(f"max {layer.bias.max().item():+.4f}")
    # --8<-- [end:linear-init]

    # --8<-- [start:run-module]
    model = nn.Linear(1, 1).to(device)
    print(
        f"start: w = {model.weight.item():+.4f}, b = {model.bias.item():+.4f}"
    )
    train_module(model, X, y, lr, num_steps)
    print(
        f"end:   w = {model.weight.item():+.4f}, b = {model.bias.item():+.4f}"
    )
    # --8<-- [end:run-module]

    # --8<-- [start:frozen]
    model = nn.Linear(1, 1).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for bias_frozen in (False, True):
        # requires_grad=False freezes a parameter
        model.bias.requires_grad_(not bias_frozen)
        w_before, b_before = model.weight.item(), model.bias.item()
        optimizer.zero_grad()  # zero the gradients
        y_hat = model(X)  # forward
        loss = mse(y_hat, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
        print(f"bias frozen: {bias_frozen}")
        print(
            f"  weight.grad = {model.weight.grad}, w: "
            f"{w_before:+.4f} -> {model.weight.item():+.4f}"
        )
        print(
            f"  bias.grad   = {model.bias.grad}, b: "
            f"{b_before:+.4f} -> {model.bias.item():+.4f}"
        )
    # --8<-- [end:frozen]


if __name__ == "__main__":
    main()
