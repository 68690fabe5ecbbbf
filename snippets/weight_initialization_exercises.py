"""Lesson 3.3, exercises: which equal weights keep units identical; the two
rules swapped; PyTorch's own biases in a deep stack."""

import torch
from torch import nn

# isort: split
from from_linear_to_nonlinear import accuracy, make_moons, train
from helpers import get_device, seed_everything
from weight_initialization import (
    distinct_units,
    linears,
    measure,
    report,
    set_every_weight,
    signal_sizes,
    tanh_net,
)


def main() -> None:
    # --8<-- [start:ex1-run]
    cpu = torch.device("cpu")  # exact equality, as in the lesson
    seed_everything(0)
    X, y = make_moons(200, cpu)
    for name, equal in {"W1 equal": [0], "W2, W3 equal": [1, 2]}.items():
        model = tanh_net()
        set_every_weight([linears(model)[i] for i in equal], 0.1)
        before = distinct_units(model)
        train(model, X, y, lr=1.0, num_epochs=500)
        print(f"{name:<13} distinct units {before} -> {distinct_units(model)}")
        print(f"{'':<13} accuracy {accuracy(model, X, y):.1%}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    device = get_device()
    generator = torch.Generator().manual_seed(2)  # the lesson's inputs
    X_deep = torch.randn(256, 256, generator=generator).to(device)
    G = torch.randn(256, 256, generator=generator).to(device)
    relu_xavier = measure(["Xavier"], torch.relu, X_deep, G)
    tanh_kaiming = measure(["Kaiming"], torch.tanh, X_deep, G)
    report("ReLU", relu_xavier, n=256)
    report("tanh", tanh_kaiming, n=256)
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    for name, activation in (("tanh", torch.tanh), ("ReLU", torch.relu)):
        seed_everything(0)  # PyTorch's own weights and biases:
        stack = nn.Sequential(*(nn.Linear(256, 256) for _ in range(20)))
        forward, _ = signal_sizes(stack.to(device), X_deep, G, activation)
        A = X_deep
        with torch.no_grad():
            for layer in stack:
                A = activation(layer(A))  # (N, 256): layer 20's outputs
        share = A.std(dim=0).mean() / A.std()  # across examples / overall
        print(f"{name:<5} forward: layer 1 {forward[0]:.4f}, ", end="")
        print(f"10 {forward[9]:.4f}, 20 {forward[-1]:.4f}", end="")
        print(f"; from the inputs: {share:.1e}")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
