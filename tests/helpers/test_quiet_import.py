"""helpers._quiet_import: TensorFlow imported with oneDNN on and nothing on stderr; real
messages and import errors still seen."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TF_CODE = ("import helpers\nimport keras\nimport tensorflow as tf\n"
           "assert tf.__spec__.loader.is_package('tensorflow')\n"
           "print(tf.nn.conv2d(tf.ones((1, 4, 4, 1)), tf.ones((2, 2, 1, 1)), 1, 'VALID')"
           ".numpy().sum())\n"
           "from helpers import _quiet_import as q\n"
           "print(any('oneDNN custom operations are on' in line for line in q.dropped))\n")


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd) if cwd else ""}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


def test_tensorflow_imports_with_onednn_on_and_nothing_on_stderr():
    done = _python(TF_CODE)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.split() == ["36.0", "True"]  # the conv ran; oneDNN said it was on


def test_a_notebook_cell_importing_keras_writes_nothing_to_stderr():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(part) for part in TF_CODE.split("\n") if part]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    streams = [o for c in nb.cells for o in c.outputs if o.output_type == "stream"]
    assert [o.name for o in streams] == ["stdout", "stdout"], streams
    assert "".join(o.text for o in streams).split() == ["36.0", "True"]


def test_other_messages_are_written_back_and_a_failed_import_says_what_it_printed(tmp_path):
    (tmp_path / "noisy").mkdir()
    (tmp_path / "noisy" / "__init__.py").write_text(
        "import os\nos.write(2, b'oneDNN custom operations are on.\\n')\n"
        "os.write(2, b'a real warning\\n')\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "__init__.py").write_text(
        "import os\nos.write(2, b'libfoo.so: cannot open shared object file\\n')\n"
        "raise ImportError('broken could not load libfoo')\n")
    code = textwrap.dedent("""
        from helpers._quiet_import import quiet_first_import
        quiet_first_import("noisy")
        quiet_first_import("broken")
        import noisy
        try:
            import broken
        except ImportError as exc:
            print("raised:", exc, "|", " ".join(exc.__notes__))
    """)
    done = _python(f"import sys; sys.path.insert(0, {str(Path.cwd())!r})\n" + code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "a real warning\n"  # the notice dropped, the rest kept
    assert "raised: broken could not load libfoo" in done.stdout
    assert "while importing broken, it printed:" in done.stdout
    assert "libfoo.so: cannot open shared object file" in done.stdout
