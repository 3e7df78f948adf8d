# syntax=docker/dockerfile:1
# One image for the operator and its admission webhook.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src ./operator/src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# A numeric non-root user, so Pod Security "restricted" (runAsNonRoot) can verify it without a name lookup.
USER 65532:65532
EXPOSE 8080 8081 9443
ENTRYPOINT ["node", "--enable-source-maps", "dist/main.js"]
