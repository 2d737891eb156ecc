"""Config files read with the position of every YAML mistake (a syntax error, a key given twice), and
`python -m ineqbench.config FILE...`, which checks files as `snakemake --configfile` would use them."""

from __future__ import annotations

import pytest
import yaml

from ineqbench.config import check_files, main
from ineqbench.config_file import read_config_file
from ineqbench.settings import ConfigError
from tests.helpers.workflow import TINY_CONFIG


@pytest.mark.parametrize(
    "text, says",
    [
        ("datasets:\n  shapes:\n    builder: x\n   pool_size: 5\n", "line 4, column 4: while parsing a block mapping"),
        ("seed: [1, 2\nmethods: [ig]\n", "line 2, column 8: while parsing a flow sequence"),
        ("seed: 1\nmethods: [ig]\nseed: 2\n", "line 3, column 1: key 'seed' given twice (first on line 1)"),
        ("datasets:\n  a: {builder: x, builder: y}\n", "line 2, column 19: key 'builder' given twice"),
        ("- seed\n", "the top level must be a mapping of sections, got list"),
    ],
)
def test_a_yaml_mistake_names_the_file_line_and_column(tmp_path, text, says):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        read_config_file(path)
    assert str(error.value).startswith(f"{path}") and says in str(error.value)


def test_files_are_layered_and_checked_like_snakemake_does(tmp_path, capsys):
    override = tmp_path / "fewer.yaml"
    override.write_text("datasets:\n  synthetic_shapes:\n    n_images: 7\n")
    experiment = check_files([str(TINY_CONFIG), str(override)])
    assert experiment.name == "tiny+fewer" and experiment.datasets["synthetic_shapes"].n_images == 7
    assert main([str(TINY_CONFIG)]) == 0 and "valid; experiment 'tiny'" in capsys.readouterr().out
    typo = tmp_path / "typo.yaml"
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["datasets"]["synthetic_shapes"]["options"]["n_tset"] = 5
    typo.write_text(yaml.safe_dump(config))
    assert main([str(typo)]) == 1
    assert "datasets/synthetic_shapes/options" in capsys.readouterr().err
