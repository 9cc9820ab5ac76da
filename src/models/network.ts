import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import type { Trial } from "./candidates.js";

/** Builds and compiles the network of a trial; weights are initialised from `seed`. */
export function buildNetwork(trial: Trial, inputs: number, classes: number, seed: number): tfl.LayersModel {
  const outputs = classes === 2 ? 1 : classes;
  const outputActivation = classes === 2 ? "sigmoid" : "softmax";
  let layerSeed = seed;
  const init = () => tfl.initializers.glorotUniform({ seed: layerSeed++ });
  const model = tfl.sequential();
  const l2 = trial.params.l2 > 0 ? tfl.regularizers.l2({ l2: trial.params.l2 }) : undefined;
  if (trial.kind === "logistic") {
    model.add(
      tfl.layers.dense({
        inputShape: [inputs],
        units: outputs,
        activation: outputActivation,
        kernelInitializer: init(),
        biasInitializer: "zeros",
        ...(l2 ? { kernelRegularizer: l2 } : {}),
      }),
    );
  } else {
    trial.params.hiddenUnits.forEach((units, i) => {
      model.add(
        tfl.layers.dense({
          ...(i === 0 ? { inputShape: [inputs] } : {}),
          units,
          activation: trial.params.activation,
          kernelInitializer: init(),
          biasInitializer: "zeros",
          ...(l2 ? { kernelRegularizer: l2 } : {}),
        }),
      );
      if (trial.params.batchNorm) model.add(tfl.layers.batchNormalization());
      // No layer seed on purpose: a seeded dropout layer reuses one mask for every batch. Training runs
      // under a seeded Math.random instead (see withSeededRandom), which keeps runs reproducible.
      if (trial.params.dropout > 0) model.add(tfl.layers.dropout({ rate: trial.params.dropout }));
    });
    model.add(
      tfl.layers.dense({
        units: outputs,
        activation: outputActivation,
        kernelInitializer: init(),
        biasInitializer: "zeros",
      }),
    );
  }
  model.compile({
    optimizer: tf.train.adam(trial.params.learningRate),
    loss: classes === 2 ? "binaryCrossentropy" : "categoricalCrossentropy",
  });
  return model;
}
