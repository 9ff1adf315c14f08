"""Autolog: one call, and training code logs to hf_mltrack without other changes.

```python
import hf_mltrack
hf_mltrack.autolog()                                # every supported framework that is installed
hf_mltrack.transformers.autolog(log_models=False)   # one framework, with its options
hf_mltrack.autolog(disable=True)                    # everything restored exactly
```

Frameworks: ``transformers`` (every ``Trainer`` gets an `MlTrackCallback`) and ``pytorch``
(TensorBoard ``SummaryWriter`` scalars and ``accelerate.Accelerator`` logging). Nothing heavy is
imported: a framework is patched when the user imports it (at once if it already is).

``hf_mltrack.autolog`` is the plain function `autolog` below (as in MLflow); the per-framework
functions are ``hf_mltrack.transformers.autolog`` and ``hf_mltrack.pytorch.autolog``. This package is
named ``autologging`` so that importing it never rebinds the ``hf_mltrack.autolog`` attribute.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from . import pytorch, transformers

# framework -> the package that must be installed for it
_FRAMEWORKS: dict[str, str] = {"transformers": "transformers", "pytorch": "torch"}


def autolog(
    log_models: bool = True,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, Any] | None = None,
) -> list[str]:
    """Enable (or with ``disable=True`` disable) autologging for every supported installed framework.

    Args:
        log_models (`bool`, *optional*, defaults to `True`): log trained models.
        log_input_examples (`bool`, *optional*, defaults to `False`): log input examples with models.
        log_model_signatures (`bool`, *optional*, defaults to `True`): log model signatures.
        log_datasets (`bool`, *optional*, defaults to `True`): log dataset information.
        log_traces (`bool`, *optional*, defaults to `True`): trace inference where supported.
        disable (`bool`, *optional*, defaults to `False`): turn autolog off and restore every patch.
        silent (`bool`, *optional*, defaults to `False`): no warnings from autolog.
        registered_model_name (`str`, *optional*): register logged models under this name.
        extra_tags (`dict`, *optional*): tags set on autologged Trainer runs.

    Returns:
        `list[str]`: the frameworks that were enabled (or disabled).
    """
    done: list[str] = []
    for name, package in _FRAMEWORKS.items():
        if not disable and importlib.util.find_spec(package) is None:
            continue
        if name == "transformers":
            transformers.autolog(
                log_models=log_models,
                log_input_examples=log_input_examples,
                log_model_signatures=log_model_signatures,
                log_traces=log_traces,
                log_datasets=log_datasets,
                disable=disable,
                silent=silent,
                registered_model_name=registered_model_name,
                extra_tags=extra_tags,
            )
        else:
            pytorch.autolog(
                log_models=log_models,
                log_datasets=log_datasets,
                disable=disable,
                silent=silent,
                registered_model_name=registered_model_name,
            )
        done.append(name)
    return done


__all__ = ["autolog", "pytorch", "transformers"]
