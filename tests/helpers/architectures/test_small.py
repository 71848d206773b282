"""helpers.architectures.small: the lecture's small CNNs."""

from __future__ import annotations

from helpers.architectures.small import build_cnn1


def _config_without_name(layer) -> dict:
    return {k: v for k, v in layer.get_config().items() if k != "name"}


def test_the_tests_cnn1_is_the_lectures_cnn1_with_named_layers(cnn1):
    lecture = build_cnn1()
    assert [type(a) for a in lecture.layers] == [type(b) for b in cnn1.layers]
    for a, b in zip(lecture.layers, cnn1.layers, strict=True):
        assert _config_without_name(a) == _config_without_name(b), a.name
    assert lecture.count_params() == cnn1.count_params() == 693_962
    assert lecture.output_shape == cnn1.output_shape == (None, 10)
