"""read_supervisord_log checked against its reference: the per-message replay.

A plain module (``conftest.py`` puts this folder on ``sys.path``). :func:`read_both_ways`
has the signature of ``read_supervisord_log``: it reads the log with the column-wise
replay and with :func:`read_supervisord_log_per_message` (every message replayed one at a
time, the implementation the column-wise one replaced) and fails unless both frames are
exactly equal (values, dtypes, row order, attrs).
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from nbsup.analysis.logreader import read_supervisord_log, read_supervisord_log_per_message


def assert_same_frame(fast: pd.DataFrame, reference: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(fast, reference, check_exact=True)
    assert list(fast.columns) == list(reference.columns)
    assert (fast.dtypes == reference.dtypes).all()
    assert fast.attrs == reference.attrs


def read_both_ways(path_or_file: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
    """The frame of ``read_supervisord_log``, asserted equal to the reference's."""
    if hasattr(path_or_file, "read"):
        content = path_or_file.read()
        reopen = io.StringIO if isinstance(content, str) else io.BytesIO
        fast = read_supervisord_log(reopen(content), *args, **kwargs)
        reference = read_supervisord_log_per_message(reopen(content), *args, **kwargs)
    else:
        fast = read_supervisord_log(path_or_file, *args, **kwargs)
        reference = read_supervisord_log_per_message(path_or_file, *args, **kwargs)
    assert_same_frame(fast, reference)
    return fast
