"""Temporal-difference (TD) operator shells: TDSoftmax, TDLayerNorm, TDGELU, TDLinear,
TDScaledDotProductAttention and TDMultiheadAttention; the maths is in :mod:`fnsnn.td`.

``step_mode='m'`` (the default) treats every call as one complete ``[T, ...]``
sequence: outputs never depend on earlier calls, so no ``reset`` is needed
between sequences. The running sums at the end of the sequence are left in the
memories, so a module switched to ``step_mode='s'`` continues that sequence one
step at a time; in ``'s'`` mode the sums carry over between calls until
``reset()`` / ``functional.reset_net``.

Each shell can be built from its ANN counterpart with ``from_ann`` (parameters
are copied, the ANN module is not touched).
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from fnsnn import td as core
from fnsnn._checks import check_bool, check_number
from fnsnn.td.gelu import check_approximate
from fnsnn.td.layer_norm import normalize_shape

from .base import MemoryModule

__all__ = ["TDModule", "TDSoftmax", "TDLayerNorm", "TDGELU", "TDLinear", "TDScaledDotProductAttention",
           "TDMultiheadAttention"]


def _copy_parameters(src: nn.Module, dst: nn.Module) -> nn.Module:
    """Copy every parameter of ``src`` into ``dst`` (same names), keep ``requires_grad`` and train/eval mode."""
    source = dict(src.named_parameters())
    with torch.no_grad():
        for name, p in dst.named_parameters():
            p.copy_(source[name])
            p.requires_grad_(source[name].requires_grad)
    dst.train(src.training)
    return dst


def _factory(module: nn.Module) -> Dict[str, object]:
    p = next(module.parameters(), None)
    return {} if p is None else {"device": p.device, "dtype": p.dtype}


class TDModule(MemoryModule):
    """Base of the TD shells: memories hold running sums; ``step_mode`` defaults to ``'m'``."""

    memory_names: Tuple[str, ...] = ("x_cum", "y_cum")

    def __init__(self, step_mode: str = "m"):
        super().__init__()
        for name in self.memory_names:
            self.register_memory(name, 0.0)
        self.step_mode = step_mode

    def _stored_state(self, state_type):
        """The core state from the memories, or ``None`` at rest."""
        values = [getattr(self, n) for n in self.memory_names]
        if all(isinstance(v, torch.Tensor) for v in values):
            return state_type(*values)
        return None

    def _store(self, state) -> None:
        for name, value in zip(self.memory_names, state):
            setattr(self, name, value)


class _UnaryTD(TDModule):
    """A one-input TD shell: subclasses give the core functions and their keywords."""

    def _core_kwargs(self, single_step: bool) -> dict:
        raise TypeError(f"{type(self).__name__} must define _core_kwargs.")

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        y, state = self._step_fn(x, self._stored_state(core.TDState), **self._core_kwargs(True))
        self._store(state)
        return y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        y_seq, state = self._multi_fn(x_seq, None, **self._core_kwargs(False))
        self._store(state)
        return y_seq


class TDSoftmax(_UnaryTD):
    """TD Softmax; see :func:`fnsnn.td.td_softmax`.

    Args:
        dim: softmax dimension of the ``[T, ...]`` input; must not resolve to 0 (time).
            In ``'s'`` mode a non-negative ``dim`` names the same axis, one lower in the step input.
        step_mode: ``'m'`` (default) or ``'s'``.
    """

    _step_fn = staticmethod(core.td_softmax_step)
    _multi_fn = staticmethod(core.td_softmax_multi_step)

    def __init__(self, dim: int = -1, step_mode: str = "m"):
        if isinstance(dim, bool) or not isinstance(dim, Integral):
            raise TypeError(f"TDSoftmax: `dim` must be an int, got {type(dim).__name__} {dim!r}.")
        super().__init__(step_mode)
        self.dim = int(dim)

    def _core_kwargs(self, single_step: bool) -> dict:
        if single_step and self.dim >= 0:
            if self.dim == 0:
                raise ValueError("TDSoftmax: softmax `dim`=0 is the time dimension of the [T, ...] layout; "
                                 "pick a feature dimension such as -1.")
            return {"dim": self.dim - 1}
        return {"dim": self.dim}

    @classmethod
    def from_ann(cls, module: nn.Softmax, step_mode: str = "m") -> "TDSoftmax":
        """The TD counterpart of ``nn.Softmax(dim)`` (``dim=None`` is rejected)."""
        if not isinstance(module, nn.Softmax):
            raise TypeError(f"TDSoftmax.from_ann: expected an nn.Softmax, got {type(module).__name__}.")
        if module.dim is None:
            raise ValueError("TDSoftmax.from_ann: nn.Softmax(dim=None) has an implicit dim; give it an explicit one.")
        return cls(module.dim, step_mode=step_mode).train(module.training)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class TDGELU(_UnaryTD):
    """TD GELU; see :func:`fnsnn.td.td_gelu`.

    Args:
        approximate: ``'none'`` or ``'tanh'``, as :class:`torch.nn.GELU`.
        step_mode: ``'m'`` (default) or ``'s'``.
    """

    _step_fn = staticmethod(core.td_gelu_step)
    _multi_fn = staticmethod(core.td_gelu_multi_step)

    def __init__(self, approximate: str = "none", step_mode: str = "m"):
        check_approximate("TDGELU", approximate)
        super().__init__(step_mode)
        self.approximate = approximate

    def _core_kwargs(self, single_step: bool) -> dict:
        return {"approximate": self.approximate}

    @classmethod
    def from_ann(cls, module: nn.GELU, step_mode: str = "m") -> "TDGELU":
        """The TD counterpart of ``nn.GELU(approximate)``."""
        if not isinstance(module, nn.GELU):
            raise TypeError(f"TDGELU.from_ann: expected an nn.GELU, got {type(module).__name__}.")
        return cls(module.approximate, step_mode=step_mode).train(module.training)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class TDLayerNorm(_UnaryTD):
    """TD LayerNorm; see :func:`fnsnn.td.td_layer_norm`. Arguments as :class:`torch.nn.LayerNorm`.

    Args:
        normalized_shape: trailing shape to normalise.
        eps: added to the variance.
        elementwise_affine: learnable ``weight`` (ones) and, with ``bias=True``, ``bias`` (zeros).
        bias: see above; ignored without ``elementwise_affine``.
        device, dtype: of the parameters.
        step_mode: ``'m'`` (default) or ``'s'``.
    """

    _step_fn = staticmethod(core.td_layer_norm_step)
    _multi_fn = staticmethod(core.td_layer_norm_multi_step)

    def __init__(self, normalized_shape: Union[int, Sequence[int], torch.Size], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device=None, dtype=None,
                 step_mode: str = "m"):
        shape = normalize_shape("TDLayerNorm", normalized_shape)
        check_number("TDLayerNorm", "eps", eps, allow_tensor=False)
        check_bool("TDLayerNorm", "elementwise_affine", elementwise_affine)
        check_bool("TDLayerNorm", "bias", bias)
        super().__init__(step_mode)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(shape, device=device, dtype=dtype))
            if bias:
                self.bias = nn.Parameter(torch.zeros(shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _core_kwargs(self, single_step: bool) -> dict:
        return {"normalized_shape": self.normalized_shape, "weight": self.weight, "bias": self.bias, "eps": self.eps}

    @classmethod
    def from_ann(cls, module: nn.LayerNorm, step_mode: str = "m") -> "TDLayerNorm":
        """The TD counterpart of an ``nn.LayerNorm``, with its parameters copied."""
        if not isinstance(module, nn.LayerNorm):
            raise TypeError(f"TDLayerNorm.from_ann: expected an nn.LayerNorm, got {type(module).__name__}.")
        new = cls(module.normalized_shape, eps=module.eps, elementwise_affine=module.elementwise_affine,
                  bias=module.bias is not None, step_mode=step_mode, **_factory(module))
        return _copy_parameters(module, new)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class TDLinear(_UnaryTD):
    """TD Linear; see :func:`fnsnn.td.td_linear`. Arguments and initialisation as :class:`torch.nn.Linear`.

    Args:
        in_features, out_features: sizes of the last dim of input and output.
        bias: learnable bias (added once to the cumulative output, not ``T`` times).
        device, dtype: of the parameters.
        step_mode: ``'m'`` (default) or ``'s'``.
    """

    _step_fn = staticmethod(core.td_linear_step)
    _multi_fn = staticmethod(core.td_linear_multi_step)

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None,
                 step_mode: str = "m"):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise ValueError(f"TDLinear: `{name}` must be a non-negative int, got {value!r}.")
        check_bool("TDLinear", "bias", bias)
        super().__init__(step_mode)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = nn.Parameter(torch.empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform weight and uniform bias, as :class:`torch.nn.Linear`."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            nn.init.uniform_(self.bias, -bound, bound)

    def _core_kwargs(self, single_step: bool) -> dict:
        return {"weight": self.weight, "bias": self.bias}

    def rest_memories(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        like = self.single_step_input(x)
        return {"x_cum": torch.zeros_like(like), "y_cum": like.new_zeros((*like.shape[:-1], self.out_features))}

    @classmethod
    def from_ann(cls, module: nn.Linear, step_mode: str = "m") -> "TDLinear":
        """The TD counterpart of an ``nn.Linear``, with its parameters copied."""
        if not isinstance(module, nn.Linear):
            raise TypeError(f"TDLinear.from_ann: expected an nn.Linear, got {type(module).__name__}.")
        new = cls(module.in_features, module.out_features, bias=module.bias is not None, step_mode=step_mode,
                  **_factory(module))
        return _copy_parameters(module, new)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class TDScaledDotProductAttention(TDModule):
    """TD scaled dot-product attention; see :func:`fnsnn.td.td_scaled_dot_product_attention`.

    Args:
        is_causal: causal masking; ``forward`` then takes no ``attn_mask``.
        scale: score scale, ``None`` for ``1/sqrt(E)``.
        step_mode: ``'m'`` (default) or ``'s'``.
    """

    memory_names = ("query_cum", "key_cum", "value_cum", "y_cum")

    def __init__(self, is_causal: bool = False, scale: Optional[float] = None, step_mode: str = "m"):
        check_bool("TDScaledDotProductAttention", "is_causal", is_causal)
        core.check_sdpa_scale("TDScaledDotProductAttention", scale)
        super().__init__(step_mode)
        self.is_causal = is_causal
        self.scale = scale

    def single_step_forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                            attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y, state = core.td_scaled_dot_product_attention_step(
            query, key, value, self._stored_state(core.TDAttentionState), attn_mask=attn_mask,
            is_causal=self.is_causal, scale=self.scale)
        self._store(state)
        return y

    def multi_step_forward(self, query_seq: torch.Tensor, key_seq: torch.Tensor, value_seq: torch.Tensor,
                           attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y_seq, state = core.td_scaled_dot_product_attention_multi_step(
            query_seq, key_seq, value_seq, None, attn_mask=attn_mask, is_causal=self.is_causal, scale=self.scale)
        self._store(state)
        return y_seq

    def rest_memories(self, query: torch.Tensor, key: Optional[torch.Tensor] = None,
                      value: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Zero sums for these inputs; without ``key``/``value`` they are taken shaped like ``query``."""
        q = self.single_step_input(query)
        k = q if key is None else self.single_step_input(key)
        v = k if value is None else self.single_step_input(value)
        return core.td_scaled_dot_product_attention_init_state(q, k, v)._asdict()

    def extra_repr(self) -> str:
        return f"is_causal={self.is_causal}, scale={self.scale}"


