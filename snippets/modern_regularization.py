"""Lesson 3.7: early stopping with patience that restores the best weights;
batch norm against layer norm, in training and in evaluation; data
augmentation on tiny images drawn with torch, measured on validation data."""

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

# isort: split
import copy
from collections.abc import Callable

# isort: split
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything
from regularization_and_overfitting import (
    MLP,
    Data,
    copy_of,
    evaluate,
    split,
    train_and_validate,
)


# --8<-- [start:early-stopping]
class EarlyStopping:
    """Stop after `patience` evaluations without an improvement of more than
    `min_delta`; keep a copy of the best weights."""

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = float("inf")
        self.best_step = 0
        self.best_state: dict[str, torch.Tensor] = {}
        self.bad_evaluations = 0  # evaluations since the last improvement

    def should_stop(self, val_loss: float, step: int, model: nn.Module) -> bool:
        if val_loss < self.best_loss - self.min_delta:  # a real improvement
            self.best_loss, self.best_step = val_loss, step
            # a copy: state_dict() holds the live tensors, which later steps
            # would change in place
            self.best_state = copy.deepcopy(model.state_dict())
            self.bad_evaluations = 0
        else:
            self.bad_evaluations += 1
        return self.bad_evaluations >= self.patience


# --8<-- [end:early-stopping]


# --8<-- [start:fit]
def fit(
    model: nn.Module,
    train: Data,
    val: Data,
    lr: float,
    max_steps: int,
    stopper: EarlyStopping | None = None,
) -> list[float]:
    """Full-batch SGD with momentum; the validation loss after every step.
    With a stopper: stops when it says so, then loads the best weights back."""
    X, y = train
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    val_losses: list[float] = []
    for step in range(1, max_steps + 1):
        model.train()
        optimizer.zero_grad()  # zero the gradients
        logits = model(X)  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
        val_losses.append(evaluate(model, val)[0])  # in evaluation mode
        if stopper and stopper.should_stop(val_losses[-1], step, model):
            break
    if stopper:
        model.load_state_dict(stopper.best_state)  # back to the best step
    return val_losses


# --8<-- [end:fit]


