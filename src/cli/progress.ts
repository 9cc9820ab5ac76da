import cliProgress from "cli-progress";
import type { TrainEvent } from "../pipelines/train.js";

/**
 * Turns training events into progress output on stderr: on a TTY one bar per running candidate (candidates
 * train in parallel; iterations are epochs, boosting rounds or trees), otherwise one line per candidate start
 * and end (CI logs stay readable).
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): {
  onEvent: (e: TrainEvent) => void;
  stop: () => void;
} {
  const tty = stream.isTTY === true;
  let multi: cliProgress.MultiBar | undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const stop = () => {
    multi?.stop();
    multi = undefined;
    bars.clear();
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
          multi ??= new cliProgress.MultiBar(
            {
              format: "{label} {bar} {unit} {value}/{total} val {metric}",
              stream,
              hideCursor: true,
              clearOnComplete: false,
            },
            cliProgress.Presets.shades_classic,
          );
          bars.set(
            event.trial.id,
            multi.create(1, 0, {
              label: `[${event.index + 1}/${event.total}] ${event.trial.id.padEnd(16)}`,
              unit: "",
              metric: "-",
            }),
          );
        } else stream.write(`[${event.index + 1}/${event.total}] ${event.trial.id} training…\n`);
        break;
      case "iteration": {
        const bar = bars.get(event.trial.id);
        bar?.setTotal(event.planned);
        bar?.update(event.record.iteration, { unit: event.unit, metric: event.record.valMetric.toFixed(4) });
        break;
      }
      case "refit":
        stop();
        stream.write(
          `refit: ${event.trial.id} on train + validation (${event.rows} rows), ${event.iterations} ${event.unit}${event.iterations === 1 ? "" : "s"}, ${event.seconds.toFixed(1)} s\n`,
        );
        break;
      case "trial-end": {
        const bar = bars.get(event.summary.id);
        if (bar) {
          bar.setTotal(event.summary.iterations);
          bar.update(event.summary.iterations);
          bar.stop();
        }
        if (!tty)
          stream.write(
            `    ${event.summary.id} done: best ${event.summary.unit} ${event.summary.bestIteration}/${event.summary.iterations}${event.summary.pruned ? " (pruned)" : ""}, ${event.summary.seconds.toFixed(1)} s\n`,
          );
        break;
      }
    }
  };
  return { onEvent, stop };
}
