// Logistic regression (softmax regression for more than two classes) as a one-layer TensorFlow.js network.
import * as tfl from "@tensorflow/tfjs-layers";
import { z } from "zod";
import { defineKind } from "../model.js";
import { compileNetwork, loadNetwork, NetworkModel, networkCost, outputUnits } from "./network.js";

const positiveInt = z.number().int().positive();

export const logisticParams = z
  .object({
    learningRate: z.number().positive().default(0.01),
    l2: z.number().min(0).default(0),
    epochs: positiveInt.default(50),
    batchSize: positiveInt.default(512),
  })
  .strict();
export type LogisticParams = z.infer<typeof logisticParams>;

function build(params: LogisticParams) {
  return (inputs: number, classes: number, seed: number): tfl.LayersModel => {
    const model = tfl.sequential();
    const l2 = params.l2 > 0 ? tfl.regularizers.l2({ l2: params.l2 }) : undefined;
    model.add(
      tfl.layers.dense({
        inputShape: [inputs],
        units: classes === 2 ? 1 : classes,
        activation: classes === 2 ? "sigmoid" : "softmax",
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
        biasInitializer: "zeros",
        ...(l2 ? { kernelRegularizer: l2 } : {}),
      }),
    );
    compileNetwork(model, classes, params.learningRate);
    return model;
  };
}

export const logisticKind = defineKind({
  kind: "logistic",
  description: "Logistic (softmax) regression, TensorFlow.js, Adam with L2; one iteration = one epoch.",
  iterationUnit: "epoch",
  params: logisticParams,
  // One dense layer: features × outputs multiply-adds per row (see networkCost).
  estimateCost: (p, facts) => networkCost(p, 1, facts.cols * outputUnits(facts.classes), facts),
  plannedIterations: (p) => p.epochs,
  withIterations: (p, epochs) => ({ ...p, epochs }),
  create: async (params, shape) => new NetworkModel("logistic", params, shape, build(params)),
  load: async (dir, params, shape) =>
    new NetworkModel("logistic", params, shape, build(params), await loadNetwork(dir)),
});
