"""The FastAPI application, its routes and web pages, and the `hotline` command."""
