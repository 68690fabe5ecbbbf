# %% [markdown]
# # Module 2 lab: Two spirals, a classifier built end to end
#
# Two spiral arms wind around each other in the plane, and every point belongs to one of them. In
# this lab you build a classifier that tells the arms apart, the way a real project does: a data
# pipeline with separate training, validation and test sets, a multi-layer perceptron, a training
# loop that measures the validation set after every epoch, a choice of regularization made by
# those measurements, and one final score on data that no choice ever looked at.
#
# Two things make the problem harder than the lessons' two moons. The arms turn once and a
# quarter around the centre, so the boundary between them is a long curl. And 1 label in 10 is
# wrong: the data come with *label noise*, like labels typed by people. A network with far more
# parameters than training points can learn those wrong labels by heart, and the validation set
# is how we catch it doing so.
#
# The steps, and the lessons they use:
#
# 1. **The data**, with label noise: two classes, labels 0 and 1 (lesson 2.1, From Linear to
#    Nonlinear: Why Neural Networks?).
# 2. **The pipeline**: a random split into three sets, and a `DataLoader` that serves
#    mini-batches (lesson 2.5, Mini-batching and Data Pipelines).
# 3. **The model**: an MLP with ReLUs, built from `nn.Linear` layers (lessons 2.1, 2.3,
#    Implementing a Simple Neural Net from Scratch, and 2.4, The Role of Activations).
# 4. **The loop**, with validation every epoch (lessons 2.2, Forward and Backward Passes, 2.3
#    and 2.6, Regularization and Overfitting).
# 5. **Overfitting, and two cures**: the same network without regularization, with weight decay
#    and with dropout (lesson 2.6).
# 6. **The choice**, by the validation numbers alone.
# 7. **The test set**, used once, and the decision boundary.
#
# Each step sets a task under **Your turn**. Try it on your own first; the **Worked solution**
# follows it. Ideas to take further are under **Try this**, at the end.

# %% [markdown]
# ## Setup
#
# The notebook runs on its own, in Colab too, so it carries the helpers every lesson uses:
# `get_device` picks an NVIDIA GPU, then an Apple GPU, then the CPU, and `seed_everything` seeds
# Python's and PyTorch's global generators. The data, the split and the shuffles each draw from
# their own seeded `torch.Generator`; the global seed sets the starting weights and the dropout
# masks. The block also holds `log_scale` (a log-scale axis with plain tick labels), which this
# lab does not need. The first cell is the lessons' helpers block, word for word.

# %%
import random
from typing import Literal

import torch
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.ticker import LogFormatter


def get_device() -> torch.device:
    """Return the fastest device here: an NVIDIA GPU, then an Apple GPU, then
    the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Make every random draw repeatable: Python's and PyTorch's, any device."""
    random.seed(seed)
    torch.manual_seed(seed)  # seeds the CPU, CUDA and MPS generators alike


