"""The quickstart job: build a tiny GPT-2, LoRA fine-tune it under autolog, register it, load it back.

Every step uses the public API a user would write; `run_quickstart` is what ``hf-mltrack quickstart``
prints a summary of.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EXPERIMENT_NAME = "quickstart"
REGISTERED_MODEL_NAME = "quickstart-tiny-gpt2-lora"
PROMPT = "### Instruction: what is a model registry? ### Response:"


@dataclass(frozen=True)
class QuickstartResult:
    """What the quickstart did: where the run is, what it learned and what the loaded model generated.

    Args:
        tracking_uri (`str`): the store the run was written to.
        experiment_id (`str`): the id of the ``quickstart`` experiment.
        run_id (`str`): the fine-tuning run.
        registered_model_name (`str`): the registered model.
        model_version (`str`): the version created by this run.
        model_uri (`str`): the URI the pipeline was loaded from (``models:/<name>/<version>``).
        trainable_params (`int`): LoRA parameters trained.
        total_params (`int`): parameters of the whole model (base and adapter).
        first_loss (`float`): the first logged training loss.
        final_loss (`float`): the last logged training loss.
        eval_loss (`float`): the loss on the held-out lines after training.
        steps (`int`): optimizer steps taken.
        prompt (`str`): the prompt given to the loaded pipeline.
        generated_text (`str`): what the loaded pipeline generated.
        seconds (`float`): wall time of the whole job.
    """

    tracking_uri: str
    experiment_id: str
    run_id: str
    registered_model_name: str
    model_version: str
    model_uri: str
    trainable_params: int
    total_params: int
    first_loss: float
    final_loss: float
    eval_loss: float
    steps: int
    prompt: str
    generated_text: str
    seconds: float


def _training_args(output_dir: str, steps: int, learning_rate: float) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir,
        run_name="quickstart-lora",
        max_steps=steps,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        learning_rate=learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 10),
        logging_steps=max(1, min(5, steps // 6)),
        save_strategy="no",
        eval_strategy="no",
        report_to="none",  # autolog adds the hf_mltrack callback
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )


def run_quickstart(
    steps: int = 30,
    tracking_uri: str | None = None,
    experiment_name: str = EXPERIMENT_NAME,
    registered_model_name: str = REGISTERED_MODEL_NAME,
    learning_rate: float = 5e-3,
    echo: Callable[[str], Any] | None = None,
) -> QuickstartResult:
    """Fine-tune a tiny GPT-2 with LoRA under autolog, register it and load it back as a pipeline.

    Works with no network: the tokenizer is trained on a built-in corpus and the model initialized
    locally (``HF_HUB_OFFLINE=1`` is set). The run goes to ``tracking_uri``, else to the current
    tracking URI (``HF_MLTRACK_TRACKING_URI``, else ``./mlruns`` or ``$HF_MLTRACK_HOME``).

    Args:
        steps (`int`, *optional*, defaults to 30): optimizer steps (batches of 4 lines).
        tracking_uri (`str`, *optional*): where to log; a folder, ``sqlite:///...``, ``postgresql://...``
            or the ``http://`` address of an ``hf-mltrack server``.
        experiment_name (`str`, *optional*, defaults to `"quickstart"`): the experiment of the run.
        registered_model_name (`str`, *optional*, defaults to `"quickstart-tiny-gpt2-lora"`): the
            registered model; each call adds a version.
        learning_rate (`float`, *optional*, defaults to 5e-3): the peak learning rate (cosine schedule).
        echo (`Callable[[str], Any]`, *optional*): called with a line per stage (progress messages).

    Returns:
        `QuickstartResult`: the run id, losses, parameter counts, model version and generated text.
    """
    if steps < 1:
        from ..exceptions import InvalidParameterError

        raise InvalidParameterError(f"steps={steps}: give 1 or more optimizer steps")
    say = echo or (lambda _line: None)
    started = time.perf_counter()

    from .tiny import offline

    offline()
    import hf_mltrack
    import hf_mltrack.transformers as hft
    from hf_mltrack.tracking import MlTrackClient

    if tracking_uri:
        hf_mltrack.set_tracking_uri(tracking_uri)
    experiment = hf_mltrack.set_experiment(experiment_name)
    uri = hf_mltrack.get_tracking_uri()
    say(f"Tracking to {uri} (experiment {experiment_name!r})")

    say("Building a tiny GPT-2 and training its tokenizer on the built-in corpus ...")
    from transformers import DataCollatorForLanguageModeling, PrinterCallback, Trainer

    from .tiny import add_lora, build_dataset, build_gpt2, build_tokenizer, count_parameters

    tokenizer = build_tokenizer()
    base = build_gpt2(tokenizer)
    train_set, test_set = build_dataset(tokenizer)

    hf_mltrack.autolog(log_models=False, silent=True)  # the LoRA model is logged below, with its base
    try:
        with hf_mltrack.start_run(
            run_name="quickstart-lora",
            description="hf-mltrack quickstart: LoRA fine-tune of a tiny GPT-2 on a built-in corpus",
            tags={"method": "lora", "base_model": "tiny-gpt2", "source": "hf-mltrack quickstart"},
        ) as run:
            # The base weights are logged once; the fine-tuned model below stores only its adapter
            # and points at them (base_model_uri), as it would for a multi-GB base.
            base_info = hft.log_model({"model": base, "tokenizer": tokenizer}, name="base_model")
            model = add_lora(base)
            trainable, total = count_parameters(model)
            hf_mltrack.log_params({"lora_rank": 8, "lora_alpha": 16, "trainable_params_pct": 100 * trainable / total})

            say(f"LoRA fine-tuning for {steps} steps ({trainable:,} of {total:,} parameters trainable) ...")
            with tempfile.TemporaryDirectory(prefix="hf-mltrack-quickstart-") as output_dir:
                trainer = Trainer(
                    model=model,
                    args=_training_args(output_dir, steps, learning_rate),
                    train_dataset=train_set,
                    eval_dataset=test_set,
                    data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
                )
                trainer.remove_callback(PrinterCallback)  # the summary reports the losses
                train_result = trainer.train()
                eval_metrics = trainer.evaluate()  # logged to the run by the callback, at the last step

            say("Logging and registering the model ...")
            info = hft.log_model(
                {"model": model, "tokenizer": tokenizer},
                name="model",
                task="text-generation",
                base_model_uri=base_info.model_uri,
                model_config={"max_new_tokens": 16, "do_sample": False},
                registered_model_name=registered_model_name,
            )
            run_id = run.info.run_id
    finally:
        hf_mltrack.autolog(disable=True)

    client = MlTrackClient()
    version = str(info.registered_model_version)
    history = client.get_metric_history(run_id, "loss")
    losses = [m.value for m in sorted(history, key=lambda m: m.step)]

    model_uri = f"models:/{registered_model_name}/{version}"
    say(f"Loading {model_uri} back as a pipeline ...")
    pipe = hft.load_model(model_uri, device="cpu")
    generated = pipe(PROMPT, max_new_tokens=16, do_sample=False)[0]["generated_text"]

    eval_loss = float(eval_metrics.get("eval_loss", math.nan))
    return QuickstartResult(
        tracking_uri=uri,
        experiment_id=experiment.experiment_id,
        run_id=run_id,
        registered_model_name=registered_model_name,
        model_version=version,
        model_uri=model_uri,
        trainable_params=trainable,
        total_params=total,
        first_loss=losses[0] if losses else float(train_result.training_loss),
        final_loss=losses[-1] if losses else float(train_result.training_loss),
        eval_loss=eval_loss,
        steps=int(train_result.global_step),
        prompt=PROMPT,
        generated_text=generated,
        seconds=time.perf_counter() - started,
    )


def ui_command(tracking_uri: str) -> str:
    """The command that opens the UI on ``tracking_uri`` (plain ``hf-mltrack ui`` for the default store)."""
    from ..tracking._uri import resolve_tracking_uri

    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri  # the server already serves it
    if resolve_tracking_uri(None) == tracking_uri:
        return "hf-mltrack ui"
    return f"hf-mltrack ui --backend-store-uri '{tracking_uri}'"
