"""The ANN-to-SNN converter: torch.fx passes over a copy of the user's model.

Two conversions are offered. :meth:`Converter.convert_to_spiking_neurons` is
the calibrated rate-coding conversion: trace, fold BatchNorm into the
preceding convolution, record activation ranges with
:class:`~bridge.modules.VoltageHook` on calibration data, and replace every
matched activation by ``VoltageScaler(1/s) -> neuron -> VoltageScaler(s)``.
The result runs one time step per call; feed the same input ``T`` times,
sum the outputs, and call ``fnsnn_nn.functional.reset_net`` between
samples. :meth:`Converter.replace_by_td_operators` swaps Transformer
operators for their temporal-difference (TD) forms, which take whole
``[T, ...]`` sequences.

Every pass maps a ``GraphModule`` to a new ``GraphModule``: it deep-copies its
input, edits the copy, and ends with ``graph.lint()`` and ``recompile()``. The
user's model is never modified and each module keeps its training flag.
"""

from __future__ import annotations

import copy
import logging
import warnings
from numbers import Real
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from fnsnn._checks import check_bool
from fnsnn._logging import get_logger
from fnsnn_nn import td

from .factories import HookFactory, NeuronFactory
from .modules import Mode, VoltageHook, check_mode, check_momentum
from .rules import ActivationRule, ReLURule, describe_node
from .threshold import ThresholdOptimizer

_FUNCTIONAL_RELU = (F.relu, F.relu_, torch.relu, torch.relu_)
_METHOD_RELU = ("relu", "relu_")
_TD_MODULES = ((nn.Linear, td.TDLinear), (nn.LayerNorm, td.TDLayerNorm), (nn.GELU, td.TDGELU),
               (nn.MultiheadAttention, td.TDMultiheadAttention))
_log = get_logger("bridge")
_CONV_BN = ((nn.Conv1d, nn.BatchNorm1d), (nn.Conv2d, nn.BatchNorm2d), (nn.Conv3d, nn.BatchNorm3d))


# -- tracing -------------------------------------------------------------------

class _Tracer(fx.Tracer):
    """fx tracer that keeps fnsnn_nn and bridge modules as leaves and records source lines."""

    def __init__(self):
        super().__init__()
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if type(m).__module__.split(".")[0] in ("fnsnn_nn", "bridge"):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def _check_module(fn: str, name: str, value: Any, cls=nn.Module) -> None:
    if not isinstance(value, cls):
        raise TypeError(f"{fn}: `{name}` must be a {cls.__module__}.{cls.__name__}, got {type(value).__name__}.")


def _training_flags(model: nn.Module) -> Dict[str, bool]:
    return {name: m.training for name, m in model.named_modules()}


def _restore_training(gm: fx.GraphModule, flags: Dict[str, bool]) -> None:
    """Give every module of ``gm`` that has a namesake in ``flags`` its recorded training flag."""
    for name, m in gm.named_modules():
        if name in flags:
            m.training = flags[name]


def _trace(fn: str, model: nn.Module) -> fx.GraphModule:
    """Symbolically trace a deep copy of ``model``; the copy's modules keep their training flags."""
    _check_module(fn, "ann", model)
    flags = _training_flags(model)
    root = copy.deepcopy(model)
    tracer = _Tracer()
    try:
        graph = tracer.trace(root)
    except Exception as err:  # fx raises TraceError, TypeError, RuntimeError... for untraceable code
        raise ValueError(
            f"{fn}: torch.fx could not trace {type(model).__name__}.forward: {type(err).__name__}: {err}. "
            f"The converter needs a forward without Python control flow on tensor values (`if x.sum() > 0`, "
            f"loops over tensor sizes read as numbers, len() of a tensor): rewrite such code with tensor ops "
            f"(torch.where, masking), make the decision from a constructor argument, or move the untraceable "
            f"part into a function decorated with torch.fx.wrap."
        ) from err
    gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    _restore_training(gm, flags)
    return gm


def _finish(gm: fx.GraphModule) -> fx.GraphModule:
    gm.graph.lint()
    gm.recompile()
    return gm


