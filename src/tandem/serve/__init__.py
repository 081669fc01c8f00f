"""tandem.serve: the HTTP service (FastAPI + uvicorn) over the edge runtime or the torch model.

    from tandem.serve import ServeSettings, create_app, load_backend
    app = create_app(load_backend("student-int8/", "edge"), ServeSettings(max_batch=16, token="s3cret"))

`tandem serve MODEL` runs it under uvicorn on 127.0.0.1.
"""

from tandem.serve.app import ServeSettings, create_app, serve
from tandem.serve.backends import Backend, EdgeBackend, GenerateParams, TorchBackend, load_backend
from tandem.serve.batching import MicroBatcher, QueueFull
from tandem.serve.metrics import Metrics

__all__ = [
    "Backend",
    "EdgeBackend",
    "GenerateParams",
    "MicroBatcher",
    "Metrics",
    "QueueFull",
    "ServeSettings",
    "TorchBackend",
    "create_app",
    "load_backend",
    "serve",
]