class PlainLogFormatter(LogFormatter):
    """matplotlib's choice of which log-scale ticks to label, written as plain
    numbers: 0.6 and 1e-06 rather than 6x10^-1 and 10^-6."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def log_scale(ax: Axes, axis: Literal["x", "y"] = "y") -> None:
    """Put one axis of a plot on a log scale, with ticks labelled as plain
    numbers (0.1, 1, 10, 6) rather than powers of ten (10^-1, 6x10^0)."""
    if axis == "y":
        ax.set_yscale("log")
    else:
        ax.set_xscale("log")
    target: Axis = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PlainLogFormatter())
    # minor ticks (2, 3, 5, ...) get labels only on a short axis, as by default
    target.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))


# %%
import matplotlib.pyplot as plt
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset, random_split

seed_everything(0)
device = get_device()
print(f"training on: {device}")

# %% [markdown]
# ## Step 1: The data
#
# Each arm is a curve traced by a number $t$ that runs from 0 at its inner end to 1 at its outer
# end. The point at $t$ on arm $c$ (0 or 1) lies at radius $r$ and angle $\theta$ (theta):
#
# $$
# r = 0.3 + 2t, \qquad \theta = 2.5 \pi t + \pi c
# $$
#
# where $r$ grows from 0.3 to 2.3 along the arm, $2.5 \pi$ is one and a quarter turns (a full
# turn is $2 \pi$), and $\pi c$ starts arm 1 half a turn after arm 0, so that the arms
# interleave. The point's coordinates are $x_1 = r \cos\theta$ and $x_2 = r \sin\theta$, plus
# Gaussian noise of standard deviation 0.1. Its label is its arm, $c$, except that each label is
# flipped (0 to 1, 1 to 0), independently of the others, with probability 0.1.

# %% [markdown]
# **Your turn.** Write `make_spirals(num_points, generator)`, which returns the points, shaped
# $(N, 2)$, and their arms as float labels shaped $(N, 1)$, with every other point on arm 1.
# Draw 1650 points on the CPU from one `torch.Generator` seeded with 0, then flip 1 label in 10
# with the same generator. Keep the arms and the mask of flipped labels: we use them to see what
# the model did, never to train it.

# %% [markdown]
# **Worked solution.** The points come first, then the flips, all from one generator and in
# this order: another order gives other data, and every number below changes.


# %%
def make_spirals(num_points: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved spiral arms, every other point on each, with noise of std 0.1.

    Returns the points (N, 2) and their arms, 0.0 or 1.0, shaped (N, 1).
    """
    t = torch.rand(num_points, generator=generator)  # (N,): how far along its arm
    c = (torch.arange(num_points) % 2).float()  # (N,): arm 0, 1, 0, 1, ...
    r = 0.3 + 2 * t  # (N,)
    theta = 2.5 * torch.pi * t + torch.pi * c  # (N,)
    X = torch.stack([r * theta.cos(), r * theta.sin()], dim=1)  # (N, 2)
    X = X + 0.1 * torch.randn(num_points, 2, generator=generator)
    return X, c[:, None]


generator = torch.Generator().manual_seed(0)  # on the CPU: the same data on every device
X, arm = make_spirals(1650, generator)
flipped = torch.rand(len(X), 1, generator=generator) < 0.1  # (N, 1): True for about 1 in 10
y = torch.where(flipped, 1 - arm, arm)  # (N, 1): the labels we are given
print(f"X: {tuple(X.shape)}, y: {tuple(y.shape)}, {int(flipped.sum())} labels flipped")

# %% [markdown]
# About 1 label in 10 is wrong, so even a classifier that knew every point's arm would disagree
# with about 10% of the labels it is scored against. On points it has not trained on, about 90%
# is the most any classifier can expect, not 100%.

# %% [markdown]
# ## Step 2: The pipeline
#
# A model is judged on data it did not train on, and we need such data twice:
#
# - the **training set** (150 points) is what the loop learns from;
# - the **validation set** (500 points) is measured after every epoch, and every choice we make
#   (here, the regularization) is made by its numbers;
# - the **test set** (1000 points) is used once, at the very end, to report how good the chosen
#   model is. No choice looked at it, so its score is a fair estimate for new data.
#
# Had we chosen by the test set, its score would be the best of several tries, flattered by
# luck: a student who sees the exam before choosing which answers to hand in. The training set
# is small on purpose, so that overfitting shows within seconds. The other two are large so that
# their numbers are precise: on 500 points, one point is 0.2% of the accuracy.
#
# `TensorDataset` pairs the points with their labels: its item $i$ is the pair `(X[i], y[i])`.
# `random_split` shuffles the indices with the generator we give it and cuts them into the three
# sets. A `DataLoader` with `shuffle=True` serves the training set in mini-batches, in a new order
# every epoch, drawn from its own generator: every run below then sees the same batches in the
# same order, on any device.

