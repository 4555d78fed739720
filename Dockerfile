# The n8n image with this pack installed as a community package (node types n8n-nodes-checkout-recovery.*).
# Stage 1 builds and packs the pack from source; stage 2 installs the tarball where n8n looks for
# community packages. Build: docker compose build (see docker-compose.yml).
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json gulpfile.js ./
COPY credentials ./credentials
COPY nodes ./nodes
COPY lib ./lib
RUN npm run build && mkdir /out && npm pack --pack-destination /out

FROM n8nio/n8n:2.41.1
USER root
COPY --from=build /out/ /tmp/pack/
RUN mkdir -p /home/node/.n8n/nodes \
 && cd /home/node/.n8n/nodes \
 && echo '{"name":"installed-nodes","private":true}' > package.json \
 && npm install --omit=dev --omit=peer --ignore-scripts --no-audit --no-fund /tmp/pack/*.tgz \
 && rm -rf /tmp/pack \
 && chown -R node:node /home/node/.n8n
COPY workflows /workflows
COPY deploy /deploy
# The init service's state volume takes this folder's owner on its first mount.
RUN mkdir -p /init-state && chown node:node /init-state
USER node