def _resolve_rules(fn: str, rules) -> List[ActivationRule]:
    if rules is None:
        return [ReLURule()]
    if not isinstance(rules, (list, tuple)):
        raise TypeError(f"{fn}: `rules` must be a list of ActivationRule objects or None, got {type(rules).__name__}.")
    for i, rule in enumerate(rules):
        if not isinstance(rule, ActivationRule):
            raise TypeError(f"{fn}: rules[{i}] ({type(rule).__name__}) does not implement ActivationRule: it needs "
                            f"match, insert_hooks, find_replacements and replace_with_neurons methods.")
    return list(rules)


# -- the calibrated conversion's passes ----------------------------------------

def _single_call(gm: fx.GraphModule, target: str) -> bool:
    return sum(1 for n in gm.graph.nodes if n.op == "call_module" and n.target == target) == 1


def _fuse_in_place(gm: fx.GraphModule) -> None:
    modules = dict(gm.named_modules())
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or not node.args or not isinstance(node.args[0], fx.Node):
            continue
        prev = node.args[0]
        if prev.op != "call_module" or len(prev.users) != 1:
            continue
        conv, bn = modules.get(prev.target), modules.get(node.target)
        if not any(type(conv) is c and type(bn) is b for c, b in _CONV_BN):
            continue
        if bn.running_mean is None or not (_single_call(gm, prev.target) and _single_call(gm, node.target)):
            continue  # no running statistics to fold, or modules shared between calls
        fused = fuse_conv_bn_eval(copy.deepcopy(conv).eval(), copy.deepcopy(bn).eval())
        fused.train(conv.training)
        parent, _, leaf = prev.target.rpartition(".")
        setattr(gm.get_submodule(parent) if parent else gm, leaf, fused)
        modules[prev.target] = fused
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
        gm.delete_submodule(node.target)


def _insert_hooks_in_place(gm: fx.GraphModule, rules: Sequence[ActivationRule], hook_factory: HookFactory) -> int:
    """Hook every node a rule matches. The walk follows the live graph and the module table is re-read
    after each insertion, so nodes and modules a rule adds are seen by the rules (each node once)."""
    modules = dict(gm.named_modules())
    counts: Dict[str, int] = {}
    inserted = 0
    seen = set()
    for node in gm.graph.nodes:
        if node in seen:
            continue
        seen.add(node)
        if node.op == "call_module" and isinstance(modules.get(node.target), VoltageHook):
            continue
        for rule in rules:
            if rule.match(node, modules):
                rule.insert_hooks(gm, node, hook_factory, counts)
                modules = dict(gm.named_modules())
                inserted += 1
                break
    return inserted


def _replace_in_place(gm: fx.GraphModule, rules: Sequence[ActivationRule], neuron_factory,
                      threshold_optimizer) -> None:
    for rule in rules:
        modules = dict(gm.named_modules())
        pairs = list(dict.fromkeys(tuple(pair) for pair in rule.find_replacements(gm, modules)))
        for activation_node, hook_node in pairs:  # a pair listed twice is replaced once
            rule.replace_with_neurons(gm, activation_node, hook_node, neuron_factory, threshold_optimizer)
    modules = dict(gm.named_modules())
    for node in gm.graph.nodes:
        if node.op == "call_module" and isinstance(modules.get(node.target), VoltageHook):
            raise ValueError(f"Converter.replace_by_neurons: calibration hook at {describe_node(node)} was not "
                             f"claimed by any rule; set_voltagehook and replace_by_neurons must use the same rules.")


def _check_functional_relu(fn: str, gm: fx.GraphModule, rules: Sequence[ActivationRule]) -> None:
    modules = dict(gm.named_modules())
    for node in gm.graph.nodes:
        functional = (node.op == "call_function" and node.target in _FUNCTIONAL_RELU) or (
            node.op == "call_method" and node.target in _METHOD_RELU)
        if functional and not any(rule.match(node, modules) for rule in rules):
            raise ValueError(
                f"{fn}: {describe_node(node)} applies ReLU as a function, which no rule converts. Use a module: "
                f"define `self.act = nn.ReLU()` in __init__ and call `self.act(x)` in forward (or pass a rule "
                f"whose match() accepts this node)."
            )


