"""The piano transformer: the Phi-3 architecture in plain torch.

RMSNorm, rotary position embeddings, fused QKV projection, gated SiLU MLP, no biases. Weight names
match Hugging Face's `Phi3ForCausalLM`, so its checkpoints load directly (see `hf_phi3.py`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from encore.models.piano.kv_cache import KVCache, Positions


@dataclass
class Phi3Config:
    """Shape of a Phi-3 model. Presets: `Phi3Config.from_name("default" | "tiny")`."""

    vocab_size: int = 376
    hidden_size: int = 512
    num_layers: int = 4
    num_heads: int = 8
    num_kv_heads: int | None = None
    intermediate_size: int = 1536
    context_length: int = 512
    rope_theta: float = 10000.0
    partial_rotary_factor: float = 1.0
    rms_norm_eps: float = 1e-5
    tie_word_embeddings: bool = False

    def __post_init__(self) -> None:
        if self.num_kv_heads is None:
            self.num_kv_heads = self.num_heads
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError("hidden_size must divide into heads, and heads into kv heads")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_heads

    @property
    def rotary_dim(self) -> int:
        """How many leading dimensions of each head are rotated."""
        return int(self.head_dim * self.partial_rotary_factor)

    @classmethod
    def from_name(cls, name: str, **overrides) -> Phi3Config:
        """A named preset, with optional field overrides."""
        return cls(**{**PRESETS[name], **overrides})

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)


PRESETS: dict[str, dict] = {
    "default": {},
    "tiny": {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "intermediate_size": 128, "context_length": 128},
}


class RMSNorm(nn.Module):
    """Root-mean-square layer norm with a learned scale, computed in float32."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rotary_table(dim: int, theta: float, max_positions: int) -> torch.Tensor:
    """cos and sin tables stacked (2, max_positions, dim) for rotary embeddings, computed in float64.

    Row p depends only on p, so a longer table starts with exactly the values of a shorter one.
    """
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    angles = torch.outer(torch.arange(max_positions, dtype=torch.float64), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)
    return torch.stack([angles.cos(), angles.sin()]).float()


_EXTEND_LOCK = threading.Lock()
"""Serializes table growth (a lock on the module itself would stop `copy.deepcopy` of the model)."""


class Rotary(nn.Module):
    """Rotary position embedding tables (`rotate_half` layout, as in Hugging Face).

    The cos and sin tables live in one float32 buffer, `table` (2, max_positions, rotary_dim), which
    only ever grows and is swapped in one assignment: a thread decoding while another allocates a
    longer cache reads either the old or the new table, and both hold the same values at its positions.
    """

    def __init__(self, config: Phi3Config, max_positions: int) -> None:
        super().__init__()
        self.dim = config.rotary_dim
        self.theta = config.rope_theta
        self.register_buffer("table", rotary_table(self.dim, self.theta, max_positions), persistent=False)

    @property
    def max_positions(self) -> int:
        """How many positions the table covers."""
        return self.table.shape[1]

    def extend(self, max_positions: int) -> None:
        """Grow the table to cover `max_positions` positions (never shrinks it)."""
        with _EXTEND_LOCK:
            table = self.table
            if max_positions > table.shape[1]:
                self.table = rotary_table(self.dim, self.theta, max_positions).to(table.device)

    def refresh(self) -> None:
        """Recompute the table in float32 on its device (after `.to(bfloat16)` has rounded it)."""
        with _EXTEND_LOCK:
            self.table = rotary_table(self.dim, self.theta, self.max_positions).to(self.table.device)

    def rotate(self, x: torch.Tensor, positions: Positions) -> torch.Tensor:
        """Rotate `x` (..., T, head_dim) at `positions`: a (T,) index tensor or a slice of positions."""
        table = self.table  # read once: `extend` may swap in a longer table meanwhile
        cos = table[0, positions].to(x.dtype)
        sin = table[1, positions].to(x.dtype)
        rotated, passed = x[..., : self.dim], x[..., self.dim :]
        half = self.dim // 2
        turned = torch.cat([-rotated[..., half:], rotated[..., :half]], dim=-1)
        out = rotated * cos + turned * sin
        return torch.cat([out, passed], dim=-1) if passed.shape[-1] else out


