/**
 * @module The default `onError` of stores with a client of their own: one `console.warn` line.
 */

/**
 * An `onError` that prints one line naming the store, the error and what callers see meanwhile
 * (`meanwhile`), for stores that report a background error once per outage.
 */
export function warnLine(store: string, meanwhile: string): (error: unknown) => void {
  return (error) => {
    const message = error instanceof Error ? error.message : String(error);
    console.warn(`[tessera] ${store} store: ${message} (${meanwhile})`);
  };
}