# %% [markdown]
# **Your turn.** Put the data on the device, split them 150 / 500 / 1000 with a generator seeded
# with 0, and count the flipped labels in each set. Write `make_loader(split, batch_size)`, which
# returns a shuffling `DataLoader` with a freshly seeded generator, and `whole(split)`, which
# returns all of a split's points and labels as two tensors, for measuring. Look at one batch
# of 25.

# %% [markdown]
# **Worked solution.**

# %%
dataset = TensorDataset(X.to(device), y.to(device))
train_set, val_set, test_set = random_split(
    dataset, [150, 500, 1000], generator=torch.Generator().manual_seed(0)
)
for name, split in (("training", train_set), ("validation", val_set), ("test", test_set)):
    num_flipped = int(flipped[list(split.indices)].sum())
    print(f"{name:10s} set: {len(split):4d} points, {num_flipped:3d} labels flipped")


# %%
Split = Subset[tuple[torch.Tensor, ...]]  # one of the three sets random_split returns


def make_loader(split: Split, batch_size: int) -> DataLoader[tuple[torch.Tensor, ...]]:
    """Mini-batches in a new random order every epoch, the same orders on every run."""
    generator = torch.Generator().manual_seed(0)
    return DataLoader(split, batch_size=batch_size, shuffle=True, generator=generator)


def whole(split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    """All of a split's points and labels, as one batch, for measuring."""
    X_all, y_all = next(iter(DataLoader(split, batch_size=len(split))))
    return X_all, y_all


batch_size = 25
loader = make_loader(train_set, batch_size)
X_batch, y_batch = next(iter(loader))
shapes = f"X {tuple(X_batch.shape)}, y {tuple(y_batch.shape)}, on {X_batch.device}"
print(f"{len(loader)} batches per epoch; the first: {shapes}")
X_train, y_train = whole(train_set)
X_val, y_val = whole(val_set)
flipped_train = flipped[list(train_set.indices)]  # (150, 1), to look at, not to train on

# %% [markdown]
# The 150 points hold 10 wrong labels, which the model should not learn. The figure rings them
# (its plotting code comes first).


# %%
def draw_points(ax: Axes, X: torch.Tensor, y: torch.Tensor, flipped: torch.Tensor) -> None:
    """The points, one marker per label, with the flipped labels ringed."""
    X, y, flipped = X.cpu(), y.cpu()[:, 0], flipped.cpu()[:, 0]
    for label, marker, color in ((0, "o", "tab:blue"), (1, "^", "tab:orange")):
        on = y == label
        ax.scatter(X[on, 0], X[on, 1], s=16, marker=marker, c=color, label=f"label {label}")
    ax.scatter(
        X[flipped, 0],
        X[flipped, 1],
        s=110,
        facecolors="none",
        edgecolors="black",
        linewidths=1.2,
        label="flipped",
    )
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def draw_training_set(X: torch.Tensor, y: torch.Tensor, flipped: torch.Tensor) -> None:
    """The training points, with the flipped labels ringed."""
    fig, ax = plt.subplots(figsize=(5.4, 5.0), layout="constrained")
    draw_points(ax, X, y, flipped)
    ax.set_title(f"The {len(X)} training points")
    ax.legend(loc="lower left")
    fig.set_label(
        f"The {len(X)} training points in the plane: two interleaved spiral arms that wind "
        "once and a quarter around the centre, blue circles for label 0 and orange "
        f"triangles for label 1. {int(flipped.sum())} points are ringed: their labels are "
        "flipped, so each shows the other arm's marker in the middle of its own arm."
    )
    plt.show()


# %%
draw_training_set(X_train, y_train, flipped_train)

# %% [markdown]
# ## Step 3: The model
#
# The network is lesson 2.1's multi-layer perceptron, made deeper and wider for the curl: 2
# inputs, two hidden layers of 128 ReLU units, and one output, the logit $z$. It predicts arm 1
# where $z > 0$, and the loss is the binary cross-entropy on logits,
# `F.binary_cross_entropy_with_logits`, as in lessons 2.1 and 2.3.
#
# After each hidden layer sits a **dropout** layer (lesson 2.6). In training mode, it sets each
# hidden unit's output to 0 with probability $p$, drawn afresh for every point at every step,
# and multiplies the outputs it keeps by $1 / (1 - p)$, so that each output keeps the same
# average. In evaluation mode it passes everything through unchanged. Since any unit may be
# missing at any step, the network cannot rely on a few particular units working together, and
# carving a tiny region around one training point takes just that. With $p = 0$ nothing is
# dropped, so one function builds all three networks we compare.

# %% [markdown]
# **Your turn.** Write `make_mlp(dropout)` with `nn.Sequential`, build the network without
# dropout on the device, and count its parameters.

# %% [markdown]
# **Worked solution.**


# %%
def make_mlp(dropout: float = 0.0, hidden: int = 128) -> nn.Sequential:
    """2 inputs -> two hidden layers of ReLUs, each followed by dropout -> 1 logit."""
    return nn.Sequential(
        nn.Linear(2, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),  # in training, zeroes each output with probability `dropout`
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, 1),  # the logit
    )


