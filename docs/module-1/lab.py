# %% [markdown]
# # Module 1 lab: Fuel use against speed, a curve fitted by gradient descent
#
# A car burns the most fuel per kilometre when it crawls and when it races, and the least
# somewhere in between. In this lab you fit that U-shaped curve with the training loop of
# Module 1, on made-up but plausible measurements. The model is a cubic in the speed $x$:
#
# $$
# \hat{y} = w_1 x + w_2 x^2 + w_3 x^3 + b
# $$
#
# where $\hat{y}$ is the predicted fuel use, $w_1, w_2, w_3$ are the weights and $b$ is the
# bias. The curve bends, yet the model is linear in its parameters, like lesson 1.2's line:
# each weight multiplies a number computed from the data ($x$, $x^2$ or $x^3$), called a
# *feature*. So the mean squared error is again an exact bowl, and every tool of Module 1
# applies. What changes is the shape of that bowl, and it decides almost everything below.
#
# The steps, and the lessons they use:
#
# 1. **The data and a first fit**: the loop and the MSE loss (lessons 1.1, What is a Training
#    Loop?, and 1.2, The Simplest Case: Linear Regression). Every learning rate you try fails.
# 2. **Read the curvature**: the Hessian, its eigenvalues and the largest stable learning
#    rate (lesson 1.4, Visualizing the Loss Landscape) explain why.
# 3. **Standardize the features**: it fixes their scales but not their correlations
#    (lesson 1.4).
# 4. **Full batch vs. mini-batches** (lesson 1.3, Batch vs. Stochastic Gradient Descent).
# 5. **Check the gradient** with central differences (lesson 1.5, Numerical vs. Analytical
#    Gradients).
# 6. **The fitted curve**, and the most economical speed.
#
# Each step sets a task under **Your turn**. Try it on your own first; the **Worked solution**
# follows it.

# %% [markdown]
# ## Setup
#
# The notebook runs on its own, in Colab too, so it carries the helpers every lesson uses:
# `get_device` picks an NVIDIA GPU, then an Apple GPU, then the CPU, and `seed_everything` seeds
# Python's and PyTorch's global generators. The lab's data and shuffles use their own seeded
# `torch.Generator`; the global seed covers any draw made without one, such as one you add.
# `log_scale` puts an axis on a log scale labelled with plain numbers (0.1, 1, 10) rather than
# powers of ten. The first cell is the lessons' helpers block, word for word.

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

seed_everything(0)
device = get_device()
print(f"training on: {device}")

# %% [markdown]
# ## Step 1: The data and a first fit
#
# The data are 100 trips, each driven at a steady speed $x$ between 20 and 130 km/h, with the
# fuel use $y$ measured in litres per 100 km. We make them up from a simple rule plus noise:
#
# $$
# y = \frac{250}{x} + 2 + 0.0004\, x^2 + \varepsilon
# $$
#
# where $250 / x$ is the fuel the engine burns every hour just to keep running, shared over
# fewer kilometres the slower the car goes; 2 is a fixed cost per kilometre; $0.0004\, x^2$ is
# air drag, which grows with the square of the speed; and $\varepsilon$ (epsilon) is Gaussian
# noise with standard deviation 0.5, the scatter of real measurements.
#
# The rule is not a polynomial, so no cubic matches it exactly. As with real data, whose rule
# nobody knows, we look for the cubic that fits the points best.
#
# **Why degree 3?** A parabola (degree 2) is symmetric about its lowest point, but fuel use
# falls steeply on the slow side and rises gently on the fast side. The $x^3$ term lets the
# curve lean. The worked solution measures the difference.
#
# Row $i$ of the feature matrix $X$ holds the three features of trip $i$,
# $(x_i, x_i^2, x_i^3)$, so the predictions for all trips are $\hat{y} = X w + b$, with
# $w = (w_1, w_2, w_3)$. The loss is lesson 1.2's mean squared error over the $N = 100$ trips:
#
# $$
# L(w, b) = \frac{1}{N} \sum_{i=1}^{N} \left( \hat{y}_i - y_i \right)^2
# $$
#
# where $\hat{y}_i$ is the prediction for trip $i$ and $y_i$ its measured fuel use.

