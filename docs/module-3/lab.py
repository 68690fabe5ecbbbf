# %% [markdown]
# # Module 3 lab: A character-level language model, trained the modern way
#
# A language model reads text and says, for every character, how likely each character is to come
# next. In this lab you train a small one, character by character, on the help pages that come with
# Python, and then let it write. Every piece of the loop is one of Module 3's lessons, and here they
# run together, the way a real training script has them:
#
# 1. **The text**, split into training text and held-out text, and what a blind guess costs: the
#    baselines any model must beat.
# 2. **The model**: an embedding and a multi-layer perceptron over the last 8 characters.
# 3. **The optimizer and the schedule**: AdamW (lesson 3.1) with linear warmup and cosine decay
#    (lesson 3.2).
# 4. **The loop**, with gradient clipping (lesson 3.4), logged to TensorBoard (lesson 3.6), with the
#    held-out loss measured as it goes.
# 5. **The curves**, read back from the log: the losses, the gradient norm, the learning rate
#    (lesson 3.6).
# 6. **The score on held-out text**, in nats per character, against the baselines.
# 7. **A checkpoint** (lesson 3.5), and a resume that continues exactly as if never stopped.
# 8. **Sampling**: the model writes text, one drawn character at a time, at two temperatures.
#
# Each step sets a task under **Your turn**. Try it on your own first; the **Worked solution**
# follows it. Ideas to take further are under **Try this**, at the end.

# %% [markdown]
# ## Setup
#
# The notebook runs on its own, in Colab too, so its first cell is the lessons' helpers block, word
# for word: `get_device` picks an NVIDIA GPU, then an Apple GPU, then the CPU, and `seed_everything`
# seeds Python's and PyTorch's global generators (this lab does not use `log_scale`).
#
# The second cell imports what the lab needs, new among it `pydoc_data` (below) and TensorBoard's
# `SummaryWriter` and `EventAccumulator` (lesson 3.6). It also runs PyTorch on one CPU thread
# (`torch.set_num_threads(1)`): on a small, busy CPU, splitting such small multiplications across
# threads can make each step slower, and one thread keeps it steady.

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
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from pydoc_data.topics import topics

import matplotlib.pyplot as plt
import torch.nn.functional as F
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn
from torch.optim import AdamW, Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from torch.utils.tensorboard import SummaryWriter

torch.set_num_threads(1)  # small multiplications: one thread, no waiting on a busy core
seed_everything(0)
device = get_device()
print(f"training on: {device}")

# %% [markdown]
# ## Step 1: The text, and what a guess costs
#
# The text is Python's own help. When you type `help("if")` at Python's prompt, the answer comes
# from a dictionary in the standard library, `pydoc_data.topics.topics`: the name of a help topic (a
# keyword such as `if`, or a subject such as `typesseq`, the sequence types) maps to the topic's
# page of plain text. It comes with every Python, so nothing is downloaded; its pages change a
# little from one Python version to the next, so on another version the counts below change a little
# too.
#
# We join the pages in alphabetical order of their names, with a newline between them, and number
# the characters: the **vocabulary** is the sorted list of distinct characters, and each character
# becomes its position in that list. The last tenth of the text is **held out**: the model never
# trains on it, and its loss there tells us how well the model predicts text it has not seen.
# Cutting at one place keeps the two parts apart; a random choice of single characters would put
# each held-out character between training characters that share its words.
#
# The loss is the standard one for classifiers with more than two classes, the **cross-entropy**: if
# the model gives the character that really comes next the probability $p$, the loss on that
# character is $-\ln p$, in **nats** (natural-log units; a nat is about 1.44 bits). The loss on a
# text is the mean over its characters. Two guesses that need no training set the bar:
#
# - the **uniform** guess gives each of the $V$ characters of the vocabulary the probability $1/V$,
#   so its loss is $\ln V$ on every character;
# - the **unigram** guess gives each character its share of the training text, whatever came before
#   it. Its loss on the held-out text is
#
# $$
# L_{\text{unigram}} = -\frac{1}{N} \sum_{t=1}^{N} \ln q(c_t)
# $$
#
# where $c_1, \dots, c_N$ are the $N$ held-out characters and $q(c)$ is character $c$'s share of the
# training text. We add 1 to every count first, so that a character the training text lacks gets a
# small share rather than 0, whose logarithm is $-\infty$.
#
# Two tensor methods help: `torch.bincount` counts how often each integer occurs, and
# `argsort(descending=True)` lists a tensor's positions from its largest value down.

