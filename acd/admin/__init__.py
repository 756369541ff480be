"""HTTP API, wallboard (SSE), advisor page, Prometheus /metrics."""