model = make_mlp().to(device)
print(model)
print(f"parameters: {sum(p.numel() for p in model.parameters())}")

# %% [markdown]
# That is $2 \times 128 + 128$ for the first layer, $128 \times 128 + 128$ for the second and
# $128 + 1$ for the output: 17,025, more than a hundred parameters for each training point.
# Nothing stops such a network from fitting every training label, the wrong ones included.

# %% [markdown]
# ## Step 4: The loop, with validation every epoch
#
# The loop is the course's loop shape, run on every mini-batch the `DataLoader` serves: zero the
# gradients, forward, loss, backward, step. After each epoch it measures the model on the whole
# training set and the whole validation set, with two switches:
#
# - `model.eval()` puts every layer in evaluation mode, which here switches dropout off, so the
#   measurement uses the full network; `model.train()` switches it back on before the next
#   epoch. Without `model.eval()`, we would score a randomly thinned network, a different one
#   at each call.
# - `torch.no_grad()` tells autograd not to record the computation: a measurement is not part of
#   training and needs no backward pass.
#
# The training set is measured the same way, after the epoch's last step, rather than by
# averaging the batch losses during the epoch, so that the training and validation numbers
# compare like with like.
#
# **Weight decay** (lesson 2.6) is an argument of the optimizer. With `weight_decay` $= \lambda$
# (lambda), `torch.optim.SGD` adds $\lambda w$ to the gradient of every parameter $w$ before it
# steps:
#
# $$
# w \leftarrow w - \eta \left( \frac{\partial L}{\partial w} + \lambda w \right)
# $$
#
# where $\eta$ (eta) is the learning rate and $L$ the loss on the batch. That is gradient descent
# on $L + \frac{\lambda}{2} \sum w^2$, the loss plus a penalty on large parameters, summed over
# all of them: the biases too, since the optimizer gets every parameter with one setting. Apart
# from the gradient, every step shrinks each parameter by the factor $1 - \eta \lambda$: a
# parameter keeps a large value only while the loss keeps asking for it.

# %% [markdown]
# **Your turn.** Write `evaluate(model, X, y)`, which returns the loss and the accuracy with
# dropout off and no graph recorded, and `train(model, loader, measured, lr, num_epochs,
# weight_decay)`, which runs the loop, measures the sets in `measured` (the training and the
# validation set) after every epoch, prints the numbers every 100 epochs and returns the curves.

# %% [markdown]
# **Worked solution.**