# %% [markdown]
# **Your turn.** Build the text, the vocabulary and the tensor of character numbers; split it 90% /
# 10%, and compute both baselines on the held-out text.

# %% [markdown]
# **Worked solution.**

# %%
text = "\n".join(topics[name] for name in sorted(topics))
chars = sorted(set(text))  # the vocabulary: every character that occurs
vocab_size = len(chars)
index = {c: i for i, c in enumerate(chars)}
data = torch.tensor([index[c] for c in text])  # (N,): one integer per character
num_train = int(0.9 * len(data))
train_data, val_data = data[:num_train], data[num_train:]  # held out: the last tenth
print(f"{len(topics)} topics, {len(text)} characters, {vocab_size} distinct")
print(f"training: {len(train_data)}, held out: {len(val_data)}")
names, position = sorted(topics), 0  # position: where the next topic starts
while position + len(topics[names[0]]) <= num_train:  # it ends in the training text
    position += len(topics[names.pop(0)]) + 1  # skip it, and the newline after it
print(f"held out: the end of {names[0]!r}, then {', '.join(names[1:])}")

# %%
counts = torch.bincount(train_data, minlength=vocab_size).float()
p_unigram = (counts + 1) / (counts + 1).sum()  # add one: no character gets 0
uniform = math.log(vocab_size)
unigram = -p_unigram.log()[val_data].mean().item()
print(f"uniform guess: {uniform:.3f} nats per character")
print(f"unigram guess: {unigram:.3f} nats per character")
top = counts.argsort(descending=True)[:5]
print("most common:", ", ".join(f"{chars[i]!r} {p_unigram[i]:.1%}" for i in top.tolist()))

# %% [markdown]
# To name the held-out topics, the solution skips the topics in order (each with the newline after
# it) while they end inside the training text; the first one left is where the cut falls. The
# held-out tenth is the end of `typesmapping` (the dictionary type) and the eight topics after it,
# from `typesmethods` to `yield`, the loop statement `while` among them. Knowing only how common
# each character is, the unigram guess already pays about 1.4 nats less per character than the
# uniform one: the space alone is about one character in six.

# %% [markdown]
# ## Step 2: Windows of text, and the model
#
# The model predicts the next character from the $k = 8$ characters before it. A training example is
# a **window**: 8 characters of the text as the input, the character after them as the target. Every
# position of the training text starts one, so there are about 419,000 of them, and each step draws
# a mini-batch of 128 windows at random places, from the run's own seeded `torch.Generator`.
#
# A character's number says nothing about it: `e` is not "between" `d` and `f` in any useful way. So
# the first layer, `nn.Embedding(V, d)`, is a table of $V$ learned vectors of $d = 16$ numbers, one
# per character, and replaces each character by its row. The 8 rows are laid end to end
# (`nn.Flatten`), into 128 numbers, and a multi-layer perceptron of Module 2 takes over: a hidden
# layer of 256 ReLUs and an output layer with one **logit** per character. The **softmax** turns the
# logits $z_1, \dots, z_V$ into probabilities,
#
# $$
# p_j = \frac{e^{z_j}}{\sum_{i=1}^{V} e^{z_i}}
# $$
#
# where $p_j$ is the probability of character $j$: all positive, summing to 1, and in the order of
# the logits. `F.cross_entropy(logits, y)` computes the softmax and the mean $-\ln p$ of the targets
# `y` in one stable step, as `F.binary_cross_entropy_with_logits` does for two classes.
#
# Why this model? It is Module 2's network with a lookup table in front, so every part of it is
# familiar; each step costs a few small matrix products, which suits a CPU; and 8 characters are
# enough to finish most words. Models that use more of the past, a recurrent network (one that reads
# the text a character at a time and carries a memory along) or the attention layers of large
# language models, cost far more per step on a CPU.

