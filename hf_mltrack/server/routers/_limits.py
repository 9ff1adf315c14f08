"""Input limits of the request models, in one place (MLflow's limits where it has them).

Every integer the API stores is a 64-bit column, so every integer field is range-checked here: a
``step`` of 2**63 is a 400 naming the field, not an overflow inside the database driver. String limits
are MLflow's (`mlflow/utils/validation.py`) or the width of the column that stores the value, which is
the same as MLflow's schema; fields MLflow leaves unbounded get a generous bound so that no request can
make the server hold megabytes of one name.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: MLflow's limits.
MAX_KEY_LENGTH = 250  # metric, param and tag keys (MAX_ENTITY_KEY_LENGTH)
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
#: Widths of the columns (MLflow's schema has the same ones).
MAX_NAME_LENGTH = 256  # experiment, registered model, alias and user names
MAX_RUN_NAME_LENGTH = 250
MAX_DESCRIPTION_LENGTH = 5000  # model version and registered model descriptions
#: Bounds where MLflow has none.
MAX_ID_LENGTH = 256  # ids and opaque references (run ids, experiment ids, upload ids)
MAX_URI_LENGTH = 8192  # artifact locations, model sources, run links
MAX_FILTER_LENGTH = 100_000  # filter strings and page tokens


def no_nul(value: str) -> str:
    """Refuse a NUL character (PostgreSQL stores no text holding one): a 400 naming the value."""
    if "\x00" in value:
        raise ValueError(f"{value[:80]!r} contains a NUL character (\\x00), which no name or id may hold; remove it")
    return value


def no_control(value: str) -> str:
    """Refuse NUL and the other control characters (U+0000-U+001F, U+007F) in a name."""
    bad = next((ch for ch in value if ch < " " or ch == "\x7f"), None)
    if bad is not None:
        raise ValueError(
            f"{value[:80]!r} contains the control character U+{ord(bad):04X} ({bad!r}), which no name may hold; "
            "remove it"
        )
    return value


Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
NonNegativeInt64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
Id = Annotated[str, Field(max_length=MAX_ID_LENGTH), AfterValidator(no_nul)]
Key = Annotated[str, Field(max_length=MAX_KEY_LENGTH), AfterValidator(no_nul)]
Name = Annotated[str, Field(max_length=MAX_NAME_LENGTH), AfterValidator(no_control)]
RunName = Annotated[str, Field(max_length=MAX_RUN_NAME_LENGTH), AfterValidator(no_control)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)]
Uri = Annotated[str, Field(max_length=MAX_URI_LENGTH)]
Filter = Annotated[str, Field(max_length=MAX_FILTER_LENGTH)]
