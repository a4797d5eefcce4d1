"""Batched, KV-cached, grammar-masked sampling that records what GRPO needs: the sampled tokens, the
grammar state before each (to rebuild its mask in the update) and each token's log-probability.

Log-probabilities are of the masked distribution at the sampling temperature with no top-p or min-p,
so the update's importance ratio compares like with like (`completion_logprobs`).
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


def masked_logprobs(logits: torch.Tensor, allowed: torch.Tensor, temperature: float) -> torch.Tensor:
    """Log-softmax of `logits / temperature` over the allowed tokens (forbidden ones are -inf)."""
    return F.log_softmax(logits.float().masked_fill(~allowed, float("-inf")) / temperature, dim=-1)


@torch.no_grad()
def sample_rollouts(model: Phi3, tables: GrammarTables, prompts: torch.Tensor, max_new_tokens: int,
                    temperature: float, generator: torch.Generator,
                    states: torch.Tensor | None = None) -> Rollouts:
    """Sample `max_new_tokens` after each prompt, all rows at once through one KV cache.

    `states`: the grammar state after each prompt, where the prompt is a window of a longer piece whose
    grammar was followed elsewhere; by default the grammar reads the prompts from the start.

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