# %% [markdown]
# **Your turn.** Write `windows(source, starts)`, which cuts the windows that begin at `starts`, and
# `get_batch(source, batch_size, generator)`; build the model, count its parameters, and compute its
# loss on the held-out text before any training. One indexing trick does the cutting:
# `starts[:, None] + offsets` is a (B, 8) table whose row $b$ holds `starts[b]`, ...,
# `starts[b] + 7`, and indexing the text with it picks out every window's characters at once.

# %% [markdown]
# **Worked solution.**

# %%
context = 8  # characters the model sees
offsets = torch.arange(context)  # (k,): 0, 1, ..., k - 1


def windows(source: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The k characters from each start, and the character after them."""
    X = source[starts[:, None] + offsets.to(source.device)]  # (B, k)
    y = source[starts + context]  # (B,)
    return X, y


def get_batch(
    source: torch.Tensor, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A mini-batch of windows at random places, drawn from `generator`."""
    starts = torch.randint(len(source) - context, (batch_size,), generator=generator)
    return windows(source, starts.to(source.device))


def make_model(embed_dim: int = 16, hidden: int = 256) -> nn.Sequential:
    """k characters -> k vectors -> one long vector -> ReLU layer -> logits."""
    return nn.Sequential(
        nn.Embedding(vocab_size, embed_dim),  # (B, k) -> (B, k, d)
        nn.Flatten(),  # (B, k, d) -> (B, k * d)
        nn.Linear(context * embed_dim, hidden),
        nn.ReLU(),
        nn.Linear(hidden, vocab_size),  # one logit per character
    )


train_data, val_data = train_data.to(device), val_data.to(device)
X_val, y_val = windows(val_data, torch.arange(len(val_data) - context, device=device))
seed_everything(0)
model = make_model().to(device)
X, y = get_batch(train_data, 4, torch.Generator().manual_seed(0))
print(f"X {tuple(X.shape)}, y {tuple(y.shape)}, logits {tuple(model(X).shape)}")
for row, target in zip(X.tolist(), y.tolist(), strict=True):
    print(f"  {''.join(chars[i] for i in row)!r} -> {chars[target]!r}")
print(f"parameters: {sum(p.numel() for p in model.parameters())}")
with torch.no_grad():
    start_loss = F.cross_entropy(model(X_val), y_val).item()
print(f"held-out loss at the start: {start_loss:.3f}")

# %% [markdown]
# Before training the loss is close to the uniform guess's $\ln 103 = 4.635$, as lesson 3.6's Habit
# 1, the loss at the start, expects: the fresh network's logits are small, so it spreads its
# probability nearly evenly. Of the 61,143 parameters, the embedding holds $103 \times 16 = 1648$;
# the rest are the two linear layers.

# %% [markdown]
# ## Step 3: AdamW, warmup and cosine decay
#
# The optimizer is **AdamW** (lesson 3.1): Adam's steps, each parameter's divided by the square root
# of its own running average of squared gradients, with weight decay applied directly to the
# weights, outside those averages, at its default rate 0.01. The peak learning rate is 0.003, three
# times Adam's default of 0.001.
#
# The rate follows lesson 3.2's schedule: it climbs in a straight line from 1% of the peak over the
# first $W = 100$ steps (warmup: Adam's first steps are large whatever the gradient, lesson 3.2
# showed), then falls along half a cosine to 0 at step $T = 2000$. `warmup_cosine` is lesson 3.2's
# function, copied, since a notebook cannot import the course's code. The scheduler steps after
# every `optimizer.step()`.
#
# Everything a run's future depends on goes into one `Run`: the model, the optimizer, the scheduler,
# the generator that draws the batches, and the count of steps taken. Step 7 saves these, and one
# thing more.

# %% [markdown]
# **Your turn.** Write `make_run(device, total_steps, seed)`, which seeds the weights, builds the
# four objects and returns them in a `Run`, and check the rate of the first step.

# %% [markdown]
# **Worked solution.**


# %%
def warmup_cosine(
    optimizer: Optimizer,
    warmup_steps: int,
    total_steps: int,
    start_factor: float = 0.01,
    lr_min: float = 0.0,
) -> SequentialLR:
    """Linear warmup from start_factor * lr to lr, then cosine decay to
    lr_min at total_steps. Step it after every optimizer.step()."""
    warmup = LinearLR(optimizer, start_factor, total_iters=warmup_steps)
    decay = CosineAnnealingLR(optimizer, total_steps - warmup_steps, lr_min)
    return SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])


