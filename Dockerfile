# The n8n image with this pack installed as a community package (node types n8n-nodes-checkout-recovery.*).
# Stage 1 builds and packs the pack from source, and installs the packed pack's dependencies from the
# project's lockfile (the versions the tests ran); stage 2 puts it where n8n looks for community packages.
# Build: docker compose build (see docker-compose.yml).
FROM node:24-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json gulpfile.js ./
COPY credentials ./credentials
COPY nodes ./nodes
COPY lib ./lib
RUN npm run build && npm pack --pack-destination /tmp \
 && mkdir -p /out/pack && tar -xzf /tmp/n8n-nodes-checkout-recovery-*.tgz -C /out/pack --strip-components=1 \
 && cp package-lock.json .npmrc /out/pack/ \
 && cd /out/pack && npm ci --omit=dev --omit=peer --ignore-scripts --no-audit --no-fund \
 && node -e "const p=require('./package.json');require('fs').writeFileSync('/out/nodes-package.json',JSON.stringify({name:'installed-nodes',private:true,dependencies:{[p.name]:p.version}}))"

FROM n8nio/n8n:2.41.1
USER root
COPY --from=build /out/pack /home/node/.n8n/nodes/node_modules/n8n-nodes-checkout-recovery
COPY --from=build /out/nodes-package.json /home/node/.n8n/nodes/package.json
COPY workflows /workflows
COPY deploy /deploy
# The init service's state volume takes this folder's owner on its first mount.
RUN chown -R node:node /home/node/.n8n && mkdir -p /init-state && chown node:node /init-state
USER node
