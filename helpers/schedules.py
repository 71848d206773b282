"""Learning-rate schedules used by the course's training recipes.

A schedule maps the optimizer's step count to a learning rate; Keras calls it every step.
"""

from __future__ import annotations

import math

import keras
from keras import ops


class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate per optimizer step: linear warm-up from 0 to ``peak`` over
    ``warmup_steps``, then a half cosine from ``peak`` down to ``final`` at ``total_steps``
    (and ``final`` after that).  ``total_steps`` is a variable so that a budget-driven run can
    shorten the schedule once it knows how long an epoch takes (:meth:`set_total_steps`)."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int = 0, final: float = 0.0):
        if peak <= 0:
            raise ValueError(f"peak learning rate must be > 0, got {peak}")
        if total_steps < 1 or not 0 <= warmup_steps < total_steps:
            raise ValueError("need total_steps >= 1 and 0 <= warmup_steps < total_steps, got "
                             f"total_steps={total_steps}, warmup_steps={warmup_steps}")
        self.peak, self.final, self.warmup_steps = float(peak), float(final), int(warmup_steps)
        self.total_steps = keras.Variable(float(total_steps), trainable=False, dtype="float32",
                                          name="total_steps")

    def set_total_steps(self, total_steps: int) -> None:
        """Shorten or lengthen the cosine so that it ends at ``total_steps``."""
        self.total_steps.assign(float(max(total_steps, self.warmup_steps + 1)))

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = float(max(self.warmup_steps, 1))
        progress = ops.clip((step - self.warmup_steps) / (self.total_steps - self.warmup_steps),
                            0.0, 1.0)
        cosine = self.final + (self.peak - self.final) * 0.5 * (1 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, self.peak * step / warm, cosine)

    def get_config(self) -> dict:
        return {"peak": self.peak, "total_steps": int(self.total_steps.numpy()),
                "warmup_steps": self.warmup_steps, "final": self.final}
