/**
 * Values that are either ready now or later. The memory engine answers
 * synchronously and the Redis engine with promises; code above the engine
 * handles both with these helpers, so that the memory engine's hot path never
 * allocates a promise or waits a microtask.
 */
export type Sync<T> = T | Promise<T>

export function isPromise<T>(value: Sync<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/** `f(value)`, now if `value` is ready, else when it is. */
export function then<T, U>(value: Sync<T>, f: (value: T) => Sync<U>): Sync<U> {
  return isPromise(value) ? value.then(f) : f(value)
}

/** `f(a, b)` once both are ready: synchronously when both already are. */
export function both<A, B, U>(a: Sync<A>, b: Sync<B>, f: (a: A, b: B) => U): Sync<U> {
  if (!isPromise(a) && !isPromise(b)) return f(a, b)
  return Promise.all([a, b]).then(([x, y]) => f(x, y))
}
