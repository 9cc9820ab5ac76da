import cliProgress from "cli-progress";
import type { TrainEvent } from "../pipelines/train.js";

/**
 * Turns training events into progress output on stderr: a bar per candidate (epochs) on a TTY,
 * one line per candidate otherwise (CI logs stay readable).
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): {
  onEvent: (e: TrainEvent) => void;
  stop: () => void;
} {
  const tty = stream.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  const onEvent = (event: TrainEvent) => {
    switch (event.type) {
      case "data":
        stream.write(
          `data: ${event.rows} rows, ${event.quarantined} quarantined; ${event.features} features; backend ${event.backend}\n`,
        );
        break;
      case "trial-start":
        if (tty) {
          bar = new cliProgress.SingleBar(
            {
              format: `[${event.index + 1}/${event.total}] ${event.trial.id.padEnd(12)} {bar} epoch {value}/{total} val {metric}`,
              stream,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start("epochs" in event.trial.params ? event.trial.params.epochs : 1, 0, { metric: "-" });
        } else stream.write(`[${event.index + 1}/${event.total}] ${event.trial.id} training…\n`);
        break;
      case "epoch":
        bar?.update(event.record.epoch, { metric: event.record.valMetric.toFixed(4) });
        break;
      case "trial-end": {
        if (bar) {
          bar.setTotal(event.summary.epochs);
          bar.update(event.summary.epochs);
        }
        stop();
        if (!tty)
          stream.write(
            `    done: best epoch ${event.summary.bestEpoch}/${event.summary.epochs}, ${event.summary.seconds.toFixed(1)} s\n`,
          );
        break;
      }
    }
  };
  return { onEvent, stop };
}