# %%
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The loss and the accuracy on (X, y), with dropout off and no graph recorded."""
    model.eval()  # evaluation mode: dropout off, every unit on
    with torch.no_grad():
        logits = model(X)  # (N, 1)
    loss = F.binary_cross_entropy_with_logits(logits, y).item()
    accuracy = ((logits > 0).float() == y).float().mean().item()
    return loss, accuracy


def train(
    model: nn.Module,
    loader: DataLoader[tuple[torch.Tensor, ...]],
    measured: dict[str, tuple[torch.Tensor, torch.Tensor]],
    lr: float,
    num_epochs: int,
    weight_decay: float = 0.0,
) -> dict[str, list[float]]:
    """Mini-batch SGD on the loader's batches, measuring each of the `measured`
    sets after every epoch. Returns a loss and an accuracy curve per set."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    curves: dict[str, list[float]] = {
        f"{name} {measure}": [] for name in measured for measure in ("loss", "accuracy")
    }
    for epoch in range(1, num_epochs + 1):
        model.train()  # training mode: dropout on (when p > 0)
        for X_batch, y_batch in loader:
            optimizer.zero_grad()  # zero the gradients
            logits = model(X_batch)  # forward: (B, 1)
            loss = F.binary_cross_entropy_with_logits(logits, y_batch)  # loss
            loss.backward()  # backward
            optimizer.step()  # step, weight decay included
        log = []
        for name, (X, y) in measured.items():
            loss_value, accuracy = evaluate(model, X, y)
            curves[f"{name} loss"].append(loss_value)
            curves[f"{name} accuracy"].append(accuracy)
            log.append(f"{name} loss {loss_value:.3f}, acc {accuracy:.1%}")
        if epoch % 100 == 0:
            print(f"  epoch {epoch}: " + "; ".join(log))
    return curves


# %% [markdown]
# ## Step 5: Overfitting, and two cures
#
# Now three runs of 400 epochs with learning rate 0.5 and batches of 25: 6 batches an epoch,
# 2400 steps in all. They differ in one setting only:
#
# - **no regularization**;
# - **weight decay** $\lambda = 0.003$;
# - **dropout** $p = 0.5$ after each hidden layer.
#
# Each run starts from the same weights (`seed_everything(0)` just before the network is built)
# and sees the same batches in the same order (a freshly seeded loader), so whatever differs
# between the runs comes from the regularization. On a GPU, sums rounded in another order and
# the GPU's own random numbers for the dropout masks change the details of each run, so the text
# below gives rounded numbers, and only the comparisons that held when we changed the seed.

# %% [markdown]
# **Your turn.** Train the three networks, and keep each with its curves.

# %% [markdown]
# **Worked solution.**

# %%
lr, num_epochs = 0.5, 400
measured = {"train": (X_train, y_train), "val": (X_val, y_val)}
settings = {  # name: (dropout p, weight decay lambda)
    "no regularization": (0.0, 0.0),
    "weight decay 0.003": (0.0, 0.003),
    "dropout 0.5": (0.5, 0.0),
}
runs: dict[str, tuple[nn.Sequential, dict[str, list[float]]]] = {}
for name, (dropout, weight_decay) in settings.items():
    print(name)
    seed_everything(0)  # the same starting weights for every run
    model = make_mlp(dropout).to(device)
    loader = make_loader(train_set, batch_size)
    curves = train(model, loader, measured, lr, num_epochs, weight_decay)
    runs[name] = (model, curves)

# %% [markdown]
# Without regularization, the training loss ends the lowest of the three, under 0.1, while the
# validation loss, after its first fall, climbs back: the classic sign of overfitting. In the end
# the network is right on more training points than the 140 whose labels are correct, so it must
# have learned some wrong labels by heart. Dropout's training loss ends well above it: with half
# the hidden units missing at each step, fitting the training set is harder. Weight decay ends
# with the lowest validation loss. Which is better? The next step decides, by a rule fixed in
# advance.

# %% [markdown]
# ## Step 6: The choice, by the validation numbers
#
# The rule, fixed before looking: **the highest validation accuracy wins**, since telling the
# arms apart is the project's goal. The accuracy jumps around from one epoch to the next, as each
# mini-batch step nudges the boundary, so we compare its average over the last 50 epochs rather
# than one epoch's value.
#
# To understand what each run did, we also measure, with dropout off:
#
# - how many of the 10 wrong training labels the network reproduces: each one is a wrong label
#   learned by heart;
# - the lowest validation loss and its epoch, against the average over the last 50 epochs;
# - the network's average **confidence** on the validation set: the probability it gives to the
#   class it predicts, $\max(p, 1 - p)$, where $p = \sigma(z)$ is its probability of arm 1.

