"""Options shared by several command families."""

from __future__ import annotations

import click

tracking_uri_option = click.option(
    "--tracking-uri", envvar="HF_MLTRACK_TRACKING_URI", default=None, help="Store to use (default: ./mlruns)."
)
