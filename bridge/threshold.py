"""Turn a calibrated :class:`~bridge.modules.VoltageHook` into a layer threshold."""

from __future__ import annotations

import torch


class ThresholdOptimizer:
    """Compute the threshold (activation scale) of a layer from its calibration hook.

    The built-in strategy ``"fixed"`` returns the hook's recorded ``scale``.
    Any other strategy name is accepted so that a subclass can implement it by
    overriding :meth:`compute_threshold`.

    Args:
        strategy: name of the strategy, a non-empty string.
    """

    BUILT_IN = ("fixed",)

    def __init__(self, strategy: str = "fixed"):
        if not isinstance(strategy, str) or not strategy:
            raise TypeError(f"ThresholdOptimizer: `strategy` must be a non-empty str, got {strategy!r}.")
        self.strategy = strategy

    def compute_threshold(self, hook) -> float:
        """The threshold of the layer observed by ``hook``.

        Args:
            hook: a calibrated hook with a ``scale`` tensor (a
                :class:`~bridge.modules.VoltageHook`).

        Returns:
            The threshold as a Python float.

        Raises:
            ValueError: the strategy is not built in (override this method), or
                the hook saw no calibration batch.
        """
        scale = getattr(hook, "scale", None)
        if not isinstance(scale, torch.Tensor) or scale.numel() != 1:
            raise TypeError(f"ThresholdOptimizer.compute_threshold: `hook` must carry a one-element `scale` "
                            f"tensor (a VoltageHook), got {type(hook).__name__}.")
        if self.strategy != "fixed":
            raise ValueError(f"ThresholdOptimizer.compute_threshold: strategy {self.strategy!r} is not built in "
                             f"(built in: {self.BUILT_IN}); subclass ThresholdOptimizer and override "
                             f"compute_threshold(hook) to implement it.")
        if getattr(hook, "num_batches_tracked", 1) == 0:
            raise ValueError("ThresholdOptimizer.compute_threshold: the hook saw no calibration batch; run data "
                             "through the model with hooks (Converter.set_voltagehook) before replacing.")
        return float(scale.detach().reshape(()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strategy={self.strategy!r})"


__all__ = ["ThresholdOptimizer"]
