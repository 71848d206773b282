"""Answer checks: accept every correct form, reject wrong ones with a readable message."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import checks


@pytest.mark.parametrize("value", [320, np.int64(320), 320.0, np.float32(320), np.array(320)])
def test_integer_answers_in_any_numeric_form_are_accepted(value):
    checks.check_integer(value, 320)


@pytest.mark.parametrize("value", [True, "320", None, 320.5, [320]])
def test_non_integer_answers_are_rejected(value):
    with pytest.raises(AssertionError):
        checks.check_integer(value, 320)


def test_typical_mistake_gets_its_hint_and_not_the_answer():
    with pytest.raises(AssertionError, match="forgot the bias") as err:
        checks.check_integer(288, 320, "conv_params", {288: "forgot the bias"})
    assert "320" not in str(err.value)


@pytest.mark.parametrize(
    "shape",
    [(26, 26, 32), [26, 26, 32], (None, 26, 26, 32), np.array([26, 26, 32]), "26x26x32",
     "26 x 26 x 32", "(26, 26, 32)", "(None, 26, 26, 32)", "26×26×32"],
)
def test_shapes_in_any_sequence_form_are_accepted(shape):
    checks.check_shape(shape, (26, 26, 32))


def test_one_dimensional_shape_may_be_a_plain_int():
    checks.check_shape(5408, (5408,))


def test_wrong_shape_is_rejected_with_hint():
    with pytest.raises(AssertionError, match="padding"):
        checks.check_shape((28, 28, 32), (26, 26, 32), mistakes={(28, 28, 32): "padding"})


def test_arrays_compare_by_shape_and_value():
    checks.check_array([[1.0, 2.0]], np.array([[1, 2]]))
    with pytest.raises(AssertionError, match="shape"):
        checks.check_array([1.0, 2.0], np.array([[1, 2]]))
    with pytest.raises(AssertionError, match="wrong values"):
        checks.check_array([[1.0, 2.5]], np.array([[1, 2]]))


def test_multiple_choice_ignores_case_order_and_separators():
    checks.check_choice("b", "B")
    checks.check_choice("a, c", {"C", "A"})
    checks.check_choice(["c", "a"], "A C")
    checks.check_choice("AC", {"A", "C"})       # letters run together
    checks.check_choice("a and c", {"A", "C"})
    checks.check_choice("{'A', 'C'}", {"A", "C"})
    with pytest.raises(AssertionError):
        checks.check_choice("AB", {"A", "C"})
    with pytest.raises(AssertionError):
        checks.check_choice("A", {"A", "C"})


def test_check_raises_needs_the_right_exception():
    def bad(x):
        raise ValueError(x)

    checks.check_raises(bad, 1)
    with pytest.raises(AssertionError, match="should raise ValueError"):
        checks.check_raises(lambda x: x, 1)
    with pytest.raises(AssertionError, match="raised KeyError"):
        checks.check_raises(lambda: {}["x"])


@pytest.mark.parametrize("text", ["26x26", "twenty-six", "26.5x26x32", ""])
def test_shape_strings_that_are_not_shapes_are_rejected(text):
    with pytest.raises(AssertionError):
        checks.check_shape(text, (26, 26, 32))


@pytest.mark.parametrize(("value", "expected"), [
    (5.33, 4.0 / 0.75), (5.34, 4.0 / 0.75), (0.203, 12 / 59), (0.0419, 1 / 512 + 1 / 25),
    (0.0420, 1 / 512 + 1 / 25), ((5.33, 4.0, 3.0), (16 / 3, 4.0, 3.0)), (0.0, 0.0),
    (-1.5, -1.5), (3.12, 3.12), (123457, 123456.7)])
def test_answers_to_three_significant_digits_are_accepted(value, expected):
    checks.check_significant(value, expected, "x", digits=3)


@pytest.mark.parametrize(("value", "expected"), [
    (5.2, 4.0 / 0.75), (0.21, 12 / 59), (0.04, 1 / 512 + 1 / 25), ((5.33, 4.0), (16 / 3, 4.0, 3.0)),
    ("five", 5.0), (0.01, 0.0)])
def test_answers_off_in_the_third_significant_digit_are_rejected(value, expected):
    with pytest.raises(AssertionError):
        checks.check_significant(value, expected, "x", digits=3)


def test_four_significant_digits_of_a_ratio():
    checks.check_significant(0.1189, 1 / 128 + 1 / 9, digits=4)
    with pytest.raises(AssertionError):
        checks.check_significant(0.1192, 1 / 128 + 1 / 9, digits=4)


class _Func:
    """A stand-in for a function whose source the grader supplies."""

    def __init__(self, source: str) -> None:
        self.__grading_source__ = source


@pytest.mark.parametrize(("source", "depth"), [
    ("def f(a, b):\n    return a[:, None] * b[None]\n", 0),
    ("def f(a, b):\n    return [x * b for x in a]\n", 1),
    ("def f(a, b):\n    return [[x * y for y in b] for x in a]\n", 2),
    ("def f(a):\n    return [x for x in a for y in a]\n", 2),
    ("def f(x):\n    for i in x:\n        while i:\n            i -= 1\n", 2),
    ("", 0),  # the grader found no definition (an alias): not judged
])
def test_loop_depth_counts_nested_loops_and_comprehensions(source, depth):
    assert checks.loop_depth(_Func(source)) == depth


def test_loop_depth_reads_a_real_function():
    def pairs(a, b):
        return [(x, y) for x in a for y in b]

    assert checks.loop_depth(pairs) == 2
    with pytest.raises(AssertionError, match="no loops"):
        checks.check_loop_depth(pairs, 1, "no loops over pairs")


def _block(build, shape=(6, 6, 4)):
    import keras

    inputs = keras.Input(shape)
    return keras.Model(inputs, build(inputs))


def test_check_block_matches_accepts_any_creation_order_and_rejects_another_order():
    import keras
    from keras import layers

    def reference(x):
        y = layers.Conv2D(8, 3, padding="same", use_bias=False)(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        shortcut = layers.Conv2D(8, 1, use_bias=False)(x)
        return layers.Add()([shortcut, y])

    def shortcut_first(x):  # the same block, layers made in another order, a nested part
        shortcut = layers.Conv2D(8, 1, use_bias=False)(x)
        branch = keras.Sequential([layers.Conv2D(8, 3, padding="same", use_bias=False),
                                   layers.BatchNormalization(), layers.Activation("relu")])
        return layers.Add()([branch(x), shortcut])

    def relu_before_bn(x):  # a typical mistake: same layers, same parameters
        y = layers.Conv2D(8, 3, padding="same", use_bias=False)(x)
        y = layers.BatchNormalization()(layers.ReLU()(y))
        return layers.Add()([layers.Conv2D(8, 1, use_bias=False)(x), y])

    def with_bias(x):
        y = layers.Conv2D(8, 3, padding="same")(x)
        y = layers.ReLU()(layers.BatchNormalization()(y))
        return layers.Add()([layers.Conv2D(8, 1, use_bias=False)(x), y])

    x = np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32")
    checks.check_block_matches(_block(shortcut_first), _block(reference), x, "block")
    with pytest.raises(AssertionError, match="computes something else"):
        checks.check_block_matches(_block(relu_before_bn), _block(reference), x, "block")
    with pytest.raises(AssertionError, match="should not have"):
        checks.check_block_matches(_block(with_bias), _block(reference), x, "block")


def test_check_block_matches_compares_channels_as_a_set_when_asked():
    from keras import layers

    def two_branches(x, swap=False):
        a = layers.Conv2D(2, 1)(x)
        b = layers.Conv2D(3, 3, padding="same")(x)
        return layers.Concatenate()([b, a] if swap else [a, b])

    x = np.random.default_rng(1).normal(size=(2, 6, 6, 4)).astype("float32")
    swapped, straight = _block(lambda t: two_branches(t, True)), _block(two_branches)
    with pytest.raises(AssertionError):
        checks.check_block_matches(swapped, straight, x, "module")
    checks.check_block_matches(swapped, straight, x, "module", any_channel_order=True)
