/**
 * A command that ran but whose answer is "no" (a `check` with a failing
 * expectation) ends with a status of its own: it throws `ExitStatus` after
 * writing its output, and main returns the code.
 */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitStatus';
  }
}
