"""Fetch raw data files reliably: local copy, then mirror, then network; always verified.

For one `RemoteFile` the routes are, in order:

1. ``dest_dir/<name>`` already present and verified: used as is, no network;
2. a file with the same upstream name anywhere below ``mirror`` (offline clusters):
   verified, then hard-linked or copied into place;
3. each URL in turn, streamed to ``<name>.part`` with retries, exponential backoff and
   HTTP Range resume, verified, and only then renamed to the final name;
4. for a file shipped inside an archive: the archive is fetched by routes 1-3 and the
   member extracted.

Verification uses the published sha256/size when known; otherwise the values seen the
first time are recorded in a `HashLock` file and every later fetch must match them. A file
without a published checksum must pass `check_format` for its kind (a zip opens and its
members read, a CSV's rows are whole, a table has its documented rows × columns, ...), and a
download is recorded ("pinned") only when its length is proven: by the server (Content-Length,
the Content-Range total, chunked framing), by the file's own framing (zip, gzip), or by the
registry's documented shape (`RemoteFile.shape`), which it must have. Otherwise (a table sent
without any length can be cut at a row boundary and still read as a table) it is used for this
run, not pinned, with a warning; a marker beside it makes the next fetch download it again.
Nothing ever appears under a final name unless it is complete and verified (docs/protocol.md#data-sources).
Registration-gated sources are never downloaded: `ManualDownloadRequired` names the portal
and the exact path where each missing file must go.

The parts, each one concern: `routes` (which route a file takes), `mirror` (local copies and
archives), `transfer` (HTTP retries and resume), `lock` (checksums and the pinning lock),
`formats` (format checks), `common` (errors).
"""

from alarmbench.data.download.common import ChecksumError, CorruptFileError, DownloadError, ManualDownloadRequired
from alarmbench.data.download.formats import check_format
from alarmbench.data.download.lock import HashLock, verify
from alarmbench.data.download.mirror import find_all_in_mirror, find_in_mirror
from alarmbench.data.download.routes import fetch_file, fetch_source
from alarmbench.data.download.transfer import download_url

__all__ = [
    "ChecksumError", "CorruptFileError", "DownloadError", "HashLock", "ManualDownloadRequired", "check_format",
    "download_url", "fetch_file", "fetch_source", "find_all_in_mirror", "find_in_mirror", "verify",
]  # fmt: skip
