"""Typed entry point parameters and the argv built from a command template.

Commands never go through a shell. The template is split into argv items with :mod:`shlex` first and each
``{param}`` is then replaced *inside* its item, so a value such as ``"; touch x"`` or ``"$(id)"`` stays one
literal argument. The one place a value could reach a shell is a template that itself calls
``bash -c "... {param} ..."``: there the value is quoted with :func:`shlex.quote` before substitution.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import InvalidParameterError
from .spec import SCRIPT_EXTENSIONS, EntryPoint, ExecutionError, Parameter

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash"}


def _scheme(value: str) -> str | None:
    match = _SCHEME.match(value)
    return match.group(1).lower() if match else None


def _bad(param: Parameter, value: Any, expected: str, source: str = "value") -> InvalidParameterError:
    return InvalidParameterError(
        f"Parameter {param.name!r} expects {expected} (type {param.type}), got {source} {value!r}"
    )


def _as_text(param: Parameter, value: Any, source: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes) or not isinstance(value, str | int | float):
        raise _bad(param, value, "a string or number", source)
    text = str(value) if not isinstance(value, bool) else ("true" if value else "false")
    if "\x00" in text:
        raise InvalidParameterError(f"Parameter {param.name!r} contains a NUL character, which no argv can hold")
    return text


Downloader = Callable[[str, Parameter], str]


def convert_value(
    param: Parameter,
    value: Any,
    *,
    cwd: str | os.PathLike[str] | None = None,
    source: str = "value",
    download: Downloader | None = None,
) -> str:
    """Validate ``value`` against the parameter's type and return the text passed to the command.

    Args:
        param (`Parameter`): the declared parameter.
        value (`Any`): a user value (`str`, `int`, `float`, `os.PathLike`) or the declared default.
        cwd (`str`, *optional*): the folder relative ``path`` values are resolved against (the current one).
        source (`str`, *optional*, defaults to `"value"`): how the message names the value (``"default"``).
        download (`Callable`, *optional*): fetches a remote ``path`` value (``s3://...``, ``runs:/...``) and
            returns the local path; without it remote values are an error.

    Returns:
        `str`: the value's text: numbers as given, ``path`` values as absolute local paths.

    Raises:
        InvalidParameterError: the value does not fit the type; the message names the parameter and type.
    """
    if param.type == "float":
        if isinstance(value, bool):
            raise _bad(param, value, "a number", source)
        text = _as_text(param, value, source).strip()
        try:
            float(text)
        except ValueError:
            raise _bad(param, value, "a number", source) from None
        return text
    if param.type == "int":
        if isinstance(value, bool):
            raise _bad(param, value, "an integer", source)
        if isinstance(value, float):
            if not (math.isfinite(value) and value.is_integer()):
                raise _bad(param, value, "an integer", source)
            return str(int(value))
        text = _as_text(param, value, source).strip()
        try:
            return str(int(text))
        except ValueError:
            raise _bad(param, value, "an integer", source) from None
    text = _as_text(param, value, source)
    if param.type == "path":
        return _local_path(param, text, cwd, source, download)
    if param.type == "uri":
        return _uri(param, text, source)
    return text


def _local_path(
    param: Parameter, text: str, cwd: str | os.PathLike[str] | None, source: str, download: Downloader | None
) -> str:
    if not text.strip():
        raise _bad(param, text, "a local path", source)
    scheme = _scheme(text)
    if scheme == "file":
        from urllib.parse import unquote, urlparse

        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise _bad(param, text, "a local path (file:// URIs on other hosts are not local)", source)
        text = unquote(parsed.path)
    elif scheme is not None and len(scheme) > 1:  # one letter: a Windows drive, still a path
        if download is not None:
            return download(text, param)
        raise InvalidParameterError(
            f"Parameter {param.name!r} (type path) expects a local path, got the {scheme}:// URI {text!r}: "
            "declare the parameter as type uri and read it in the entry point, or download it first"
        )
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        path = Path(cwd if cwd is not None else os.getcwd()) / path
    return os.path.normpath(str(path))


def _uri(param: Parameter, text: str, source: str) -> str:
    scheme = _scheme(text)
    rest = text[len(scheme) + 1 :] if scheme else ""
    if scheme is None or not rest or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise _bad(param, text, "a URI such as s3://bucket/key, runs:/<id>/model or file:///abs/path", source)
    return text


def resolve_parameters(
    entry_point: EntryPoint,
    user_parameters: Mapping[str, Any] | None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    download: Downloader | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Type-check the user's parameters and fill in defaults.

    Args:
        entry_point (`EntryPoint`): the entry point being run.
        user_parameters (`Mapping[str, Any]`, *optional*): the values given by the user.
        cwd (`str`, *optional*): the folder relative ``path`` values are resolved against.
        download (`Callable`, *optional*): fetches remote ``path`` values (see `convert_value`).

    Returns:
        `tuple[dict[str, str], dict[str, str]]`: the declared parameters' values (defaults included) and the
        extra, undeclared ones (passed as ``--key value``).

    Raises:
        InvalidParameterError: a value has the wrong type, or required parameters have no value (all of
            them are named in one message).
    """
    user = dict(user_parameters or {})
    for key in user:
        if not isinstance(key, str) or not key:
            raise InvalidParameterError(f"Parameter names must be non-empty strings, got {key!r}")
    declared: dict[str, str] = {}
    missing: list[Parameter] = []
    for name, param in entry_point.parameters.items():
        if name in user and user[name] is not None:
            declared[name] = convert_value(param, user[name], cwd=cwd, download=download)
        elif param.default is not None:
            declared[name] = convert_value(param, param.default, cwd=cwd, source="default", download=download)
        else:
            missing.append(param)
    if missing:
        names = ", ".join(f"{p.name!r} (type {p.type})" for p in missing)
        example = " ".join(f"-P {p.name}=VALUE" for p in missing)
        raise InvalidParameterError(
            f"Entry point {entry_point.name!r} needs a value for {names}: pass {example} on the command line "
            f"or parameters={{{', '.join(repr(p.name) + ': ...' for p in missing)}}} to hf_mltrack.run()"
        )
    extra = {
        key: convert_value(Parameter(name=key, type="string"), value, cwd=cwd)
        for key, value in user.items()
        if key not in entry_point.parameters and value is not None
    }
    return declared, extra


def _shell_script_positions(argv: list[str]) -> set[int]:
    """Indexes of argv items that a shell will parse as a script (``bash -c SCRIPT``, ``sh -ec SCRIPT``)."""
    positions: set[int] = set()
    for i, item in enumerate(argv):
        if os.path.basename(item) not in _SHELLS:
            continue
        j = i + 1
        while j < len(argv) and argv[j].startswith("-") and argv[j] != "--":
            flag = argv[j]
            j += 1
            if not flag.startswith("--") and "c" in flag[1:]:
                if j < len(argv):
                    positions.add(j)
                break
    return positions


def _substitute(item: str, values: Mapping[str, str], entry_point: EntryPoint, quote: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in values:
            declared = ", ".join(sorted(values)) or "none"
            raise ExecutionError(
                f"The command of entry point {entry_point.name!r} uses {{{name}}}, which is not a declared "
                f"parameter (declared: {declared}); declare it under 'parameters' or write {{{{ and }}}} for "
                "literal braces"
            )
        return shlex.quote(values[name]) if quote else values[name]

    # One pass: a value that itself contains "{x}" is never substituted again.
    return _PLACEHOLDER.sub(replace, item)


def build_argv(entry_point: EntryPoint, declared: Mapping[str, str], extra: Mapping[str, str]) -> list[str]:
    """Build the argv of an entry point: no shell is involved, each value is (part of) one argv item.

    A script entry point (``train.py``, ``run.sh``) becomes ``python train.py`` or ``bash run.sh``; the
    environment later replaces ``python`` with its own interpreter. Extra parameters are appended as
    ``--key value``.

    Args:
        entry_point (`EntryPoint`): the entry point.
        declared (`Mapping[str, str]`): values of the declared parameters, from `resolve_parameters`.
        extra (`Mapping[str, str]`): the undeclared parameters.

    Returns:
        `list[str]`: the argv.

    Raises:
        ExecutionError: the template cannot be split (unbalanced quotes) or names an undeclared parameter.
    """
    if not entry_point.command:
        ext = os.path.splitext(entry_point.name)[1]
        argv = [SCRIPT_EXTENSIONS[ext], entry_point.name]
    else:
        try:
            template = shlex.split(entry_point.command, posix=True)
        except ValueError as exc:
            raise ExecutionError(
                f"The command of entry point {entry_point.name!r} cannot be split into arguments ({exc}): "
                f"{entry_point.command!r}"
            ) from exc
        if not template:
            raise ExecutionError(f"The command of entry point {entry_point.name!r} is empty")
        scripts = _shell_script_positions(template)
        argv = [_substitute(item, declared, entry_point, i in scripts) for i, item in enumerate(template)]
    for key, value in extra.items():
        argv += [f"--{key}", value]
    return argv
