"""The voice catalogue: seeded library voices, the voices the account creates, their recordings and builds.

One catalogue serves every API key (the simulator stands for one team), so synthesis, clips and edits find a
created voice by its uuid like a seeded one. A build is a `voice_build` job of the job engine: the voice's
`status`, `voice_status` and component statuses are read from that job each time the voice is read (`initializing`
while the job is pending, `running` while it processes, then `finished` or `failed`), so tests step them with
the engine's clock exactly as they step any other job.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from typing import Any

from .accounts import Collection
from .jobs import Job, JobEngine, Status, iso

Item = dict[str, Any]

LIBRARY_SOURCE = "Resemble Voice Library"
CUSTOM_SOURCE = "Custom Voice"
UNBUILT_STATUS = "pending"
BUILD_PHASES: dict[Status, str] = {
    "pending": "initializing",
    "processing": "running",
    "completed": "finished",
    "failed": "failed",
}
COMPONENTS = ("text_to_speech", "fill", "voice_conversion")


def component_status(status: str) -> dict[str, dict[str, str]]:
    return {component: {"status": status} for component in COMPONENTS}


def with_status(voice: Item, status: str) -> Item:
    return {**voice, "status": status, "voice_status": status, "component_status": component_status(status)}


class VoiceCatalogue:
    def __init__(self, voices: list[Item], engine: JobEngine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._voices: dict[str, Item] = {voice["uuid"]: copy.deepcopy(voice) for voice in voices}
        self._builds: dict[str, str] = {}  # voice uuid -> its latest build job
        self._recordings: dict[str, Collection] = defaultdict(lambda: Collection(threading.Lock()))

    def all(self) -> list[Item]:
        with self._lock:
            voices = copy.deepcopy(list(self._voices.values()))
        return [self._view(voice) for voice in voices]

    def get(self, voice_uuid: str) -> Item | None:
        with self._lock:
            found = copy.deepcopy(self._voices.get(voice_uuid))
        return self._view(found) if found is not None else None

    def add(self, voice: Item) -> Item:
        with self._lock:
            self._voices[voice["uuid"]] = copy.deepcopy(voice)
        return self._view(copy.deepcopy(voice))

    def update(self, voice_uuid: str, changes: Item) -> Item | None:
        with self._lock:
            found = self._voices.get(voice_uuid)
            if found is None:
                return None
            found.update(copy.deepcopy(changes))
            updated = copy.deepcopy(found)
        return self._view(updated)

    def remove(self, voice_uuid: str) -> Item | None:
        with self._lock:
            self._builds.pop(voice_uuid, None)
            self._recordings.pop(voice_uuid, None)
            return self._voices.pop(voice_uuid, None)

    def recordings(self, voice_uuid: str) -> Collection:
        with self._lock:
            return self._recordings[voice_uuid]

    # builds

    def start_build(self, voice_uuid: str, job: Job) -> None:
        with self._lock:
            self._builds[voice_uuid] = job.uuid

    def build(self, voice_uuid: str) -> Job | None:
        with self._lock:
            job_uuid = self._builds.get(voice_uuid)
        return self._engine.get("voice_build", job_uuid) if job_uuid is not None else None

    def is_building(self, voice_uuid: str) -> bool:
        job = self.build(voice_uuid)
        return job is not None and self._engine.status(job) in {"pending", "processing"}

    def _view(self, voice: Item) -> Item:
        job = self.build(voice["uuid"])
        if job is None:
            return voice
        view = with_status(voice, BUILD_PHASES[self._engine.status(job)])
        view["updated_at"] = iso(self._engine.updated_at(job))
        return view