@dataclass
class Run:
    """Everything a run's future depends on."""

    model: nn.Sequential
    optimizer: AdamW
    scheduler: SequentialLR
    generator: torch.Generator  # draws the batches
    step: int = 0  # optimizer steps taken


lr, weight_decay, batch_size = 3e-3, 0.01, 128
warmup_steps, num_steps, max_norm = 100, 2000, 1.4


def make_run(device: torch.device, total_steps: int = num_steps, seed: int = 0) -> Run:
    seed_everything(seed)  # the starting weights
    model = make_model().to(device)
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = warmup_cosine(optimizer, warmup_steps, total_steps)
    return Run(model, optimizer, scheduler, torch.Generator().manual_seed(seed))


run = make_run(device)
print(run.optimizer)
print(f"lr at step 0: {run.optimizer.param_groups[0]['lr']:.2e}")

# %% [markdown]
# The optimizer shows the defaults AdamW adds to our settings: $\beta_1 = 0.9$, $\beta_2 = 0.999$,
# $\epsilon = 10^{-8}$. `decoupled_weight_decay: True` is what makes it AdamW rather than Adam; the
# other entries (`amsgrad`, `foreach`, `fused`, ...) pick variants of the method or faster ways to
# compute it, and we leave them at their defaults. `LinearLR` has already set the first rate, 1% of
# `initial_lr`.

# %% [markdown]
# ## Step 4: The loop, clipped and logged
#
# The loop is the course's, zero the gradients, forward, loss, backward, step, with three additions:
#
# - **clipping** (lesson 3.4): after `backward()`, `nn.utils.clip_grad_norm_` shrinks the gradient,
#   all parameters' gradients taken as one vector, to a norm of at most `max_norm`, and returns the
#   norm it found *before* clipping, which is what we log;
# - **the schedule**: `scheduler.step()` after `optimizer.step()`; the rate a step uses is read from
#   the optimizer just before it;
# - **logging** (lesson 3.6): every step writes the training loss of its mini-batch, the gradient
#   norm and the rate to a `SummaryWriter`, and every 250 steps the loss on the whole held-out text.
#
# The limit is 1.4, a little above the norms most steps reach (Step 5 prints them), so that it
# shrinks only the largest. Clipping is insurance against a spike; a limit below the usual norm,
# such as 1, would shrink nearly every step: no longer a guard against spikes, but a change to every
# step.
#
# The held-out loss is measured with `torch.no_grad()`; the model has no dropout and no batch
# normalization, so `model.eval()` would change nothing.

# %% [markdown]
# **Your turn.** Write the loop as `train(run, source, num_steps, writer, eval_every)`, so that it
# can run a whole training or a few steps of it, and train for 2000 steps, logging to
# `runs/char_mlp`.

# %% [markdown]
# **Worked solution.**


# %%
def held_out_loss(model: nn.Module) -> float:
    """The mean loss, in nats per character, over every held-out window."""
    with torch.no_grad():
        return F.cross_entropy(model(X_val), y_val).item()


def train(
    run: Run,
    source: torch.Tensor,
    num_steps: int,
    writer: SummaryWriter | None = None,
    eval_every: int = 250,
) -> None:
    """num_steps steps of the loop: AdamW, clipping, the schedule; logged to
    `writer` (if any), with the held-out loss every `eval_every` steps."""
    model, optimizer, scheduler = run.model, run.optimizer, run.scheduler
    for _ in range(num_steps):
        X, y = get_batch(source, batch_size, run.generator)
        rate = optimizer.param_groups[0]["lr"]  # the rate this step uses
        optimizer.zero_grad()  # 1. zero the gradients
        logits = model(X)  # 2. forward: (B, vocab_size)
        loss = F.cross_entropy(logits, y)  # 3. loss, nats per character
        loss.backward()  # 4. backward
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # before clipping
        optimizer.step()  # 5. step
        scheduler.step()  # the next step's rate
        run.step += 1
        if writer is not None:
            writer.add_scalar("loss/train", loss.item(), run.step)
            writer.add_scalar("grad_norm", norm.item(), run.step)
            writer.add_scalar("lr", rate, run.step)
            if run.step % eval_every == 0:
                val_loss = held_out_loss(model)
                writer.add_scalar("loss/val", val_loss, run.step)
                print(f"step {run.step:4d}  lr {rate:.2e}  held-out {val_loss:.3f}")


