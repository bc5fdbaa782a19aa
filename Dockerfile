# syntax=docker/dockerfile:1
#
# regcast container image: the `regcast` command with everything it needs.
#   default command  - the schema registry: `regcast serve` on 0.0.0.0:8081
#   `regcast demo`   - the end-to-end demo (needs nothing more: it reads records back
#                      with regcast's own fetch, not with confluent-kafka)
# compose.yaml runs both from this one image. Build by hand with:
#   docker build -t regcast .

# Build stage: the sdist and the wheel built from it, with the producer's hot path
# compiled by mypyc (setup.py), on the full image, which has the C compiler the slim one
# lacks. The same build command as tests/packaging (which checks the two agree).
FROM python:3.11 AS wheel

WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md regcast.toml ./
COPY schemas ./schemas
COPY producer ./producer
COPY serdes ./serdes
COPY registry_service ./registry_service
COPY regcast ./regcast
RUN pip install --no-cache-dir build==1.6.1 && python -m build --outdir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# One install: regcast's wheel from the build stage, its dependencies as wheels from PyPI.
COPY --from=wheel /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels

# The example schemas and their subject mapping, for `regcast check` and `regcast register`
# (they find regcast.toml in the working directory; `regcast demo` uses the same files,
# which the wheel also carries as regcast/examples).
COPY schemas ./schemas
COPY regcast.toml ./

RUN useradd --system --uid 10001 --home-dir /app regcast \
    && mkdir -p /data \
    && chown regcast /data
USER regcast

# SQLite on a volume by default; compose.yaml points this at PostgreSQL instead.
ENV REGCAST_DATABASE_URL=sqlite:////data/registry.db
VOLUME ["/data"]
EXPOSE 8081

HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/health', timeout=2)"]

CMD ["regcast", "serve", "--host", "0.0.0.0", "--port", "8081"]
