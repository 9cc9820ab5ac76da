// The curated public API of the workbench, for scripts and notebooks.
export * from "./shared/errors.js";
export { createLogger, type Logger, silentLogger } from "./shared/logger.js";
export { ensureTrackingServer, type TrackingServerHandle } from "./tracking/ensure-server.js";
export * from "./tracking/index.js";
export { freePort, isMlflowHealthy, type LocalServer, startLocalServer } from "./tracking/local-server.js";
