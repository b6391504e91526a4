# syntax=docker/dockerfile:1
# The dtf image: `dtf worker` by default, any other dtf command as arguments
#   docker build -t dtf .
#   docker run --rm -e TEMPORAL_ADDRESS=temporal.example:7233 dtf worker --host-id cpu-7
#   docker run --rm --gpus all -e TEMPORAL_ADDRESS=temporal.example:7233 dtf worker --host-id gpu-7
# One image serves CPU and CUDA hosts: on a GPU host the NVIDIA container toolkit injects the driver libraries
# and nvidia-smi at run time (--gpus, or a compose device reservation), so nothing CUDA-specific is baked in.
# Test commands run inside this container: to test code that needs Python, CUDA libraries and so on, build
# your own image FROM this one and add them.

# Node 24, an LTS line supported until April 2028 (Node 20 reached its end of life in April 2026), at an exact
# release. Not 26: better-sqlite3 12.9 supports Node 20-25 (its prebuilt binaries spare the slim image a compiler). Pin it by
# digest too where your registry is reachable: docker buildx imagetools inspect node:24.21.0-bookworm-slim, then
# NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:<digest> (a build arg or here). The tag was not resolved to a digest
# when this was written (no registry reachable), so none is given rather than one made up.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY . .
# `npm ci` runs `prepare`, i.e. `npm run build` (tsc + workflow bundle) into dist/, which needs the dev
# dependencies; pruning them afterwards leaves only what the runtime loads.
RUN --mount=type=cache,target=/root/.npm npm ci && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node (graceful worker shutdown) and reaps the orphans of test commands.
# ca-certificates: TLS to Temporal Cloud and to whatever the tests download.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# `dtf worker` serves Prometheus metrics here (inside the container; publish or scrape it on a trusted network).
ENV DTF_METRICS_BIND=0.0.0.0:9464
EXPOSE 9464
WORKDIR /app
COPY --from=build /app /app
# The code stays root-owned and read-only to the worker; .dtf/ is dtf's own state/cache folder.
RUN mkdir -p /app/.dtf && chown node:node /app/.dtf
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/dtf.js"]
CMD ["worker"]
