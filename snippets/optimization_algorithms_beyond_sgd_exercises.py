"""Solutions to the exercises of lesson 3.1, Optimization Algorithms Beyond
SGD."""

from functools import partial

import torch

# isort: split
# --8<-- [start:ex2-imports]
import math

# --8<-- [end:ex2-imports]
# isort: split
from optimization_algorithms_beyond_sgd import (
    HandMomentum,
    descend,
    valley_loss,
    valley_makers,
)


# --8<-- [start:ex1]
class TextbookMomentum(HandMomentum):
    """The textbook's momentum: v <- mu v - lr g; p <- p + v."""

    def step(self) -> None:
        with torch.no_grad():
            for p, g, v in zip(self.params, self.grads(), self.b, strict=True):
                v.mul_(self.mu).sub_(self.lr * g)  # lr goes into the velocity
                p.add_(v)


# --8<-- [end:ex1]


# --8<-- [start:ex2]
def turned_valley_loss(
    theta: torch.Tensor, kappa: float, angle: float
) -> torch.Tensor:
    """The valley turned by `angle`: its floor runs along the direction
    (cos angle, sin angle) instead of along theta1."""
    c, s = math.cos(angle), math.sin(angle)
    along = c * theta[0] + s * theta[1]  # distance along the floor
    across = -s * theta[0] + c * theta[1]  # distance across it
    return (along**2 + kappa * across**2) / 2


# --8<-- [end:ex2]


def main() -> None:
    # The page's names that the exercises use, as the page defines them.
    start_point, num_steps = (-9.0, 1.0), 100

    # --8<-- [start:ex1-run]
    a = torch.tensor([-9.0, 1.0], dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    pytorch = torch.optim.SGD([a], lr=0.019, momentum=0.9)
    textbook = TextbookMomentum([b], lr=0.019, momentum=0.9)
    gaps = []  # the distance between the two after each step
    for step in range(100):
        if step == 50:  # halve the learning rate, as a schedule would
            pytorch.param_groups[0]["lr"] = textbook.lr = 0.019 / 2
        for theta, optimizer in ((a, pytorch), (b, textbook)):
            optimizer.zero_grad()  # zero the gradients
            loss = valley_loss(theta, 100.0)  # forward and loss
            loss.backward()  # backward
            optimizer.step()  # step
        gaps.append((a - b).norm().item())
    print(f"largest gap, steps 1 to 50:   {max(gaps[:50]):.1e}")
    print(f"largest gap, steps 51 to 100: {max(gaps[50:]):.1e}")
    # --8<-- [end:ex1-run]

    # --8<-- [start:ex2-run]
    angle = math.pi / 4  # 45 degrees
    start_turned = (-10 / math.sqrt(2), -8 / math.sqrt(2))  # (-9, 1), turned
    straight = partial(valley_loss, kappa=100.0)
    diagonal = partial(turned_valley_loss, kappa=100.0, angle=angle)
    print(f"distance to the minimum after {num_steps} steps:")
    print("          straight   turned")
    for name, make in valley_makers(100.0).items():
        a = descend(make, start_point, straight, num_steps)
        b = descend(make, start_turned, diagonal, num_steps)
        print(f"{name:<9}{a[-1].norm():9.3f}{b[-1].norm():9.3f}")
    # --8<-- [end:ex2-run]


if __name__ == "__main__":
    main()
