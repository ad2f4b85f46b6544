"""Running a platform: in a background thread of this process (tests, studies, ``hypersteal trt``)
or in the foreground (``hypersteal mlaas serve``)."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from pathlib import Path

from .settings import Settings

__all__ = ["EmbeddedPlatform", "embedded_platform", "serve"]


class EmbeddedPlatform:
    """A platform served by uvicorn on a free loopback port, in a daemon thread.

    >>> with EmbeddedPlatform() as p:                      # doctest: +SKIP
    ...     client = Client(p.url, p.key)

    ``data_dir=None`` uses a temporary directory, removed on exit. A tenant named ``tenant`` is created
    and its key is :attr:`key`. :attr:`store` gives the operator's view (with the platform's secrets).
    """

    def __init__(self, data_dir=None, *, settings: Settings | None = None, tenant: str | None = "embedded",
                 host: str = "127.0.0.1", start_timeout: float = 60.0, **overrides):
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="hypersteal-mlaas-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.settings = settings or Settings.load(self.data_dir, **overrides)
        self.host, self.tenant, self.start_timeout = host, tenant, start_timeout
        self.url: str | None = None
        self.key: str | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = None

    @property
    def platform(self):
        return self.app.state.platform

    @property
    def store(self):
        return self.platform.store

    def start(self) -> EmbeddedPlatform:
        import uvicorn

        from .service import create_app

        self.app = create_app(self.data_dir, self.settings)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"mlaas-uvicorn-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                sock.close()
                raise RuntimeError("The embedded MLaaS server failed to start (see the log above).")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("The embedded MLaaS server did not start in time.")
            time.sleep(0.02)
        self.url = f"http://{self.host}:{port}"
        if self.tenant is not None and self.key is None:
            _, self.key = self.store.add_tenant(self.tenant)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._server = self._thread = None

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedPlatform:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def embedded_platform(data_dir=None, **kwargs):
    """Start a platform on a free loopback port; yield ``(url, api_key)`` of a fresh tenant; stop it after.

    ``kwargs``: ``settings=`` or individual :class:`Settings` fields (``workers=2``, ``grid=...``).
    """
    with EmbeddedPlatform(data_dir, **kwargs) as p:
        yield p.url, p.key


def serve(host: str = "127.0.0.1", port: int = 8000, data_dir=".", settings: Settings | None = None,
          log_level: str = "info") -> None:
    """Serve a platform in the foreground until interrupted."""
    import uvicorn

    from .service import create_app

    app = create_app(data_dir, settings or Settings.load(data_dir))
    uvicorn.run(app, host=host, port=port, log_level=log_level)
