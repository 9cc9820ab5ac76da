// Multi-layer perceptron (TensorFlow.js): dense layers with dropout, optional batch norm and L2.
import * as tfl from "@tensorflow/tfjs-layers";
import { z } from "zod";
import { defineKind } from "../model.js";
import { compileNetwork, loadNetwork, NetworkModel, networkCost, outputUnits } from "./network.js";

const positiveInt = z.number().int().positive();

export const mlpParams = z
  .object({
    hiddenUnits: z.array(positiveInt).min(1).default([64, 32]),
    activation: z.enum(["relu", "elu", "tanh", "selu", "swish"]).default("relu"),
    dropout: z.number().min(0).lt(1).default(0.1),
    l2: z.number().min(0).default(0),
    batchNorm: z.boolean().default(false),
    learningRate: z.number().positive().default(0.001),
    epochs: positiveInt.default(50),
    batchSize: positiveInt.default(256),
  })
  .strict();
export type MlpParams = z.infer<typeof mlpParams>;

function build(params: MlpParams) {
  return (inputs: number, classes: number, seed: number): tfl.LayersModel => {
    let layerSeed = seed;
    const init = () => tfl.initializers.glorotUniform({ seed: layerSeed++ });
    const model = tfl.sequential();
    const l2 = params.l2 > 0 ? tfl.regularizers.l2({ l2: params.l2 }) : undefined;
    params.hiddenUnits.forEach((units, i) => {
      model.add(
        tfl.layers.dense({
          ...(i === 0 ? { inputShape: [inputs] } : {}),
          units,
          activation: params.activation,
          kernelInitializer: init(),
          biasInitializer: "zeros",
          ...(l2 ? { kernelRegularizer: l2 } : {}),
        }),
      );
      if (params.batchNorm) model.add(tfl.layers.batchNormalization());
      // No layer seed on purpose: a seeded dropout layer reuses one mask for every batch. Training runs
      // under a seeded Math.random instead (see withSeededRandom), which keeps runs reproducible.
      if (params.dropout > 0) model.add(tfl.layers.dropout({ rate: params.dropout }));
    });
    model.add(
      tfl.layers.dense({
        units: classes === 2 ? 1 : classes,
        activation: classes === 2 ? "sigmoid" : "softmax",
        kernelInitializer: init(),
        biasInitializer: "zeros",
      }),
    );
    compileNetwork(model, classes, params.learningRate);
    return model;
  };
}

/** Multiply-adds per row of the dense layers (features → hidden layers → outputs). */
export function mlpMultiplyAdds(hiddenUnits: readonly number[], features: number, classes: number): number {
  const widths = [features, ...hiddenUnits, outputUnits(classes)];
  let total = 0;
  for (let i = 1; i < widths.length; i++) total += widths[i - 1]! * widths[i]!;
  return total;
}

export const mlpKind = defineKind({
  kind: "mlp",
  description:
    "Multi-layer perceptron, TensorFlow.js: dense layers, dropout, optional batch norm, L2, Adam; one iteration = one epoch.",
  iterationUnit: "epoch",
  params: mlpParams,
  estimateCost: (p, facts) =>
    networkCost(
      p,
      p.hiddenUnits.length + 1,
      mlpMultiplyAdds(p.hiddenUnits, facts.cols, facts.classes),
      facts,
    ),
  plannedIterations: (p) => p.epochs,
  withIterations: (p, epochs) => ({ ...p, epochs }),
  create: async (params, shape) => new NetworkModel("mlp", params, shape, build(params)),
  load: async (dir, params, shape) =>
    new NetworkModel("mlp", params, shape, build(params), await loadNetwork(dir)),
});
