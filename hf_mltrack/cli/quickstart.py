"""``hf-mltrack quickstart``: the README's main job, a tiny tracked LoRA fine-tune with no network."""

from __future__ import annotations

import click


@click.command("quickstart")
@click.option("--steps", default=30, show_default=True, type=click.IntRange(min=1), help="Optimizer steps to train.")
@click.option(
    "--tracking-uri",
    default=None,
    help="Where to log: a folder, sqlite:///..., postgresql://... or http://host:port "
    "(default: HF_MLTRACK_TRACKING_URI, else ./mlruns or $HF_MLTRACK_HOME).",
)
@click.option(
    "--registered-model-name",
    default="quickstart-tiny-gpt2-lora",
    show_default=True,
    help="Registered model that receives a new version.",
)
def quickstart(steps: int, tracking_uri: str | None, registered_model_name: str) -> None:
    """Fine-tune a tiny GPT-2 with LoRA: tracked, registered, loaded back (offline, ~20 s).

    Builds a 2-layer GPT-2 and a BPE tokenizer trained on a built-in corpus, trains a LoRA adapter
    with the transformers Trainer under hf_mltrack.autolog(), logs and registers the model, loads it
    back from the registry as a pipeline, generates, and prints a summary and the command that opens
    the UI.
    """
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        from ..exceptions import missing_extra

        raise click.ClickException(
            str(missing_extra("hf-mltrack quickstart", exc.name or "transformers", "hf"))
        ) from exc
    from ..exceptions import MlTrackException
    from ..quickstart.job import run_quickstart, ui_command
    from ..quickstart.tiny import quiet

    quiet()

    try:
        result = run_quickstart(
            steps=steps,
            tracking_uri=tracking_uri,
            registered_model_name=registered_model_name,
            echo=lambda line: click.echo(line, err=True),
        )
    except MlTrackException as exc:
        raise click.ClickException(exc.message) from exc

    pct = 100 * result.trainable_params / result.total_params
    lines = [
        "",
        f"Quickstart finished in {result.seconds:.1f} s",
        f"  run id            {result.run_id}  (experiment {result.experiment_id})",
        f"  parameters        {result.trainable_params:,} trainable of {result.total_params:,} ({pct:.1f}%)",
        f"  train loss        {result.first_loss:.4f} -> {result.final_loss:.4f} in {result.steps} steps",
        f"  eval loss         {result.eval_loss:.4f}",
        f"  registered model  {result.registered_model_name} version {result.model_version}",
        f"  loaded from       {result.model_uri}",
        f"  prompt            {result.prompt!r}",
        f"  generated         {result.generated_text[len(result.prompt) :]!r}",
        f"  store             {result.tracking_uri}",
        "",
        f"Open the UI: {ui_command(result.tracking_uri)}",
    ]
    click.echo("\n".join(lines))
