"""Recipes: predefined, cached ML pipelines (``classification/v1`` and ``regression/v1``).

```yaml
# recipe.yaml
recipe: classification/v1     # or regression/v1
target: label
primary_metric: accuracy
data:
  location: ./data/train.csv
  format: csv
model:
  algorithm: xgboost
steps:
  train:
    estimator_params: {n_estimators: 100, max_depth: 6}
```

```python
from hf_mltrack.recipes import Recipe

recipe = Recipe(profile="local")
recipe.run()
recipe.inspect()
prediction = recipe.predict({"feature1": 1.0, "feature2": 2.0})
```

Steps: ingest -> split -> transform -> train -> evaluate -> register. Each step's outputs are cached and
the step reruns only when its configuration, its data or an earlier step changes. Needs the ``recipes``
extra (scikit-learn, skops, pyarrow); ``model.algorithm: xgboost`` also needs ``pip install xgboost``.
"""

from __future__ import annotations

from hf_mltrack.recipes.cards import StepCard
from hf_mltrack.recipes.config import STEPS
from hf_mltrack.recipes.recipe import ARTIFACTS, Recipe
from hf_mltrack.recipes.templates import TEMPLATES

__all__ = ["ARTIFACTS", "STEPS", "TEMPLATES", "Recipe", "StepCard"]