# %%
logdir = Path("runs") / "char_mlp"
shutil.rmtree(logdir, ignore_errors=True)  # a fresh folder for this run
with SummaryWriter(logdir) as writer:  # closed, and so flushed, at the end
    writer.add_scalar("loss/val", held_out_loss(run.model), 0)
    train(run, train_data, num_steps, writer)

# %% [markdown]
# The held-out loss falls fast while the rate is high, then ever more slowly as the cosine lowers
# the rate, and it still falls in the last few hundred steps, where the rate is smallest: the
# smaller steps let the weights settle where a large rate kept them bouncing (lesson 3.2).

# %% [markdown]
# ## Step 5: The curves, read back from the log
#
# The log is on disk, in `runs/char_mlp`. Open it in TensorBoard's dashboard (`uv run tensorboard
# --logdir runs` in a terminal, or `%load_ext tensorboard` then `%tensorboard --logdir runs` in a
# notebook, lesson 3.6), or read it back as lesson 3.6 does with `EventAccumulator` and draw it
# yourself. The training loss of one mini-batch of 128 windows changes by about a tenth or more from
# one step to the next, so we draw its mean over the last 50 steps.

# %% [markdown]
# **Your turn.** Read the four series back, count the steps where clipping acted, and draw the loss,
# the gradient norm and the rate in three panels.

# %% [markdown]
# **Worked solution.**

# %%
Series = tuple[list[int], list[float]]  # (steps, values)


def read_scalars(logdir: Path) -> dict[str, Series]:
    """Every scalar a run logged, read back from its event files."""
    events = EventAccumulator(str(logdir))
    events.Reload()
    return {
        tag: ([e.step for e in events.Scalars(tag)], [e.value for e in events.Scalars(tag)])
        for tag in events.Tags()["scalars"]
    }


def running_mean(values: list[float], window: int) -> list[float]:
    """Each value averaged with the window - 1 values before it (fewer at first)."""
    means = []
    for i in range(len(values)):
        last = values[max(0, i - window + 1) : i + 1]  # up to `window` values, ending at i
        means.append(sum(last) / len(last))
    return means


logged = read_scalars(logdir)
print({tag: len(series[0]) for tag, series in logged.items()})
losses = torch.tensor(logged["loss/train"][1])
print(f"training loss, median change per step: {losses.diff().abs().median():.2f}")
steps, norms = logged["grad_norm"]
lowest = min(range(len(norms)), key=norms.__getitem__)
print(f"gradient norm: {norms[0]:.2f} at step 1, {norms[lowest]:.2f} at step {steps[lowest]}")
first, last = torch.tensor(norms[:500]).median(), torch.tensor(norms[-500:]).median()
print(f"median, first 500 steps: {first:.2f}, last 500: {last:.2f}")
clipped = [n > max_norm for n in norms]  # clip_grad_norm_ shrank these
print(f"clipped: {sum(clipped)} of {len(norms)} steps, first at step {steps[clipped.index(True)]}")
print("per 500 steps:", ", ".join(str(sum(clipped[i : i + 500])) for i in range(0, 2000, 500)))
print(f"largest norm {max(norms):.2f}, shrunk by {1 - max_norm / max(norms):.0%}")


