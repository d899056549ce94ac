import type { OutgoingRecord } from "./record";
import type { RecordSender } from "./sender";

/**
 * A RecordSender over one client producer at a time, created on first use and replaced after a
 * failed send, so a replay starts from a clean producer id instead of sequence numbers the failure
 * left uncertain. Subclasses say how to open, use and close their client's producer.
 */
export abstract class ReplacingRecordSender<P> implements RecordSender {
  private producer: P | null = null;
  private connecting: Promise<P> | null = null;

  /** A new producer, ready to send (an opening that fails cleans up after itself). */
  protected abstract open(): Promise<P>;
  /** Resolves once every record is acknowledged by all in-sync replicas. */
  protected abstract sendWith(producer: P, records: readonly OutgoingRecord[]): Promise<void>;
  protected abstract close(producer: P): Promise<void>;

  async send(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = await this.current();
    try {
      await this.sendWith(producer, records);
    } catch (error) {
      if (this.producer === producer) this.producer = null;
      void this.close(producer).catch(() => undefined);
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    this.connecting = null;
    if (producer !== null) await this.close(producer);
  }

  private current(): Promise<P> {
    if (this.producer !== null) return Promise.resolve(this.producer);
    this.connecting ??= this.open().then(
      (producer) => {
        this.producer = producer;
        this.connecting = null;
        return producer;
      },
      (error: unknown) => {
        this.connecting = null;
        throw error;
      },
    );
    return this.connecting;
  }
}
