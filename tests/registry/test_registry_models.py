"""Registered models: create, get, rename, update, delete, tags, search (filters, order, pages)."""

from __future__ import annotations

import time

import pytest

from hf_mltrack.exceptions import (
    InvalidParameterError,
    InvalidStateError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    SearchFilterParseError,
)


def test_create_and_get(reg) -> None:
    rm = reg.create_registered_model("llama2-lora-sft", tags={"team": "nlp", "n": 3}, description="LoRA SFT")
    assert rm.name == "llama2-lora-sft"
    assert rm.tags == {"team": "nlp", "n": "3"}
    assert rm.description == "LoRA SFT"
    assert rm.latest_versions == [] and rm.aliases == {}
    assert rm.creation_timestamp == rm.last_updated_timestamp > 0
    assert reg.get_registered_model("llama2-lora-sft") == rm


def test_create_duplicate_names_the_model(reg) -> None:
    reg.create_registered_model("m")
    with pytest.raises(ResourceAlreadyExistsError, match=r"Registered Model \(name=m\) already exists"):
        reg.create_registered_model("m")


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "a/b", "a@b", "tab\tname", None, 3],
    ids=["empty", "blank", "slash", "at", "control", "none", "int"],
)
def test_invalid_names_are_refused(reg, bad) -> None:
    with pytest.raises(InvalidParameterError, match="Invalid registered model name"):
        reg.create_registered_model(bad)


def test_get_unknown_model_names_it(reg) -> None:
    with pytest.raises(ResourceNotFoundError, match="Registered Model with name=nope not found"):
        reg.get_registered_model("nope")


def test_update_description_bumps_last_updated(reg) -> None:
    rm = reg.create_registered_model("m")
    time.sleep(0.002)
    updated = reg.update_registered_model("m", description="new text")
    assert updated.description == "new text"
    assert updated.last_updated_timestamp > rm.last_updated_timestamp
    assert reg.update_registered_model("m", description=None).description is None


def test_tags_set_overwrite_delete(reg) -> None:
    reg.create_registered_model("m")
    reg.set_registered_model_tag("m", "framework", "transformers")
    reg.set_registered_model_tag("m", "framework", "peft")
    reg.set_registered_model_tag("m", "method", "lora")
    assert reg.get_registered_model("m").tags == {"framework": "peft", "method": "lora"}
    reg.delete_registered_model_tag("m", "framework")
    assert reg.get_registered_model("m").tags == {"method": "lora"}
    with pytest.raises(ResourceNotFoundError, match="has no tag 'framework'"):
        reg.delete_registered_model_tag("m", "framework")
    with pytest.raises(ResourceNotFoundError, match="name=ghost not found"):
        reg.set_registered_model_tag("ghost", "k", "v")


def test_rename_carries_versions_tags_aliases_history(reg, log_model) -> None:
    run_id, uri = log_model(reg)
    reg.create_registered_model("old", tags={"k": "v"})
    reg.create_model_version("old", uri, tags={"vt": "1"})
    reg.create_model_version("old", uri)
    reg.transition_model_version_stage("old", 1, "Staging")
    reg.set_registered_model_alias("old", "champion", 2)

    renamed = reg.rename_registered_model("old", "new")
    assert renamed.name == "new" and renamed.tags == {"k": "v"} and renamed.aliases == {"champion": "2"}
    with pytest.raises(ResourceNotFoundError):
        reg.get_registered_model("old")
    v1 = reg.get_model_version("new", 1)
    assert v1.name == "new" and v1.tags == {"vt": "1"} and v1.current_stage == "Staging" and v1.run_id == run_id
    assert reg.get_model_version_by_alias("new", "champion").version == "2"
    assert [e.to_value for e in reg.get_model_version_stage_history("new", 1)] == ["Staging"]
    # the counter came along: numbering continues
    assert reg.create_model_version("new", uri).version == "3"


def test_rename_to_existing_name_is_refused(reg) -> None:
    reg.create_registered_model("a")
    reg.create_registered_model("b")
    with pytest.raises(ResourceAlreadyExistsError, match="'b' already exists"):
        reg.rename_registered_model("a", "b")
    with pytest.raises(ResourceNotFoundError, match="'zzz'"):
        reg.rename_registered_model("zzz", "c")


def test_delete_model_removes_everything(reg, log_model) -> None:
    _, uri = log_model(reg)
    reg.create_registered_model("m", tags={"k": "v"})
    reg.create_model_version("m", uri, tags={"a": "b"})
    reg.set_registered_model_alias("m", "best", 1)
    reg.transition_model_version_stage("m", 1, "Archived")
    reg.delete_registered_model("m")
    with pytest.raises(ResourceNotFoundError):
        reg.get_registered_model("m")
    assert reg.search_model_versions("name = 'm'") == []
    # a new model of the same name starts afresh
    reg.create_registered_model("m")
    assert reg.get_registered_model("m").tags == {}
    assert reg.get_registered_model_history("m") == []
    assert reg.create_model_version("m", uri).version == "1"