# %% [markdown]
# **Your turn.**
#
# 1. Draw 100 speeds uniformly between 20 and 130 km/h, and their fuel use from the rule above,
#    on the CPU, from one `torch.Generator` seeded with 0: first the 100 speeds with
#    `torch.rand`, then the 100 noise values with `torch.randn`. Another order gives other
#    data, and every number below changes. Then move both to the device.
# 2. Write `powers(x)`, which returns the $N \times 3$ matrix of $x$, $x^2$ and $x^3$.
# 3. Write `train(X, y, lr, num_epochs)` with the course's loop shape (zero the gradients,
#    forward, loss, backward, step) and `torch.optim.SGD`, starting from $w = 0$, $b = 0$. Give
#    it a `batch_size` argument now (none meaning the full batch); step 4 needs it. It returns
#    $w$, $b$ and the loss on all the data at the start and after every epoch.
# 4. Compute the lowest possible loss with least squares (`torch.linalg.lstsq`), for degree 2
#    and degree 3. Do it in float64 on the CPU: the raw cubes are so badly scaled that in
#    float32 the answer is badly wrong (a loss far above the lowest one).
# 5. Train on the raw powers for 100 epochs with learning rates 0.01, 1e-6, 1e-10 and 1e-12,
#    and compare each final loss with the lowest possible one.

# %% [markdown]
# **Worked solution.** The data first, drawn on the CPU so that the same seed gives the same
# points on every device:


# %%
def fuel_rule(x: torch.Tensor) -> torch.Tensor:
    """Litres per 100 km at a steady speed of x km/h, before noise."""
    return 250 / x + 2 + 0.0004 * x**2


