"""helpers.source_code.show_code: a function's source for the notebook, clear errors."""

from __future__ import annotations

import pytest

from helpers.architectures.small import build_cnn1
from helpers.source_code import show_code


def test_show_code_gives_the_source_as_highlighted_python():
    shown = show_code(build_cnn1)
    assert shown.data.startswith("def build_cnn1(") and "Conv2D(32" in shown.data
    assert shown.language == "python" and "<pre" in shown._repr_html_()


def test_show_code_of_something_without_source_says_what_it_needs():
    with pytest.raises(TypeError, match="needs a function or a class, got int"):
        show_code(3)
    namespace: dict = {}
    exec(compile("def f():\n    return 1\n", "<typed in>", "exec"), namespace)
    with pytest.raises(OSError, match="source of f is not available here"):
        show_code(namespace["f"])
