import type { Scenario } from '../session';
import { connectionScenarios } from './connection';

/** Every scenario the harness runs, in order. */
export const SCENARIOS: Scenario[] = [...connectionScenarios];
