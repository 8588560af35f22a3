// The dashboard runs in a browser: it needs the DOM's types. They come in through this file, for the
// whole program (TypeScript has no per-folder lib); the server code is kept off the DOM by review,
// not by the compiler. dom.asynciterable keeps bun-types' async-iterable streams typed alike.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="dom.asynciterable" />
