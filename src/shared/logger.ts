import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

export interface LoggerSettings {
  /** pino level; defaults to "info". */
  level?: string;
  /** Bound as `name` on every line. */
  name?: string;
  /** Where lines go; defaults to stderr so that stdout stays free for a command's own output. */
  destination?: NodeJS.WritableStream;
}

/** The one structured logger. Callers derive children bound to a run id or request id. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: { name: settings.name ?? "workbench" },
  };
  return pino(options, settings.destination ?? process.stderr);
}

/** A logger that drops everything, for library calls made without a context. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
