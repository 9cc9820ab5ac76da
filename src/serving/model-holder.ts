import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import { currentVersion, loadPredictor, parseModelUri } from "./model-source.js";
import type { Predictor } from "./predictor.js";

/**
 * Holds the model being served and swaps it atomically: a request takes the current predictor once and keeps
 * it, so a swap never fails a request in flight; the old network is freed when its last request is done.
 */
export class ModelHolder {
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<boolean> | undefined;
  onSwap: ((next: Predictor, previous: Predictor) => void) | undefined;

  constructor(
    private predictor: Predictor,
    private readonly client: MlflowClient | undefined,
    private readonly logger: Logger = silentLogger(),
  ) {}

  static async load(uri: string, client: MlflowClient | undefined, logger?: Logger): Promise<ModelHolder> {
    return new ModelHolder(await loadPredictor(uri, client), client, logger);
  }

  get current(): Predictor {
    return this.predictor;
  }

  /** Swaps in a predictor (used by reload and by tests). */
  swap(next: Predictor): void {
    const previous = this.predictor;
    this.predictor = next;
    this.onSwap?.(next, previous);
    previous.retire();
    this.logger.info({ from: previous.origin.version, to: next.origin.version }, "model swapped");
  }

  /** Loads the version the URI points at now, when it differs from the one served. Returns whether it swapped. */
  reload(): Promise<boolean> {
    this.reloading ??= (async () => {
      try {
        const ref = parseModelUri(this.predictor.origin.uri);
        if (this.client === undefined || ref.kind !== "alias") return false;
        const version = await currentVersion(this.client, ref);
        if (version === this.predictor.origin.version) return false;
        this.swap(await loadPredictor(this.predictor.origin.uri, this.client));
        return true;
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** Polls the alias every `intervalMs`; failures are logged and retried at the next tick. */
  startPolling(intervalMs: number): void {
    this.stopPolling();
    this.timer = setInterval(() => {
      this.reload().catch((error: unknown) => this.logger.warn({ err: error }, "model reload failed"));
    }, intervalMs);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
