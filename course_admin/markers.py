"""nbgrader's cell markers, recognised in one place (release, feedback, student edition)."""

from __future__ import annotations

import re

#: a line that is one of nbgrader's markers (``### BEGIN SOLUTION``, ``### END HIDDEN TESTS``)
MARKER_LINE = re.compile(r"^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)\s*$")

#: the first and the last line of a hidden-tests block
HIDDEN_BEGIN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
HIDDEN_END = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")

#: a whole solution or hidden-tests block; group 2 is what is between the markers
BLOCK = re.compile(r"#+\s*BEGIN (SOLUTION|HIDDEN TESTS)(.*?)#+\s*END (SOLUTION|HIDDEN TESTS)",
                   re.S)
