"""Every assignment round-trips through nbgrader itself.

For each assignment in ``source/`` a temporary course directory is made, the
release is regenerated, and three kinds of student submission are autograded
in one ``nbgrader autograde`` run: the reference solution, the untouched
release notebook, and submissions with exactly one typical wrong answer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_admin import nbgrader_pipeline as pipe

ROOT = pipe.REPO_ROOT

pytestmark = pytest.mark.nbgrader

ASSIGNMENTS = pipe.assignments()

#: assignment -> list of (student id, notebook, {answer grade_id: wrong code}, test cells that
#: must lose all their points).  Every assignment needs at least one entry.
WRONG_ANSWERS: dict[str, list[tuple[str, str, dict[str, str], set[str]]]] = {
    "ps01": [
        (
            "wrong_mlp_biases",
            "ps01_convolution_arithmetic.ipynb",
            # counts the biases although the question asks for weights only
            {"q3a_answer": "mlp_weights = (128*128*3) * (16*16*36) + (16*16*36) * 10 + 9216 + 10"},
            {"q3a_tests"},
        ),
        (
            "wrong_no_flip",
            "ps01_convolution_arithmetic.ipynb",
            # cross-correlation instead of convolution: the classic mistake
            {
                "q6a_answer": (
                    "def convolve2d(x, k):\n"
                    "    x, k = np.asarray(x, float), np.asarray(k, float)\n"
                    "    kh, kw = k.shape\n"
                    "    return np.array([[np.sum(x[i:i+kh, j:j+kw] * k)\n"
                    "                      for j in range(x.shape[1] - kw + 1)]\n"
                    "                     for i in range(x.shape[0] - kh + 1)])"
                )
            },
            {"q6a_tests"},
        ),
    ],
    "ps02": [
        (
            "wrong_signed_saliency",
            "ps02_visualisation.ipynb",
            # keeps the sign of the gradient: not |dy/dx|
            {
                "q3_answer": (
                    "def saliency_map(model, image, class_index):\n"
                    "    x = tf.convert_to_tensor(np.asarray(image, dtype='float32')[None])\n"
                    "    with tf.GradientTape() as tape:\n"
                    "        tape.watch(x)\n"
                    "        score = model(x, training=False)[0, class_index]\n"
                    "    return tape.gradient(score, x)[0].numpy().max(axis=-1)"
                )
            },
            {"q3_tests"},
        ),
    ],
    "ps03": [
        (
            "wrong_rotate_digits",
            "ps03_augmentation.ipynb",
            # rotating digits by 180 degrees turns 6 into 9
            {"q3_2_answer": 'valid_digits = {"C", "D"}'},
            {"q3_2_tests"},
        ),
    ],
    "ps04": [
        (
            "wrong_inception_no_bias",
            "ps04_volumes_and_parameters.ipynb",
            # forgets the biases of the six convolutions
            {
                "q3_answer": (
                    "_convs = [(1, 192, 64), (1, 192, 96), (3, 96, 128), (1, 192, 16),"
                    " (5, 16, 32), (1, 192, 32)]\n"
                    "inception3a_shape = (28, 28, 256)\n"
                    "inception3a_params = sum(k * k * c * f for k, c, f in _convs)\n"
                    "inception3a_macs = sum(28 * 28 * k * k * c * f for k, c, f in _convs)"
                )
            },
            {"q3_tests"},
        ),
    ],
    "ps05": [
        (
            "wrong_se_no_bias",
            "ps05_building_blocks.ipynb",
            # the two dense layers without biases: the parameter count is off
            {
                "q3_answer": (
                    "def se_block(x, ratio=16):\n"
                    "    c = x.shape[-1]\n"
                    "    s = layers.GlobalAveragePooling2D()(x)\n"
                    "    s = layers.Dense(c // ratio, activation='relu', use_bias=False)(s)\n"
                    "    s = layers.Dense(c, activation='sigmoid', use_bias=False)(s)\n"
                    "    return layers.Multiply()([x, layers.Reshape((1, 1, c))(s)])"
                )
            },
            {"q3_tests"},
        ),
    ],
    "ps06": [
        (
            "wrong_dropout_no_rescale",
            "ps06_batchnorm_dropout.ipynb",
            # plain dropout: the kept units are not divided by p
            {
                "q1_answer": (
                    "def dropout_forward(x, dropout_param):\n"
                    "    p, mode = dropout_param['p'], dropout_param['mode']\n"
                    "    if mode == 'test':\n"
                    "        return x, (mode, None)\n"
                    "    rng = np.random.default_rng(dropout_param.get('seed'))\n"
                    "    mask = rng.random(x.shape) < p\n"
                    "    return x * mask, (mode, mask)"
                )
            },
            {"q1_tests"},
        ),
        (
            "wrong_bn_batch_stats_at_test",
            "ps06_batchnorm_dropout.ipynb",
            # normalises with the batch's statistics in test mode too (spatial BN reuses it)
            {
                "q3_answer": (
                    "def batchnorm_forward(x, gamma, beta, bn_param):\n"
                    "    eps, momentum = bn_param.get('eps', 1e-5), bn_param.get('momentum', 0.9)\n"
                    "    d = x.shape[1]\n"
                    "    mean, var = x.mean(axis=0), x.var(axis=0)\n"
                    "    x_hat = (x - mean) / np.sqrt(var + eps)\n"
                    "    if bn_param['mode'] == 'train':\n"
                    "        bn_param['running_mean'] = (momentum * bn_param.get('running_mean', "
                    "np.zeros(d)) + (1 - momentum) * mean)\n"
                    "        bn_param['running_var'] = (momentum * bn_param.get('running_var', "
                    "np.ones(d)) + (1 - momentum) * var)\n"
                    "    return gamma * x_hat + beta, (x_hat, gamma, np.sqrt(var + eps))"
                )
            },
            {"q3_tests", "q5_tests"},
        ),
        (
            "wrong_bn_backward_no_statistics_path",
            "ps06_batchnorm_dropout.ipynb",
            # treats the batch mean and variance as constants
            {
                "q4_answer": (
                    "def batchnorm_backward(dout, cache):\n"
                    "    x_hat, gamma, std = cache\n"
                    "    return gamma / std * dout, (dout * x_hat).sum(axis=0), dout.sum(axis=0)"
                )
            },
            {"q4_tests"},
        ),
    ],
    "ps07": [
        (
            "wrong_bn_unfrozen",
            "ps07_transfer_learning.ipynb",
            # unfreezes whole blocks, BatchNormalization included (the convention keeps BN frozen)
            {
                "q2_answer": (
                    "def unfreeze_top(model, n):\n"
                    "    convs = [l for l in model.layers if isinstance(l, layers.Conv2D)]\n"
                    "    if not 0 <= n <= len(convs):\n"
                    "        raise ValueError(f'n={n} is out of range')\n"
                    "    for l in model.layers:\n"
                    "        if l.name.startswith('block'):\n"
                    "            l.trainable = int(l.name.split('_')[0][5:]) > len(convs) - n\n"
                    "    return model"
                )
            },
            {"q2_tests"},
        ),
        (
            "wrong_original_lr",
            "ps07_transfer_learning.ipynb",
            # fine-tunes at the original learning rate instead of 0.1x
            {
                "q3_answer": (
                    "def compile_for_fine_tuning(model, learning_rate):\n"
                    "    model.compile(optimizer=keras.optimizers.Adam(learning_rate),\n"
                    "                  loss='sparse_categorical_crossentropy',\n"
                    "                  metrics=['accuracy'])\n"
                    "    return model"
                )
            },
            {"q3_tests"},
        ),
    ],
    "ps08": [
        (
            "wrong_iou_plus_one",
            "ps08_detection_primitives.ipynb",
            # inclusive-coordinate IoU (widths x2 - x1 + 1) where the convention is continuous
            {
                "q1_answer": (
                    "def iou_matrix(boxes_a, boxes_b):\n"
                    "    a, b = np.asarray(boxes_a, float), np.asarray(boxes_b, float)\n"
                    "    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], "
                    "b[None, :, 0]) + 1\n"
                    "    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], "
                    "b[None, :, 1]) + 1\n"
                    "    inter = np.clip(w, 0, None) * np.clip(h, 0, None)\n"
                    "    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)\n"
                    "    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)\n"
                    "    return inter / (area_a[:, None] + area_b[None, :] - inter)"
                )
            },
            {"q1_tests"},
        ),
        (
            "wrong_encode_corners",
            "ps08_detection_primitives.ipynb",
            # offsets between the top-left corners instead of the centres
            {
                "q3_answer": (
                    "def encode(proposals, gt):\n"
                    "    p, g = np.asarray(proposals, float), np.asarray(gt, float)\n"
                    "    pw, ph = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]\n"
                    "    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]\n"
                    "    return np.stack([(g[:, 0] - p[:, 0]) / pw, (g[:, 1] - p[:, 1]) / ph,\n"
                    "                     np.log(gw / pw), np.log(gh / ph)], axis=1)\n"
                    "\n"
                    "\n"
                    "def decode(proposals, deltas):\n"
                    "    p, d = np.asarray(proposals, float), np.asarray(deltas, float)\n"
                    "    pw, ph = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]\n"
                    "    x1, y1 = p[:, 0] + d[:, 0] * pw, p[:, 1] + d[:, 1] * ph\n"
                    "    w, h = pw * np.exp(d[:, 2]), ph * np.exp(d[:, 3])\n"
                    "    return np.stack([x1, y1, x1 + w, y1 + h], axis=1)"
                )
            },
            {"q3_tests"},
        ),
        (
            "wrong_roi_average",
            "ps08_detection_primitives.ipynb",
            # average pooling over each bin instead of max pooling
            {
                "q5_answer": (
                    "def roi_max_pool(feature_map, roi, output_size):\n"
                    "    fm = np.asarray(feature_map, dtype=float)\n"
                    "    height, width, channels = fm.shape\n"
                    "    oh, ow = output_size\n"
                    "    xa, ya, xb, yb = (int(np.floor(v + 0.5)) for v in roi)\n"
                    "    roi_w, roi_h = max(xb - xa, 1), max(yb - ya, 1)\n"
                    "    out = np.zeros((oh, ow, channels))\n"
                    "    for i in range(oh):\n"
                    "        r0 = min(max(ya + int(np.floor(i * roi_h / oh)), 0), height)\n"
                    "        r1 = min(max(ya + int(np.ceil((i + 1) * roi_h / oh)), 0), height)\n"
                    "        for j in range(ow):\n"
                    "            c0 = min(max(xa + int(np.floor(j * roi_w / ow)), 0), width)\n"
                    "            c1 = min(max(xa + int(np.ceil((j + 1) * roi_w / ow)), 0), width)\n"
                    "            if r1 > r0 and c1 > c0:\n"
                    "                out[i, j] = fm[r0:r1, c0:c1].mean(axis=(0, 1))\n"
                    "    return out"
                )
            },
            {"q5_tests"},
        ),
    ],
    "ps09": [
        (
            "wrong_params_no_biases",
            "ps09_exam_practice.ipynb",
            # counts the weights only although the question says every layer has biases
            {
                "q2_answer": (
                    "answer_q2 = (3 * 3 * 3 * 32 + 3 * 3 * 32 * 32 + 3 * 3 * 32 * 64\n"
                    "             + 8 * 8 * 64 * 256 + 256 * 10)"
                )
            },
            {"q2_tests"},
        ),
        (
            "wrong_iou_plus_one",
            "ps09_exam_practice.ipynb",
            # inclusive-coordinate widths (x2 - x1 + 1) where the convention is continuous
            {
                "q12_answer": (
                    "_inter = (8 - 5 + 1) * (9 - 5 + 1)\n"
                    "answer_q12 = _inter / ((8 - 2 + 1) * (9 - 3 + 1) + (12 - 5 + 1) * (10 - 5 + 1)"
                    " - _inter)"
                )
            },
            {"q12_tests"},
        ),
    ],
}


def _notebooks(folder):
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Regenerate the release of one assignment and autograde all kinds of submission."""
    assignment = request.param
    course = pipe.make_course_copy(tmp_path_factory.mktemp(f"course-{assignment}"))
    release_dir = pipe.generate_release(course, assignment)
    source_nbs = _notebooks(course / "source" / assignment)
    release_nbs = _notebooks(release_dir)
    reference = {
        name: pipe.fill_answers(release_nbs[name], pipe.solution_cells(source_nbs[name]))
        for name in release_nbs
    }
    pipe.submit(course, assignment, "reference", reference)
    pipe.submit(course, assignment, "untouched", release_nbs)
    for student, name, wrong, _ in WRONG_ANSWERS.get(assignment, []):
        answers = pipe.solution_cells(source_nbs[name]) | wrong
        pipe.submit(course, assignment, student,
                    {**reference, name: pipe.fill_answers(release_nbs[name], answers)})
    pipe.autograde(course, assignment)
    return assignment, course, release_dir


