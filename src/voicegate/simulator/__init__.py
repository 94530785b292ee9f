"""A standalone simulator of the subset of Resemble AI's HTTP API that the gateway uses.

It deliberately imports nothing else from `voicegate`: it is an independent implementation of the
wire protocol.
"""

from .app import close_simulator_app, create_simulator_app
from .server import RunningSimulator, running_simulator, serve
from .state import SimulatorState
from .voices import SEEDED_VOICES

__all__ = [
    "SEEDED_VOICES",
    "RunningSimulator",
    "SimulatorState",
    "close_simulator_app",
    "create_simulator_app",
    "running_simulator",
    "serve",
]