def make_data(num_points: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Speeds uniform on [20, 130) km/h and their fuel use, with noise of std 0.5."""
    x = 20 + 110 * torch.rand(num_points, generator=generator)  # (N,)
    noise = 0.5 * torch.randn(num_points, generator=generator)  # (N,)
    return x, fuel_rule(x) + noise


x, y = make_data(100, torch.Generator().manual_seed(0))
x, y = x.to(device), y.to(device)
print(f"x: {tuple(x.shape)}, speeds {x.min().item():.1f} to {x.max().item():.1f} km/h")
print(f"y: {tuple(y.shape)}, fuel use {y.min().item():.2f} to {y.max().item():.2f} L/100 km")


# %%
def draw_data(x: torch.Tensor, y: torch.Tensor) -> None:
    """A scatter plot of fuel use against speed."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    ax.scatter(x.cpu(), y.cpu(), s=14, alpha=0.7)
    ax.set_title("Fuel use of 100 trips")
    ax.set_xlabel("speed x (km/h)")
    ax.set_ylabel("fuel use y (L/100 km)")
    fig.set_label(
        "A scatter plot of fuel use against speed for 100 trips. Fuel use is highest, "
        "near 15 L/100 km, at 20 km/h, falls steeply to about 7 to 8 between 60 and "
        "80 km/h, then rises gently to about 10 to 11 at 130 km/h."
    )
    plt.show()


draw_data(x, y)

# %% [markdown]
# The features, the loss and the loop. `train` is lesson 1.3's loop: the forward pass uses the
# rows of the current batch, and with `batch_size=None` that batch is all the data. After each
# epoch it records the loss on all the data, so that runs with different batch sizes compare
# fairly.


# %%
def powers(x: torch.Tensor, degree: int = 3) -> torch.Tensor:
    """The features x, x^2, ..., x^degree, one column each: (N, degree)."""
    return torch.stack([x**k for k in range(1, degree + 1)], dim=1)


def mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error: the average of the squared differences."""
    return ((y_hat - y) ** 2).mean()


def make_batches(
    num_points: int, batch_size: int | None, generator: torch.Generator
) -> list[torch.Tensor]:
    """One epoch's batches of indices: all of them, or a fresh shuffle cut into pieces."""
    if batch_size is None:
        return [torch.arange(num_points)]
    return list(torch.randperm(num_points, generator=generator).split(batch_size))


def train(
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_epochs: int,
    batch_size: int | None = None,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Gradient descent on y_hat = X w + b from w = 0, b = 0.

    Returns w, b and the loss on all the data at the start and after every epoch.
    """
    w = torch.zeros(X.shape[1], device=X.device, requires_grad=True)  # (D,)
    b = torch.zeros((), device=X.device, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    generator = torch.Generator().manual_seed(seed)  # the same shuffles on every run
    losses = [mse(X @ w + b, y).item()]
    for _ in range(num_epochs):
        for batch in make_batches(len(X), batch_size, generator):
            batch = batch.to(X.device)  # shuffled on the CPU: the same order on every device
            X_batch, y_batch = X[batch], y[batch]
            optimizer.zero_grad()  # zero the gradients
            y_hat = X_batch @ w + b  # forward, (B,)
            loss = mse(y_hat, y_batch)  # loss
            loss.backward()  # backward: fills w.grad and b.grad
            optimizer.step()  # step: w -= lr * w.grad, b -= lr * b.grad
        with torch.no_grad():  # a measurement, not part of training
            losses.append(mse(X @ w + b, y).item())
    return w.detach(), b.detach(), losses


# %% [markdown]
# The target: least squares finds the lowest possible loss directly, as in lesson 1.2. It
# appends the column of ones that $b$ multiplies and works in float64 on the CPU, where it is
# exact enough even for badly scaled features.


# %%
def least_squares(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact best w and b for y_hat = X w + b (float64, CPU)."""
    A = torch.cat([X, torch.ones(len(X), 1, device=X.device)], dim=1)  # (N, D + 1)
    solution = torch.linalg.lstsq(A.cpu().double(), y.cpu().double()[:, None]).solution
    return solution[:-1, 0], solution[-1, 0]


def best_loss(X: torch.Tensor, y: torch.Tensor) -> float:
    """The lowest loss any w and b reach on these features."""
    w, b = least_squares(X, y)
    return mse(X.cpu().double() @ w + b, y.cpu().double()).item()


X_raw = powers(x)  # (N, 3): x, x^2, x^3
lowest = best_loss(X_raw, y)
print(f"lowest possible loss, degree 2: {best_loss(powers(x, degree=2), y):.4f}")
print(f"lowest possible loss, degree 3: {lowest:.4f}")

# %% [markdown]
# The cubic's best loss is about half the parabola's and close to 0.25, the variance of the
# noise (its standard deviation 0.5, squared): a cubic leaves little besides noise to explain.
# Now the first fit, on the raw powers:

# %%
num_epochs = 100
for lr in (1e-2, 1e-6, 1e-10, 1e-12):
    _, _, losses = train(X_raw, y, lr, num_epochs)
    print(f"lr {lr:.0e}: loss at start {losses[0]:.2f}, after {num_epochs} epochs {losses[-1]:.4g}")

# %% [markdown]
# Every rate fails. The three larger ones blow up: the loss grows past the largest float32
# number and ends as `nan` ("not a number"). The smallest stays finite but ends far above the
# lowest possible loss. Guessing further will not help; the next step measures what is wrong.

# %% [markdown]
# ## Step 2: Read the curvature
#
# For a model that is linear in its parameters, the MSE loss is exactly a quadratic bowl, and
# its curvatures are fixed numbers that depend on the features alone (lesson 1.4). Put the
# features and a column of ones (the "feature" that $b$ multiplies) side by side in a matrix
# $A$ with $N$ rows and 4 columns; row $i$ is $(x_i, x_i^2, x_i^3, 1)$. The table of second
# derivatives, the Hessian, is then
#
# $$
# H = \frac{2}{N} A^\top A, \qquad H_{jk} = \frac{2}{N} \sum_{i=1}^{N} a_{ij}\, a_{ik}
# $$
#
# where $a_{ij}$ is column $j$ of row $i$, $A^\top$ is $A$ with rows and columns swapped, and
# $H_{jk}$, the entry in row $j$ and column $k$, is twice the average of feature $j$ times
# feature $k$. The matrix product $A^\top A$ computes all 16 of these sums at once. With the
# single feature $x$ it is lesson 1.4's $2 \times 2$ table: $2\overline{x^2}$, $2\overline{x}$,
# $2\overline{x}$ and 2.
#
# **Eigenvalues, in plain words.** In lesson 1.4 the bowl over $(w, b)$ had elliptical
# contours, and the curvature along each of the two axes of the ellipses was an eigenvalue of
# $H$. Our bowl has four parameters, so it has four such axes at right angles, each with its
# own curvature: the four eigenvalues of $H$. The largest, $\lambda_{\max}$, is the steepest
# curvature in any direction; the smallest, $\lambda_{\min}$, the flattest.
# `torch.linalg.eigvalsh` computes them, smallest first.
#
# Lesson 1.4's stability limit and its condition number carry over unchanged:
#
# $$
# 0 < \eta < \frac{2}{\lambda_{\max}}, \qquad \kappa = \frac{\lambda_{\max}}{\lambda_{\min}}
# $$
#
# where $\eta$ (eta) is the learning rate, `lr` in code, and $\kappa$ (kappa) is the condition
# number. A safe, simple choice is $\eta = 1 / \lambda_{\max}$, half the limit: it settles the
# steepest direction in a single step. Then each step multiplies the distance to the bottom
# along the flattest direction by $1 - \lambda_{\min} / \lambda_{\max} = 1 - 1 / \kappa$. When
# $\kappa$ is large, that factor is so close to 1 that the parameters barely move along the
# valley floor.

# %% [markdown]
# **Your turn.**
#
# 1. Write `curvatures(X)`, which returns the eigenvalues of $H$ for the features $X$, computed
#    in float64 on the CPU.
# 2. For the raw powers, print $\lambda_{\min}$, $\lambda_{\max}$, the limit
#    $2 / \lambda_{\max}$ and $\kappa$. Which of step 1's learning rates were below the limit?
# 3. Test the limit: train for 100 epochs at 0.95 and at 1.05 times $2 / \lambda_{\max}$.

# %% [markdown]
# **Worked solution.**


# %%
def curvatures(X: torch.Tensor) -> torch.Tensor:
    """The eigenvalues of the MSE loss's Hessian H = (2/N) A^T A, smallest first."""
    # float64: the raw features' curvatures span more than float32's 7 digits
    A = torch.cat([X, torch.ones(len(X), 1, device=X.device)], dim=1).cpu().double()  # (N, D + 1)
    H = 2 / len(A) * A.T @ A  # (D + 1, D + 1)
    eigenvalues: torch.Tensor = torch.linalg.eigvalsh(H)  # (D + 1,)
    return eigenvalues


def describe(name: str, X: torch.Tensor) -> float:
    """Print the curvatures of X's loss; return the learning rate 1 / lambda_max."""
    eigenvalues = curvatures(X)
    lambda_min, lambda_max = eigenvalues[0].item(), eigenvalues[-1].item()
    print(
        f"{name:19s}  lambda_min {lambda_min:.3g}, lambda_max {lambda_max:.3g}, "
        f"2/lambda_max {2 / lambda_max:.3g}, kappa {lambda_max / lambda_min:.3g}"
    )
    return 1 / lambda_max


lr_raw = describe("raw powers", X_raw)
limit = 2 * lr_raw
for factor in (0.95, 1.05):
    _, _, losses = train(X_raw, y, factor * limit, num_epochs)
    print(f"lr = {factor:.2f} x limit: loss after {num_epochs} epochs {losses[-1]:.3g}")

# %% [markdown]
# The steepest curvature is enormous, because $x^3$ reaches about 2 million and $H$ holds its
# square. So the limit is a tiny rate: of step 1's rates only 1e-12 lies below it, and that is
# exactly the one that did not blow up. The test shows how sharp the limit is: 5% below it the
# loss stays finite, 5% above it the loss explodes.
#
# The condition number is the other half of the diagnosis. With $\kappa$ far above $10^{12}$,
# each step at $\eta = 1 / \lambda_{\max}$ removes only about $10^{-14}$ of the distance along
# the flattest direction: no practical number of epochs would get there.

# %% [markdown]
# ## Step 3: Standardize the features
#
# The three columns have wildly different scales: the speeds are at most 130, while their
# cubes reach about 2 million. Lesson 1.4's cure is to standardize each column $j$ of $X$:
#
# $$
# X'_{ij} = \frac{X_{ij} - \mu_j}{\sigma_j}
# $$
#
# where $\mu_j$ (mu) is the mean of column $j$ over the data and $\sigma_j$ (sigma) its
# standard deviation, computed with $1/N$ so that the average of $X'^2_{ij}$ over the trips is
# exactly 1. The
# model on the new features has other weights, yet it describes exactly the same cubics: a
# shift and a rescaling of each feature are undone by adjusting its weight and $b$. So the
# lowest possible loss stays the same; only the shape of the bowl changes.
#
# After standardizing, every column has average 0 and average square 1, and $H$ becomes
#
# $$
# H = 2 \begin{pmatrix} 1 & r_{12} & r_{13} & 0 \\ r_{12} & 1 & r_{23} & 0 \\
# r_{13} & r_{23} & 1 & 0 \\ 0 & 0 & 0 & 1 \end{pmatrix}
# $$
#
# where $r_{jk}$ is the *correlation* of features $j$ and $k$ (the average of
# $X'_{ij} X'_{ik}$ over the trips, between $-1$ and 1, near 1 when one is high exactly when
# the other is), and the zeros say
# that $b$ no longer interacts with any weight. The scales are gone from $H$; only the
# correlations remain, and standardizing cannot change a correlation, which is computed from
# standardized values anyway. High correlations mean that some mix of the features is nearly
# constant over the data. Moving the weights along that mix barely changes the predictions:
# the bowl has a long, flat valley floor, the $2(1 - r)$ direction of lesson 1.4.
#
# Why are the powers so correlated? Every speed is far from zero, so $x$ is always positive,
# and the powers of a positive number rise together: a faster trip has a larger $x$, a larger
# $x^2$ and a larger $x^3$.
#
# There is a cheap way to lower the correlations: standardize the speed itself, then take its
# powers. Call the result $z = (x - \mu_x) / \sigma_x$, where $\mu_x$ and $\sigma_x$ are the
# mean and standard deviation of the speeds; $z$ is negative below the average speed and
# positive above it. Now $z^2$ is large at both ends and small in the middle, while $z$ goes
# steadily up. When the speeds are spread roughly symmetrically about their mean, as here, the
# two are nearly uncorrelated. But $z$ and $z^3$ still rise together, since both have the sign
# of $z$. Only the centering, subtracting $\mu_x$, matters for the correlations; dividing by
# $\sigma_x$ only keeps the numbers near 1. Then standardize $z$, $z^2$ and $z^3$ as columns,
# as before. We call these features the *centered powers*, and the raw powers standardized
# column by column the *standardized powers*.

# %% [markdown]
# **Your turn.**
#
# 1. Write `standardize(X, mean, std)`, and build two feature sets: the standardized powers
#    and the centered powers. Take every mean and standard deviation from the data, and keep
#    them: step 6 needs them to draw the curve. Hint: `Tensor.std` divides by $N - 1$ unless
#    you pass `correction=0`; the lab divides by $N$.
# 2. For the raw powers and both new sets, print the correlations of the three pairs of
#    features (the off-diagonal entries of `torch.corrcoef`). Hint: `torch.corrcoef` treats
#    each row as a variable, so pass the features as rows (`X.T`). For the new sets, print
#    their curvatures with `describe`.
# 3. Check that all three feature sets share one lowest possible loss.
# 4. Train all three sets for 300 epochs, each at its own $\eta = 1 / \lambda_{\max}$, and plot
#    the loss per epoch.

# %% [markdown]
# **Worked solution.**


# %%
def statistics(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and standard deviation of every column (dividing by N)."""
    return X.mean(dim=0), X.std(dim=0, correction=0)


def standardize(X: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Shift and scale every column with the data's statistics."""
    return (X - mean) / std


mean_raw, std_raw = statistics(X_raw)
X_std = standardize(X_raw, mean_raw, std_raw)  # (N, 3)

mean_x, std_x = statistics(x)
Z = powers(standardize(x, mean_x, std_x))  # (N, 3): z, z^2, z^3
mean_z, std_z = statistics(Z)
X_ctr = standardize(Z, mean_z, std_z)  # (N, 3)


def print_correlations(name: str, X: torch.Tensor, symbol: str) -> None:
    """The correlation r of each pair of X's columns, which are powers of symbol."""
    r = torch.corrcoef(X.T)  # (3, 3): r[j, k] for features j and k
    names = [symbol, f"{symbol}^2", f"{symbol}^3"]
    pairs = ((0, 1), (0, 2), (1, 2))
    terms = [f"r({names[j]}, {names[k]}) {r[j, k].item():.3f}" for j, k in pairs]
    print(f"{name:19s}  " + "  ".join(terms))


print_correlations("raw powers", X_raw, "x")
print_correlations("standardized powers", X_std, "x")
print_correlations("centered powers", X_ctr, "z")
lr_std = describe("standardized powers", X_std)
lr_ctr = describe("centered powers", X_ctr)
for name, X in (("raw", X_raw), ("standardized", X_std), ("centered", X_ctr)):
    print(f"lowest possible loss, {name} powers: {best_loss(X, y):.4f}")

# %% [markdown]
# Standardizing left the correlations exactly as they were, all above 0.94. It brought the
# condition number down from astronomical to about 8,000, but the valley is still long.
# The centered powers tell a different story: $z$ and $z^2$ are barely correlated, at 0.013.
# $z$ and $z^3$ still are, at 0.911, because both are negative below the average speed and
# positive above it, yet $\kappa$ falls to about 22. All three sets share one lowest loss, as
# promised. Now the training runs:

# %%
num_epochs = 300
runs = {
    "raw powers": train(X_raw, y, lr_raw, num_epochs),
    "standardized powers": train(X_std, y, lr_std, num_epochs),
    "centered powers": train(X_ctr, y, lr_ctr, num_epochs),
}
for name, (_, _, losses) in runs.items():
    checkpoints = ", ".join(f"epoch {e}: {losses[e]:.4f}" for e in (10, 30, 100, num_epochs))
    print(f"{name:19s} {checkpoints}")
print(f"lowest possible loss: {lowest:.4f}")


# %%
def draw_runs(curves: dict[str, list[float]], lowest: float) -> None:
    """Loss per epoch for each feature set, on a log scale, with the lowest possible loss."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    for (name, losses), style in zip(curves.items(), ("-", "--", "-."), strict=True):
        ax.plot(losses, style, lw=2, label=name)
    ax.axhline(lowest, color="black", ls=":", label="lowest possible")
    log_scale(ax)
    ax.set_title("Same data, same loop, three sets of features")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE loss")
    ax.legend()
    fig.set_label(
        "Loss per epoch on a log scale for 300 epochs. Raw powers (solid) drop once and "
        "then stay flat far above the rest. Standardized powers (dashed) fall quickly at "
        "first, then creep down slowly and end well above the lowest possible loss "
        "(dotted). Centered powers (dash-dotted) fall to the dotted line within the first "
        "tens of epochs and stay on it."
    )
    plt.show()


draw_runs({name: losses for name, (_, _, losses) in runs.items()}, lowest)

# %% [markdown]
# The raw powers never leave their first plateau. The standardized powers fall fast while the
# steep directions settle, then crawl along the valley floor and end far above the lowest
# possible loss. The centered powers reach it within 100 epochs. Same data, same model, same
# loop: only the shape of the bowl differs, and $\kappa$ predicted the order of the three runs.
#
# To go all the way, one would replace the features by fully uncorrelated combinations of
# them (*whitening*, lesson 1.4): then $H$ would be twice the identity and $\kappa = 1$.
# Centering the speed already gets most of the way there, so the rest of the lab uses the
# centered powers.

# %% [markdown]
# ## Step 4: Full batch vs. mini-batches
#
# Every step so far looked at all 100 trips. Lesson 1.3's alternative is to shuffle the trips
# every epoch, cut them into mini-batches, and step after each batch: more steps per epoch,
# each on a noisy estimate of the gradient. `train` does both, through `batch_size`.

# %% [markdown]
# **Your turn.** With the centered powers and $\eta = 1 / \lambda_{\max}$, train for 30 epochs
# with the full batch (30 steps) and with mini-batches of 10 (300 steps), shuffled by a seeded
# generator. Compare the loss on all the data after each epoch with the lowest possible one,
# and plot how far above it each run is, epoch by epoch.

# %% [markdown]
# **Worked solution.**

# %%
num_epochs = 30
_, _, losses_full = train(X_ctr, y, lr_ctr, num_epochs)
_, _, losses_mini = train(X_ctr, y, lr_ctr, num_epochs, batch_size=10)
for epoch in (1, 5, 10, num_epochs):
    print(
        f"epoch {epoch:2d}  full batch {losses_full[epoch]:.4f}  "
        f"mini-batches of 10 {losses_mini[epoch]:.4f}"
    )
print(f"lowest possible loss: {lowest:.4f}")


# %%
def draw_batches(losses_full: list[float], losses_mini: list[float], lowest: float) -> None:
    """How far each run's loss is above the lowest possible one, per epoch, on a log scale."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    ax.plot([loss - lowest for loss in losses_full], "o-", ms=4, label="full batch")
    ax.plot([loss - lowest for loss in losses_mini], "s--", ms=4, label="mini-batches of 10")
    log_scale(ax)
    ax.set_title(r"Centered powers, learning rate $1/\lambda_{max}$")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss above the lowest possible")
    ax.legend()
    fig.set_label(
        "How far the loss is above the lowest possible loss, per epoch, on a log scale, "
        "for 30 epochs. Mini-batches (squares, dashed) drop from about 80 to about 0.1 "
        "in the first epoch, then jump up and down between about 0.005 and 0.3. The full "
        "batch (circles, solid) falls more slowly, on a straight line from about epoch 8 on, "
        "ending near 0.01, below most of the mini-batch points of the last epochs."
    )
    plt.show()


draw_batches(losses_full, losses_mini, lowest)

# %% [markdown]
# Per epoch, mini-batches win early: after one epoch they have taken 10 steps to the full
# batch's one. But each of their steps follows a noisy gradient, so with a constant learning
# rate they never settle: they keep jumping around above the lowest loss, as in lesson 1.3.
# The learning rate adds to the jitter too. $1 / \lambda_{\max}$ was set from the curvature of
# all 100 trips, but a batch of 10 has its own curvature, on some batches steeper. On those
# batches the same rate can overshoot, on top of the noise in the gradient estimate.
# The full batch closes in steadily and ends lower. On the log scale its curve becomes a
# straight line once the steeper directions have settled: every step multiplies the distance
# left along the flattest direction by $1 - 1 / \kappa$, and the loss gap, which goes with the
# square of that distance, by $(1 - 1 / \kappa)^2$. A smaller learning rate for the
# mini-batches would shrink their jitter, at the price of slower early progress.

# %% [markdown]
# ## Step 5: Check the gradient
#
# Autograd computed every gradient so far. Lesson 1.2's formulas, one per feature, give them by
# hand:
#
# $$
# \frac{\partial L}{\partial w_j} = \frac{2}{N} \sum_{i=1}^{N} \left( \hat{y}_i - y_i \right)
# X_{ij}, \qquad \frac{\partial L}{\partial b} = \frac{2}{N} \sum_{i=1}^{N}
# \left( \hat{y}_i - y_i \right)
# $$
#
# where $X_{ij}$ is feature $j$ of trip $i$: twice the average of error times feature. All
# three weights at once, that is $\frac{2}{N} X^\top (\hat{y} - y)$. Lesson 1.5's central
# difference checks both, one parameter at a time, with no calculus at all:
#
# $$
# \frac{\partial L}{\partial \theta_k} \approx \frac{L(\theta + h u_k) - L(\theta - h u_k)}{2h}
# $$
#
# where $\theta = (w_1, w_2, w_3, b)$ holds all four parameters, $u_k$ is 1 at entry $k$ and 0
# elsewhere, and $h$ is a small step.

# %% [markdown]
# **Your turn.** At a random point $\theta$ (seeded), in float64 on the CPU, compute the
# gradient of the loss on the centered powers three ways: by autograd, by the formulas above,
# and by central differences with $h = 10^{-6}$. Print the largest relative error
# $|g - \tilde{g}| / (|g| + |\tilde{g}|)$ between autograd and each of the other two.

# %% [markdown]
# **Worked solution.**

# %%
# float64: rounding error far below the differences we look for (and MPS has no float64)
X64, y64 = X_ctr.cpu().double(), y.cpu().double()


def loss_at(theta: torch.Tensor) -> torch.Tensor:
    """The loss as a function of theta = (w1, w2, w3, b)."""
    w, b = theta[:3], theta[3]
    return mse(X64 @ w + b, y64)


def central_differences(theta: torch.Tensor, h: float) -> torch.Tensor:
    """Estimate the gradient of loss_at, one entry of theta at a time."""
    grad = torch.zeros_like(theta)
    for k in range(len(theta)):
        u_k = torch.zeros_like(theta)
        u_k[k] = 1.0
        grad[k] = (loss_at(theta + h * u_k) - loss_at(theta - h * u_k)) / (2 * h)
    return grad


def relative_error(g: torch.Tensor, g_other: torch.Tensor) -> float:
    """The largest entry of |g - g_other| / (|g| + |g_other|)."""
    return ((g - g_other).abs() / (g.abs() + g_other.abs())).max().item()


theta = torch.randn(4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
theta.requires_grad_(True)
loss_at(theta).backward()
assert theta.grad is not None  # .grad is optional; tell the type checker it is set
by_autograd = theta.grad

with torch.no_grad():
    w, b = theta[:3], theta[3]
    error = X64 @ w + b - y64  # (N,): y_hat_i - y_i
    grad_w = 2 / len(X64) * X64.T @ error  # (3,)
    grad_b = 2 * error.mean()
    by_hand = torch.cat([grad_w, grad_b[None]])
    numerical = central_differences(theta, h=1e-6)

print(f"gradient by autograd: {[round(g, 4) for g in by_autograd.tolist()]}")
for name, other in (("formulas", by_hand), ("central differences", numerical)):
    print(f"autograd vs {name:19s}  max relative error {relative_error(by_autograd, other):.1e}")

# %% [markdown]
# The formulas agree with autograd to float64 rounding. The central differences agree too,
# and here they have no truncation error at all: the loss is quadratic in the parameters, and
# for a quadratic the central difference is exact (lesson 1.5). The small difference that
# remains, a relative error of about $10^{-9}$ (its last digit changes with the device that
# prepared the data), is rounding, of the size lesson 1.5 predicts for a step of $10^{-6}$ in
# float64. Autograd's gradients for this model are right.

# %% [markdown]
# ## Step 6: The fitted curve
#
# Step 3's run on the centered powers trained for 300 epochs. Its weights belong to the
# standardized features, so drawing its curve at any speed means computing the features of
# that speed with the *data's* statistics, exactly as during training.

# %% [markdown]
# **Your turn.**
#
# 1. Compare the trained $w$ and $b$ with the least-squares ones for the same features.
# 2. Write `features(x)`, which turns any speeds into the centered powers with the stored
#    means and standard deviations, and draw the data, the fitted curve and the rule the data
#    came from.
# 3. At what speed is the fitted curve lowest? Compare with the rule's lowest point, and with
#    that of a cubic fitted by least squares to the rule's own noise-free values at the same
#    speeds.

# %% [markdown]
# **Worked solution.**

# %%
w, b = runs["centered powers"][:2]
w_best, b_best = least_squares(X_ctr, y)
print(f"gradient descent: w = {[round(v, 4) for v in w.tolist()]}, b = {b.item():.4f}")
print(f"least squares:    w = {[round(v, 4) for v in w_best.tolist()]}, b = {b_best.item():.4f}")


def features(x: torch.Tensor) -> torch.Tensor:
    """The centered powers of any speeds, with the statistics of the training data."""
    return standardize(powers(standardize(x, mean_x, std_x)), mean_z, std_z)


x_grid = torch.linspace(20, 130, 1101, device=device)  # every 0.1 km/h
y_grid = features(x_grid) @ w + b
w_clean, b_clean = least_squares(X_ctr, fuel_rule(x))  # the same speeds, no noise
curves = {
    "fitted cubic": y_grid,
    "cubic fitted to the rule": features(x_grid) @ w_clean.to(x_grid) + b_clean.to(x_grid),
    "rule": fuel_rule(x_grid),
}
for name, curve in curves.items():
    lowest_at = x_grid[curve.argmin()].item()
    print(f"{name:24s}  lowest {curve.min().item():.2f} L/100 km at {lowest_at:.1f} km/h")


# %%
def draw_fit(x: torch.Tensor, y: torch.Tensor, x_grid: torch.Tensor, y_grid: torch.Tensor) -> None:
    """The data, the fitted cubic and the rule the data came from."""
    fig, ax = plt.subplots(figsize=(5.4, 3.4), layout="constrained")
    ax.scatter(x.cpu(), y.cpu(), s=14, alpha=0.5, label="data")
    ax.plot(x_grid.cpu(), y_grid.cpu(), lw=2.5, label="fitted cubic")
    ax.plot(x_grid.cpu(), fuel_rule(x_grid).cpu(), "k--", label="rule behind the data")
    ax.set_title("The fitted curve")
    ax.set_xlabel("speed x (km/h)")
    ax.set_ylabel("fuel use y (L/100 km)")
    ax.legend()
    fig.set_label(
        "The 100 trips as dots, the fitted cubic as a thick solid line and the rule behind "
        "the data as a dashed line. Both curves fall steeply from the left, bottom out "
        "near 68 km/h and rise gently to the right. They stay close. On the slow side the "
        "cubic crosses the rule: it is below it at 20 km/h and above it around 30 to "
        "40 km/h. It runs a little below the rule around the bottom and at the fastest "
        "speeds."
    )
    plt.show()


draw_fit(x, y, x_grid, y_grid)

# %% [markdown]
# Gradient descent found the least-squares cubic: the two agree to every printed digit. The
# curve follows the data and the rule, and all three curves put the most economical speed
# within about a km/h of each other. The fitted cubic's lowest fuel use is below the rule's,
# and so is that of the cubic fitted to the noise-free rule: the gap comes mostly from the
# shape of a cubic, which cannot copy $250 / x$ exactly, rather than from the noise.

# %% [markdown]
# ## What you built
#
# - **One loop, unchanged.** Zero the gradients, forward, loss, backward, step, with
#   `torch.optim.SGD`: the lines that fitted a line in lesson 1.2 fitted a cubic here. A model
#   that is linear in its parameters can bend in its input; only the features change.
# - **Curvature sets the learning rate.** For the MSE of such a model,
#   $H = \frac{2}{N} A^\top A$ depends on the features alone; gradient descent is stable only
#   for $\eta < 2 / \lambda_{\max}$, and that limit was sharp.
# - **Standardizing fixes scales, not correlations.** It turned an impossible problem into a
#   slow one. The correlations between powers of a speed far from zero kept $\kappa$ in the
#   thousands. Centering the speed before taking powers brought it to about 22, and training
#   reached the lowest loss within 100 epochs.
# - **Mini-batches** take more steps per epoch and win early, at the price of noise near the
#   bottom.
# - **Gradients are checkable.** Lesson 1.2's formulas and central differences in float64
#   agreed with autograd.
# - **Features change the landscape, not the answer.** All three feature sets shared one lowest
#   possible loss; they differed only in how fast gradient descent could reach it.
