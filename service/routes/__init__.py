"""HTTP routes, one module per area. Routes parse, authorize, call the backend, audit."""
