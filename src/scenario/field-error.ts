import { UsageError } from '../errors.js';

/**
 * How a front end words a scenario field: the CLI says `--retry-on`, a lab
 * file `balancer.retry-on` (or `runs[1].balancer.retry-on`). Takes the
 * field's path in the scenario input (`balancer.retry-on`, `backends[1].latency`,
 * `timeline[0]`) and returns the words shown between backticks.
 */
export type FieldNamer = (path: string) => string;

/** Shows every field by its path in the scenario input, as a scenario file writes it. */
export const pathNamer: FieldNamer = (path) => path;

/**
 * A scenario value the user can fix, with the field it is about: `field` as
 * the front end words it (see {@link FieldNamer}, e.g. `--weights` or
 * `weights`), `detail` what was expected and what came (`to have 3 values
 * (one per backend), got 2`), `every` when it is about each entry of a list.
 * The message reads "Expected `--weights` to have 3 values (one per
 * backend), got 2" (exit 2, code `LBLAB_BAD_FIELD`); a lab file words the
 * same error as `weights: expected to have 3 values …` ({@link fieldLine}).
 */
export class FieldError extends UsageError {
  override readonly code = 'LBLAB_BAD_FIELD';

  constructor(
    readonly field: string,
    readonly detail: string,
    readonly every = false,
  ) {
    super(`Expected ${every ? 'every ' : ''}\`${field}\` ${detail}`);
  }

  /** An error about `field` worded whole, when the field does not open the sentence ("Expected one style of passive checks, `--max-fails` … or …"). */
  static worded(field: string, message: string): FieldError {
    const err = new FieldError(field, message);
    err.message = message;
    err.worded = true;
    return err;
  }

  /** Set by {@link FieldError.worded}: `message` is the whole sentence. */
  worded = false;
}

/**
 * A {@link FieldError} as a file's line reads it: `field: expected …`
 * (`backends[0].latency: expected a value like 20ms, …`), with the
 * backticks of other fields named in the detail dropped.
 */
export function fieldLine(err: FieldError): string {
  if (err.worded) return `${err.field}: ${err.message.replace(/`/g, '').replace(/^Expected/, 'expected')}`;
  const detail = err.detail.replace(/`/g, '');
  if (err.every) return `${err.field}: expected every entry ${detail}`;
  return `${err.field}: expected ${detail.replace(/^to be like /, 'a value like ').replace(/^to be /, '')}`;
}