# --8<-- [start:images]
L_SHAPE = torch.tensor(
    [[1, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.float32
)  # (4, 3): class 0; its mirror image, the J, is class 1


def make_images(
    num_images: int,
    max_row: int,
    max_col: int,
    noise: float,
    generator: torch.Generator,
) -> Data:
    """8x8 images of an L (label 0.0) or its mirror image (label 1.0), with
    its top-left corner at a random row <= max_row and column <= max_col,
    plus Gaussian noise. X: (N, 8, 8), y: (N, 1)."""
    y = (torch.arange(num_images) % 2).float()  # 0, 1, 0, 1, ...
    rows = torch.randint(0, max_row + 1, (num_images,), generator=generator)
    cols = torch.randint(0, max_col + 1, (num_images,), generator=generator)
    X = torch.zeros(num_images, 8, 8)
    for i in range(num_images):
        shape = L_SHAPE.flip(1) if y[i] == 1 else L_SHAPE
        X[i, rows[i] : rows[i] + 4, cols[i] : cols[i] + 3] = shape
    X = X + noise * torch.randn(X.shape, generator=generator)
    return X, y[:, None]


# --8<-- [end:images]


# --8<-- [start:augment]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def random_shift(
    X: torch.Tensor, generator: torch.Generator, max_shift: int = 2
) -> torch.Tensor:
    """Move each image by up to max_shift pixels each way, filling with 0:
    pad all around, then crop an 8x8 window at a random offset."""
    N, H, W = X.shape
    padded = F.pad(X, (max_shift,) * 4)  # (N, H + 2m, W + 2m)
    dy = torch.randint(0, 2 * max_shift + 1, (N,), generator=generator)
    dx = torch.randint(0, 2 * max_shift + 1, (N,), generator=generator)
    rows = (dy[:, None] + torch.arange(H))[:, :, None]  # (N, H, 1)
    cols = (dx[:, None] + torch.arange(W))[:, None, :]  # (N, 1, W)
    return padded[torch.arange(N)[:, None, None], rows, cols]  # (N, H, W)


def random_flip(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left to right with probability 1/2."""
    flip = torch.rand(len(X), generator=generator) < 0.5  # (N,)
    return torch.where(flip[:, None, None], X.flip(-1), X)


def add_noise(
    X: torch.Tensor, generator: torch.Generator, std: float = 0.2
) -> torch.Tensor:
    """Fresh Gaussian noise on every pixel."""
    return X + std * torch.randn(X.shape, generator=generator)


def chain(*augments: Augment) -> Augment:
    """One augmentation that applies several in turn."""

    def augment(X: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for each in augments:
            X = each(X, generator)
        return X

    return augment


# --8<-- [end:augment]


# --8<-- [start:train-images]
def train_images(
    augment: Augment | None,
    train: Data,
    num_epochs: int,
    seed: int = 0,
) -> nn.Module:
    """Adam on the whole training set, freshly augmented every epoch from
    a seeded generator of its own."""
    X, y = train
    seed_everything(seed)  # the same start for every augmentation
    model = nn.Sequential(  # 64 pixels -> 64 ReLUs -> 1 logit
        nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
    ).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(seed)  # the augmentation's dice
    for _ in range(num_epochs):
        X_aug = X if augment is None else augment(X.cpu(), generator)
        optimizer.zero_grad()  # zero the gradients
        logits = model(X_aug.to(X.device))  # forward
        loss = F.binary_cross_entropy_with_logits(logits, y)  # loss
        loss.backward()  # backward
        optimizer.step()  # step
    return model


# --8<-- [end:train-images]


# --8<-- [start:draw-early]
def draw_early_stopping(
    val_losses: list[float], stoppers: dict[int, EarlyStopping]
) -> None:
    """One panel: the validation loss per step, with where each patience
    stopped and which step's weights it kept."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    steps = range(1, len(val_losses) + 1)
    ax.plot(steps, val_losses, "-", lw=2, color="black", label="val loss")
    kept: dict[int, list[int]] = {}  # kept step -> the patiences keeping it
    for patience, stopper in stoppers.items():
        kept.setdefault(stopper.best_step, []).append(patience)
        stop = stopper.best_step + patience
        ax.axvline(stop, ls=":", lw=1, color="gray")
        ax.text(
            stop,
            0.69,
            f"stop, P={patience} ",
            rotation=90,
            ha="right",
            va="top",
        )
    for (step, patiences), marker in zip(kept.items(), "os^", strict=False):
        ax.plot(
            step,
            val_losses[step - 1],
            marker,
            ms=10,
            mfc="none",
            mew=2,
            label=f"kept, patience {' and '.join(map(str, patiences))}",
        )
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    ax.set_ylim(0.3, 0.7)
    ax.legend(loc="center right")
    summary = "; ".join(
        f"patience {p} keeps step {s.best_step} ({s.best_loss:.3f}) and stops "
        f"at step {s.best_step + s.patience}"
        for p, s in stoppers.items()
    )
    fig.set_label(
        "The validation loss per step falls to a first low of "
        f"{min(val_losses[:15]):.3f}, rises to a bump of "
        f"{max(val_losses[10:30]):.3f}, then falls to a lower low; "
        f"labelled dotted vertical lines mark the stops. {summary}."
    )
    plt.show()


# --8<-- [end:draw-early]


# --8<-- [start:draw-images]
def draw_images(train: Data, augmented: torch.Tensor, val: Data) -> None:
    """Three rows of six images: training images, one random shift of them,
    validation images."""
    X, y = train
    X_val, y_val = val
    fig, axes = plt.subplots(3, 6, figsize=(5.4, 3.2), layout="constrained")
    rows = [
        ("train", X[:6], y[:6]),
        ("shifted", augmented[:6], y[:6]),
        ("val", X_val[:6], y_val[:6]),
    ]
    for ax_row, (name, images, labels) in zip(axes, rows, strict=True):
        for ax, image, label in zip(ax_row, images, labels, strict=True):
            ax.imshow(image.cpu().numpy(), cmap="gray_r", vmin=-0.5, vmax=1.5)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title("LJ"[int(label.item())], fontsize=10)
        ax_row[0].set_ylabel(name, fontsize=10)
    fig.set_label(
        "Three rows of six 8x8 noisy images, each titled L or J. Top: "
        "training images, every shape near the top-left corner. Middle: the "
        "same images after a random shift of up to two pixels each way, the "
        "strip moved in from outside clean of noise. Bottom: validation "
        "images, with the shapes anywhere in the image."
    )
    plt.show()


# --8<-- [end:draw-images]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X_all, y_all = make_moons(2100, device, noise=0.35)
    generator = torch.Generator().manual_seed(0)  # the split's own dice
    train, val, test = split(X_all, y_all, [100, 1000, 1000], generator)
    start = MLP(width=128).to(device)  # lesson 2.6's start, and its data
    # --8<-- [end:data]

    # --8<-- [start:patience]
    lr, max_steps = 0.1, 1000
    stoppers = {patience: EarlyStopping(patience) for patience in (5, 20, 50)}
    models, curves = {}, {}
    for patience, stopper in stoppers.items():
        models[patience] = copy_of(start)
        curves[patience] = fit(
            models[patience], train, val, lr, max_steps, stopper
        )
        print(
            f"patience {patience:>2}: stopped after step "
            f"{len(curves[patience]):>2}, kept step {stopper.best_step:>2}, "
            f"val loss {stopper.best_loss:.3f}"
        )
    # --8<-- [end:patience]

    # --8<-- [start:plot-early]
    draw_early_stopping(curves[50], stoppers)
    # --8<-- [end:plot-early]

    # --8<-- [start:test-once]
    final = copy_of(start)  # lesson 2.6's run, to the end
    train_and_validate(final, train, val, lr, num_steps=1000)
    for name, model in (("stopped", models[20]), ("step 1000", final)):
        (_, val_acc), test_result = evaluate(model, val), evaluate(model, test)
        print(f"{name:<9}: val accuracy {val_acc:.1%} | test loss ", end="")
        print(f"{test_result[0]:.3f}, accuracy {test_result[1]:.1%}")
    # --8<-- [end:test-once]

    # --8<-- [start:by-hand]
    # Exact comparisons in float64 on the CPU (Apple GPUs have no float64)
    rows = [[1, 10, -2], [2, 30, 0], [3, 20, 4], [6, 0, 2]]
    Z = torch.tensor(rows, dtype=torch.float64)  # (N, C): 4 samples, 3 features
    eps = 1e-5
    mean_b, var_b = Z.mean(0), Z.var(0, correction=0)  # each feature: (3,)
    mean_l, var_l = Z.mean(1, True), Z.var(1, correction=0, keepdim=True)
    by_hand_batch = (Z - mean_b) / torch.sqrt(var_b + eps)
    by_hand_layer = (Z - mean_l) / torch.sqrt(var_l + eps)  # each sample
    batch_norm = nn.BatchNorm1d(3, dtype=torch.float64)
    layer_norm = nn.LayerNorm(3, dtype=torch.float64)
    out_batch, out_layer = batch_norm(Z), layer_norm(Z)  # training mode
    print(torch.allclose(out_batch, by_hand_batch, rtol=1e-12, atol=1e-12))
    print(torch.allclose(out_layer, by_hand_layer, rtol=1e-12, atol=1e-12))
    largest = out_batch.mean(0).abs().max(), out_layer.mean(1).abs().max()
    print(f"largest |mean|: {largest[0]:.0e} per feature (batch norm)")
    print(f"                {largest[1]:.0e} per sample (layer norm)")
    # --8<-- [end:by-hand]

    # --8<-- [start:running]
    momentum = batch_norm.momentum  # 0.1: 10% of each batch's statistics
    print(f"momentum {momentum}, eps {batch_norm.eps}")
    print(f"running mean: {batch_norm.running_mean}")
    print(f"by hand:      {0.9 * 0 + 0.1 * mean_b}")
    print(f"running var:  {batch_norm.running_var}")
    print(f"by hand:      {0.9 * 1 + 0.1 * Z.var(dim=0, correction=1)}")
    batch_norm.eval()  # from now on: the running estimates, not the batch's
    running_mean, running_var = batch_norm.running_mean, batch_norm.running_var
    assert running_mean is not None  # for the type checker: they are tracked
    assert running_var is not None
    by_hand_eval = (Z - running_mean) / torch.sqrt(running_var + eps)
    print(torch.allclose(batch_norm(Z), by_hand_eval, rtol=1e-12, atol=1e-12))
    # --8<-- [end:running]

    # --8<-- [start:companions]
    batch_norm.train()
    others = torch.tensor([[0.0, 0.0, 0.0], [9.0, 9.0, 9.0]], dtype=Z.dtype)
    pairs = {"Z[:2]": Z[:2], "Z[0], others": torch.cat([Z[:1], others])}
    for name, batch in pairs.items():
        print(
            f"{name:<13} batch norm {batch_norm(batch)[0].tolist()}\n"
            f"{'':<13} layer norm {layer_norm(batch)[0].tolist()}"
        )
    try:
        batch_norm(Z[:1])  # one sample in training mode
    except ValueError as error:
        print(f"ValueError: {error}")
    # --8<-- [end:companions]

    # --8<-- [start:bn-net]
    seed_everything(0)
    bn_net = nn.Sequential(
        nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 1)
    ).to(device)
    train_and_validate(bn_net, train, val, lr=0.1, num_steps=100)
    val_loss, val_acc = evaluate(bn_net, val)
    print(f"evaluation mode: val loss {val_loss:.3f}, accuracy {val_acc:.1%}")
    # --8<-- [end:bn-net]

    # --8<-- [start:forgot-eval]
    X_val, y_val = val
    bn = bn_net[1]
    assert isinstance(bn, nn.BatchNorm1d)
    assert bn.running_mean is not None  # for the type checker: tracked
    running_before = bn.running_mean.clone()
    bn_net.train()  # forgotten: evaluation in training mode
    for batch_size in (1000, 100, 10, 2):
        with torch.no_grad():
            logits = torch.cat([bn_net(Xb) for Xb in X_val.split(batch_size)])
        acc = ((logits > 0).float() == y_val).float().mean()
        print(f"training mode, batches of {batch_size:>4}: {acc:.1%}")
    moved = (bn.running_mean - running_before).abs().max()
    print(f"the running mean moved by up to {moved:.2f}")
    bn_net.eval()  # remembered at last
    val_loss, val_acc = evaluate(bn_net, val)
    print(f"evaluation mode: val loss {val_loss:.3f}, accuracy {val_acc:.1%}")
    # --8<-- [end:forgot-eval]

    # --8<-- [start:noisy-stats]
    with torch.no_grad():
        Z_val = bn_net[0](X_val)[:, 0]  # one unit's input to batch norm
    print(f"its spread over all 1000: {Z_val.std():.3f}")
    for batch_size in (2, 10, 100):
        means = Z_val.reshape(-1, batch_size).mean(dim=1)  # one per batch
        print(
            f"batches of {batch_size:>3}: batch means spread {means.std():.3f}"
        )
    # --8<-- [end:noisy-stats]

    # --8<-- [start:image-data]
    dice = torch.Generator().manual_seed(0)  # the images' own dice
    images = make_images(40, max_row=2, max_col=2, noise=0.2, generator=dice)
    images_val = make_images(
        1000, max_row=4, max_col=5, noise=0.2, generator=dice
    )
    images = (images[0].to(device), images[1].to(device))
    images_val = (images_val[0].to(device), images_val[1].to(device))
    # --8<-- [end:image-data]

    # --8<-- [start:plot-images]
    shown = random_shift(images[0].cpu(), dice)  # the shift alone
    draw_images(images, shown, images_val)
    # --8<-- [end:plot-images]

    # --8<-- [start:augment-run]
    augments: dict[str, Augment | None] = {
        "none": None,
        "shift": random_shift,
        "shift + noise": chain(random_shift, add_noise),
        "shift + flip": chain(random_shift, random_flip),  # wrong: see below
    }
    for name, augment in augments.items():
        image_net = train_images(augment, images, num_epochs=400)
        train_acc, val_acc = (
            evaluate(image_net, images)[1],
            evaluate(image_net, images_val)[1],
        )
        print(f"{name:<14} train accuracy {train_acc:.1%}, val {val_acc:.1%}")
    # --8<-- [end:augment-run]


if __name__ == "__main__":
    main()
