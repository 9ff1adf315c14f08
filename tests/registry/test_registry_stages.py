"""Stage transitions, aliases, and the registry's history (who moved what, when, from and to)."""

from __future__ import annotations

import time

import pytest

from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError


@pytest.fixture
def three_versions(reg, log_model) -> str:
    _, uri = log_model(reg)
    reg.create_registered_model("m")
    for _ in range(3):
        reg.create_model_version("m", uri)
    return uri


def stage_of(reg, version: int) -> str:
    return reg.get_model_version("m", version).current_stage


def test_every_transition_is_allowed_and_canonicalised(reg, three_versions) -> None:
    path = ["staging", "PRODUCTION", "archived", "Production", "None", "Archived", "Staging", "none"]
    expected = ["Staging", "Production", "Archived", "Production", "None", "Archived", "Staging", "None"]
    for given, canonical in zip(path, expected, strict=True):
        mv = reg.transition_model_version_stage("m", 1, given)
        assert mv.current_stage == canonical
        assert stage_of(reg, 1) == canonical
    assert stage_of(reg, 2) == stage_of(reg, 3) == "None"


@pytest.mark.parametrize("bad", ["Prod", "", "Deleted", None])
def test_unknown_stage_names_the_choices(reg, three_versions, bad) -> None:
    with pytest.raises(InvalidParameterError, match="None, Staging, Production, Archived"):
        reg.transition_model_version_stage("m", 1, bad)


def test_archive_existing_versions(reg, three_versions) -> None:
    reg.transition_model_version_stage("m", 1, "Production")
    reg.transition_model_version_stage("m", 2, "Production")  # two in Production is allowed
    reg.transition_model_version_stage("m", 3, "Production", archive_existing_versions=True)
    assert [stage_of(reg, v) for v in (1, 2, 3)] == ["Archived", "Archived", "Production"]
    # only versions in the target stage are archived
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.transition_model_version_stage("m", 2, "Staging", archive_existing_versions=True)
    assert [stage_of(reg, v) for v in (1, 2, 3)] == ["Archived", "Staging", "Production"]
    with pytest.raises(InvalidParameterError, match="only applies to a transition to Staging or Production"):
        reg.transition_model_version_stage("m", 3, "Archived", archive_existing_versions=True)