# %% [markdown]
# **Your turn.** Print these numbers for the three runs, pick the winner by the rule, and plot
# the validation curves.

# %% [markdown]
# **Worked solution.**

# %%
last = 50  # compare averages over the last 50 epochs
X_flipped, y_flipped = X_train[flipped_train[:, 0]], y_train[flipped_train[:, 0]]


def mean_confidence(model: nn.Module, X: torch.Tensor) -> float:
    """The average probability the model gives to the class it predicts."""
    model.eval()
    with torch.no_grad():
        p = torch.sigmoid(model(X))  # (N, 1): the probability of arm 1
    return torch.maximum(p, 1 - p).mean().item()


scores: dict[str, float] = {}
for name, (model, curves) in runs.items():
    val_loss = curves["val loss"]
    scores[name] = sum(curves["val accuracy"][-last:]) / last
    _, learned = evaluate(model, X_flipped, y_flipped)  # agreement with the wrong labels
    print(f"{name}:")
    print(
        f"  training accuracy {curves['train accuracy'][-1]:.1%}, "
        f"wrong labels learned: {round(learned * len(X_flipped))} of {len(X_flipped)}"
    )
    print(
        f"  val loss: lowest {min(val_loss):.3f} at epoch {val_loss.index(min(val_loss)) + 1}, "
        f"last {last} epochs {sum(val_loss[-last:]) / last:.3f}"
    )
    print(
        f"  val accuracy, last {last} epochs {scores[name]:.1%}; "
        f"confidence {mean_confidence(model, X_val):.1%}"
    )
chosen = max(scores, key=lambda name: scores[name])
print(f"chosen: {chosen}")


# %%
def trailing_mean(values: list[float], window: int) -> list[float]:
    """Each value averaged with the ones before it, `window` values at most."""
    return [
        sum(values[max(0, i + 1 - window) : i + 1]) / min(i + 1, window) for i in range(len(values))
    ]


def draw_curves(
    runs: dict[str, tuple[nn.Sequential, dict[str, list[float]]]], ceiling: float
) -> None:
    """Top: validation loss per epoch. Bottom: validation accuracy, averaged
    over the last 25 epochs, with the share of correct labels."""
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(5.4, 6.6), layout="constrained")
    for (name, (_, curves)), style in zip(runs.items(), ("-", "--", ":"), strict=True):
        epochs = range(1, len(curves["val loss"]) + 1)
        ax_loss.plot(epochs, curves["val loss"], style, lw=1.3, label=name)
        accuracy = trailing_mean(curves["val accuracy"], 25)
        ax_acc.plot(epochs, [100 * a for a in accuracy], style, lw=2)
    ax_acc.axhline(100 * ceiling, color="gray", lw=1, label="share of correct labels")
    ax_loss.set_title("Validation loss, every epoch")
    ax_loss.set_ylabel("BCE loss")
    ax_loss.legend(loc="upper right")
    ax_acc.set_title("Validation accuracy, mean of the last 25 epochs")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_ylim(80, 92)
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
    names = list(runs)
    first = trailing_mean(runs[names[0]][1]["val accuracy"], 25)
    peak = max(first)
    means = ", ".join(f"{name} {100 * score:.1f}%" for name, score in scores.items())
    fig.set_label(
        f"Two panels over {len(first)} epochs. Top: the validation loss of the three runs, "
        f"{names[0]} solid, {names[1]} dashed, {names[2]} dotted, all jagged from epoch to "
        "epoch. All three fall at first. Then the solid curve climbs steadily, the dotted "
        "one climbs more slowly, and the dashed one stays lowest. Bottom: the validation "
        "accuracy averaged over 25 epochs, under a gray line at "
        f"{100 * ceiling:.1f}%, the share of correct labels. The solid curve rises first, "
        f"peaks at {100 * peak:.1f}% near epoch {first.index(peak) + 1} and then sinks; the "
        f"dotted one rises last. Averages over the last 50 epochs: {means}."
    )
    plt.show()


