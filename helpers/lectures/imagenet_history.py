"""ImageNet, the ILSVRC classification results and human-level performance, as data.

The figures are the ones the course's seeds quote (seeds 000, 001, 002, 004; the ILSVRC result
tables of seed 004) and the papers they cite: Krizhevsky et al. 2012 (AlexNet's recipe and
ensembles), Russakovsky et al. 2015 (the challenge), He et al. 2015 (PReLU-net).  Errors are
top-5 error rates in percent on the ILSVRC test set unless a row says otherwise.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

#: ImageNet and the 1000-class challenge subset (seed 001, seed 002).
IMAGENET: dict[str, int | str] = {
    "hierarchy": "WordNet (nouns only)",
    "images, about": 14_000_000,
    "categories, over": 20_000,
    "challenge classes": 1_000,
    "challenge training images": 1_281_167,
    "challenge validation images": 50_000,
    "challenge test images": 100_000,
}

#: Estimated human top-5 error (Karpathy's experiment, Russakovsky et al. 2015), percent.
HUMAN_TOP5 = 5.1

#: The top three of the classification task, 2012-2014 (seed 004's table): year, place, team,
#: method, top-5 test error (%) and depth in weight layers where the entry is one CNN family.
RESULTS_2012_2014: tuple[tuple[int, int, str, str, float, int | None], ...] = (
    (2012, 1, "SuperVision (AlexNet)", "deep CNN", 16.42, 8),
    (2012, 2, "ISI", "Fisher vectors", 26.17, None),
    (2012, 3, "VGG (Oxford)", "Fisher vectors + SVM", 26.98, None),
    (2013, 1, "Clarifai (ZFNet)", "deep CNN", 11.74, 8),
    (2013, 2, "NUS", "SVM + deep CNN", 12.95, None),
    (2013, 3, "ZF", "deep CNN", 13.51, 8),
    (2014, 1, "GoogLeNet", "deep CNN", 6.66, 22),
    (2014, 2, "VGG", "deep CNN", 7.32, 19),
    (2014, 3, "MSRA", "deep CNN", 8.06, None),
    (2015, 1, "MSRA (ResNet)", "deep CNN", 3.57, 152),
)

#: Results published between the 2014 and 2015 challenges (seed 004): team, date, error (%).
AFTER_2014: tuple[tuple[str, str, float], ...] = (
    ("GoogLeNet", "2014", 6.66),
    ("Deep Image (Baidu)", "2015-01-12", 5.98),
    ("Deep Image (Baidu)", "2015-02-05", 5.33),
    ("Microsoft (PReLU-net)", "2015-02-05", 4.94),
    ("Google (BN-Inception)", "2015-03-02", 4.82),
)

#: AlexNet's ensembles (Krizhevsky et al. 2012, table 2): models averaged -> top-5 error (%) on
#: the validation set; "*" marks models pre-trained on the whole Fall 2011 ImageNet release.
ALEXNET_ENSEMBLES: dict[str, float] = {
    "1 CNN": 18.2,
    "5 CNNs": 16.4,
    "1 CNN*": 16.6,
    "7 CNNs*": 15.4,
}

#: AlexNet's training recipe (section 5 of the paper).
ALEXNET_RECIPE: dict[str, float | str] = {
    "optimiser": "SGD with momentum",
    "batch size": 128,
    "momentum": 0.9,
    "weight decay": 5e-4,
    "initial learning rate": 1e-2,
    "learning-rate schedule": "divided by 10 when the validation error stopped improving",
    "reductions": 3,
    "epochs, about": 90,
    "dropout (FC6, FC7)": 0.5,
}


def results_table() -> pd.DataFrame:
    """The 2012-2015 results of :data:`RESULTS_2012_2014` as a table.

    Returns:
        A DataFrame with ``year``, ``place``, ``team``, ``method``, ``top5_error`` (%) and
        ``depth`` (weight layers, NaN where unknown or not a single CNN).
    """
    return pd.DataFrame(list(RESULTS_2012_2014),
                        columns=["year", "place", "team", "method", "top5_error", "depth"])


def winners(table: pd.DataFrame) -> pd.DataFrame:
    """The first place of every year.

    Args:
        table: :func:`results_table`.

    Returns:
        The rows with ``place == 1``, indexed by ``year``.
    """
    return table[table["place"] == 1].set_index("year")


def relative_drop(before: float, after: float) -> float:
    """By how much (as a fraction of ``before``) an error fell.

    Args:
        before: the earlier error.
        after: the later error.

    Returns:
        ``(before - after) / before``.

    Raises:
        ValueError: if ``before <= 0``.
    """
    if before <= 0:
        raise ValueError(f"the earlier error must be > 0, got {before}")
    return (before - after) / before


def plot_winners(table: pd.DataFrame, human: float = HUMAN_TOP5) -> Figure:
    """Top-5 error of every entry against the year, winners labelled, human level dashed.

    Args:
        table: :func:`results_table`.
        human: the human top-5 error (%) drawn as a horizontal line.

    Returns:
        A ``Figure``: one marker per entry (CNNs filled, others hollow), the winners joined.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=90)
    cnn = table["method"].str.contains("CNN")
    ax.scatter(table.loc[cnn, "year"], table.loc[cnn, "top5_error"], color="tab:blue",
               label="deep CNN entries")
    ax.scatter(table.loc[~cnn, "year"], table.loc[~cnn, "top5_error"], facecolor="none",
               edgecolor="tab:gray", label="other methods")
    best = winners(table)
    ax.plot(best.index, best["top5_error"], color="tab:blue", alpha=0.5)
    for year, row in best.iterrows():
        depth = "" if pd.isna(row["depth"]) else f", {int(row['depth'])} layers"
        ax.annotate(f"{row['team']}{depth}\n{row['top5_error']:.2f} %", (year, row["top5_error"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.axhline(human, color="tab:red", linestyle="--", label=f"human, about {human} %")
    ax.set(xlabel="ILSVRC year", ylabel="top-5 error on the test set (%)",
           title="ILSVRC classification: the top three entries per year",
           xticks=sorted(table["year"].unique()))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
