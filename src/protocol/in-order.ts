/**
 * One connection's frames answered in the order they arrived, although an
 * asynchronous engine answers some of them later: exactly one reply per
 * frame, in arrival order.
 *
 * Each frame is `start`ed (its operation begins) and yields a `finish` (queue
 * its reply), now or as a promise. Finishes run strictly in arrival order.
 * Publishes and pings start at once, so many publishes of one connection are
 * in flight together (one Redis pipeline, not one round trip each); subscribe
 * and unsubscribe are `exclusive`: they start only once every earlier frame
 * has finished, and later frames start only once they have finished, because
 * they change the connection's subscriptions (a publish sent after an
 * unsubscribe must not reach the unsubscribed connection).
 *
 * When nothing is waiting and the operation answers synchronously (the memory
 * engine), the finish runs at once: no promise, no microtask, the old hot path.
 */
import { type Sync, isPromise } from '../util/sync'

export type Finish = () => void

/** Told of a finish that threw; gets the connection's id (one handler for every connection: no closure each). */
export type OrderErrorHandler = (error: unknown, context: { connection: number }) => void

export class InOrder {
  /** Settles after the latest finish queued so far has run; created by the first frame that has to wait (an idle connection holds no promise). */
  private tail: Promise<void> | undefined
  private waiting = 0
  /** Settles when the latest exclusive frame has finished; undefined when none is waiting. */
  private barrier: Promise<void> | undefined

  constructor(
    private readonly connection: number,
    private readonly onError: OrderErrorHandler,
  ) {}

  /** Frames started or queued whose reply has not been queued yet. */
  get inFlight(): number {
    return this.waiting
  }

  /** `start` must not throw or reject: it turns its own failures into a finish (an error reply). */
  run(start: () => Sync<Finish>, exclusive: boolean): void {
    if (this.waiting === 0) {
      const finish = start()
      if (!isPromise(finish)) return finish()
      return this.queue(finish)
    }
    if (exclusive) {
      // Starts after every earlier frame finished; later frames start after it finished (see `barrier`).
      const after = this.settled().then(start)
      this.queue(after)
      const barrier = this.settled()
      this.barrier = barrier
      void barrier.then(() => {
        if (this.barrier === barrier) this.barrier = undefined
      })
      return
    }
    this.queue(this.barrier ? this.barrier.then(start) : start())
  }

  /** For a caller that started an operation itself while nothing was waiting (`inFlight` 0): its finish, later. */
  queue(finish: Sync<Finish>): void {
    this.waiting++
    this.tail = this.settled()
      .then(() => finish)
      .then((f) => f())
      .catch((error: unknown) => this.onError(error, { connection: this.connection }))
      .finally(() => {
        this.waiting--
      })
  }

  private settled(): Promise<void> {
    return (this.tail ??= Promise.resolve())
  }
}
