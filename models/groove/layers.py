"""Building blocks of the groove VAEs: Gaussian heads, LSTM and MLP encoders, and decoders.

Encoders map (batch, steps, channels) to a diagonal Gaussian posterior. The main decoder is
autoregressive, as in Magenta's GrooVAE: at each step it sees the previous step's hits, velocities and
offsets plus the latent, and predicts hit logits, velocities (sigmoid) and offsets (tanh). Training uses
teacher forcing over the whole window (`forward`); generation runs one step at a time (`generate`),
optionally with the hits forced (humanize keeps the score's hits) or masked (a drum not to play).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Posterior:
    """A diagonal Gaussian over one latent: mean and log-variance, each (batch, size)."""

    mean: torch.Tensor
    log_var: torch.Tensor

    def sample(self, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterized sample with the standard deviation scaled by `temperature`."""
        noise = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype, device=self.mean.device)
        return self.mean + temperature * torch.exp(0.5 * self.log_var) * noise

    def kl(self) -> torch.Tensor:
        """KL divergence to N(0, I) in nats, per example: (batch,)."""
        return 0.5 * (self.mean**2 + self.log_var.exp() - 1.0 - self.log_var).sum(dim=-1)


class GaussianHead(nn.Module):
    """Linear map from features to a posterior; the log-variance is clamped for stability."""

    def __init__(self, features: int, size: int) -> None:
        super().__init__()
        self.mean = nn.Linear(features, size)
        self.log_var = nn.Linear(features, size)

    def forward(self, features: torch.Tensor) -> Posterior:
        return Posterior(self.mean(features), self.log_var(features).clamp(-12.0, 6.0))


class LstmEncoder(nn.Module):
    """Bidirectional LSTM over the window; the two final states give the posterior. `dropout` applies to
    its inputs in training."""

    def __init__(self, channels: int, hidden: int, size: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(channels, hidden, batch_first=True, bidirectional=True)
        self.head = GaussianHead(2 * hidden, size)

    def forward(self, inputs: torch.Tensor) -> Posterior:
        _, (state, _) = self.lstm(self.dropout(inputs))
        return self.head(torch.cat([state[0], state[1]], dim=-1))


class MlpEncoder(nn.Module):
    """Two-layer MLP over the flattened window."""

    def __init__(self, channels: int, steps: int, hidden: int, size: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(channels * steps, hidden), nn.GELU())
        self.head = GaussianHead(hidden, size)

    def forward(self, inputs: torch.Tensor) -> Posterior:
        return self.head(self.body(inputs))


class LstmSequenceDecoder(nn.Module):
    """Non-autoregressive auxiliary decoder: an LSTM fed the latent and the step position."""

    def __init__(self, size: int, steps: int, hidden: int, channels: int) -> None:
        super().__init__()
        self.steps = steps
        self.register_buffer("positions", torch.eye(steps), persistent=False)
        self.lstm = nn.LSTM(size + steps, hidden, batch_first=True)
        self.out = nn.Linear(hidden, channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch = z.shape[0]
        inputs = torch.cat([z[:, None, :].expand(batch, self.steps, -1), self.positions.expand(batch, -1, -1)], -1)
        output, _ = self.lstm(inputs)
        return self.out(output)


class MlpSequenceDecoder(nn.Module):
    """Auxiliary decoder of the 11-input model: a two-layer MLP to (batch, steps, channels)."""

    def __init__(self, size: int, steps: int, hidden: int, channels: int) -> None:
        super().__init__()
        self.shape = (steps, channels)
        self.body = nn.Sequential(nn.Linear(size, hidden), nn.GELU(), nn.Linear(hidden, steps * channels))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(z.shape[0], *self.shape)


@dataclass
class DecodedLoop:
    """Main-decoder output, each (batch, steps, drums): hit logits, velocities in [0, 1], offsets in [-1, 1].

    `hits` (0/1) is set by `AutoregressiveDecoder.generate`: the hits actually played.
    """

    hit_logits: torch.Tensor
    velocities: torch.Tensor
    offsets: torch.Tensor
    hits: torch.Tensor | None = None


class AutoregressiveDecoder(nn.Module):
    """LSTM decoder of a full loop, conditioned on the latent at every step and through its first state.

    `dropout` applies in training to the inputs of every LSTM layer (previous step and latent for the
    first), as Magenta's input dropout does; generation runs in eval mode without it.
    """

    def __init__(self, size: int, hidden: int, layers: int, drums: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.drums = drums
        self.layers = layers
        self.hidden = hidden
        self.initial = nn.Linear(size, 2 * layers * hidden)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(3 * drums + size, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.out = nn.Linear(hidden, 3 * drums)

    def _state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        state = torch.tanh(self.initial(z)).view(z.shape[0], 2, self.layers, self.hidden).permute(1, 2, 0, 3)
        return state[0].contiguous(), state[1].contiguous()

    def _split(self, output: torch.Tensor) -> DecodedLoop:
        logits, velocity, offset = self.out(output).split(self.drums, dim=-1)
        return DecodedLoop(logits, torch.sigmoid(velocity), torch.tanh(offset))

    def forward(self, z: torch.Tensor, target: torch.Tensor) -> DecodedLoop:
        """Teacher-forced pass; `target` is (batch, steps, 3 * drums) of hits, velocities and offsets."""
        previous = torch.cat([torch.zeros_like(target[:, :1]), target[:, :-1]], dim=1)
        inputs = torch.cat([previous, z[:, None, :].expand(-1, target.shape[1], -1)], dim=-1)
        output, _ = self.lstm(self.dropout(inputs), self._state(z))
        return self._split(output)

    @torch.no_grad()
    def generate(
        self,
        z: torch.Tensor,
        steps: int,
        forced_hits: torch.Tensor | None = None,
        allowed: torch.Tensor | None = None,
    ) -> DecodedLoop:
        """Decode step by step, feeding back thresholded hits.

        Args:
            z: (batch, size) latent.
            steps: window length.
            forced_hits: optional (batch, steps, drums) hits to play instead of the predicted ones.
            allowed: optional 0/1 mask, (batch, drums) or per step (batch, steps, drums); a drum is never
                played where it is 0 (the mask also applies to forced hits and to what is fed back).

        Returns:
            The decoded loop with `hits` set; `hit_logits` holds the predicted logits even where hits were
            forced.
        """
        state = self._state(z)
        if allowed is not None and allowed.dim() == 2:
            allowed = allowed[:, None, :].expand(-1, steps, -1)
        previous = torch.zeros(z.shape[0], 1, 3 * self.drums, dtype=z.dtype, device=z.device)
        logits, velocities, offsets, played = [], [], [], []
        for step in range(steps):
            output, state = self.lstm(torch.cat([previous, z[:, None, :]], dim=-1), state)
            decoded = self._split(output)
            hits = forced_hits[:, step : step + 1] if forced_hits is not None else (decoded.hit_logits > 0).to(z.dtype)
            if allowed is not None:
                hits = hits * allowed[:, step : step + 1]
            played.append(hits)
            logits.append(decoded.hit_logits)
            velocities.append(decoded.velocities)
            offsets.append(decoded.offsets)
            previous = torch.cat([hits, decoded.velocities * hits, decoded.offsets * hits], dim=-1)
        return DecodedLoop(torch.cat(logits, 1), torch.cat(velocities, 1), torch.cat(offsets, 1), torch.cat(played, 1))
