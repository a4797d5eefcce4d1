"""A miniature data root built from the repo's real fixture files, laid out like ../shared/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def mini_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    pop = root / "pop909"
    for song in ("001", "002"):
        (pop / song / "versions").mkdir(parents=True)
        shutil.copy(FIXTURES / "pop909" / f"{song}.mid", pop / song / f"{song}.mid")
    shutil.copy(FIXTURES / "pop909" / "002-v1.mid", pop / "002" / "versions" / "002-v1.mid")
    shutil.copy(FIXTURES / "pop909" / "index.csv", pop / "index.csv")
    classical = root / "piano_midi_de"
    rows = ["composer,title,year,midi,duration"]
    for composer, name, title in [("Chopin", "chpn-p7", "Prelude_7"), ("Schumann", "scn15_4", "Kinderszenen_4"),
                                  ("Clementi", "clementi_opus36_3_2", "Sonatina_Op36_No3_Mov2")]:
        (classical / "midis" / composer).mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "piano_midi_de" / f"{name}.mid", classical / "midis" / composer / f"{name}.mid")
        rows.append(f"{composer},{title},1900,midis/{composer}/{name}.mid,60")
    (classical / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="session")
def mini_cache(mini_data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from encore.training.piano.prep import PrepConfig, run_prep

    config = PrepConfig(data_root=mini_data_root, cache_root=tmp_path_factory.mktemp("cache"), workers=1)
    run_prep(config, progress=False)
    return config.cache_dir
