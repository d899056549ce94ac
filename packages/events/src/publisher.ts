import type { AnyEvent, EventType } from "@mlsd/contracts";

/**
 * Where services put events: the Kafka producer in production, the in-memory twin in unit tests
 * and embedded runs. `publish` never blocks and never throws for a valid event.
 */
export interface EventPublisher {
  publish(event: AnyEvent): void;
}

/** The in-memory twin: keeps every event, in order. */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: AnyEvent[] = [];

  publish(event: AnyEvent): void {
    this.events.push(event);
  }

  /** The events of one type, in publish order. */
  ofType<T extends EventType>(type: T): Extract<AnyEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<AnyEvent, { type: T }> => e.type === type);
  }

  clear(): void {
    this.events.length = 0;
  }
}
