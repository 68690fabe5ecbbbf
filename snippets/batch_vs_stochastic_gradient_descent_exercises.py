"""Solutions to the exercises of lesson 1.3, Batch vs. Stochastic Gradient
Descent."""

import torch

# isort: split
from batch_vs_stochastic_gradient_descent import (
    History,
    best_loss,
    count_moves,
    full_losses,
    make_batches,
    train,
)
from helpers import get_device, seed_everything
from linear_regression import make_data, mse


# --8<-- [start:ex2]
def batch_gradients(
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    num_batches: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """dL/dw at w = 0, b = 0 on num_batches random batches of batch_size
    examples each."""
    w = torch.zeros((), device=X.device, requires_grad=True)
    b = torch.zeros((), device=X.device, requires_grad=True)
    grads: list[float] = []
    for _ in range(num_batches):
        batch = torch.randperm(len(X), generator=generator)[:batch_size].to(
            X.device
        )
        w.grad, b.grad = None, None  # zero the gradients of both parameters
        y_hat = w * X[batch] + b  # forward
        loss = mse(y_hat, y[batch])  # loss
        loss.backward()  # backward (no step: we only look at the gradient)
        assert w.grad is not None
        grads.append(w.grad.item())
    return torch.tensor(grads)


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def train_sgd_decaying(
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    decay: float,
    num_epochs: int,
    generator: torch.Generator,
) -> History:
    """SGD (batch size 1) with learning rate lr / (1 + t / decay) at step t."""
    w = torch.zeros((), device=X.device, requires_grad=True)
    b = torch.zeros((), device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    # the start is entry 0, as in train
    history = History(w=[w.item()], b=[b.item()], steps_per_epoch=len(X))
    for _ in range(num_epochs):
        for batch in make_batches(len(X), 1, generator):
            for group in optimizer.param_groups:
                # the rate for this step: t = steps taken so far
                group["lr"] = lr / (1 + history.num_steps / decay)
            optimizer.zero_grad()  # zero the gradients
            y_hat = w * X[batch.to(X.device)] + b  # forward
            loss = mse(y_hat, y[batch.to(X.device)])  # loss
            loss.backward()  # backward
            optimizer.step()  # step
            history.w.append(w.item())
            history.b.append(b.item())
    return history


# --8<-- [end:ex3]


def main() -> None:
    # The lesson's data (the lesson page already has X, y, lr and num_epochs).
    seed_everything(0)
    X, y = make_data(num_points=100, device=get_device())
    lr, num_epochs = 0.1, 30

    # --8<-- [start:ex1-run]
    generator = torch.Generator().manual_seed(0)
    sizes = [
        len(batch)
        for batch in make_batches(len(X), batch_size=32, generator=generator)
    ]
    print(f"N = {len(X)}, B = 32: batch sizes in one epoch {sizes}")
    generator = torch.Generator().manual_seed(0)
    history = train(
        X, y, batch_size=32, lr=lr, num_epochs=num_epochs, generator=generator
    )
    print(
        f"{history.steps_per_epoch} steps per epoch, "
        f"{history.num_steps} steps in {num_epochs} epochs"
    )
    print(
        f"w changed on {count_moves(history.w)} of {history.num_steps} "
        f"steps, b on {count_moves(history.b)}"
    )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    w_full = torch.zeros((), requires_grad=True, device=X.device)
    # the full-batch gradient at w = 0, b = 0
    mse(w_full * X + 0.0, y).backward()
    assert w_full.grad is not None
    print(f"full batch: dL/dw = {w_full.grad.item():+.3f}")
    generator = torch.Generator().manual_seed(0)
    num_batches = 2000
    for batch_size in (1, 4, 16, 64):
        grads = batch_gradients(X, y, batch_size, num_batches, generator)
        mean, spread = grads.mean().item(), grads.std().item()
        # how far the mean of num_batches random draws typically strays
        standard_error = spread / num_batches**0.5
        print(
            f"B = {batch_size:>2}: mean {mean:+.3f} "
            f"(standard error {standard_error:.3f}), spread (std) {spread:.3f}"
        )
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    floor = best_loss(X, y)
    generator = torch.Generator().manual_seed(0)
    constant = train(
        X, y, batch_size=1, lr=lr, num_epochs=num_epochs, generator=generator
    )
    generator = torch.Generator().manual_seed(0)
    decaying = train_sgd_decaying(
        X, y, lr=lr, decay=100, num_epochs=num_epochs, generator=generator
    )
    for name, history in (("constant", constant), ("decaying", decaying)):
        # the last three epochs
        excess = full_losses(history, X, y)[-300:] - floor
        print(
            f"{name} lr: last 3 epochs, "
            f"loss above the best by {excess.mean().item():.4f} on average, "
            f"{excess.max().item():.4f} at worst"
        )
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
