"""The seed's registry flows (3.4 and 4.2), verbatim after the mlflow -> hf_mltrack rename.

The fast versions log small model folders; the slow one logs and loads a tiny transformers model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_helpers import client_class, local_path

import hf_mltrack
from hf_mltrack import registry
from hf_mltrack.exceptions import InvalidStateError, ResourceNotFoundError


@pytest.fixture
def seed_api(store_uri, monkeypatch):
    """The seed's names: hf_mltrack.register_model and hf_mltrack.tracking.MlTrackClient with the registry."""
    if not hasattr(hf_mltrack, "register_model"):
        monkeypatch.setattr(hf_mltrack, "register_model", registry.register_model, raising=False)
    monkeypatch.setattr(hf_mltrack.tracking, "MlTrackClient", client_class())
    return store_uri


def _load(model_uri: str) -> Path:
    """Stand-in for ``hf_mltrack.pyfunc.load_model``: the local folder the URI resolves to."""
    try:
        from hf_mltrack.models.uri import resolve_model_uri as resolve
    except ImportError:  # the model-format package is absent: resolve models:/ URIs directly
        from hf_mltrack.registry.uris import parse_models_uri

        p = parse_models_uri(model_uri)
        return local_path(registry.resolve_model_uri(p.name, p.version, p.stage, p.alias))
    return local_path(resolve(model_uri))


def _log_model_in_a_run(marker: str) -> str:
    """Log a model folder in a new run (what a flavor's log_model does) and return its run id."""
    from registry_helpers import write_model

    with hf_mltrack.start_run() as run:
        write_model(local_path(run.info.artifact_uri) / "model", marker)
    return run.info.run_id


def test_seed_3_4_flow(seed_api, capsys) -> None:
    run_ids = [_log_model_in_a_run(f"v{i}") for i in (1, 2, 3)]

    # ===== 注册模型 =====
    # 方式1:通过log_model时指定registered_model_name (here: the same registration, see the slow test)
    hf_mltrack.register_model(model_uri=f"runs:/{run_ids[0]}/model", name="llama2-lora-sft")
    # 方式2:运行完成后手动注册
    hf_mltrack.register_model(
        model_uri=f"runs:/{run_ids[1]}/model",
        name="llama2-lora-sft",
        tags={"framework": "transformers", "method": "lora"},
    )
    hf_mltrack.register_model(model_uri=f"runs:/{run_ids[2]}/model", name="llama2-lora-sft")

    # ===== 查看模型版本 =====
    client = hf_mltrack.tracking.MlTrackClient()

    # 获取所有注册模型
    registered_models = client.search_registered_models()
    for rm in registered_models:
        print(f"模型: {rm.name}, 最新版本: {rm.latest_versions}")

    # 获取特定模型的所有版本
    model_versions = client.search_model_versions("name='llama2-lora-sft'")
    for mv in model_versions:
        print(f"版本: {mv.version}, 阶段: {mv.current_stage}, 运行ID: {mv.run_id}")

    # 获取特定版本详情
    model_version = client.get_model_version("llama2-lora-sft", "1")
    print(f"描述: {model_version.description}")
    print(f"标签: {model_version.tags}")

    out = capsys.readouterr().out
    assert "模型: llama2-lora-sft, 最新版本: [ModelVersion(name='llama2-lora-sft', version='3'" in out
    for v, run_id in zip(("3", "2", "1"), reversed(run_ids), strict=True):
        assert f"版本: {v}, 阶段: None, 运行ID: {run_id}" in out
    assert "描述: None" in out and "标签: {}" in out
    assert client.get_model_version("llama2-lora-sft", "2").tags == {
        "framework": "transformers",
        "method": "lora",
    }

    # ===== 阶段管理 =====
    # 将模型版本推到 Staging
    client.transition_model_version_stage(
        name="llama2-lora-sft",
        version=1,
        stage="Staging",  # None -> Staging -> Production -> Archived
    )

    # 从 Staging 推到 Production
    client.transition_model_version_stage(
        name="llama2-lora-sft",
        version=1,
        stage="Production",
        archive_existing_versions=True,  # 归档当前Production版本
    )

    # ===== 加载特定阶段的模型 =====
    # 加载Production版本
    model_uri = "models:/llama2-lora-sft/Production"
    model = _load(model_uri)
    assert (model / "marker.txt").read_text() == "v1"

    # 加载特定版本号
    model_uri = "models:/llama2-lora-sft/3"
    model = _load(model_uri)
    assert (model / "marker.txt").read_text() == "v3"

    # 加载最新版本
    model_uri = "models:/llama2-lora-sft/latest"
    model = _load(model_uri)
    assert (model / "marker.txt").read_text() == "v3"

    # ===== 添加描述和标签 =====
    client.update_model_version(
        name="llama2-lora-sft",
        version=1,
        description="LoRA微调Llama2-7b,Alpaca数据集,eval_loss=1.234",
    )

    client.set_model_version_tag(
        name="llama2-lora-sft",
        version=1,
        key="approved_by",
        value="team-lead",
    )

    # ===== 删除模型版本 =====
    client.delete_model_version(
        name="llama2-lora-sft",
        version=2,
    )

    v1 = client.get_model_version("llama2-lora-sft", "1")
    assert v1.current_stage == "Production"
    assert v1.description == "LoRA微调Llama2-7b,Alpaca数据集,eval_loss=1.234"
    assert v1.tags == {"approved_by": "team-lead"}
    # MLflow's order: the most recently updated first (version 1 was described and promoted after 3 was made)
    assert [mv.version for mv in client.search_model_versions("name='llama2-lora-sft'")] == ["1", "3"]
    # pitfall 7: a version in use cannot be deleted
    with pytest.raises(InvalidStateError, match="'Production'.*archive it first"):
        client.delete_model_version(name="llama2-lora-sft", version=1)
    # and the deleted number is never handed out again
    assert hf_mltrack.register_model(f"runs:/{run_ids[1]}/model", "llama2-lora-sft").version == "4"


