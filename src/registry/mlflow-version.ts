/**
 * The MLflow version whose MLmodel format the packages are written in: the `mlflow_version` of every MLmodel
 * file. It is the project's pinned MLflow (requirements.txt, the venv the python_function flavor is tested
 * with), not the tracking server's: the field says which MLflow wrote the format, and a package is the same
 * whichever server it is logged to. tests/unit/registry/mlflow-version.test.ts keeps it equal to the pin.
 */
export const MLFLOW_VERSION = "3.17.2";
