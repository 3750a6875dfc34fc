"""pytest setup for the differential tests (real supervisord vs nbsup).

* Puts this directory on ``sys.path`` so tests can ``import supervisord_oracle``
  (the tests tree has no ``__init__.py`` files; this also works with
  ``--import-mode=importlib``).
* Registers the ``differential`` marker here rather than in pyproject.toml.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "differential: runs the real supervisord (and/or nbsup) on the same "
        "scenarios and compares transition sequences (slow, spawns processes)",
    )
