"""Fixtures shared by the lecture-driver tests."""

import pytest


@pytest.fixture(scope="module")
def eager():
    """Run tf.functions eagerly for one test module: on tiny data, tracing a graph for every
    small model costs more than the training itself."""
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)