# %%
def draw_curves(logged: dict[str, Series], baselines: dict[str, float]) -> None:
    """Three stacked panels from the log: the losses, the gradient norm, the rate."""
    fig, axes = plt.subplots(3, 1, figsize=(5.4, 8.4), layout="constrained", sharex=True)
    ax_loss, ax_norm, ax_lr = axes
    steps, train_loss = logged["loss/train"]
    ax_loss.plot(steps, running_mean(train_loss, 50), "-", label="training (mean of 50 steps)")
    ax_loss.plot(*logged["loss/val"], "o--", label="held out")
    for (name, value), style in zip(baselines.items(), (":", "-."), strict=True):
        ax_loss.axhline(value, color="gray", ls=style, lw=1)
        ax_loss.annotate(name, (steps[-1], value), ha="right", va="bottom", color="gray")
    ax_loss.set_ylim(0.0, 5.0)  # room for the legend below the curves
    ax_loss.set_ylabel("loss (nats/char)")
    ax_loss.legend(loc="lower left")
    ax_norm.plot(*logged["grad_norm"], "-", lw=0.6)
    ax_norm.axhline(max_norm, color="black", ls="--", lw=1, label=f"clip at {max_norm:g}")
    ax_norm.set_ylim(top=1.6)  # the limit clear of the frame
    ax_norm.set_ylabel("gradient norm")
    ax_norm.legend(loc="lower right")
    ax_lr.plot(*logged["lr"], "-")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("step")
    val_steps, val_losses = logged["loss/val"]
    norms = logged["grad_norm"][1]
    fig.set_label(  # the figure's description, for screen readers
        f"Three panels over {steps[-1]} steps, read back from the TensorBoard log. Top: "
        "the training loss, averaged over 50 steps, and the held-out loss, circles every "
        f"{val_steps[1]} steps, falling from {val_losses[0]:.2f} to {val_losses[-1]:.2f} "
        "nats per character, from near a gray line for the uniform guess at "
        f"{baselines['uniform']:.2f} to far below a second one for the unigram guess at "
        f"{baselines['unigram']:.2f}. Middle: the gradient norm, with the clipping limit "
        f"{max_norm:g} dashed; it starts at {norms[0]:.2f}, dips to {min(norms):.2f} "
        f"during the warmup, then drifts up, crossing the limit on "
        f"{sum(n > max_norm for n in norms)} steps. Bottom: the learning rate climbing "
        f"in a straight line to {max(logged['lr'][1]):.0e} over {warmup_steps} steps, "
        "then falling along half a cosine to 0."
    )
    plt.show()


# %%
draw_curves(logged, {"uniform": uniform, "unigram": unigram})

# %% [markdown]
# Four series came back: three with one value per step, the held-out loss with one per 250 steps and
# one before training. Read the panels from the bottom. The rate is lesson 3.2's shape. The gradient
# norm never explodes: after a dip during the warmup, to 0.84, it drifts slowly up as training goes
# on, and stays within a factor of two from the first step to the last. A norm that does not fall is
# normal here: the text stays hard to predict, so the loss on any mini-batch stays far from 0 and
# its gradient keeps the mini-batch's noise. In the top panel the training and held-out losses fall
# together, both far below the baselines.
#
# Clipping acted on about 2% of the steps, the points above the dashed line: once in the first 500
# steps (step 3, during the warmup), then more often as the norm drifted up, most in the last 1000.
# None of them is a spike. They are the top of the mini-batches' ordinary noise, and clipping
# shrank each to a norm of 1.4, by a few percent (7% at most), keeping its direction: a trim, not a
# rescue. What it does to a real spike, **Spikes** under Try this shows.

# %% [markdown]
# ## Step 6: The held-out score
#
# The last held-out loss is the lab's score. Two comparisons make it meaningful: with the baselines,
# and with the loss on training text measured the same way (as many windows as the held-out text
# has, at random places, with the trained model). The exponential $e^{L}$ of a loss $L$ in nats
# reads as a number of characters: a model whose loss is $L$ is as unsure, on average, as one
# choosing evenly among $e^{L}$ characters (the uniform guess's $e^{\ln V} = V$, all 103). This
# number is called the **perplexity**, and you will meet it wherever language models are scored.

# %% [markdown]
# **Your turn.** Compute the loss on training windows and on the held-out text, and print both with
# the baselines and their exponentials.

# %% [markdown]
# **Worked solution.**

# %%
starts = torch.randint(
    len(train_data) - context, (len(X_val),), generator=torch.Generator().manual_seed(1)
)
X_seen, y_seen = windows(train_data, starts.to(device))
with torch.no_grad():
    train_loss = F.cross_entropy(run.model(X_seen), y_seen).item()
val_loss = held_out_loss(run.model)
for name, loss_value in [
    ("uniform", uniform),
    ("unigram", unigram),
    ("model, training text", train_loss),
    ("model, held-out text", val_loss),
]:
    label = f"{name}:"
    print(f"{label:22s}{loss_value:.3f} nats, e^loss {math.exp(loss_value):5.1f}")

