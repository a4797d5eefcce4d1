"""The `preference` reward: Bradley-Terry on arena votes whose winner follows a hidden rule (the louder chunk
wins), written by the arena's own export code and trained through `encore train preference`."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from encore.engine.synth import DEFAULT_SOUNDFONT
from encore.models.errors import EncoreError
from encore.models.midi_writer import write_notes
from encore.models.piano.checkpoint import PianoBundle, save_piano
from encore.stage.arena.export import vote_record
from encore.stage.arena.store import ChunkRow, Vote
from encore.stage.cli import main
from encore.training.challenge.timeline import TimedNote, to_file_beats
from encore.training.grpo.critic import AudioCritic, CriticConfig, save_critic
from encore.training.grpo.mel import MelConfig
from encore.training.grpo.preference import PreferenceReward, chunk_means, crop_windows
from encore.training.grpo.preference_config import PreferenceTrainerConfig
from encore.training.grpo.preference_data import chunk_notes, read_votes, split_votes
from encore.training.grpo.preference_train import PreferenceTrainer
from encore.training.grpo.render import RenderConfig, Renderer
from encore.training.grpo.rewards import RewardBatch, WeightedReward, build_reward
from encore.training.grpo.symbolic import NoteDensity

needs_soundfont = pytest.mark.skipif(not DEFAULT_SOUNDFONT.is_file(), reason="FluidR3_GM SoundFont not installed")

CHUNK_S = 4.0
CROP_S = 2.0
C_MAJOR = (0, 2, 4, 5, 7, 9, 11)
UNSEEN_VELOCITIES = (30, 42, 54, 66, 78, 90, 102, 114)


@dataclass(frozen=True)
class Made:
    """A chunk the test wrote: its row (as the arena stores it) and its hidden loudness."""

    row: ChunkRow
    velocity: int


def make_chunk(folder: Path, index: int, velocity: int, rng: random.Random) -> Made:
    """A 4-s chunk of C-major notes at a random density, every note near `velocity`."""
    notes, at, step = [], 0.0, rng.uniform(0.15, 0.6)
    while at < CHUNK_S - 0.3:
        pitch = 48 + 12 * rng.randrange(3) + rng.choice(C_MAJOR)
        notes.append(TimedNote(at, at + 0.4, pitch, max(1, min(127, velocity + rng.randint(-4, 4)))))
        at += step
    midi = folder / f"{index:03d}.mid"
    write_notes(midi, to_file_beats(notes), bpm=None)
    row = ChunkRow(id=index, entry_id=index % 3, entry=f"entry{index % 3}", index=index, start_s=CHUNK_S * index,
                   length_s=CHUNK_S, notes=len(notes), midi=midi, audio=folder / f"{index:03d}.ogg")
    return Made(row, velocity)


def write_export(path: Path, chunks: list[Made], votes: int, rng: random.Random) -> Path:
    """`votes` random pairs, the louder chunk winning (a draw within 6 velocity steps), as arena export lines."""
    rows = {made.row.id: made.row for made in chunks}
    lines = []
    for number in range(votes):
        a, b = rng.sample(chunks, 2)
        answer = "draw" if abs(a.velocity - b.velocity) < 6 else "a" if a.velocity > b.velocity else "b"
        vote = Vote("human", number + 1, "listener", 1.8e9 + number, a.row.id, b.row.id, a.row.entry_id,
                    b.row.entry_id, answer)
        lines.append(json.dumps(vote_record(vote, rows)))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """24 chunks voted on (120 votes) and 8 never voted on, of spread loudness; trained through the CLI."""
    if not DEFAULT_SOUNDFONT.is_file():
        pytest.skip("FluidR3_GM SoundFont not installed")
    folder = tmp_path_factory.mktemp("preference")
    rng = random.Random(7)
    chunks = [make_chunk(folder, i, rng.randint(25, 120), rng) for i in range(24)]
    unseen = [make_chunk(folder, 90 + i, velocity, rng) for i, velocity in enumerate(UNSEEN_VELOCITIES)]
    pairs = write_export(folder / "pairs.jsonl", chunks, 120, rng)
    run = folder / "run"
    code = main(["train", "preference", "--pairs", str(pairs), "--run-dir", str(run), "--steps", "60",
                 "--batch-size", "16", "--eval-every", "30", "--held-out-fraction", "0.25", "--crop-seconds",
                 str(CROP_S), "--render-workers", "0", "--threads", "1", "--device", "cpu", "--lr", "3e-3"])
    assert code == 0
    return {"folder": folder, "pairs": pairs, "run": run, "chunks": chunks, "unseen": unseen}


@needs_soundfont
def test_learns_the_hidden_rule_and_exports(trained: dict) -> None:
    run = trained["run"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["votes"] == 120 and metrics["held_out_votes"] == 30 and metrics["chunks"] == 24
    assert metrics["crops"] == 24 * round(CHUNK_S / CROP_S)
    assert metrics["held_out_accuracy"] >= 0.75, metrics  # chance is 0.5
    export = run / "export"
    for name in ("model.safetensors", "config.json", "README.md"):
        assert (export / name).is_file()
    assert "Held-out" in (export / "README.md").read_text()
    assert (run / "loss_curves.png").stat().st_size > 1000


@needs_soundfont
def test_reward_orders_unseen_chunks_by_the_rule_and_gives_silence_zero(trained: dict) -> None:
    reward = build_reward("preference", preference=trained["run"] / "export")
    assert isinstance(reward, PreferenceReward) and reward.needs_audio
    notes = [chunk_notes(made.row.midi) for made in trained["unseen"]] + [[]]
    with Renderer(RenderConfig(crop_s=CROP_S, workers=0)) as renderer:  # as GRPO renders a completion
        rendered = renderer.render(notes)
    scores = reward.score(RewardBatch(notes, rendered, crop_s=CROP_S)).tolist()
    *music, silence = scores
    assert silence == 0 and all(0 < score < 1 for score in music)
    pairs = [(i, j) for i in range(len(music)) for j in range(i + 1, len(music))]  # velocities rise with i
    in_order = sum(music[j] > music[i] for i, j in pairs)
    assert in_order >= 0.8 * len(pairs), music  # chance: half the pairs
    assert music[-1] > music[0]


@needs_soundfont
def test_composes_with_another_reward(trained: dict) -> None:
    export = trained["run"] / "export"
    reward = build_reward("preference:1,density:0.2", preference=export)
    assert isinstance(reward, WeightedReward) and reward.needs_audio
    notes = [chunk_notes(made.row.midi) for made in trained["unseen"][::3]]
    with Renderer(RenderConfig(crop_s=CROP_S, workers=0)) as renderer:
        batch = RewardBatch(notes, renderer.render(notes), crop_s=CROP_S)
    alone = PreferenceReward.load(export).score(batch)
    torch.testing.assert_close(reward.score(batch), alone + 0.2 * NoteDensity().score(batch))


@needs_soundfont
def test_grpo_trains_on_it_from_the_command_line(trained: dict, tmp_path: Path) -> None:
    bundle = PianoBundle.random("tiny")
    base = save_piano(tmp_path / "base", bundle.model, bundle.tokenizer, "# tiny\n")
    run = tmp_path / "grpo"
    code = main(["train", "grpo", "--reward", "preference:1,density:0.2", "--preference",
                 str(trained["run"] / "export"), "--prompts", "procedural", "--iterations", "1", "--checkpoint",
                 str(base), "--batch-size", "2", "--group-size", "2", "--max-new-tokens", "24", "--threads", "1",
                 "--run-dir", str(run), "--device", "cpu", "--render-workers", "0", "--crop-seconds", str(CROP_S)])
    assert code == 0
    assert json.loads((run / "metrics.json").read_text())["reward"] == "preference+0.2*density"
    row = json.loads((run / "log.jsonl").read_text().splitlines()[0])
    assert 0 <= row["reward_mean"] <= 1.2


@needs_soundfont
def test_more_votes_render_only_new_chunks(trained: dict, capsys: pytest.CaptureFixture[str]) -> None:
    folder, run = trained["folder"], trained["run"]
    extra = make_chunk(folder, 50, 100, random.Random(3))
    more = folder / "more.jsonl"
    write_export(more, [*trained["chunks"][:5], extra], 6, random.Random(4))
    lines = trained["pairs"].read_text() + more.read_text()
    (folder / "all.jsonl").write_text(lines)
    capsys.readouterr()
    PreferenceTrainer(PreferenceTrainerConfig(pairs=folder / "all.jsonl", run_dir=run, crop_s=CROP_S,
                                              render_workers=0, device="cpu"))
    said = capsys.readouterr().out
    assert "rendering 1 chunks (24 cached)" in said


@needs_soundfont
def test_starts_from_a_critic_and_refuses_another_sample_rate(trained: dict, tmp_path: Path) -> None:
    torch.manual_seed(1)
    critic = AudioCritic(CriticConfig())
    save_critic(tmp_path / "critic", critic, "# card\n")
    settings = {"pairs": trained["pairs"], "run_dir": trained["run"], "crop_s": CROP_S, "render_workers": 0,
                "device": "cpu"}
    trainer = PreferenceTrainer(PreferenceTrainerConfig(init_critic=tmp_path / "critic", **settings))
    torch.testing.assert_close(trainer.model.state_dict(), critic.state_dict())
    save_critic(tmp_path / "critic22", AudioCritic(CriticConfig(MelConfig(sample_rate=22050))), "# card\n")
    with pytest.raises(EncoreError, match="--sample-rate 22050"):
        PreferenceTrainer(PreferenceTrainerConfig(init_critic=tmp_path / "critic22", **settings))


def test_missing_checkpoint_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(EncoreError, match="encore train preference --pairs") as error:
        build_reward("density:0.5,preference:1", preference=tmp_path / "nothing")
    assert "\n" not in str(error.value)


def test_bad_exports_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    midi = tmp_path / "x.mid"
    write_notes(midi, to_file_beats([TimedNote(0.0, 0.5, 60, 80)]), bpm=None)
    side = {"entry": "e", "chunk": 0, "start_s": 0.0, "length_s": 4.0, "midi": str(midi), "audio": "x.ogg"}
    good = json.dumps({"a": side, "b": side, "winner": "a"})
    cases = {
        "not JSON": f"{good}\n{{oops\n",
        "winner must be a, b or draw, got 'c'": f"{good}\n" + json.dumps({"a": side, "b": side, "winner": "c"}),
        "nowhere.mid not found": json.dumps({"a": {**side, "midi": str(tmp_path / "nowhere.mid")}, "b": side,
                                             "winner": "b"}),
        "length_s must be a positive number": json.dumps({"a": {**side, "length_s": -1}, "b": side, "winner": "a"}),
        "training needs at least 2": good,
    }
    for message, text in cases.items():
        path = tmp_path / "pairs.jsonl"
        path.write_text(text)
        with pytest.raises(EncoreError, match=message) as error:
            read_votes(path)
        assert "\n" not in str(error.value) and str(path) in str(error.value)
    assert main(["train", "preference", "--pairs", str(tmp_path / "absent.jsonl"), "--run-dir",
                 str(tmp_path / "run")]) == 2
    assert "encore arena export --out" in capsys.readouterr().err


def test_votes_read_draws_and_split_by_seed(tmp_path: Path) -> None:
    midis = []
    for index in range(3):
        midis.append(tmp_path / f"{index}.mid")
        write_notes(midis[-1], to_file_beats([TimedNote(0.0, 0.5, 60 + index, 80)]), bpm=None)
    side = [{"length_s": 30.0, "midi": str(midi)} for midi in midis]
    rows = [(0, 1, "a"), (1, 2, "draw"), (2, 0, "b"), (0, 1, "b")]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps({"a": side[a], "b": side[b], "winner": w}) + "\n\n"
                                              for a, b, w in rows))
    votes = read_votes(tmp_path / "p.jsonl")
    assert len(votes.chunks) == 3 and [(v.a, v.b, v.target) for v in votes.votes] == [
        (0, 1, 1.0), (1, 2, 0.5), (2, 0, 0.0), (0, 1, 0.0)]
    train, held = split_votes(10, 0.2, seed=3)
    assert len(held) == 2 and sorted(train + held) == list(range(10))
    assert (train, held) == split_votes(10, 0.2, seed=3) and (train, held) != split_votes(10, 0.2, seed=4)
    assert split_votes(2, 0.01, seed=0)[1] and split_votes(2, 0.99, seed=0)[0]


def test_crops_and_chunk_means() -> None:
    audio = torch.arange(2 * 7, dtype=torch.float32).reshape(2, 7)
    windows, owners = crop_windows(audio, 3)  # two whole windows each, the seventh sample dropped
    assert windows.tolist() == [[0, 1, 2], [3, 4, 5], [7, 8, 9], [10, 11, 12]] and owners.tolist() == [0, 0, 1, 1]
    short, owner = crop_windows(torch.ones(1, 2), 3)  # shorter than a crop: padded with silence
    assert short.tolist() == [[1, 1, 0]] and owner.tolist() == [0]
    means = chunk_means(torch.tensor([1.0, 3.0, 10.0]), torch.tensor([0, 0, 1]), 2)
    assert means.tolist() == [2.0, 10.0]
