"""Loss terms and the objective that sums them: what both modes minimise."""

import numpy as np
import pytest
import tensorflow as tf

from tf_style.errors import ConfigError
from tf_style.losses import functional
from tf_style.losses.config import LossConfig
from tf_style.losses.objective import Objective
from tf_style.losses.terms import ContentLoss, GramStyleLoss, TotalVariationLoss


def _features(seed, size=6):
    rng = np.random.default_rng(seed)
    return {
        "a": tf.constant(rng.normal(size=(1, size, size, 4)), tf.float32),
        "b": tf.constant(rng.normal(size=(1, size // 2, size // 2, 8)), tf.float32),
    }


def test_the_total_is_the_weighted_sum_of_the_terms_each_reported():
    image = tf.constant(np.random.default_rng(0).uniform(size=(1, 6, 6, 3)), tf.float32)
    picture, photo, painting = _features(1), _features(2), _features(3)
    objective = Objective(
        [
            ContentLoss({"b": 1.0}, weight=2.0),
            GramStyleLoss({"a": 3.0, "b": 1.0}, weight=5.0),
            TotalVariationLoss(weight=7.0),
        ]
    )
    assert objective.feature_layers == ("b", "a")
    targets = {
        "content_loss": objective.term("content_loss").target(photo),
        "style_loss": objective.term("style_loss").target([painting]),
    }
    losses = objective(image, picture, targets)
    content = float(functional.content_loss(picture["b"], photo["b"]))
    style_a = float(functional.style_layer_loss(picture["a"], functional.gram_matrix(painting["a"])))
    style_b = float(functional.style_layer_loss(picture["b"], functional.gram_matrix(painting["b"])))
    tv = float(functional.tv_loss(image))
    assert list(losses) == ["total_loss", "content_loss", "style_loss", "tv_loss", "style_loss/a", "style_loss/b"]
    np.testing.assert_allclose(float(losses["content_loss"]), content, rtol=1e-6)
    np.testing.assert_allclose(float(losses["style_loss"]), (3 * style_a + style_b) / 4, rtol=1e-6)
    np.testing.assert_allclose(float(losses["style_loss/a"]), style_a, rtol=1e-6)
    np.testing.assert_allclose(
        float(losses["total_loss"]), 2 * content + 5 * (3 * style_a + style_b) / 4 + 7 * tv, rtol=1e-5
    )


def test_the_style_target_blends_the_paintings_grams():
    term = GramStyleLoss({"a": 1.0})
    first, second = _features(4), _features(5)
    blended = term.target([first, second], [3.0, 1.0])["a"]
    expected = 0.75 * functional.gram_matrix(first["a"]) + 0.25 * functional.gram_matrix(second["a"])
    np.testing.assert_allclose(blended.numpy(), expected.numpy(), rtol=1e-6)


def test_terms_need_distinct_keys():
    with pytest.raises(ValueError, match="distinct keys"):
        Objective([TotalVariationLoss(), TotalVariationLoss()])
    with pytest.raises(KeyError):
        Objective([TotalVariationLoss()]).term("style_loss")


def test_the_config_builds_the_objective_with_its_layers_and_weights():
    config = LossConfig(
        backbone="vgg16_hed",
        content_layers=("conv3_3",),
        style_layers=("relu1_1", "conv2_1"),
        style_layer_weights=(2.0, 1.0),
        content_weight=0.5,
        style_weight=3.0,
        tv_weight=0.0,
    )
    objective = config.objective()
    assert [term.key for term in objective.terms] == ["content_loss", "style_loss", "tv_loss"]
    assert objective.term("content_loss").layer_weights == {"block3_conv3": 1.0}
    assert objective.term("style_loss").layer_weights == {"block1_conv1": 2.0, "block2_conv1": 1.0}
    assert [term.weight for term in objective.terms] == [0.5, 3.0, 0.0]
    with pytest.raises(ConfigError, match="unknown layer 'conv3_4' for vgg16"):  # VGG16 has three per block.
        LossConfig(backbone="vgg16_hed", style_layers=("conv3_4",)).objective()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"backbone": "resnet"}, "backbone must be one of"),
        ({"precision": "float16"}, "precision must be one of"),
        ({"style_weight": 0.0}, "style_weight must be > 0"),
        ({"content_layers": ()}, "content_layers must name at least one layer"),
        ({"style_layer_weights": (1.0,)}, "style_layer_weights has 1 values for 5 layers"),
        ({"vgg_weights": "w.h5", "backbone": "vgg16_hed"}, "vgg_weights is for the vgg19 backbone only"),
    ],
)
def test_bad_settings_are_refused_for_both_modes(changes, message):
    from tf_style.optimization.config import StylizeConfig
    from tf_style.training.config import TrainConfig

    for config_class in (LossConfig, StylizeConfig, TrainConfig):
        with pytest.raises(ConfigError, match=message):
            config_class(**changes)


def test_lists_become_tuples_and_to_dict_gives_lists():
    config = LossConfig(style_layers=["conv1_1", "conv2_1"], style_layer_weights=[1, 2])
    assert config.style_layers == ("conv1_1", "conv2_1") and config.style_layer_weights == (1, 2)
    assert config.to_dict()["style_layers"] == ["conv1_1", "conv2_1"]
    assert config.replace(style_weight=9.0).style_weight == 9.0
