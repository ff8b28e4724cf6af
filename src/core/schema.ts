/**
 * @module The Standard Schema interface (https://standardschema.dev), copied as its authors intend,
 * so any validator that implements it (zod, valibot, arktype…) can check session data on load
 * without tessera depending on one.
 */

/** A validator that implements Standard Schema v1. Source: `@standard-schema/spec` 1.x. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The result of a Standard Schema validation. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };
