# volt-agent: one image for the worker (default), the management API (`serve`) and the CLI.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VOLT_AGENT_OUTPUT_DIR=/data/runs \
    VOLT_AGENT_METRICS_HOST=0.0.0.0 \
    VOLT_AGENT_API_HOST=0.0.0.0
COPY --from=build /install /usr/local
WORKDIR /app
COPY config ./config
RUN useradd --system --uid 10001 --home-dir /app volt \
    && mkdir -p /data/runs \
    && chown -R volt /data
USER 10001
VOLUME ["/data/runs"]
# 9464: worker Prometheus metrics; 8400: management API (`serve`)
EXPOSE 9464 8400
ENTRYPOINT ["volt-agent"]
CMD ["worker"]