# %% [markdown]
# The model is about as unsure as a choice among 5 characters, where the unigram guess is as unsure
# as a choice among about 25: it has learned which letters follow which. Its loss on text it trained
# on is only a few hundredths lower than on held-out text: 61,143 parameters cannot learn 419,000
# characters by heart, so the model has hardly overfitted (and part of the gap may be that the
# held-out pages differ from the rest). On a GPU the last digits differ; the comparisons do not.

# %% [markdown]
# ## Step 7: A checkpoint, and a resume that continues exactly
#
# A long run is saved now and then, so that a crash costs only the steps since the last save. A
# resume is right only if it continues *exactly* as the run would have: the same weights, the same
# AdamW moments, the same place in the schedule, the same batches next (lesson 3.5). So a checkpoint
# holds the model's, the optimizer's and the scheduler's `state_dict()`, the state of the generator
# that draws the batches, the state of PyTorch's global generator (nothing in this loop draws from
# it, but dropout would), and the step.
#
# The proof: train a short run of 200 steps (its schedule shortened to match) without a break; train
# another for 120 steps and save it; build fresh objects from another seed, so that nothing carries
# over by accident, load the checkpoint into them, train the last 80 steps, and compare every
# parameter with `torch.equal`, which is true only when two tensors are equal bit for bit.
#
# These runs use the CPU, whatever the device above. Bit-for-bit equality needs every operation to
# add its numbers in the same order each time. The CPU here does; on a GPU some operations do not,
# among them the backward pass of `nn.Embedding`, which PyTorch's documentation of
# `torch.use_deterministic_algorithms` lists among the operations that are nondeterministic on CUDA:
# two runs could then differ in their last bits, and a resume could not be told apart from a bug.

# %% [markdown]
# **Your turn.** Write `save(path, run)` and `load(path, run)`, and run the proof.

# %% [markdown]
# **Worked solution.**


# %%
def save(path: Path, run: Run) -> None:
    """Everything the run's future depends on, in one file."""
    torch.save(
        {
            "step": run.step,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "generator": run.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        },
        path,
    )


def load(path: Path, run: Run) -> None:
    """Load a checkpoint into freshly built objects."""
    checkpoint = torch.load(path)  # weights_only=True: tensors and plain data, never code
    run.model.load_state_dict(checkpoint["model"])
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.scheduler.load_state_dict(checkpoint["scheduler"])
    run.generator.set_state(checkpoint["generator"])
    torch.set_rng_state(checkpoint["torch_rng"])
    run.step = checkpoint["step"]


# %%
cpu = torch.device("cpu")  # bit for bit needs the same operations in the same order
cpu_data = train_data.cpu()
first_steps, more_steps = 120, 80
total = first_steps + more_steps

uninterrupted = make_run(cpu, total)
train(uninterrupted, cpu_data, total)

interrupted = make_run(cpu, total)
train(interrupted, cpu_data, first_steps)
path = Path("checkpoint.pt")
save(path, interrupted)
print(f"saved at step {interrupted.step}: {path.stat().st_size / 1e6:.2f} MB")

resumed = make_run(cpu, total, seed=1)  # fresh objects, other weights
torch.manual_seed(123)  # the global generator too, as in a new process
load(path, resumed)
train(resumed, cpu_data, more_steps)
pairs = zip(uninterrupted.model.parameters(), resumed.model.parameters(), strict=True)
print(f"after step {resumed.step}: identical {all(torch.equal(a, b) for a, b in pairs)}")

# %% [markdown]
# `torch.load` loads tensors and plain data only (`weights_only=True` is its default), never code:
# it is designed so that loading a checkpoint from someone else cannot run code. The file is about
# three times the size of the weights: AdamW keeps two running averages for every parameter (lesson
# 3.1). Leave out the optimizer's, the scheduler's or the generator's state and the comparison fails
# (**Break the resume**, under Try this). The global generator and the step change nothing in this
# proof, but dropout would need the first, and the log's step numbers the second.

