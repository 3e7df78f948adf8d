# syntax=docker/dockerfile:1
# One image for the operator and its admission webhook: compiled JavaScript and production dependencies only.
# It writes nothing outside /tmp (a volume in the chart), so it runs with a read-only root filesystem.

# Node.js 24, the LTS line with the longest support left (to April 2028; 22 ends in April 2027, 20 ended in April
# 2026). The tag follows the line's patch releases; `npm run test:lts` runs the tests on the same line.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies alone, installed from the lock file without running install scripts (none is needed).
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# The compiler and its dependencies, for `npm run build` (operator/src to dist/, per tsconfig.build.json).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src ./operator/src
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json says "type": "module", which dist/ needs. Everything stays owned by root and read-only to the
# operator's user.
COPY --from=build /src/package.json ./
COPY --from=dependencies /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# pg_dump and psql move workspaces between PostgreSQL servers (DATABASE_TOOLS_DIR points elsewhere if needed):
# they must be at least as new as the servers, so an image for newer servers installs a newer client here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
# A numeric non-root user, so Pod Security "restricted" (runAsNonRoot) can verify it without a name lookup.
USER 65532:65532
# 9443: webhook (/validate) and invitation links (/accept), HTTPS; 8080: /metrics; 8081: /healthz and /readyz.
EXPOSE 9443 8080 8081
# node is PID 1 and the operator handles SIGTERM itself: it stops taking work, drains and releases its Lease.
STOPSIGNAL SIGTERM
# A young generation of at most 2 x 8 MB: V8's default (2 x 16 MB) is kept once a burst has grown it.
# The benchmarks start the operator with the same flags (IMAGE_NODE_FLAGS in operator/tools/bench/operator-process.ts).
ENTRYPOINT ["node", "--enable-source-maps", "--max-semi-space-size=8", "dist/main.js"]
