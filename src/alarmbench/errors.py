"""The one base class of errors in what the user gave (config entries, data files).

An `InputError` message says what is wrong and where (file, key, column, row, value), so a
workflow job reports it as one line without a traceback (alarmbench.workflow_log.logged).
Kept free of imports: every job's log wrapper imports it.
"""

from __future__ import annotations


class InputError(ValueError):
    """The user's input is wrong; the message alone tells them what to fix."""
