# banwatch daemon image.
#   build:  docker build -t banwatch .        (podman: podman build --format docker -t banwatch .)
#   run:    docker run -v ./sources.toml:/config/sources.toml:ro -v banwatch-data:/data \
#                      -v banwatch-digests:/digests -p 8087:8087 banwatch
# Configuration: a mounted sources.toml plus BANWATCH_* environment variables (BANWATCH_DB,
# BANWATCH_TIMEZONE, BANWATCH_DIGEST_TIME, BANWATCH_SMTP_*, …; see docs/operations.md).

# ---- build: a virtualenv with banwatch and its dependencies (wheels from PyPI only)
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/banwatch
WORKDIR /src
# dependencies first, so a code change does not reinstall them
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + p["optional-dependencies"]["postgres"] + p["optional-dependencies"]["brotli"] + ["tzdata"]))' > /tmp/requirements.txt
RUN /opt/banwatch/bin/pip install -r /tmp/requirements.txt
COPY pipeline ./pipeline
COPY migrations ./migrations
COPY alembic.ini ./
RUN /opt/banwatch/bin/pip install --no-deps . \
 && /opt/banwatch/bin/python -m compileall -q /opt/banwatch/lib \
 && /opt/banwatch/bin/banwatch --help >/dev/null

# ---- runtime: the virtualenv, a non-root user, volumes for the database and the digests
FROM python:3.12-slim
LABEL org.opencontainers.image.title="banwatch" \
      org.opencontainers.image.description="News monitoring for foreign-adversary technology bans (daemon)"
RUN groupadd --system --gid 10001 banwatch \
 && useradd --system --uid 10001 --gid banwatch --home-dir /data --shell /usr/sbin/nologin banwatch \
 && mkdir -p /data /digests /config \
 && chown banwatch:banwatch /data /digests
COPY --from=build /opt/banwatch /opt/banwatch
COPY sources.toml /config/sources.toml
ENV PATH=/opt/banwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BANWATCH_CONFIG=/config/sources.toml \
    BANWATCH_DB=sqlite:////data/banwatch.db \
    BANWATCH_OUTPUT_DIR=/digests \
    BANWATCH_HEALTH_PORT=8087
WORKDIR /data
USER banwatch:banwatch
VOLUME ["/data", "/digests"]
EXPOSE 8087
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('BANWATCH_HEALTH_PORT', '8087') + '/healthz', timeout=4)"]
ENTRYPOINT ["banwatch"]
CMD ["daemon"]
