"""Reading a recipe's configuration: ``recipe.yaml`` and ``profiles/<profile>.yaml``.

The profile overrides the recipe: mappings are merged key by key, any other value replaces the recipe's.
A profile can also fill ``{{ NAME }}`` placeholders of ``recipe.yaml`` (MLflow's style):

```yaml
# recipe.yaml                              # profiles/local.yaml
data:                                      INGEST_DATA_LOCATION: ./data/train.csv
  location: {{ INGEST_DATA_LOCATION }}     steps:
  format: csv                                train:
                                               estimator_params: {n_estimators: 10}
```

Placeholders are plain names (or dotted paths into the profile) replaced by their value; there is no
templating engine, so nothing in either file is evaluated. Both files are parsed with a safe YAML loader.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hf_mltrack.exceptions import InvalidParameterError

if TYPE_CHECKING:
    from pydantic import BaseModel

_logger = logging.getLogger(__name__)
_WARNED: set[tuple[str, str]] = set()

RECIPE_FILE = "recipe.yaml"
PROFILES_DIR = "profiles"

STEPS = ("ingest", "split", "transform", "train", "evaluate", "register")

_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_VARIABLE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise InvalidParameterError(f"Cannot read {path!r}: {exc.strerror}") from None


def _parse(text: str, path: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidParameterError(f"Invalid YAML in {path!r}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidParameterError(
            f"{path!r} must hold a mapping of keys (recipe:, target:, ...), got {type(data).__name__}"
        )
    return data


def _lookup(variables: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    value: Any = variables
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)  # numbers, booleans, null, lists and mappings as YAML flow values


def substitute(text: str, variables: Mapping[str, Any], recipe_path: str, profile_path: str | None) -> str:
    """Replace each ``{{ NAME }}`` of ``text`` with the value of ``NAME`` in ``variables``."""
    if "{%" in text or "{#" in text:
        raise InvalidParameterError(
            f"{recipe_path!r} uses template statements ({{% ... %}} or {{# ... #}}); recipes support only "
            "{{ NAME }} placeholders filled from the profile"
        )

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if not _NAME.match(name):
            raise InvalidParameterError(
                f"{recipe_path!r} has the placeholder {match.group(0)!r}: only plain names like "
                "{{ INGEST_DATA_LOCATION }} are supported (no expressions or filters)"
            )
        found, value = _lookup(variables, name)
        if not found:
            source = repr(profile_path) if profile_path else "the profile (none was given)"
            raise InvalidParameterError(f"{recipe_path!r} uses {{{{ {name} }}}} but {source} does not define {name!r}")
        return _render_value(value)

    return _PLACEHOLDER.sub(replace, text)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top: mappings merge recursively, everything else is replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def available_profiles(root: str) -> list[str]:
    folder = os.path.join(root, PROFILES_DIR)
    if not os.path.isdir(folder):
        return []
    return sorted(f[: -len(".yaml")] for f in os.listdir(folder) if f.endswith(".yaml"))


def _profile_path(root: str, profile: str) -> str | None:
    """The profile's file; ``None`` when the recipe has no ``profiles/`` folder at all (nothing to override:
    the seed's example creates only ``recipe.yaml`` and runs ``Recipe(profile="local")``)."""
    if not isinstance(profile, str) or not re.match(r"^[A-Za-z0-9_.-]+$", profile) or profile.startswith("."):
        raise InvalidParameterError(
            f"Invalid profile {profile!r}: a profile is the name of a file in {PROFILES_DIR}/, e.g. 'local'"
        )
    path = os.path.join(root, PROFILES_DIR, f"{profile}.yaml")
    if not os.path.exists(os.path.join(root, PROFILES_DIR)):
        if (root, profile) in _WARNED:
            return None
        _WARNED.add((root, profile))
        _logger.warning(
            "Recipe in %r has no %s/ folder: profile %r overrides nothing (create %s to add overrides)",
            root,
            PROFILES_DIR,
            profile,
            path,
        )
        return None
    if not os.path.isfile(path):
        profiles = available_profiles(root)
        choices = f"available profiles: {', '.join(profiles)}" if profiles else f"{PROFILES_DIR}/ has no profiles"
        raise InvalidParameterError(f"Profile {profile!r} not found: no file {path!r} ({choices})")
    return path


