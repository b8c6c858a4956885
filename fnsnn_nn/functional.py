"""Whole-network helpers with SpikingJelly's names: reset, step mode, detach, forward helpers.

Each helper touches only the module tree it is given; there is no global registry.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence, Tuple, Union

import torch
import torch.nn as nn

from fnsnn._checks import check_positive_int

from .base import STEP_MODES, MemoryModule, StepModule

Modules = Union[nn.Module, Sequence[nn.Module], Callable]


def reset_net(net: nn.Module) -> None:
    """Reset every module of ``net`` that has a ``reset()`` method (all memory modules)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"reset_net: `net` must be an nn.Module, got {type(net).__name__}.")
    for m in net.modules():
        if isinstance(m, MemoryModule) or callable(getattr(m, "reset", None)):
            m.reset()


def detach_net(net: nn.Module) -> None:
    """Detach the state of every memory module of ``net`` from the graph (truncated BPTT)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"detach_net: `net` must be an nn.Module, got {type(net).__name__}.")
    for m in net.modules():
        if isinstance(m, MemoryModule) or callable(getattr(m, "detach", None)) and hasattr(m, "step_mode"):
            m.detach()


def _wrapped_by_container(net: nn.Module):
    """Modules whose step mode belongs to the container that drives them."""
    from . import layer

    owners = tuple(getattr(layer, n) for n in ("MultiStepContainer", "SeqToANNContainer", "StepModeContainer",
                                                "ElementWiseRecurrentContainer", "LinearRecurrentContainer")
                   if hasattr(layer, n))
    inner = set()
    for m in net.modules():
        if owners and isinstance(m, owners):
            for sub in m.modules():
                if sub is not m:
                    inner.add(id(sub))
    return inner


def set_step_mode(net: nn.Module, step_mode: str) -> None:
    """Set ``step_mode`` of every step module in ``net``, except the insides of step-mode containers."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"set_step_mode: `net` must be an nn.Module, got {type(net).__name__}.")
    if step_mode not in STEP_MODES:
        raise ValueError(f"set_step_mode: `step_mode` must be 's' or 'm', got {step_mode!r}.")
    inner = _wrapped_by_container(net)
    for m in net.modules():
        if id(m) in inner:
            continue
        if isinstance(m, StepModule) and step_mode in m.supported_step_mode():
            m.step_mode = step_mode


def _apply_modules(x, modules: Modules):
    if isinstance(modules, (list, tuple)):
        for m in modules:
            x = m(x)
        return x
    return modules(x)


def _check_seq(fn: str, x_seq) -> None:
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2 or x_seq.shape[0] == 0:
        got = tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
        raise ValueError(f"{fn}: `x_seq` must be a [T, N, *] tensor with T > 0, got {got}.")


def multi_step_forward(x_seq: torch.Tensor, single_step_module: Modules) -> torch.Tensor:
    """Run single-step module(s) over ``x_seq.unbind(0)`` and stack the outputs, ``[T, N, *]``."""
    _check_seq("multi_step_forward", x_seq)
    return torch.stack([_apply_modules(x, single_step_module) for x in x_seq.unbind(0)])


def seq_to_ann_forward(x_seq: Union[torch.Tensor, Tuple[torch.Tensor, ...]], stateless_module: Modules):
    """Fold ``[T, N, *]`` into ``[T*N, *]``, apply stateless module(s) once, unfold the result.

    ``x_seq`` may be a tuple of tensors sharing ``T`` and ``N`` (e.g. pooled values
    and indices); they are passed as positional arguments to the first module.
    """
    seqs = x_seq if isinstance(x_seq, tuple) else (x_seq,)
    for s in seqs:
        _check_seq("seq_to_ann_forward", s)
    T, N = seqs[0].shape[:2]
    for s in seqs[1:]:
        if tuple(s.shape[:2]) != (T, N):
            raise ValueError(f"seq_to_ann_forward: every tensor of `x_seq` needs the same [T, N]; got "
                             f"{[tuple(t.shape[:2]) for t in seqs]}.")
    flat = [s.flatten(0, 1) for s in seqs]
    modules = list(stateless_module) if isinstance(stateless_module, (list, tuple)) else [stateless_module]
    y = modules[0](*flat)
    for m in modules[1:]:
        y = m(y)
    if isinstance(y, tuple):
        return tuple(t.unflatten(0, (T, N)) for t in y)
    return y.unflatten(0, (T, N))


# -- spike utilities and losses ------------------------------------------------

def _tensor_arg(fn: str, name: str, value, min_dim: int = 0) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{fn}: `{name}` must be a torch.Tensor, got {type(value).__name__}.")
    if value.dim() < min_dim:
        raise ValueError(f"{fn}: `{name}` needs at least {min_dim} dims, got shape {tuple(value.shape)}.")
    return value


