/** Bad input to the model (training data, features, a query): `field` names what is wrong. */
export class TwoTowerInputError extends Error {
  override readonly name = "TwoTowerInputError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A saved model folder that cannot be read back (missing file, wrong format, size mismatch). */
export class ModelArtifactError extends Error {
  override readonly name = "ModelArtifactError";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}
