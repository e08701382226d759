import type { FaultTone } from '../backend/faults.js';

/** The ink colour of each fault tone (see `FaultTone`): faults on yellow, faults cleared green. */
export const FAULT_TONE_COLOUR: Record<FaultTone, string> = { warn: 'yellow', good: 'green' };
