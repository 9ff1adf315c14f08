"""The ``transformers`` block of ``MLmodel`` and the layout of a saved model folder.

```
MLmodel
model/                       weights and config (absent when only a reference or an adapter is stored)
peft/                        adapter_config.json + adapter weights (PEFT models)
components/tokenizer/        one folder per component (tokenizer, feature_extractor, image_processor, ...)
model_card.md                when given (or found in a checkpoint folder)
requirements.txt python_env.yaml conda.yaml input_example.json
```

```yaml
transformers:
  task: text-generation
  instance_type: TextGenerationPipeline
  pipeline_model_type: GPT2LMHeadModel
  framework: pt
  torch_dtype: torch.float32
  transformers_version: 5.2.0
  model_binary: model
  components: [tokenizer]
  tokenizer_type: GPT2TokenizerFast
  source_model_name: gpt2            # where the weights came from (hub id or local path)
  source_model_revision: 607a30d...  # hub commit, when known
  peft_adapter: peft                 # PEFT models only (MLflow's key), details below
  peft:                              # PEFT models only
    adapter_dir: peft
    peft_type: LORA
    task_type: CAUSAL_LM
    adapter_names: [default]
    base_model_name: gpt2
    base_model_revision: null
    base_model_uri: null             # a logged base model (runs:/..., models:/...) when given
    base_model_class: GPT2LMHeadModel
    base_weights_included: false
```
"""

from __future__ import annotations

import functools

FLAVOR_NAME = "transformers"

MODEL_DIR = "model"
PEFT_DIR = "peft"
COMPONENTS_DIR = "components"
MODEL_CARD_FILE = "model_card.md"

COMPONENT_NAMES = ("tokenizer", "feature_extractor", "image_processor", "processor")

# Keys of the flavor block.
TASK = "task"
INSTANCE_TYPE = "instance_type"
PIPELINE_MODEL_TYPE = "pipeline_model_type"
FRAMEWORK = "framework"
TORCH_DTYPE = "torch_dtype"
TRANSFORMERS_VERSION = "transformers_version"
MODEL_BINARY = "model_binary"
COMPONENTS = "components"
COMPONENT_PATHS = "component_paths"  # name -> folder, only for components stored outside components/<name>
SOURCE_MODEL_NAME = "source_model_name"
SOURCE_MODEL_REVISION = "source_model_revision"
PEFT = "peft"
PEFT_ADAPTER = "peft_adapter"  # MLflow's key: the adapter folder
PROMPT_TEMPLATE = "prompt_template"

# Files of a Trainer checkpoint folder that are training state, never part of the model: skipped by
# log_model (training_args.bin is also a pickle, which a model must not carry).
TRAINING_STATE_FILES = frozenset(
    {
        "optimizer.pt",
        "optimizer.bin",
        "scheduler.pt",
        "scaler.pt",
        "training_args.bin",
        "trainer_state.json",
    }
)
TRAINING_STATE_PREFIXES = ("rng_state", "global_step", "optimizer_", "zero_pp_rank")

# Files a tokenizer's save_pretrained writes: logged to components/tokenizer from a checkpoint folder.
TOKENIZER_FILES = frozenset(
    {
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.json",
        "vocab.txt",
        "merges.txt",
        "spiece.model",
        "sentencepiece.bpe.model",
        "tokenizer.model",
        "chat_template.jinja",
        "chat_template.json",
    }
)
PREPROCESSOR_FILES = frozenset({"preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json"})


def default_pip_packages(is_peft: bool = False, uses_accelerate: bool = False) -> list[str]:
    """The packages a transformers model needs at load time (pinned to installed versions on save)."""
    packages = ["transformers", "torch", "safetensors", "tokenizers"]
    if is_peft:
        packages.append("peft")
    if uses_accelerate:
        packages.append("accelerate")
    return packages


def get_default_pip_requirements(is_peft: bool = False) -> list[str]:
    """The default ``requirements.txt`` lines of a transformers model (installed versions, pinned)."""
    return list(_pinned_defaults(is_peft))


@functools.lru_cache(maxsize=2)
def _pinned_defaults(is_peft: bool) -> tuple[str, ...]:
    # Installed versions do not change within a process, and each lookup scans site-packages (~5 ms):
    # pinned once, they cost nothing on later log_model calls.
    from hf_mltrack.models.requirements import infer_pip_requirements

    return tuple(infer_pip_requirements(default_pip_packages(is_peft=is_peft, uses_accelerate=True)))
