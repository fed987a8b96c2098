"""The /api/3 routes, one module per resource group over ``base.Routes``."""
