"use strict";
// danfojs-node uses tf.tensor, tf.Tensor, tf.scalar, tf.moments (tfjs-core) and tf.data (only DataFrame/Series.sample).
require("@tensorflow/tfjs-backend-cpu");
const core = require("@tensorflow/tfjs-core");
const tf = Object.create(core);
Object.defineProperty(tf, "data", { enumerable: true, get: () => require("@tensorflow/tfjs-data") });
module.exports = tf;
