# syntax=docker/dockerfile:1.7@sha256:a57df69d0ea827fb7266491f2813635de6f17269be881f696fbfdf2d83dda33e

# Chatbox's image: `node dist/main.js` on the current Node.js LTS line, as uid 1000, ready for a read-only
# root filesystem. Build with BuildKit (`docker build .`, `docker buildx build .`, buildah): see README,
# Deploying.
#
# Base image: node:26.11.1-trixie-slim (Node.js 26, LTS since 2026-10-28; Debian 13 slim), pinned by the
# digest of its multi-architecture index. The tag is only for people: Renovate's or Dependabot's docker
# manager bumps tag and digest together on all three FROM lines below; never change one without the other.
# test/helm/deploy_files_test.go fails when the three lines differ or lose the digest.

# --- build: every dependency, then the server (nest build) and the pages (esbuild) into dist/ -----------
FROM node:26.11.1-trixie-slim@sha256:193fe51b64e77981119c98c2002c9e32a70e2f006fb4d25068ce0558998917f0 AS build
WORKDIR /app
COPY package.json package-lock.json ./
# A private registry's credentials, when there are any, come in as the BuildKit secret `npmrc` (an .npmrc
# file): mounted for this one command, never written to a layer. Without it the public registry is used.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required=false \
    --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only -----------------------------------------------------------------------
FROM node:26.11.1-trixie-slim@sha256:193fe51b64e77981119c98c2002c9e32a70e2f006fb4d25068ce0558998917f0 AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency needs an install script (the only one, @scarf/scarf, reports downloads).
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc,required=false \
    --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime --------------------------------------------------------------------------------------------
FROM node:26.11.1-trixie-slim@sha256:193fe51b64e77981119c98c2002c9e32a70e2f006fb4d25068ce0558998917f0 AS runtime
# The application never runs npm: the package managers go, and with them their own dependencies' advisories.
# /data is DATA_DIR, owned by the `node` user (uid 1000) so that a fresh named volume inherits that owner.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
        /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
        /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
    && mkdir -p /data \
    && chown 1000:1000 /data
# NODE_ENV=production: weak or missing secrets and a missing MONGODB_URI stop the process at start-up.
# HOST=0.0.0.0 (production's default, said here for `NODE_ENV=development` runs of the image too).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
# Owned by root and read-only for the process: the application cannot change its own code.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER 1000:1000
# The only places the process writes: DATA_DIR (files of the disk storage driver) and /tmp. With
# `--read-only` (or Kubernetes' readOnlyRootFilesystem) mount a volume or tmpfs on each; the Helm chart
# mounts emptyDirs there.
VOLUME ["/data", "/tmp"]
EXPOSE 3000
# Liveness of the configured prefix (<CHATBOX_PATH_PREFIX>/healthz, checking nothing external) with Node's
# own fetch: the slim image has no curl or wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD node -e 'const h=process.env.HOST;const host=!h||h==="0.0.0.0"||h==="::"?"127.0.0.1":h.includes(":")?`[${h}]`:h;fetch(`http://${host}:${process.env.PORT||3000}${process.env.CHATBOX_PATH_PREFIX||"/chatbox"}/healthz`,{signal:AbortSignal.timeout(4000)}).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))'
# Node is PID 1 and handles SIGTERM itself (drain, then exit within SHUTDOWN_TIMEOUT_MS); in production
# it starts no child process, so no init is needed to reap any.
CMD ["node", "dist/main.js"]
