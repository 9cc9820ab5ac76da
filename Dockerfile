# syntax=docker/dockerfile:1
# The prediction service. Two ways to provide the model:
#   baked in:        npm run model:export -- --model models:/credit-default@champion --out docker/model
#                    docker build --build-arg MODEL_NAME=credit-default --build-arg MODEL_VERSION=3 -t credit-default-serving .
#   pulled at start: docker run -e MODEL_URI=models:/credit-default@champion -e MLFLOW_TRACKING_URI=http://mlflow:5000 ...
# The runtime stage is reproduced step by step by tests/integration/serving/docker-closure.test.ts.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

FROM node:${NODE_VERSION}-slim AS runtime
ARG MODEL_NAME=unset
ARG MODEL_VERSION=unset
LABEL org.opencontainers.image.title="tfjs-mlops-workbench prediction service" \
      org.opencontainers.image.description="Serves a registered TensorFlow.js model over HTTP (MLflow scoring protocol)" \
      org.opencontainers.image.licenses="MIT" \
      io.workbench.model.name="${MODEL_NAME}" \
      io.workbench.model.version="${MODEL_VERSION}"
ENV NODE_ENV=production \
    MODEL_URI=/app/model \
    WORKBENCH_MODEL_CACHE=/tmp/models
WORKDIR /app
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY docker/model ./model
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["sh", "-c", "exec node dist/scripts/serve.js --model \"$MODEL_URI\" --host 0.0.0.0 --port 8080"]
