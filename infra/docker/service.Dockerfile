# syntax=docker/dockerfile:1.7
# One recipe for every process in services/ and every job in jobs/, chosen with a build argument
# naming its folder:
#
#   docker build -f infra/docker/service.Dockerfile --build-arg APP=services/fraud --build-arg PORT=8081 .
#   docker build -f infra/docker/service.Dockerfile --target cli --build-arg APP=jobs/trainer .
#
# The default target (`service`) runs `tsx src/main.ts` from the service's folder: the `start`
# script of its package.json, the same command as on a developer machine. The `cli` target runs
# `tsx src/cli.ts` with the container's arguments (trainer, loadgen). Packages ship TypeScript
# source run by tsx, so there is no build step; tsx comes from the lockfile like everything else.

ARG NODE_VERSION=20.20.2

# Only the workspaces the service depends on, and a lockfile cut down to them.
FROM node:${NODE_VERSION}-bookworm-slim AS pruner
ARG TURBO_VERSION=2.11.11
ENV TURBO_TELEMETRY_DISABLED=1
RUN npm install --global --no-audit --no-fund turbo@${TURBO_VERSION}
WORKDIR /repo
COPY . .
ARG APP
RUN test -n "${APP}" && test -f "${APP}/package.json" \
  && turbo prune "$(node -p "require('./${APP}/package.json').name")" --docker --out-dir /out

# The full image has the compilers node-gyp needs (hnswlib-node builds from source).
FROM node:${NODE_VERSION}-bookworm AS installer
ARG NPM_VERSION=11.19.1
# The npm of the root packageManager field: it honours the allowScripts list in package.json.
RUN npm install --global --no-audit --no-fund npm@${NPM_VERSION}
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY --from=pruner /out/json/ ./
# npm install with the pruned lockfile rather than npm ci: see .ci/run for why.
RUN --mount=type=cache,target=/root/.npm npm install --no-audit --no-fund
COPY --from=pruner /out/full/ ./
# The services' tsconfig.json extend it, and tsx reads it (verbatimModuleSyntax changes the output).
COPY tsconfig.base.json ./

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=installer /app ./
COPY infra/docker/healthcheck.mjs /usr/local/lib/mlsd/healthcheck.mjs
# Mount points of the named volumes, owned by the runtime user: a fresh volume takes the owner of
# the folder it is mounted on, so the services can write their journals, stores and models
# (/logs: the offline store, mounted read-only where it is training input).
RUN install -d -o node -g node /data /logs /models /reports
USER node
ARG APP
WORKDIR /app/${APP}

FROM runtime AS cli
ENTRYPOINT ["tsx", "src/cli.ts"]
CMD ["--help"]

FROM runtime AS service
ARG PORT
RUN test -n "${PORT}"
ENV PORT=${PORT}
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "/usr/local/lib/mlsd/healthcheck.mjs", "/healthz"]
CMD ["tsx", "src/main.ts"]
