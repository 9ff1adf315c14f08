"""The quickstart: a tiny LoRA fine-tune tracked end to end, on the embedded store, with no network.

```python
from hf_mltrack.quickstart import run_quickstart

result = run_quickstart(steps=30)           # what `hf-mltrack quickstart` runs
print(result.run_id, result.model_version, result.generated_text)
```

`hf_mltrack.quickstart.tiny` builds the tiny tokenizer and GPT-2 that the quickstart and the
notebooks use. Importing this package is cheap: torch, transformers and peft load when a job runs.
"""

from __future__ import annotations

from .job import QuickstartResult, run_quickstart

__all__ = ["QuickstartResult", "run_quickstart"]
