"""`GET /api/v1/resemble/tts/stream`, upgraded to a WebSocket (see `service` for the protocol and its billing).

Mounted on the public router: a WebSocket route takes no HTTP dependencies, so the socket authenticates its own
upgrade request with the same bearer rules as every other route, and answers a bad one with an error frame."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from voicegate.resemble.streaming import service
from voicegate.resources import Resources

router = APIRouter(prefix="/resemble/tts", tags=["text-to-speech"])


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    resources: Resources = websocket.app.state.resources
    await service.serve(websocket, resources)