# %% [markdown]
# ## Step 8: Sampling text
#
# To write, the model repeats one move: feed it the last 8 characters, turn its logits into
# probabilities, draw the next character from them, and append it.
# `torch.multinomial(probs, 1, generator=g)` draws one index, each with its probability. The
# **temperature** $\tau$ (tau) divides the logits before the softmax: $\tau = 1$ draws from the
# model's own probabilities, and $\tau < 1$ sharpens them towards the likeliest characters
# (as $\tau \to 0$ the draw becomes always taking the likeliest). The draws come from a seeded
# `torch.Generator`, on the CPU where it lives, so every run writes the same text.
#
# The prompt is the first sentence of `while`'s help page, which is part of the held-out text. Only
# its last 8 characters, `used for`, reach the model, and that phrase is common in the training
# text: the model does not "know" it is writing about `while`.

# %% [markdown]
# **Your turn.** Write `sample(model, prompt, num_chars, temperature, generator)` and let the model
# write 240 characters at temperatures 0.5 and 1.

# %% [markdown]
# **Worked solution.**


# %%
def sample(
    model: nn.Module,
    prompt: str,
    num_chars: int,
    temperature: float,
    generator: torch.Generator,
) -> str:
    """Extend `prompt` one character at a time, each drawn from the model's
    probabilities sharpened (temperature < 1) or flattened (> 1)."""
    ids = [index[c] for c in prompt]
    device = next(model.parameters()).device
    with torch.no_grad():
        for _ in range(num_chars):
            X = torch.tensor([ids[-context:]], device=device)  # (1, k)
            logits = model(X)[0].cpu()  # (vocab_size,)
            probs = F.softmax(logits / temperature, dim=0)
            ids.append(int(torch.multinomial(probs, 1, generator=generator)))
    return "".join(chars[i] for i in ids)


# %%
prompt = 'The "while" statement is used for'  # held-out text
for temperature in (0.5, 1.0):
    generator = torch.Generator().manual_seed(0)
    print(f"temperature {temperature}:")
    print(sample(run.model, prompt, 240, temperature, generator))
    print()

# %% [markdown]
# At temperature 0.5 the model writes mostly real words and the help pages' phrases ("a string of
# the list", "built-in operator", "a class"), which make no sense together: 8 characters are
# enough to finish a word, not to hold a thought. Its invented words are near misses, such as
# "sunction" and "surrent", where one early draw went astray and the rest of the word followed. At
# temperature 1 the model writes what its probabilities really say: more invented words and broken
# lines, since each unlikely draw steers what follows. Lower and higher temperatures are yours to
# try (**Cool it down**, under Try this).

# %% [markdown]
# ## What you built
#
# - **A held-out measure.** Text the model never trained on, scored in nats per character against
#   two baselines that need no training.
# - **A model chosen for the budget.** An embedding and a multi-layer perceptron over 8 characters:
#   Module 2's network, with a lookup table in front.
# - **The modern loop.** Zero the gradients, forward, loss, backward, clip, step, schedule: AdamW
#   with warmup and cosine decay, and the gradient norm kept in bounds.
# - **A log to read.** Every step's loss, gradient norm and rate in TensorBoard's files, read back
#   and drawn.
# - **A resume that is exact.** One file with everything the run's future depends on, proven by
#   bit-for-bit equality with a run that never stopped.
# - **A model that writes.** Seeded sampling, with a temperature.

# %% [markdown]
# ## Try this
#
# - **Break the resume.** Leave out the optimizer's state, then the generator's, and run the proof
#   again: which parameters differ, and by how much?
# - **Cool it down.** Sample at temperatures 0.2 and 1.5. Where does the text turn repetitive, and
#   where into noise?
# - **Without the schedule.** Train at a constant rate of 0.003, then without warmup, and compare
#   the held-out loss at step 2000 and the first steps' gradient norms.
# - **A longer memory.** Set `context` to 4 and 16. Does the held-out loss keep falling as the model
#   sees more characters, and what does each step cost?
# - **A larger model.** Double `hidden`, or add a second hidden layer, and watch the gap between the
#   training and held-out losses.
# - **Spikes.** Raise the peak rate tenfold, and look at the gradient norm with and without
#   clipping.
# - **Your own text.** Train on the course's own pages (`docs/**/*.md`, in a copy of the course's
#   repository) instead of Python's help.