# %%
ceiling = 1 - flipped[list(val_set.indices)].float().mean().item()
draw_curves(runs, ceiling)

# %% [markdown]
# Each run tells its own story.
#
# - **No regularization** reproduces half or more of the 10 wrong training labels, more than
#   either cure. Its validation loss is lowest within the first 100 epochs; its average over the
#   last 50 epochs is about twice that. Its average confidence is roughly 10 points above its
#   accuracy: it is sure of itself even where it is wrong, and the loss punishes a confident
#   mistake heavily (lesson 2.1).
# - **Weight decay** keeps the lowest validation loss, and its confidence stays within a few
#   points of its accuracy: shrinking the weights keeps the logits small, so its probabilities
#   stay away from 0 and 1. But its accuracy is close to no regularization's.
# - **Dropout**, like weight decay, reproduces only a few wrong labels, and it has the highest
#   validation accuracy. Its validation loss still climbs, though less than without
#   regularization: it too is more confident than it is right, only less so.
#
# Loss and accuracy disagree because they measure different things. Accuracy counts on which
# side of the boundary each point falls; the loss also asks how sure the model was, and the
# validation set has wrong labels of its own, on which a sure model pays dearly. By our rule,
# dropout wins. Had we needed trustworthy probabilities, say to pass the uncertain cases to a
# person, the loss would have been the better rule, and weight decay would have won. The rule
# follows from what the model is for, which is why we fixed it before the runs.

# %% [markdown]
# ## Step 7: The test set, once
#
# The choice is made, so the test set can now do its one job: say how well the chosen network
# does on data that played no part in building it. Because we made the data, we also know every
# test point's true arm, and can say how often the network names it; a real project only has
# the labels.

# %% [markdown]
# **Your turn.** Evaluate the chosen network on the test set, against the labels and against
# the true arms, and draw its decision boundary next to that of the network without
# regularization.

# %% [markdown]
# **Worked solution.**

# %%
model = runs[chosen][0]
X_test, y_test = whole(test_set)
arm_test = arm[list(test_set.indices)].to(device)  # the true arms: we made the data
flipped_test = flipped[list(test_set.indices)].to(device)
test_loss, test_accuracy = evaluate(model, X_test, y_test)
_, arm_accuracy = evaluate(model, X_test, arm_test)
model.eval()  # dropout off
with torch.no_grad():
    missed = (model(X_test) > 0).float() != y_test  # (N, 1): disagrees with the label
print(f"{chosen}, on the {len(X_test)} test points:")
print(f"  loss {test_loss:.3f}, accuracy {test_accuracy:.1%}")
num_missed, num_wrong = int(missed.sum()), int(flipped_test[missed].sum())
print(f"  labels missed: {num_missed}, of them wrong labels: {num_wrong}")
print(f"  true arm predicted for {arm_accuracy:.1%} of the points")


# %%
def draw_boundary(ax: Axes, model: nn.Module, title: str) -> None:
    """Shade the plane by the label the model predicts, and draw its boundary."""
    grid = torch.linspace(-2.7, 2.7, 300)
    G1, G2 = torch.meshgrid(grid, grid, indexing="xy")  # (300, 300) each
    points = torch.stack([G1.flatten(), G2.flatten()], dim=1)  # (90000, 2)
    model.eval()
    with torch.no_grad():
        device = next(model.parameters()).device
        logits = model(points.to(device)).cpu().reshape(G1.shape)
    ax.contourf(
        G1, G2, logits > 0, levels=[-0.5, 0.5, 1.5], colors=["tab:blue", "tab:orange"], alpha=0.2
    )
    ax.contour(G1, G2, logits, levels=[0.0], colors="black", linewidths=1)
    ax.set_title(title)


