"""Solutions to the exercises of lesson 2.5, Mini-batching and Data
Pipelines."""

from typing import Any

import matplotlib.pyplot as plt
import torch
from torch.utils.data import DataLoader, TensorDataset

# isort: split
# --8<-- [start:ex3-imports]
from torch.utils.data import BatchSampler, RandomSampler

# --8<-- [end:ex3-imports]
# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from mini_batching_and_data_pipelines import (
    Moons,
    loader_with_workers,
    make_mlp,
    plot_epochs,
    train,
)


# --8<-- [start:ex1-draw]
def draw_scaling(runs: dict[str, list[float]]) -> None:
    """Two panels: B = 16 against B = 64 at the scaled rate, then against
    B = 64 at the unscaled rate and the full batch at its scaled rate."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.4, 5.8), sharex=True, layout="constrained"
    )
    names = list(runs)  # B = 16, B = 64 at 2.0, B = 64 at 0.5, B = 200
    held = plot_epochs(top, {name: runs[name] for name in names[:2]})
    top.set_title("The rule holds: B = 64 at the scaled rate")
    rest = [names[0], *names[2:]]
    broke = plot_epochs(bottom, {name: runs[name] for name in rest})
    bottom.set_title("Unscaled, or scaled too far")
    bottom.set_xlabel("epoch")
    fig.set_label(
        "Two panels, the loss on all the data after each epoch, on log "
        f"scales. Top: {held}; B = 64 tracks B = 16 between spikes. Bottom: "
        f"{broke}; neither gets near B = 16."
    )
    plt.show()


# --8<-- [end:ex1-draw]


# --8<-- [start:ex2]
class JitteredMoons(Moons):
    """Every time a point is fetched, it moves by fresh Gaussian noise."""

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, label = super().__getitem__(i)
        return x + 0.05 * torch.randn(2), label  # drawn in whichever process


# --8<-- [end:ex2]


# --8<-- [start:ex3]
def whole_batches(
    dataset: TensorDataset, batch_size: int, seed: int
) -> DataLoader[Any]:
    """A shuffling loader that fetches a batch with one dataset[indices]."""
    generator = torch.Generator().manual_seed(seed)
    random_order = RandomSampler(dataset, generator=generator)
    sampler = BatchSampler(random_order, batch_size, drop_last=False)
    # batch_size=None: each list of indices goes to dataset[...] as it is,
    # and nothing is collated
    return DataLoader(
        dataset, sampler=sampler, batch_size=None, generator=generator
    )


# --8<-- [end:ex3]


def main() -> None:
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, torch.device("cpu"))
    X_all, y_all = X.to(device), y.to(device)
    dataset = Moons(X, y)
    lr, num_epochs = 0.5, 50
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(
        dataset, batch_size=16, shuffle=True, generator=generator
    )
    model = make_mlp().to(device)
    runs = {"B = 16": train(model, loader, X_all, y_all, lr, num_epochs)[0]}

    # --8<-- [start:ex1-run]
    scaled = {"B = 16, lr 0.5": runs["B = 16"]}  # the demonstration's run
    for batch_size, lr in ((64, 2.0), (64, 0.5), (200, 6.25)):
        generator = torch.Generator().manual_seed(0)
        loader = DataLoader(
            dataset, batch_size=batch_size, shuffle=True, generator=generator
        )
        model = make_mlp().to(device)  # the same start as every run
        losses, _ = train(model, loader, X_all, y_all, lr, num_epochs)
        scaled[f"B = {batch_size}, lr {lr}"] = losses
    print("loss after epochs 10, 20, 30, 40 and 50:")
    for name, losses in scaled.items():
        print(f"{name:<16}", "  ".join(f"{loss:.3f}" for loss in losses[9::10]))
    draw_scaling(scaled)
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    def one_epoch(loader: DataLoader[Any]) -> torch.Tensor:
        return torch.cat([X_batch for X_batch, _ in loader])  # (200, 2)

    jittered = JitteredMoons(X, y)
    loader = loader_with_workers(jittered, batch_size=4, num_workers=2)
    epoch_1, epoch_2 = one_epoch(loader), one_epoch(loader)
    again = one_epoch(loader_with_workers(jittered, 4, num_workers=2))
    no_workers = one_epoch(loader_with_workers(jittered, 4, num_workers=0))
    print(f"a new loader, same seed: {torch.equal(epoch_1, again)}")
    print(f"epoch 2 the same as epoch 1: {torch.equal(epoch_1, epoch_2)}")
    print(f"num_workers=0 the same as 2: {torch.equal(epoch_1, no_workers)}")
    # points all at (0, 0): worker 0 makes batch 1, worker 1 batch 2, and
    # what they fetch is their noise alone
    zeros = JitteredMoons(torch.zeros(8, 2), torch.zeros(8, 1))
    (noise_0, _), (noise_1, _) = loader_with_workers(zeros, 4, num_workers=2)
    print(f"two workers, the same noise: {torch.equal(noise_0, noise_1)}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    tensors = TensorDataset(X, y)
    generator = torch.Generator().manual_seed(0)
    usual = DataLoader(tensors, 16, shuffle=True, generator=generator)
    fast = whole_batches(tensors, batch_size=16, seed=0)
    for epoch in (1, 2):
        same = all(
            torch.equal(a[0], b[0]) for a, b in zip(usual, fast, strict=True)
        )
        print(f"epoch {epoch}: the same {len(fast)} batches: {same}")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
