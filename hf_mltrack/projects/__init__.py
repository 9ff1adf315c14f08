"""Projects: run a folder or git repository with an MLproject file as a tracked, reproducible run.

```python
import hf_mltrack

submitted = hf_mltrack.run(
    uri="./",                                   # a folder or a git URL (uri#subdir for a subfolder)
    entry_point="main",
    parameters={"learning_rate": 3e-4, "epochs": 5, "lora_rank": 16},
    experiment_name="LLM-FineTuning",
    env_manager="virtualenv",                   # local, virtualenv, uv, conda, docker
)
hf_mltrack.get_run(submitted.run_id).data.params
```

Command line: ``hf-mltrack run ./ -e main -P learning_rate=3e-4 --experiment-name LLM-FineTuning``.
"""

from __future__ import annotations

from .environments import ENV_MANAGERS
from .launcher import run
from .spec import DockerEnv, EntryPoint, ExecutionError, Parameter, Project, load_project
from .submitted_run import LocalSubmittedRun, SubmittedRun

__all__ = [
    "ENV_MANAGERS",
    "DockerEnv",
    "EntryPoint",
    "ExecutionError",
    "LocalSubmittedRun",
    "Parameter",
    "Project",
    "SubmittedRun",
    "load_project",
    "run",
]
