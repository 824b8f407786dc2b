# The API / indexer / migrate image: one image, the command picks the role.
# Runtime dependencies are pinned by requirements.lock (used as constraints, so the dev-only
# tools in the lock stay out of the image).

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY requirements.lock pyproject.toml README.md ./
COPY documents ./documents
COPY indexers ./indexers
COPY migrations ./migrations
COPY service ./service
RUN /opt/venv/bin/pip install --constraint requirements.lock .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# A fixed non-root uid/gid, so volume permissions are predictable.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin app \
 && mkdir /app && chown app:app /app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER app:app
EXPOSE 8000
# The API's readiness (Mongo, Redis, Elasticsearch); docker-compose overrides it per role.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["marketplace", "serve", "--host", "0.0.0.0", "--port", "8000"]
