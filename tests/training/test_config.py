"""The trainers' configs: one base, one set of names, one validation; older saved configs still load."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from encore.training.config import TrainerConfig, TrainerConfigError
from encore.training.groove.config import GrooveTrainerConfig
from encore.training.piano.config import PianoTrainerConfig

CONFIGS = [
    pytest.param(PianoTrainerConfig, {"cache_dir": Path("cache")}, id="piano"),
    pytest.param(GrooveTrainerConfig, {}, id="groove"),
]
BASE_FIELDS = [field.name for field in dataclasses.fields(TrainerConfig)]


def test_base_fields() -> None:
    assert BASE_FIELDS == ["steps", "batch_size", "learning_rate", "min_lr_ratio", "warmup_steps", "grad_clip",
                           "eval_every", "save_every", "max_minutes", "seed", "threads", "run_dir"]


@pytest.mark.parametrize(("config_cls", "required"), CONFIGS)
def test_trainer_configs_share_the_base_names(config_cls: type[TrainerConfig], required: dict) -> None:
    assert issubclass(config_cls, TrainerConfig)
    names = [field.name for field in dataclasses.fields(config_cls)]
    assert names[: len(BASE_FIELDS)] == BASE_FIELDS
    for old in ("lr", "out_dir", "time_budget_minutes"):
        assert old not in names
    config = config_cls(**required)
    assert config.save_every == config.eval_every and isinstance(config.run_dir, Path)
    assert config.learning_rate_at(config.steps) == pytest.approx(config.learning_rate * config.min_lr_ratio)


@pytest.mark.parametrize(("config_cls", "required"), CONFIGS)
@pytest.mark.parametrize(
    ("field", "value"),
    [("steps", 0), ("batch_size", 0), ("learning_rate", 0.0), ("min_lr_ratio", 1.5), ("warmup_steps", -1),
     ("grad_clip", 0.0), ("eval_every", 0), ("save_every", 0), ("max_minutes", 0.0), ("seed", -1), ("threads", 0)],
)
def test_one_validation(config_cls: type[TrainerConfig], required: dict, field: str, value: object) -> None:
    with pytest.raises(TrainerConfigError) as error:
        config_cls(**required, **{field: value})
    assert error.value.field == field


@pytest.mark.parametrize(("config_cls", "required"), CONFIGS)
def test_round_trip_and_legacy_names(config_cls: type[TrainerConfig], required: dict, tmp_path: Path) -> None:
    config = config_cls(**required, steps=7, learning_rate=0.02, max_minutes=3.5, run_dir=tmp_path)
    assert config_cls.from_dict(config.to_dict()) == config
    # older piano runs saved every value as a string, under `lr`, `time_budget_minutes` and `out_dir`
    legacy = {"lr": "0.02", "time_budget_minutes": "3.5", "steps": "7", "threads": "None", "retired_field": "1",
              **{key: str(value) for key, value in required.items()}}
    legacy["out_dir" if config_cls is PianoTrainerConfig else "run_dir"] = str(tmp_path)
    loaded = config_cls.from_dict(legacy)
    assert (loaded.learning_rate, loaded.max_minutes, loaded.steps, loaded.threads) == (0.02, 3.5, 7, None)
    assert loaded.run_dir == tmp_path


def test_own_fields_validated_too() -> None:
    with pytest.raises(TrainerConfigError, match="model"):
        GrooveTrainerConfig(model="nope")
    with pytest.raises(TrainerConfigError, match="crop"):
        PianoTrainerConfig(cache_dir=Path("."), crop=1)


def test_default_run_folders() -> None:
    assert PianoTrainerConfig(cache_dir=Path(".")).run_dir.parts[-2:] == ("runs", "piano")
    assert GrooveTrainerConfig(model="aux11").run_dir.parts[-2:] == ("runs", "groove-aux11")


def test_installed_package_puts_runs_and_caches_under_the_cwd(tmp_path: Path) -> None:
    """A copy of the package outside any checkout (as in site-packages) resolves against the cwd."""
    import encore.training

    site = tmp_path / "site" / "encore"
    site.mkdir(parents=True)
    shutil.copytree(Path(encore.training.__file__).parent, site / "training",
                    ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import encore.training.paths as p; "
            "print(p.CHECKOUT_ROOT, p.runs_dir('piano').resolve(), p.cache_dir('groove').resolve(), "
            "p.default_data_root().resolve(), sep='|')")
    env = {key: value for key, value in os.environ.items() if key != "ENCORE_DATA"}
    # -S: no site-packages, so the editable install's finder cannot point back at this checkout
    result = subprocess.run([sys.executable, "-S", "-c", code, str(tmp_path / "site")], cwd=work, env=env,
                            capture_output=True, text=True, check=True)
    checkout, runs, cache, data = result.stdout.strip().split("|")
    assert checkout == "None"
    assert Path(runs) == work / "runs" / "piano" and Path(cache) == work / ".cache" / "groove"
    assert Path(data) == tmp_path / "shared" / "data"
