"""Logging for workflow jobs: the job's messages, warnings and any traceback go to its log file.

An `InputError` (the user's config or data is wrong; its message says what and where) is reported as
one line, `alarmbench: error: <message>`, without a traceback, and the job exits with status 1.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path

from alarmbench.errors import InputError


@contextlib.contextmanager
def logged(path: str):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            yield
        except InputError as err:
            line = f"alarmbench: error: {err}"
            fh.write(line + "\n")
            fh.flush()
            print(line, file=sys.stderr)
            raise SystemExit(1) from None
        except BaseException:
            traceback.print_exc(file=fh)
            traceback.print_exc(file=sys.stderr)
            raise
        finally:
            root.removeHandler(handler)
