import type { Scenario } from '../session';
import { connectionScenarios } from './connection';
import { exchangeQueueScenarios } from './exchange-queue';
import { basicScenarios } from './basic';
import { confirmTxScenarios } from './confirm-tx';
import { extensionScenarios } from './extensions';
import { moreScenarios } from './more';
import { routingDeliveryScenarios } from './routing-delivery';
import { permissionScenarios } from './permissions';

/** Every scenario the harness runs, in order. */
export const SCENARIOS: Scenario[] = [...connectionScenarios, ...exchangeQueueScenarios, ...basicScenarios, ...confirmTxScenarios, ...extensionScenarios, ...moreScenarios, ...routingDeliveryScenarios, ...permissionScenarios];
