"""The digest a run records for a dataset it used: the same rows give the same digest."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DIGEST_LENGTH = 32


def frame_digest(frame: pd.DataFrame) -> str:
    """A content digest of a DataFrame's rows (32 hex characters); the index is left out."""
    import pandas as pd

    try:
        hashed = pd.util.hash_pandas_object(frame, index=False)
    except TypeError:  # list, struct and map columns hold unhashable values: hash their text
        hashed = pd.util.hash_pandas_object(frame.astype(str), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:DIGEST_LENGTH]
