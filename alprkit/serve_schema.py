"""The shapes of ``alprkit serve``'s answers, for its OpenAPI docs (``/docs``, ``/openapi.json``).

``/v1/read`` builds its answer from :meth:`PlateRead.to_json` itself (the objects ``alprkit
run`` prints) and reads its upload by hand (a size limit before parsing, raw bodies or
multipart); these models and the request schema only describe that to OpenAPI clients.
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field


class Plate(BaseModel):
    source: str = Field(description="the uploaded file's name, or 'upload' for a raw body")
    frame: int
    text: str
    confidence: float
    region: Optional[str] = None
    region_confidence: Optional[float] = None
    box: list[float] = Field(description="x1, y1, x2, y2 in pixels of the image")
    corners: Optional[list[list[float]]] = Field(None, description="top-left, top-right, bottom-right, bottom-left")
    score: Optional[float] = Field(None, description="the detector's score")


class Plates(BaseModel):
    plates: list[Plate]


class Error(BaseModel):
    error: str = Field(description="what was wrong, on one line")


class Health(BaseModel):
    status: str
    pipelines: list[str]
    batches: int = Field(description="batches read since the start")
    images: int = Field(description="images read in them")
    largest_batch: int


class PipelineInfo(BaseModel):
    name: str
    default: bool
    input: Optional[str] = Field(None, description="crops or scenes (whole photos); null: either")
    region: Optional[str] = None
    components: dict


class Pipelines(BaseModel):
    default: str
    pipelines: list[PipelineInfo]
    allow: list[str] = Field(description="keys a request may override")
    limits: dict


READ_RESPONSES = {
    200: {"model": Plates, "description": "the plates read (an image without one gives an empty list)"},
    400: {"model": Error, "description": "empty upload, no 'image' field, an override the server does not allow"},
    404: {"model": Error, "description": "a pipeline this server does not serve"},
    408: {"model": Error, "description": "the request took longer than the server's timeout"},
    413: {"model": Error, "description": "the upload is larger than max_upload_mb"},
    415: {"model": Error, "description": "the bytes are not an image"},
    422: {"model": Error, "description": "a damaged or truncated image, too many pixels, a bad override value"},
}


def read_request(field: str) -> dict:
    """OpenAPI's description of ``/v1/read``'s body and parameters."""
    image = {"type": "string", "format": "binary"}
    return {
        "parameters": [
            {"name": "pipeline", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "a pipeline of GET /v1/pipelines; the server's default without it"},
        ],
        "requestBody": {
            "required": True,
            "description": f"the image as the multipart field '{field}' (with optional text fields 'pipeline' "
                           "and allowed overrides, key=value), or as the raw body; overrides may also be "
                           "query parameters (?decoder.beam_width=5)",
            "content": {
                "multipart/form-data": {"schema": {"type": "object", "required": [field],
                                                   "properties": {field: image, "pipeline": {"type": "string"}}}},
                "application/octet-stream": {"schema": image},
                "image/*": {"schema": image},
            },
        },
    }
