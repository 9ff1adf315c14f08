"""The ``python_function`` view of a PyTorch model: numpy / DataFrame in, numpy / DataFrame out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError


def _to_numpy(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, Mapping):
        return {k: _to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(v) for v in value)
    return value


class _PyTorchWrapper:
    """Runs the module in eval mode under ``torch.inference_mode`` on the module's device.

    A DataFrame becomes one float32 tensor (MLflow's convention) and the result a DataFrame; a numpy array or
    list becomes a tensor of its dtype (float64 lists become float32) and the result a numpy array; a dict of
    arrays is passed as keyword tensors.
    """

    def __init__(self, module: Any, model_config: Mapping[str, Any] | None = None) -> None:
        self.pytorch_model = module
        self.model_config = dict(model_config or {})

    def get_raw_model(self) -> Any:
        return self.pytorch_model

    def _device(self) -> Any:
        import torch

        for tensor in self.pytorch_model.parameters():
            return tensor.device
        for tensor in self.pytorch_model.buffers():
            return tensor.device
        return torch.device("cpu")

    def _tensor(self, value: Any) -> Any:
        import numpy as np
        import torch

        if isinstance(value, torch.Tensor):
            return value.to(self._device())
        array = np.asarray(value)
        if array.dtype.kind in "OUS":
            raise InvalidParameterError(f"The PyTorch flavor takes numeric input; got an array of {array.dtype}")
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(array)).to(self._device())

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        import numpy as np
        import pandas as pd
        import torch

        self.pytorch_model.eval()
        with torch.inference_mode():
            if isinstance(data, pd.DataFrame):
                out = self.pytorch_model(self._tensor(data.to_numpy(dtype=np.float32)))
                result = _to_numpy(out)
                if isinstance(result, np.ndarray) and result.ndim <= 2:
                    frame = pd.DataFrame(result)
                    frame.index = data.index
                    return frame
                return result
            if isinstance(data, Mapping):
                return _to_numpy(self.pytorch_model(**{k: self._tensor(v) for k, v in data.items()}))
            if isinstance(data, (str, bytes)):
                raise InvalidParameterError("The PyTorch flavor takes numeric arrays or DataFrames, not strings")
            return _to_numpy(self.pytorch_model(self._tensor(data)))


def _load_pyfunc(
    path: str, model_config: Mapping[str, Any] | None = None, allow_pickle: bool = False
) -> _PyTorchWrapper:
    """Loader of the ``python_function`` flavor: ``path`` is the model's ``data/`` folder.

    The device is ``model_config["device"]`` when given, else ``cuda`` when available, else CPU.
    """
    import torch

    from hf_mltrack.pytorch._model import _load_from_data

    config = dict(model_config or {})
    device = config.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    module = _load_from_data(path, map_location=device, allow_pickle=allow_pickle)
    return _PyTorchWrapper(module, config)