def test_delete_model_with_versions_in_use_is_refused(reg, log_model) -> None:
    _, uri = log_model(reg)
    reg.create_registered_model("m")
    reg.create_model_version("m", uri)
    reg.create_model_version("m", uri)
    reg.transition_model_version_stage("m", 2, "Production")
    with pytest.raises(InvalidStateError, match=r"version 2 \(Production\).*Archive it first"):
        reg.delete_registered_model("m")
    assert reg.get_registered_model("m").name == "m"


def test_latest_versions_one_per_stage(reg, log_model) -> None:
    _, uri = log_model(reg)
    reg.create_registered_model("m")
    for _ in range(5):
        reg.create_model_version("m", uri)
    reg.transition_model_version_stage("m", 1, "Production")
    reg.transition_model_version_stage("m", 2, "Staging")
    reg.transition_model_version_stage("m", 3, "Staging")
    reg.transition_model_version_stage("m", 4, "Archived")
    latest = {mv.current_stage: mv.version for mv in reg.get_registered_model("m").latest_versions}
    assert latest == {"None": "5", "Staging": "3", "Production": "1", "Archived": "4"}
    [rm] = reg.search_registered_models("name = 'm'")
    assert [(mv.current_stage, mv.version) for mv in rm.latest_versions] == [
        ("None", "5"),
        ("Staging", "3"),
        ("Production", "1"),
        ("Archived", "4"),
    ]


def test_search_filters_on_name(reg) -> None:
    for name in ["llama2-lora-sft", "llama2-full", "Mistral-7B-lora", "gpt2-tiny"]:
        reg.create_registered_model(name)
    names = lambda f: [rm.name for rm in reg.search_registered_models(f)]  # noqa: E731
    assert names(None) == ["Mistral-7B-lora", "gpt2-tiny", "llama2-full", "llama2-lora-sft"]
    assert names("name = 'gpt2-tiny'") == ["gpt2-tiny"]
    assert names("name='gpt2-tiny'") == ["gpt2-tiny"]
    assert names("name LIKE 'llama2-%'") == ["llama2-full", "llama2-lora-sft"]
    assert names("name LIKE '%lora%'") == ["Mistral-7B-lora", "llama2-lora-sft"]
    assert names("name LIKE 'mistral%'") == []  # LIKE is case-sensitive
    assert names("name ILIKE 'MISTRAL%'") == ["Mistral-7B-lora"]
    assert names("name ILIKE '%LORA%'") == ["Mistral-7B-lora", "llama2-lora-sft"]
    assert names("name != 'gpt2-tiny' and name LIKE '%l%'") == [
        "Mistral-7B-lora",
        "llama2-full",
        "llama2-lora-sft",
    ]
    assert names("name LIKE 'llama2\\-%'") == ["llama2-full", "llama2-lora-sft"]


def test_search_filters_on_tags(reg) -> None:
    reg.create_registered_model("a", tags={"framework": "transformers"})
    reg.create_registered_model("b", tags={"framework": "pytorch"})
    reg.create_registered_model("c")
    names = lambda f: [rm.name for rm in reg.search_registered_models(f)]  # noqa: E731
    assert names("tags.framework = 'transformers'") == ["a"]
    assert names("tags.framework LIKE '%o%'") == ["a", "b"]
    assert names("tags.framework IS NULL") == ["c"]


@pytest.mark.parametrize(
    "bad",
    ["name = ", "name ~ 'x'", "metrics.x > 1", "version_number = 1", "name = 'a' OR name = 'b'"],
    ids=["no-value", "bad-op", "metrics", "version-attr", "or"],
)
def test_search_bad_filters_explain(reg, bad) -> None:
    with pytest.raises(SearchFilterParseError, match="position"):
        reg.search_registered_models(bad)


def test_search_order_by_and_pages(reg) -> None:
    for name in ["c", "a", "d", "b", "e"]:
        reg.create_registered_model(name)
        time.sleep(0.002)
    page1 = reg.search_registered_models(max_results=2)
    assert [rm.name for rm in page1] == ["a", "b"] and page1.token
    page2 = reg.search_registered_models(max_results=2, page_token=page1.token)
    page3 = reg.search_registered_models(max_results=2, page_token=page2.token)
    assert [rm.name for rm in page2] == ["c", "d"]
    assert [rm.name for rm in page3] == ["e"] and page3.token is None
    newest_first = reg.search_registered_models(order_by=["creation_timestamp DESC"])
    assert [rm.name for rm in newest_first] == ["e", "b", "d", "a", "c"]
    assert [rm.name for rm in reg.search_registered_models(order_by=["name DESC"])] == [
        "e",
        "d",
        "c",
        "b",
        "a",
    ]
    reg.update_registered_model("a", "touched")
    assert reg.search_registered_models(order_by=["last_updated_timestamp DESC"], max_results=1)[0].name == "a"
    with pytest.raises(InvalidParameterError, match="max_results"):
        reg.search_registered_models(max_results=0)
    with pytest.raises(SearchFilterParseError, match="unknown attribute"):
        reg.search_registered_models(order_by=["run_id"])
    with pytest.raises(InvalidParameterError, match="page_token"):
        reg.search_registered_models(page_token="garbage!")
