"""The Vision Transformer: patch arithmetic and the parameter formula against Keras' count."""

import numpy as np
import pytest

from helpers.architectures.vit import (
    VIT_B16,
    build_vit,
    patch_tokens,
    vit_parameter_count,
)

SMALL = {"image_size": 32, "patch_size": 8, "channels": 1, "dim": 16, "depth": 2, "heads": 2,
         "mlp_dim": 32, "num_classes": 10}


def test_a_224_image_in_16_pixel_patches_is_196_tokens_of_768_values():
    assert patch_tokens(224, 16, 3) == {"patches per side": 14, "tokens": 196,
                                        "values per patch": 768}


def test_vit_b16_has_the_papers_86_million_parameters():
    parts = vit_parameter_count(**VIT_B16)
    assert parts["total"] == 86_567_656
    assert parts["patch embedding"] == 768 * 768 + 768
    assert parts["class token + positions"] == 768 + 197 * 768


@pytest.mark.parametrize("config", [SMALL, {**SMALL, "heads": 4, "depth": 3, "num_classes": 3}])
def test_the_formula_counts_what_keras_builds(config):
    model = build_vit(**config)
    assert model.count_params() == vit_parameter_count(**config)["total"]
    x = np.zeros((2, config["image_size"], config["image_size"], config["channels"]), "float32")
    assert model(x).shape == (2, config["num_classes"])


def test_the_number_of_heads_does_not_change_the_count():
    assert (vit_parameter_count(**{**SMALL, "heads": 1})["total"]
            == vit_parameter_count(**{**SMALL, "heads": 8})["total"])


def test_a_patch_that_does_not_divide_the_image_is_refused_with_a_fix():
    with pytest.raises(ValueError, match=r"must divide the image side \(224 px\).*patch_size=16"):
        patch_tokens(224, 15)
    with pytest.raises(ValueError, match="heads"):
        vit_parameter_count(**{**SMALL, "heads": 3})