def test_stage_history_records_user_time_from_to(reg, three_versions, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_TRACKING_USERNAME", "alice")
    before = int(time.time() * 1000)
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.transition_model_version_stage("m", 1, "Production")
    reg.transition_model_version_stage("m", 1, "Production")  # no change: no event
    monkeypatch.setenv("HF_MLTRACK_TRACKING_USERNAME", "bob")
    reg.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    reg.transition_model_version_stage("m", 1, "Production", archive_existing_versions=True)  # roll back
    after = int(time.time() * 1000)

    h1 = reg.get_model_version_stage_history("m", 1)
    assert [(e.from_stage, e.to_stage, e.user_id) for e in h1] == [
        ("None", "Staging", "alice"),
        ("Staging", "Production", "alice"),
        ("Production", "Archived", "bob"),  # archived by v2's promotion
        ("Archived", "Production", "bob"),
    ]
    assert all(before <= e.timestamp <= after for e in h1)
    assert [e.timestamp for e in h1] == sorted(e.timestamp for e in h1)
    h2 = reg.get_model_version_stage_history("m", "2")
    assert [(e.from_stage, e.to_stage) for e in h2] == [("None", "Production"), ("Production", "Archived")]
    assert reg.get_model_version_stage_history("m", 3) == []
    with pytest.raises(ResourceNotFoundError, match="Model version 9"):
        reg.get_model_version_stage_history("m", 9)
    d = h1[0].to_dict()
    assert d["from"] == "None" and d["to"] == "Staging" and d["user_id"] == "alice" and d["version"] == "1"


def test_history_survives_version_deletion(reg, three_versions) -> None:
    reg.transition_model_version_stage("m", 2, "Archived")
    reg.delete_model_version("m", 2)
    events = reg.get_registered_model_history("m", version=2)
    assert [(e.event, e.from_value, e.to_value) for e in events] == [("stage_transition", "None", "Archived")]


def test_aliases_set_move_resolve_delete(reg, three_versions) -> None:
    reg.set_registered_model_alias("m", "champion", 1)
    reg.set_registered_model_alias("m", "challenger", "2")
    assert reg.get_model_version_by_alias("m", "champion").version == "1"
    assert reg.get_registered_model("m").aliases == {"challenger": "2", "champion": "1"}
    assert reg.get_model_version("m", 1).aliases == ["champion"]
    reg.set_registered_model_alias("m", "champion", 3)  # move
    assert reg.get_model_version_by_alias("m", "champion").version == "3"
    assert reg.get_model_version("m", 1).aliases == []
    assert reg.get_model_version("m", 3).aliases == ["champion"]
    reg.delete_registered_model_alias("m", "challenger")
    with pytest.raises(ResourceNotFoundError, match=r"no alias 'challenger' \(its aliases are champion\)"):
        reg.get_model_version_by_alias("m", "challenger")
    with pytest.raises(ResourceNotFoundError, match="no alias 'challenger'"):
        reg.delete_registered_model_alias("m", "challenger")
    with pytest.raises(ResourceNotFoundError, match="Model version 8"):
        reg.set_registered_model_alias("m", "x", 8)
    with pytest.raises(ResourceNotFoundError, match="Registered Model with name=ghost not found"):
        reg.get_model_version_by_alias("ghost", "champion")


@pytest.mark.parametrize("bad", ["latest", "LATEST", "3", "v3", "V12", "has space", "a/b", ""])
def test_reserved_or_malformed_aliases_are_refused(reg, three_versions, bad) -> None:
    with pytest.raises(InvalidParameterError, match="Invalid alias"):
        reg.set_registered_model_alias("m", bad, 1)


def test_alias_history(reg, three_versions, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_TRACKING_USERNAME", "carol")
    reg.set_registered_model_alias("m", "champion", 1)
    reg.set_registered_model_alias("m", "champion", 1)  # unchanged: no event
    reg.set_registered_model_alias("m", "champion", 2)
    reg.set_registered_model_alias("m", "backup", 3)
    reg.delete_registered_model_alias("m", "champion")
    reg.transition_model_version_stage("m", 3, "Archived")
    reg.delete_model_version("m", 3)  # takes the 'backup' alias with it

    events = reg.get_registered_model_history("m")
    assert [(e.event, e.alias, e.from_value, e.to_value, e.user_id) for e in events] == [
        ("alias_set", "champion", None, "1", "carol"),
        ("alias_set", "champion", "1", "2", "carol"),
        ("alias_set", "backup", None, "3", "carol"),
        ("alias_deleted", "champion", "2", None, "carol"),
        ("stage_transition", None, "None", "Archived", "carol"),
        ("alias_deleted", "backup", "3", None, "carol"),
    ]
    assert [e.id for e in events] == sorted(e.id for e in events)
    champion = reg.get_registered_model_history("m", alias="champion")
    assert [(e.from_value, e.to_value) for e in champion] == [(None, "1"), ("1", "2"), ("2", None)]
    # a version's history includes alias moves to and away from it
    v1 = reg.get_registered_model_history("m", version=1)
    assert [(e.event, e.from_value, e.to_value) for e in v1] == [
        ("alias_set", None, "1"),
        ("alias_set", "1", "2"),
    ]
    only_alias_sets = reg.get_registered_model_history("m", event="alias_set")
    assert len(only_alias_sets) == 3
    with pytest.raises(InvalidParameterError, match="Invalid event type"):
        reg.get_registered_model_history("m", event="moved")
    with pytest.raises(ResourceNotFoundError, match="'ghost'"):
        reg.get_registered_model_history("ghost")