def _progress(dataloader):
    """``dataloader`` wrapped in a tqdm bar when tqdm is installed and the "fnsnn" logger shows INFO."""
    if not _log.isEnabledFor(logging.INFO):
        return dataloader
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return dataloader
    total = len(dataloader) if hasattr(dataloader, "__len__") else None
    return tqdm(dataloader, total=total, desc="fnsnn calibration", unit="batch", leave=False)


def _as_input(value: Any, dtype: Optional[torch.dtype]) -> Optional[torch.Tensor]:
    """``value`` as a tensor when it is a tensor or a numpy array, else ``None``; a floating numpy array
    takes ``dtype`` (the model's floating dtype; numpy defaults to float64)."""
    if isinstance(value, torch.Tensor):
        return value
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":  # numpy is optional
        x = torch.as_tensor(value)
        return x.to(dtype) if dtype is not None and x.is_floating_point() else x
    return None


def _calibration_input(batch: Any, index: int, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """The input of one calibration batch: a tensor or numpy array, ``(input, ...)``, a list, or a dict
    (its ``"input"`` entry, else its first tensor value)."""
    fn = "Converter.convert_to_spiking_neurons"
    x = _as_input(batch, dtype)
    if x is not None:
        return x
    if isinstance(batch, dict):
        if not batch:
            raise ValueError(f"{fn}: dataloader batch {index} is an empty dict; it needs the input tensor under "
                             f"the key 'input' (or as its first tensor value).")
        if "input" in batch:
            x = _as_input(batch["input"], dtype)
            if x is None:
                raise TypeError(f"{fn}: batch['input'] of dataloader batch {index} must be the input tensor, got "
                                f"{type(batch['input']).__name__}.")
            return x
        x = next((t for t in (_as_input(v, dtype) for v in batch.values()) if t is not None), None)
        if x is None:
            raise TypeError(f"{fn}: dataloader batch {index} is a dict without a tensor value (keys "
                            f"{list(batch)}); put the input tensor under the key 'input'.")
        return x
    if isinstance(batch, (list, tuple)):
        if len(batch) == 0:
            raise ValueError(f"{fn}: dataloader batch {index} is an empty {type(batch).__name__}; yield the input "
                             f"tensor, (input, label) or (input,).")
        x = _as_input(batch[0], dtype)
        if x is None:
            raise TypeError(f"{fn}: batch[0] of dataloader batch {index} must be the input tensor (or a numpy "
                            f"array), got {type(batch[0]).__name__}.")
        return x
    raise TypeError(f"{fn}: dataloader batch {index} is a {type(batch).__name__}; yield the input tensor, "
                    f"(input, label), (input,), a list or a dict with an 'input' entry.")


# -- TD operator replacement --------------------------------------------------

def _literal(node: fx.Node, name: str, position: int, default: Any) -> Any:
    if name in node.kwargs:
        return node.kwargs[name]
    if len(node.args) > position:
        return node.args[position]
    return default


def _check_mha(fn: str, m: nn.MultiheadAttention, node: fx.Node) -> None:
    where = describe_node(node)
    problems = []
    if m.dropout != 0.0:
        problems.append(f"dropout={m.dropout} (only dropout=0.0 is supported)")
    if not m.batch_first:
        problems.append("batch_first=False (only batch_first=True is supported)")
    if not m._qkv_same_embed_dim or m.in_proj_weight is None:
        problems.append(f"kdim={m.kdim}, vdim={m.vdim} differ from embed_dim={m.embed_dim}: non-packed q/k/v "
                        f"projections are not supported")
    if m.bias_k is not None or m.bias_v is not None:
        problems.append("add_bias_kv=True is not supported")
    if m.add_zero_attn:
        problems.append("add_zero_attn=True is not supported")
    need_weights = _literal(node, "need_weights", 4, True)
    if need_weights is not False:
        problems.append(f"need_weights={need_weights!r}: call it with the literal need_weights=False")
    key_padding_mask = _literal(node, "key_padding_mask", 3, None)
    if key_padding_mask is not None:
        problems.append("key_padding_mask is not supported (fold it into attn_mask)")
    average = _literal(node, "average_attn_weights", 6, True)
    if average is not True:
        problems.append(f"average_attn_weights={average!r} is not supported")
    is_causal = _literal(node, "is_causal", 7, False)
    if not isinstance(is_causal, bool):
        problems.append(f"is_causal={is_causal!r}: must be a literal bool")
    if problems:
        raise ValueError(f"{fn}: cannot convert nn.MultiheadAttention at {where}: " + "; ".join(problems) + ".")


_MHA_ARGS = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
             "is_causal")


