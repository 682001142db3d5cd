import { encodeUrlValue } from '@leadrouter/lead';
import { Queue } from 'bullmq';
import type { SupplierConfig } from '@leadrouter/config';
import { notifyQueueName, QUEUE_OPTIONS, type NotifyJobData, queuePrefix, type RedisClient } from '@leadrouter/redis';
import { wantsNotification } from './url.js';

export interface NotifierOptions {
  /** First retry delay; doubles each time (default 2000 ms: 8 tries span about four minutes). */
  backoffMs?: number;
  attempts?: number;
}

/**
 * Queues supplier notifications (contract §6) on the supplier's own queue; workers send them.
 * `key` makes the job id: the same key twice (a step re-run after a crash) queues one notification.
 */
export class Notifier {
  private readonly queues = new Map<string, Queue<NotifyJobData>>();
  private suppliers = new Map<string, SupplierConfig>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    suppliers: readonly SupplierConfig[],
    private readonly options: NotifierOptions = {},
  ) {
    this.setSuppliers(suppliers);
  }

  /** The running config's suppliers (a reload may add one or give one a postbackUrl): queues are made as needed, never dropped. */
  setSuppliers(suppliers: readonly SupplierConfig[]): void {
    this.suppliers = new Map(suppliers.map((s) => [s.id, s]));
    for (const supplier of suppliers) {
      if (supplier.postbackUrl && !this.queues.has(supplier.id)) {
        this.queues.set(supplier.id, new Queue(notifyQueueName(supplier.id), { connection: this.connection, prefix: queuePrefix(this.prefix, notifyQueueName(supplier.id)), ...QUEUE_OPTIONS }));
      }
    }
  }

  /** `sale`: the buyer of the sale of a shared lead the notification is about (its payout is the one named). */
  async notify(supplierId: string, leadId: string, status: string, key: string, sale?: string): Promise<void> {
    const supplier = this.suppliers.get(supplierId);
    const queue = this.queues.get(supplierId);
    if (!supplier || !queue || !wantsNotification(supplier, status)) return;
    await queue.add(
      'notify',
      { leadId, status, ...(sale === undefined ? {} : { sale }) },
      {
        // The key may hold a buyer's event id (any text); BullMQ refuses ':' in a job id.
        jobId: `${leadId}.${encodeUrlValue(key)}`,
        attempts: this.options.attempts ?? 8,
        backoff: { type: 'exponential', delay: this.options.backoffMs ?? 2000 },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
  }

  /** The notification queues, for gauges and the queue board. */
  allQueues(): Queue<NotifyJobData>[] {
    return [...this.queues.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