def evaluate_model(model: Path, eval_dataset: list[str]) -> dict[str, float]:
    """The seed's evaluation step: here each test model carries its accuracy in its marker file."""
    return {"accuracy": float((model / "marker.txt").read_text()), "n": float(len(eval_dataset))}


def test_seed_4_2_flow(seed_api) -> None:
    client = hf_mltrack.tracking.MlTrackClient()

    # ===== Step 1: 注册新模型版本(已在训练时完成)=====
    run_v1 = _log_model_in_a_run("0.91")
    hf_mltrack.register_model(f"runs:/{run_v1}/model", "mistral-7b-lora-alpaca")

    # ===== Step 2: 验证模型(推到Staging)=====
    client.transition_model_version_stage(
        name="mistral-7b-lora-alpaca",
        version=1,
        stage="Staging",
    )

    # ===== Step 3: 运行评估 =====
    model_uri = "models:/mistral-7b-lora-alpaca/Staging"
    model = _load(model_uri)

    # 在评估集上测试
    eval_dataset = ["什么是深度学习?", "什么是机器学习?"]
    eval_results = evaluate_model(model, eval_dataset)
    print(f"评估结果: {eval_results}")

    # ===== Step 4: 审核通过,推到Production =====
    assert eval_results["accuracy"] > 0.85
    if eval_results["accuracy"] > 0.85:
        client.transition_model_version_stage(
            name="mistral-7b-lora-alpaca",
            version=1,
            stage="Production",
            archive_existing_versions=True,  # 归档旧Production版本
        )
        # 添加审核标签
        client.set_model_version_tag(
            name="mistral-7b-lora-alpaca",
            version=1,
            key="approved_by",
            value="tech-lead",
        )
        client.update_model_version(
            name="mistral-7b-lora-alpaca",
            version=1,
            description="通过评估,准确率>85%,已部署到生产环境",
        )

    # ===== Step 5: 生产环境加载模型 =====
    production_model_uri = "models:/mistral-7b-lora-alpaca/Production"
    production_model = _load(production_model_uri)
    assert (production_model / "marker.txt").read_text() == "0.91"

    # ===== Step 6: 回滚(如有问题)=====
    # 归档当前Production版本
    client.transition_model_version_stage(
        name="mistral-7b-lora-alpaca",
        version=1,
        stage="Archived",
    )
    # 恢复之前的版本: the seed's "version=0" does not exist (versions count from 1): a clear error
    with pytest.raises(ResourceNotFoundError, match=r"Model version 0 of registered model 'mistral-7b-lora-alpaca'"):
        client.transition_model_version_stage(
            name="mistral-7b-lora-alpaca",
            version=0,  # 之前的版本号
            stage="Production",
        )
    with pytest.raises(ResourceNotFoundError, match="no version in stage 'Production'"):
        _load(production_model_uri)


