"""Reading the recipe's data (``data.location`` / ``data.format``) and fingerprinting it for the cache."""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException

# format -> (pandas reader, default keyword arguments, file extensions)
READERS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "csv": ("read_csv", {}, (".csv", ".csv.gz", ".csv.zip", ".csv.bz2")),
    "tsv": ("read_csv", {"sep": "\t"}, (".tsv", ".tsv.gz")),
    "parquet": ("read_parquet", {}, (".parquet", ".pq")),
    "json": ("read_json", {}, (".json",)),
    "jsonl": ("read_json", {"lines": True}, (".jsonl", ".ndjson")),
    "feather": ("read_feather", {}, (".feather",)),
    "orc": ("read_orc", {}, (".orc",)),
    "excel": ("read_excel", {}, (".xlsx", ".xls")),
    "xml": ("read_xml", {}, (".xml",)),
    "fwf": ("read_fwf", {}, (".fwf",)),
    "stata": ("read_stata", {}, (".dta",)),
    "sas": ("read_sas", {}, (".sas7bdat", ".xpt")),
    "spss": ("read_spss", {}, (".sav",)),
}
# pandas readers that may unpickle objects stored in the file, or that are not file formats
_REFUSED = {
    "pickle": "it unpickles the file, which can run arbitrary code; save the data as parquet or csv",
    "pkl": "it unpickles the file, which can run arbitrary code; save the data as parquet or csv",
    "hdf": "HDF5 tables may hold pickled objects; save the data as parquet",
    "h5": "HDF5 tables may hold pickled objects; save the data as parquet",
}
_ALIASES = {"xlsx": "excel", "xls": "excel", "pq": "parquet", "ndjson": "jsonl", "txt": "csv"}


def _is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def resolve_locations(location: Any, root: str) -> list[str]:
    """The files (or URLs) ``data.location`` names: a path relative to the recipe folder, a glob, a folder,
    a ``file://`` URI, a URL, or a list of those."""
    if location is None:
        raise InvalidParameterError(
            "The recipe has no data: set 'data: {location: ./data/train.csv, format: csv}' in recipe.yaml"
        )
    items = location if isinstance(location, (list, tuple)) else [location]
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise InvalidParameterError(f"data.location must be a path or URL (or a list of them), got {item!r}")
        if _is_url(item):
            out.append(item)
            continue
        path = item[len("file://") :] if item.startswith("file://") else item
        path = os.path.expanduser(path)
        if not os.path.isabs(path):
            path = os.path.join(root, path)
        path = os.path.normpath(path)
        if any(ch in path for ch in "*?["):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                raise InvalidParameterError(f"data.location {item!r} matches no file (looked for {path!r})")
            out.extend(matches)
        elif os.path.exists(path):
            out.append(path)
        else:
            raise InvalidParameterError(
                f"data.location {item!r} does not exist (looked for {path!r}; relative paths are relative to "
                "the recipe folder)"
            )
    return out


def resolve_format(fmt: Any, locations: list[str]) -> str:
    """The reader for ``data.format`` (inferred from the file extension when not given)."""
    if fmt is None:
        first = locations[0].lower()
        for name, (_, _, exts) in READERS.items():
            if any(first.endswith(e) for e in exts):
                return name
        if os.path.isdir(locations[0]):
            return "parquet"
        raise InvalidParameterError(
            f"Cannot tell the format of {locations[0]!r}: set data.format to one of {', '.join(READERS)}"
        )
    if not isinstance(fmt, str):
        raise InvalidParameterError(f"data.format must be a string, got {fmt!r}")
    key = fmt.strip().lower()
    key = _ALIASES.get(key, key)
    if key in _REFUSED:
        raise InvalidParameterError(f"data.format {fmt!r} is not supported: {_REFUSED[key]}")
    if key not in READERS:
        raise InvalidParameterError(f"Unknown data.format {fmt!r}: valid formats are {', '.join(READERS)}")
    return key


def _files_of(path: str, fmt: str) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    if fmt == "parquet":
        return [path]  # pandas reads a parquet dataset folder as one table
    exts = READERS[fmt][2]
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(path) for f in names if f.lower().endswith(exts))
    if not files:
        raise InvalidParameterError(f"Folder {path!r} has no {fmt} files ({', '.join(exts)})")
    return files


def read_data(locations: list[str], fmt: str, options: Mapping[str, Any] | None) -> Any:
    """Read every location with the pandas reader of ``fmt`` and concatenate them."""
    import pandas as pd

    reader_name, defaults, _ = READERS[fmt]
    kwargs = {**defaults, **dict(options or {})}
    reader = getattr(pd, reader_name)
    frames = []
    for location in locations:
        for file in [location] if _is_url(location) else _files_of(location, fmt):
            try:
                frames.append(reader(file, **kwargs))
            except ImportError as exc:
                raise MlTrackException(
                    f"Reading {fmt} data needs an optional package: {exc}. Install it (pip install ...)"
                ) from exc
            except TypeError as exc:
                raise InvalidParameterError(f"Invalid data.options for format {fmt!r}: {exc}") from exc
            except Exception as exc:
                raise MlTrackException(f"Cannot read {file!r} as {fmt}: {exc}") from exc
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_fingerprint(locations: list[str], memo: dict[str, Any]) -> dict[str, str]:
    """``{file or URL: content hash}`` of the data, so the ingest step reruns only when the data changes.

    Hashing is skipped for a file whose size and modification time match ``memo`` (the previous ingest's
    record), so unchanged data costs one ``stat`` per file; a touched but identical file keeps its hash.
    URLs cannot be hashed without downloading them: they are fingerprinted by address, so remote data is
    read again only when the configuration changes or after ``recipe.clean("ingest")``.
    """
    out: dict[str, str] = {}
    for location in locations:
        if _is_url(location):
            out[location] = "url"
            continue
        files = (
            sorted(os.path.join(d, f) for d, _, names in os.walk(location) for f in names)
            if os.path.isdir(location)
            else [location]
        )
        for file in files:
            st = os.stat(file)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
            previous = memo.get(file)
            if isinstance(previous, dict) and previous.get("stamp") == stamp and previous.get("sha256"):
                out[file] = previous["sha256"]
            else:
                out[file] = _sha256_file(file)
            memo[file] = {"stamp": stamp, "sha256": out[file]}
    return out
