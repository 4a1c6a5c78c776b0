"""The gateway: one front door to the services, with pools created once in its lifespan."""
