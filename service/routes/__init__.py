"""HTTP routes, one module per area. A route parses the request, calls one use case of the
caller's ``engine.app.SchoolApp`` (which checks access and writes the audit) and returns the
response model; ``service.http_errors`` maps engine errors to HTTP statuses."""
