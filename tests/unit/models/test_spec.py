"""ModelSpec, epsilon parsing and labels, default model ids."""

import pytest

from ineqbench.models.spec import ModelSpec, default_model_id, epsilon_label, parse_epsilon


@pytest.mark.parametrize(
    "value,expected",
    [
        ("8/255", 8 / 255),
        (" 8/255 ", 8 / 255),
        ("0.5/255", 0.5 / 255),
        ("0.25", 0.25),
        (0.5, 0.5),
        (0, 0.0),
        (1, 1.0),
        ("0", 0.0),
    ],
)
def test_parse_epsilon(value, expected):
    result = parse_epsilon(value)
    assert isinstance(result, float)
    assert result == pytest.approx(expected, rel=1e-15, abs=0)


def test_parse_epsilon_out_of_range_points_to_the_fraction_form():
    with pytest.raises(ValueError, match="8/255"):
        parse_epsilon("8")
    with pytest.raises(ValueError, match="outside"):
        parse_epsilon(8)
    with pytest.raises(ValueError, match="negative"):
        parse_epsilon(-0.01)


def test_l2_radii_may_exceed_one_and_are_labelled_as_decimals():
    assert parse_epsilon(3.0, "l2") == 3.0
    assert parse_epsilon("0.5", "l2") == 0.5
    with pytest.raises(ValueError, match="negative"):
        parse_epsilon(-1, "l2")
    assert epsilon_label(3.0, "l2") == "3"
    assert epsilon_label(0.5, "l2") == "0.5"


def test_parse_epsilon_division_by_zero_is_a_value_error():
    with pytest.raises(ValueError, match="not a number or a fraction"):
        parse_epsilon("8/0")


@pytest.mark.parametrize("bad", ["abc", "8/x", "1/2/3", ""])
def test_parse_epsilon_garbage_raises_value_error(bad):
    with pytest.raises(ValueError, match="not a number or a fraction"):
        parse_epsilon(bad)


@pytest.mark.parametrize(
    "eps,label",
    [
        (8 / 255, "8/255"),
        (0, "0"),
        (0.0, "0"),
        (0.5 / 255, "0.5/255"),
        (1 / 255, "1/255"),
        (16 / 255, "16/255"),
        (0.25 / 255, "0.25/255"),
        (1e-3, "0.001"),
    ],
)
def test_epsilon_label(eps, label):
    assert epsilon_label(eps) == label


@pytest.mark.parametrize("text", ["1/255", "2/255", "4/255", "8/255", "0.5/255", "16/255"])
def test_epsilon_label_round_trips_parse_epsilon(text):
    assert epsilon_label(parse_epsilon(text)) == text


@pytest.mark.parametrize("bad_id", ["a/b", "has space", "", "-leading", "x:y"])
def test_model_spec_rejects_unsafe_ids(bad_id):
    with pytest.raises(ValueError, match="not wildcard-safe"):
        ModelSpec(id=bad_id, dataset="d", arch="test_resnet")


def test_model_spec_fields_and_labels():
    std = ModelSpec(id="test_resnet-std-s0", dataset="synthetic", arch="test_resnet")
    assert std.is_standard and std.training_label == "standard" and std.epsilon_label == "0"
    robust = ModelSpec(id="m.1+x_y", dataset="synthetic", arch="test_resnet", epsilon=8 / 255, seed=2)
    assert not robust.is_standard
    assert robust.training_label == "linf 8/255"
    d = robust.as_dict()
    assert d["id"] == "m.1+x_y" and d["epsilon"] == 8 / 255 and d["seed"] == 2
    assert d["source"] == "train" and d["recipe"] == "default" and d["arch_kwargs"] == {}
    assert ModelSpec(**d) == robust


@pytest.mark.parametrize(
    "args,expected",
    [
        (("test_resnet", "linf", 8 / 255, 0), "test_resnet-linf8-s0"),
        (("test_resnet", "linf", 0, 0), "test_resnet-std-s0"),
        (("test_resnet", "l2", 0.0, 3), "test_resnet-std-s3"),
        (("resnet50", "linf", 4 / 255, 1), "resnet50-linf4-s1"),
        (("resnet50", "linf", 0.5 / 255, 2), "resnet50-linf0.5-s2"),
        (("resnet50", "l2", 3.0, 0), "resnet50-l2eps3-s0"),
        (("resnet50", "l2", 0.5, 0), "resnet50-l2eps0.5-s0"),
    ],
)
def test_default_model_id(args, expected):
    model_id = default_model_id(*args)
    assert model_id == expected
    ModelSpec(id=model_id, dataset="d", arch=args[0])  # every generated id is wildcard-safe


@pytest.mark.parametrize("k", range(1, 17))
def test_default_model_id_integer_linf_epsilons_have_no_float_noise(k):
    assert default_model_id("a", "linf", k / 255, 0) == f"a-linf{k}-s0"
