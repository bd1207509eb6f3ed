import type { Binding } from '../binding';
import type { Message } from '../message';
import type { ExchangeRouter } from './router';

export class FanoutRouter implements ExchangeRouter {
  private readonly bindings: Binding[] = [];

  add(binding: Binding): void {
    this.bindings.push(binding);
  }

  remove(binding: Binding): void {
    const i = this.bindings.indexOf(binding);
    if (i >= 0) this.bindings.splice(i, 1);
  }

  route(_routingKey: string, _message: Message, out: Binding[]): void {
    for (let i = 0; i < this.bindings.length; i++) out.push(this.bindings[i]);
  }
}
