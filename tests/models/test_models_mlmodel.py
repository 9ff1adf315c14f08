"""The MLmodel file: fields, round trip, and a safe loader that refuses (never runs) Python tags."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import hf_mltrack.pyfunc as pyfunc
from hf_mltrack.exceptions import MlTrackException
from hf_mltrack.models import Model, ModelSignature, infer_signature
from hf_mltrack.models.model import MLMODEL_FILE_NAME


class Upper(pyfunc.PythonModel):
    def predict(self, context, model_input):
        return [s.upper() for s in model_input["prompt"]]


def test_mlmodel_has_every_field(tmp_path):
    example = pd.DataFrame({"prompt": ["什么是机器学习?"], "max_tokens": [100]})
    sig = infer_signature(example, output_example=pd.DataFrame({"generated_text": ["..."]}))
    path = tmp_path / "m"
    pyfunc.save_model(str(path), python_model=Upper(), signature=sig, input_example=example, metadata={"team": "nlp"})
    raw = yaml.safe_load((path / MLMODEL_FILE_NAME).read_text())
    assert {
        "flavors",
        "utc_time_created",
        "model_uuid",
        "signature",
        "saved_input_example_info",
        "hf_mltrack_version",
        "model_size_bytes",
        "metadata",
    } <= set(raw)
    assert raw["flavors"]["python_function"]["loader_module"] == "hf_mltrack.pyfunc.model"
    assert raw["signature"]["inputs"] == sig.to_dict()["inputs"]  # a JSON string, as in the seed's 6.3
    assert raw["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
    }
    assert raw["metadata"] == {"team": "nlp"}
    files = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and p.name != MLMODEL_FILE_NAME)
    assert raw["model_size_bytes"] == files
    model = Model.load(str(path))
    assert model.signature == sig and model.metadata == {"team": "nlp"}
    pd.testing.assert_frame_equal(model.load_input_example(str(path)), example)


def test_model_round_trip_keeps_unknown_keys(tmp_path):
    model = Model(artifact_path="m", run_id="r1", mlflow_version="2.9.2", databricks_runtime="x")
    model.add_flavor("custom", a=1)
    model.save(str(tmp_path))
    again = Model.load(str(tmp_path / MLMODEL_FILE_NAME))
    assert again == model
    assert again.to_dict()["mlflow_version"] == "2.9.2"
    assert again.get_model_info().model_uri == "runs:/r1/m"


HOSTILE = {
    "python-object-apply": "flavors: !!python/object/apply:os.system ['touch {marker}']\n",
    "python-object-new": "flavors:\n  x: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n",
    "python-name": "flavors: {{}}\nrun_id: !!python/name:os.system\n",
    "alias-bomb": "a: &a ['x', 'x']\nb: &b [*a, *a]\nflavors: {{}}\n",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_mlmodel_is_refused_without_running_anything(tmp_path, kind):
    marker = tmp_path / "pwned"
    path = tmp_path / "model"
    path.mkdir()
    (path / MLMODEL_FILE_NAME).write_text(HOSTILE[kind].format(marker=marker))
    with pytest.raises(MlTrackException, match="Refusing to load MLmodel file"):
        Model.load(str(path))
    with pytest.raises(MlTrackException, match="Refusing to load MLmodel file"):
        pyfunc.load_model(str(path))
    assert not marker.exists()


def test_mlmodel_with_wrong_structure_is_an_error(tmp_path):
    (tmp_path / MLMODEL_FILE_NAME).write_text("flavors: [1, 2]\n")
    with pytest.raises(MlTrackException, match="'flavors' of an MLmodel file must map"):
        Model.load(str(tmp_path))
    (tmp_path / MLMODEL_FILE_NAME).write_text("- just a list\n")
    with pytest.raises(MlTrackException, match="holds a mapping"):
        Model.load(str(tmp_path))


def test_missing_mlmodel_is_a_clear_error(tmp_path):
    with pytest.raises(MlTrackException, match="No MLmodel file"):
        Model.load(str(tmp_path))


def test_signature_in_mlmodel_is_validated(tmp_path):
    (tmp_path / MLMODEL_FILE_NAME).write_text('flavors: {}\nsignature:\n  inputs: \'[{"type": "nope"}]\'\n')
    with pytest.raises(MlTrackException, match="Unsupported data type 'nope'"):
        Model.load(str(tmp_path))


def test_set_signature_rewrites_local_model(tmp_path):
    from hf_mltrack.models import set_signature

    pyfunc.save_model(str(tmp_path / "m"), python_model=Upper())
    sig = ModelSignature(inputs=infer_signature(["a"]).inputs)
    set_signature(str(tmp_path / "m"), sig)
    assert Model.load(str(tmp_path / "m")).signature == sig
