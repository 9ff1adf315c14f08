"""`Dataset` and its constructors (``from_huggingface``, ``from_pandas``, ``from_numpy``, ``from_dict``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..entities.dataset import Dataset as DatasetEntity
from ..exceptions import InvalidParameterError

_DIGEST_CHARS = 8  # as MLflow's digests: short, shown in the UI, unique enough per experiment


@dataclass
class Dataset:
    """A dataset a run read.

    Attributes:
        name (`str`): shown in the UI and matched by ``datasets.name`` in ``search_runs``.
        digest (`str`): a short fingerprint of the content.
        source_type (`str`): ``"hf"``, ``"local"``, ``"code"``.
        source (`dict`): where the data came from (hub path, files, config, split).
        schema (`dict`, *optional*): the columns.
        profile (`dict`, *optional*): sizes, e.g. ``{"num_rows": 1000}``.
        data (*optional*): the data itself (not stored).
    """

    name: str
    digest: str
    source_type: str
    source: dict[str, Any]
    schema: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    data: Any = field(default=None, repr=False, compare=False)

    def _to_entity(self) -> DatasetEntity:
        return DatasetEntity(
            name=self.name,
            digest=self.digest,
            source_type=self.source_type,
            source=json.dumps(self.source, sort_keys=True, default=str),
            schema=json.dumps(self.schema, default=str) if self.schema is not None else None,
            profile=json.dumps(self.profile, default=str) if self.profile is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return self._to_entity().to_dict()


def _short(hexdigest: str) -> str:
    return hexdigest[:_DIGEST_CHARS]


def from_huggingface(
    ds: Any,
    path: str | None = None,
    name: str | None = None,
    data_files: Any = None,
    revision: str | None = None,
    digest: str | None = None,
) -> Dataset:
    """A HuggingFace ``datasets.Dataset``: digest from its fingerprint, schema from its features.

    Args:
        ds (`datasets.Dataset`): the dataset (a split, not a ``DatasetDict``).
        path (`str`, *optional*): the hub path or builder (``"imdb"``, ``"json"``); default: the one it
            was built from, when known.
        name (`str`, *optional*): default: ``path`` (or the builder name), with the split.
        data_files (*optional*): the local files it was read from.
        revision (`str`, *optional*): the hub revision.
        digest (`str`, *optional*): override the fingerprint.
    """
    fingerprint = getattr(ds, "_fingerprint", None)
    if not hasattr(ds, "features") or (fingerprint is None and digest is None):
        kind = type(ds).__name__
        hint = " (pick a split: ds['train'])" if kind in ("DatasetDict", "IterableDatasetDict") else ""
        raise InvalidParameterError(f"from_huggingface needs a datasets.Dataset, got {kind}{hint}")
    info = getattr(ds, "info", None)
    builder = getattr(info, "builder_name", None) or getattr(info, "dataset_name", None)
    split = str(ds.split) if getattr(ds, "split", None) is not None else None
    source_path = path or builder or "in-memory"
    source: dict[str, Any] = {"path": source_path}
    config = getattr(info, "config_name", None)
    if config:
        source["config_name"] = config
    if split:
        source["split"] = split
    if data_files is not None:
        source["data_files"] = data_files
    if revision:
        source["revision"] = revision
    try:
        features = ds.features.to_dict()
    except Exception:
        features = {k: str(v) for k, v in dict(ds.features).items()}
    return Dataset(
        name=name or (f"{source_path}:{split}" if split else source_path),
        digest=digest or _short(str(fingerprint)),
        source_type="hf" if path or builder else "code",
        source=source,
        schema={"hf_features": features},
        profile={"num_rows": ds.num_rows},
        data=ds,
    )


def from_pandas(df: Any, source: str | None = None, name: str | None = None, targets: str | None = None) -> Dataset:
    """A pandas DataFrame: digest from ``pandas.util.hash_pandas_object`` over rows and columns."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidParameterError(f"from_pandas needs a pandas.DataFrame, got {type(df).__name__}")
    h = hashlib.sha256(pd.util.hash_pandas_object(df, index=True).values.tobytes())
    h.update(json.dumps([str(c) for c in df.columns]).encode())
    schema: dict[str, Any] = {"columns": [{"name": str(c), "type": str(t)} for c, t in df.dtypes.items()]}
    if targets is not None:
        schema["targets"] = targets
    return Dataset(
        name=name or "dataframe",
        digest=_short(h.hexdigest()),
        source_type="local" if source else "code",
        source={"uri": source} if source else {"tags": {}},
        schema=schema,
        profile={"num_rows": len(df), "num_elements": int(df.size)},
        data=df,
    )


def _hash_arrays(arrays: dict[str, Any]) -> str:
    import numpy as np

    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes() if a.dtype != object else json.dumps(a.tolist(), default=str).encode())
    return _short(h.hexdigest())


def from_numpy(features: Any, source: str | None = None, targets: Any = None, name: str | None = None) -> Dataset:
    """A numpy array (or a dict of arrays) of features, optionally with targets."""
    import numpy as np

    arrays = (
        {k: np.asarray(v) for k, v in features.items()}
        if isinstance(features, dict)
        else {"features": np.asarray(features)}
    )
    if targets is not None:
        arrays["targets"] = np.asarray(targets)
    return Dataset(
        name=name or "numpy",
        digest=_hash_arrays(arrays),
        source_type="local" if source else "code",
        source={"uri": source} if source else {"tags": {}},
        schema={k: {"dtype": str(a.dtype), "shape": list(a.shape)} for k, a in arrays.items()},
        profile={k: {"shape": list(a.shape)} for k, a in arrays.items()},
        data=arrays,
    )


def from_dict(data: dict[str, Any], source: str | None = None, name: str | None = None) -> Dataset:
    """Columns given as a dict of lists."""
    if not isinstance(data, dict) or not data:
        raise InvalidParameterError("from_dict needs a non-empty dict of columns, e.g. {'text': [...], 'label': [...]}")
    ds = from_numpy(data, source=source, name=name or "dict")
    lengths = {len(v) for v in data.values()}
    ds.profile = {"num_rows": lengths.pop() if len(lengths) == 1 else None, "columns": sorted(data)}
    ds.data = data
    return ds
