"""GRPO end to end on the tiny model with the toy C-major reward: the sampler's log-probs match a full
forward pass, the reward rises, resume equals an uninterrupted run, the command line exports. Completions
after a window of a longer piece follow its grammar from the states given; a trainer step on split prompts
scores the pace against the real continuation."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from encore.models.piano.checkpoint import PianoBundle, load_piano, save_piano
from encore.models.piano.grammar import BatchGrammar, GrammarTables
from encore.models.piano.streaming_decoder import TokenTable
from encore.stage.cli import main
from encore.training.grpo.config import GrpoConfig
from encore.training.grpo.grpo import GrpoTrainer
from encore.training.grpo.prompts import PromptMaker
from encore.training.grpo.rollout import completion_logprobs, sample_rollouts


def toy_config(run_dir: Path, steps: int, **changes: object) -> GrpoConfig:
    settings: dict = {"reward": "cmajor", "prompts": "procedural", "steps": steps, "batch_size": 4, "group_size": 8,
                      "max_new_tokens": 48, "learning_rate": 1e-2, "inner_updates": 2, "micro_batch": 32,
                      "save_every": 2, "threads": 1, "device": "cpu", "seed": 0, **changes}
    return GrpoConfig(run_dir=run_dir, **settings)


def test_sampled_logprobs_equal_a_full_forward_pass() -> None:
    bundle = PianoBundle.random("tiny")
    tables = GrammarTables(TokenTable.from_tokenizer(bundle.tokenizer))
    prompts = PromptMaker(bundle.tokenizer, seed=0).procedural(3)
    rollouts = sample_rollouts(bundle.model, tables, prompts, 40, 1.0, torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = completion_logprobs(bundle.model, tables.masks, rollouts, 1.0)
    torch.testing.assert_close(full, rollouts.logprobs, atol=1e-4, rtol=1e-4)
    assert bool(tables.masks[rollouts.states].gather(-1, rollouts.completions[..., None]).all())


def test_cmajor_reward_rises_within_a_few_iterations(tmp_path: Path) -> None:
    trainer = GrpoTrainer(toy_config(tmp_path, steps=8), bundle=PianoBundle.random("tiny"))
    trainer.train()
    rewards = [row["reward_mean"] for row in trainer.history]
    first, last = sum(rewards[:2]) / 2, sum(rewards[-2:]) / 2
    assert last > first + 0.15, rewards
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows] == list(range(1, 9))
    assert {"reward_mean", "reward_std", "kl", "clip_fraction", "tokens_per_s", "sampling_s", "update_s"} <= set(rows[0])
    assert (tmp_path / "reward_curve.png").stat().st_size > 1000
    exported = load_piano(tmp_path / "export")
    assert "GRPO" in (tmp_path / "export" / "README.md").read_text()
    torch.testing.assert_close(exported.model.lm_head.weight, trainer.policy.lm_head.weight.half().float())


def test_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = GrpoTrainer(toy_config(tmp_path / "whole", steps=4), bundle=PianoBundle.random("tiny"))
    whole.train()
    first = GrpoTrainer(toy_config(tmp_path / "split", steps=4, save_every=3), bundle=PianoBundle.random("tiny"))
    first.train(until=2)  # as if interrupted after iteration 2 (its state is saved then)
    resumed = GrpoTrainer(toy_config(tmp_path / "split", steps=4), bundle=PianoBundle.random("tiny"))
    assert resumed.iteration == 2
    resumed.train()
    assert [r["reward_mean"] for r in resumed.history] == [r["reward_mean"] for r in whole.history]
    torch.testing.assert_close(resumed.policy.state_dict(), whole.policy.state_dict(), rtol=0, atol=0)


def test_pace_reward_reads_the_real_continuations(mini_cache: Path, tmp_path: Path) -> None:
    config = toy_config(tmp_path, steps=1, reward="pace", prompts="split", cache_dir=mini_cache, prompt_tokens=16,
                        batch_size=2, group_size=4, max_new_tokens=96, eval_windows=2)
    trainer = GrpoTrainer(config, bundle=PianoBundle.random("tiny"))
    row = trainer.step()
    # without the references every completion would score exactly 1; a random model misses the real pace
    assert 0 < row["reward_mean"] < 1 and row["reward_std"] > 0


def test_command_line_runs_and_exports(tmp_path: Path) -> None:
    bundle = PianoBundle.random("tiny")
    base = save_piano(tmp_path / "base", bundle.model, bundle.tokenizer, "# tiny\n")
    run = tmp_path / "run"
    code = main(["train", "grpo", "--reward", "cmajor:1,density:0.5", "--prompts", "procedural", "--iterations", "2",
                 "--checkpoint", str(base), "--batch-size", "2", "--group-size", "2", "--max-new-tokens", "16",
                 "--threads", "1", "--run-dir", str(run), "--device", "cpu"])
    assert code == 0
    assert json.loads((run / "metrics.json").read_text())["iterations"] == 2
    assert (run / "export" / "model.safetensors").is_file()


def test_prompts_from_the_split_and_held_out_loss_in_the_card(mini_cache: Path, tmp_path: Path) -> None:
    config = toy_config(tmp_path, steps=1, prompts="split", cache_dir=mini_cache, prompt_tokens=16, batch_size=2,
                        group_size=2, max_new_tokens=16, eval_windows=2)
    trainer = GrpoTrainer(config, bundle=PianoBundle.random("tiny"))
    drawn = trainer.prompts.batch(3, "split", continuation_tokens=8)
    prompts = drawn.tokens
    assert drawn.source == "split" and prompts.shape == (3, 16)
    assert bool((prompts[:, 0] == trainer.prompts.bos).all()) and bool((prompts[:, 1] == trainer.prompts.bar).all())
    assert drawn.continuations is not None and all(0 < len(c) <= 8 for c in drawn.continuations)
    split = trainer.prompts.tokens
    for prompt, continuation in zip(prompts.tolist(), drawn.continuations, strict=True):
        passage = prompt[1:] + continuation  # what followed the prompt in its file
        assert any(split[start:start + len(passage)].tolist() == passage
                   for start in trainer.prompts.starts), "a continuation is not what followed its prompt"
    metrics = trainer.train()
    assert trainer.history[0]["prompts"] == "split"
    card = (tmp_path / "export" / "README.md").read_text()
    for split in ("validation", "test"):
        assert metrics[f"{split}_loss_base"] > 0 and metrics[f"{split}_loss_tuned"] > 0
        assert f"{split} loss, tuned (nats/token) | {metrics[f'{split}_loss_tuned']:.4f}" in card


def grammar_allows(tables: GrammarTables, tokens: torch.Tensor) -> bool:
    """Whether every token of every row is allowed where it stands, reading the rows from the start."""
    grammar = BatchGrammar(tables, tokens.shape[0])
    for column in tokens.T:
        if not bool(grammar.allowed().gather(1, column[:, None]).all()):
            return False
        grammar.advance(column)
    return True


def test_completions_after_a_window_follow_the_grammar_of_the_whole_piece() -> None:
    bundle = PianoBundle.random("tiny")
    tables = GrammarTables(TokenTable.from_tokenizer(bundle.tokenizer))
    prompts = PromptMaker(bundle.tokenizer, seed=1).procedural(3)
    piece = sample_rollouts(bundle.model, tables, prompts, 60, 1.0, torch.Generator().manual_seed(0)).sequences
    grammar = BatchGrammar(tables, 3)
    grammar.advance_many(piece)
    window = piece[:, -20:]
    rollouts = sample_rollouts(bundle.model, tables, window, 40, 1.0, torch.Generator().manual_seed(1),
                               grammar.states)
    assert grammar_allows(tables, torch.cat([piece, rollouts.completions], dim=1))
    with torch.no_grad():
        full = completion_logprobs(bundle.model, tables.masks, rollouts, 1.0)
    torch.testing.assert_close(full, rollouts.logprobs, atol=1e-4, rtol=1e-4)
    from_start = BatchGrammar(tables, 3)
    from_start.advance_many(prompts)
    given = sample_rollouts(bundle.model, tables, prompts, 40, 1.0, torch.Generator().manual_seed(2), from_start.states)
    read = sample_rollouts(bundle.model, tables, prompts, 40, 1.0, torch.Generator().manual_seed(2))
    assert torch.equal(given.completions, read.completions)


def test_a_split_step_scores_the_pace_against_the_real_continuation(mini_cache: Path, tmp_path: Path) -> None:
    config = toy_config(tmp_path, steps=1, reward="pace", prompts="split", cache_dir=mini_cache, prompt_tokens=16,
                        batch_size=2, group_size=4, max_new_tokens=96, eval_windows=2)
    trainer = GrpoTrainer(config, bundle=PianoBundle.random("tiny"))
    drawn = trainer.prompts.batch(2, "split", continuation_tokens=8)
    references = trainer._references(drawn)  # continuations of 8 tokens are shorter than 96: none
    assert references is not None and all(reference is None for reference in references)
    row = trainer.step()
    # without a reference every completion would score exactly 1; a random model misses the real pace
    assert 0 < row["reward_mean"] < 1 and row["reward_std"] > 0
