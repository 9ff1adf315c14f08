"""Datasets as MLflow 3 records them: a name, a digest, where the data came from, its schema and size.

``from_huggingface`` reads the digest from the dataset's own fingerprint (nothing is hashed) and the
schema from its features; ``from_pandas`` hashes rows with pandas' own ``hash_pandas_object``;
``from_numpy`` and ``from_dict`` hash the array bytes. Log one with ``hf_mltrack.log_input(ds,
context="training")``.
"""

from __future__ import annotations

from .dataset import Dataset, from_dict, from_huggingface, from_numpy, from_pandas

__all__ = ["Dataset", "from_dict", "from_huggingface", "from_numpy", "from_pandas"]
