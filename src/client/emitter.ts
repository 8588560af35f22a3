/** A minimal typed event emitter (no dependency; the same in browsers, Bun and Node). */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(value: any) => void>>()

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): () => void {
    let set = this.listeners.get(name)
    if (!set) this.listeners.set(name, (set = new Set()))
    set.add(listener)
    return () => this.off(name, listener)
  }

  off<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): void {
    this.listeners.get(name)?.delete(listener)
  }

  /** Calls every listener; one that throws does not stop the others or the client (the error is rethrown asynchronously). */
  protected emit<K extends keyof Events>(name: K, value: Events[K]): void {
    const set = this.listeners.get(name)
    if (!set) return
    for (const listener of [...set]) {
      try {
        listener(value)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
