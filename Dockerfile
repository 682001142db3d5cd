# Multi-stage: dependencies are installed once, without dev dependencies, and the processes run as
# a non-root user. LeadRouter runs its TypeScript sources with tsx (a production dependency).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/intake-api/package.json apps/intake-api/
COPY apps/worker/package.json apps/worker/
COPY apps/postback/package.json apps/postback/
COPY apps/all-in-one/package.json apps/all-in-one/
COPY packages ./packages-manifests
RUN for p in packages-manifests/*/; do mkdir -p "packages/$(basename "$p")" && cp "$p/package.json" "packages/$(basename "$p")/"; done \
  && rm -rf packages-manifests \
  && npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
USER node
EXPOSE 3000 3001 3002
CMD ["npm", "start"]
