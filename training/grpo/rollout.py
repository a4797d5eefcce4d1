"""Batched, KV-cached, grammar-masked sampling that records what GRPO needs: the sampled tokens, the
grammar state before each (to rebuild its mask in the update) and each token's log-probability.

Log-probabilities are of the masked distribution at the sampling temperature with no top-p or min-p,
so the update's importance ratio compares like with like (`completion_logprobs`).

`roll_in` plays on from prompts through a rolling cache, as a long entry does, and gives the window that
cache holds at the end (`RolledIn.window`): GRPO prompts from deep inside the policy's own music.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from encore.models.piano.decoding import decode_step, prefill
from encore.models.piano.grammar import BatchGrammar, GrammarTables
from encore.models.piano.phi3 import Phi3
from encore.models.piano.sampling import sample_next
from encore.models.sampling_config import SamplingConfig


@dataclass
class Rollouts:
    """N sampled completions of N prompts (all prompts of one length L, all completions of length T).

    Attributes:
        prompts: (N, L) token ids.
        completions: (N, T) token ids.
        states: (N, T) grammar state before each completion token.
        logprobs: (N, T) log-probability of each completion token when it was sampled.
    """

    prompts: torch.Tensor
    completions: torch.Tensor
    states: torch.Tensor
    logprobs: torch.Tensor

    @property
    def sequences(self) -> torch.Tensor:
        """(N, L + T) prompts followed by completions."""
        return torch.cat([self.prompts, self.completions], dim=1)

    def select(self, rows: slice) -> Rollouts:
        """A slice of the batch."""
        return Rollouts(self.prompts[rows], self.completions[rows], self.states[rows], self.logprobs[rows])


@dataclass
class RolledIn:
    """Prompts played on by the policy (`roll_in`).

    Attributes:
        tokens: (N, L + R) the prompts and the R tokens played after them.
        states: (N,) grammar state after the last token.
        sink_tokens: the rolling cache's attention sink (kept first tokens).
    """

    tokens: torch.Tensor
    states: torch.Tensor
    sink_tokens: int

    def window(self, length: int) -> torch.Tensor:
        """(N, length): the sink and the last `length - sink` tokens, the newest part of what a rolling
        cache holds after them.

        Raises:
            ValueError: `length` does not exceed the sink.
        """
        if length <= self.sink_tokens:
            raise ValueError(f"a window of {length} tokens does not exceed the {self.sink_tokens}-token sink")
        if length >= self.tokens.shape[1]:
            return self.tokens.clone()
        return torch.cat([self.tokens[:, :self.sink_tokens], self.tokens[:, -(length - self.sink_tokens):]], dim=1)


def masked_logprobs(logits: torch.Tensor, allowed: torch.Tensor, temperature: float) -> torch.Tensor:
    """Log-softmax of `logits / temperature` over the allowed tokens (forbidden ones are -inf)."""
    return F.log_softmax(logits.float().masked_fill(~allowed, float("-inf")) / temperature, dim=-1)


@torch.no_grad()
def roll_in(model: Phi3, tables: GrammarTables, prompts: torch.Tensor, tokens: int, temperature: float,
            generator: torch.Generator) -> RolledIn:
    """Play `tokens` tokens after each prompt, all rows at once, through a rolling cache of the model's
    context (as `encore generate` plays an entry), recording only the tokens and the grammar states."""
    count = prompts.shape[0]
    device = model.lm_head.weight.device
    prompts = prompts.to(device)
    grammar = BatchGrammar(tables, count, device)
    grammar.advance_many(prompts)
    cache = model.setup_cache(count)
    logits = prefill(model, prompts, cache)
    sampling = SamplingConfig(temperature=temperature, top_p=1.0)
    played = torch.empty(count, tokens, dtype=torch.long, device=device)
    for step in range(tokens):
        token = sample_next(logits, sampling, generator, grammar.allowed())
        played[:, step] = token
        grammar.advance(token)
        if step + 1 < tokens:
            logits = decode_step(model, token, cache)
    return RolledIn(torch.cat([prompts, played], dim=1), grammar.states.clone(), cache.sink_tokens)


@torch.no_grad()
def sample_rollouts(model: Phi3, tables: GrammarTables, prompts: torch.Tensor, max_new_tokens: int,
                    temperature: float, generator: torch.Generator,
                    states: torch.Tensor | None = None) -> Rollouts:
    """Sample `max_new_tokens` after each prompt, all rows at once through one KV cache.

    `states`: the grammar state after each prompt, where the prompt is a window of a longer piece
    (`RolledIn.window`); by default the grammar reads the prompts from the start.

    Raises:
        ValueError: prompt and completion do not fit the model's context (the cache would roll).
    """
    count, length = prompts.shape
    total = length + max_new_tokens
    if total > model.config.context_length:
        raise ValueError(f"prompt {length} + {max_new_tokens} new tokens exceed the context "
                         f"{model.config.context_length}")
    device = model.lm_head.weight.device
    prompts = prompts.to(device)
    grammar = BatchGrammar(tables, count, device)
    if states is not None:
        grammar.states = states.to(device).clone()
    else:
        grammar.advance_many(prompts)
    cache = model.setup_cache(count, max_length=total)
    logits = prefill(model, prompts, cache)
    sampling = SamplingConfig(temperature=temperature, top_p=1.0)
    completions = torch.empty(count, max_new_tokens, dtype=torch.long, device=device)
    states = torch.empty_like(completions)
    logprobs = torch.empty(count, max_new_tokens, device=device)
    for step in range(max_new_tokens):
        allowed = grammar.allowed()
        token = sample_next(logits, sampling, generator, allowed)
        states[:, step] = grammar.states
        completions[:, step] = token
        logprobs[:, step] = masked_logprobs(logits, allowed, temperature).gather(1, token[:, None])[:, 0]
        grammar.advance(token)
        if step + 1 < max_new_tokens:
            logits = decode_step(model, token, cache)
    return Rollouts(prompts.clone(), completions, states, logprobs)


def completion_logprobs(model: torch.nn.Module, masks: torch.Tensor, rollouts: Rollouts,
                        temperature: float) -> torch.Tensor:
    """(N, T) log-probabilities of the completion tokens under `model` (full forward, grad as the caller sets).

    `masks` are the grammar's per-state masks (`GrammarTables.masks` on the model's device).
    """
    sequences = rollouts.sequences
    start = rollouts.prompts.shape[1] - 1
    logits = model(sequences[:, :-1])[:, start:]
    allowed = masks[rollouts.states]
    return masked_logprobs(logits, allowed, temperature).gather(-1, rollouts.completions[..., None])[..., 0]
