"""Sphinx configuration of the probconstraints documentation.

Build with ``bash scripts/docs.sh`` (warnings are errors, the guides' code cells are executed).
The API reference is generated at build time by autosummary from each module's ``__all__``
(``_templates/autosummary/module.rst``), so a renamed or added public name follows by itself.
"""

import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the packages (an editable install finds them too)

import nfbst  # noqa: E402

project = "probconstraints"
author = "probconstraints developers"
copyright = "probconstraints developers, MIT licence"  # noqa: A001
release = nfbst.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]

# ------------------------------------------------------------------ sources
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
root_doc = "index"
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# ------------------------------------------------------- executed guide pages
# Every code cell of the guides runs at build time (a failing cell fails the build);
# each page is a few seconds of CPU on small data.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# ------------------------------------------------------------ API reference
autosummary_generate = True
autosummary_ignore_module_all = False  # members of a module page = its __all__
autosummary_imported_members = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False  # autoclass :members: (class template) documents them
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


# ------------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"probconstraints {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# single pages without a section: no empty navigation column
html_sidebars = {"index": [], "changelog": [], "citing": []}
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}

# warnings from libraries at import or run time are not documentation problems
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore::FutureWarning")


# ------------------------------------------------------------ docstring hooks
# Docstrings write absolute values as plain text, |posterior mean| or |z_j|, which reST reads
# as a substitution reference (an error). Escape such bars outside inline literals and code
# examples, instead of editing docstrings in packages that other work is changing.
import re  # noqa: E402

_BARS = re.compile(r"(?<![\w\\|`])\|(?=[^\s|`])([^|`]*?[^\s|`\\])\|(?![\w|`])")


def _escape_absolute_value_bars(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith((">>>", "...")) or "|" not in line:
            continue
        parts = line.split("``")
        for k in range(0, len(parts), 2):  # even parts are outside ``literals``
            parts[k] = _BARS.sub(r"\\|\1\\|", parts[k])
        lines[i] = "``".join(parts)


# scikit-learn's metadata-routing helpers (set_fit_request, ...) are generated per class and
# documented by scikit-learn itself
def _skip_sklearn_request_methods(app, what, name, obj, skip, options):
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_absolute_value_bars, priority=400)
    app.connect("autodoc-skip-member", _skip_sklearn_request_methods)