def _normalise_mha_call(node: fx.Node) -> None:
    """Pass the options by keyword; with ``is_causal=True`` drop ``attn_mask`` as nn.MultiheadAttention does.

    nn.MultiheadAttention reads ``is_causal=True`` as a hint that ``attn_mask``
    is the causal mask and then applies causal attention without the mask;
    the TD operator takes one of the two, so the converted call keeps the flag.
    """
    kwargs = dict(zip(_MHA_ARGS, node.args))
    kwargs.update(node.kwargs)
    if kwargs.get("is_causal") is True:
        kwargs["attn_mask"] = None
    node.args = tuple(kwargs.pop(name) for name in _MHA_ARGS[:3])
    node.kwargs = kwargs


def _parse_sdpa(fn: str, node: fx.Node) -> Dict[str, Any]:
    where = describe_node(node)
    dropout_p = _literal(node, "dropout_p", 4, 0.0)
    if isinstance(dropout_p, fx.Node) or not isinstance(dropout_p, Real) or float(dropout_p) != 0.0:
        raise ValueError(f"{fn}: scaled_dot_product_attention at {where} has dropout_p={dropout_p!r}; only the "
                         f"literal dropout_p=0.0 converts (a computed value is a dynamic configuration).")
    enable_gqa = _literal(node, "enable_gqa", 7, False)
    if enable_gqa is not False:
        raise ValueError(f"{fn}: scaled_dot_product_attention at {where} has enable_gqa={enable_gqa!r}; "
                         f"grouped-query attention is not supported: repeat the key/value heads instead.")
    is_causal = _literal(node, "is_causal", 5, False)
    if not isinstance(is_causal, bool):
        raise ValueError(f"{fn}: scaled_dot_product_attention at {where} has is_causal={is_causal!r}; it must be "
                         f"a literal bool, not a dynamic configuration.")
    scale = _literal(node, "scale", 6, None)
    if scale is not None and (isinstance(scale, (bool, fx.Node)) or not isinstance(scale, Real)):
        raise ValueError(f"{fn}: scaled_dot_product_attention at {where} has scale={scale!r}; it must be a "
                         f"literal number or None, not a dynamic configuration.")
    args = []
    for i, name in enumerate(("query", "key", "value")):
        value = node.args[i] if len(node.args) > i else node.kwargs.get(name)
        if value is None:
            raise ValueError(f"{fn}: scaled_dot_product_attention at {where} is missing `{name}`.")
        args.append(value)
    args.append(_literal(node, "attn_mask", 3, None))
    return dict(args=tuple(args), is_causal=is_causal, scale=None if scale is None else float(scale))


def _replace_td_in_place(fn: str, gm: fx.GraphModule) -> None:
    modules = dict(gm.named_modules())
    replaced: Dict[str, nn.Module] = {}
    for node in list(gm.graph.nodes):
        if node.op != "call_module":
            continue
        m = modules.get(node.target)
        if isinstance(m, nn.MultiheadAttention):
            _check_mha(fn, m, node)
            _normalise_mha_call(node)
        if node.target in replaced:
            continue
        td_type = next((t for ann_type, t in _TD_MODULES if isinstance(m, ann_type)), None)
        if td_type is None:
            continue
        new = td_type.from_ann(m)  # copies parameters, requires_grad and the training flag
        parent, _, leaf = node.target.rpartition(".")
        setattr(gm.get_submodule(parent) if parent else gm, leaf, new)
        replaced[node.target] = new

    k = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not F.scaled_dot_product_attention:
            continue
        parsed = _parse_sdpa(fn, node)
        while hasattr(gm, f"td_scaled_dot_product_attention_{k}"):
            k += 1
        target = f"td_scaled_dot_product_attention_{k}"
        op = td.TDScaledDotProductAttention(is_causal=parsed["is_causal"], scale=parsed["scale"])
        op.train(gm.training)
        gm.add_submodule(target, op)
        with gm.graph.inserting_after(node):
            new_node = gm.graph.call_module(target, args=parsed["args"])
        node.replace_all_uses_with(new_node)
        gm.graph.erase_node(node)


