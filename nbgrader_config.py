"""nbgrader configuration: the course root is this file's own directory.

The root is computed as an absolute path (nbgrader misbehaves with a relative
one), so the same file works in any clone and in the temporary course copies
the tests make.
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")

# Assignments import TensorFlow, whose first import alone takes several seconds.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120

# A warning on stderr must not cost a test cell its points (nbgrader #1904): right after
# executing, course_admin.nbgrader_hooks.VisibleStderr relabels test cells' stderr as
# stdout marked "[stderr]" (still visible); the rest is nbgrader 0.9.6's own list.
# The same for Validate (the students' button and `nbgrader validate`), which runs only
# nbgrader's Execute and takes no preprocessors from the config: helpers.checks wraps
# Execute's on_cell_executed to relabel each test cell's stderr right after it runs.
from helpers.checks import relabel_stderr_in_validate  # noqa: E402

relabel_stderr_in_validate()

c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "course_admin.nbgrader_hooks.VisibleStderr",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Student-facing cell placeholders.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A course-local exchange, so release/fetch/submit work on one machine without
# root (the default, /srv/nbgrader/exchange, needs an administrator).
c.Exchange.root = os.path.join(ROOT, ".exchange")

# Feedback never shows a hidden test (nbgrader #917 writes them into the HTML): the plain
# `nbgrader generate_feedback` and the formgrader's button cut them out as `course feedback`
# does, keeping a failed hidden check's hint only.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course_admin.nbgrader_hooks.HideHiddenTests",
    "course_admin.nbgrader_hooks.QuestionTitles",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# ... and names each graded cell by its question in the page's contents ("Question 3 (a): ...",
# not "Test cell" ten times): the course's template extends nbgrader's feedback template.
import course_admin  # noqa: E402
import nbgrader  # noqa: E402

c.HTMLExporter.template_name = "course_feedback"
c.HTMLExporter.template_file = "course_index.html.j2"  # it extends nbgrader's index.html.j2
c.HTMLExporter.extra_template_basedirs = [
    os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader",
                 "templates"),
    os.path.join(os.path.dirname(course_admin.__file__), "templates"),
]
