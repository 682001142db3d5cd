# Multi-stage: dependencies are installed once, without dev dependencies, and the processes run as
# a non-root user. LeadRouter runs its TypeScript sources with tsx (a production dependency).
# Pinned to a patch release (the Node this repo is tested on), so every build runs the same runtime.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Only the npm manifests, at their workspace paths. This stage sees every source change, but the
# deps stage copies just its output, and a COPY is cached on the content it copies: `npm ci` reruns
# only when a package.json or package-lock.json changes. The globs are the root package.json's
# `workspaces`, so a new workspace needs no edit here.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests && cp --parents package.json package-lock.json apps/*/package.json packages/*/package.json /manifests/

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# The sources stay root-owned (the app cannot rewrite itself); only the all-in-one's data directory
# (embedded data under ./.data, used by the image's default `npm start`) belongs to the app user.
RUN install -d -o node -g node /app/.data
USER node
EXPOSE 3000 3001 3002
CMD ["npm", "start"]