# -- the converter -------------------------------------------------------------

class Converter:
    """ANN-to-SNN conversion driver (not an ``nn.Module``).

    Args:
        dataloader: iterable of calibration batches for
            :meth:`convert_to_spiking_neurons`; each batch is the input (a
            tensor or a numpy array), a tuple or list whose first item is the
            input (``(x, y)``, ``(x,)``), or a dict holding it under
            ``"input"`` (else its first tensor value is taken). May be ``None``
            when only :meth:`replace_by_td_operators` is used.
        device: device of the conversion and of the result; ``None`` takes the
            model's parameter device (CPU without parameters).
        mode: calibration statistic: ``'Max'``/``'max'`` (maximum activation),
            ``'99.9%'`` (a percentile) or a float in ``(0, 1]`` (that fraction
            of the maximum).
        momentum: running-statistic momentum of the hooks, in ``[0, 1]``.
        fuse_flag: fold BatchNorm into the preceding convolution.
        rules: activation rules, default ``[ReLURule()]``; the first rule that
            matches a node handles it; ``[]`` replaces nothing. Any object with
            ``match``, ``insert_hooks``, ``find_replacements`` and
            ``replace_with_neurons`` methods is a rule.
        neuron_factory: builds the neurons, default ``NeuronFactory()``
            (``IFNode(v_threshold=1., v_reset=None)``).
        threshold_optimizer: turns hooks into thresholds, default
            ``ThresholdOptimizer('fixed')``.

    Calibration reports to the ``"fnsnn.bridge"`` logger; when that logger shows
    INFO (``logging.basicConfig(level=logging.INFO)``) and tqdm is installed,
    a progress bar follows the calibration batches.
    """

    def __init__(self, dataloader, device=None, mode: Mode = "Max", momentum: float = 0.1, fuse_flag: bool = True,
                 rules: Optional[List[ActivationRule]] = None, neuron_factory: Optional[NeuronFactory] = None,
                 threshold_optimizer: Optional[ThresholdOptimizer] = None):
        fn = "Converter"
        if dataloader is not None and not hasattr(dataloader, "__iter__"):
            raise TypeError(f"{fn}: `dataloader` must be an iterable of batches (or None), "
                            f"got {type(dataloader).__name__}.")
        if device is not None and not isinstance(device, (str, torch.device)):
            raise TypeError(f"{fn}: `device` must be a torch.device, a str or None, got {type(device).__name__}.")
        self.dataloader = dataloader
        self.device = None if device is None else torch.device(device)
        self.mode = check_mode(fn, mode)
        self.momentum = check_momentum(fn, momentum)
        self.fuse_flag = check_bool(fn, "fuse_flag", fuse_flag)
        self.rules = _resolve_rules(fn, rules)
        self.neuron_factory = NeuronFactory() if neuron_factory is None else neuron_factory
        if not callable(getattr(self.neuron_factory, "create", None)):
            raise TypeError(f"{fn}: `neuron_factory` must have a create(scale) method (a NeuronFactory), "
                            f"got {type(neuron_factory).__name__}.")
        self.threshold_optimizer = ThresholdOptimizer() if threshold_optimizer is None else threshold_optimizer
        if not callable(getattr(self.threshold_optimizer, "compute_threshold", None)):
            raise TypeError(f"{fn}: `threshold_optimizer` must have a compute_threshold(hook) method (a "
                            f"ThresholdOptimizer), got {type(threshold_optimizer).__name__}.")

    def __repr__(self) -> str:
        return (f"Converter(mode={self.mode!r}, momentum={self.momentum}, fuse_flag={self.fuse_flag}, "
                f"device={self.device}, rules={self.rules!r}, neuron_factory={self.neuron_factory!r}, "
                f"threshold_optimizer={self.threshold_optimizer!r})")

    def _device_for(self, ann: nn.Module) -> torch.device:
        if self.device is not None:
            return self.device
        p = next(ann.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    # -- calibrated rate-coding conversion ---------------------------------------
    def convert_to_spiking_neurons(self, ann: nn.Module) -> fx.GraphModule:
        """Convert an ANN whose activations are ``nn.ReLU`` modules into an SNN.

        Traces a copy of ``ann``, folds Conv-BN pairs (``fuse_flag``), inserts
        hooks, runs the dataloader through the copy in eval mode without
        gradients, and replaces each matched activation by spiking neurons.

        Args:
            ann: the trained network.

        Returns:
            The SNN as a ``GraphModule`` running one time step per call, with
            ``ann``'s training flags.
        """
        fn = "Converter.convert_to_spiking_neurons"
        _check_module(fn, "ann", ann)
        if self.dataloader is None:
            raise ValueError(f"{fn}: this converter has dataloader=None; calibration needs data: "
                             f"Converter(dataloader=...).")
        flags = _training_flags(ann)
        device = self._device_for(ann)
        dtype = next((p.dtype for p in ann.parameters() if p.is_floating_point()), None)
        gm = _trace(fn, ann).to(device)
        if self.rules:  # rules=[] converts nothing, so a functional ReLU is no error then
            _check_functional_relu(fn, gm, self.rules)
        if any(isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)) for m in gm.modules()):
            warnings.warn(f"{fn}: the network has max pooling, which pools spikes rather than rates in the SNN; "
                          f"average pooling converts far more accurately.", UserWarning, stacklevel=2)
        gm.eval()
        if self.fuse_flag:
            _fuse_in_place(gm)
        hooks = _insert_hooks_in_place(gm, self.rules, HookFactory(self.mode, self.momentum))
        if hooks == 0 and self.rules:
            raise ValueError(f"{fn}: no node of {type(ann).__name__} matched the rules {self.rules!r}; the default "
                             f"ReLURule converts nn.ReLU modules, so the network needs at least one.")
        _finish(gm)
        batches = 0
        _log.info("%s: calibrating %d activation(s) of %s", fn, hooks, type(ann).__name__)
        with torch.no_grad():
            for batches, batch in enumerate(_progress(self.dataloader), start=1):
                gm(_calibration_input(batch, batches - 1, dtype).to(device))
        if batches == 0:
            raise ValueError(f"{fn}: the dataloader yielded no batch; calibration needs at least one.")
        _log.info("%s: calibrated over %d batch(es)", fn, batches)
        _restore_training(gm, flags)
        _replace_in_place(gm, self.rules, self.neuron_factory, self.threshold_optimizer)
        return _finish(gm.to(device))

    @staticmethod
    def fuse(fx_model: fx.GraphModule, fuse_flag: bool = True) -> fx.GraphModule:
        """Fold each BatchNorm into the convolution before it (running statistics, as in eval mode).

        A pair is folded when the convolution's output feeds only the
        BatchNorm, both modules are called once, and the BatchNorm tracks
        running statistics.

        Args:
            fx_model: the traced model (not modified).
            fuse_flag: ``False`` returns an unfused copy.

        Returns:
            A new ``GraphModule``.
        """
        _check_module("Converter.fuse", "fx_model", fx_model, fx.GraphModule)
        check_bool("Converter.fuse", "fuse_flag", fuse_flag)
        gm = copy.deepcopy(fx_model)
        if fuse_flag:
            _fuse_in_place(gm)
        return _finish(gm)

    @staticmethod
    def set_voltagehook(fx_model: fx.GraphModule, mode: Mode = "Max", momentum: float = 0.1,
                        rules: Optional[List[ActivationRule]] = None) -> fx.GraphModule:
        """Insert a :class:`~bridge.modules.VoltageHook` after every node a rule matches.

        Args:
            fx_model: the traced model (not modified).
            mode: calibration statistic, as in :class:`Converter`.
            momentum: hook momentum in ``[0, 1]``.
            rules: activation rules, default ``[ReLURule()]``; ``[]`` inserts no hook.

        Returns:
            A new ``GraphModule`` with hooks; run calibration data through it.
        """
        fn = "Converter.set_voltagehook"
        _check_module(fn, "fx_model", fx_model, fx.GraphModule)
        factory = HookFactory(check_mode(fn, mode), check_momentum(fn, momentum))
        rules = _resolve_rules(fn, rules)
        gm = copy.deepcopy(fx_model)
        _insert_hooks_in_place(gm, rules, factory)
        return _finish(gm)

    def replace_by_neurons(self, fx_model: fx.GraphModule) -> fx.GraphModule:
        """Replace each hooked activation by ``VoltageScaler(θ/s) -> neuron -> VoltageScaler(s)``.

        ``s`` comes from ``self.threshold_optimizer``, the neuron (with
        threshold ``θ``, 1 by default) from ``self.neuron_factory``, the
        matching from ``self.rules``.

        Args:
            fx_model: a calibrated model from :meth:`set_voltagehook` (not modified).

        Returns:
            A new ``GraphModule`` with spiking neurons.
        """
        _check_module("Converter.replace_by_neurons", "fx_model", fx_model, fx.GraphModule)
        gm = copy.deepcopy(fx_model)
        _replace_in_place(gm, self.rules, self.neuron_factory, self.threshold_optimizer)
        return _finish(gm)

    @staticmethod
    def replace_by_ifnode(fx_model: fx.GraphModule) -> fx.GraphModule:
        """Deprecated: ReLU to IFNode replacement with the default rule; use :meth:`replace_by_neurons`."""
        warnings.warn("Converter.replace_by_ifnode is deprecated; use Converter(...).replace_by_neurons(fx_model).",
                      DeprecationWarning, stacklevel=2)
        _check_module("Converter.replace_by_ifnode", "fx_model", fx_model, fx.GraphModule)
        gm = copy.deepcopy(fx_model)
        _replace_in_place(gm, [ReLURule()], NeuronFactory(), ThresholdOptimizer())
        return _finish(gm)

    # -- temporal-difference operators -------------------------------------------
    def replace_by_td_operators(self, ann: nn.Module) -> fx.GraphModule:
        """Replace Transformer operators by their temporal-difference (TD) forms.

        Converts ``nn.Linear`` -> ``TDLinear``, ``nn.LayerNorm`` ->
        ``TDLayerNorm``, ``nn.GELU`` -> ``TDGELU``, calls of
        ``F.scaled_dot_product_attention`` with literal ``dropout_p=0.0`` ->
        ``TDScaledDotProductAttention``, and ``nn.MultiheadAttention`` with
        ``dropout=0``, ``batch_first=True``, packed q/k/v, called with
        ``need_weights=False`` -> ``TDMultiheadAttention``. Other operators
        are kept, so they must be linear in time (additions, reshapes) for
        the result to be exact. No calibration data is used.

        The result takes a whole sequence ``x_seq`` of shape ``[T, ...]``:
        ``result(x_seq).cumsum(0)[t]`` equals ``ann(x_seq.cumsum(0)[t])``.

        Args:
            ann: the network (not modified).

        Returns:
            A ``GraphModule`` with ``ann``'s training flags.

        Raises:
            ValueError: an attention call outside the supported subset:
                SDPA with non-zero or computed ``dropout_p``, computed
                ``is_causal``/``scale``, ``enable_gqa=True``; MHA with
                ``dropout != 0``, ``batch_first=False``, ``need_weights`` not
                the literal ``False``, a ``key_padding_mask``, non-packed
                q/k/v, ``add_bias_kv``, ``add_zero_attn`` or
                ``average_attn_weights=False``.
        """
        fn = "Converter.replace_by_td_operators"
        gm = _trace(fn, ann)
        _replace_td_in_place(fn, gm)
        return _finish(gm)


__all__ = ["Converter"]
