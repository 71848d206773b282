"""The concept code, shown in the lecture that teaches it (as d2l writes it in the chapter).

``show_code(small.build_cnn1)`` in a notebook displays the function's source, syntax
highlighted, so the lecture shows the code it runs without copying it into a cell. A function
that an assignment asks students to write is not shown anywhere: in the student edition its
module ships as bytecode, and ``tests/course_admin/test_bundle.py`` checks that no lecture
shows one.
"""

from __future__ import annotations

import inspect
import textwrap

from IPython.display import Code


def show_code(obj: object) -> Code:
    """The source of a function or class, for display in a notebook.

    Args:
        obj: a function, class or method defined in a ``.py`` file.

    Returns:
        An ``IPython.display.Code`` (Python highlighting; its plain-text form is the source).

    Raises:
        TypeError: ``obj`` has no source (a built-in, an instance).
        OSError: the source is not available (a module shipped as bytecode only).
    """
    try:
        source = inspect.getsource(obj)
    except TypeError as err:
        raise TypeError(f"show_code needs a function or a class, got {type(obj).__name__}: "
                        f"{err}") from None
    except OSError as err:
        name = getattr(obj, "__qualname__", repr(obj))
        raise OSError(f"the source of {name} is not available here ({err}); in the student "
                      "edition the modules that hold an assignment's answers ship as bytecode"
                      ) from None
    return Code(textwrap.dedent(source), language="python")
