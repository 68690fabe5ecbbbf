"""Solutions to the exercises of lesson 3.4, Deeper Networks and Backprop
Challenges."""

import copy

import torch
from torch import nn

# isort: split
from deeper_networks_and_backprop_challenges import (
    DeepNet,
    deep_net,
    factor_per_layer,
    layer_gradients,
    train,
)
from from_linear_to_nonlinear import make_moons
from helpers import get_device, seed_everything


# --8<-- [start:ex1]
def spreads(model: DeepNet, X: torch.Tensor, layer: int) -> tuple[float, float]:
    """At hidden layer `layer` (1 = first): how much z varies from example to
    example (per unit), and from unit to unit (per example), on average."""
    with torch.no_grad():
        Z = model.pre_activations(X)[layer - 1]  # (N, width)
    over_examples = Z.std(dim=0).mean().item()
    over_units = Z.std(dim=1).mean().item()
    return over_examples, over_units


# --8<-- [end:ex1]


def main() -> None:
    # The lesson's data and settings, as on the page.
    seed_everything(0)
    device = get_device()
    X, y = make_moons(200, device)
    lr, num_steps = 0.1, 100

    # --8<-- [start:ex1-run]
    start = deep_net(torch.sigmoid, device, norm="layer")
    signals, weight_grads = layer_gradients(start, X, y)
    print(f"LayerNorm: factor per layer {factor_per_layer(signals):.2f}")
    print(f"dL/dW at layer 1: {weight_grads[0]:.0e}")
    losses = train(copy.deepcopy(start), X, y, lr, num_steps).losses
    print(f"loss: {losses[0]:.4f} at the start, {losses[-1]:.4f} at the end")
    for kind in ("layer", "batch"):
        model = deep_net(torch.sigmoid, device, norm=kind)
        over_examples, over_units = spreads(model, X, layer=20)
        print(
            f"{kind + 'norm':<9} z_20 varies by {over_examples:.0e} over "
            f"examples, {over_units:.2f} over units"
        )
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    print("depth | dL/dz at layer 1 over dL/dz at the last: plain, residual")
    for depth in (5, 10, 15, 20, 25):
        ratios = []
        for residual in (False, True):
            model = deep_net(
                torch.sigmoid, device, depth=depth, residual=residual
            )
            signals, _ = layer_gradients(model, X, y)
            ratios.append(f"{signals[0] / signals[depth - 1]:.1e}")
        print(f"{depth:>5} | {', '.join(ratios)}")
    # --8<-- [end:ex2-run]

    # --8<-- [start:ex3-run]
    w = torch.ones(2, device=device, requires_grad=True)
    w.grad = torch.tensor([float("inf"), 3.0], device=device)
    total = nn.utils.clip_grad_norm_([w], max_norm=1.0)
    print(f"returned {total.item()}, gradient now {w.grad.tolist()}")
    w.grad = torch.tensor([float("inf"), 3.0], device=device)
    try:
        nn.utils.clip_grad_norm_([w], max_norm=1.0, error_if_nonfinite=True)
    except RuntimeError as error:
        print(f"RuntimeError: {str(error)[:58]}...")
    # --8<-- [end:ex3-run]


if __name__ == "__main__":
    main()
