"""Training runs name their setup: `--setup` and `--model-option` reach the model, are checked up front,
and a resumed run must keep them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from encore.models.errors import EncoreError
from encore.models.groove.checkpoint import read_config
from encore.stage.cli import main as cli_main
from encore.training.config import TrainerConfigError
from encore.training.groove.config import GrooveTrainerConfig, parse_model_option
from encore.training.groove.trainer import train

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TINY = {"encoder_hidden": 16, "decoder_hidden": 32, "aux_hidden": 16, "score_latent": 8, "groove_latent": 8}


@pytest.mark.parametrize(("text", "parsed"), [
    ("dropout=0.7", ("dropout", 0.7)),
    ("values_on_all_steps=true", ("values_on_all_steps", True)),
    (" decoder_layers =2", ("decoder_layers", 2)),
])
def test_model_options_parse_as_json_values(text: str, parsed: tuple) -> None:
    assert parse_model_option(text) == parsed


@pytest.mark.parametrize(("text", "message"), [
    ("dropout", "'dropout': expected KEY=VALUE"),
    ("dropout=high", "'dropout=high': the value must be a number, true or false"),
])
def test_bad_model_options_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_model_option(text)


def test_the_trainer_config_checks_setup_and_options_up_front() -> None:
    config = GrooveTrainerConfig(model="aux11", setup="paper", model_options={"dropout": 0.5})
    model = config.model_config()
    assert (model.encoder_hidden, model.dropout, model.input_dropout) == (512, 0.5, 0.5)
    with pytest.raises(TrainerConfigError, match="setup must be one of encore, paper"):
        GrooveTrainerConfig(setup="gpu")
    with pytest.raises(TrainerConfigError, match="unknown groove model option drop"):
        GrooveTrainerConfig(model_options={"drop": 0.5})
    with pytest.raises(TrainerConfigError, match="device must be cpu, cuda, cuda:N or auto"):
        GrooveTrainerConfig(device="tpu")
    assert GrooveTrainerConfig(device="cuda:1").device == "cuda:1"


def test_a_run_trains_its_setup_and_resumes_only_with_the_same_one(tmp_path: Path) -> None:
    options = {**TINY, "dropout": 0.7, "values_on_all_steps": True}
    paths = {"run_dir": tmp_path / "run", "cache_dir": tmp_path / "cache"}
    config = GrooveTrainerConfig(model="aux", setup="paper", model_options=options, steps=2, batch_size=4, eval_every=1)
    out = train(config, FIXTURES, out_dir=tmp_path / "ckpt", **paths)
    stored = read_config(out)["model"]
    assert (stored["dropout"], stored["values_on_all_steps"], stored["decoder_layers"], stored["offset_weight"]) == (0.7, True, 2, 4.0)
    longer = GrooveTrainerConfig(model="aux", setup="paper", model_options=options, steps=3, batch_size=4, eval_every=1)
    train(longer, FIXTURES, resume=True, out_dir=tmp_path / "ckpt", **paths)  # same setup: resumes
    changed = GrooveTrainerConfig(model="aux", setup="paper", model_options={**options, "dropout": 0.0}, steps=4,
                                  batch_size=4, eval_every=1)
    with pytest.raises(EncoreError, match="resume with the same --setup and --model-option"):
        train(changed, FIXTURES, resume=True, out_dir=tmp_path / "ckpt", **paths)


def test_the_command_line_passes_setup_and_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["groove", "train", "--model", "factorized", "--setup", "paper", "--steps", "1", "--batch-size", "4",
            "--eval-every", "1", "--data-root", str(FIXTURES), "--run-dir", str(tmp_path / "run"),
            "--out", str(tmp_path / "ckpt"), "--model-option", "dropout=0.2"]
    args += [f"--model-option={key}={value}" for key, value in TINY.items()]
    assert cli_main(args) == 0
    stored = json.loads((tmp_path / "ckpt" / "config.json").read_text())["model"]
    assert (stored["dropout"], stored["encoder_hidden"], stored["value_weight"]) == (0.2, 16, 1.0)
    assert cli_main(["groove", "train", "--model-option", "dropout"]) == 2
    assert "encore: error: --model-option 'dropout': expected KEY=VALUE" in capsys.readouterr().err
