"""ASGI entry point: `uvicorn service.main:app`."""

from service.app import create_app
from service.localnode.children import die_with_supervisor

die_with_supervisor()  # a worker of `serve --workers N` must not outlive its supervisor
app = create_app()
