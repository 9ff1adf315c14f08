"""``/api/2.0/mlflow/logged-models/search``: MLflow 3 clients look up logged models when they list or
download run artifacts; hf_mltrack keeps models as run artifacts, so the answer is an empty page."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from .._json import JSONResponse

router = APIRouter(prefix="/logged-models", tags=["logged models"])


class SearchLoggedModels(BaseModel):
    experiment_ids: list[str] = Field(default_factory=list)
    filter: str | None = None
    max_results: int | None = None
    page_token: str | None = None


class SearchLoggedModelsResponse(BaseModel):
    models: list[dict] = Field(default_factory=list)
    next_page_token: str | None = None


@router.post("/search", response_model=SearchLoggedModelsResponse)
def search_logged_models(body: SearchLoggedModels) -> JSONResponse:
    return JSONResponse({"models": []})