def draw_boundaries(
    models: dict[str, nn.Sequential], X: torch.Tensor, y: torch.Tensor, flipped: torch.Tensor
) -> None:
    """Two stacked panels: each model's boundary over the training points."""
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 9.6), layout="constrained")
    for ax, (title, model) in zip(axes, models.items(), strict=True):
        draw_boundary(ax, model, title)
        draw_points(ax, X, y, flipped)
    axes[0].legend(loc="lower left")
    titles = list(models)
    fig.set_label(
        f"Two panels, each the plane shaded by the predicted label, blue for 0 and orange "
        f"for 1, with the black boundary line and the {len(X)} training points, the "
        f"{int(flipped.sum())} flipped ones ringed. Top, {titles[0]}: the boundary follows "
        "the two arms but bends out in narrow bulges to take in several ringed points. "
        f"Bottom, {titles[1]}: a smoother boundary that follows the gap between "
        "the arms and leaves most ringed points on the side of their true arm."
    )
    plt.show()


# %%
models = {"No regularization": runs["no regularization"][0], f"Chosen: {chosen}": model}
draw_boundaries(models, X_train, y_train, flipped_train)

# %% [markdown]
# The test accuracy is about 85%, a little below the validation average that chose the network.
# Part of the gap is the jitter from epoch to epoch (we test the last epoch's network, not an
# average), and part is that the test set holds more wrong labels than the validation set: 112
# in 1000, or 11.2%, against 45 in 500, or 9.0%. Most of the labels the network misses are
# wrong labels, on which the network is right and the label is not; against the true arms, it
# is right on more than 9 points in 10.
#
# The boundaries show where the difference between the runs lies. Without regularization, the
# boundary follows the arms but bulges out to take in ringed points: each bulge is a wrong label
# learned. With dropout, the boundary follows the gap between the arms and leaves most ringed
# points on the side of their true arm. Away from the data, in the corners, both networks guess:
# no training point tells them anything there.

# %% [markdown]
# ## What you built
#
# - **A pipeline that keeps the sets apart.** `random_split` with a seeded generator made a
#   training, a validation and a test set; a `DataLoader` with its own generator served the same
#   shuffled mini-batches to every run, on any device.
# - **One loop shape, with measurements.** Zero the gradients, forward, loss, backward, step, for
#   every batch; after every epoch, both sets measured in evaluation mode (`model.eval()`) and
#   without a graph (`torch.no_grad()`).
# - **Overfitting, caught by the validation set.** The training loss ended under 0.1 while the
#   validation loss climbed back, and the network learned wrong labels by heart.
# - **Regularization chosen by numbers.** Weight decay and dropout each curbed the overfitting in
#   their own way; a rule fixed in advance, on the validation accuracy, chose dropout.
# - **One honest score.** The test set, untouched until the end, gave it once.

# %% [markdown]
# ## Try this
#
# - **Stop early.** The network without regularization had its lowest validation loss within
#   the first 100 epochs of 400. Keep a copy of its weights (`copy.deepcopy(model.state_dict())`)
#   whenever the validation loss beats its best so far, and load the best copy at the end. This is
#   *early stopping*, a regularization of its own (lesson 3.7).
# - **Combine the cures.** Try dropout 0.3 together with weight decay 0.002. Does one network get
#   both the low loss and the high accuracy? Choose by the same rule.
# - **Choose by the loss.** Change the rule to the lowest validation loss averaged over the last
#   50 epochs, and compare the confidence of the winner with its accuracy.
# - **Change the noise.** Flip no labels, or 1 in 5. How do the gaps between the three runs
#   change, and the ceiling for the accuracy?
# - **Get more data.** Split the points 600 / 500 / 550, and see how much regularization still
#   helps when there are four times as many training points.
# - **Use every labelled point.** Once the choice is made, train the chosen setting again on the
#   training and validation sets together, then test it once. The test set still plays no part
#   in any choice.
