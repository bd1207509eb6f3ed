import type { Binding } from '../binding';
import type { Message } from '../message';

/**
 * The routing algorithm of one exchange type. route() appends the matching bindings to `out`
 * (a scratch array owned by the caller) instead of allocating a result per message.
 */
export interface ExchangeRouter {
  add(binding: Binding): void;
  remove(binding: Binding): void;
  route(routingKey: string, message: Message, out: Binding[]): void;
}
