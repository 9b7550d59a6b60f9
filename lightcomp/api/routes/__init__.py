"""The API's routes, one module per resource (each exposes ``router``)."""

from lightcomp.api.routes import components, lm80, lots, service

ROUTERS = (service.router, components.router, lots.router, lm80.router)

__all__ = ["ROUTERS"]
