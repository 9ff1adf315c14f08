"""``python_function``: the generic model interface every flavor can be loaded through.

```python
class LLMWrapper(hf_mltrack.pyfunc.PythonModel):
    def load_context(self, context): ...
    def predict(self, context, model_input, params=None): ...

info = hf_mltrack.pyfunc.log_model(artifact_path="llm-wrapper", python_model=LLMWrapper(),
                                   artifacts={"model_dir": "./model_output"}, signature=signature)
model = hf_mltrack.pyfunc.load_model(info.model_uri)
model.predict(pd.DataFrame({"prompt": ["What is deep learning?"]}))
```
"""

from __future__ import annotations

from hf_mltrack.pyfunc.loaders import (
    FLAVOR_NAME,
    PyFuncModel,
    add_to_model,
    get_model_dependencies,
    load_model,
    register_loader_module,
)
from hf_mltrack.pyfunc.model import PythonModel, PythonModelContext, log_model, save_model

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "add_to_model",
    "get_model_dependencies",
    "load_model",
    "log_model",
    "register_loader_module",
    "save_model",
]