def first_spike_index(spikes: torch.Tensor) -> torch.Tensor:
    """Boolean mask of each neuron's first spike along the last (time) dim of ``spikes`` ``[*, T]``."""
    _tensor_arg("first_spike_index", "spikes", spikes, 1)
    return (spikes != 0) & (spikes.cumsum(dim=-1) == 1)


def redundant_one_hot(labels: torch.Tensor, num_classes: int, n: int) -> torch.Tensor:
    """One-hot code with every class repeated ``n`` times: ``[N]`` labels -> ``[N, num_classes * n]`` floats."""
    fn = "redundant_one_hot"
    _tensor_arg(fn, "labels", labels)
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{fn}: `labels` must be an integer tensor, got dtype {labels.dtype}.")
    check_positive_int(fn, "num_classes", num_classes)
    check_positive_int(fn, "n", n)
    code = torch.nn.functional.one_hot(labels.long(), num_classes).repeat_interleave(n, dim=-1)
    return code.to(torch.get_default_dtype())


KERNELS = ("linear", "polynomial", "sigmoid", "gaussian")


def kernel_dot_product(x: torch.Tensor, y: torch.Tensor, kernel: str = "linear", *args) -> torch.Tensor:
    """Kernel matrix ``K[i, j] = k(x[i], y[j])`` for ``x`` ``[N, M]`` and ``y`` ``[K, M]``.

    Kernels: ``'linear'`` ``x.y``; ``'polynomial'`` ``(x.y)^d`` (``args = (d,)``);
    ``'sigmoid'`` ``sigmoid(alpha x.y)`` (``args = (alpha,)``); ``'gaussian'``
    ``exp(-|x - y|^2 / (2 sigma^2))`` (``args = (sigma,)``, ``sigma > 0``).
    """
    fn = "kernel_dot_product"
    _tensor_arg(fn, "x", x)
    _tensor_arg(fn, "y", y)
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"{fn}: `x` and `y` must be [N, M] and [K, M], got {tuple(x.shape)} and {tuple(y.shape)}.")
    if kernel not in KERNELS:
        raise ValueError(f"{fn}: `kernel` must be one of {KERNELS}, got {kernel!r}.")
    if kernel == "linear":
        return x.mm(y.t())
    if len(args) < 1:
        param = {"polynomial": "d", "sigmoid": "alpha", "gaussian": "sigma"}[kernel]
        raise TypeError(f"{fn}: kernel {kernel!r} needs its parameter `{param}` as the next positional argument.")
    a = args[0]
    if kernel == "polynomial":
        return x.mm(y.t()).pow(a)
    if kernel == "sigmoid":
        return torch.sigmoid(a * x.mm(y.t()))
    if not isinstance(a, torch.Tensor) and a <= 0:
        raise ValueError(f"{fn}: the Gaussian kernel needs sigma > 0, got {a!r}.")
    d = x.square().sum(dim=1).unsqueeze(1) + y.square().sum(dim=1).unsqueeze(0) - 2 * x.mm(y.t())
    return torch.exp(-d / (2 * a * a))


LOSSES = ("mse", "l1", "bce")


def spike_similar_loss(spikes: torch.Tensor, labels: torch.Tensor, kernel_type: str = "linear",
                       loss_type: str = "mse", *args) -> torch.Tensor:
    """Loss between the spike-train similarity of sample pairs and whether they share a label.

    Args:
        spikes: ``[N, *]`` spikes (flattened per sample).
        labels: ``[N, C]`` one-hot or multi-hot labels.
        kernel_type: kernel of :func:`kernel_dot_product` (``'linear'`` is normalised to cosine similarity).
        loss_type: ``'mse'``, ``'l1'`` or ``'bce'``.
        *args: the kernel's parameter.

    Returns:
        A scalar loss.
    """
    fn = "spike_similar_loss"
    _tensor_arg(fn, "spikes", spikes, 1)
    _tensor_arg(fn, "labels", labels)
    if labels.dim() != 2 or labels.shape[0] != spikes.shape[0]:
        raise ValueError(f"{fn}: `labels` must be [N, C] with N={spikes.shape[0]}, got {tuple(labels.shape)}.")
    if loss_type not in LOSSES:
        raise ValueError(f"{fn}: `loss_type` must be one of {LOSSES}, got {loss_type!r}.")
    spikes = spikes.flatten(start_dim=1)
    sim_p = kernel_dot_product(spikes, spikes, kernel_type, *args)
    if kernel_type == "linear":
        norm = spikes.norm(p=2, dim=1, keepdim=True)
        sim_p = sim_p / (norm.mm(norm.t()) + 1e-8)
    labels = labels.float()
    sim = labels.mm(labels.t()).clamp_max(1)
    F = torch.nn.functional
    if loss_type == "mse":
        return F.mse_loss(sim_p, sim)
    if loss_type == "l1":
        return F.l1_loss(sim_p, sim)
    return F.binary_cross_entropy(sim_p, sim)


