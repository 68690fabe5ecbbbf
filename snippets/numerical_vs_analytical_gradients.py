"""Lesson 1.5: check a hand-derived gradient with finite differences,
autograd and gradcheck."""

# --8<-- [start:imports]
import math
import warnings
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch

# --8<-- [end:imports]
# isort: split
from helpers import get_device, log_scale, seed_everything
from linear_regression import make_data, mse


# --8<-- [start:analytical]
def gradients_by_hand(
    X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """The MSE gradient [dL/dw, dL/db] for the line y_hat = w x + b, by lesson
    1.2's formulas."""
    error = w * X + b - y  # (N, 1): e_i = y_hat_i - y_i
    grad_w = 2 * (error * X).mean()  # (2/N) * sum of e_i * x_i
    grad_b = 2 * error.mean()  # (2/N) * sum of e_i
    return torch.stack([grad_w, grad_b])  # (2,)


def make_loss(
    X: torch.Tensor, y: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The loss as a function of one parameter tensor theta = [w, b], as finite
    differences need."""

    def loss(theta: torch.Tensor) -> torch.Tensor:
        w, b = theta[0], theta[1]
        return mse(w * X + b, y)

    return loss


# --8<-- [end:analytical]


# --8<-- [start:finite-differences]
def numerical_gradient(
    f: Callable[[torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    h: float,
    central: bool,
) -> torch.Tensor:
    """Estimate the gradient of the scalar f at theta, one entry at a time.

    Forward difference:  (f(theta + h u_i) - f(theta)) / h
    Central difference:  (f(theta + h u_i) - f(theta - h u_i)) / (2h)
    where u_i is the unit vector: 1 at entry i, 0 everywhere else.
    Everything happens in theta's dtype, so the same code shows float32 and
    float64 rounding.
    """
    # our own copy, so the caller's tensor is never touched
    theta = theta.detach().clone()
    # a flat view: flat[i] is entry i of theta, whatever its shape
    flat = theta.view(-1)
    grad = torch.zeros_like(flat)
    # we only evaluate f: autograd need not record anything
    with torch.no_grad():
        # forward differences reuse f(theta)
        f_at_theta = None if central else f(theta)
        for i in range(flat.numel()):
            original = flat[i].clone()
            flat[i] = original + h
            f_plus = f(theta)
            if central:
                flat[i] = original - h
                grad[i] = (f_plus - f(theta)) / (2 * h)
            else:
                assert f_at_theta is not None
                grad[i] = (f_plus - f_at_theta) / h
            # put the entry back before moving to the next one
            flat[i] = original
    return grad.view_as(theta)


# --8<-- [end:finite-differences]


# --8<-- [start:autograd]
def gradient_by_autograd(
    f: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor
) -> torch.Tensor:
    """The gradient of f at theta, computed by PyTorch's autograd."""
    theta = theta.detach().clone().requires_grad_(True)
    f(theta).backward()
    # .grad is optional; tell the type checker it is set
    assert theta.grad is not None
    return theta.grad


# --8<-- [end:autograd]


# --8<-- [start:sweep-def]
def step_size_sweep(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: float,
    exact: float,
    hs: list[float],
    dtype: torch.dtype,
) -> tuple[list[float], list[float]]:
    """Relative error of the forward and central differences of f at x, for
    every step h in hs."""
    point = torch.tensor([x], dtype=dtype)
    forward: list[float] = []
    central: list[float] = []
    for h in hs:
        for errors, is_central in ((forward, False), (central, True)):
            estimate = numerical_gradient(f, point, h, is_central).item()
            # an error of exactly 0 (lucky rounding) cannot go on a log axis
            errors.append(max(abs(estimate - exact) / abs(exact), 1e-17))
    return forward, central


def loglog_slope(
    hs: list[float], errors: list[float], h_min: float, h_max: float
) -> float:
    """The slope of log(error) against log(h), fitted by least squares for
    h_min <= h <= h_max."""
    pairs = [
        (math.log10(h), math.log10(e)) for h, e in zip(hs, errors, strict=True)
    ]
    points = torch.tensor(
        [p for p, h in zip(pairs, hs, strict=True) if h_min <= h <= h_max]
    )
    log_h, log_e = points[:, 0], points[:, 1]
    log_h_centered = log_h - log_h.mean()
    return (
        (log_h_centered * (log_e - log_e.mean())).sum()
        / (log_h_centered**2).sum()
    ).item()


# --8<-- [end:sweep-def]


# --8<-- [start:plot-sweep]
def draw_sweep(
    hs: list[float], sweeps: dict[torch.dtype, tuple[list[float], list[float]]]
) -> None:
    """One log-log panel per dtype: the relative errors of the forward (blue)
    and central (orange) differences against h, with what theory predicts."""
    fig, axes = plt.subplots(
        2, 1, figsize=(5.4, 8), sharex=True, layout="constrained"
    )
    for ax, (dtype, (forward, central)) in zip(
        axes, sweeps.items(), strict=True
    ):
        eps = torch.finfo(dtype).eps
        ax.plot(hs, forward, "o-", ms=3, label="forward difference")
        ax.plot(hs, central, "s-", ms=3, label="central difference")
        # theory, in the same colours: truncation alone (dotted) and the
        # predicted best steps (vertical); round-off alone in black
        ax.plot(hs, [h / 2 for h in hs], ":", color="C0")
        ax.plot(hs, [h**2 / 6 for h in hs], ":", color="C1")
        ax.plot(hs, [eps / h for h in hs], "k--", label="round-off alone")
        for h_best, color, name in (
            (eps**0.5, "C0", "$\\sqrt{\\varepsilon}$"),
            (eps ** (1 / 3), "C1", "$\\varepsilon^{1/3}$"),
        ):
            ax.axvline(h_best, color=color, ls="-.", alpha=0.6)
            ax.text(h_best, 3, name, color=color, ha="center", va="bottom")
        log_scale(ax, "x")
        log_scale(ax, "y")
        ax.set_ylim(1e-14, 1e2)
        ax.set_title(
            f"d/dx exp(x) at x = 1, {str(dtype).removeprefix('torch.')}"
        )
        ax.set_ylabel("relative error")
    axes[1].set_xlabel("step size h")
    # a dotted line stands for truncation alone, in its curve's colour
    axes[1].plot([], [], ":", color="gray", label="truncation alone")
    # float64's upper left is empty: the legend hides no curve there
    axes[1].legend(loc="upper left")
    fig.set_label(
        "Two log-log panels, float32 above float64, of the relative error of "
        "forward and central differences against the step size h, with dotted "
        "truncation lines h/2 and h^2/6, a dashed round-off line eps/h and "
        "vertical lines at the predicted best steps. From the right, each "
        "error curve falls along its dotted line (central twice as steeply), "
        "bottoms out near its vertical line, then climbs raggedly, roughly "
        "parallel to the dashed line, as h shrinks; in float32 both curves "
        "end flat at a relative error of 1 for the tiniest steps, and in "
        "float64 the bottoms lie further left and far lower."
    )
    plt.show()


# --8<-- [end:plot-sweep]


# --8<-- [start:gradient-check]
def gradient_check(
    f: Callable[[torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    grad: torch.Tensor,
    h: float = 1e-6,
    dtype: torch.dtype = torch.float64,
) -> float:
    """Compare a claimed gradient of the scalar f at theta with central
    differences.

    Returns the largest relative error |grad - numerical| / (|grad| +
    |numerical|) over the entries of theta: tiny (1e-8 or less) for a correct
    gradient in float64, large for a bug. Meaningless for entries that are
    (nearly) zero, so check at a point where the gradient is not small.
    """
    # MPS has no float64: check on the CPU
    theta = theta.detach().to(device="cpu", dtype=dtype)
    grad = grad.detach().to(device="cpu", dtype=dtype)
    numerical = numerical_gradient(f, theta, h, central=True)
    # no 0 / 0 where both are zero
    scale = (grad.abs() + numerical.abs()).clamp_min(1e-12)
    return ((grad - numerical).abs() / scale).max().item()


# --8<-- [end:gradient-check]


# --8<-- [start:count-calls]
class CountCalls:
    """Wrap a function f and count how many times it is evaluated."""

    def __init__(self, f: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.f = f
        self.calls = 0

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.f(theta)


# --8<-- [end:count-calls]


# --8<-- [start:wrong-function]
class SquareWithWrongBackward(torch.autograd.Function):
    """x ** 2 with a deliberately wrong backward: it forgets the factor 2 of
    d(x^2)/dx = 2x."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad_output: torch.Tensor
    ) -> torch.Tensor:
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        grad_input: torch.Tensor = grad_output * x
        return grad_input  # wrong on purpose: the true local gradient is 2 * x


# --8<-- [end:wrong-function]


def main() -> None:
    # --8<-- [start:data]
    seed_everything(0)
    device = get_device()
    X, y = make_data(num_points=100, device=device)
    # The checks run in float64 on the CPU (Apple GPUs have no float64).
    X64, y64 = X.cpu().double(), y.cpu().double()
    loss = make_loss(X64, y64)
    # an arbitrary point [w, b]
    theta = torch.tensor([0.5, -0.3], dtype=torch.float64)
    print(
        f"N = {X.shape[0]} points, loss at w = 0.5, "
        f"b = -0.3: {loss(theta).item():.4f}"
    )
    # --8<-- [end:data]

    # --8<-- [start:three-gradients]
    by_hand = gradients_by_hand(X64, y64, theta[0], theta[1])
    forward = numerical_gradient(loss, theta, h=1e-6, central=False)
    central = numerical_gradient(loss, theta, h=1e-6, central=True)
    by_autograd = gradient_by_autograd(loss, theta)
    for name, grad in [
        ("by hand", by_hand),
        ("forward, h=1e-6", forward),
        ("central, h=1e-6", central),
        ("autograd", by_autograd),
    ]:
        print(
            f"{name:<16} dL/dw = {grad[0].item():.12f}   "
            f"dL/db = {grad[1].item():.12f}"
        )
    print(
        "max |forward - by hand|:  "
        f"{(forward - by_hand).abs().max().item():.1e}"
    )
    print(
        "max |central - by hand|:  "
        f"{(central - by_hand).abs().max().item():.1e}"
    )
    print(
        "max |autograd - by hand|: "
        f"{(by_autograd - by_hand).abs().max().item():.1e}"
    )
    # --8<-- [end:three-gradients]

    # --8<-- [start:epsilon]
    for dtype in (torch.float32, torch.float64):
        eps = torch.finfo(dtype).eps
        one = torch.tensor(1.0, dtype=dtype)
        print(f"{dtype}: eps = {eps:.3e}, 2^-{-math.log2(eps):.0f}")
        print(f"  1 + eps   == 1? {(one + eps == one).item()}")
        print(f"  1 + eps/4 == 1? {(one + eps / 4 == one).item()}")
        print(
            f"  sqrt(eps) = {eps**0.5:.1e},  eps^(1/3) = {eps ** (1 / 3):.1e}"
        )
    # --8<-- [end:epsilon]

    # --8<-- [start:sweep]
    # 1e-12 ... 1e0, four steps per decade
    hs = [10 ** (-k / 4) for k in range(48, -1, -1)]
    sweeps: dict[torch.dtype, tuple[list[float], list[float]]] = {}
    for dtype in (torch.float32, torch.float64):
        forward_errors, central_errors = step_size_sweep(
            torch.exp, 1.0, math.e, hs, dtype
        )
        sweeps[dtype] = forward_errors, central_errors
        best_forward = hs[forward_errors.index(min(forward_errors))]
        best_central = hs[central_errors.index(min(central_errors))]
        print(f"{dtype}:")
        print(
            f"  forward: best h {best_forward:.0e}, "
            f"error there {min(forward_errors):.0e}"
        )
        print(
            f"  central: best h {best_central:.0e}, "
            f"error there {min(central_errors):.0e}"
        )
    # the straight right-hand part of the float64 curves: truncation error alone
    slope_forward = loglog_slope(hs, forward_errors, 1e-3, 1e-1)
    slope_central = loglog_slope(hs, central_errors, 1e-3, 1e-1)
    print(
        f"float64 slopes for h in [1e-3, 1e-1]: forward {slope_forward:.2f}, ",
        end="",
    )
    print(f"central {slope_central:.2f}")
    draw_sweep(hs, sweeps)
    # --8<-- [end:sweep]

    # --8<-- [start:check-mse]
    print(f"by hand:           {gradient_check(loss, theta, by_hand):.1e}")
    print(f"autograd:          {gradient_check(loss, theta, by_autograd):.1e}")
    forgot_the_2 = by_hand / 2  # a classic slip: the 2 of d(e^2)/de dropped
    print(f"forgot the 2:      {gradient_check(loss, theta, forgot_the_2):.1e}")
    wrong_sign = -by_hand
    print(f"wrong sign:        {gradient_check(loss, theta, wrong_sign):.1e}")
    # --8<-- [end:check-mse]

    # --8<-- [start:check-any]
    seed_everything(0)
    A = torch.randn(5, 3, dtype=torch.float64)

    def g(W: torch.Tensor) -> torch.Tensor:
        """Any scalar function of a tensor will do: here, of a (3, 4) W."""
        return torch.tanh(A @ W).pow(2).sum()

    W = torch.randn(3, 4, dtype=torch.float64)
    g_counted = CountCalls(g)
    error = gradient_check(g_counted, W, gradient_by_autograd(g, W))
    print(
        f"W has {W.numel()} entries; "
        f"the check evaluated g {g_counted.calls} times"
    )
    print(f"max relative error, autograd vs central differences: {error:.1e}")
    # --8<-- [end:check-any]

    # --8<-- [start:gradcheck]
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)

    def line_loss(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return mse(w * X64 + b, y64)

    print(
        "gradcheck on the MSE of the line: "
        f"{torch.autograd.gradcheck(line_loss, (w, b))}"
    )

    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    passed = torch.autograd.gradcheck(
        SquareWithWrongBackward.apply, (x,), raise_exception=False
    )
    print(f"gradcheck on SquareWithWrongBackward: {passed}")
    # --8<-- [end:gradcheck]

    # --8<-- [start:gradcheck-float32]
    # the same correct MSE, but in float32 (PyTorch's default dtype)
    X32, y32 = X.cpu(), y.cpu()
    w32 = torch.tensor(0.5, requires_grad=True)
    b32 = torch.tensor(-0.3, requires_grad=True)

    def line_loss32(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return mse(w * X32 + b, y32)

    # gradcheck warns about float32 inputs: record the warnings and print them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        passed = torch.autograd.gradcheck(
            line_loss32, (w32, b32), raise_exception=False
        )
    print(f"gradcheck on the MSE of the line in float32: {passed}")
    for warning in caught:
        # the first sentence of each warning
        print(f"  warning: {str(warning.message).split('.')[0]}")
    # --8<-- [end:gradcheck-float32]


if __name__ == "__main__":
    main()