def test_seed_4_2_rollback_to_the_previous_version(seed_api) -> None:
    """The rollback the seed means: v2 replaced v1 in Production, then v1 comes back."""
    client = hf_mltrack.tracking.MlTrackClient()
    name = "mistral-7b-lora-alpaca"
    for accuracy in ("0.90", "0.95"):
        hf_mltrack.register_model(f"runs:/{_log_model_in_a_run(accuracy)}/model", name)
    client.transition_model_version_stage(name=name, version=1, stage="Production")
    client.transition_model_version_stage(name=name, version=2, stage="Staging")
    client.transition_model_version_stage(name=name, version=2, stage="Production", archive_existing_versions=True)
    assert client.get_model_version(name, 1).current_stage == "Archived"
    assert (_load(f"models:/{name}/Production") / "marker.txt").read_text() == "0.95"

    # 回滚: archive the current Production version, restore the previous one
    client.transition_model_version_stage(name=name, version=2, stage="Archived")
    client.transition_model_version_stage(name=name, version=1, stage="Production")
    assert (_load(f"models:/{name}/Production") / "marker.txt").read_text() == "0.90"
    assert [mv.version for mv in client.get_latest_versions(name, stages=["Production"])] == ["1"]

    trail = [(e.version, e.from_stage, e.to_stage) for e in client.get_registered_model_history(name)]
    assert trail == [
        ("1", "None", "Production"),
        ("2", "None", "Staging"),
        ("1", "Production", "Archived"),
        ("2", "Staging", "Production"),
        ("2", "Production", "Archived"),
        ("1", "Archived", "Production"),
    ]


def _tiny_text_model(seed: int):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    sentences = ["what is deep learning", "what is machine learning", "hello world"]
    tok.train_from_iterator(sentences, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=tokenizer.vocab_size,
        n_positions=32,
        n_embd=16,
        n_layer=1,
        n_head=2,
        bos_token_id=2,
        eos_token_id=2,
    )
    return GPT2LMHeadModel(config), tokenizer


@pytest.mark.slow
def test_seed_flows_with_a_tiny_transformers_model(seed_api) -> None:
    pytest.importorskip("transformers")
    hf_transformers = pytest.importorskip("hf_mltrack.transformers")
    if not hasattr(hf_transformers, "log_model"):
        pytest.skip("hf_mltrack.transformers.log_model is not available")
    import torch

    client = hf_mltrack.tracking.MlTrackClient()
    weights = []
    for seed in (1, 2):
        model, tokenizer = _tiny_text_model(seed)
        weights.append(model.transformer.wte.weight.detach().clone())
        with hf_mltrack.start_run():
            # 方式1:通过log_model时指定registered_model_name
            hf_transformers.log_model(
                transformers_model={"model": model, "tokenizer": tokenizer},
                artifact_path="model",
                task="text-generation",
                registered_model_name="llama2-lora-sft",  # 自动注册
            )
    assert [mv.version for mv in client.search_model_versions("name='llama2-lora-sft'")] == ["2", "1"]

    client.transition_model_version_stage(name="llama2-lora-sft", version=1, stage="Staging")
    client.transition_model_version_stage(
        name="llama2-lora-sft", version=1, stage="Production", archive_existing_versions=True
    )
    pipe = hf_transformers.load_model("models:/llama2-lora-sft/Production", return_type="pipeline")
    assert torch.equal(pipe.model.transformer.wte.weight.detach().cpu(), weights[0])
    assert isinstance(pipe("what is", max_new_tokens=2)[0]["generated_text"], str)

    # promote v2, then roll back to v1 (4.2 step 6)
    client.transition_model_version_stage(
        name="llama2-lora-sft", version=2, stage="Production", archive_existing_versions=True
    )
    latest = hf_transformers.load_model("models:/llama2-lora-sft/Production", return_type="pipeline")
    assert torch.equal(latest.model.transformer.wte.weight.detach().cpu(), weights[1])
    client.transition_model_version_stage(name="llama2-lora-sft", version=2, stage="Archived")
    client.transition_model_version_stage(name="llama2-lora-sft", version=1, stage="Production")
    rolled_back = hf_transformers.load_model("models:/llama2-lora-sft/Production", return_type="pipeline")
    assert torch.equal(rolled_back.model.transformer.wte.weight.detach().cpu(), weights[0])
