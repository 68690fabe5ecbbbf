"""Solutions to the exercises of lesson 3.7, Modern Regularization and
Generalization Techniques."""

import torch
from torch import nn

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from modern_regularization import (
    Augment,
    EarlyStopping,
    fit,
    make_images,
    random_shift,
    train_images,
)
from regularization_and_overfitting import MLP, copy_of, evaluate, split


# --8<-- [start:ex2]
def shifts_of(max_shift: int) -> Augment:
    """random_shift with another largest shift."""

    def augment(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return random_shift(X, generator, max_shift=max_shift)

    return augment


# --8<-- [end:ex2]


def main() -> None:
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(2100, device, noise=0.35)
    generator = torch.Generator().manual_seed(0)
    train, val, _ = split(X_all, y_all, [100, 1000, 1000], generator)
    start = MLP(width=128).to(device)
    lr, max_steps = 0.1, 1000

    # --8<-- [start:ex1-run]
    for min_delta in (0.0, 0.001, 0.01):
        stopper = EarlyStopping(patience=20, min_delta=min_delta)
        losses = fit(copy_of(start), train, val, lr, max_steps, stopper)
        print(
            f"min_delta {min_delta:<5}: stopped after step {len(losses)}, "
            f"kept step {stopper.best_step}, val loss {stopper.best_loss:.3f}"
        )
    # --8<-- [end:ex1-run]

    dice = torch.Generator().manual_seed(0)
    images = make_images(40, max_row=2, max_col=2, noise=0.2, generator=dice)
    images_val = make_images(1000, 4, 5, noise=0.2, generator=dice)
    images = (images[0].to(device), images[1].to(device))
    images_val = (images_val[0].to(device), images_val[1].to(device))

    # --8<-- [start:ex2-run]
    dice = torch.Generator().manual_seed(0)  # images_val's draws, no noise:
    make_images(40, max_row=2, max_col=2, noise=0.0, generator=dice)
    clean_val = make_images(1000, 4, 5, noise=0.0, generator=dice)[0]
    col5 = (clean_val.amax(dim=1).argmax(dim=1) == 5).to(device)  # in column 5
    for max_shift in (1, 2, 4):
        model = train_images(shifts_of(max_shift), images, num_epochs=400)
        val_acc = evaluate(model, images_val)[1]
        acc5 = evaluate(model, (images_val[0][col5], images_val[1][col5]))[1]
        print(f"max_shift {max_shift}: val {val_acc:.1%}, column 5 {acc5:.1%}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    # float64 on the CPU, for an exact comparison (Apple GPUs have no float64)
    seed_everything(0)
    Z = torch.randn(8, 3, dtype=torch.float64)  # (N, C)
    batch_norm = nn.BatchNorm1d(3, dtype=torch.float64)
    batch_norm(torch.randn(8, 3, dtype=torch.float64))  # a training batch
    for module in (batch_norm, nn.LayerNorm(3, dtype=torch.float64)):
        module.eval()
        alone, in_batch = module(Z[:1]), module(Z)[:1]  # one sample, then 8
        module.train()
        in_training = module(Z)[:1]
        print(f"{type(module).__name__}: alone = in a batch? ", end="")
        print(f"{torch.equal(alone, in_batch)}; in training mode? ", end="")
        print(torch.equal(in_batch, in_training))
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
