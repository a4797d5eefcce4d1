"""The lean single-token decode step: what `Phi3.forward` does for one new token per stream, in about a
fifth of its operations.

A token of the default model ran about 300 tensor operations through the modules (views, casts, masks,
rotations done twice, `cat`s); this step runs about 80, straight from the weights, for B streams at once:

- one embedding lookup; per layer one `rms_norm`, one QKV matmul, the query and key rotated together
  in place (4 operations, the same arithmetic as `Rotary.rotate`, so the rotated keys it caches are
  bit for bit those a roll or a rewind recomputes), three writes into the cache, one single-query
  `scaled_dot_product_attention` over the valid slots with no mask (grouped-query heads as extra
  queries, no repeated keys), the output projection added into the residual in place (`addmm_`),
  one `rms_norm`, one gate-up matmul, `silu_` and `mul_` in place, the down projection added in place;
- int8 blocks (`torch.ao` dynamic quantized linears, as `int8_blocks` makes them) call the quantized
  kernel directly with the same arguments as the module, without the module's Python around it.

The fused QKV and gate-up weights are the checkpoint's own (`qkv_proj`, `gate_up_proj`: Phi-3's names).
The step reads the weights themselves (or the transposed copies of `freeze_for_inference`) at every call,
so it never goes stale under training; only the list of modules is kept (`_plan`, rebuilt when the
blocks are replaced, as `int8_blocks` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from encore.models.piano.kv_cache import KVCache
from encore.models.piano.phi3 import Phi3


@dataclass(frozen=True)
class Workspace:
    """Per-cache tables of the lean step: cos and the signed sin of every slot (the second half of
    `rotate_half`'s sin negated into the first) and the permutation that swaps a head's rotated halves,
    so a rotation is `x * cos + x[..., swap] * sin_signed`."""

    cos: torch.Tensor
    sin_signed: torch.Tensor
    swap: torch.Tensor


def lean_supported(model: Phi3, cache: KVCache) -> bool:
    """Whether the lean step applies: float32/float64 weights on the CPU, outside autograd."""
    weight = model.lm_head.weight
    return (weight.device.type == "cpu" and weight.dtype in (torch.float32, torch.float64)
            and cache.k_rot[0].dtype == weight.dtype and not torch.is_grad_enabled())


def workspace(model: Phi3, cache: KVCache) -> Workspace:
    """The cache's lean-step tables, made at its first lean step."""
    space = cache.workspace
    if not isinstance(space, Workspace):
        table = model.rotary.table[:, : cache.max_length].to(cache.k_rot[0].dtype)
        half = table.shape[-1] // 2
        sin = table[1].clone()
        sin[:, :half].neg_()
        swap = torch.arange(2 * half).roll(half)
        space = cache.workspace = Workspace(table[0].contiguous(), sin, swap)
    return space


_INT8_LINEAR = getattr(torch.ops.quantized.linear_dynamic.default, "_op",
                       torch.ops.quantized.linear_dynamic.default)
"""The dynamic int8 linear kernel itself (its Python wrapper costs about 20 Python calls per use)."""


class _Linear:
    """One projection, fp32 or int8, called the cheapest way its kind allows."""

    __slots__ = ("module", "packed", "reduce_range")

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        packed = getattr(module, "_packed_params", None)
        if packed is not None and packed.dtype != torch.qint8:
            raise TypeError(f"the lean step has no kernel for {packed.dtype} weights")
        self.packed = None if packed is None else packed._packed_params
        self.reduce_range = (getattr(module, "version", None) or 0) >= 4

    def weight_t(self) -> torch.Tensor:
        """The (in, out) weight of a float layer: the frozen copy, else a view of the live weight."""
        frozen = self.module.__dict__.get("weight_t")
        return frozen if frozen is not None else self.module.weight.t()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None:
            return _INT8_LINEAR(x, self.packed, self.reduce_range)
        return torch.mm(x, self.weight_t())

    def add_into(self, residual: torch.Tensor, x: torch.Tensor) -> None:
        """`residual += self(x)` in place."""
        if self.packed is not None:
            residual.add_(_INT8_LINEAR(x, self.packed, self.reduce_range))
        else:
            residual.addmm_(x, self.weight_t())


@dataclass(frozen=True)
class _Layer:
    norm_1: torch.Tensor
    qkv: _Linear
    out: _Linear
    norm_2: torch.Tensor
    gate_up: _Linear
    down: _Linear


@dataclass(frozen=True)
class _Plan:
    blocks: nn.ModuleList
    embed: torch.Tensor
    layers: tuple[_Layer, ...]
    norm: torch.Tensor
    head: _Linear


def _plan(model: Phi3) -> _Plan:
    """The model's modules in the order the step uses them (kept on the model while its blocks stay)."""
    plan = model.__dict__.get("_lean_plan")
    blocks = model.model.layers
    if plan is None or plan.blocks is not blocks:
        layers = tuple(
            _Layer(block.input_layernorm.weight, _Linear(block.self_attn.qkv_proj), _Linear(block.self_attn.o_proj),
                   block.post_attention_layernorm.weight, _Linear(block.mlp.gate_up_proj), _Linear(block.mlp.down_proj))
            for block in blocks)
        plan = _Plan(blocks, model.model.embed_tokens.weight, layers, model.model.norm.weight, _Linear(model.lm_head))
        model.__dict__["_lean_plan"] = plan
    return plan


def lean_decode_step(model: Phi3, tokens: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Feed one token per stream (B,) into `cache`; return the next-token logits (B, vocab), a new tensor.

    Equal to `model(tokens[:, None], cache.reserve(1), cache)[:, 0]` within float rounding (tested to 1e-4),
    with the same cache contents (the rotated keys bit for bit where the unrotated ones are).
    """
    config = model.config
    batch = tokens.shape[0]
    heads, kv_heads, head_dim = config.num_heads, config.num_kv_heads, config.hidden_size // config.num_heads
    q_size, kv_size = heads * head_dim, kv_heads * head_dim
    qk_size, eps, hidden = q_size + kv_size, config.rms_norm_eps, (config.hidden_size,)
    plan, space = _plan(model), workspace(model, cache)
    slot = cache.reserve(1).start
    length = cache.length
    cos, sin_signed, swap = space.cos[slot], space.sin_signed[slot], space.swap
    rotary = swap.shape[0]
    x = plan.embed.index_select(0, tokens)
    for index, layer in enumerate(plan.layers):
        qk, v = layer.qkv(torch.rms_norm(x, hidden, layer.norm_1, eps)).split_with_sizes([qk_size, kv_size], dim=-1)
        qk = qk.view(batch, heads + kv_heads, head_dim)
        q, k = qk.split_with_sizes([heads, kv_heads], dim=1)
        cache.k_raw[index].select(2, slot).copy_(k)
        turning = qk if rotary == head_dim else qk[..., :rotary]
        turned = turning.index_select(-1, swap).mul_(sin_signed)
        turning.mul_(cos).add_(turned)
        cache.k_rot[index].select(2, slot).copy_(k)
        cache.v[index].select(2, slot).copy_(v.view(batch, kv_heads, head_dim))
        attended = F.scaled_dot_product_attention(
            q.view(batch, kv_heads, heads // kv_heads, head_dim),
            cache.k_rot[index].narrow(2, 0, length), cache.v[index].narrow(2, 0, length))
        layer.out.add_into(x, attended.view(batch, q_size))
        gate, up = layer.gate_up(torch.rms_norm(x, hidden, layer.norm_2, eps)).chunk(2, dim=-1)
        layer.down.add_into(x, F.silu(gate, inplace=True).mul_(up))
    return torch.mm(torch.rms_norm(x, hidden, plan.norm, eps), plan.head.weight_t())
