"""The API's routes, one module per resource (each exposes ``router``)."""

from lightcomp.api.routes import components, lots, service

ROUTERS = (service.router, components.router, lots.router)

__all__ = ["ROUTERS"]
