"""Lesson 1.6: every number the module review states is what the snippet computes."""

from pathlib import Path

import recap_and_key_takeaways as recap
import torch
from course import flat_text

LESSON = Path(__file__).resolve().parents[1] / "docs" / "module-1" / "recap-and-key-takeaways.md"


def page() -> str:
    return flat_text(LESSON)


def sci(value: float) -> str:
    """A number as the page writes it in scientific notation: 1.8e-10 -> '1.8 \\times 10^{-10}'."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def test_one_step_by_hand_matches_autograd() -> None:
    X, y = recap.make_data()
    w = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    y_hat = w * X + b
    loss = recap.mse(y_hat, y)
    loss.backward()
    grad_w, grad_b = recap.gradients_by_hand(X, y, y_hat.detach())
    assert w.grad is not None
    assert b.grad is not None
    assert grad_w.item() == w.grad.item() == -13.0
    assert grad_b.item() == b.grad.item() == -8.0
    w_new, b_new = 0.0 - 0.1 * grad_w.item(), 0.0 - 0.1 * grad_b.item()
    new_loss = recap.mse(w_new * X + b_new, y).item()
    text = page()
    assert f"the loss is $\\frac{{1}}{{2}}(9 + 25) = {loss.item():g}$" in text
    assert f"= {grad_w.item():g}$ and" in text
    assert f"$\\frac{{\\partial L}}{{\\partial b}} = -3 - 5 = {grad_b.item():g}$" in text
    assert f"$w = 0 - 0.1 \\times (-13) = {w_new:g}$" in text
    assert f"$b = 0 - 0.1 \\times (-8) = {b_new:g}$" in text
    predictions = (w_new * X + b_new).tolist()
    assert f"{predictions[0]:g} and {predictions[1]:g}" in text
    assert f"the loss falls to {new_loss:g}." in text


def test_updates_per_epoch() -> None:
    counts = {B: len(recap.batch_sizes(100, B)) for B in (100, 10, 1, 32)}
    assert counts == {100: 1, 10: 10, 1: 100, 32: 4}
    assert recap.batch_sizes(100, 32) == [32, 32, 32, 4]
    assert sum(recap.batch_sizes(100, 32)) == 100
    text = page()
    assert f"{counts[100]} update with $B = 100$" in text
    assert f"{counts[10]} with $B = 10$" in text
    assert f"{counts[1]} with $B = 1$" in text
    last = recap.batch_sizes(100, 32)[-1]
    assert f"{counts[32]} updates, the last batch holding only {last} examples" in text


def test_hessian_matches_autograd_and_sets_the_learning_rate_limit() -> None:
    X, y = recap.make_data()

    def loss_of(theta: torch.Tensor) -> torch.Tensor:
        return recap.mse(theta[0] * X + theta[1], y)

    H = recap.mse_hessian(X)
    H_autograd = torch.autograd.functional.hessian(loss_of, torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(H, H_autograd)
    lambda_min, lambda_max = torch.linalg.eigvalsh(H).tolist()
    assert abs(lambda_max - (7 + 45**0.5) / 2) < 1e-12
    lr_max = 2 / lambda_max
    text = page()
    assert f"that is {lambda_min:.4f} and {lambda_max:.4f}" in text
    assert f"$\\eta < 2 / {lambda_max:.4f} = {lr_max:.4f}$" in text
    assert 0.28 < lr_max < 0.30
    converging = recap.train_by_hand(X, y, lr=0.28, num_steps=200)
    diverging = recap.train_by_hand(X, y, lr=0.30, num_steps=200)
    assert converging[0] == diverging[0] == 17.0
    assert f"from 17 to ${sci(converging[-1])}$ by the 200th step" in text
    assert f"it grows to ${sci(diverging[-1])}$" in text
    assert f"for the two points above it is already about {lambda_max / lambda_min:.0f}." in text


def test_central_difference_count_and_gradient() -> None:
    X, y = recap.make_data()
    loss_fn = recap.CountingLoss(X, y)
    theta = torch.zeros(2, dtype=torch.float64)
    grad = recap.central_difference(loss_fn, theta, h=1e-3)
    assert loss_fn.num_calls == 2 * theta.numel() == 4
    assert torch.allclose(grad, torch.tensor([-13.0, -8.0], dtype=torch.float64), atol=1e-9)
    assert f"the check takes {loss_fn.num_calls} evaluations" in page()


def test_forward_error_is_half_h_times_curvature_and_central_is_rounding() -> None:
    X, y = recap.make_data()
    loss_fn = recap.CountingLoss(X, y)
    theta = torch.zeros(2, dtype=torch.float64)
    exact = torch.tensor([-13.0, -8.0], dtype=torch.float64)
    H = recap.mse_hessian(X)
    text = page()
    assert H.diagonal().tolist() == [5.0, 2.0]
    assert f"{H[0, 0].item():.0f} for $w$ and {H[1, 1].item():.0f} for $b$" in text
    for h in (1e-2, 1e-3):
        forward_error = (recap.forward_difference(loss_fn, theta, h) - exact).abs()
        central_error = (recap.central_difference(loss_fn, theta, h) - exact).abs()
        assert torch.allclose(forward_error, h / 2 * H.diagonal(), rtol=1e-6)
        assert central_error.max().item() < 1e-11
    errors = (recap.forward_difference(loss_fn, theta, 1e-3) - exact).abs().tolist()
    assert f"${sci(errors[0])}$ for $w$ and ${sci(errors[1])}$ for $b$" in text
    assert "below $10^{-11}$ here" in text


def test_questions_are_six_to_ten_each_answered() -> None:
    review = LESSON.read_text(encoding="utf-8").split("### Worked questions", 1)[1]
    questions = review.count("**Question ")
    assert 6 <= questions <= 10
    assert review.count('\n??? success "Answer"\n') == questions  # folded: work it out first
