/**
 * Exit statuses of every lblab command (SPEC "Conventions").
 * 0 success, 1 runtime failure, 2 bad usage or bad input, 3 a lab whose
 * expectations failed or a threshold the run crossed (`--fail-on-errors`).
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  labFailed: 3,
  thresholdFailed: 3,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the user can fix by changing what they typed: a flag, a field, a
 * file. The CLI prints only `message` (one line, naming the flag) and exits 2.
 * Messages follow the form "Expected `--weights` to have 3 values (one per
 * backend), got 2".
 */
export class UsageError extends Error {
  readonly exitCode = ExitCode.usage;
  /** A stable code for programs, as undici's errors carry (`UND_ERR_…`). */
  readonly code: string = 'LBLAB_BAD_USAGE';
  override readonly name = 'UsageError';
}

/**
 * A failure at run time that is not the user's input (a backend that never
 * started, a socket error). The CLI prints the message and exits 1.
 */
export class RuntimeError extends Error {
  readonly exitCode = ExitCode.failure;
  /** A stable code for programs. */
  readonly code: string = 'LBLAB_RUNTIME';
  override readonly name = 'RuntimeError';
}

/**
 * A lab ran to its end and at least one of its expectations failed. The
 * report and the verdict are already printed; the CLI prints `message` (which
 * lab, how many expectations failed) and exits 3.
 */
export class LabFailedError extends Error {
  readonly exitCode = ExitCode.labFailed;
  /** A stable code for programs. */
  readonly code: string = 'LBLAB_LAB_FAILED';
  override readonly name = 'LabFailedError';
}

/**
 * A run ended and measured past a threshold the user set, as a k6 threshold
 * fails a run (`--fail-on-errors 0.01` of `lblab load` or `lblab start`
 * and an error rate above 1%). The report and `--out` are already written; the CLI prints `message`
 * (what was measured, what the threshold was) and exits 3.
 */
export class ThresholdFailedError extends Error {
  readonly exitCode = ExitCode.thresholdFailed;
  /** A stable code for programs. */
  readonly code: string = 'LBLAB_THRESHOLD_FAILED';
  override readonly name = 'ThresholdFailedError';
}

/** Whether `err` carries its own exit code (a {@link UsageError}, {@link RuntimeError}, {@link LabFailedError} or {@link ThresholdFailedError}). */
export function isCodedError(err: unknown): err is UsageError | RuntimeError | LabFailedError | ThresholdFailedError {
  return err instanceof UsageError || err instanceof RuntimeError || err instanceof LabFailedError || err instanceof ThresholdFailedError;
}

/**
 * A field path as zod reports it, written as a user reads it:
 * `expect[2].within`, after `prefix` when given; `(top)` for the whole
 * document.
 */
export function formatFieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`;
  return out === '' ? '(top)' : out;
}