def temporal_efficient_training_cross_entropy(x_seq: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """TET loss (Deng et al. 2022): the cross entropy of every time step's output, averaged over time.

    Args:
        x_seq: logits ``[T, N, C, *]``.
        target: class indices ``[N, *]``.

    Returns:
        ``mean_t CE(x_seq[t], target)``.
    """
    fn = "temporal_efficient_training_cross_entropy"
    _tensor_arg(fn, "x_seq", x_seq, 3)
    _tensor_arg(fn, "target", target)
    want = (x_seq.shape[1], *x_seq.shape[3:])
    if tuple(target.shape) != want:
        raise ValueError(f"{fn}: `target` must have shape [N, *] = {want} for x_seq {tuple(x_seq.shape)}, "
                         f"got {tuple(target.shape)}.")
    T = x_seq.shape[0]
    logits = x_seq.transpose(0, 1).transpose(1, 2)  # [N, C, T, *]
    target = target.unsqueeze(1).expand(target.shape[0], T, *target.shape[1:])
    return torch.nn.functional.cross_entropy(logits, target)


def delay(x_seq: torch.Tensor, delay_steps: int) -> torch.Tensor:
    """``y[t] = x_seq[t - delay_steps]``, zeros for ``t < delay_steps``; see :func:`fnsnn.synapses.delay_multi_step`."""
    from fnsnn.synapses.delay import check_delay_steps, delay_multi_step

    d = check_delay_steps("delay", delay_steps)
    _tensor_arg("delay", "x_seq", x_seq, 1)
    return delay_multi_step(x_seq, None, delay_steps=d)[0]


def convert_sync_batchnorm(net: nn.Module, process_group=None) -> nn.Module:
    """Replace the BatchNorm layers of ``net`` by SyncBatchNorm, keeping each layer's step mode.

    ``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` turns the step-mode
    ``layer.BatchNorm1d/2d/3d`` into plain ``nn.SyncBatchNorm``, which loses
    ``step_mode`` and rejects ``[T, N, C, *]`` inputs. This helper builds
    :class:`fnsnn_nn.layer.SyncBatchNorm` with the same step mode instead;
    plain torch BatchNorm layers become ``nn.SyncBatchNorm`` as in torch.
    Parameters and running statistics are shared with the old layers, not
    copied; as in torch, submodules of ``net`` are replaced in place and the
    converted root is returned. ThresholdDependentBatchNorm layers (whose
    normalisation depends on the neurons' threshold) are left as they are.

    Args:
        net: the network (or a single BatchNorm layer).
        process_group: the group to synchronise over; ``None`` is the default group.

    Returns:
        ``net`` with its BatchNorm layers replaced (a new module when ``net`` itself is one).
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"convert_sync_batchnorm: `net` must be an nn.Module, got {type(net).__name__}.")
    from . import layer
    from ._norm_sync import convert

    return convert(net, process_group, layer)


# -- SpikingJelly 2.0.0 additions: reset collection, time-last and chunked forwards ------------

def _resettable(m: nn.Module) -> bool:
    return isinstance(m, MemoryModule) or callable(getattr(m, "reset", None))


def collect_reset_modules(net: nn.Module) -> Tuple[nn.Module, ...]:
    """The modules of ``net`` that :func:`reset_net` resets, in ``net.modules()`` order."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"collect_reset_modules: `net` must be an nn.Module, got {type(net).__name__}.")
    return tuple(m for m in net.modules() if _resettable(m))


def reset_collected_modules(modules: Sequence[nn.Module]) -> None:
    """Reset each module of a tuple from :func:`collect_reset_modules` (skips the tree walk in a hot loop)."""
    if not isinstance(modules, (tuple, list)):
        raise TypeError(f"reset_collected_modules: `modules` must be a tuple of modules from "
                        f"collect_reset_modules(net), got {type(modules).__name__}.")
    for i, m in enumerate(modules):
        if not isinstance(m, nn.Module) or not callable(getattr(m, "reset", None)):
            raise TypeError(f"reset_collected_modules: modules[{i}] must be a module with reset(), "
                            f"got {type(m).__name__}.")
    for m in modules:
        m.reset()


def invalidate_reset_cache(net: nn.Module) -> None:
    """Accepted for 2.0.0 code. fnsnn keeps no per-network cache of resettable modules
    (:func:`reset_net` walks the tree on every call and :func:`collect_reset_modules` returns a tuple
    the caller holds), so there is nothing to invalidate after a module swap."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"invalidate_reset_cache: `net` must be an nn.Module, got {type(net).__name__}.")


def _check_t_last(fn: str, x_seq) -> None:
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2 or x_seq.shape[-1] == 0:
        got = tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
        raise ValueError(f"{fn}: `x_seq` must be a [N, *, T] tensor (time last) with T > 0, got {got}.")


def t_last_multi_step_forward(x_seq: torch.Tensor, single_step_module: Modules) -> torch.Tensor:
    """:func:`multi_step_forward` for time-last inputs ``[N, *, T]``; the output is time-last too."""
    _check_t_last("t_last_multi_step_forward", x_seq)
    return multi_step_forward(x_seq.movedim(-1, 0), single_step_module).movedim(0, -1)


def t_last_seq_to_ann_forward(x_seq: torch.Tensor, stateless_module: Modules):
    """:func:`seq_to_ann_forward` for time-last inputs ``[N, *, T]``; outputs are time-last too."""
    _check_t_last("t_last_seq_to_ann_forward", x_seq)
    y = seq_to_ann_forward(x_seq.movedim(-1, 0), stateless_module)
    if isinstance(y, tuple):
        return tuple(t.movedim(0, -1) for t in y)
    return y.movedim(0, -1)


def chunk_multi_step_forward(split_size: int, x_seq: torch.Tensor, multi_step_module: nn.Module) -> torch.Tensor:
    """Feed ``x_seq`` ``[T, *]`` to a multi-step module in consecutive chunks of ``split_size`` steps
    (state carried across chunks) and concatenate the outputs along time."""
    check_positive_int("chunk_multi_step_forward", "split_size", split_size)
    _check_seq("chunk_multi_step_forward", x_seq)
    return torch.cat([multi_step_module(chunk) for chunk in x_seq.split(split_size)])


from ._functional_sj2 import (  # noqa: E402  (2.0.0's pure neuron and layer functions)
    activation_aware_if_multi_step,
    activation_aware_if_step,
    clif_step,
    cuba_lif_step,
    delay_step,
    eif_multi_step,
    eif_step,
    gated_lif_step,
    if_linear,
    if_multi_step,
    if_step,
    ilif_multi_step,
    ilif_step,
    izhikevich_multi_step,
    izhikevich_step,
    klif_step,
    lava_cuba_lif_step,
    liaf_step,
    lif_charge,
    lif_linear,
    lif_multi_step,
    lif_step,
    masked_psn_step,
    neunorm_step,
    neuron_implementation,
    plif_multi_step,
    plif_step,
    qif_multi_step,
    qif_step,
    raf_step,
    sliding_psn_step,
    stbif_multi_step,
    stbif_step,
    synapse_filter_step,
    ternary_if_step,
    ternary_lif_step,
    voltage_reset,
)

from fnsnn.spike_packing import (  # noqa: E402  (2.0.0's spike packing helpers)
    bit_pack_spike_dense,
    bit_spike_compress,
    bit_spike_decompress,
    packed_spike_linear,
    sparse_linear,
)


def kaiming_normal_conv_linear_weight(net: nn.Module) -> None:
    """Kaiming-normal initialisation (``a = sqrt(5)``, as torch's default layer init) of the weights, not the
    biases, of every conv and Linear layer of ``net``, in ``net.modules()`` order."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"kaiming_normal_conv_linear_weight: `net` must be an nn.Module, got {type(net).__name__}.")
    for m in net.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=math.sqrt(5))


def set_threshold_margin(output_layer: nn.Module, label_one_hot: torch.Tensor, eval_threshold: float = 1.0,
                         threshold0: float = 0.9, threshold1: float = 1.1) -> None:
    """Per-class output thresholds: in training ``threshold1`` for the labelled class and ``threshold0`` for the
    others (``[N, C]``), in eval mode ``eval_threshold`` for all."""
    fn = "set_threshold_margin"
    if not isinstance(output_layer, nn.Module) or not hasattr(output_layer, "v_threshold"):
        raise TypeError(f"{fn}: `output_layer` must be a neuron module with `v_threshold`, "
                        f"got {type(output_layer).__name__}.")
    _tensor_arg(fn, "label_one_hot", label_one_hot, 2)
    if output_layer.training:
        output_layer.v_threshold = threshold0 + (threshold1 - threshold0) * label_one_hot
    else:
        output_layer.v_threshold = eval_threshold

from fnsnn.plasticity import (  # noqa: E402  (2.0.0's STDP steps; the core functions themselves)
    mstdp_linear_step,
    mstdpet_linear_step,
    mstdpet_reward_step,
    stdp_conv1d_step,
    stdp_conv2d_step,
    stdp_linear_step,
)
