"""Looking inside a CNN: activation maps, inputs that maximise filters, saliency, Grad-CAM.

Lecture 2 (``course/02_visualising_cnns.ipynb``) uses these tools on a small FashionMNIST
CNN.  Images are float32 ``(N, H, W, C)`` in ``[0, 1]`` (``(N, 28, 28, 1)`` for FashionMNIST).

* :func:`activation_model`: a sub-model from the input to any named layer.
* :class:`FilterAscent`: inputs that maximise each filter of a layer by gradient ascent with
  switchable regularisers (:class:`Regularisers`, after Yosinski et al. 2015); all filters are
  optimised as one batch in one ``tf.function`` (:meth:`FilterAscent.batched`), the per-filter
  loop (:meth:`FilterAscent.loop`) exists to time against it.
* :func:`saliency_maps` (Simonyan et al. 2014) and :func:`grad_cam` (Selvaraju et al. 2017).
* :func:`show_grid` (many small images in one figure), :func:`show_explanations`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import partial

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from helpers.input_checks import check_class_indices, check_same_length


def _sub_model(model: keras.Model, names: list[str | None]) -> keras.Model:
    """A model from ``model``'s single input to the outputs of the named layers (None: the
    model's output); one output, or a list of them.

    A Sequential model is re-chained through its own layers (weights shared): the graph that
    ``layer.output`` refers to after ``keras.models.load_model`` is not always the one the
    later layers were called on, and gradients between two such outputs come back as None.
    """
    if len(model.inputs) != 1:
        raise ValueError(f"expected a model with one input, got {len(model.inputs)}")
    if isinstance(model, keras.Sequential):
        x = inputs = keras.Input(tuple(model.inputs[0].shape[1:]))
        found = {}
        for layer in model.layers:
            x = found[layer.name] = layer(x)
        outputs = [x if n is None else found[n] for n in names]
    else:
        # model.inputs[0], not the list: calling a list-input model on a tensor warns.
        inputs = model.inputs[0]
        outputs = [model.outputs[0] if n is None else model.get_layer(n).output for n in names]
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0])


def activation_model(model: keras.Model, layer_name: str) -> keras.Model:
    """A model from ``model``'s (single) input to the output of the layer ``layer_name``.

    Called on images ``(N, H, W, C)`` it returns that layer's activations, e.g. ``(N, h, w, F)``
    for a convolution with F filters.

    Args:
        model: a built Keras model with one input.
        layer_name: the name of one of its layers (nested models' layers included).

    Returns:
        A ``keras.Model`` sharing ``model``'s weights.
    """
    model.get_layer(layer_name)  # a clear ValueError for an unknown name
    return _sub_model(model, [layer_name])


@dataclass(frozen=True)
class Regularisers:
    """What is done to the image after each gradient step (0 switches a regulariser off).

    Attributes:
        l2_decay: multiply the image by ``1 - l2_decay`` every step (pulls pixels to black, 0).
        blur_every: blur the image with a Gaussian every ``blur_every`` steps (0: never).
        blur_sigma: standard deviation of that Gaussian, in pixels.
        jitter: roll the image by up to this many pixels (random, per step) before the
            gradient and roll it back after: the image must work at every shift.
        clip_value_pct: set the pixels whose value (norm over channels) lies below this
            percentile of the image to 0 (keeps the brightest ``100 - pct`` %).
        clip_contrib_pct: set the pixels whose contribution ``|sum_c x * grad|`` to the
            activation lies below this percentile to 0.
    """

    l2_decay: float = 0.0
    blur_every: int = 0
    blur_sigma: float = 0.5
    jitter: int = 0
    clip_value_pct: float = 0.0
    clip_contrib_pct: float = 0.0

    @classmethod
    def all(cls) -> Regularisers:
        """All regularisers on, at the strengths the lecture uses."""
        return cls(l2_decay=0.02, blur_every=4, jitter=2, clip_value_pct=30.0,
                   clip_contrib_pct=20.0)

    def only(self, *names: str) -> Regularisers:
        """A copy with only the named switches (from :data:`SWITCHES`) kept, the others 0."""
        unknown = set(names) - set(SWITCHES)
        if unknown:
            raise ValueError(f"unknown regulariser(s) {sorted(unknown)}; choose from {SWITCHES}")
        return replace(self, **{k: 0 for k in SWITCHES if k not in names})


#: The switches of :class:`Regularisers` (``blur_sigma`` only sets the blur's width).
SWITCHES = ("l2_decay", "blur_every", "jitter", "clip_value_pct", "clip_contrib_pct")


def _gaussian_kernel(sigma: float, channels: int) -> tf.Tensor:
    """Depthwise kernel ``(k, k, channels, 1)`` of a normalised 2-D Gaussian."""
    radius = max(1, math.ceil(2 * sigma))
    t = np.arange(-radius, radius + 1, dtype="float64")
    g = np.exp(-(t**2) / (2 * sigma**2))
    k2 = np.outer(g, g) / np.outer(g, g).sum()
    return tf.constant(np.repeat(k2[:, :, None, None], channels, axis=2), dtype=tf.float32)


def _zero_below_percentile(x: tf.Tensor, score: tf.Tensor, pct: float) -> tf.Tensor:
    """Set the pixels of each image whose ``score`` (N, H, W) is below its ``pct`` percentile
    to 0 (all channels)."""
    flat = tf.reshape(score, (tf.shape(score)[0], -1))
    k = int(round(pct / 100.0 * (score.shape[1] * score.shape[2] - 1)))
    threshold = tf.sort(flat, axis=1)[:, k]
    keep = tf.cast(score >= threshold[:, None, None], x.dtype)
    return x * keep[..., None]


@dataclass
class AscentResult:
    """Result of a gradient ascent over filters.

    Attributes:
        images: ``(N, H, W, C)`` in ``[0, 1]``, image n maximises filter ``filters[n]``.
        filters: ``(N,)`` filter indices.
        start_activation, final_activation: ``(N,)`` mean activation of each image's own
            filter (mean over the map's positions) before and after the ascent.
    """

    images: np.ndarray
    filters: np.ndarray
    start_activation: np.ndarray
    final_activation: np.ndarray


@dataclass
class FilterAscent:
    """Inputs that maximise the mean activation of filters of layer ``layer_name``.

    Each step: ``x <- clip(R(x + step_size * g / ||g||), 0, 1)`` with ``g = d a_f / d x`` the
    gradient of the filter's mean activation ``a_f`` for image x, ``||g||`` its L2 norm (per
    image) and R the :class:`Regularisers`.  The loss of a batch is ``sum_n a_{f_n}(x_n)``:
    image n only changes its own term, so the batch gives the same images as one ascent per
    filter (:meth:`loop`), in one call.
    """

    model: keras.Model
    layer_name: str
    regularisers: Regularisers = field(default_factory=Regularisers)
    steps: int = 100
    step_size: float = 2.0
    start_mean: float = 0.2
    start_std: float = 0.05

    def __post_init__(self) -> None:
        self.sub_model = activation_model(self.model, self.layer_name)
        self.n_filters = int(self.sub_model.output.shape[-1])
        shape = tuple(self.model.inputs[0].shape[1:])
        self.input_shape = shape
        # A partial, not the bound method: TensorFlow counts traces per function code and warns
        # ("triggered tf.function retracing") once several FilterAscent objects have traced.
        signature = [tf.TensorSpec((None, *shape), tf.float32), tf.TensorSpec((None,), tf.int32),
                     tf.TensorSpec((None, 2), tf.int32)]
        self._ascend = tf.function(partial(FilterAscent._ascend_py, self), autograph=False,
                                   input_signature=signature)

    def _own_means(self, x: tf.Tensor, filters: tf.Tensor) -> tf.Tensor:
        """Mean activation ``(N,)`` of filter ``filters[n]`` for image n."""
        a = self.sub_model(x, training=False)
        means = tf.reduce_mean(a, axis=list(range(1, len(a.shape) - 1)))  # (N, F)
        return tf.gather(means, filters, axis=1, batch_dims=1)

    def _ascend_py(self, x: tf.Tensor, filters: tf.Tensor, shifts: tf.Tensor) -> tf.Tensor:
        """``len(shifts)`` ascent steps on images ``x`` ``(N, H, W, C)``, written for tracing
        without AutoGraph (``tf.while_loop``, ``tf.cond``): the student edition ships this
        module as bytecode, and AutoGraph converts Python only from its source."""
        r = self.regularisers
        kernel = _gaussian_kernel(r.blur_sigma, self.input_shape[-1]) if r.blur_every else None

        def step(t: tf.Tensor, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            shift = shifts[t]
            if r.jitter:
                x = tf.roll(x, shift, axis=[1, 2])
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(self._own_means(x, filters))
            g = tape.gradient(loss, x)
            g = g / (tf.sqrt(tf.reduce_sum(g**2, axis=[1, 2, 3], keepdims=True)) + 1e-8)
            x = x + self.step_size * g
            if r.jitter:
                x = tf.roll(x, -shift, axis=[1, 2])
                g = tf.roll(g, -shift, axis=[1, 2])
            if r.l2_decay:
                x = x * (1.0 - r.l2_decay)
            if r.blur_every:
                x = tf.cond((t + 1) % r.blur_every == 0,
                            lambda: tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME"),
                            lambda: x)
            if r.clip_value_pct:
                x = _zero_below_percentile(x, tf.norm(x, axis=-1), r.clip_value_pct)
            if r.clip_contrib_pct:
                contrib = tf.abs(tf.reduce_sum(x * g, axis=-1))
                x = _zero_below_percentile(x, contrib, r.clip_contrib_pct)
            return t + 1, tf.clip_by_value(x, 0.0, 1.0)

        _, x = tf.while_loop(lambda t, _: t < tf.shape(shifts)[0], step, [tf.constant(0), x])
        return x

    def start_images(self, n: int, seed: int = 0) -> np.ndarray:
        """Noise images ``(n, H, W, C)``: ``start_mean + start_std * N(0, 1)`` clipped to [0, 1]."""
        rng = np.random.default_rng(seed)
        x = self.start_mean + self.start_std * rng.standard_normal((n, *self.input_shape))
        return np.clip(x, 0.0, 1.0).astype("float32")

    def _setup(self, filters, seed: int):
        filters = np.arange(self.n_filters) if filters is None else np.asarray(filters)
        rng = np.random.default_rng(seed + 1)
        j = self.regularisers.jitter
        shifts = rng.integers(-j, j + 1, size=(self.steps, 2)).astype("int32")
        return filters.astype("int32"), self.start_images(len(filters), seed), shifts

    def _result(self, images, filters, start) -> AscentResult:
        def own(x):
            return self._own_means(tf.constant(x), tf.constant(filters)).numpy()

        return AscentResult(np.asarray(images), filters, own(start), own(images))

    def batched(self, filters=None, seed: int = 0) -> AscentResult:
        """All ``filters`` (default: every filter of the layer) as ONE batch, one graph call."""
        filters, start, shifts = self._setup(filters, seed)
        images = self._ascend(start, filters, shifts).numpy()
        return self._result(images, filters, start)

    def loop(self, filters=None, seed: int = 0) -> AscentResult:
        """The same ascent, one filter at a time (a Python loop of graph calls): for timing."""
        filters, start, shifts = self._setup(filters, seed)
        images = [self._ascend(start[i : i + 1], filters[i : i + 1], shifts).numpy()[0]
                  for i in range(len(filters))]
        return self._result(np.stack(images), filters, start)


def _explained_classes(classes, images, num_classes: int) -> np.ndarray:
    """``classes`` as int32 ``(N,)``, one valid class index per image, or a clear error."""
    classes = np.atleast_1d(np.asarray(classes))
    if classes.ndim == 1 and len(classes) == 1 and len(images) > 1:
        classes = np.repeat(classes, len(images))
    check_same_length(images=images, classes=classes)
    return check_class_indices(classes, num_classes, "classes").astype("int32")


def saliency_maps(model: keras.Model, images: np.ndarray, classes, score_layer: str | None = None
                  ) -> np.ndarray:
    """Vanilla-gradient saliency ``|d y_c / d x|``, max over channels: ``(N, H, W)``, >= 0.

    ``y_c`` is the output of ``score_layer`` (default: the model's output) for class
    ``classes[n]`` of image n; use the logits (pre-softmax) layer as Simonyan et al. do.

    Args:
        model: a built Keras classifier.
        images: ``(N, H, W, C)`` float images.
        classes: ``(N,)`` the class whose score each image is explained for.
        score_layer: the layer whose output is the score (None: the model's output).

    Returns:
        ``(N, H, W)`` float32 saliency, ``>= 0``.
    """
    scorer = _sub_model(model, [score_layer])
    x = tf.constant(np.asarray(images, dtype="float32"))
    classes = tf.constant(_explained_classes(classes, images, scorer.output_shape[-1]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.gather(scorer(x, training=False), classes, axis=1, batch_dims=1)
    return tf.reduce_max(tf.abs(tape.gradient(y, x)), axis=-1).numpy()


def grad_cam(model: keras.Model, images: np.ndarray, classes, conv_layer: str,
             score_layer: str | None = None) -> np.ndarray:
    """Grad-CAM heat maps ``(N, H, W)`` in [0, 1], upsampled to the input size.

    With ``A`` the maps ``(h, w, K)`` of ``conv_layer`` and ``y_c`` the class score (output of
    ``score_layer``, default the model's output): channel weights ``alpha_k = mean_ij
    dy_c/dA_ijk``, map ``ReLU(sum_k alpha_k A_k)``, bilinearly resized to ``(H, W)`` and divided
    by its maximum (all zeros where the map is 0 everywhere).

    Args:
        model: a built Keras classifier.
        images: ``(N, H, W, C)`` float images.
        classes: ``(N,)`` the class each map explains.
        conv_layer: the name of the convolutional layer whose maps are weighted.
        score_layer: the layer whose output is the score (None: the model's output).

    Returns:
        ``(N, H, W)`` float32 maps in ``[0, 1]``.
    """
    scorer = _sub_model(model, [conv_layer, score_layer])
    x = tf.constant(np.asarray(images, dtype="float32"))
    classes = tf.constant(_explained_classes(classes, images, scorer.output_shape[1][-1]))
    with tf.GradientTape() as tape:
        maps, scores = scorer(x, training=False)
        y = tf.gather(scores, classes, axis=1, batch_dims=1)
    grads = tape.gradient(y, maps)                                   # (N, h, w, K)
    alpha = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)        # (N, 1, 1, K)
    cam = tf.nn.relu(tf.reduce_sum(alpha * maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, x.shape[1:3], method="bilinear")[..., 0].numpy()
    top = cam.reshape(len(cam), -1).max(axis=1)
    return np.where(top[:, None, None] > 0, cam / np.maximum(top, 1e-12)[:, None, None], 0.0)


def show_grid(images, titles=None, ncols: int = 8, cmap: str = "gray", title: str = "",
              symmetric: bool = False, vmin: float | None = None, vmax: float | None = None,
              panel: float = 1.1, xlabel: str = "", ylabel: str = "",
              colorbar: str | None = None, row_labels=None):
    """Plot images ``(N, h, w)`` (or ``(N, h, w, 1)``) as one mosaic; returns the Figure.

    Colour scale: ``vmin``/``vmax`` if given (the same for all panels), else ``[-m, m]`` with m
    the largest absolute value if ``symmetric`` (for signed weights), else every panel is
    stretched from its own minimum (black) to its own maximum (white); an all-constant panel is
    black.  ``colorbar``: label of a colour bar (not drawn for per-panel scales).
    ``row_labels``: one label per row, left of the row.  One image with all panels drawn in it
    is much faster than one axes per panel.

    Args:
        images: ``(N, h, w)`` or ``(N, h, w, 1)`` arrays.
        titles: one title per panel, or None.
        ncols: panels per row.
        cmap: a matplotlib colour map name.
        title: the figure's title.
        symmetric, vmin, vmax: the colour scale (above).
        panel: the size of one panel, in inches.
        xlabel, ylabel: the figure's axis labels.
        colorbar: the colour bar's label (None: no colour bar).
        row_labels: one label per row, or None.

    Returns:
        The matplotlib ``Figure``.
    """
    images = np.asarray(images, dtype="float64")
    if images.ndim == 4:
        images = images[..., 0]
    n, h, w = images.shape
    per_panel = vmin is None and vmax is None and not symmetric
    if per_panel:
        lo = images.min(axis=(1, 2), keepdims=True)
        span = images.max(axis=(1, 2), keepdims=True) - lo
        images = np.where(span > 0, (images - lo) / np.where(span > 0, span, 1.0), 0.0)
        vmin, vmax = 0.0, 1.0
    elif symmetric:
        m = float(np.abs(images).max()) or 1.0
        vmin, vmax = -m, m
    gap = max(1, round(0.12 * h))
    top = max(1, round(0.35 * h)) if titles is not None else gap
    nrows = math.ceil(n / ncols)
    cell_h, cell_w = h + top, w + gap
    canvas = np.full((nrows * cell_h, ncols * cell_w - gap), np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[r * cell_h + top: r * cell_h + top + h, c * cell_w: c * cell_w + w] = images[i]
    colours = plt.get_cmap(cmap).with_extremes(bad="white")
    fig, ax = plt.subplots(figsize=(panel * ncols + 1.2, panel * nrows * cell_h / cell_w + 0.8),
                           layout="constrained")
    im = ax.imshow(canvas, cmap=colours, vmin=vmin, vmax=vmax, interpolation="nearest")
    for i in range(n if titles is not None else 0):
        r, c = divmod(i, ncols)
        ax.text(c * cell_w + (w - 1) / 2, r * cell_h + top - 0.8, titles[i], ha="center",
                va="bottom", fontsize=7)
    for r, label in enumerate(row_labels or []):
        ax.text(-gap, r * cell_h + top + (h - 1) / 2, label, ha="right", va="center", fontsize=8)
    ax.set(xticks=[], yticks=[], title=title, xlabel=xlabel, ylabel=ylabel)
    ax.spines[:].set_visible(False)
    if colorbar and not per_panel:
        fig.colorbar(im, ax=ax, shrink=0.8, label=colorbar)
    return fig


def show_explanations(images, saliency, cams, titles, cmap: str = "jet"):
    """Three rows per image column: the image, its saliency and its Grad-CAM map over it.

    Args:
        images: ``(N, H, W)`` or ``(N, H, W, 1)`` images in ``[0, 1]``.
        saliency: ``(N, H, W)`` saliency maps (:func:`saliency_maps`).
        cams: ``(N, H, W)`` Grad-CAM maps in ``[0, 1]`` (:func:`grad_cam`).
        titles: one title per column.
        cmap: colour map of the saliency and Grad-CAM rows.

    Returns:
        The matplotlib ``Figure``.
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    n = len(images)
    fig, axes = plt.subplots(3, n, figsize=(1.7 * n, 5.6), squeeze=False, layout="constrained")
    rows = ("image", "saliency |dy/dx|", "Grad-CAM")
    for i in range(n):
        axes[0, i].imshow(images[i], cmap="gray", vmin=0, vmax=1)
        axes[0, i].set_title(titles[i], fontsize=8)
        sal = axes[1, i].imshow(saliency[i] / max(float(saliency[i].max()), 1e-12), cmap="hot",
                                vmin=0, vmax=1)
        axes[2, i].imshow(images[i], cmap="gray", vmin=0, vmax=1)
        cam = axes[2, i].imshow(cams[i], cmap=cmap, alpha=0.5, vmin=0, vmax=1)
        for r in range(3):
            axes[r, i].set_xticks([])
            axes[r, i].set_yticks([])
            if i == 0:
                axes[r, i].set_ylabel(rows[r], fontsize=9)
    fig.colorbar(sal, ax=axes[1, :].tolist(), shrink=0.8, label="|gradient| / its max")
    fig.colorbar(cam, ax=axes[2, :].tolist(), shrink=0.8, label="Grad-CAM (max = 1)")
    fig.supxlabel("each panel: 28 x 28 pixels", fontsize=9)
    return fig
