"""Activations, their derivatives, and the loss: values against independent formulas and
central differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnctl.core import ACTIVATIONS, LEAKY_SLOPE, LOSSES, OUTPUT_LOSS, binary_cross_entropy

Z = np.array([[-3.0, -0.5, 0.2, 1.7], [2.5, -1.2, 0.7, -0.1]])

EXPECTED = {
    "relu": np.maximum(Z, 0),
    "leaky_relu": np.where(Z > 0, Z, LEAKY_SLOPE * Z),
    "tanh": np.tanh(Z),
    "sigmoid": 1 / (1 + np.exp(-Z)),
    "linear": Z,
}


def test_table_has_the_documented_names() -> None:
    from nnctl.core import hidden_activation_names

    assert set(ACTIVATIONS) == {"relu", "leaky_relu", "tanh", "sigmoid", "linear", "softmax"}
    assert hidden_activation_names() == ["relu", "leaky_relu", "tanh", "sigmoid", "linear"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_forward_values(name: str) -> None:
    np.testing.assert_allclose(ACTIVATIONS[name].forward(Z), EXPECTED[name], rtol=1e-15)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_backward_matches_central_differences(name: str) -> None:
    act = ACTIVATIONS[name]
    eps = 1e-6
    # no entry of Z is within eps of the ReLU kink, so the numerical derivative is exact there too
    numeric = (act.forward(Z + eps) - act.forward(Z - eps)) / (2 * eps)
    dA = np.array([[0.3, -1.1, 2.0, 0.5], [-0.7, 1.3, 0.9, -2.2]])
    dZ = act.backward(dA.copy(), act.forward(Z))
    np.testing.assert_allclose(dZ, dA * numeric, rtol=1e-7, atol=1e-10)


def test_relu_derivative_at_zero_is_zero_as_in_the_course() -> None:
    A = ACTIVATIONS["relu"].forward(np.array([[0.0, 1.0]]))
    assert ACTIVATIONS["relu"].backward(np.array([[5.0, 5.0]]), A).tolist() == [[0.0, 5.0]]


def test_sigmoid_saturates_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = ACTIVATIONS["sigmoid"].forward(np.array([[-1000.0, 0.0, 1000.0]]))
    assert s.tolist() == [[0.0, 0.5, 1.0]]


def test_sigmoid_output_pairs_with_binary_cross_entropy() -> None:
    assert OUTPUT_LOSS["sigmoid"] == "binary_cross_entropy"
    assert LOSSES["binary_cross_entropy"].output == "sigmoid"


def test_bce_equals_the_course_formula_for_moderate_logits() -> None:
    ZL = np.array([[-2.0, -0.3, 0.4, 3.1, 0.0]])
    Y = np.array([[0, 1, 1, 1, 0]])
    AL = 1 / (1 + np.exp(-ZL))
    m = Y.shape[1]
    course = float((-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T)).item() / m)
    assert binary_cross_entropy(ZL, AL, Y) == pytest.approx(course, rel=1e-14)


def test_bce_is_finite_for_extreme_logits_without_warnings() -> None:
    ZL = np.array([[1000.0, -1000.0, 1000.0, -1000.0]])
    Y = np.array([[1, 0, 0, 1]])
    AL = ACTIVATIONS["sigmoid"].forward(ZL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost = binary_cross_entropy(ZL, AL, Y)
    # right answers cost nothing; each wrong one costs 1000
    assert cost == pytest.approx((0 + 0 + 1000 + 1000) / 4)


def test_bce_gradient_is_AL_minus_Y_and_matches_central_differences() -> None:
    loss = LOSSES["binary_cross_entropy"]
    ZL = np.array([[-1.5, 0.2, 2.0]])
    Y = np.array([[0, 1, 0]])
    sig = ACTIVATIONS["sigmoid"].forward
    m = ZL.shape[1]
    eps = 1e-6
    numeric = np.zeros_like(ZL)
    for j in range(m):  # a handful of coordinates: the loop is the point of the check
        e = np.zeros_like(ZL)
        e[0, j] = eps
        numeric[0, j] = (loss.cost(ZL + e, sig(ZL + e), Y) - loss.cost(ZL - e, sig(ZL - e), Y)) / (
            2 * eps
        )
    np.testing.assert_allclose(loss.grad(sig(ZL), Y) / m, numeric, rtol=1e-7)
