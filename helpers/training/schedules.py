"""Learning-rate schedules used by the course's training recipes, and a budget that plans them.

A schedule maps the optimizer's step count to a learning rate; Keras calls it every step.
:class:`BudgetClock` is the callback that fits a run (and its schedule) into a wall-clock
budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

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
        """Shorten or lengthen the cosine so that it ends at ``total_steps``.

        Args:
            total_steps: the new last step (optimizer steps); at least ``warmup_steps + 1`` is
                used.
        """
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


class BudgetClock(keras.callbacks.Callback):
    """A callback: ``evaluate(model)`` after every epoch (e.g. the test accuracy), training
    time without that evaluation, and a wall-clock budget.

    With a budget, the number of epochs is planned again after every epoch: the time left
    (less ``reserve_s``, kept for ``final_passes`` evaluations after training: at least 1.5
    times the slowest epoch-end evaluation each) over the mean of the last three epochs
    plus a ``margin``; the schedule is stretched or shortened to end with the last planned
    epoch, so the learning rate has decayed when the budget ends even if epochs slow down.
    ``log`` holds ``test_accuracy`` (what ``evaluate`` returned), ``train_seconds`` and
    ``wall_seconds``, cumulative, per epoch, counted from ``start`` (default: the start of
    training).  If the last epoch overruns anyway, training stops
    at the first batch that ends past the budget (less the reserve): the learning rate is
    close to its end value by then.
    """

    margin = 0.05

    def __init__(self, evaluate: Callable[[keras.Model], float], budget_s: float | None,
                 max_epochs: int, steps_per_epoch: int, schedule: WarmupCosine | None,
                 start: float | None = None):
        super().__init__()
        self.evaluate, self.start = evaluate, start
        self.final_passes = 0  # evaluations still to come after training, each like ours
        self.budget_s, self.max_epochs = budget_s, max_epochs
        self.steps_per_epoch, self.schedule = steps_per_epoch, schedule
        self.log: dict[str, list[float]] = {"test_accuracy": [], "train_seconds": [],
                                            "wall_seconds": []}
        self.eval_s, self.planned_epochs, self.stopped_by_budget = 0.0, max_epochs, False
        self.reserve_s = 0.0

    def on_train_begin(self, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def _wall(self) -> float:
        return time.perf_counter() - self.start

    def on_train_batch_end(self, batch, logs=None):
        if self.budget_s is not None and self._wall() > self.budget_s - self.reserve_s:
            self.model.stop_training, self.stopped_by_budget = True, True

    def on_epoch_end(self, epoch, logs=None):
        train_s = self._wall() - self.eval_s
        t0 = time.perf_counter()
        accuracy = self.evaluate(self.model)
        eval_s = time.perf_counter() - t0
        self.eval_s += eval_s
        # the final evaluations must fit too: keep 1.5 times what the slowest one would take
        self.reserve_s = max(self.reserve_s, 1.5 * self.final_passes * eval_s)
        self.log["test_accuracy"].append(accuracy)
        self.log["train_seconds"].append(train_s)
        self.log["wall_seconds"].append(self._wall())
        if self.budget_s is not None:
            self.plan(epoch)
        if epoch + 1 >= self.planned_epochs:
            self.model.stop_training = True

    def plan(self, epoch: int) -> None:
        """After epoch ``epoch`` (0-based): how many epochs in all, and the schedule to match.

        Sets ``planned_epochs`` (at least ``epoch + 1``, at most ``max_epochs``) from the time
        left and the recent epochs' wall seconds, and stretches or shortens the schedule (if
        any) to end with it.

        Args:
            epoch: the epoch just finished, 0-based.
        """
        walls = [0.0] + self.log["wall_seconds"]
        epoch_s = [b - a for a, b in zip(walls[:-1], walls[1:], strict=True)]
        recent = epoch_s[1:][-3:] or epoch_s  # the first epoch includes tracing
        left = self.budget_s - self.reserve_s - self._wall()
        more = int(left // (sum(recent) / len(recent) * (1 + self.margin)))
        self.planned_epochs = max(epoch + 1, min(self.max_epochs, epoch + 1 + more))
        if self.schedule is not None:
            self.schedule.set_total_steps(self.planned_epochs * self.steps_per_epoch)