def load_config(root: str, profile: str | None) -> tuple[dict[str, Any], list[str]]:
    """The merged, checked configuration of the recipe in ``root``; also returns the files read.

    Raises:
        `InvalidParameterError`: naming the file and the bad key or value.
    """
    recipe_path = os.path.join(root, RECIPE_FILE)
    if not os.path.isfile(recipe_path):
        raise InvalidParameterError(
            f"No {RECIPE_FILE} in {root!r}: run the recipe from its folder or pass Recipe(..., recipe_root=...)"
        )
    profile_path = _profile_path(root, profile) if profile is not None else None
    profile_conf: dict[str, Any] = {}
    if profile_path is not None:
        profile_conf = _parse(_read(profile_path), profile_path)
    recipe_conf = _parse(substitute(_read(recipe_path), profile_conf, recipe_path, profile_path), recipe_path)
    files = [recipe_path] + ([profile_path] if profile_path else [])
    where = " and ".join(repr(f) for f in files)
    # Upper-case top-level keys of the profile are placeholder variables, not configuration.
    overrides = {k: v for k, v in profile_conf.items() if not _VARIABLE_KEY.match(str(k))}
    merged = deep_merge(recipe_conf, overrides)
    merged = {k: v for k, v in merged.items() if not _VARIABLE_KEY.match(str(k))}
    return normalize(merged, where), files


def normalize(conf: dict[str, Any], where: str) -> dict[str, Any]:
    """Check every key and fill the defaults; the result is what steps read (and what caching hashes)."""
    from pydantic import ValidationError

    from hf_mltrack.recipes._schema import RecipeConfig, error_message
    from hf_mltrack.recipes.templates import get_template

    try:
        parsed = RecipeConfig.model_validate(conf)
    except ValidationError as exc:
        raise InvalidParameterError(error_message(exc, where)) from None
    if parsed.recipe is None:
        raise InvalidParameterError(
            f"{where} must name a template with 'recipe:', e.g. 'recipe: classification/v1' or 'recipe: regression/v1'"
        )
    template = get_template(parsed.recipe, where)
    target = parsed.target if parsed.target is not None else parsed.target_col
    if not isinstance(target, str) or not target:
        raise InvalidParameterError(f"{where} must name the label column with 'target: <column>'")

    def given(section: BaseModel | None) -> dict[str, Any]:
        return section.model_dump(exclude_unset=True) if section is not None else {}

    given_steps = parsed.steps.model_dump(exclude_unset=True, by_alias=True) if parsed.steps is not None else {}
    steps = {s: dict(given_steps.get(s) or {}) for s in STEPS}
    data = given(parsed.data)
    data.update(steps["ingest"])  # MLflow puts the data under steps.ingest; it wins over data:
    model = given(parsed.model)
    train = steps["train"]
    algorithm = train.get("algorithm", model.get("algorithm"))
    if algorithm is None:
        raise InvalidParameterError(
            f"{where} must choose an algorithm with 'model: {{algorithm: ...}}': valid algorithms for "
            f"{template.name} are {', '.join(sorted(template.algorithms))}"
        )
    template.algorithm(algorithm, where)  # fail early, listing the valid ones
    params: dict[str, Any] = {}
    for source in (model.get("estimator_params"), train.get("estimator_params")):
        params.update(source or {})
    primary = template.metric(
        parsed.primary_metric if parsed.primary_metric is not None else template.default_primary_metric,
        "primary_metric",
        where,
    )
    registry = given(parsed.model_registry)
    register = steps["register"]
    model_name = (
        register.get("registered_model_name")
        or register.get("model_name")
        or registry.get("registered_model_name")
        or registry.get("model_name")
    )
    return {
        "recipe": template.name,
        "target": target,
        "positive_class": parsed.positive_class,
        "primary_metric": primary.name,
        "data": data,
        "model": {"algorithm": str(algorithm).strip().lower(), "estimator_params": params},
        "steps": {
            **steps,
            "train": {"seed": train.get("seed")},
            "register": {
                "registered_model_name": model_name,
                "allow_non_validated_model": bool(register.get("allow_non_validated_model", False)),
                "tags": dict(register.get("tags") or {}),
            },
        },
        "experiment": given(parsed.experiment),
        "model_registry": {"registry_uri": registry.get("registry_uri")},
    }
