/**
 * What the hub needs from a client's transport. The hub never imports the
 * transport: the WebSocket layer adapts a Bun socket to this (ws-route.ts),
 * and the hub's tests use a fake (test/helpers/fake-sink.ts).
 */
export interface Sink {
  /** Writes one text frame. Returns bytes accepted (> 0), -1 when accepted but backpressured, 0 when dropped. */
  send(text: string): number
  /** Runs `fn` with writes batched into as few syscalls as possible. */
  cork(fn: () => void): void
  /**
   * The runtime's own topic membership, for the native fan-out (NativeFanout):
   * from `joinNative(topic)` until `leaveNative(topic)`, `NativeFanout.publish`
   * on that topic writes to this sink. Optional: a sink without them (the
   * tests' fakes) is always written to frame by frame.
   */
  joinNative?(topic: string): void
  leaveNative?(topic: string): void
  /** Bytes accepted by `send` but not yet handed to the kernel. */
  bufferedAmount(): number
  /**
   * Ends the connection (closes it); the transport later reports it through `Hub.disconnect`.
   * `when`: 'now' (default) sends the close frame at once; 'after-delivery' sends it
   * once the client has read everything written before it (a slow consumer that
   * resumes reading still gets its last frames, the SLOW_CONSUMER error and the
   * close code), and drops the connection if that takes longer than the
   * transport's timeout (CLOSE_FLUSH_TIMEOUT_MS).
   */
  end(code: number, reason: string, when?: 'now' | 'after-delivery'): void
}

/**
 * The runtime's fan-out (Bun's `server.publish`, native code): writes one text
 * frame to every sink that joined `topic`, each corked, in native code, with
 * no JavaScript call per subscriber. The hub uses it only for a turn in which
 * every local subscriber of the topic has exactly that turn's events of the
 * topic waiting and room for them in its socket (see Hub.cast), so that it
 * changes neither the order of any connection's frames nor what is counted as
 * dropped.
 */
export interface NativeFanout {
  publish(topic: string, text: string): void
}
