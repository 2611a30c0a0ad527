"""A tenant's operations, one mixin per area; composed into ``service.backend.TenantBackend``."""
