"""One router per resource; Pydantic request and response models live beside their router."""
