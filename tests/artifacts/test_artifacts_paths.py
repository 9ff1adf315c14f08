"""Path safety: every unsafe artifact path is refused with a message naming the path and the fix."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from hf_mltrack.artifacts.paths import safe_join, validate_artifact_path
from hf_mltrack.exceptions import InvalidParameterError

UNSAFE = {
    "absolute": ("/etc/passwd", "absolute"),
    "unc": ("//server/share/x", "absolute"),
    "dotdot": ("../x", "'..'"),
    "dotdot-deep": ("a/../../x", "'..'"),
    "dotdot-trailing": ("a/..", "'..'"),
    "dotdot-alone": ("..", "'..'"),
    "drive-letter": ("C:/Windows/x", "drive letter"),
    "drive-relative": ("c:x", "drive letter"),
    "backslash": ("a\\b.txt", "backslash"),
    "backslash-dotdot": ("..\\..\\x", "backslash"),
    "nul": ("a\x00b", "NUL"),
    "newline": ("a\nb", "control character"),
    "pct-dotdot": ("%2e%2e/x", "percent-decoded"),
    "pct-dotdot-upper": ("%2E%2E%2Fetc", "percent-decoded"),
    "pct-mixed": ("a/.%2e/x", "percent-decoded"),
    "pct-slash-absolute": ("%2fetc/passwd", "absolute"),
    "pct-backslash": ("..%5cx", "backslash"),
    "pct-nul": ("a%00b", "NUL"),
    "pct-drive": ("C%3A/x", "drive letter"),
    "double-encoded": ("%252e%252e/x", "percent-decoded"),
}

SAFE = {
    "plain": ("a.txt", "a.txt"),
    "nested": ("model/config.json", "model/config.json"),
    "dots-and-slashes-normalized": ("./a//b/", "a/b"),
    "dots-inside-names": ("..a/a..b/...", "..a/a..b/..."),
    "percent-literal": ("acc%20x.txt", "acc%20x.txt"),
    "percent-sign": ("95%.txt", "95%.txt"),
    "colon-later": ("step:1/ab:c.txt", "step:1/ab:c.txt"),
    "unicode": ("模型/配置.json", "模型/配置.json"),
    "tilde": ("~/x", "~/x"),
    "root-empty": ("", ""),
    "root-none": (None, ""),
    "pathlike": (PurePosixPath("a/b"), "a/b"),
}


@pytest.mark.parametrize(("path", "reason"), list(UNSAFE.values()), ids=list(UNSAFE))
def test_unsafe_paths_are_refused(path: str, reason: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        validate_artifact_path(path)
    message = str(info.value)
    assert repr(path) in message and reason in message
    assert "relative to the artifact root" in message  # the fix
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(("path", "expected"), list(SAFE.values()), ids=list(SAFE))
def test_safe_paths_are_normalized(path, expected: str) -> None:
    assert validate_artifact_path(path) == expected


def test_file_names_must_name_something() -> None:
    with pytest.raises(InvalidParameterError, match="names no file"):
        validate_artifact_path("./", what="artifact_file", allow_empty=False)
    with pytest.raises(InvalidParameterError, match="expected a str"):
        validate_artifact_path(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path",
    ["../x", "/abs", "a\\b", "%2e%2e/x", "C:/x"],
    ids=["dotdot", "absolute", "backslash", "pct", "drive"],
)
def test_every_entry_point_refuses_unsafe_paths(repo, tmp_path: Path, path: str) -> None:
    src = tmp_path / "f.txt"
    src.write_text("x")
    for call in (
        lambda: repo.log_artifact(src, path),
        lambda: repo.log_artifacts(tmp_path, path),
        lambda: repo.write_text("x", path),
        lambda: repo.write_text("x", f"{path}/f.txt"),
        lambda: repo.read_text(path),
        lambda: repo.list_artifacts(path),
        lambda: repo.download_artifacts(path, dst_path=tmp_path / "dl"),
        lambda: repo.delete_artifacts(path),
        lambda: repo.exists(path),
    ):
        with pytest.raises(InvalidParameterError, match="Invalid"):
            call()
    assert repo.list_artifacts() == []


def test_local_file_names_are_checked_too(repo, tmp_path: Path) -> None:
    bad = tmp_path / "src" / "weird\\name.txt"
    bad.parent.mkdir()
    bad.write_text("x")
    with pytest.raises(InvalidParameterError, match="backslash"):
        repo.log_artifacts(bad.parent)
    with pytest.raises(InvalidParameterError, match="backslash"):
        repo.log_artifact(bad)
    assert repo.list_artifacts() == []


def test_safe_join_stays_inside_and_resolves_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inside").mkdir(parents=True)
    (root / "alias").symlink_to(root / "inside")
    (root / "out").symlink_to(tmp_path)
    assert safe_join(root, "alias/f.txt") == str(root / "inside" / "f.txt")
    assert safe_join(root, "") == str(root)
    with pytest.raises(InvalidParameterError, match="outside the artifact root"):
        safe_join(root, "out/f.txt")
    with pytest.raises(InvalidParameterError, match="'..'"):
        safe_join(root, "inside/../../x")