def test_committed_release_matches_regenerated_release(graded):
    assignment, _, release_dir = graded
    committed = pipe.REPO_ROOT / "release" / assignment
    assert committed.is_dir(), f"release/{assignment} is missing: run `make release`"
    regenerated = _notebooks(release_dir)
    assert sorted(p.name for p in committed.glob("*.ipynb")) == sorted(regenerated), (
        f"release/{assignment} holds other notebooks than source/{assignment}: run `make release`"
    )
    for name, nb in regenerated.items():
        stored = nbformat.read(committed / name, as_version=4)
        assert pipe.normalise_notebook(stored) == pipe.normalise_notebook(nb), (
            f"release/{assignment}/{name} is out of date with source/: run `make release`"
        )


def test_release_hides_solutions_and_hidden_tests(graded):
    assignment, course, release_dir = graded
    for name, nb in _notebooks(release_dir).items():
        text = nbformat.writes(nb)
        assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)|END (SOLUTION|HIDDEN TESTS)", text)
        source = nbformat.read(course / "source" / assignment / name, as_version=4)
        hidden = [
            line.strip()
            for cell in source.cells
            for block in re.findall(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", cell.source, re.S)
            for line in block.splitlines()[1:-1]
            if len(line.strip()) > 25
        ]
        assert hidden, f"{name}: every assignment should have hidden tests"
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"hidden test lines visible in release/{assignment}/{name}: {leaked[:3]}"


def test_reference_solution_gets_full_marks(graded):
    assignment, course, _ = graded
    for name, grade in pipe.read_grades(course, assignment, "reference").items():
        lost = {k: v for k, v in grade.cells.items() if v[0] != v[1]}
        assert grade.max_score > 0
        assert grade.score == grade.max_score, f"{name}: reference solution lost points in {lost}"


def test_untouched_release_gets_zero(graded):
    assignment, course, _ = graded
    for name, grade in pipe.read_grades(course, assignment, "untouched").items():
        earned = {k: v for k, v in grade.cells.items() if v[0] != 0}
        assert grade.score == 0, f"{name}: the untouched notebook earned points in {earned}"


def test_every_assignment_has_a_wrong_answer_case():
    missing = [a for a in ASSIGNMENTS if not WRONG_ANSWERS.get(a)]
    assert not missing, f"add a one-wrong-answer case for {missing} to WRONG_ANSWERS"


def test_one_wrong_answer_loses_exactly_its_points(graded):
    assignment, course, _ = graded
    full = pipe.read_grades(course, assignment, "reference")
    for student, name, _, failing in WRONG_ANSWERS.get(assignment, []):
        grades = pipe.read_grades(course, assignment, student)[name]
        expected_loss = sum(full[name].cells[cell][1] for cell in failing)
        for cell, (score, max_score) in grades.cells.items():
            want = 0 if cell in failing else max_score
            assert score == want, f"{student}: {cell} scored {score}/{max_score}, expected {want}"
        assert grades.score == full[name].max_score - expected_loss


@pytest.mark.nbgrader
def test_validate_passes_a_correct_answer_that_prints_a_warning(tmp_path):
    """Students' Validate (plain ``nbgrader validate`` with the course's config) does not fail
    a test cell because the student's correct function warns on stderr; without the course's
    config, nbgrader's own rule fails it (the control)."""
    source = nbformat.read(ROOT / "source" / "ps01" / "ps01_convolution_arithmetic.ipynb", 4)
    release = nbformat.read(ROOT / "release" / "ps01" / "ps01_convolution_arithmetic.ipynb", 4)
    answers = pipe.solution_cells(source)
    answers["q1_answer"] = (  # q1's visible test calls it: the warning lands in a test cell
        "import warnings\n\n\n"
        "def conv_output_size(n, f, stride=1, padding=0):\n"
        "    warnings.warn('conv_output_size: integers only', UserWarning, stacklevel=2)\n"
        "    padded = n + 2 * padding\n"
        "    if f > padded or (padded - f) % stride:\n"
        "        raise ValueError(f'a {f}-wide window with stride {stride} does not tile {n}')\n"
        "    return (padded - f) // stride + 1\n")
    path = tmp_path / "ps01_convolution_arithmetic.ipynb"
    nbformat.write(pipe.fill_answers(release, answers), path)
    validate = [str(Path(sys.executable).with_name("nbgrader")), "validate", str(path)]
    env = {**os.environ, "CNN_COURSE_FAST": "1"}
    course = subprocess.run(validate, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert "Success! Your notebook passes all the tests." in course.stdout, (
        course.stdout[-3000:] + course.stderr[-2000:])
    assert "[stderr]" not in course.stdout  # nothing failed, so nothing is listed
    plain = subprocess.run(validate, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600)
    assert "VALIDATION FAILED" in plain.stdout, plain.stdout[-3000:]
    assert "integers only" in plain.stdout
