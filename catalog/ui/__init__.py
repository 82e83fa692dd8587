"""The web UI: static pages served by the catalog server at ``/``.

The pages are plain HTML, CSS and JavaScript modules shipped in this package (no build step, no
CDN, nothing fetched from the internet); they call the same REST API as every other client with
the user's token, so the UI shows only what that user may read.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