class TDMultiheadAttention(TDModule):
    """TD multi-head attention; see :func:`fnsnn.td.td_multihead_attention`.

    TD Linear ``q_proj``, ``k_proj``, ``v_proj`` and ``out_proj`` around TD SDPA
    over the heads; the memories hold the attention's running sums. Inputs are
    ``[T, batch, seq, embed_dim]`` (``[batch, seq, embed_dim]`` in ``'s'`` mode);
    ``forward`` returns ``(output, None)`` as :class:`torch.nn.MultiheadAttention`
    does with ``need_weights=False``.

    Args:
        embed_dim: model width; divisible by ``num_heads``.
        num_heads: number of heads.
        dropout: must be ``0.0``.
        bias: biases in the four projections.
        batch_first: must be ``True``.
        device, dtype: of the parameters.
        step_mode: ``'m'`` (default) or ``'s'``; propagates to the projections.
    """

    memory_names = ("query_cum", "key_cum", "value_cum", "y_cum")

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = True, device=None, dtype=None, step_mode: str = "m"):
        core.check_mha_config("TDMultiheadAttention", embed_dim, num_heads, dropout, batch_first)
        check_bool("TDMultiheadAttention", "bias", bias)
        super().__init__(step_mode)
        self.embed_dim = int(embed_dim)
        self.num_heads = int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        kw = dict(bias=bias, device=device, dtype=dtype, step_mode=step_mode)
        self.q_proj = TDLinear(embed_dim, embed_dim, **kw)
        self.k_proj = TDLinear(embed_dim, embed_dim, **kw)
        self.v_proj = TDLinear(embed_dim, embed_dim, **kw)
        self.out_proj = TDLinear(embed_dim, embed_dim, **kw)

    @MemoryModule.step_mode.setter
    def step_mode(self, value: str) -> None:
        MemoryModule.step_mode.fset(self, value)
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            if name in self._modules:
                self._modules[name].step_mode = value

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None, need_weights: bool = False,
                attn_mask: Optional[torch.Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[torch.Tensor, None]:
        """Returns ``(output, None)``; ``output`` shaped like ``query``."""
        fn = "TDMultiheadAttention"
        core.check_mha_options(fn, key_padding_mask, need_weights, average_attn_weights)
        single = self.step_mode == "s"
        core.check_mha_inputs(fn, query, key, value, self.embed_dim, 3 if single else 4)
        check_bool(fn, "is_causal", is_causal)
        if is_causal and attn_mask is not None:
            raise ValueError(f"{fn}: `attn_mask` must be None when is_causal=True; use one masking mode at a time.")
        h = self.num_heads
        q = core.split_heads(self.q_proj(query), h)
        k = core.split_heads(self.k_proj(key), h)
        v = core.split_heads(self.v_proj(value), h)
        mask = core.mha_attn_mask(attn_mask, query.shape[0 if single else 1], h)
        if single:
            a, state = core.td_scaled_dot_product_attention_step(
                q, k, v, self._stored_state(core.TDAttentionState), attn_mask=mask, is_causal=is_causal)
        else:
            a, state = core.td_scaled_dot_product_attention_multi_step(q, k, v, None, attn_mask=mask,
                                                                       is_causal=is_causal)
        self._store(state)
        return self.out_proj(core.merge_heads(a)), None

    def rest_memories(self, query: torch.Tensor, key: Optional[torch.Tensor] = None,
                      value: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Zero attention sums; without ``key``/``value`` they are taken shaped like ``query``."""
        q = core.split_heads(self.single_step_input(query), self.num_heads)
        k = q if key is None else core.split_heads(self.single_step_input(key), self.num_heads)
        v = k if value is None else core.split_heads(self.single_step_input(value), self.num_heads)
        return core.td_scaled_dot_product_attention_init_state(q, k, v)._asdict()

    @classmethod
    def from_ann(cls, module: nn.MultiheadAttention, step_mode: str = "m") -> "TDMultiheadAttention":
        """The TD counterpart of an ``nn.MultiheadAttention`` with packed q/k/v projections.

        Raises ``ValueError`` for ``dropout != 0``, ``batch_first=False``, separate
        ``kdim``/``vdim`` projections, ``add_bias_kv`` or ``add_zero_attn``.
        """
        fn = "TDMultiheadAttention.from_ann"
        if not isinstance(module, nn.MultiheadAttention):
            raise TypeError(f"{fn}: expected an nn.MultiheadAttention, got {type(module).__name__}.")
        if not module._qkv_same_embed_dim or module.in_proj_weight is None:
            raise ValueError(f"{fn}: only packed q/k/v projections are supported (kdim == vdim == embed_dim), "
                             f"got kdim={module.kdim}, vdim={module.vdim}, embed_dim={module.embed_dim}.")
        if module.bias_k is not None or module.bias_v is not None:
            raise ValueError(f"{fn}: add_bias_kv=True is not supported.")
        if module.add_zero_attn:
            raise ValueError(f"{fn}: add_zero_attn=True is not supported.")
        bias = module.in_proj_bias is not None
        new = cls(module.embed_dim, module.num_heads, dropout=module.dropout, bias=bias,
                  batch_first=module.batch_first, step_mode=step_mode, **_factory(module))
        weights = module.in_proj_weight.chunk(3, dim=0)
        biases = module.in_proj_bias.chunk(3, dim=0) if bias else (None,) * 3
        with torch.no_grad():
            for proj, w, b in zip((new.q_proj, new.k_proj, new.v_proj), weights, biases):
                proj.weight.copy_(w)
                proj.weight.requires_grad_(module.in_proj_weight.requires_grad)
                if b is not None:
                    proj.bias.copy_(b)
                    proj.bias.requires_grad_(module.in_proj_bias.requires_grad)
        _copy_parameters(module.out_proj, new.out_proj)
        return new.train(module.training)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")
