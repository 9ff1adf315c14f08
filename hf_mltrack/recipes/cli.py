"""``hf-mltrack recipes run|inspect|clean`` (MLflow's ``mlflow recipes``) for the recipe in a folder."""

from __future__ import annotations

import click

from hf_mltrack.recipes.config import STEPS

_step = click.option("--step", "-s", type=click.Choice(STEPS), default=None, help="The step (default: all).")
_profile = click.option(
    "--profile",
    "-p",
    envvar="HF_MLTRACK_RECIPES_PROFILE",
    default=None,
    help="The profile: profiles/<profile>.yaml (env HF_MLTRACK_RECIPES_PROFILE).",
)
_root = click.option(
    "--recipe-root",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="The recipe folder (default: the current directory).",
)


def _recipe(profile: str | None, recipe_root: str | None):
    from hf_mltrack.exceptions import MlTrackException
    from hf_mltrack.recipes.recipe import Recipe

    try:
        return Recipe(profile=profile, recipe_root=recipe_root)
    except MlTrackException as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("recipes")
def recipes() -> None:
    """Run, inspect and clean the recipe (recipe.yaml) in the current folder."""


@recipes.command("run")
@_step
@_profile
@_root
def run(step: str | None, profile: str | None, recipe_root: str | None) -> None:
    """Run the recipe up to --step (all steps by default); unchanged steps come from the cache."""
    from hf_mltrack.exceptions import MlTrackException

    recipe = _recipe(profile, recipe_root)
    try:
        results = recipe.run(step)
    except MlTrackException as exc:
        raise click.ClickException(str(exc)) from exc
    for name, status in results.items():
        click.echo(f"{name:<10} {status}")


@recipes.command("inspect")
@_step
@_profile
@_root
def inspect(step: str | None, profile: str | None, recipe_root: str | None) -> None:
    """Print a step's card (the overview by default) and the path of its HTML page."""
    from hf_mltrack.exceptions import MlTrackException

    recipe = _recipe(profile, recipe_root)
    try:
        card = recipe.inspect(step)
    except MlTrackException as exc:
        raise click.ClickException(str(exc)) from exc
    if card.html_path:
        click.echo(f"\nHTML: {card.html_path}")


@recipes.command("clean")
@_step
@_profile
@_root
def clean(step: str | None, profile: str | None, recipe_root: str | None) -> None:
    """Remove cached outputs: of --step and the steps after it, or all of them."""
    _recipe(profile, recipe_root).clean(step)
    click.echo(f"Cleaned {'all steps' if step is None else f'{step!r} and the steps after it'}")