def project(linear: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`linear(x)`, or `x @ weight_t` when the layer was frozen for inference (a faster GEMV on CPU)."""
    weight_t = getattr(linear, "weight_t", None)
    if weight_t is None or torch.is_grad_enabled():
        return linear(x)
    return x @ weight_t


class Attention(nn.Module):
    """Causal self-attention with a fused QKV projection and an optional KV cache."""

    def __init__(self, config: Phi3Config) -> None:
        super().__init__()
        self.config = config
        head_dim = config.head_dim
        self.q_size = config.num_heads * head_dim
        self.kv_size = config.num_kv_heads * head_dim
        self.qkv_proj = nn.Linear(config.hidden_size, self.q_size + 2 * self.kv_size, bias=False)
        self.o_proj = nn.Linear(self.q_size, config.hidden_size, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        positions: Positions,
        rotary: Rotary,
        cache: KVCache | None,
        layer: int,
    ) -> torch.Tensor:
        batch, length, _ = x.shape
        config = self.config
        q, k, v = project(self.qkv_proj, x).split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = q.view(batch, length, config.num_heads, config.head_dim).transpose(1, 2)
        k = k.view(batch, length, config.num_kv_heads, config.head_dim).transpose(1, 2)
        v = v.view(batch, length, config.num_kv_heads, config.head_dim).transpose(1, 2)
        q = rotary.rotate(q, positions)
        if cache is None:
            k_rot = rotary.rotate(k, positions)
            mask, causal = None, True
        else:
            k_rot, v = cache.update(layer, k, rotary.rotate(k, positions), v)
            mask, causal = cache.attention_mask(length), False
        if config.num_kv_heads != config.num_heads:
            repeat = config.num_heads // config.num_kv_heads
            k_rot, v = k_rot.repeat_interleave(repeat, dim=1), v.repeat_interleave(repeat, dim=1)
        out = F.scaled_dot_product_attention(q, k_rot, v, attn_mask=mask, is_causal=causal and length > 1)
        return project(self.o_proj, out.transpose(1, 2).reshape(batch, length, self.q_size))


class MLP(nn.Module):
    """Gated SiLU feed-forward block with a fused gate/up projection."""

    def __init__(self, config: Phi3Config) -> None:
        super().__init__()
        self.gate_up_proj = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = project(self.gate_up_proj, x).chunk(2, dim=-1)
        return project(self.down_proj, up * F.silu(gate))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, config: Phi3Config) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, positions, rotary, cache, layer):
        x = x + self.self_attn(self.input_layernorm(x), positions, rotary, cache, layer)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    """Embeddings, blocks and final norm (named `model` in the checkpoint, as in Hugging Face)."""

    def __init__(self, config: Phi3Config) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class Phi3(nn.Module):
    """Phi-3 causal language model over REMI+ tokens."""

    def __init__(self, config: Phi3Config) -> None:
        super().__init__()
        self.config = config
        self.model = Backbone(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.rotary = Rotary(config, config.context_length)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def setup_cache(self, batch_size: int, max_length: int | None = None, sink_tokens: int = 4) -> KVCache:
        """A new static KV cache for `batch_size` streams, in the weights' dtype and device.

        The model keeps no reference to it: whoever decodes owns the cache and passes it to
        `forward` (or `prefill`, `decode_step`), so streams sharing one model never share a cache.
        The rotary table grows here if `max_length` exceeds it, never during a forward pass.
        """
        config = self.config
        max_length = max_length or config.context_length
        self.rotary.extend(max_length)
        weight = self.lm_head.weight
        return KVCache(
            num_layers=config.num_layers,
            batch_size=batch_size,
            num_heads=config.num_kv_heads,
            head_dim=config.head_dim,
            max_length=max_length,
            sink_tokens=sink_tokens,
            rotary=self.rotary,
            dtype=weight.dtype,
            device=weight.device,
        )

    def forward(self, tokens: torch.Tensor, positions: Positions | None = None,
                cache: KVCache | None = None) -> torch.Tensor:
        """Logits (B, T, vocab) for `tokens` (B, T).

        Without a cache, `positions` default to 0..T-1 (training, full recompute). With a `cache`,
        `positions` are required: the slots that `cache.reserve(T)` returned.
        """
        if positions is None:
            if cache is not None:
                raise ValueError("a cached forward needs the positions from cache.reserve()")
            positions = slice(0, tokens.shape[1])
        x = self.model.embed_tokens(tokens)
        for index, block in enumerate(self.model.layers):
            x = block(x, positions, self.rotary, cache, index)
        return project(self.lm_head, self.model.norm(x))

    def freeze_for_inference(self) -> Phi3:
        """Keep a transposed copy of every float Linear weight for grad-free decoding; returns self.

        Call it after the last `.to()`; training (grad enabled) always uses the weights themselves.
        """
        for module in self.modules():
            if type(module) is nn.Linear:
                module.weight_t = module.weight.detach().t().contiguous()
        return self
