import { sleep } from '../kube/informer.js';

/**
 * Something read from mounted files and read again every `pollMs`: the kubelet swaps a mounted Secret's files in
 * place on renewal, and the listeners are told of a new value so a server takes it without a restart.
 */
export abstract class PolledFile<T> {
  private value: T | undefined;
  private readonly listeners: ((value: T) => void)[] = [];

  constructor(private readonly pollMs: number) {}

  protected abstract read(): Promise<T>;

  /** Whether a value read again replaces the last one (a half-written file, say, does not). */
  protected abstract replaces(next: T, last: T | undefined): boolean;

  /** A failed re-read keeps the last value; a subclass may say so in its log. */
  protected failed(_err: unknown): void {}

  protected reloaded(_value: T): void {}

  async current(): Promise<T> {
    this.value ??= await this.read();
    return this.value;
  }

  on(listener: (value: T) => void): void {
    this.listeners.push(listener);
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.pollMs, signal);
      if (signal.aborted) return;
      try {
        const next = await this.read();
        if (!this.replaces(next, this.value)) continue;
        this.value = next;
        for (const l of this.listeners) l(next);
        this.reloaded(next);
      } catch (err) {
        this.failed(err);
      }
    }
  }
}
