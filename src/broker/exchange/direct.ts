import type { Binding } from '../binding';
import type { Message } from '../message';
import type { ExchangeRouter } from './router';

export class DirectRouter implements ExchangeRouter {
  private readonly byKey = new Map<string, Binding[]>();

  add(binding: Binding): void {
    const list = this.byKey.get(binding.routingKey);
    if (list) list.push(binding);
    else this.byKey.set(binding.routingKey, [binding]);
  }

  remove(binding: Binding): void {
    const list = this.byKey.get(binding.routingKey);
    if (!list) return;
    const i = list.indexOf(binding);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byKey.delete(binding.routingKey);
  }

  route(routingKey: string, _message: Message, out: Binding[]): void {
    const list = this.byKey.get(routingKey);
    if (list) for (let i = 0; i < list.length; i++) out.push(list[i]);
  }
}
