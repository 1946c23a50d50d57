# The prediction service: `mlwb serve` on the registry's champion, in a slim image, as a non-root user.
# Build from the project root once a version is registered (the image carries models/registry, not the data):
#   mlwb registry register --alias champion && docker build -t mlwb-serve .
#   docker run -p 8000:8000 -e MLWB_ADMIN_TOKEN=... [-e MLWB_SERVE_DATABASE_URL=postgresql+psycopg://...] mlwb-serve
# Every `serve` key of params.yaml can be set with MLWB_SERVE_<KEY>; the SQLite log is in /app/logs (mount a volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# the pinned set, exactly as `make setup` installs it (--no-deps: the lock is complete)
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY settings.ini setup.py pyproject.toml README.md ./
COPY mlworkbench ./mlworkbench
RUN pip install --no-deps --no-build-isolation . && rm -rf build *.egg-info

COPY params.yaml dvc.yaml ./
COPY models/registry ./models/registry

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin mlwb && mkdir -p /app/logs && chown mlwb /app/logs
USER mlwb

ENV MLWB_PROJECT=/app MLWB_SERVE_HOST=0.0.0.0 MLWB_SERVE_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=2)"]
# uvicorn stops on SIGTERM after answering in-flight requests; the service then writes every queued log row
CMD ["mlwb", "serve"]
