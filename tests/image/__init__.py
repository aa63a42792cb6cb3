"""Image test: docker/Dockerfile built with podman and checked running."""
